package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"skiff/db"
	"skiff/views"
)

// The lists of the settings and the admin are paged by a cursor: more rows
// than a page give a next link, and following the links shows every row
// once; a cursor we did not hand out is a friendly 400; nobody sees someone
// else's rows.

var nextLink = regexp.MustCompile(`<a href="([^"]+)" rel="next">`)

// followPages gets path, then every page its rel="next" links lead to, and
// returns the first submatch of row on each page, in order, and the number
// of pages. It fails on a page that is not a 200 or a row shown twice.
func followPages(t *testing.T, c *client, path string, row *regexp.Regexp) (rows []string, pages int) {
	t.Helper()
	seen := map[string]bool{}
	for path != "" {
		if pages++; pages > 50 {
			t.Fatalf("more than 50 pages: the links go round in circles (at %s)", path)
		}
		res := c.get(path)
		wantStatus(t, res, http.StatusOK)
		for _, m := range row.FindAllStringSubmatch(res.body, -1) {
			if seen[m[1]] {
				t.Fatalf("%s shows %s again", path, m[1])
			}
			seen[m[1]] = true
			rows = append(rows, m[1])
		}
		path = ""
		if m := nextLink.FindStringSubmatch(res.body); m != nil {
			path = html.UnescapeString(m[1])
		}
	}
	return rows, pages
}

// wantBadCursor checks that path is the friendly 400 of a broken page link.
func wantBadCursor(t *testing.T, c *client, path string) {
	t.Helper()
	res := c.get(path)
	wantStatus(t, res, http.StatusBadRequest)
	wantBody(t, res, "Start again from the first page")
}

