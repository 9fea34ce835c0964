package app

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestOAuthButtonsOnlyForConfiguredProviders(t *testing.T) {
	plain := newTestServer(t)
	if body := plain.newClient().get("/login").body; strings.Contains(body, "Continue with") {
		t.Fatal("provider buttons without providers")
	}
	wantStatus(t, plain.newClient().get("/auth/github"), http.StatusNotFound)

	ts, _ := oauthServer(t)
	c := ts.newClient()
	for _, page := range []string{"/login", "/signup"} {
		wantBody(t, c.get(page), "Continue with GitHub", "Continue with Google", "Continue with Acme SSO")
	}
	wantStatus(t, c.get("/auth/myspace"), http.StatusNotFound)
	wantStatus(t, c.get("/auth/myspace/callback?code=x&state=y"), http.StatusNotFound)
}

func TestOAuthSignupAndLoginEachProvider(t *testing.T) {
	ts, f := oauthServer(t)
	for _, provider := range []string{"github", "google", "oidc"} {
		t.Run(provider, func(t *testing.T) {
			email := provider + "@example.com"
			acct := fakeAccount{ID: "1" + strings.Repeat("0", len(provider)), Email: email, Verified: true}
			c := ts.newClient()
			before := c.cookie()
			res := c.oauth(provider, f.code(acct))
			wantRedirect(t, res, "/dashboard")
			if after := c.cookie(); after == nil || (before != nil && before.Value == after.Value) {
				t.Fatal("session token not renewed")
			}
			res = c.get("/dashboard")
			wantStatus(t, res, http.StatusOK)
			wantBody(t, res, email)
			if strings.Contains(res.body, "Please confirm your email address") {
				t.Fatal("a provider-verified address is not marked verified")
			}
			u, _ := ts.db.UserByEmail(context.Background(), email)
			if u.PasswordHash != "" {
				t.Fatal("social sign-up set a password")
			}
			// Next time, the same identity logs into the same account.
			c2 := ts.newClient()
			wantRedirect(t, c2.oauth(provider, f.code(acct)), "/dashboard")
			wantBody(t, c2.get("/dashboard"), email)
			if n, _ := ts.db.Identities(context.Background(), u.ID); len(n) != 1 {
				t.Fatalf("%d identities, want 1", len(n))
			}
		})
	}
}

func TestOAuthLinksOnlyVerifiedToVerified(t *testing.T) {
	ts, f := oauthServer(t)
	ctx := context.Background()

	// A verified local account is linked when the provider verified the address too.
	ada := ts.newClient()
	ada.signupVerified("ada@example.com")
	c := ts.newClient()
	wantRedirect(t, c.oauth("github", f.code(fakeAccount{ID: "501", Email: "ada@example.com", Verified: true})), "/dashboard")
	u, _ := ts.db.UserByEmail(ctx, "ada@example.com")
	if ids, _ := ts.db.Identities(ctx, u.ID); len(ids) != 1 || u.PasswordHash == "" {
		t.Fatalf("verified account: %d identities, password kept %v", len(ids), u.PasswordHash != "")
	}
	wantRedirect(t, ts.newClient().login("ada@example.com", testPassword, false), "/dashboard")

	// An unverified address at the provider never links to, or takes, an existing account.
	c = ts.newClient()
	res := c.oauth("github", f.code(fakeAccount{ID: "666", Email: "ada@example.com", Verified: false}))
	wantRedirect(t, res, "/login")
	wantBody(t, c.get("/login"), "An account already uses ada@example.com")
	if n, _ := ts.db.CountUsers(ctx); n != 1 {
		t.Fatalf("%d users", n)
	}

	// A new unverified address makes a new, unverified account and a confirmation mail.
	c = ts.newClient()
	wantRedirect(t, c.oauth("oidc", f.code(fakeAccount{ID: "sub-9", Email: "new@example.com", Verified: false})), "/dashboard")
	wantBody(t, c.get("/dashboard"), "Please confirm your email address")
	ts.smtp.waitFor("new@example.com", "Confirm your email address")
}

