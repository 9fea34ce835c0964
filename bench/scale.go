package main

// The scale run: what the list pages cost on a large database.
//
// A list that can grow must cost about the same on its first page whatever
// its table holds (STYLE.md: "its cost must not grow with the table"). Two
// servers run side by side, one on an empty database and one on 200,000 users
// and 1,000,000 projects. On both, one account owns the pages under test: an
// admin (ADMIN_EMAILS) who, on the large one, owns 20,000 projects and has
// 2,000 sessions and 50 API tokens. Each page is requested by that account
// one request at a time, so that p50 is what one request costs rather than
// time spent in a queue, in rounds that alternate between the two servers
// (the load of a shared machine weighs on both alike). The target is each
// page's p50 on the large database within 2x of its p50 on the empty one.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"skiff/db"
)

// The large database. The owner is one of the users.
const (
	scaleUsers    = 200_000
	scaleProjects = 1_000_000
	ownerProjects = 20_000
	// user_sessions keeps a row per sign-in until it is revoked: a script
	// that logs in daily has thousands. (Plus the one the bench signs in with.)
	ownerSessions = 2_000
	ownerTokens   = 50 // the most an account may hold (Limits.MaxAPITokens), the bench's own included
	scaleOwner    = "owner@example.com"

	// scaleMaxRatio is the target: large p50 / empty p50.
	scaleMaxRatio = 2.0
	// scaleRoundRequests caps each round: rounds of it stay under the API's
	// 600 requests a minute per user, which the bench cannot change.
	scaleRoundRequests = 100
)

// scalePages are the list pages timed, each requested as its plain URL (the
// first page of a paginated list).
var scalePages = []string{
	"/projects",
	"/admin",
	"/admin?q=bench12",
	"/settings/sessions",
	"/settings/tokens",
	"/dashboard",
	"/api/v1/projects",
}

// ScaleResults is what the list pages cost on an empty database and a large one.
type ScaleResults struct {
	Users         int         `json:"users"`
	Projects      int         `json:"projects"`
	OwnerProjects int         `json:"owner_projects"`
	OwnerSessions int         `json:"owner_sessions"`
	OwnerTokens   int         `json:"owner_api_tokens"`
	SeedSeconds   float64     `json:"seed_seconds"`
	Pages         []ScalePage `json:"pages"`
}

// ScalePage is one page's p50 on both databases.
type ScalePage struct {
	Name           string  `json:"name"`
	EmptyP50Millis float64 `json:"empty_p50_ms"`
	LargeP50Millis float64 `json:"large_p50_ms"`
	Ratio          float64 `json:"ratio"`
	EmptyBytes     int     `json:"empty_bytes"`
	LargeBytes     int     `json:"large_bytes"`
	EmptyRequests  int64   `json:"empty_requests"`
	LargeRequests  int64   `json:"large_requests"`
	Errors         int64   `json:"errors"`
	FirstError     string  `json:"first_error,omitempty"`
}

// dataset is a server on a prepared database, and how to act as its owner.
type dataset struct {
	srv    *server
	cookie *http.Cookie // the owner's session
	token  string       // the owner's API token
}

// runScale prepares both databases, starts a server on each, and times every
// page of scalePages on both.
func runScale(bin, dir string, duration time.Duration) (*ScaleResults, error) {
	res := &ScaleResults{Users: scaleUsers, Projects: scaleProjects, OwnerProjects: ownerProjects,
		OwnerSessions: ownerSessions, OwnerTokens: ownerTokens}
	fmt.Println("scale: preparing an empty database...")
	empty, _, err := prepareDataset(bin, dir, "scale-empty.db", false)
	if err != nil {
		return nil, err
	}
	defer empty.srv.stop()
	fmt.Printf("scale: seeding %s users and %s projects...\n", thousands(scaleUsers), thousands(scaleProjects))
	large, seconds, err := prepareDataset(bin, dir, "scale-large.db", true)
	if err != nil {
		return nil, err
	}
	defer large.srv.stop()
	res.SeedSeconds = seconds
	fmt.Printf("scale: seeded in %.1f s\n", seconds)

	client := newClient(2)
	slice := duration / rounds / 2
	for _, path := range scalePages {
		fmt.Printf("scale: timing GET %-22s on both databases, %v each...\n", path, slice*rounds)
		res.Pages = append(res.Pages, timePage(client, path, empty, large, slice))
	}
	return res, nil
}

