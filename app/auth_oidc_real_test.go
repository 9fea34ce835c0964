package app

import (
	"context"
	"encoding/json"
	"fmt"
	"go/build"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// The in-repo fake plays the providers as the tests want them. These tests
// run real OpenID providers instead, written by others from the standard,
// and drive sign-up, login and connecting through them in Chromium:
// zitadel/oidc's example provider (a separate program, installed by .ci/run)
// and mockoidc (a Go library, started in the test).

// realAccount is an account at a real provider: before runs before the
// browser is sent there, at is what the user does on the provider's pages.
type realAccount struct {
	email      string
	before, at chromedp.Action[chromedp.Void]
}

// realProviderJourney signs up through the provider called name (the "oidc"
// provider), logs out and in again with it, then connects another account
// of it from Settings to an account with a password: the connect form
// redirects to the provider's actual authorization endpoint, which the
// CSP's form-action must allow.
func realProviderJourney(t *testing.T, ts *testServer, name string, first, second realAccount) {
	ctx := context.Background()
	step := stepper(t, newBrowser(t))
	button := chromedp.Search(`//a[contains(., "Continue with ` + name + `")]`)
	dashboardOf := func(email string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(heading("Dashboard"), chromedp.WaitVisible(chromedp.Search(`//strong[contains(., "`+email+`")]`)))
	}
	logOut := chromedp.Steps(chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "You have been logged out.")]`)))

	step("sign up with "+name, chromedp.Navigate(ts.URL+"/signup"), heading("Create your account"),
		first.before, chromedp.Click(button), first.at, dashboardOf(first.email))
	step("log out", logOut)
	step("log in with "+name, chromedp.Navigate(ts.URL+"/login"), heading("Log in"),
		first.before, chromedp.Click(button), first.at, dashboardOf(first.email))
	u, err := ts.db.UserByEmail(ctx, first.email)
	if err != nil || !u.EmailVerifiedAt.Valid || u.PasswordHash != "" {
		t.Fatalf("the account made through %s: %+v, %v", name, u, err)
	}
	if ids, _ := ts.db.Identities(ctx, u.ID); len(ids) != 1 {
		t.Fatalf("sign-up then login made %d identities, want 1", len(ids))
	}
	step("log out again", logOut)

	ts.newClient().signupVerified("ada@example.com")
	step("log in with the password", chromedp.Navigate(ts.URL+"/login"), heading("Log in"),
		chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)), heading("Dashboard"))
	step("connect "+name+" from Settings", chromedp.Navigate(ts.URL+"/settings/security#connected-accounts"), heading("Password and security"),
		chromedp.SendKeys(chromedp.ID("connect-password"), testPassword),
		second.before, chromedp.Click(chromedp.CSS(`button[name="provider"][value="oidc"]`)), second.at,
		heading("Password and security"), chromedp.WaitVisible(chromedp.Search(`//p[contains(., "`+name+` is now connected")]`)),
		chromedp.WaitVisible(chromedp.Search(`//li[contains(., "`+second.email+`")]`)))
	ada, _ := ts.db.UserByEmail(ctx, "ada@example.com")
	if ids, _ := ts.db.Identities(ctx, ada.ID); len(ids) != 1 || ids[0].Provider != "oidc" || ids[0].Email != second.email {
		t.Fatalf("identities after connecting: %+v", ids)
	}
}

// zitadelInstall is how .ci/run installs zitadel/oidc's example provider. Its
// main package is example/server, so the program is called "server": it
// goes into a folder of its own.
const zitadelInstall = "GOBIN=$(go env GOPATH)/zitadel-oidc-v3.52.0 go install github.com/zitadel/oidc/v3/example/server@v3.52.0"

// zitadelProgram returns the path of zitadel/oidc's example provider.
// Without it the test is skipped, unless SKIFF_ZITADEL=required (as in CI).
func zitadelProgram(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("SKIFF_ZITADEL_OP")
	if bin == "" {
		bin = filepath.Join(build.Default.GOPATH, "zitadel-oidc-v3.52.0", "server")
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("SKIFF_ZITADEL") == "required" {
			t.Fatalf("SKIFF_ZITADEL=required but %s is missing: %s", bin, zitadelInstall)
		}
		t.Skipf("zitadel test skipped: %s is missing (install it with `%s`, or set SKIFF_ZITADEL=required to make this an error)", bin, zitadelInstall)
	}
	return bin
}

