package app

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"skiff/views"
)

// Benchmarks of the hot paths; `make bench` runs them with the load test.
// They measure, they never assert a duration.

// benchServer is a test server with one logged-in user and its session cookie.
func benchServer(b *testing.B, opts ...testOption) (*testServer, *http.Cookie) {
	b.Helper()
	ts := newTestServer(b, opts...)
	c := ts.newClient()
	c.signup("bench@example.com")
	return ts, c.cookie()
}

// serveOnce runs one request through the whole handler, without the network.
func serveOnce(h http.Handler, r *http.Request) int {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

func BenchmarkDashboard(b *testing.B) { benchDashboard(b) }

// BenchmarkDashboardReadCacheOff is BenchmarkDashboard with READ_CACHE=off:
// the difference is what the read cache saves each authenticated page.
func BenchmarkDashboardReadCacheOff(b *testing.B) { benchDashboard(b, readCacheOff) }

func readCacheOff(c *testSetup) { c.ReadCache = false }

func benchDashboard(b *testing.B, opts ...testOption) {
	ts, ck := benchServer(b, opts...)
	// As net/http gives each request a context it cancels when the client
	// goes away (httptest.NewRequest's cannot be cancelled): the database
	// driver and database/sql each watch such a context while a query runs.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequestWithContext(ctx, "GET", "/dashboard", nil)
		r.AddCookie(ck)
		if code := serveOnce(ts.srv, r); code != 200 {
			b.Fatalf("status %d", code)
		}
	}
}

func BenchmarkLoginPageAnonymous(b *testing.B) {
	ts, _ := benchServer(b)
	b.ReportAllocs()
	for b.Loop() {
		if code := serveOnce(ts.srv, httptest.NewRequest("GET", "/login", nil)); code != 200 {
			b.Fatalf("status %d", code)
		}
	}
}

// BenchmarkSessionAndUser is the work every authenticated request does before
// its handler: load the session, the user and the plan.
func BenchmarkSessionAndUser(b *testing.B) { benchSessionAndUser(b) }

// BenchmarkSessionAndUserReadCacheOff is BenchmarkSessionAndUser with
// READ_CACHE=off: both reads go to SQLite.
func BenchmarkSessionAndUserReadCacheOff(b *testing.B) { benchSessionAndUser(b, readCacheOff) }

func benchSessionAndUser(b *testing.B, opts ...testOption) {
	ts, ck := benchServer(b, opts...)
	h := ts.srv.sessions.LoadAndSave(ts.srv.loadUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ts.srv.currentUser(r) == nil {
			b.Fatal("not logged in")
		}
	})))
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("GET", "/x", nil)
		r.AddCookie(ck)
		st := &requestState{}
		serveOnce(h, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
	}
}

func BenchmarkRenderDashboard(b *testing.B) {
	ts, _ := benchServer(b)
	u, _ := ts.db.UserByEmail(context.Background(), "bench@example.com")
	p := views.Page{Title: "Dashboard", User: userView(&u), Plan: "Free", Path: "/dashboard"}
	b.ReportAllocs()
	for b.Loop() {
		views.DashboardPage(p, views.Dashboard{Verified: true}).Render(context.Background(), io.Discard)
	}
}

func BenchmarkPasswordHash(b *testing.B) {
	h := newPasswordHasher(defaultArgon)
	b.ReportAllocs()
	for b.Loop() {
		h.hash(context.Background(), "correct horse battery staple")
	}
}

func BenchmarkPasswordVerify(b *testing.B) {
	h := newPasswordHasher(defaultArgon)
	hash, _ := h.hash(context.Background(), "correct horse battery staple")
	b.ReportAllocs()
	for b.Loop() {
		h.verify(context.Background(), "correct horse battery staple", hash)
	}
}

// BenchmarkProjectsPage is the projects list of an owner with none, and of
// one with 20,000: a page's cost must not grow with the table.
func BenchmarkProjectsPage(b *testing.B) {
	for _, n := range []int{0, 20_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			ts, ck := benchServer(b)
			id := ts.userID("bench@example.com")
			if _, err := ts.db.Write.Exec(`
				WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < ?)
				INSERT INTO projects (team_id, name, created_at) SELECT ?, 'project ' || n, strftime('%Y-%m-%d %H:%M:%f', 'now') || '+00:00' FROM i`, n, ts.team(id).TeamID()); n > 0 && err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest("GET", "/projects", nil)
				r.AddCookie(ck)
				if code := serveOnce(ts.srv, r); code != 200 {
					b.Fatalf("status %d", code)
				}
			}
		})
	}
}
