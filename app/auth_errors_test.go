package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// breakTable renames table in the test's database, so that every query of it
// fails as a real database error would (not as "no such row").
func (ts *testServer) breakTable(table string) {
	ts.t.Helper()
	if _, err := ts.db.Write.Exec(`ALTER TABLE ` + table + ` RENAME TO ` + table + `_broken`); err != nil {
		ts.t.Fatal(err)
	}
}

// wantLogged500 checks that res is the friendly 500 page and that the error
// behind it was logged with the request id the response carries.
func wantLogged500(t *testing.T, ts *testServer, res response) {
	t.Helper()
	wantStatus(t, res, http.StatusInternalServerError)
	wantBody(t, res, "Something went wrong")
	id := res.Header.Get("X-Request-Id")
	for _, line := range strings.Split(ts.logs.String(), "\n") {
		if strings.Contains(line, "level=ERROR") && strings.Contains(line, "request_id="+id) {
			return
		}
	}
	t.Fatalf("no error logged for request %s (%s %s); logs:\n%s", id, res.Request.Method, res.Request.URL.Path, ts.logs.String())
}

// TestLinkDatabaseFailureIsNotAnExpiredLink: a mailed link whose lookup fails
// in the database is a logged 500, never "This link has expired" (which
// would send the person for a new link that fails the same way, and leave
// nothing in the logs).
func TestLinkDatabaseFailureIsNotAnExpiredLink(t *testing.T) {
	for _, table := range []string{"tokens", "users"} {
		t.Run(table, func(t *testing.T) {
			ts := newTestServer(t)
			ts.newClient().signup("ada@example.com")
			verify := ts.smtp.waitFor("ada@example.com", "Confirm your email address").link(t, ts.URL)
			ts.newClient().post("/forgot-password", url.Values{"email": {"ada@example.com"}})
			reset := ts.smtp.waitFor("ada@example.com", "Reset your password").link(t, ts.URL)
			ts.newClient().post("/login/magic", url.Values{"email": {"ada@example.com"}})
			magic := ts.smtp.waitFor("ada@example.com", "Your login link").link(t, ts.URL)

			ts.breakTable(table)
			for _, link := range []string{verify, reset, magic} {
				res := ts.newClient().get(ts.path(link))
				if strings.Contains(res.body, "This link has expired") {
					t.Fatalf("GET %s with a failing database: %q", ts.path(link), "This link has expired")
				}
				wantLogged500(t, ts, res)
			}
			res := ts.newClient().post("/login/magic/confirm", url.Values{"token": {tokenOf(t, magic)}})
			wantLogged500(t, ts, res)
		})
	}
}

// TestMailRequestLookupFailureIsNotSuccess: when looking the address up fails,
// "forgot password" and "log in with a link" do not answer "Check your
// email" as if the address simply had no account.
func TestMailRequestLookupFailureIsNotSuccess(t *testing.T) {
	for _, path := range []string{"/forgot-password", "/login/magic"} {
		t.Run(path, func(t *testing.T) {
			ts := newTestServer(t)
			ts.newClient().signup("ada@example.com")
			ts.breakTable("users")
			for _, email := range []string{"ada@example.com", "nobody@example.com"} {
				res := ts.newClient().post(path, url.Values{"email": {email}})
				if strings.Contains(res.body, "Check your email") {
					t.Fatalf("POST %s for %s with a failing database answered success", path, email)
				}
				wantLogged500(t, ts, res)
			}
		})
	}
}
