package app

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestSignupLoginLogout(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()

	// Anonymous visitors are sent to log in, and come back afterwards.
	wantRedirect(t, c.get("/dashboard"), "/login?next=%2Fdashboard")

	c.signup("Ada@Example.com")
	first := c.cookie()
	if first == nil {
		t.Fatal("no session cookie after signup")
	}
	res := c.get("/dashboard")
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "Please confirm your email address", "ada@example.com", "Log out")

	// Logging out deletes the session and issues a new token for the goodbye message.
	res = c.post("/logout", nil)
	wantRedirect(t, res, "/")
	if ck := c.cookie(); ck != nil && ck.Value == first.Value {
		t.Fatal("session token not renewed on logout")
	}
	wantBody(t, c.get("/"), "You have been logged out.")
	// The flash shows once.
	if res := c.get("/"); strings.Contains(res.body, "You have been logged out.") {
		t.Fatal("flash message shown twice")
	}
	wantRedirect(t, c.get("/dashboard"), "/login?next=%2Fdashboard")

	// The old token no longer works, even if replayed.
	replay := ts.newClient()
	u, _ := url.Parse(ts.URL)
	replay.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: first.Value, Path: "/"}})
	wantRedirect(t, replay.get("/dashboard"), "/login?next=%2Fdashboard")

	// Log in again, going back to the page that asked for it.
	before := c.cookie()
	res = c.post("/login", url.Values{"email": {"ADA@example.com "}, "password": {testPassword}, "next": {"/projects"}})
	wantRedirect(t, res, "/projects")
	if after := c.cookie(); after == nil || (before != nil && after.Value == before.Value) {
		t.Fatal("session token not renewed on login")
	}
	wantStatus(t, c.get("/projects"), http.StatusOK)

	// A logged-in visitor does not see the forms again.
	wantRedirect(t, c.get("/login"), "/dashboard")
	wantRedirect(t, c.get("/signup"), "/dashboard")
}

func TestSessionCookieAttributes(t *testing.T) {
	setCookie := func(res response) *http.Cookie {
		t.Helper()
		for _, ck := range res.Cookies() {
			if strings.HasSuffix(ck.Name, "session") && ck.Value != "" {
				return ck
			}
		}
		t.Fatalf("no session cookie set; headers: %v", res.Header)
		return nil
	}

	t.Run("http", func(t *testing.T) {
		ts := newTestServer(t)
		c := ts.newClient()
		res := c.post("/signup", url.Values{"email": {"ada@example.com"}, "password": {testPassword}})
		ck := setCookie(res)
		if ck.Name != "session" || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure || ck.Domain != "" {
			t.Fatalf("cookie %q: want session; HttpOnly; SameSite=Lax; Path=/; not Secure; host-only", res.Header.Get("Set-Cookie"))
		}
		if ck.MaxAge != 0 || !ck.Expires.IsZero() {
			t.Fatalf("signup cookie %q should end with the browser", res.Header.Get("Set-Cookie"))
		}
		if res.Header.Get("Strict-Transport-Security") != "" {
			t.Fatal("HSTS sent over plain HTTP")
		}
	})

	t.Run("https", func(t *testing.T) {
		ts := newTestServer(t, withTLS())
		c := ts.newClient()
		res := c.post("/signup", url.Values{"email": {"ada@example.com"}, "password": {testPassword}})
		ck := setCookie(res)
		if ck.Name != "__Host-session" || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" {
			t.Fatalf("cookie %q: want __Host-session; Secure; HttpOnly; SameSite=Lax; Path=/", res.Header.Get("Set-Cookie"))
		}
		if !strings.Contains(res.Header.Get("Strict-Transport-Security"), "max-age=") {
			t.Fatal("no HSTS header over HTTPS")
		}
		wantStatus(t, c.get("/dashboard"), http.StatusOK)
	})

	t.Run("remember me", func(t *testing.T) {
		ts := newTestServer(t)
		ts.newClient().signup("ada@example.com")

		res := ts.newClient().login("ada@example.com", testPassword, false)
		wantRedirect(t, res, "/dashboard")
		ck := setCookie(res)
		if ck.MaxAge != 0 || !ck.Expires.IsZero() {
			t.Fatalf("without remember me the cookie must end with the browser: %q", res.Header.Get("Set-Cookie"))
		}

		res = ts.newClient().login("ada@example.com", testPassword, true)
		wantRedirect(t, res, "/dashboard")
		ck = setCookie(res)
		if want := int(rememberedSessionLifetime.Seconds()); ck.MaxAge < want-5 || ck.MaxAge > want+5 {
			t.Fatalf("remember me: Max-Age %d, want about %d", ck.MaxAge, want)
		}
	})
}

