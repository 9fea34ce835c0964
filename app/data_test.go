package app

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"skiff/db"
	"skiff/db/dbtest"
)

func TestConcurrentSignups(t *testing.T) {
	if testing.Short() {
		t.Skip("200 argon2id hashes")
	}
	ts := newTestServer(t, func(c *testSetup) { c.Limits.SignupPerIP = Rate{N: 1000, Per: 1} })
	const n = 200
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Go(func() {
			c := ts.newClient()
			form := url.Values{"email": {fmt.Sprintf("user%d@example.com", i)}, "password": {testPassword}}
			req, _ := http.NewRequest("POST", ts.URL+"/signup", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res, err := c.hc.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			statuses[i] = res.StatusCode
		})
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusSeeOther {
			t.Errorf("signup %d: status %d", i, s)
		}
	}
	if got, _ := ts.db.CountUsers(context.Background()); got != n {
		t.Fatalf("%d users, want %d", got, n)
	}
	var sessions int
	ts.db.Read.QueryRow(`SELECT count(*) FROM sessions`).Scan(&sessions)
	if sessions != n {
		t.Fatalf("%d sessions, want %d", sessions, n)
	}
	logs := ts.logs.String()
	for _, bad := range []string{"database is locked", "SQLITE_BUSY", "level=ERROR"} {
		if strings.Contains(logs, bad) {
			t.Fatalf("logs contain %q", bad)
		}
	}
}

func TestDataSurvivesRestart(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	c.signup("ada@example.com")
	loc := c.post("/projects", url.Values{"name": {"Persistent"}}).Header.Get("Location")
	cookie := c.cookie()
	ts.stop()

	// A new server on the same file: the same browser is still logged in,
	// and its project is there.
	ts2 := newTestServer(t, withDB(ts.dbPath))
	c2 := ts2.newClient()
	u, _ := url.Parse(ts2.URL)
	c2.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: cookie.Value, Path: "/"}})
	wantBody(t, c2.get(loc), "Persistent")
	wantRedirect(t, ts2.newClient().login("ada@example.com", testPassword, false), "/dashboard")
}

func TestMigrationsAreRecordedOnce(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/m.db"
	d, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	first, err := d.Migrate(ctx)
	if err != nil || len(first) == 0 {
		t.Fatalf("first run applied %v, err %v", first, err)
	}
	again, err := d.Migrate(ctx)
	if err != nil || len(again) != 0 {
		t.Fatalf("second run applied %v, err %v", again, err)
	}
	if pending, err := d.PendingMigrations(ctx); err != nil || len(pending) != 0 {
		t.Fatalf("pending %v, err %v", pending, err)
	}
	var journal string
	var fk, busy int
	d.Write.QueryRow("PRAGMA journal_mode").Scan(&journal)
	d.Read.QueryRow("PRAGMA foreign_keys").Scan(&fk)
	d.Read.QueryRow("PRAGMA busy_timeout").Scan(&busy)
	if journal != "wal" || fk != 1 || busy < 1000 {
		t.Fatalf("journal_mode=%s foreign_keys=%d busy_timeout=%d", journal, fk, busy)
	}
	// Deleting a user deletes their projects (foreign keys are on for every connection).
	u, err := d.CreateUser(ctx, "ada@example.com", "x", false)
	if err != nil {
		t.Fatal(err)
	}
	team, err := d.PersonalScope(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateProject(ctx, team, "p"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write.Exec(`DELETE FROM users WHERE id = ?`, u.ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := d.CountProjects(ctx, team, 1000); n != 0 {
		t.Fatal("projects survived their owner")
	}
	if _, err := d.CreateUser(ctx, "ADA@example.com", "x", false); err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateUser(ctx, "ada@EXAMPLE.com", "x", false); err != db.ErrEmailTaken {
		t.Fatalf("case-insensitive duplicate: err %v, want ErrEmailTaken", err)
	}
}

// TestCachedReadsSeeOtherWriters: sessions and users are cached in memory,
// but a change committed by another process (here, another connection, as
// the sqlite3 shell or `skiff stripe-sync` would) is seen within a moment
// (db.readCache checks every 100 ms).
func TestCachedReadsSeeOtherWriters(t *testing.T) {
	dbtest.SQLiteOnly(t, "the read cache is off on PostgreSQL")
	ts := newTestServer(t)
	c := ts.newClient()
	c.signup("ada@example.com")
	wantStatus(t, c.get("/dashboard"), http.StatusOK)
	wantStatus(t, c.get("/dashboard"), http.StatusOK) // now cached

	other, err := sql.Open("sqlite", db.DSN(ts.dbPath))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Exec(`UPDATE users SET email = 'ada@elsewhere.example'`); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return strings.Contains(c.get("/dashboard").body, "ada@elsewhere.example") })
	if _, err := other.Exec(`DELETE FROM sessions`); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return c.get("/dashboard").StatusCode == http.StatusSeeOther })
	wantRedirect(t, c.get("/dashboard"), "/login?next=%2Fdashboard")
}

// TestCacheOffReadsSQLite: with READ_CACHE=off the pages still work, and each
// request reads its session and user from SQLite: a change committed by
// another connection is seen by the very next request, every time (with the
// cache on it would wait for the next data_version check).
func TestCacheOffReadsSQLite(t *testing.T) {
	dbtest.SQLiteOnly(t, "the read cache is off on PostgreSQL")
	ts := newTestServer(t, func(c *testSetup) { c.ReadCache = false })
	c := ts.newClient()
	c.signup("ada@example.com")
	other, err := sql.Open("sqlite", db.DSN(ts.dbPath))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for i := range 3 {
		wantStatus(t, c.get("/dashboard"), http.StatusOK)
		email := fmt.Sprintf("ada%d@elsewhere.example", i)
		if _, err := other.Exec(`UPDATE users SET email = ?`, email); err != nil {
			t.Fatal(err)
		}
		if r := c.get("/dashboard"); !strings.Contains(r.body, email) {
			t.Fatalf("round %d: the next request did not read the new address %s", i, email)
		}
	}
	if _, err := other.Exec(`DELETE FROM sessions`); err != nil {
		t.Fatal(err)
	}
	wantRedirect(t, c.get("/dashboard"), "/login?next=%2Fdashboard")
}

// eventually polls ok until it holds, failing the test after 5 seconds.
func eventually(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met after 5s")
		}
	}
}
