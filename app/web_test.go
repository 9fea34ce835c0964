package app

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"skiff/db"
	"skiff/views"
)

func TestPublicPages(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	tests := []struct {
		method, path string
		status       int
		want         string
	}{
		{"GET", "/", 200, views.ProductTagline},
		{"GET", "/signup", 200, "Create your account"},
		{"GET", "/login", 200, "Remember me"},
		{"GET", "/login?next=%2Fprojects", 200, `name="next" value="/projects"`},
		{"GET", "/login?next=https%3A%2F%2Fevil.example", 200, "Log in"},
		{"GET", "/no-such-page", 404, "Page not found"},
		{"GET", "/projects/1/nope", 404, "Page not found"},
		{"PUT", "/login", 405, "Method not allowed"},
		{"DELETE", "/projects", 405, "Method not allowed"},
		{"GET", "/logout", 405, "Method not allowed"},
		{"HEAD", "/", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, ts.URL+tt.path, nil)
			res := c.do(req)
			wantStatus(t, res, tt.status)
			wantBody(t, res, tt.want)
			if tt.status == 405 && res.Header.Get("Allow") == "" {
				t.Fatal("405 without an Allow header")
			}
			if tt.method != "HEAD" && !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("Content-Type %q", res.Header.Get("Content-Type"))
			}
		})
	}
	if strings.Contains(c.get("/login?next=https%3A%2F%2Fevil.example").body, "evil.example") {
		t.Fatal("an off-site next is carried into the form")
	}
}

func TestSecurityHeaders(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	for _, path := range []string{"/", "/login", "/nope", "/healthz"} {
		res := c.get(path)
		h := res.Header
		csp := h.Get("Content-Security-Policy")
		for _, directive := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'self'", "object-src 'none'"} {
			if !strings.Contains(csp, directive) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, directive)
			}
		}
		if strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP allows inline code", path)
		}
		for name, want := range map[string]string{
			"X-Content-Type-Options":     "nosniff",
			"Referrer-Policy":            "strict-origin-when-cross-origin",
			"Cross-Origin-Opener-Policy": "same-origin",
		} {
			if got := h.Get(name); got != want {
				t.Errorf("%s: %s = %q, want %q", path, name, got, want)
			}
		}
		if h.Get("X-Request-Id") == "" {
			t.Errorf("%s: no X-Request-Id", path)
		}
	}
	// Pages carry no inline script at all: only script files (app.js).
	body := c.get("/").body
	for _, m := range regexp.MustCompile(`(?s)<script([^>]*)>(.*?)</script>`).FindAllStringSubmatch(body, -1) {
		if !strings.Contains(m[1], ` src="/static/`) || m[2] != "" {
			t.Fatalf("inline script in the page: %s", m[0])
		}
	}
	if strings.Count(body, "<script") != strings.Count(body, `<script src="/static/`) || strings.Contains(body, " style=") {
		t.Fatal("inline script or style in the page")
	}
}

func TestCrossOriginPostsAreRefused(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	c.signup("ada@example.com")
	form := url.Values{"name": {"sneaky"}}
	for name, headers := range map[string]map[string]string{
		"cross-site fetch metadata": {"Sec-Fetch-Site": "cross-site"},
		"same-site subdomain":       {"Sec-Fetch-Site": "same-site"},
		"foreign Origin":            {"Origin": "https://evil.example"},
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", ts.URL+"/projects", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range headers {
				req.Header.Set(k, v)
			}
			res := c.do(req)
			wantStatus(t, res, http.StatusForbidden)
			wantBody(t, res, "This request was refused")
		})
	}
	req, _ := http.NewRequest("POST", ts.URL+"/logout", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	wantStatus(t, c.do(req), http.StatusForbidden)

	if n, _ := ts.db.CountProjects(context.Background(), ts.team(ts.userID("ada@example.com")), 1000); n != 0 {
		t.Fatalf("a cross-site POST created %d projects", n)
	}
	wantStatus(t, c.get("/dashboard"), http.StatusOK) // still logged in
}