// prepareDataset signs the owner up through the app on a fresh database,
// stops the server, seeds the database directly (large: the whole dataset;
// otherwise only what makes the owner an admin with a token), and starts the
// server again. It returns the seconds the seeding took.
func prepareDataset(bin, dir, name string, large bool) (*dataset, float64, error) {
	dbPath := filepath.Join(dir, name)
	admin := "ADMIN_EMAILS=" + scaleOwner
	srv, err := startServer(bin, dir, dbPath, admin)
	if err != nil {
		return nil, 0, err
	}
	cookie, err := signUp(newClient(1), srv, scaleOwner, "10.255.0.1")
	srv.stop()
	if err != nil {
		return nil, 0, err
	}
	start := time.Now()
	token, err := seedScale(dbPath, large)
	if err != nil {
		return nil, 0, fmt.Errorf("seed %s: %w", name, err)
	}
	seconds := time.Since(start).Seconds()
	if srv, err = startServer(bin, dir, dbPath, admin); err != nil {
		return nil, 0, err
	}
	return &dataset{srv: srv, cookie: cookie, token: token}, seconds, nil
}

// request is a GET of path as the owner: with the API token under /api/,
// with the session cookie elsewhere.
func (d *dataset) request(path string) func(int) (*http.Request, int) {
	return func(int) (*http.Request, int) {
		r, _ := http.NewRequest("GET", d.srv.base+path, nil)
		if strings.HasPrefix(path, "/api/") {
			r.Header.Set("Authorization", "Bearer "+d.token)
		} else {
			r.AddCookie(d.cookie)
		}
		return r, 200
	}
}

// timePage times path on both datasets: a first request each (not counted,
// it warms caches and measures the page's size), then rounds alternating
// between the two.
func timePage(client *http.Client, path string, empty, large *dataset, slice time.Duration) ScalePage {
	p := ScalePage{Name: "GET " + path}
	p.EmptyBytes = pageSize(client, empty.request(path))
	p.LargeBytes = pageSize(client, large.request(path))
	var e, l sample
	for range rounds {
		e.add(oneAtATime(client, slice, scaleRoundRequests, empty.request(path)))
		l.add(oneAtATime(client, slice, scaleRoundRequests, large.request(path)))
	}
	er, lr := e.result(""), l.result("")
	p.EmptyP50Millis, p.LargeP50Millis = er.P50Millis, lr.P50Millis
	p.EmptyRequests, p.LargeRequests = er.Requests, lr.Requests
	p.Errors = er.Errors + lr.Errors
	p.FirstError = er.FirstError
	if p.FirstError == "" {
		p.FirstError = lr.FirstError
	}
	if p.EmptyP50Millis > 0 {
		p.Ratio = p.LargeP50Millis / p.EmptyP50Millis
	}
	return p
}

// pageSize sends one request and returns the length of its body, or -1.
func pageSize(client *http.Client, next func(int) (*http.Request, int)) int {
	req, _ := next(0)
	resp, err := client.Do(req)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	n, _ := io.Copy(io.Discard, resp.Body)
	return int(n)
}

// oneAtATime sends requests back to back, each after the last one's answer,
// for d or until max requests.
func oneAtATime(client *http.Client, d time.Duration, max int, next func(int) (*http.Request, int)) sample {
	var s sample
	start := time.Now()
	for deadline := start.Add(d); len(s.lat) < max && time.Now().Before(deadline); {
		req, want := next(0)
		t0 := time.Now()
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		s.lat = append(s.lat, time.Since(t0))
		if err != nil {
			s.errs++
			if s.firstErr == "" {
				s.firstErr = err.Error()
			}
		}
	}
	s.elapsed = time.Since(start)
	return s
}

