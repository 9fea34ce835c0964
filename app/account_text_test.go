package app

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestLookAlikeAddressCannotRegisterBesideTheOriginal: an address typed in
// another Unicode form (full-width letters, a decomposed accent, the Unicode
// or the xn-- form of a domain) is the same account; an address with an
// invisible character or with letters of two look-alike alphabets is refused.
func TestLookAlikeAddressCannotRegisterBesideTheOriginal(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Limits.SignupPerIP = Rate{N: 100, Per: time.Hour} })
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
