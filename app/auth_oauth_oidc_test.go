package app

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// withOIDCEnv configures the OpenID provider as an operator does, through
// LoadConfig and the environment.
func withOIDCEnv(t *testing.T, issuer, clientID, secret, name string) testOption {
	return func(c *testSetup) {
		loaded, err := LoadConfig(envOf(map[string]string{"OIDC_ISSUER_URL": issuer, "OIDC_CLIENT_ID": clientID,
			"OIDC_CLIENT_SECRET": secret, "OIDC_NAME": name}))
		if err != nil {
			t.Fatal(err)
		}
		c.OAuth = loaded.OAuth
	}
}

// wantRefusalLogged checks that the refusal answered by res was logged with
// its reason and the request id the response carries.
func wantRefusalLogged(t *testing.T, ts *testServer, res response, reason string) {
	t.Helper()
	id := res.Header.Get("X-Request-Id")
	for _, line := range strings.Split(ts.logs.String(), "\n") {
		if strings.Contains(line, `msg="oauth: sign-in refused"`) && strings.Contains(line, "request_id="+id) {
			if !strings.Contains(line, reason) {
				t.Fatalf("refusal of request %s logged without %q:\n%s", id, reason, line)
			}
			return
		}
	}
	t.Fatalf("no refusal logged for request %s (%s %s); logs:\n%s", id, res.Request.Method, res.Request.URL.Path, ts.logs.String())
}

// TestOIDCIssuerEndingInSlash: Auth0-style issuers end with "/", and go-oidc
// compares the issuer byte for byte. Written with or without the slash,
// OIDC_ISSUER_URL works, since the issuer is used as discovery states it.
func TestOIDCIssuerEndingInSlash(t *testing.T) {
	cfg, err := LoadConfig(envOf(map[string]string{"OIDC_ISSUER_URL": "https://tenant.auth0.com/", "OIDC_CLIENT_ID": "x", "OIDC_CLIENT_SECRET": "y"}))
	if err != nil || cfg.OAuth.OIDCIssuerURL != "https://tenant.auth0.com/" {
		t.Fatalf("OIDC_ISSUER_URL loaded as %q (%v), want it as written", cfg.OAuth.OIDCIssuerURL, err)
	}
	for _, written := range []string{"with the slash", "without it"} {
		t.Run(written, func(t *testing.T) {
			f := newFakeProvider(t)
			f.issuer = f.URL + "/"
			setting := map[string]string{"with the slash": f.URL + "/", "without it": f.URL}[written]
			ts := newTestServer(t, withProviders(f), withOIDCEnv(t, setting, f.clientID, "oidc-secret", "Acme SSO"))
			c := ts.newClient()
			res := c.get("/auth/oidc")
			if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, f.URL+"/authorize?") {
				t.Fatalf("the login did not go to the provider: %d, Location %q\n%s", res.StatusCode, loc, ts.logs)
			}
			acct := fakeAccount{ID: "sub-auth0", Email: "ada@example.com", Verified: true}
			wantRedirect(t, c.get(c.authorize(res.Header.Get("Location"), f.code(acct))), "/dashboard")
			wantBody(t, c.get("/dashboard"), "ada@example.com")
		})
	}
}