func TestOAuthPreHijackingDefence(t *testing.T) {
	ts, f := oauthServer(t)
	ctx := context.Background()
	// The attacker registers the victim's address first, and stays logged in.
	attacker := ts.newClient()
	attacker.signup("victim@example.com")
	wantStatus(t, attacker.get("/dashboard"), http.StatusOK)

	// The real owner arrives through Google, which verified the address.
	victim := ts.newClient()
	wantRedirect(t, victim.oauth("google", f.code(fakeAccount{ID: "g-77", Email: "victim@example.com", Verified: true})), "/dashboard")
	wantStatus(t, victim.get("/dashboard"), http.StatusOK)

	// The attacker's session and password are gone.
	wantRedirect(t, attacker.get("/dashboard"), "/login?next=%2Fdashboard")
	wantStatus(t, ts.newClient().login("victim@example.com", testPassword, false), http.StatusUnauthorized)
	u, _ := ts.db.UserByEmail(ctx, "victim@example.com")
	if u.PasswordHash != "" || !u.EmailVerifiedAt.Valid {
		t.Fatalf("user after takeover: %+v", u)
	}
}

func TestOAuthStateIsCheckedAndSingleUse(t *testing.T) {
	ts, f := oauthServer(t)
	c := ts.newClient()

	// No flow started in this browser: any state is refused.
	wantStatus(t, c.get("/auth/github/callback?code="+f.code(fakeAccount{ID: "1", Email: "a@example.com", Verified: true})+"&state=abc"), http.StatusBadRequest)

	// A wrong state is refused, and uses up the pending flow.
	back := c.authorize(c.get("/auth/github").Header.Get("Location"), f.code(fakeAccount{ID: "2", Email: "b@example.com", Verified: true}))
	state := mustQuery(t, back, "state")
	wantStatus(t, c.get(strings.Replace(back, "state="+state, "state=forged", 1)), http.StatusBadRequest)
	wantStatus(t, c.get(back), http.StatusBadRequest)

	// A replay of a finished callback is refused.
	back = c.authorize(c.get("/auth/github").Header.Get("Location"), f.code(fakeAccount{ID: "3", Email: "c@example.com", Verified: true}))
	wantRedirect(t, c.get(back), "/dashboard")
	wantStatus(t, c.get(back), http.StatusBadRequest)

	// Another browser cannot use a state started here (login CSRF).
	c = ts.newClient()
	res := c.get("/auth/oidc")
	state = mustQuery(t, res.Header.Get("Location"), "state")
	wantStatus(t, ts.newClient().get("/auth/oidc/callback?code=x&state="+state), http.StatusBadRequest)
	// Nor can a state of one provider finish at another.
	res = c.get("/auth/google")
	state = mustQuery(t, res.Header.Get("Location"), "state")
	wantStatus(t, c.get("/auth/github/callback?code=x&state="+state), http.StatusBadRequest)
}

func mustQuery(t *testing.T, rawURL, key string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil || u.Query().Get(key) == "" {
		t.Fatalf("no %s in %q", key, rawURL)
	}
	return u.Query().Get(key)
}

func TestOAuthProviderErrors(t *testing.T) {
	ts, f := oauthServer(t)
	c := ts.newClient()

	// The user denies consent.
	res := c.get("/auth/google")
	state := mustQuery(t, res.Header.Get("Location"), "state")
	wantRedirect(t, c.get("/auth/google/callback?error=access_denied&state="+state), "/login")
	wantBody(t, c.get("/login"), "Sign-in with Google was cancelled.")

	// A bad code.
	wantRedirect(t, c.oauth("github", "not-a-code"), "/login")
	wantBody(t, c.get("/login"), "We could not sign you in with GitHub")

	// The provider is down.
	f.mu.Lock()
	f.fail = true
	f.mu.Unlock()
	wantRedirect(t, c.oauth("oidc", f.code(fakeAccount{ID: "x", Email: "x@example.com", Verified: true})), "/login")
	f.mu.Lock()
	f.fail, f.badSig = false, true
	f.mu.Unlock()

	// An ID token signed by someone else is refused.
	wantRedirect(t, c.oauth("oidc", f.code(fakeAccount{ID: "y", Email: "y@example.com", Verified: true})), "/login")
	if !strings.Contains(ts.logs.String(), "id token: failed to verify signature") {
		t.Fatalf("a forged ID token was not refused by its signature:\n%s", ts.logs.String())
	}
	if n, _ := ts.db.CountUsers(context.Background()); n != 0 {
		t.Fatalf("%d users created by failed sign-ins", n)
	}
	if strings.Contains(ts.logs.String(), "level=ERROR") {
		t.Fatalf("provider errors logged as server errors:\n%s", ts.logs.String())
	}
}

