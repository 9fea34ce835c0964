package app

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"skiff/db"
	"skiff/views"
)

// The account lifecycle's rules (account_lifecycle.go), each proven by the
// attack it stops: an attacker and the account's owner as separate browsers,
// through real HTTP, on a real SQLite file.

// steal returns a new browser holding c's session cookie: an attacker who
// stole it (malware, a shared computer), without the password.
func (c *client) steal() *client {
	c.t.Helper()
	thief := c.ts.newClient()
	u, _ := url.Parse(c.ts.URL)
	thief.hc.Jar.SetCookies(u, []*http.Cookie{{Name: c.cookie().Name, Value: c.cookie().Value, Path: "/"}})
	wantStatus(c.t, thief.get("/dashboard"), http.StatusOK)
	return thief
}

// userID returns the id of the account with email.
func (ts *testServer) userID(email string) int64 {
	ts.t.Helper()
	var id int64
	if err := ts.db.Read.QueryRow(`SELECT id FROM users WHERE email = ?`, email).Scan(&id); err != nil {
		ts.t.Fatalf("user %s: %v", email, err)
	}
	return id
}

// team is the user's personal team, where their pages and tokens act.
func (ts *testServer) team(userID int64) db.Scope {
	ts.t.Helper()
	sc, err := ts.db.PersonalScope(context.Background(), userID)
	if err != nil {
		ts.t.Fatal(err)
	}
	return sc
}

// projectsOf is the projects list of the user's personal team, where
// /projects also leads.
func (ts *testServer) projectsOf(email string) string {
	ts.t.Helper()
	return views.ProjectsURL(ts.team(ts.userID(email)).TeamID())
}

// count runs a count(*) query.
func (ts *testServer) count(query string, args ...any) int {
	ts.t.Helper()
	var n int
	if err := ts.db.Read.QueryRow(query, args...).Scan(&n); err != nil {
		ts.t.Fatal(err)
	}
	return n
}

