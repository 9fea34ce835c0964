package app

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// enableTwoFactor turns 2FA on for the logged-in client at the server's
// clock and returns the secret and the recovery codes.
func enableTwoFactor(t *testing.T, ts *testServer, c *client) (string, []string) {
	t.Helper()
	res := c.get("/settings/2fa")
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, `src="data:image/png;base64,`)
	secret := regexp.MustCompile(`<code class="token">([A-Z2-7]+)</code>`).FindStringSubmatch(res.body)
	if secret == nil {
		t.Fatalf("no secret shown:\n%.2000s", res.body)
	}
	wantStatus(t, c.post("/settings/2fa/enable", url.Values{"code": {"000000"}, "current_password": {testPassword}}), http.StatusUnprocessableEntity)
	code, _ := totp.GenerateCode(secret[1], ts.srv.now())
	res = c.post("/settings/2fa/enable", url.Values{"code": {code}, "current_password": {testPassword}})
	wantStatus(t, res, http.StatusOK)
	inMain := res.body[strings.Index(res.body, "<main"):] // the head names "apple-touch" and "theme-color"
	codes := regexp.MustCompile(`\b[a-z2-7]{5}-[a-z2-7]{5}\b`).FindAllString(inMain, -1)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown, want 10", len(codes))
	}
	return secret[1], codes
}

func TestTwoFactorLogin(t *testing.T) {
	ts := newTestServer(t)
	clock := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	ts.srv.now = func() time.Time { return clock }
	c := ts.newClient()
	c.signupVerified("ada@example.com")
	secret, codes := enableTwoFactor(t, ts, c)
	wantBody(t, c.get("/settings/2fa"), "is <strong>on</strong>", "10 unused recovery codes")

	// The password alone no longer logs in.
	d := ts.newClient()
	wantRedirect(t, d.login("ada@example.com", testPassword, false), "/login/2fa")
	wantRedirect(t, d.get("/dashboard"), "/login?next=%2Fdashboard")
	afterFirst := d.cookie().Value

	// The code used to enable it cannot be used again in its window.
	used, _ := totp.GenerateCode(secret, clock)
	wantStatus(t, d.post("/login/2fa", url.Values{"code": {used}}), http.StatusUnauthorized)
	// Thirty seconds later the next code works, once, with a new session token.
	clock = clock.Add(30 * time.Second)
	next, _ := totp.GenerateCode(secret, clock)
	wantRedirect(t, d.post("/login/2fa", url.Values{"code": {next}}), "/dashboard")
	if d.cookie().Value == afterFirst {
		t.Fatal("session token not renewed after the second factor")
	}
	wantStatus(t, d.get("/dashboard"), http.StatusOK)
	e := ts.newClient()
	wantRedirect(t, e.login("ada@example.com", testPassword, false), "/login/2fa")
	wantStatus(t, e.post("/login/2fa", url.Values{"code": {next}}), http.StatusUnauthorized)

	// A code one step old still works (clock skew); two steps old does not.
	clock = clock.Add(60 * time.Second)
	old, _ := totp.GenerateCode(secret, clock.Add(-60*time.Second))
	wantStatus(t, e.post("/login/2fa", url.Values{"code": {old}}), http.StatusUnauthorized)
	skewed, _ := totp.GenerateCode(secret, clock.Add(-30*time.Second))
	wantRedirect(t, e.post("/login/2fa", url.Values{"code": {skewed}}), "/dashboard")

	// A recovery code works once.
	f := ts.newClient()
	wantRedirect(t, f.login("ada@example.com", testPassword, false), "/login/2fa")
	wantRedirect(t, f.post("/login/2fa", url.Values{"code": {strings.ToUpper(codes[0])}}), "/dashboard")
	g := ts.newClient()
	wantRedirect(t, g.login("ada@example.com", testPassword, false), "/login/2fa")
	wantStatus(t, g.post("/login/2fa", url.Values{"code": {codes[0]}}), http.StatusUnauthorized)

	// Guessing is rate limited.
	h := ts.newClient()
	wantRedirect(t, h.login("ada@example.com", testPassword, false), "/login/2fa")
	for range 4 {
		wantStatus(t, h.post("/login/2fa", url.Values{"code": {"123456"}}), http.StatusUnauthorized)
	}
	wantStatus(t, h.post("/login/2fa", url.Values{"code": {"123456"}}), http.StatusTooManyRequests)
	// The same budget guards turning it off: guessing cannot move there.
	wantStatus(t, c.post("/settings/2fa/disable", url.Values{"code": {"999999"}, "current_password": {testPassword}}), http.StatusTooManyRequests)
	ts.srv.twoFactorLimiter.reset("1")

	// A magic link is a first factor too.
	m := ts.newClient()
	m.post("/login/magic", url.Values{"email": {"ada@example.com"}})
	link := ts.smtp.waitFor("ada@example.com", "Your login link").link(t, ts.URL)
	wantRedirect(t, m.post("/login/magic/confirm", url.Values{"token": {tokenOf(t, link)}}), "/login/2fa")

	// Turning it off needs a valid code.
	wantStatus(t, c.post("/settings/2fa/disable", url.Values{"code": {codes[1]}}), http.StatusUnprocessableEntity) // no password
	wantStatus(t, c.post("/settings/2fa/disable", url.Values{"code": {"999999"}, "current_password": {testPassword}}), http.StatusUnprocessableEntity)
	wantRedirect(t, c.post("/settings/2fa/disable", url.Values{"code": {codes[1]}, "current_password": {testPassword}}), "/settings")
	wantRedirect(t, ts.newClient().login("ada@example.com", testPassword, false), "/dashboard")
}

func TestTwoFactorPendingIsNotALogin(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	c.signupVerified("ada@example.com")
	enableTwoFactor(t, ts, c)
	d := ts.newClient()
	wantRedirect(t, d.login("ada@example.com", testPassword, false), "/login/2fa")
	for _, p := range []string{"/dashboard", "/settings", "/projects", "/settings/2fa"} {
		if res := d.get(p); res.StatusCode != http.StatusSeeOther {
			t.Errorf("%s reachable between the two factors: %d", p, res.StatusCode)
		}
	}
	wantRedirect(t, ts.newClient().get("/login/2fa"), "/login")
}