func TestBadInput(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	c.signup("ada@example.com")

	raw := func(path, contentType, body string) response {
		req, _ := http.NewRequest("POST", ts.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		return c.do(req)
	}
	form := "application/x-www-form-urlencoded"
	t.Run("oversized body", func(t *testing.T) {
		res := raw("/projects", form, "name="+strings.Repeat("a", 70<<10))
		wantStatus(t, res, http.StatusRequestEntityTooLarge)
		wantBody(t, res, "Request too large")
	})
	t.Run("malformed encoding", func(t *testing.T) {
		wantStatus(t, raw("/login", form, "email=%zz&password=x"), http.StatusBadRequest)
	})
	t.Run("json instead of a form", func(t *testing.T) {
		wantStatus(t, raw("/signup", "application/json", `{"email":"a@b.c"}`), http.StatusUnprocessableEntity)
	})
	t.Run("multipart", func(t *testing.T) {
		wantStatus(t, raw("/projects", "multipart/form-data; boundary=x", "--x--"), http.StatusUnprocessableEntity)
	})
	for name, value := range map[string]string{
		"empty name":        "   ",
		"control character": "a\x00b",
		"invalid utf-8":     "\xff\xfe",
		"too long":          strings.Repeat("é", 101),
	} {
		t.Run("project "+name, func(t *testing.T) {
			res := c.post("/projects", url.Values{"name": {value}})
			wantStatus(t, res, http.StatusUnprocessableEntity)
			wantBody(t, res, `aria-invalid="true"`)
		})
	}
	t.Run("bad ids", func(t *testing.T) {
		for _, p := range []string{"/projects/abc", "/projects/-1", "/projects/0", "/projects/99999999999999999999", "/projects/%00"} {
			wantStatus(t, c.get(p), http.StatusNotFound)
		}
		wantStatus(t, c.post("/projects/abc/delete", nil), http.StatusNotFound)
	})
	t.Run("huge header", func(t *testing.T) {
		req, _ := http.NewRequest("GET", ts.URL+"/", nil)
		req.Header.Set("X-Big", strings.Repeat("a", 2<<20))
		res, err := ts.Client().Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode < 400 || res.StatusCode >= 500 {
				t.Fatalf("status %d for a 2 MiB header", res.StatusCode)
			}
		}
	})
	if strings.Contains(ts.logs.String(), "level=ERROR") {
		t.Fatalf("bad input caused a server error:\n%s", ts.logs.String())
	}
}

func TestPanicsBecomeFriendly500(t *testing.T) {
	ts := newTestServer(t)
	h := ts.srv.logRequests(ts.srv.recoverPanic(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "Something went wrong") || strings.Contains(rec.Body.String(), "boom") {
		t.Fatalf("status %d body %s", rec.Code, rec.Body.String())
	}
	id := rec.Header().Get("X-Request-Id")
	if logs := ts.logs.String(); !strings.Contains(logs, "panic=boom") || !strings.Contains(logs, "request_id="+id) {
		t.Fatalf("panic not logged with its request id %s:\n%s", id, logs)
	}
}

func TestHealthz(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	res := c.get("/healthz")
	wantStatus(t, res, http.StatusOK)
	var body struct{ Status string }
	if err := json.Unmarshal([]byte(res.body), &body); err != nil || body.Status != "ok" {
		t.Fatalf("body %q", res.body)
	}
	if res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("Content-Type %q", res.Header.Get("Content-Type"))
	}
	ts.db.Read.Close()
	wantStatus(t, c.get("/healthz"), http.StatusServiceUnavailable)
}

func TestRequestLog(t *testing.T) {
	ts := newTestServer(t)
	res := ts.newClient().get("/login")
	id := res.Header.Get("X-Request-Id")
	logs := ts.logs.String()
	for _, want := range []string{"request_id=" + id, "method=GET", "path=/login", "status=200", "duration_ms="} {
		if !strings.Contains(logs, want) {
			t.Fatalf("log lacks %q:\n%s", want, logs)
		}
	}
}

func TestFriendlyErrorsKeepTheUser(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	c.signup("ada@example.com")
	res := c.get("/nope")
	wantStatus(t, res, http.StatusNotFound)
	wantBody(t, res, "ada@example.com", "Log out") // the nav knows who is logged in
}

func TestReadyz(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	res := c.get("/readyz")
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, `"ready"`)
	// A pending migration makes the server not ready.
	first := "0001_init.sql"
	if ts.db.Postgres() {
		first = "0020_schema.sql"
	}
	ts.db.Write.Exec(`DELETE FROM schema_migrations WHERE name = ?`, first)
	wantStatus(t, c.get("/readyz"), http.StatusServiceUnavailable)
	ts.db.Write.Exec(`INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, first, time.Now())
	wantStatus(t, c.get("/readyz"), http.StatusOK)
	// So does a database that cannot be written.
	ts.db.Write.Close()
	wantStatus(t, c.get("/readyz"), http.StatusServiceUnavailable)
}

func TestScheduledBackupsKeepTheNewest(t *testing.T) {
	dir := t.TempDir()
	ts := newTestServer(t, func(c *testSetup) { c.BackupDir, c.BackupKeep = dir, 2 })
	ts.newClient().signup("ada@example.com")
	clock := time.Now()
	ts.srv.now = func() time.Time { return clock }
	for range 3 {
		ts.srv.scheduledBackup(context.Background())
		clock = clock.Add(time.Hour) // names carry the time
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("%d backups kept, want 2", len(entries))
	}
	snap, err := db.Open(context.Background(), filepath.Join(dir, entries[1].Name()))
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	if n, _ := snap.CountUsers(context.Background()); n != 1 {
		t.Fatalf("snapshot has %d users, want 1", n)
	}
}