func TestOAuthConnectAndDisconnect(t *testing.T) {
	ts, f := oauthServer(t)
	ctx := context.Background()
	c := ts.newClient()
	c.signupVerified("ada@example.com")
	wantBody(t, c.get("/settings/security"), "Connect GitHub", "Connect Google", "Connect Acme SSO")

	// Connecting needs the password; a link alone does not start it.
	wantRedirect(t, c.get("/auth/github"), "/settings/security#connected-accounts")
	res := c.post("/settings/identities/connect", url.Values{"provider": {"github"}, "current_password": {"wrong password"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantBody(t, res, "Your current password is not correct.")

	// Connect GitHub while logged in (its address may differ); the address is told.
	wantRedirect(t, c.connect("github", f.code(fakeAccount{ID: "42", Email: "ada@work.example", Verified: true}), testPassword), "/settings/security")
	res = c.get("/settings/security")
	wantBody(t, res, "GitHub is now connected", "ada@work.example", "Disconnect")
	ts.smtp.waitFor("ada@example.com", "GitHub was connected to your account")
	ids, _ := ts.db.Identities(ctx, ts.userID("ada@example.com"))
	if len(ids) != 1 {
		t.Fatalf("%d identities", len(ids))
	}
	// GitHub now logs into this account.
	wantRedirect(t, ts.newClient().oauth("github", f.code(fakeAccount{ID: "42", Email: "ada@work.example", Verified: true})), "/dashboard")

	// Another user cannot connect the same GitHub account, nor delete Ada's identity.
	bob := ts.newClient()
	bob.signupVerified("bob@example.com")
	wantRedirect(t, bob.connect("github", f.code(fakeAccount{ID: "42", Email: "ada@work.example", Verified: true}), testPassword), "/settings/security")
	wantBody(t, bob.get("/settings/security"), "already connected to another")
	wantStatus(t, bob.post("/settings/identities/"+itoa64(ids[0].ID)+"/delete", nil), http.StatusNotFound)

	// Ada has a password, so she may disconnect it.
	wantRedirect(t, c.post("/settings/identities/"+itoa64(ids[0].ID)+"/delete", nil), "/settings/security")

	// An account with no password cannot remove its last provider.
	sso := ts.newClient()
	wantRedirect(t, sso.oauth("oidc", f.code(fakeAccount{ID: "sub-1", Email: "sso@example.com", Verified: true})), "/dashboard")
	u, _ := ts.db.UserByEmail(ctx, "sso@example.com")
	ids, _ = ts.db.Identities(ctx, u.ID)
	res = sso.post("/settings/identities/"+itoa64(ids[0].ID)+"/delete", nil)
	wantStatus(t, res, http.StatusConflict)
	wantBody(t, res, "only way to log in")
	// With a second provider connected, one may go.
	wantRedirect(t, sso.connect("google", f.code(fakeAccount{ID: "g-1", Email: "sso@example.com", Verified: true}), ""), "/settings/security")
	wantRedirect(t, sso.post("/settings/identities/"+itoa64(ids[0].ID)+"/delete", nil), "/settings/security")
	// A user without a password sets one through the reset flow.
	wantStatus(t, sso.post("/forgot-password", url.Values{"email": {"sso@example.com"}}), http.StatusOK)
	ts.smtp.waitFor("sso@example.com", "Reset your password")
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
