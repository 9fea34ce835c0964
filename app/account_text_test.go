package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"skiff/db"
)

// TestLookAlikeAddressCannotRegisterBesideTheOriginal: an address typed in
// another Unicode form (full-width letters, a decomposed accent, the Unicode
// or the xn-- form of a domain) is the same account; an address with an
// invisible character or with letters of two look-alike alphabets is refused.
func TestLookAlikeAddressCannotRegisterBesideTheOriginal(t *testing.T) {
	ts := newTestServer(t, func(c *testSetup) { c.Limits.SignupPerIP = Rate{N: 100, Per: time.Hour} })
	ts.newClient().signup("ada@example.com")
	ts.newClient().signup("josé@example.com")
	ts.newClient().signup("bob@bücher.de")

	taken := []string{
		"ＡＤＡ@Example.com", // full-width letters
		"ada@EXAMPLE.com",
		"ada＠example.com",        // full-width at sign
		"ada@ｅｘａｍｐｌｅ.ｃｏｍ",        // full-width domain
		"ada@example\u3002com",   // ideographic full stop
		"jose\u0301@example.com", // é as e + combining acute
		"JOSÉ@example.com",
		"bob@xn--bcher-kva.de", // the same domain in its ASCII form
		"BOB@BÜCHER.DE",
		"bob@bu\u0308cher.de", // ü as u + combining diaeresis
	}
	for _, email := range taken {
		t.Run("taken "+email, func(t *testing.T) {
			res := ts.newClient().post("/signup", url.Values{"email": {email}, "password": {testPassword}})
			wantStatus(t, res, http.StatusUnprocessableEntity)
			wantBody(t, res, "An account with this email already exists.")
		})
	}

	const invisibleMsg = "Your address contains an invisible or control character"
	const mixedMsg = "This address mixes letters of different alphabets"
	refused := []struct{ name, email, want string }{
		{"zero-width space", "ada\u200b@example.com", invisibleMsg},
		{"zero-width space in the domain", "ada@exa\u200bmple.com", invisibleMsg},
		{"zero-width joiner", "a\u200dda@example.com", invisibleMsg},
		{"right-to-left override", "\u202eada@example.com", invisibleMsg},
		{"soft hyphen", "ada\u00ad@example.com", invisibleMsg},
		{"hangul filler", "ada\u3164@example.com", invisibleMsg},
		{"variation selector", "ada\ufe0f@example.com", invisibleMsg},
		{"Cyrillic a among Latin letters", "p\u0430ypal@example.com", mixedMsg},
		{"Greek omicron among Latin letters", "b\u03bfb@example.com", mixedMsg},
		{"Cyrillic a in a domain label", "ada@p\u0430ypal.com", mixedMsg},
		{"the same domain as xn--", "ada@xn--pypal-4ve.com", mixedMsg},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			res := ts.newClient().post("/signup", url.Values{"email": {tt.email}, "password": {testPassword}})
			wantStatus(t, res, http.StatusUnprocessableEntity)
			wantBody(t, res, tt.want, `aria-invalid="true"`)
		})
	}
	if n, _ := ts.db.CountUsers(context.Background()); n != 3 {
		t.Fatalf("%d accounts, want 3", n)
	}

	// Every place that reads an address reads it the same way.
	t.Run("login", func(t *testing.T) {
		wantRedirect(t, ts.newClient().login("ＡＤＡ@Example.com", testPassword, false), "/dashboard")
		wantRedirect(t, ts.newClient().login("BOB@BÜCHER.DE", testPassword, false), "/dashboard")
	})
	t.Run("forgot password", func(t *testing.T) {
		wantStatus(t, ts.newClient().post("/forgot-password", url.Values{"email": {"jose\u0301@ＥＸＡＭＰＬＥ.com"}}), http.StatusOK)
		ts.smtp.waitFor("josé@example.com", "Reset your password")
	})
	t.Run("email change", func(t *testing.T) {
		bob := ts.newClient()
		wantRedirect(t, bob.login("bob@bücher.de", testPassword, false), "/dashboard")
		res := bob.post("/settings/email", url.Values{"email": {"ａｄａ@example.com"}, "current_password": {testPassword}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantBody(t, res, "Another account uses this address.")
	})
	t.Run("ADMIN_EMAILS", func(t *testing.T) {
		cfg, err := LoadConfig(func(k string) string {
			if k == "ADMIN_EMAILS" {
				return " Bob@BÜCHER.de , ＡＤＡ@example.com"
			}
			return ""
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, stored := range []string{"bob@xn--bcher-kva.de", "ada@example.com"} {
			if !cfg.AdminEmails[normalizeAdminEmail(stored)] {
				t.Errorf("ADMIN_EMAILS %v does not name the account %s", cfg.AdminEmails, stored)
			}
		}
	})
}

// TestShortPasswordInBytesButNotInLetters: the length rule counts the
// characters a person typed (code points after NFKC), not bytes; and the same
// password typed in another Unicode form is the same password.
func TestShortPasswordInBytesButNotInLetters(t *testing.T) {
	ts := newTestServer(t)
	const short = "パスワード日" // 6 characters, 18 bytes
	if len(short) != 18 || utf8.RuneCountInString(short) != 6 {
		t.Fatal("the test password is not what it says")
	}
	const decomposed = "e\u0301e\u0301e\u0301e\u0301" // 8 code points as typed, 4 characters (é) after NFKC
	const tooShort = "Use at least 8 characters."

	for _, pw := range []string{short, decomposed} {
		res := ts.newClient().post("/signup", url.Values{"email": {"ada@example.com"}, "password": {pw}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantBody(t, res, tooShort)
	}
	// 8 characters are enough, whatever their bytes.
	const eight = "パスワード日本語"
	ada := ts.newClient()
	wantRedirect(t, ada.post("/signup", url.Values{"email": {"ada@example.com"}, "password": {eight}}), "/dashboard")
	ada.verifyEmail("ada@example.com")

	// Changing it in settings.
	res := ada.post("/settings/password", url.Values{"current_password": {eight}, "password": {short}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantBody(t, res, tooShort)

	// Resetting it from a mailed link.
	wantStatus(t, ts.newClient().post("/forgot-password", url.Values{"email": {"ada@example.com"}}), http.StatusOK)
	token := tokenOf(t, ts.smtp.waitFor("ada@example.com", "Reset your password").link(t, ts.URL+"/reset-password?token="))
	res = ts.newClient().post("/reset-password", url.Values{"token": {token}, "password": {short}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantBody(t, res, tooShort)

	// A password chosen with a decomposed é logs in when typed composed, or
	// in full-width letters from an input method: NFKC makes them one.
	bob := ts.newClient()
	wantRedirect(t, bob.post("/signup", url.Values{"email": {"bob@example.com"}, "password": {"cafe\u0301 au lait 42"}}), "/dashboard")
	for _, typed := range []string{"café au lait 42", "ｃａｆé ａｕ ｌａｉｔ ４２", "cafe\u0301 au lait 42"} {
		wantRedirect(t, ts.newClient().login("bob@example.com", typed, false), "/dashboard")
	}
	wantStatus(t, ts.newClient().login("bob@example.com", "cafe au lait 42", false), http.StatusUnauthorized)
}

// TestInvisibleDisplayName: a display name cannot hide characters or turn
// the text around it backwards; emoji built with a joiner still work.
func TestInvisibleDisplayName(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	c.signup("ada@example.com")
	ctx := context.Background()
	name := func() string {
		t.Helper()
		u, err := ts.db.UserByEmail(ctx, "ada@example.com")
		if err != nil {
			t.Fatal(err)
		}
		return u.DisplayName
	}

	for _, bad := range []string{
		"Ada\u202egpj.exe",  // right-to-left override: shows as "Adaexe.jpg"
		"Ada\u2066Lovelace", // left-to-right isolate
		"Ada\u200bLovelace", // zero-width space
		"Ada\u200dLovelace", // zero-width joiner between letters
		"\u3164",            // hangul filler: a blank name that is not empty
		"Ada\ufe0f",         // variation selector after a letter
		"Ada\U000e0041",     // tag character
	} {
		t.Run(fmt.Sprintf("%+q", bad), func(t *testing.T) {
			res := c.post("/settings/profile", url.Values{"display_name": {bad}})
			wantStatus(t, res, http.StatusUnprocessableEntity)
			wantBody(t, res, "Remove the invisible or text-direction characters from your name.")
			if got := name(); got != "" {
				t.Fatalf("display name saved as %+q", got)
			}
		})
	}
	for _, good := range []string{"Ada Lovelace", "Ada ❤️", "Ada 👩‍💻", "Ada 👩🏽‍💻", "Ада Лавлейс", "أدا"} {
		wantRedirect(t, c.post("/settings/profile", url.Values{"display_name": {good}}), "/settings")
		if got := name(); got != good {
			t.Fatalf("display name %+q saved as %+q", good, got)
		}
	}
}

// legacyHash is a password hash as Skiff made it before passwords were
// normalised: argon2id over the bytes as typed.
func legacyHash(t *testing.T, password string) string {
	t.Helper()
	p := defaultArgon
	salt := make([]byte, p.SaltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// TestPasswordHashedBeforeNormalisationStillLogsIn: an account whose hash
// was made from bytes that differ from their NFKC form still logs in with
// them, and gets a hash of the NFKC form at that login.
func TestPasswordHashedBeforeNormalisationStillLogsIn(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	const typed = "cafe\u0301 au lait 42" // as the user typed it: é decomposed, not NFKC
	old := legacyHash(t, typed)
	u, err := ts.db.CreateUser(ctx, "ada@example.com", old, false)
	if err != nil {
		t.Fatal(err)
	}

	// Only what was typed then matches the old hash.
	wantStatus(t, ts.newClient().login("ada@example.com", "café au lait 42", false), http.StatusUnauthorized)
	wantRedirect(t, ts.newClient().login("ada@example.com", typed, false), "/dashboard")
	u, _ = ts.db.UserByID(ctx, u.ID)
	if u.PasswordHash == old || !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("the old hash was not replaced: %s", u.PasswordHash)
	}
	// The new hash is of the NFKC form: every spelling of the password works.
	wantRedirect(t, ts.newClient().login("ada@example.com", "café au lait 42", false), "/dashboard")
	wantRedirect(t, ts.newClient().login("ada@example.com", typed, false), "/dashboard")

	// A wrong password that is not in NFKC costs the same work for a known
	// and an unknown address: the fallback tells nothing either.
	before := ts.srv.hasher.derivations.Load()
	wantStatus(t, ts.newClient().login("ada@example.com", "cafe\u0301 au lait 43", false), http.StatusUnauthorized)
	mid := ts.srv.hasher.derivations.Load()
	wantStatus(t, ts.newClient().login("nobody@example.com", "cafe\u0301 au lait 43", false), http.StatusUnauthorized)
	if known, unknown := mid-before, ts.srv.hasher.derivations.Load()-mid; known != unknown {
		t.Fatalf("argon2id runs: known address %d, unknown %d", known, unknown)
	}
}

// TestAddressStoredBeforeTheNormalFormStillLogsIn: upgrading a running fork
// must not lock out whoever signed up with a Unicode domain (stored as typed
// then, as xn-- now), nor merge two accounts whose addresses now compare
// equal.
func TestAddressStoredBeforeTheNormalFormStillLogsIn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "skiff.db")
	if _, stderr, err := runCmd(t, path, "migrate"); err != nil {
		t.Fatalf("migrate: %v\n%s", err, stderr)
	}
	d, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	hash := legacyHash(t, testPassword)
	for _, email := range []string{"ada@bücher.de", "bob@example.com", "ｂob@example.com"} {
		// As the previous version stored them: trimmed and lower-cased only.
		if _, err := d.CreateUser(context.Background(), email, hash, false); err != nil {
			t.Fatal(err)
		}
	}
	d.Close()
	_, stderr, err := runCmd(t, path, "migrate")
	if err != nil {
		t.Fatalf("migrate: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "addresses rewritten in their normal form") || !strings.Contains(stderr, "ｂob@example.com") {
		t.Fatalf("the rewrite and its conflict are not logged:\n%s", stderr)
	}

	ts := newTestServer(t, withDB(path))
	wantRedirect(t, ts.newClient().login("ada@bücher.de", testPassword, false), "/dashboard")
	wantRedirect(t, ts.newClient().login("ada@xn--bcher-kva.de", testPassword, false), "/dashboard")
	// The look-alike pair is left for the operator, not merged.
	if n := ts.count(`SELECT count(*) FROM users WHERE email IN ('bob@example.com', 'ｂob@example.com')`); n != 2 {
		t.Fatalf("%d of the two look-alike accounts left", n)
	}
}