// TestOIDCConnectReachesTheAuthorizationEndpoint: connecting is a form, and
// the CSP's form-action decides where its redirect may go. An issuer whose
// authorization endpoint is on another origin (here "localhost" rather than
// 127.0.0.1) is listed as discovery states it, and the form goes straight there.
func TestOIDCConnectReachesTheAuthorizationEndpoint(t *testing.T) {
	f := newFakeProvider(t)
	authOrigin := strings.Replace(f.URL, "127.0.0.1", "localhost", 1)
	f.authURL = authOrigin + "/authorize"
	ts := newTestServer(t, withProviders(f))
	c := ts.newClient()
	c.signupVerified("ada@example.com")
	csp := c.get("/settings/security").Header.Get("Content-Security-Policy")
	if formAction := csp[strings.Index(csp, "form-action"):]; !strings.Contains(formAction, authOrigin) {
		t.Fatalf("the CSP's form-action does not list the authorization endpoint's origin %s: %s", authOrigin, formAction)
	}
	res := c.post("/settings/identities/connect", url.Values{"provider": {"oidc"}, "current_password": {testPassword}})
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, f.authURL+"?") {
		t.Fatalf("connect redirected to %q, want the authorization endpoint %s", loc, f.authURL)
	}
	acct := fakeAccount{ID: "sub-work", Email: "ada@work.example", Verified: true}
	wantRedirect(t, c.get(c.authorize(res.Header.Get("Location"), f.code(acct))), "/settings/security")
	wantBody(t, c.get("/settings/security"), "Acme SSO is now connected", "ada@work.example")
}

