package app

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// The example resource complete: rename on both surfaces, every list paged
// by a cursor with a size cap, and failures answered by the two adapters.

// seedProjects gives userID's personal team n projects named "p0" …
// "p{n-1}" directly in the database (not through the plan's limit), oldest
// first.
func seedProjects(t *testing.T, ts *testServer, userID int64, n int) {
	t.Helper()
	team := ts.team(userID)
	for i := range n {
		if _, err := ts.db.CreateProject(context.Background(), team, "p"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// projectNames reads the names in the projects table of a page, and its
// links to the next and the first page.
func projectNames(t *testing.T, res response) (names []string, next, first string) {
	t.Helper()
	p := parsePage(t, res)
	for _, table := range all(p.root, "tbody") {
		for _, a := range all(table, "a") {
			names = append(names, text(a))
		}
	}
	for _, nav := range all(p.root, "nav") {
		if attr(nav, "class") != "pager" {
			continue
		}
		for _, a := range all(nav, "a") {
			if attr(a, "rel") == "next" {
				next = attr(a, "href")
			} else {
				first = attr(a, "href")
			}
		}
	}
	return names, next, first
}

func TestProjectsPageIsPaged(t *testing.T) {
	ts := newTestServer(t)
	ada := ts.newClient()
	ada.signup("ada@example.com")
	seedProjects(t, ts, ts.userID("ada@example.com"), 2*defaultPageSize+7)
	bob := ts.newClient()
	bob.signup("bob@example.com")
	seedProjects(t, ts, ts.userID("bob@example.com"), 3)

	// Following "Older" from the first page visits every project once,
	// newest first, a page at a time.
	seen := map[string]bool{}
	var order []string
	path, pages := "/projects", 0
	for path != "" {
		res := ada.get(path)
		wantStatus(t, res, http.StatusOK)
		names, next, first := projectNames(t, res)
		pages++
		if len(names) > defaultPageSize {
			t.Fatalf("page %d lists %d projects", pages, len(names))
		}
		if (pages == 1) != (first == "") {
			t.Fatalf("page %d: link to the first page %q", pages, first)
		}
		for _, n := range names {
			if seen[n] {
				t.Fatalf("%s listed twice", n)
			}
			seen[n] = true
			order = append(order, n)
		}
		path = next
	}
	if pages != 3 || len(seen) != 2*defaultPageSize+7 {
		t.Fatalf("%d pages, %d projects", pages, len(seen))
	}
	if order[0] != "p"+strconv.Itoa(2*defaultPageSize+6) || order[len(order)-1] != "p0" {
		t.Fatalf("not newest first: %s … %s", order[0], order[len(order)-1])
	}
	// The dashboard counts them no further than it needs to.
	if n := stat(t, ada.get("/dashboard")); n != "100+" {
		t.Fatalf("the dashboard counts %s", n)
	}

	// A page size may be asked for, within the cap; a cursor we did not
	// give out is a friendly 400.
	names, next, _ := projectNames(t, ada.get("/projects?limit=10"))
	if len(names) != 10 || !strings.Contains(next, "limit=10") {
		t.Fatalf("limit=10: %d names, next %q", len(names), next)
	}
	for _, bad := range []string{"/projects?cursor=abc", "/projects?cursor=-4", "/projects?limit=0", "/projects?limit=" + strconv.Itoa(maxPageSize+1)} {
		res := ada.get(bad)
		wantStatus(t, res, http.StatusBadRequest)
		if h := pageHeading(t, res); h != "Bad request" {
			t.Fatalf("%s: heading %q", bad, h)
		}
	}
	// Bob's pages hold only his own.
	names, next, _ = projectNames(t, bob.get("/projects"))
	if len(names) != 3 || next != "" {
		t.Fatalf("bob sees %v, next %q", names, next)
	}
}

func TestProjectRename(t *testing.T) {
	ts := newTestServer(t)
	ada := ts.newClient()
	ada.signup("ada@example.com")
	res := ada.post("/projects", url.Values{"name": {"Moon"}})
	loc := res.Header.Get("Location")

	// The project's page offers the rename with the current name filled in.
	p := parsePage(t, ada.get(loc))
	if f := p.form(loc + "/rename"); f == nil || attr(p.input("name"), "value") != "Moon" {
		t.Fatal("no rename form with the current name")
	}
	wantRedirect(t, ada.post(loc+"/rename", url.Values{"name": {"  Mars  "}}), loc)
	res = ada.get(loc)
	if pageHeading(t, res) != "Mars" {
		t.Fatalf("after the rename the heading is %q", pageHeading(t, res))
	}
	wantBody(t, res, "Project renamed.")

	// A refused name: the form again with what was typed and why, the
	// project unchanged.
	res = ada.post(loc+"/rename", url.Values{"name": {strings.Repeat("x", 101)}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	p = parsePage(t, res)
	if attr(p.input("name"), "value") != strings.Repeat("x", 101) || attr(p.input("name"), "aria-invalid") != "true" {
		t.Fatal("the refused name is not kept and marked")
	}
	wantBody(t, res, "Use at most 100 characters.")
	if pageHeading(t, res) != "Mars" {
		t.Fatal("the page of a refused rename does not show the current name")
	}

	// Someone else's project, or none: 404, nothing changed.
	bob := ts.newClient()
	bob.signup("bob@example.com")
	wantStatus(t, bob.post(loc+"/rename", url.Values{"name": {"Bob's now"}}), http.StatusNotFound)
	wantStatus(t, bob.post(loc+"/rename", url.Values{"name": {""}}), http.StatusNotFound)
	wantStatus(t, ada.post("/projects/999999/rename", url.Values{"name": {"x"}}), http.StatusNotFound)
	wantStatus(t, ada.post("/projects/abc/rename", url.Values{"name": {"x"}}), http.StatusNotFound)
	if pageHeading(t, ada.get(loc)) != "Mars" {
		t.Fatal("someone else renamed it")
	}
	wantRedirect(t, ts.newClient().post(loc+"/rename", url.Values{"name": {"x"}}), "/login")
}

// apiList fetches a list endpoint and decodes its body.
func apiList(t *testing.T, ts *testServer, path, token string) (res response, projects []apiProject, next *string) {
	t.Helper()
	res, _ = ts.api("GET", path, token, "")
	var body struct {
		Projects []apiProject `json:"projects"`
		Next     *string      `json:"next"`
	}
	if err := json.Unmarshal([]byte(res.body), &body); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, res.body)
	}
	return res, body.Projects, body.Next
}

func TestAPIProjectsPagedAndRenamed(t *testing.T) {
	ts := newTestServer(t)
	ada := ts.newClient()
	ada.signupVerified("ada@example.com")
	token := ada.newToken("script")
	seedProjects(t, ts, ts.userID("ada@example.com"), 23)

	// limit=10 gives 10, 10 and 3, each "next" leading on, also as a Link.
	seen := map[int64]bool{}
	path, pages := "/api/v1/projects?limit=10", 0
	for {
		res, list, next := apiList(t, ts, path, token)
		wantStatus(t, res, http.StatusOK)
		pages++
		for _, p := range list {
			if seen[p.ID] {
				t.Fatalf("project %d twice", p.ID)
			}
			seen[p.ID] = true
		}
		if next == nil {
			if res.Header.Get("Link") != "" {
				t.Fatal("a Link header on the last page")
			}
			break
		}
		if res.Header.Get("Link") != "<"+*next+`>; rel="next"` {
			t.Fatalf("Link %q, next %q", res.Header.Get("Link"), *next)
		}
		path = *next
	}
	if pages != 3 || len(seen) != 23 {
		t.Fatalf("%d pages, %d projects", pages, len(seen))
	}
	// Without a limit: the default page size.
	if _, list, next := apiList(t, ts, "/api/v1/projects", token); len(list) != 23 || next != nil {
		t.Fatalf("default page: %d, next %v", len(list), next)
	}
	for _, bad := range []string{"?cursor=x", "?limit=101", "?limit=-1"} {
		res, v := ts.api("GET", "/api/v1/projects"+bad, token, "")
		if res.StatusCode != http.StatusBadRequest || (apiCode(v) != "bad_cursor" && apiCode(v) != "bad_limit") {
			t.Fatalf("%s: %d %v", bad, res.StatusCode, v)
		}
	}

	// PATCH renames, with the same rules and words as the page.
	res, v := ts.api("POST", "/api/v1/projects", token, `{"name":"Moon"}`)
	if res.StatusCode != http.StatusForbidden || apiCode(v) != "plan_limit" {
		t.Fatalf("over the free plan's limit: %d %v", res.StatusCode, v)
	}
	_, list, _ := apiList(t, ts, "/api/v1/projects?limit=1", token)
	loc := "/api/v1/projects/" + strconv.FormatInt(list[0].ID, 10)
	res, v = ts.api("PATCH", loc, token, `{"name":"  Mars  "}`)
	if res.StatusCode != http.StatusOK || v["name"] != "Mars" {
		t.Fatalf("PATCH: %d %v", res.StatusCode, v)
	}
	res, v = ts.api("PATCH", loc, token, `{"name":""}`)
	fields, _ := v["error"].(map[string]any)["fields"].(map[string]any)
	if res.StatusCode != http.StatusUnprocessableEntity || fields["name"] != "Give your project a name." {
		t.Fatalf("PATCH with no name: %d %v", res.StatusCode, v)
	}
	if res, v := ts.api("PATCH", loc, token, `{"name":`); res.StatusCode != http.StatusBadRequest || apiCode(v) != "bad_json" {
		t.Fatalf("PATCH with broken JSON: %d %v", res.StatusCode, v)
	}
	bob := ts.newClient()
	bob.signupVerified("bob@example.com")
	bobToken := bob.newToken("bob")
	if res, v := ts.api("PATCH", loc, bobToken, `{"name":"Bob's"}`); res.StatusCode != http.StatusNotFound || apiCode(v) != "not_found" {
		t.Fatalf("bob renames ada's: %d %v", res.StatusCode, v)
	}
	if res, v := ts.api("GET", loc, token, ""); res.StatusCode != http.StatusOK || v["name"] != "Mars" {
		t.Fatalf("after: %d %v", res.StatusCode, v)
	}
}

// TestFailuresAreLoggedWithTheRequestID: an unexpected error in a handler,
// on a page or in the API, is a 500 that says nothing of the cause, and a log
// line with the request's id, so that a user's report can be traced.
func TestFailuresAreLoggedWithTheRequestID(t *testing.T) {
	ts := newTestServer(t)
	ada := ts.newClient()
	ada.signupVerified("ada@example.com")
	token := ada.newToken("script")
	// The projects table goes missing under the running app. How the
	// database says so (never to the visitor):
	missing := "no such table"
	if ts.db.Postgres() {
		missing = "does not exist (SQLSTATE 42P01)"
	}
	if _, err := ts.db.Write.Exec(`ALTER TABLE projects RENAME TO projects_elsewhere`); err != nil {
		t.Fatal(err)
	}
	res := ada.get("/projects")
	wantStatus(t, res, http.StatusInternalServerError)
	if pageHeading(t, res) != "Something went wrong" || strings.Contains(res.body, missing) {
		t.Fatalf("the 500 page: %q", pageHeading(t, res))
	}
	apiRes, v := ts.api("GET", "/api/v1/projects", token, "")
	if apiRes.StatusCode != http.StatusInternalServerError || apiCode(v) != "internal" || strings.Contains(apiRes.body, missing) {
		t.Fatalf("the API's 500: %d %s", apiRes.StatusCode, apiRes.body)
	}
	logs := ts.logs.String()
	for _, r := range []response{res, apiRes} {
		id := r.Header.Get("X-Request-Id")
		found := false
		for line := range strings.Lines(logs) {
			if strings.Contains(line, "level=ERROR") && strings.Contains(line, "request_id="+id) && strings.Contains(line, missing) {
				found = true
			}
		}
		if id == "" || !found {
			t.Fatalf("no error logged with request_id=%q:\n%s", id, logs)
		}
	}
	// And nothing is logged as an error for a plain 404.
	before := strings.Count(ts.logs.String(), "level=ERROR")
	wantStatus(t, ada.get("/projects/12345"), http.StatusInternalServerError) // the table is still gone
	if _, err := ts.db.Write.Exec(`ALTER TABLE projects_elsewhere RENAME TO projects`); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, ada.get("/projects/12345"), http.StatusNotFound)
	if after := strings.Count(ts.logs.String(), "level=ERROR"); after != before+1 {
		t.Fatalf("%d error lines for one failure and one 404", after-before)
	}
}
