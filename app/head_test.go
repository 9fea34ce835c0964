package app

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// dbSnapshot renders every row of every table, to compare before and after.
func (ts *testServer) dbSnapshot() string {
	ts.t.Helper()
	var b strings.Builder
	tables, err := ts.db.Tables(context.Background())
	if err != nil {
		ts.t.Fatal(err)
	}
	var names []string
	for _, tb := range tables {
		names = append(names, tb.Name)
	}
	for _, n := range names {
		rows, err := ts.db.Read.Query(`SELECT * FROM "` + n + `" ORDER BY 1`)
		if err != nil {
			ts.t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				ts.t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %v\n", n, vals)
		}
		rows.Close()
	}
	return b.String()
}

// TestHeadChangesNothing: mail scanners, link previews and uptime checks send
// HEAD to every link, and Go's mux routes HEAD to the GET handler. Whatever
// they open, and whoever's cookie they carry, nothing changes: no row, no
// session (no flash consumed, no sign-in started), no cookie set.
func TestHeadChangesNothing(t *testing.T) {
	fake := newFakeStripe(t)
	ts, _ := oauthServer(t, withStripe(fake), func(c *testSetup) { c.AdminEmails = map[string]bool{"ada@example.com": true} })
	ada := ts.newClient()
	ada.signupVerified("ada@example.com")
	wantRedirect(t, ada.post("/projects", url.Values{"name": {"Moonshot"}}), ts.projectsOf("ada@example.com")+"/1")
	token := ada.newToken("script")
	res := ada.post("/billing/checkout", url.Values{"plan": {"pro"}})
	sessionID := strings.TrimPrefix(res.Header.Get("Location"), "https://checkout.stripe.com/c/pay/")
	fake.completeCheckout(sessionID, "active")
	// Mailed links of every kind, not used yet.
	ts.newClient().signup("bob@example.com")
	anon := ts.newClient()
	anon.post("/forgot-password", url.Values{"email": {"ada@example.com"}})
	anon.post("/login/magic", url.Values{"email": {"ada@example.com"}})
	ada.post("/settings/email", url.Values{"email": {"ada@new.example"}, "current_password": {testPassword}})
	links := []string{
		ts.smtp.latest("bob@example.com", "Confirm your email address").link(t, ts.URL),
		ts.smtp.latest("ada@example.com", "Reset your password").link(t, ts.URL),
		ts.smtp.latest("ada@example.com", "Your login link").link(t, ts.URL),
		ts.smtp.latest("ada@new.example", "Confirm your new email address").link(t, ts.URL),
	}
	// A flash waiting in Ada's session, and "last seen" times old enough
	// that a GET would refresh them.
	wantRedirect(t, ada.post("/settings/profile", url.Values{"display_name": {"Ada"}}), "/settings")
	ts.db.Write.Exec(`UPDATE user_sessions SET last_seen_at = '2026-01-01 00:00:00.000+00:00'`)
	ts.db.Write.Exec(`UPDATE api_tokens SET last_used_at = '2026-01-01 00:00:00.000+00:00'`)

	before := ts.dbSnapshot()
	head := func(c *client, path string, header map[string]string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodHead, ts.URL+path, nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		res := c.do(req)
		if res.StatusCode >= 500 {
			t.Errorf("HEAD %s: %d", path, res.StatusCode)
		}
		if sc := res.Header.Values("Set-Cookie"); len(sc) > 0 {
			t.Errorf("HEAD %s sets a cookie: %v", path, sc)
		}
	}
	paths := []string{"/", "/signup", "/login", "/login/magic", "/forgot-password", "/pricing", "/dashboard",
		"/projects", "/projects/1", ts.projectsOf("ada@example.com") + "/1", "/teams",
		strings.TrimSuffix(ts.projectsOf("ada@example.com"), "/projects") + "/members", "/settings", "/settings/security", "/settings/2fa", "/settings/2fa/recovery-codes",
		"/settings/2fa/recovery-codes.txt", "/settings/sessions", "/settings/tokens", "/settings/data", "/settings/export",
		"/api", "/billing?session_id=" + sessionID,
		"/reports", "/admin", "/auth/github", "/auth/oidc", "/auth/github/callback?code=x&state=y", "/login/2fa",
		"/dev/mail", "/healthz", "/readyz", "/nope"}
	for _, l := range links {
		paths = append(paths, ts.path(l))
	}
	for _, c := range []*client{ada, ts.newClient()} {
		for _, p := range paths {
			head(c, p, nil)
		}
	}
	head(ts.newClient(), "/api/v1/me", map[string]string{"Authorization": "Bearer " + token})
	head(ts.newClient(), "/api/v1/projects", map[string]string{"Authorization": "Bearer " + token})
	if after := ts.dbSnapshot(); after != before {
		t.Fatalf("HEAD requests changed the database:\n--- before\n%s\n--- after\n%s", before, after)
	}

	// The same GETs do what they should: the flash is still there to show,
	// the checkout applies, the links work.
	wantBody(t, ada.get("/settings"), "Profile saved.")
	wantBody(t, ada.get("/billing?session_id="+sessionID), "Thank you!")
	wantRedirect(t, anon.post("/login/magic/confirm", url.Values{"token": {tokenOf(t, links[2])}}), "/dashboard")
	if ts.dbSnapshot() == before {
		t.Fatal("the GETs changed nothing either: the test proves nothing")
	}
}