// plantLegacyWaysIn gives the account what an older version let anyone
// holding it set up before its address was proven (this one refuses it): an
// API token, two-factor with recovery codes, a linked provider account. It
// returns the token.
func (ts *testServer) plantLegacyWaysIn(userID int64) string {
	ts.t.Helper()
	token, hash := newAPIToken()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO api_tokens (user_id, team_id, name, hash, prefix, created_at)
			SELECT ?1, id, 'planted', ?2, 'skiff_xxxx', ?3 FROM teams WHERE owner_id = ?1 AND personal = 1`, []any{userID, hash, time.Now().UTC()}},
		{`UPDATE users SET totp_secret = 'JBSWY3DPEHPK3PXP' WHERE id = ?`, []any{userID}},
		{`INSERT INTO recovery_codes (user_id, hash) VALUES (?, ?)`, []any{userID, []byte{0}}},
		{`INSERT INTO identities (user_id, provider, provider_user_id, email, created_at) VALUES (?, 'github', 'planted-1', 'x@evil.example', ?)`, []any{userID, time.Now().UTC()}},
	} {
		if _, err := ts.db.Write.Exec(q.sql, q.args...); err != nil {
			ts.t.Fatal(err)
		}
	}
	return token
}

// chooseNewPassword follows a proof page's "confirm and choose a new
// password" in browser c, then sets password.
func chooseNewPassword(t *testing.T, c *client, action, link, password string) {
	t.Helper()
	res := c.get(c.ts.path(link))
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "Confirm and choose a")
	res = c.post(action, url.Values{"token": {tokenOf(t, link)}, "action": {"new-password"}})
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "Choose a new password")
	reset := regexp.MustCompile(`name="token" value="([A-Za-z0-9_-]{43})"`).FindStringSubmatch(res.body)
	if reset == nil {
		t.Fatalf("no reset form after the proof:\n%.1500s", res.body)
	}
	wantRedirect(t, c.post("/reset-password", url.Values{"token": {reset[1]}, "password": {password}}), "/login")
}

const ownerPassword = "the owner's own passphrase"

// TestPreHijackedAccountLosesEverythingAtFirstProof: an attacker registers
// the victim's address before the victim does, and plants ways back in. The
// moment the real owner proves the address, by any path, all of it goes.
func TestPreHijackedAccountLosesEverythingAtFirstProof(t *testing.T) {
	proofs := map[string]func(t *testing.T, ts *testServer, f *fakeProvider, owner *client){
		"verification link": func(t *testing.T, ts *testServer, _ *fakeProvider, owner *client) {
			link := ts.smtp.latest("victim@example.com", "Confirm your email address").link(t, ts.URL+"/verify-email?token=")
			chooseNewPassword(t, owner, "/verify-email", link, ownerPassword)
			wantRedirect(t, owner.login("victim@example.com", ownerPassword, false), "/dashboard")
		},
		"password reset": func(t *testing.T, ts *testServer, _ *fakeProvider, owner *client) {
			owner.post("/forgot-password", url.Values{"email": {"victim@example.com"}})
			link := ts.smtp.latest("victim@example.com", "Reset your password").link(t, ts.URL)
			wantRedirect(t, owner.post("/reset-password", url.Values{"token": {tokenOf(t, link)}, "password": {ownerPassword}}), "/login")
			wantRedirect(t, owner.login("victim@example.com", ownerPassword, false), "/dashboard")
		},
		"magic link": func(t *testing.T, ts *testServer, _ *fakeProvider, owner *client) {
			owner.post("/login/magic", url.Values{"email": {"victim@example.com"}})
			link := ts.smtp.latest("victim@example.com", "Your login link").link(t, ts.URL)
			wantRedirect(t, owner.post("/login/magic/confirm", url.Values{"token": {tokenOf(t, link)}}), "/dashboard")
			wantBody(t, owner.get("/dashboard"), "The password set before it was confirmed was removed")
		},
		"provider that vouches for the address": func(t *testing.T, ts *testServer, f *fakeProvider, owner *client) {
			wantRedirect(t, owner.oauth("google", f.code(fakeAccount{ID: "g-owner", Email: "victim@example.com", Verified: true})), "/dashboard")
		},
	}
	for name, prove := range proofs {
		t.Run(name, func(t *testing.T) {
			ts, f := oauthServer(t)
			attacker := ts.newClient()
			attacker.signup("victim@example.com")
			id := ts.userID("victim@example.com")

			// While the address is unproven, no way in can be added, and the
			// page says why.
			wantBody(t, attacker.get("/settings/tokens"), "Confirm your email address to create API tokens")
			wantBody(t, attacker.get("/settings/security"), "Confirm your email address to connect another way to log in")
			wantBody(t, attacker.get("/settings/2fa"), "Confirm your email address to turn on two-factor authentication")
			for path, form := range map[string]url.Values{
				"/settings/tokens":             {"name": {"backdoor"}, "current_password": {testPassword}},
				"/settings/identities/connect": {"provider": {"github"}, "current_password": {testPassword}},
				"/settings/2fa/enable":         {"code": {"123456"}, "current_password": {testPassword}},
			} {
				res := attacker.post(path, form)
				wantStatus(t, res, http.StatusForbidden)
				wantBody(t, res, "Confirm your email address first")
			}
			// What an older version let it plant, and a pending change of
			// the address to the attacker's own mailbox.
			planted := ts.plantLegacyWaysIn(id)
			wantRedirect(t, attacker.post("/settings/email", url.Values{"email": {"attacker@evil.example"}, "current_password": {testPassword}}), "/settings")
			change := ts.smtp.latest("attacker@evil.example", "Confirm your new email address").link(t, ts.URL)

			owner := ts.newClient()
			prove(t, ts, f, owner)

			// Every way back in is gone.
			wantRedirect(t, attacker.get("/dashboard"), "/login?next=%2Fdashboard")
			wantStatus(t, ts.newClient().login("victim@example.com", testPassword, false), http.StatusUnauthorized)
			if res, v := ts.api("GET", "/api/v1/me", planted, ""); res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("planted API token: %d %v", res.StatusCode, v)
			}
			wantStatus(t, attacker.post("/settings/email/confirm", url.Values{"token": {tokenOf(t, change)}}), http.StatusBadRequest)
			if n := ts.count(`SELECT count(*) FROM identities WHERE provider_user_id = 'planted-1'`); n != 0 {
				t.Fatal("the planted provider account is still linked")
			}
			if n := ts.count(`SELECT count(*) FROM users WHERE id = ? AND (totp_secret IS NOT NULL OR email_verified_at IS NULL)`, id); n != 0 {
				t.Fatal("two-factor set up by the attacker survived, or the address is not marked proven")
			}
			if n := ts.count(`SELECT count(*) FROM recovery_codes WHERE user_id = ?`, id); n != 0 {
				t.Fatal("recovery codes survived")
			}
			if u, _ := ts.db.UserByID(context.Background(), id); u.Email != "victim@example.com" {
				t.Fatalf("the account's address is %s", u.Email)
			}
		})
	}

	// A change of address is a first proof too, made by the account that
	// asked for it (only it may confirm: see TestAdoptingAnotherAccountByEmailChange).
	// An owner who mistyped their address at signup fixes it; whatever a
	// stolen session or an older version attached meanwhile goes.
	t.Run("email change confirmation", func(t *testing.T) {
		ts := newTestServer(t)
		owner := ts.newClient()
		owner.signup("victim@exmaple.com")
		elsewhere := ts.newClient() // a session the owner does not control any more
		wantRedirect(t, elsewhere.login("victim@exmaple.com", testPassword, false), "/dashboard")
		planted := ts.plantLegacyWaysIn(ts.userID("victim@exmaple.com"))
		wantRedirect(t, owner.post("/settings/email", url.Values{"email": {"victim@example.com"}, "current_password": {testPassword}}), "/settings")
		link := ts.smtp.latest("victim@example.com", "Confirm your new email address").link(t, ts.URL)
		wantRedirect(t, owner.post("/settings/email/confirm", url.Values{"token": {tokenOf(t, link)}}), "/settings")
		wantBody(t, owner.get("/settings"), "victim@example.com", "(confirmed)")

		wantRedirect(t, elsewhere.get("/dashboard"), "/login?next=%2Fdashboard")
		wantStatus(t, first(ts.api("GET", "/api/v1/me", planted, "")), http.StatusUnauthorized)
		if n := ts.count(`SELECT count(*) FROM identities`) + ts.count(`SELECT count(*) FROM recovery_codes`); n != 0 {
			t.Fatal("what was attached before the proof survived it")
		}
		wantRedirect(t, ts.newClient().login("victim@example.com", testPassword, false), "/dashboard") // the owner's own password stays
	})
}

// TestOwnerConfirmingKeepsTheirPassword: the first-proof wipe spares what the
// person proving holds. Confirming in the browser that signed up keeps it
// logged in and keeps the password; in another browser, typing the password
// keeps it (and logs in there); other sessions end either way.
func TestOwnerConfirmingKeepsTheirPassword(t *testing.T) {
	ts := newTestServer(t)
	laptop := ts.newClient()
	laptop.signup("ada@example.com")
	phone := ts.newClient()
	wantRedirect(t, phone.login("ada@example.com", testPassword, false), "/dashboard")
	laptop.verifyEmail("ada@example.com")
	wantBody(t, laptop.get("/dashboard"), "Your email address is confirmed. Any other session was signed out.")
	wantRedirect(t, phone.get("/dashboard"), "/login?next=%2Fdashboard")
	wantRedirect(t, ts.newClient().login("ada@example.com", testPassword, false), "/dashboard")

	// Another browser, with the password.
	ts.newClient().signup("bob@example.com")
	link := ts.smtp.latest("bob@example.com", "Confirm your email address").link(t, ts.URL)
	other := ts.newClient()
	res := other.get(ts.path(link))
	wantBody(t, res, "Password of this account", "Confirm and log in")
	res = other.post("/verify-email", url.Values{"token": {tokenOf(t, link)}, "password": {"not the password"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantRedirect(t, other.post("/verify-email", url.Values{"token": {tokenOf(t, link)}, "password": {testPassword}}), "/dashboard")
	wantBody(t, other.get("/dashboard"), "bob@example.com")
	if strings.Contains(other.get("/dashboard").body, "Please confirm your email address") {
		t.Fatal("address not confirmed")
	}
	wantRedirect(t, ts.newClient().login("bob@example.com", testPassword, false), "/dashboard")
}

// TestUnvouchedProviderIdentityIsNotInherited: a stranger signs in with a
// provider account that claims the victim's address without vouching for it.
// Whoever later proves the address, by any path, does not inherit the
// stranger's way in.
func TestUnvouchedProviderIdentityIsNotInherited(t *testing.T) {
	stranger := fakeAccount{ID: "666", Email: "victim@example.com", Verified: false}
	proofs := map[string]func(t *testing.T, ts *testServer, f *fakeProvider, owner *client){
		"verification link": func(t *testing.T, ts *testServer, _ *fakeProvider, owner *client) {
			link := ts.smtp.latest("victim@example.com", "Confirm your email address").link(t, ts.URL)
			chooseNewPassword(t, owner, "/verify-email", link, ownerPassword)
		},
		"password reset": func(t *testing.T, ts *testServer, _ *fakeProvider, owner *client) {
			owner.post("/forgot-password", url.Values{"email": {"victim@example.com"}})
			link := ts.smtp.latest("victim@example.com", "Reset your password").link(t, ts.URL)
			wantRedirect(t, owner.post("/reset-password", url.Values{"token": {tokenOf(t, link)}, "password": {ownerPassword}}), "/login")
		},
		"magic link": func(t *testing.T, ts *testServer, _ *fakeProvider, owner *client) {
			owner.post("/login/magic", url.Values{"email": {"victim@example.com"}})
			link := ts.smtp.latest("victim@example.com", "Your login link").link(t, ts.URL)
			wantRedirect(t, owner.post("/login/magic/confirm", url.Values{"token": {tokenOf(t, link)}}), "/dashboard")
		},
		"provider that vouches for the address": func(t *testing.T, ts *testServer, f *fakeProvider, owner *client) {
			wantRedirect(t, owner.oauth("google", f.code(fakeAccount{ID: "g-owner", Email: "victim@example.com", Verified: true})), "/dashboard")
		},
	}
	for name, prove := range proofs {
		t.Run(name, func(t *testing.T) {
			ts, f := oauthServer(t)
			attacker := ts.newClient()
			wantRedirect(t, attacker.oauth("github", f.code(stranger)), "/dashboard")
			id := ts.userID("victim@example.com")

			prove(t, ts, f, ts.newClient())

			wantRedirect(t, attacker.get("/dashboard"), "/login?next=%2Fdashboard")
			if n := ts.count(`SELECT count(*) FROM identities WHERE user_id = ? AND provider = 'github'`, id); n != 0 {
				t.Fatal("the stranger's GitHub account is still linked")
			}
			// Signing in with it again does not reach the account.
			again := ts.newClient()
			wantRedirect(t, again.oauth("github", f.code(stranger)), "/login")
			wantRedirect(t, again.get("/dashboard"), "/login?next=%2Fdashboard")
		})
	}
}

// TestPasswordResetLocksOutWhoeverHadAccess: someone holds a stolen session
// and an API token. The owner's reset ("I lost control") ends both, and the
// notice lists the providers that can still log in.
func TestPasswordResetLocksOutWhoeverHadAccess(t *testing.T) {
	ts, f := oauthServer(t)
	ada := ts.newClient()
	ada.signupVerified("ada@example.com")
	wantRedirect(t, ada.connect("github", f.code(fakeAccount{ID: "42", Email: "ada@work.example", Verified: true}), testPassword), "/settings/security")
	token := ada.newToken("leaked")
	thief := ada.steal()
	// A passkey the thief added (one made in the database: the ceremony is
	// TestBrowserPasskeys's).
	if _, err := ts.db.AddPasskey(context.Background(), db.Passkey{UserID: ts.userID("ada@example.com"), CredentialID: []byte("planted"),
		PublicKey: []byte("pk"), Name: "Thief's laptop"}); err != nil {
		t.Fatal(err)
	}

	owner := ts.newClient()
	owner.post("/forgot-password", url.Values{"email": {"ada@example.com"}})
	link := ts.smtp.latest("ada@example.com", "Reset your password").link(t, ts.URL)
	wantRedirect(t, owner.post("/reset-password", url.Values{"token": {tokenOf(t, link)}, "password": {ownerPassword}}), "/login")

	wantRedirect(t, thief.get("/dashboard"), "/login?next=%2Fdashboard")
	wantRedirect(t, ada.get("/dashboard"), "/login?next=%2Fdashboard")
	if res, v := ts.api("GET", "/api/v1/me", token, ""); res.StatusCode != http.StatusUnauthorized || apiCode(v) != "invalid_token" {
		t.Fatalf("API token after a reset: %d %v", res.StatusCode, v)
	}
	if n := ts.count(`SELECT count(*) FROM passkeys`); n != 0 {
		t.Fatalf("%d passkeys left after a reset", n)
	}
	m := ts.smtp.latest("ada@example.com", "Your password was reset")
	for _, want := range []string{"Every session was signed out and every API token was revoked", "GitHub (ada@work.example)", ts.URL + "/settings/security#connected-accounts",
		"Its passkeys were removed too: Thief's laptop."} {
		if !strings.Contains(m.Text, want) {
			t.Fatalf("the reset notice lacks %q:\n%s", want, m.Text)
		}
	}
}

// TestStolenSessionCannotAddAWayIn: a stolen cookie without the password
// cannot connect a provider, create an API token or change two-factor; the
// owner can, and each change is announced to the address.
func TestStolenSessionCannotAddAWayIn(t *testing.T) {
	ts, f := oauthServer(t)
	clock := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	ts.srv.now = func() time.Time { return clock }
	ada := ts.newClient()
	ada.signupVerified("ada@example.com")
	thief := ada.steal()
	wantStatus(t, thief.get("/settings/2fa"), http.StatusOK) // enrolment starts in the shared session

	for path, form := range map[string]url.Values{
		"/settings/tokens":             {"name": {"backdoor"}},
		"/settings/identities/connect": {"provider": {"github"}},
		"/settings/2fa/enable":         {"code": {"123456"}},
	} {
		form.Set("current_password", "a guess")
		res := thief.post(path, form)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantBody(t, res, "Your current password is not correct.")
	}
	if n := ts.count(`SELECT count(*) FROM api_tokens`) + ts.count(`SELECT count(*) FROM identities`); n != 0 {
		t.Fatal("a way in was added without the password")
	}

	// The owner, with the password: each change is announced.
	ada.newToken("script")
	ts.smtp.waitFor("ada@example.com", "A new API token was created")
	wantRedirect(t, ada.connect("github", f.code(fakeAccount{ID: "42", Email: "ada@work.example", Verified: true}), testPassword), "/settings/security")
	ts.smtp.waitFor("ada@example.com", "GitHub was connected to your account")
	secret, _ := enableTwoFactor(t, ts, ada)
	ts.smtp.waitFor("ada@example.com", "Two-factor authentication was turned on")
	clock = clock.Add(30 * time.Second)
	code, _ := totp.GenerateCode(secret, clock)
	thief = ada.steal() // enabling renewed the session's token: steal the new one
	wantStatus(t, thief.post("/settings/2fa/disable", url.Values{"code": {code}}), http.StatusUnprocessableEntity)
	wantRedirect(t, ada.post("/settings/2fa/disable", url.Values{"code": {code}, "current_password": {testPassword}}), "/settings/2fa")
	ts.smtp.waitFor("ada@example.com", "Two-factor authentication was turned off")

	// An account without a password: a login in the last ten minutes.
	sso := ts.newClient()
	wantRedirect(t, sso.oauth("oidc", f.code(fakeAccount{ID: "sub-1", Email: "sso@example.com", Verified: true})), "/dashboard")
	stale := sso.steal()
	backdate := `UPDATE sessions SET data = json_set(data, '$.v.auth_at.v', ?)`
	if ts.db.Postgres() {
		backdate = `UPDATE sessions SET data = convert_to(jsonb_set(convert_from(data, 'UTF8')::jsonb, '{v,auth_at,v}', to_jsonb(?::bigint))::text, 'UTF8')`
	}
	if _, err := ts.db.Write.Exec(backdate, time.Now().Add(-11*time.Minute).Unix()); err != nil {
		t.Fatal(err)
	}
	res := stale.post("/settings/tokens", url.Values{"name": {"backdoor"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantBody(t, res, "log out and log in again")
}

// TestDisabledAccountIsLockedOutEverywhere: once an admin disables an
// account, none of its ways in works: pages, API tokens, social login, magic
// links and resets, old or new.
func TestDisabledAccountIsLockedOutEverywhere(t *testing.T) {
	ts, f := oauthServer(t, func(c *testSetup) { c.AdminEmails = map[string]bool{"boss@example.com": true} })
	boss := ts.newClient()
	boss.signupVerified("boss@example.com")
	ada := ts.newClient()
	ada.signupVerified("ada@example.com")
	wantRedirect(t, ada.connect("github", f.code(fakeAccount{ID: "42", Email: "ada@example.com", Verified: true}), testPassword), "/settings/security")
	token := ada.newToken("script")
	anon := ts.newClient()
	anon.post("/login/magic", url.Values{"email": {"ada@example.com"}})
	magic := ts.smtp.latest("ada@example.com", "Your login link").link(t, ts.URL)
	anon.post("/forgot-password", url.Values{"email": {"ada@example.com"}})
	reset := ts.smtp.latest("ada@example.com", "Reset your password").link(t, ts.URL)
	mailsBefore := countMail(ts, "ada@example.com")

	wantRedirect(t, boss.post(fmt.Sprintf("/admin/users/%d/disable", ts.userID("ada@example.com")), nil), "/admin")

	wantRedirect(t, ada.get("/dashboard"), "/login?next=%2Fdashboard")
	if res, v := ts.api("GET", "/api/v1/me", token, ""); res.StatusCode != http.StatusForbidden || apiCode(v) != "account_disabled" {
		t.Fatalf("API token of a disabled account: %d %v", res.StatusCode, v)
	}
	wantStatus(t, ts.newClient().login("ada@example.com", testPassword, false), http.StatusForbidden)
	wantStatus(t, ts.newClient().oauth("github", f.code(fakeAccount{ID: "42", Email: "ada@example.com", Verified: true})), http.StatusForbidden)
	// Links mailed before are void (disabling ends every session and link).
	wantStatus(t, anon.get(ts.path(magic)), http.StatusBadRequest)
	wantStatus(t, anon.post("/login/magic/confirm", url.Values{"token": {tokenOf(t, magic)}}), http.StatusBadRequest)
	wantStatus(t, anon.get(ts.path(reset)), http.StatusBadRequest)
	wantStatus(t, anon.post("/reset-password", url.Values{"token": {tokenOf(t, reset)}, "password": {"taking it back over"}}), http.StatusBadRequest)
	// New links are not sent (the answer stays the same as for any address).
	wantBody(t, anon.post("/login/magic", url.Values{"email": {"ada@example.com"}}), "If an account exists")
	wantBody(t, anon.post("/forgot-password", url.Values{"email": {"ada@example.com"}}), "If an account exists")
	if n := countMail(ts, "ada@example.com"); n != mailsBefore {
		t.Fatalf("%d new mails with links sent to a disabled account", n-mailsBefore)
	}

	// Enabled again, its token and password work again.
	wantRedirect(t, boss.post(fmt.Sprintf("/admin/users/%d/enable", ts.userID("ada@example.com")), nil), "/admin")
	wantStatus(t, first(ts.api("GET", "/api/v1/me", token, "")), http.StatusOK)
	wantRedirect(t, ts.newClient().login("ada@example.com", testPassword, false), "/dashboard")
}

// TestEmailChangeVoidsOlderLinks: whoever still reads the old mailbox (a
// shared or lost one) cannot use a link mailed before the change, and a
// superseded change confirmation does nothing.
func TestEmailChangeVoidsOlderLinks(t *testing.T) {
	ts := newTestServer(t)
	ada := ts.newClient()
	ada.signupVerified("ada@example.com")
	anon := ts.newClient()
	anon.post("/forgot-password", url.Values{"email": {"ada@example.com"}})
	reset := ts.smtp.latest("ada@example.com", "Reset your password").link(t, ts.URL)
	anon.post("/login/magic", url.Values{"email": {"ada@example.com"}})
	magic := ts.smtp.latest("ada@example.com", "Your login link").link(t, ts.URL)

	wantRedirect(t, ada.post("/settings/email", url.Values{"email": {"typo@exmaple.com"}, "current_password": {testPassword}}), "/settings")
	superseded := ts.smtp.latest("typo@exmaple.com", "Confirm your new email address").link(t, ts.URL)
	wantRedirect(t, ada.post("/settings/email", url.Values{"email": {"ada@new.example"}, "current_password": {testPassword}}), "/settings")
	wantStatus(t, ts.newClient().get(ts.path(superseded)), http.StatusBadRequest)
	change := ts.smtp.latest("ada@new.example", "Confirm your new email address").link(t, ts.URL)
	wantRedirect(t, ada.post("/settings/email/confirm", url.Values{"token": {tokenOf(t, change)}}), "/settings")

	wantStatus(t, anon.post("/reset-password", url.Values{"token": {tokenOf(t, reset)}, "password": {"taking it over now"}}), http.StatusBadRequest)
	wantStatus(t, anon.post("/login/magic/confirm", url.Values{"token": {tokenOf(t, magic)}}), http.StatusBadRequest)
	wantStatus(t, anon.post("/settings/email/confirm", url.Values{"token": {tokenOf(t, superseded)}}), http.StatusBadRequest)
	wantBody(t, ada.get("/settings"), "ada@new.example") // this session stays
	wantRedirect(t, ts.newClient().login("ada@new.example", testPassword, false), "/dashboard")
}

// TestConcurrentGuessesGetOnlyTheLimit: guesses sent all at once (from many
// addresses) cannot all pass a limit checked before any of them failed.
func TestConcurrentGuessesGetOnlyTheLimit(t *testing.T) {
	statuses := func(n int, do func(i int) int) map[int]int {
		var mu sync.Mutex
		var wg sync.WaitGroup
		got := map[int]int{}
		for i := range n {
			wg.Go(func() {
				s := do(i)
				mu.Lock()
				got[s]++
				mu.Unlock()
			})
		}
		wg.Wait()
		return got
	}
	const limit = 5
	limits := func(c *testSetup) {
		c.TrustProxyHeaders = true
		c.Limits.LoginPerIP = Rate{N: 1000, Per: time.Minute}
		c.Limits.LoginFailsPerUser = Rate{N: limit, Per: time.Hour}
		c.Limits.TwoFactorPerUser = Rate{N: limit, Per: time.Hour}
		c.Limits.EmailChangePerUser = Rate{N: limit, Per: time.Hour}
	}

	t.Run("passwords at login", func(t *testing.T) {
		ts := newTestServer(t, limits)
		ts.newClient().signup("ada@example.com")
		got := statuses(150, func(i int) int {
			req, _ := http.NewRequest("POST", ts.URL+"/login", strings.NewReader(url.Values{"email": {"ada@example.com"}, "password": {fmt.Sprintf("guess number %d", i)}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("203.0.%d.%d", i/250, i%250))
			return ts.newClient().do(req).StatusCode
		})
		if got[http.StatusUnauthorized] > limit || got[http.StatusTooManyRequests] != 150-got[http.StatusUnauthorized] {
			t.Fatalf("statuses %v: want at most %d checked (401), the rest 429", got, limit)
		}
	})

	// Where the password is right, only the code's limit should answer.
	rightPassword := func(c *testSetup) {
		c.Limits.LoginFailsPerUser = Rate{N: 1000, Per: time.Hour}
		c.Limits.SignupPerIP = Rate{N: 1000, Per: time.Hour}
	}

	t.Run("second-factor codes at login and when turning it off", func(t *testing.T) {
		ts := newTestServer(t, limits, rightPassword)
		ada := ts.newClient()
		ada.signupVerified("ada@example.com")
		enableTwoFactor(t, ts, ada)
		pending := ts.newClient()
		wantRedirect(t, pending.login("ada@example.com", testPassword, false), "/login/2fa")
		got := statuses(40, func(int) int { return pending.post("/login/2fa", url.Values{"code": {"000000"}}).StatusCode })
		if got[http.StatusUnauthorized] > limit || got[http.StatusTooManyRequests] < 40-limit {
			t.Fatalf("login codes: %v", got)
		}
		ts.srv.twoFactorLimiter.reset(fmt.Sprint(ts.userID("ada@example.com")))
		got = statuses(40, func(int) int {
			return ada.post("/settings/2fa/disable", url.Values{"code": {"000000"}, "current_password": {testPassword}}).StatusCode
		})
		if got[http.StatusUnprocessableEntity] > limit || got[http.StatusTooManyRequests] < 40-limit {
			t.Fatalf("turning it off: %v", got)
		}
	})

	t.Run("re-authentication in settings", func(t *testing.T) {
		ts := newTestServer(t, limits)
		ada := ts.newClient()
		ada.signupVerified("ada@example.com")
		thief := ada.steal()
		got := statuses(40, func(i int) int {
			return thief.post("/settings/email", url.Values{"email": {"mine@evil.example"}, "current_password": {fmt.Sprintf("guess %d", i)}}).StatusCode
		})
		if got[http.StatusUnprocessableEntity] > limit || got[http.StatusTooManyRequests] < 40-limit {
			t.Fatalf("statuses %v", got)
		}
	})

	t.Run("address in use answers", func(t *testing.T) {
		ts := newTestServer(t, limits, rightPassword)
		ada := ts.newClient()
		ada.signupVerified("ada@example.com")
		for i := range 20 {
			ts.newClient().signup(fmt.Sprintf("user%d@example.com", i))
		}
		got := statuses(20, func(i int) int {
			return ada.post("/settings/email", url.Values{"email": {fmt.Sprintf("user%d@example.com", i)}, "current_password": {testPassword}}).StatusCode
		})
		if got[http.StatusUnprocessableEntity] > limit || got[http.StatusTooManyRequests] < 20-limit {
			t.Fatalf("statuses %v: want at most %d answers", got, limit)
		}
	})

	t.Run("API tokens per user", func(t *testing.T) {
		ts := newTestServer(t, func(c *testSetup) {
			c.Limits.MaxAPITokens = 3
			c.Limits.APIPerUser = Rate{N: 4, Per: time.Minute}
		})
		ada := ts.newClient()
		ada.signupVerified("ada@example.com")
		got := statuses(6, func(i int) int {
			return ada.post("/settings/tokens", url.Values{"name": {fmt.Sprint("t", i)}, "current_password": {testPassword}}).StatusCode
		})
		if got[http.StatusOK] != 3 || ts.count(`SELECT count(*) FROM api_tokens`) != 3 {
			t.Fatalf("statuses %v: want exactly 3 tokens", got)
		}
		res := ada.post("/settings/tokens", url.Values{"name": {"one more"}, "current_password": {testPassword}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantBody(t, res, "the most an account may hold")
		// One request budget per user, whichever token is used. (Ids are
		// read, not assumed: on Postgres a transaction run again after a
		// conflict has used up an id.)
		var ids []int64
		rows, err := ts.db.Read.Query(`SELECT id FROM api_tokens ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			ids = append(ids, id)
		}
		rows.Close()
		ada.post(fmt.Sprintf("/settings/tokens/%d/revoke", ids[0]), nil)
		a := ada.newToken("a")
		ada.post(fmt.Sprintf("/settings/tokens/%d/revoke", ids[1]), nil)
		b := ada.newToken("b")
		for _, tok := range []string{a, b, a, b} {
			wantStatus(t, first(ts.api("GET", "/api/v1/me", tok, "")), http.StatusOK)
		}
		if res, v := ts.api("GET", "/api/v1/me", b, ""); res.StatusCode != http.StatusTooManyRequests || apiCode(v) != "rate_limited" {
			t.Fatalf("fifth request across two tokens: %d %v", res.StatusCode, v)
		}
	})
}