// seedScale writes the dataset straight into the database file while no
// server runs, in one transaction: the owner's address confirmed, an
// Enterprise subscription (no project limit) and an API token for the owner,
// and with large the other users and their rows. Each table is filled by one
// INSERT … SELECT over a counter, so no row makes a round trip through Go
// (about twice as fast as a prepared INSERT per row here). It returns the token.
func seedScale(dbPath string, large bool) (string, error) {
	conn, err := sql.Open("sqlite", db.DSN(dbPath))
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	ctx := context.Background()
	// A page cache of 256 MiB for this one connection: the transaction's
	// pages stay in memory rather than spilling into the WAL as it grows.
	if _, err := conn.ExecContext(ctx, "PRAGMA cache_size = -262144"); err != nil {
		return "", err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	var owner int64
	if err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE email = ?`, scaleOwner).Scan(&owner); err != nil {
		return "", fmt.Errorf("the owner: %w", err)
	}
	token, err := seedOwner(ctx, tx, owner)
	if err != nil {
		return "", err
	}
	if large {
		for _, st := range largeDataset(owner) {
			if _, err := tx.ExecContext(ctx, st.sql, st.args...); err != nil {
				return "", fmt.Errorf("%s: %w", st.what, err)
			}
		}
	}
	return token, tx.Commit()
}

// seedOwner confirms the owner's address, subscribes them to Enterprise and
// gives them an API token, which it returns.
func seedOwner(ctx context.Context, tx *sql.Tx, owner int64) (string, error) {
	now := time.Now().UTC()
	var raw [32]byte
	rand.Read(raw[:])
	token := "skiff_" + base64.RawURLEncoding.EncodeToString(raw[:]) // as app/api.go makes them
	hash := sha256.Sum256([]byte(token))
	for _, st := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE users SET email_verified_at = ? WHERE id = ?`, []any{now, owner}},
		{`INSERT INTO billing_customers (team_id, customer_id, created_at)
		  SELECT id, 'cus_scale_owner', ? FROM teams WHERE owner_id = ? AND personal`, []any{now, owner}},
		{`INSERT INTO subscriptions (id, team_id, customer_id, price_id, plan, status, current_period_end, version, updated_at)
		  SELECT 'sub_scale_owner', id, 'cus_scale_owner', 'price_enterprise', 'enterprise', 'active', ?, 1, ?
		  FROM teams WHERE owner_id = ? AND personal`,
			[]any{now.Add(720 * time.Hour), now, owner}},
		{`INSERT INTO api_tokens (user_id, team_id, name, hash, prefix, created_at)
		  SELECT owner_id, id, 'bench', ?, ?, ? FROM teams WHERE owner_id = ? AND personal`,
			[]any{hash[:], token[:10], now, owner}},
	} {
		if _, err := tx.ExecContext(ctx, st.sql, st.args...); err != nil {
			return "", err
		}
	}
	return token, nil
}

// seedStatement is one INSERT of the large dataset.
type seedStatement struct {
	what string
	sql  string
	args []any
}