// startZitadel runs zitadel/oidc's example provider with its "web" client
// (secret "secret") allowed to redirect to redirectURI, and returns its
// issuer, http://localhost:PORT/ (with the trailing slash).
func startZitadel(t *testing.T, bin, redirectURI string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a free port for it
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port), "REDIRECT_URI="+redirectURI)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("zitadel's log:\n%s", logs)
		}
	})
	issuer := fmt.Sprintf("http://localhost:%d/", port)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		res, err := http.Get(issuer + ".well-known/openid-configuration")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return issuer
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("zitadel did not start on port %d: %v\n%s", port, err, logs)
		}
	}
}

// TestRealOIDCZitadel signs up, logs in and connects through zitadel/oidc's
// example provider. Its issuer ends with "/", and it follows the standard in
// the authorization code flow: email and email_verified come from userinfo
// only; it checks the PKCE verifier and returns the nonce. Its login page
// is its own, on its own origin.
func TestRealOIDCZitadel(t *testing.T) {
	bin := zitadelProgram(t)
	// The provider must know the callback address before Skiff starts, and
	// Skiff reads the provider's discovery document as it starts.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := startZitadel(t, bin, "http://"+ln.Addr().String()+"/auth/oidc/callback")
	ts := newTestServerOn(t, ln, withOIDCEnv(t, issuer, "web", "secret", "Zitadel"))
	// Its two test users, from its storage.NewUserStore.
	login := func(username string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(chromedp.WaitVisible(chromedp.ID("username")),
			chromedp.SendKeys(chromedp.ID("username"), username),
			chromedp.SendKeys(chromedp.ID("password"), "verysecure"),
			chromedp.Click(chromedp.CSS(`button[type="submit"]`)))
	}
	realProviderJourney(t, ts, "Zitadel",
		realAccount{email: "test-user@zitadel.ch", before: chromedp.Steps(), at: login("test-user@localhost")},
		realAccount{email: "test-user2@zitadel.ch", before: chromedp.Steps(), at: login("test-user2")})
}

// userinfoOnlyUser is a mockoidc user whose ID token carries no email
// claims: they are in the userinfo response only, as at zitadel.
type userinfoOnlyUser struct{ sub, email string }

func (u userinfoOnlyUser) ID() string { return u.sub }

func (u userinfoOnlyUser) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]any{"sub": u.sub, "email": u.email, "email_verified": true})
}

func (u userinfoOnlyUser) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	return base, nil
}

// TestRealOIDCMockoidc signs up, logs in and connects through mockoidc
// (oauth2-proxy's mock OpenID provider, which checks the PKCE verifier
// whenever a challenge was sent and puts the nonce in the ID token), and
// checks from its side that every authorization request carried an S256
// challenge and a nonce. The connected account's address is in userinfo only.
func TestRealOIDCMockoidc(t *testing.T) {
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var authorizations []url.Values
	m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == mockoidc.AuthorizationEndpoint {
				mu.Lock()
				authorizations = append(authorizations, r.URL.Query())
				mu.Unlock()
			}
			next.ServeHTTP(w, r)
		})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	ts := newTestServer(t, withOIDCEnv(t, m.Issuer(), m.ClientID, m.ClientSecret, "mockoidc"))

	// mockoidc signs in, at once, the user queued before the browser arrives.
	queue := func(u mockoidc.User) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(context.Context, *chromedp.Target) error { m.QueueUser(u); return nil })
	}
	jane := mockoidc.DefaultUser()
	realProviderJourney(t, ts, "mockoidc",
		realAccount{email: jane.Email, before: queue(jane), at: chromedp.Steps()},
		realAccount{email: "ada@work.example", before: queue(userinfoOnlyUser{sub: "ada-at-work", email: "ada@work.example"}), at: chromedp.Steps()})

	mu.Lock()
	defer mu.Unlock()
	if len(authorizations) != 3 {
		t.Fatalf("mockoidc saw %d authorization requests, want 3", len(authorizations))
	}
	for _, q := range authorizations {
		if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" {
			t.Fatalf("an authorization request without PKCE (S256) or nonce: %v", q)
		}
	}
}