// sessionDeadline returns when the server expires the user's session.
func (ts *testServer) sessionDeadline(userID int64) time.Time {
	ts.t.Helper()
	var expiry any
	if err := ts.db.Read.QueryRow(`SELECT expiry FROM sessions WHERE `+ts.db.SessionField("user_id")+` = ?`, db.SessionKey(userID)).Scan(&expiry); err != nil {
		ts.t.Fatal(err)
	}
	switch e := expiry.(type) {
	case float64: // sqlite3store: a Julian day
		return time.Unix(int64((e-2440587.5)*86400), 0)
	case time.Time: // postgresstore
		return e
	}
	ts.t.Fatalf("expiry of type %T", expiry)
	return time.Time{}
}

// TestBrowserSessionStaysShortAfterRenewal: a login on a shared computer
// without "remember me" must end with the browser and 12 hours after login,
// even after a change renews its token (which scs resets to 30 days).
func TestBrowserSessionStaysShortAfterRenewal(t *testing.T) {
	ts := newTestServer(t)
	ada := ts.newClient()
	ada.signup("ada@example.com")
	id := ts.userID("ada@example.com")
	atLogin := ts.sessionDeadline(id)
	check := func(after string, res response) {
		t.Helper()
		if d := ts.sessionDeadline(id); d.Sub(atLogin) > time.Second || d.Sub(atLogin) < -time.Second {
			t.Fatalf("after %s the session ends %v; at login it ended %v", after, d, atLogin)
		}
		ck := sessionCookieOf(t, res)
		if ck.MaxAge != 0 || !ck.Expires.IsZero() {
			t.Fatalf("after %s the cookie outlives the browser: %s", after, ck)
		}
	}
	link := ts.smtp.latest("ada@example.com", "Confirm your email address").link(t, ts.URL)
	check("confirming the address", ada.post("/verify-email", url.Values{"token": {tokenOf(t, link)}}))
	check("a password change", ada.post("/settings/password", url.Values{"current_password": {testPassword}, "password": {"another long passphrase"}}))
	res := ada.get("/settings/2fa")
	secret := regexp.MustCompile(`<code class="token">([A-Z2-7]+)</code>`).FindStringSubmatch(res.body)[1]
	code, _ := totp.GenerateCode(secret, time.Now())
	check("turning on two-factor", ada.post("/settings/2fa/enable", url.Values{"code": {code}, "current_password": {"another long passphrase"}}))

	// A remembered login stays remembered.
	bob := ts.newClient()
	bob.signupVerified("bob@example.com")
	wantRedirect(t, bob.login("bob@example.com", testPassword, true), "/dashboard")
	ck := sessionCookieOf(t, bob.post("/settings/password", url.Values{"current_password": {testPassword}, "password": {"another long passphrase"}}))
	if ck.MaxAge < 29*24*3600 {
		t.Fatalf("a remembered session lost its 30 days: %s", ck)
	}
}

// sessionCookieOf returns the session cookie a response sets.
func sessionCookieOf(t *testing.T, res response) *http.Cookie {
	t.Helper()
	for _, ck := range res.Cookies() {
		if ck.Name == "session" || ck.Name == "__Host-session" {
			return ck
		}
	}
	t.Fatalf("%s %s (%d) sets no session cookie", res.Request.Method, res.Request.URL.Path, res.StatusCode)
	return nil
}