// counter is a table n(i) of the numbers 1 to ?, for INSERT … SELECT.
const counter = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) `

// ago is the SQL for the time seconds (an SQL expression) ago, in the text
// form the app writes ("2006-01-02 15:04:05.000+00:00").
func ago(seconds string) string {
	return `strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || (` + seconds + `) || ' seconds') || '+00:00'`
}

// largeDataset is the rest of the large database: scaleUsers-1 users
// bench1@example.com … (ids after the owner's, signed up over two weeks, a
// quarter unconfirmed, one in ten on Pro, each with a session and one in ten
// with an API token), the owner's projects, sessions and tokens, and the
// other projects spread over the other users, a few each. Only the times a
// page shows or sorts by differ from row to row; the others are one value.
func largeDataset(owner int64) []seedStatement {
	others := scaleUsers - 1
	otherProjects := scaleProjects - ownerProjects
	now := time.Now().UTC()
	return []seedStatement{
		{"users", counter + `INSERT INTO users (id, email, email_verified_at, created_at, updated_at)
			SELECT ? + i, 'bench' || i || '@example.com', CASE WHEN i % 4 > 0 THEN ? END, ` + ago("(? - i) * 6") + `, ? FROM n`,
			[]any{others, owner, now, others, now}},
		{"personal teams", `INSERT INTO teams (name, owner_id, personal, created_at)
			SELECT 'Personal', id, 1, created_at FROM users WHERE id > ? ORDER BY id`, []any{owner}},
		{"memberships", `INSERT INTO memberships (team_id, user_id, role, created_at)
			SELECT id, owner_id, 'admin', created_at FROM teams WHERE owner_id > ?`, []any{owner}},
		{"billing customers", counter + `INSERT INTO billing_customers (team_id, customer_id, created_at)
			SELECT t.id, 'cus_scale_' || i, ? FROM n JOIN teams t ON t.owner_id = ? + n.i AND t.personal WHERE i % 10 = 0`,
			[]any{others, now, owner}},
		{"subscriptions", counter + `INSERT INTO subscriptions (id, team_id, customer_id, price_id, plan, status, current_period_end, version, updated_at)
			SELECT 'sub_scale_' || i, t.id, 'cus_scale_' || i, 'price_pro', 'pro', 'active', ?, 1, ?
			FROM n JOIN teams t ON t.owner_id = ? + n.i AND t.personal WHERE i % 10 = 0`,
			[]any{others, now.Add(720 * time.Hour), now, owner}},
		{"the owner's projects", counter + `INSERT INTO projects (team_id, name, created_at)
			SELECT (SELECT id FROM teams WHERE owner_id = ? AND personal), 'Project ' || i, ` + ago("(? - i) * 60") + ` FROM n`,
			[]any{ownerProjects, owner, ownerProjects}},
		{"other projects", counter + `INSERT INTO projects (team_id, name, created_at)
			SELECT t.id, 'Project ' || i, ? FROM n JOIN teams t ON t.owner_id = ? + 1 + (n.i - 1) * ? / ? AND t.personal`,
			[]any{otherProjects, now, owner, others, otherProjects}},
		{"the owner's sessions", counter + `INSERT INTO user_sessions (id, user_id, device, ip, created_at, last_seen_at)
			SELECT 'scale-owner-' || i, ?, 'Firefox on Linux', '10.0.' || (i / 250) || '.' || (i % 250),
			       ` + ago("(? - i) * 3600") + `, ` + ago("(? - i) * 3600") + ` FROM n`,
			[]any{ownerSessions, owner, ownerSessions, ownerSessions}},
		{"other sessions", counter + `INSERT INTO user_sessions (id, user_id, device, ip, created_at, last_seen_at)
			SELECT 'scale-' || i, ? + i, 'Safari on iOS', '10.1.' || (i / 250 % 250) || '.' || (i % 250), ?, ? FROM n`,
			[]any{others, owner, now, now}},
		{"the owner's API tokens", counter + `INSERT INTO api_tokens (user_id, team_id, name, hash, prefix, created_at)
			SELECT t.owner_id, t.id, 'Script ' || i, randomblob(32), 'skiff_seed', ` + ago("i * 86400") + `
			FROM n JOIN teams t ON t.owner_id = ? AND t.personal`,
			[]any{ownerTokens - 1, owner}},
		{"other API tokens", counter + `INSERT INTO api_tokens (user_id, team_id, name, hash, prefix, created_at)
			SELECT t.owner_id, t.id, 'Script', randomblob(32), 'skiff_seed', ? FROM n JOIN teams t ON t.owner_id = ? + n.i AND t.personal WHERE i % 10 = 0`,
			[]any{others, now, owner}},
	}
}

// targets are one per page: its p50 on the large database within
// scaleMaxRatio of the empty one's, without errors.
func (s *ScaleResults) targets() []Target {
	var out []Target
	for _, p := range s.Pages {
		got := fmt.Sprintf("%.2fx (%.2f -> %.2f ms)", p.Ratio, p.EmptyP50Millis, p.LargeP50Millis)
		if p.Errors > 0 {
			got += fmt.Sprintf(", %d errors (%s)", p.Errors, p.FirstError)
		}
		out = append(out, Target{"at scale: " + p.Name, fmt.Sprintf("<= %.0fx empty", scaleMaxRatio), got,
			p.Errors == 0 && p.LargeRequests > 0 && p.Ratio <= scaleMaxRatio})
	}
	return out
}

// print writes the pages' table.
func (s *ScaleResults) print(w io.Writer) {
	fmt.Fprintf(w, "\nList pages at scale: %s users, %s projects; the admin has %s projects, %s sessions, %s API tokens (seeded in %.1f s)\n",
		thousands(s.Users), thousands(s.Projects), thousands(s.OwnerProjects), thousands(s.OwnerSessions), thousands(s.OwnerTokens), s.SeedSeconds)
	fmt.Fprintf(w, "One request at a time, rounds alternating between the two databases; KB is the size of the answer.\n\n")
	fmt.Fprintf(w, "%-26s %13s %13s %9s %9s %9s %13s %7s\n", "page", "empty p50 ms", "large p50 ms", "ratio", "empty KB", "large KB", "requests", "errors")
	for _, p := range s.Pages {
		fmt.Fprintf(w, "%-26s %13.2f %13.2f %8.2fx %9.1f %9.1f %6d/%-6d %7d\n", p.Name, p.EmptyP50Millis, p.LargeP50Millis, p.Ratio,
			float64(p.EmptyBytes)/1024, float64(p.LargeBytes)/1024, p.EmptyRequests, p.LargeRequests, p.Errors)
	}
}

// thousands formats n with commas: 1,000,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