func TestBrowserSessionHasTwelveHourDeadline(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	c.signup("ada@example.com")
	u, err := ts.db.UserByEmail(context.Background(), "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	deadline := ts.sessionDeadline(u.ID)
	if d := time.Until(deadline); d < 11*time.Hour || d > 13*time.Hour {
		t.Fatalf("session expires in %v, want 12h", d)
	}
}

func TestSessionTokensStoredHashed(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	c.signup("ada@example.com")
	var n int
	if err := ts.db.Read.QueryRow(`SELECT count(*) FROM sessions WHERE token = ?`, c.cookie().Value).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("the raw session token is stored in the database")
	}
}

func TestLoginDoesNotRevealAccounts(t *testing.T) {
	ts := newTestServer(t)
	ts.newClient().signup("ada@example.com")

	before := ts.srv.hasher.derivations.Load()
	wrong := ts.newClient().login("ada@example.com", "not the password", false)
	afterWrong := ts.srv.hasher.derivations.Load()
	unknown := ts.newClient().login("bob@example.com", "not the password", false)
	afterUnknown := ts.srv.hasher.derivations.Load()

	wantStatus(t, wrong, http.StatusUnauthorized)
	wantStatus(t, unknown, http.StatusUnauthorized)
	wantBody(t, wrong, loginFailed)
	strip := func(r response, email string) string { return strings.ReplaceAll(r.body, email, "EMAIL") }
	if strip(wrong, "ada@example.com") != strip(unknown, "bob@example.com") {
		t.Fatal("a wrong password and an unknown email give different pages")
	}
	// Both did exactly one argon2id derivation: the same work, so the same time.
	if afterWrong-before != 1 || afterUnknown-afterWrong != 1 {
		t.Fatalf("argon2id runs: wrong password %d, unknown email %d; want 1 and 1", afterWrong-before, afterUnknown-afterWrong)
	}
	if wrong.cookie() != nil {
		t.Fatal("failed login set a session cookie")
	}
}

func (r response) cookie() *http.Cookie {
	for _, ck := range r.Cookies() {
		if strings.HasSuffix(ck.Name, "session") && ck.Value != "" {
			return ck
		}
	}
	return nil
}

