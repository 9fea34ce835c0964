package app

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

const (
	firefoxLinux = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
	safariIPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1"
)

// as sends every request of the client with a User-Agent.
func (c *client) as(ua string) *client {
	inner := c.hc.Transport
	if inner == nil {
		inner = http.DefaultTransport
	}
	c.hc.Transport = uaTransport{ua, inner}
	return c
}

type uaTransport struct {
	ua    string
	inner http.RoundTripper
}

func (u uaTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.ua)
	return u.inner.RoundTrip(r)
}

func TestActiveSessions(t *testing.T) {
	ts := newTestServer(t)
	laptop := ts.newClient().as(firefoxLinux)
	laptop.signup("ada@example.com")
	phone := ts.newClient().as(safariIPhone)
	wantRedirect(t, phone.login("ada@example.com", testPassword, true), "/dashboard")

	// A sign-in from a device not seen before is mailed; the first one is not.
	m := ts.smtp.waitFor("ada@example.com", "New sign-in to your account")
	if !strings.Contains(m.Text, "Safari on iOS") || !strings.Contains(m.Text, ts.URL+"/settings/sessions") {
		t.Fatalf("new sign-in mail:\n%s", m.Text)
	}
	res := laptop.get("/settings/sessions")
	wantBody(t, res, "Firefox on Linux", "Safari on iOS", "this device", "Sign out everywhere else")
	if countMail(ts, "ada@example.com") != 2 { // the verification and one new sign-in
		t.Fatalf("mails: %v", ts.smtp.subjects())
	}

	// Revoke the phone from the laptop: it stops working on its next request.
	ids := regexp.MustCompile(`/settings/sessions/([A-Za-z0-9_-]+)/revoke`).FindAllStringSubmatch(res.body, -1)
	if len(ids) != 1 {
		t.Fatalf("revoke buttons: %v", ids)
	}
	// Another user cannot revoke it.
	bob := ts.newClient()
	bob.signup("bob@example.com")
	wantStatus(t, bob.post("/settings/sessions/"+ids[0][1]+"/revoke", nil), http.StatusNotFound)
	wantStatus(t, phone.get("/dashboard"), http.StatusOK)

	wantRedirect(t, laptop.post("/settings/sessions/"+ids[0][1]+"/revoke", nil), "/settings/sessions")
	wantRedirect(t, phone.get("/dashboard"), "/login?next=%2Fdashboard")
	wantStatus(t, laptop.get("/dashboard"), http.StatusOK)

	// Sign out everywhere else.
	tablet := ts.newClient().as(safariIPhone)
	wantRedirect(t, tablet.login("ada@example.com", testPassword, false), "/dashboard")
	desktop := ts.newClient().as(firefoxLinux)
	wantRedirect(t, desktop.login("ada@example.com", testPassword, false), "/dashboard")
	wantRedirect(t, laptop.post("/settings/sessions/revoke-others", nil), "/settings/sessions")
	wantBody(t, laptop.get("/settings/sessions"), "Signed out 2 other sessions.")
	wantRedirect(t, tablet.get("/dashboard"), "/login?next=%2Fdashboard")
	wantRedirect(t, desktop.get("/dashboard"), "/login?next=%2Fdashboard")
	wantStatus(t, laptop.get("/dashboard"), http.StatusOK)
	u, _ := ts.db.UserByEmail(context.Background(), "ada@example.com")
	if list, _ := ts.db.UserSessions(context.Background(), u.ID); len(list) != 1 {
		t.Fatalf("%d sessions listed, want 1", len(list))
	}
	// Known devices are not mailed about again.
	if n := countMail(ts, "ada@example.com"); n != 2 {
		t.Fatalf("%d mails, want 2: %v", n, ts.smtp.subjects())
	}
}

// TestStolenSessionIsRevoked: a cookie copied to another machine works like
// the original until the owner signs it out, then fails everywhere at once.
func TestStolenSessionIsRevoked(t *testing.T) {
	ts := newTestServer(t)
	owner := ts.newClient().as(firefoxLinux)
	owner.signup("ada@example.com")
	thief := ts.newClient()
	u, _ := url.Parse(ts.URL)
	thief.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: owner.cookie().Value, Path: "/"}})
	wantStatus(t, thief.get("/dashboard"), http.StatusOK)
	// The owner logs in elsewhere and signs out every other session.
	other := ts.newClient().as(safariIPhone)
	wantRedirect(t, other.login("ada@example.com", testPassword, false), "/dashboard")
	wantRedirect(t, other.post("/settings/sessions/revoke-others", nil), "/settings/sessions")
	wantRedirect(t, thief.get("/dashboard"), "/login?next=%2Fdashboard")
}

func TestDeviceName(t *testing.T) {
	for ua, want := range map[string]string{
		firefoxLinux: "Firefox on Linux",
		safariIPhone: "Safari on iOS",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36 Edg/140.0": "Edge on Windows",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36":        "Chrome on macOS",
		"curl/8.5.0": "curl on unknown system",
		"":           "Unknown browser on unknown system",
	} {
		if got := deviceName(ua); got != want {
			t.Errorf("deviceName(%q) = %q, want %q", ua, got, want)
		}
	}
}