// TestOIDCDiscoveryAtStartup: `skiff serve` reads the issuer's discovery
// document before it listens, once; when that fails it stops with one line
// that names OIDC_ISSUER_URL, the address fetched and what was wrong,
// instead of starting and failing every login with "not reachable".
func TestOIDCDiscoveryAtStartup(t *testing.T) {
	answer := func(status int, body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			w.Write([]byte(body))
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	closed := httptest.NewServer(nil)
	closed.Close()
	tests := []struct{ name, issuer, want string }{
		{"unreachable", closed.URL, "could not be fetched"},
		{"no discovery document there", answer(404, "<html>\n<h1>Not found</h1>"), "answered 404 Not Found"},
		{"not JSON", answer(200, "<html>\n<p>Welcome</p>"), "is not a JSON discovery document"},
		{"another issuer", answer(200, `{"issuer":"https://other.example.com","authorization_endpoint":"https://other.example.com/a","token_endpoint":"https://other.example.com/t","jwks_uri":"https://other.example.com/k"}`), `names another issuer, "https://other.example.com"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"ADDR": "127.0.0.1:0", "APP_ENV": "development", "DATABASE_PATH": filepath.Join(t.TempDir(), "skiff.db"),
				"OIDC_ISSUER_URL": tt.issuer, "OIDC_CLIENT_ID": "skiff", "OIDC_CLIENT_SECRET": "secret"}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			logs := &syncBuffer{}
			done := make(chan error, 1)
			go func() { done <- Run(ctx, []string{"serve"}, envOf(env), &bytes.Buffer{}, logs) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(15 * time.Second):
			}
			if err == nil {
				cancel()
				<-done
				t.Fatalf("serve started with a broken OIDC_ISSUER_URL; logs:\n%s", logs)
			}
			msg := err.Error()
			for _, want := range []string{"OIDC_ISSUER_URL", tt.issuer + "/.well-known/openid-configuration", tt.want} {
				if !strings.Contains(msg, want) {
					t.Errorf("start-up error %q does not say %q", msg, want)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("start-up error is not one line: %q", msg)
			}
		})
	}

	// A working issuer is read once, at start-up: logins use what was read.
	ts, f := oauthServer(t)
	f.set(func(f *fakeProvider) {
		if f.discoveries != 1 {
			t.Fatalf("discovery document read %d times by the start-up, want 1", f.discoveries)
		}
	})
	for _, id := range []string{"sub-1", "sub-2"} {
		wantRedirect(t, ts.newClient().oauth("oidc", f.code(fakeAccount{ID: id, Email: id + "@example.com", Verified: true})), "/dashboard")
	}
	f.set(func(f *fakeProvider) {
		if f.discoveries != 1 {
			t.Fatalf("discovery document read %d times, want once", f.discoveries)
		}
	})
}

// TestOIDCEmailFromUserinfo: providers that follow the standard in the
// authorization code flow (zitadel, Keycloak by configuration) put email and
// email_verified only in the userinfo response. Those are read there.
func TestOIDCEmailFromUserinfo(t *testing.T) {
	ts, f := oauthServer(t)
	f.set(func(f *fakeProvider) { f.emailInUserinfoOnly = true })
	// The clients fail the test through ts.t, so no subtests: the paths in
	// the messages name the provider.
	for _, provider := range []string{"oidc", "google"} {
		c := ts.newClient()
		email := provider + "-userinfo@example.com"
		wantRedirect(t, c.oauth(provider, f.code(fakeAccount{ID: "ui-" + provider, Email: email, Verified: true})), "/dashboard")
		res := c.get("/dashboard")
		wantBody(t, res, email)
		if strings.Contains(res.body, "Please confirm your email address") {
			t.Fatalf("%s: email_verified from userinfo was not read", provider)
		}
	}
	// Unverified there means unverified here.
	c := ts.newClient()
	wantRedirect(t, c.oauth("oidc", f.code(fakeAccount{ID: "ui-2", Email: "maybe@example.com", Verified: false})), "/dashboard")
	wantBody(t, c.get("/dashboard"), "Please confirm your email address")
}

// TestOIDCUserinfoAboutAnotherSubjectIsRefused: a userinfo answer counts only
// for the subject of the verified ID token (OpenID Connect Core 5.3.2);
// otherwise nothing is created and the log says why.
func TestOIDCUserinfoAboutAnotherSubjectIsRefused(t *testing.T) {
	ts, f := oauthServer(t)
	f.set(func(f *fakeProvider) { f.emailInUserinfoOnly, f.userinfoSubject = true, "someone-else" })
	c := ts.newClient()
	res := c.oauth("oidc", f.code(fakeAccount{ID: "sub-7", Email: "ada@example.com", Verified: true}))
	wantRedirect(t, res, "/login")
	wantBody(t, c.get("/login"), "We could not sign you in with Acme SSO")
	wantRefusalLogged(t, ts, res, `userinfo: it describes subject \"someone-else\", the id token \"sub-7\"`)
	if n, _ := ts.db.CountUsers(context.Background()); n != 0 {
		t.Fatalf("%d users created from another subject's userinfo", n)
	}
}

// TestOAuthAuthorizationRequestHasPKCEAndNonce: every provider gets a PKCE
// challenge (S256, never the verifier itself), and the OpenID ones a nonce,
// fresh for each sign-in.
func TestOAuthAuthorizationRequestHasPKCEAndNonce(t *testing.T) {
	ts, _ := oauthServer(t)
	base64url := regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`) // a SHA-256 hash
	seen := map[string]bool{}
	for _, provider := range []string{"github", "google", "oidc", "github", "google", "oidc"} {
		loc, err := url.Parse(ts.newClient().get("/auth/" + provider).Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		q := loc.Query()
		if q.Get("code_challenge_method") != "S256" || !base64url.MatchString(q.Get("code_challenge")) {
			t.Fatalf("no S256 PKCE challenge in %s", loc)
		}
		if q.Has("code_verifier") {
			t.Fatalf("the verifier is in the authorization URL: %s", loc)
		}
		openID := provider != "github"
		if nonce := q.Get("nonce"); openID && len(nonce) < 20 {
			t.Fatalf("no nonce in %s", loc)
		}
		for _, v := range []string{q.Get("code_challenge"), q.Get("nonce"), q.Get("state")} {
			if v != "" && seen[v] {
				t.Fatalf("%q reused across sign-ins (%s)", v, loc)
			}
			seen[v] = true
		}
	}
}

// TestOAuthStolenCodeIsUseless: a code taken on its way back to the victim's
// browser (a leaky log, a hostile app), then brought to the callback in the
// attacker's own browser with the attacker's own state: the provider
// refuses it, since the attacker's session holds another PKCE verifier.
func TestOAuthStolenCodeIsUseless(t *testing.T) {
	ts, f := oauthServer(t)
	for _, provider := range []string{"github", "google", "oidc"} {
		res := injectStolenCode(t, ts, f, provider)
		wantRedirect(t, res, "/login")
		wantRefusalLogged(t, ts, res, "code_verifier does not match the code_challenge")
	}
	if n, _ := ts.db.CountUsers(context.Background()); n != 0 {
		t.Fatalf("%d users created by stolen codes", n)
	}
}

// injectStolenCode lets the victim sign in up to the provider's redirect
// back, then brings that code to the callback in the attacker's browser.
func injectStolenCode(t *testing.T, ts *testServer, f *fakeProvider, provider string) response {
	t.Helper()
	victim := ts.newClient()
	back := victim.authorize(victim.get("/auth/"+provider).Header.Get("Location"),
		f.code(fakeAccount{ID: "77", Email: "victim-" + provider + "@example.com", Verified: true}))
	code := mustQuery(t, back, "code")
	attacker := ts.newClient()
	state := mustQuery(t, attacker.get("/auth/"+provider).Header.Get("Location"), "state")
	return attacker.get("/auth/" + provider + "/callback?code=" + url.QueryEscape(code) + "&state=" + url.QueryEscape(state))
}

// TestOIDCNonceIsChecked: the ID token must carry the nonce of the sign-in
// this browser started. Where PKCE is missing (a provider that ignores it), a
// stolen code comes with the victim's nonce and is refused; an ID token
// without a nonce (a provider that ignores it) is refused too.
func TestOIDCNonceIsChecked(t *testing.T) {
	ts, f := oauthServer(t)
	f.set(func(f *fakeProvider) { f.ignorePKCE = true })
	for _, provider := range []string{"google", "oidc"} {
		res := injectStolenCode(t, ts, f, provider)
		wantRedirect(t, res, "/login")
		wantRefusalLogged(t, ts, res, "nonce is not the one this browser's sign-in sent")
	}
	f.set(func(f *fakeProvider) { f.ignorePKCE, f.dropNonce = false, true })
	c := ts.newClient()
	res := c.oauth("oidc", f.code(fakeAccount{ID: "sub-8", Email: "ada@example.com", Verified: true}))
	wantRedirect(t, res, "/login")
	wantRefusalLogged(t, ts, res, "id token: no nonce")
	if n, _ := ts.db.CountUsers(context.Background()); n != 0 {
		t.Fatalf("%d users created without the right nonce", n)
	}
}

// TestOAuthRefusalsAreLogged: whatever stops a sign-in at the callback is
// logged with its reason and the request id, while the user sees a message.
func TestOAuthRefusalsAreLogged(t *testing.T) {
	ts, f := oauthServer(t)
	c := ts.newClient()

	res := c.get("/auth/github/callback?code=x&state=y")
	wantStatus(t, res, http.StatusBadRequest)
	wantRefusalLogged(t, ts, res, "no sign-in pending in this session")

	state := mustQuery(t, c.get("/auth/github").Header.Get("Location"), "state")
	res = c.get("/auth/github/callback?code=x&state=" + state + "x")
	wantStatus(t, res, http.StatusBadRequest)
	wantRefusalLogged(t, ts, res, "the state differs")

	state = mustQuery(t, c.get("/auth/google").Header.Get("Location"), "state")
	res = c.get("/auth/google/callback?error=access_denied&error_description=The+user+said+no&state=" + state)
	wantRedirect(t, res, "/login")
	wantRefusalLogged(t, ts, res, `error=\"access_denied\": \"The user said no\"`)

	res = c.oauth("github", "not-a-code")
	wantRedirect(t, res, "/login")
	wantRefusalLogged(t, ts, res, "code exchange")

	ts.newClient().signup("ada@example.com")
	res = c.oauth("github", f.code(fakeAccount{ID: "5", Email: "ada@example.com", Verified: false}))
	wantRedirect(t, res, "/login")
	wantRefusalLogged(t, ts, res, errEmailInUse.Error())
}