func TestSignupValidation(t *testing.T) {
	ts := newTestServer(t)
	ts.newClient().signup("taken@example.com")

	tests := []struct {
		name, email, password string
		want                  string
	}{
		{"empty", "", "", "Enter your email address."},
		{"bad email", "not-an-email", testPassword, "Enter a valid email address"},
		{"display name", "Ada <ada@example.com>", testPassword, "Enter a valid email address"},
		{"no dot in domain", "ada@localhost", testPassword, "Enter a valid email address"},
		{"short password", "ada@example.com", "short", "Use at least 8 characters."},
		{"long password", "ada@example.com", strings.Repeat("a", 1025), "Use at most 1024 characters."},
		{"common password", "ada@example.com", "Password1", "too common"},
		{"common password, other case", "ada@example.com", "IloveYou1", "too common"},
		{"password is the email", "ada@example.com", "ADA@example.com", "must not be your email"},
		{"taken email", "Taken@Example.com", testPassword, "already exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := ts.newClient().post("/signup", url.Values{"email": {tt.email}, "password": {tt.password}})
			wantStatus(t, res, http.StatusUnprocessableEntity)
			wantBody(t, res, tt.want, `aria-invalid="true"`)
			if tt.email != "" && !strings.Contains(res.body, `value="`+html.EscapeString(normalizeEmail(tt.email))+`"`) {
				t.Fatalf("the email the user typed is not kept:\n%s", res.body)
			}
			if tt.password != "" && len(tt.password) < 100 && strings.Contains(res.body, tt.password) && tt.password != tt.email {
				t.Fatal("the password was echoed back into the page")
			}
		})
	}
	if n, _ := ts.db.CountUsers(context.Background()); n != 1 {
		t.Fatalf("%d users, want 1", n)
	}
}

func TestLoginValidation(t *testing.T) {
	ts := newTestServer(t)
	res := ts.newClient().post("/login", url.Values{"email": {"nope"}, "password": {""}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantBody(t, res, "Enter a valid email address", "Enter your password.")
}

func TestLoginNextIsLocalOnly(t *testing.T) {
	ts := newTestServer(t)
	ts.newClient().signup("ada@example.com")
	for _, next := range []string{"https://evil.example/", "//evil.example/x", `/\evil.example`, "javascript:alert(1)", "/%0d%0aSet-Cookie:x=1"} {
		t.Run(next, func(t *testing.T) {
			c := ts.newClient()
			res := c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}, "next": {next}})
			loc := res.Header.Get("Location")
			if loc != "/dashboard" && !strings.HasPrefix(loc, "/%") {
				t.Fatalf("next %q redirected to %q", next, loc)
			}
		})
	}
}

func TestSafeNext(t *testing.T) {
	for next, want := range map[string]string{
		"/projects":            "/projects",
		"/projects/3?tab=a":    "/projects/3?tab=a",
		"":                     "",
		"dashboard":            "",
		"//evil.example":       "",
		"/\\evil.example":      "",
		"https://evil.example": "",
		"/a\r\nb":              "",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestAuthEpochSignsOutEverywhere(t *testing.T) {
	ts := newTestServer(t)
	laptop := ts.newClient()
	laptop.signup("ada@example.com")
	phone := ts.newClient()
	wantRedirect(t, phone.login("ada@example.com", testPassword, true), "/dashboard")
	wantStatus(t, laptop.get("/dashboard"), http.StatusOK)
	wantStatus(t, phone.get("/dashboard"), http.StatusOK)

	u, err := ts.db.UserByEmail(context.Background(), "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.db.SignOutEverywhere(context.Background(), u.ID); err != nil {
		t.Fatal(err)
	}
	wantRedirect(t, laptop.get("/dashboard"), "/login?next=%2Fdashboard")
	wantRedirect(t, phone.get("/dashboard"), "/login?next=%2Fdashboard")

	// Logging in again works and carries the new epoch.
	wantRedirect(t, phone.login("ada@example.com", testPassword, false), "/dashboard")
	wantStatus(t, phone.get("/dashboard"), http.StatusOK)
}

func TestPasswordRehashedOnLogin(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	// An account hashed with older, weaker parameters.
	old := newPasswordHasher(argonParams{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	hash, err := old.hash(ctx, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	u, err := ts.db.CreateUser(ctx, "ada@example.com", hash, false)
	if err != nil {
		t.Fatal(err)
	}
	wantRedirect(t, ts.newClient().login("ada@example.com", testPassword, false), "/dashboard")
	u, _ = ts.db.UserByID(ctx, u.ID)
	if !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash not upgraded: %s", u.PasswordHash)
	}
	wantRedirect(t, ts.newClient().login("ada@example.com", testPassword, false), "/dashboard")
}