func userID(t *testing.T, ts *testServer, email string) int64 {
	t.Helper()
	u, err := ts.db.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// addSessions signs userID in n more times, straight into user_sessions,
// and returns the sessions' ids in the order they started.
func addSessions(t *testing.T, ts *testServer, userID int64, n int) []string {
	t.Helper()
	var ids []string
	err := ts.db.Tx(context.Background(), func(q db.Queries) error {
		for i := range n {
			sid := "s" + rand.Text()
			if _, err := q.StartUserSession(context.Background(), sid, userID, fmt.Sprintf("Browser %d on Linux", i), "10.0.0.1"); err != nil {
				return err
			}
			ids = append(ids, sid)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestSessionsArePaged(t *testing.T) {
	ts := newTestServer(t)
	ada := ts.newClient()
	ada.signupVerified("ada@example.com")
	mine := addSessions(t, ts, userID(t, ts, "ada@example.com"), 5)
	ts.newClient().signup("bob@example.com")
	bobs := addSessions(t, ts, userID(t, ts, "bob@example.com"), 3)

	first := ada.get("/settings/sessions?limit=2")
	wantBody(t, first, "this device", ">Sign out 5 other sessions</button>")
	revoke := regexp.MustCompile(`/settings/sessions/([A-Za-z0-9_-]+)/revoke`)
	got, pages := followPages(t, ada, "/settings/sessions?limit=2", revoke)
	slices.Reverse(mine) // the latest sign-in first
	if !slices.Equal(got, mine) || pages != 3 {
		t.Fatalf("the pages list %v in %d pages, want %v in 3", got, pages, mine)
	}
	for _, b := range bobs {
		if slices.Contains(got, b) {
			t.Fatalf("ada's list shows bob's session %s", b)
		}
	}
	// This session heads the first page only.
	if res := ada.get(html.UnescapeString(nextLink.FindStringSubmatch(first.body)[1])); contains(res.body, "this device") {
		t.Fatal("the second page shows this session again")
	}
	wantBadCursor(t, ada, "/settings/sessions?cursor=abc")
	wantBadCursor(t, ada, "/settings/sessions?cursor=-3")
	wantStatus(t, ada.get("/settings/sessions?limit=1000"), http.StatusBadRequest)
}

func TestTokensArePaged(t *testing.T) {
	ts := newTestServer(t)
	ada := ts.newClient()
	ada.signupVerified("ada@example.com")
	bob := ts.newClient()
	bob.signupVerified("bob@example.com")
	bob.newToken("bob's script")
	for i := range 5 {
		ada.newToken("script " + strconv.Itoa(i))
	}
	bob.newToken("bob's other script")

	revoke := regexp.MustCompile(`/settings/tokens/(\d+)/revoke`)
	got, pages := followPages(t, ada, "/settings/tokens?limit=2", revoke)
	if want := []string{"6", "5", "4", "3", "2"}; !slices.Equal(got, want) || pages != 3 {
		t.Fatalf("the pages list tokens %v in %d pages, want %v in 3", got, pages, want)
	}
	if got, _ := followPages(t, bob, "/settings/tokens?limit=2", revoke); !slices.Equal(got, []string{"7", "1"}) {
		t.Fatalf("bob's tokens: %v", got)
	}
	wantBadCursor(t, ada, "/settings/tokens?cursor=x1")
}

func TestAdminUsersArePaged(t *testing.T) {
	ts := newTestServer(t, func(c *testSetup) { c.AdminEmails = map[string]bool{"boss@example.com": true} })
	boss := ts.newClient()
	boss.signupVerified("boss@example.com")
	ctx := context.Background()
	var everyone []string // the users of the list, newest first (the admin's own row has no form)
	for _, email := range []string{"ada@example.com", "zed@example.com", "adam@example.org", "bob@example.com", "ADELE@example.com", "ad@example.net", "carol@example.com"} {
		var id int64
		if err := ts.db.Write.QueryRow(`INSERT INTO users (email, created_at, updated_at) VALUES (?, ?, ?) RETURNING id`,
			normalizeEmail(email), time.Now().UTC(), time.Now().UTC()).Scan(&id); err != nil {
			t.Fatal(err)
		}
		everyone = append([]string{itoa64(id)}, everyone...)
	}
	row := regexp.MustCompile(`/admin/users/(\d+)/disable`)

	got, pages := followPages(t, boss, "/admin?limit=3", row)
	if !slices.Equal(got, everyone) || pages != 3 {
		t.Fatalf("the pages list %v in %d pages, want %v in 3", got, pages, everyone)
	}

	// A search finds the addresses that begin with it, in their order.
	emailOf := map[string]string{}
	for _, id := range everyone {
		u, _ := ts.db.UserByID(ctx, mustInt(t, id))
		emailOf[id] = u.Email
	}
	got, pages = followPages(t, boss, "/admin?q=AD&limit=2", row)
	var emails []string
	for _, id := range got {
		emails = append(emails, emailOf[id])
	}
	if want := []string{"ad@example.net", "ada@example.com", "adam@example.org", "adele@example.com"}; !slices.Equal(emails, want) || pages != 2 {
		t.Fatalf("q=AD lists %v in %d pages, want %v in 2", emails, pages, want)
	}
	res := boss.get("/admin?q=ad")
	wantBody(t, res, "Users matching <strong>ad</strong>, by address", "begin with what you type")
	if contains(res.body, "bob@example.com") || contains(res.body, "zed@example.com") {
		t.Fatal("the search shows users that do not match")
	}
	wantBody(t, boss.get("/admin?q=example.com"), "No user matches")

	// A number finds the user of that id, too.
	bob := everyone[3]
	res = boss.get("/admin?q=" + bob)
	wantBody(t, res, "bob@example.com")
	if got := row.FindAllStringSubmatch(res.body, -1); len(got) != 1 || got[0][1] != bob {
		t.Fatalf("q=%s lists %v", bob, got)
	}

	// Disabling from the second page of a search comes back to it.
	second := html.UnescapeString(nextLink.FindStringSubmatch(boss.get("/admin?q=ad&limit=2").body)[1])
	cursor := mustQuery(t, second, "cursor")
	wantRedirect(t, boss.post("/admin/users/"+everyone[0]+"/disable", url.Values{"q": {"ad"}, "cursor": {cursor}}),
		"/admin?cursor="+cursor+"&q=ad")

	wantBadCursor(t, boss, "/admin?cursor=abc")
	wantBadCursor(t, boss, "/admin?q=ad&cursor=0")
	// The user a search's page went on from is gone.
	res = boss.get("/admin?q=ad&cursor=99999")
	wantStatus(t, res, http.StatusBadRequest)
	wantBody(t, res, "Start again from the first page")
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOtherSessionsStopsCountingAtTheCap(t *testing.T) {
	for n, want := range map[int]string{1: "1 other session", 2: "2 other sessions", 99: "99 other sessions",
		views.SessionCountCap: "100+ other sessions", 5000: "100+ other sessions"} {
		if got := views.OtherSessions(n); got != want {
			t.Errorf("OtherSessions(%d) = %q, want %q", n, got, want)
		}
	}
}
