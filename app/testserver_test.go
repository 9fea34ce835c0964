package app

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"skiff/db"
	"skiff/db/dbtest"
)

// testServer is the real handler on a real HTTP server with a real SQLite file.
type testServer struct {
	*httptest.Server
	t        testing.TB
	srv      *Server
	db       *db.DB
	dbPath   string
	logs     *syncBuffer
	once     sync.Once
	smtp     *smtpSink // the mail server the app sends to
	stopWork context.CancelFunc
}

// testOption changes the set-up before the server starts.
type testOption func(*testSetup)

// testSetup is what a test server starts from: its configuration, and how
// it sends mail (to an SMTP sink of its own unless an option chose).
type testSetup struct {
	Config
	devMailbox bool // the development mailbox instead of SMTP
	localhost  bool // BASE_URL's host is localhost, not 127.0.0.1 (passkeys need a domain)
}

// withLocalhost makes BASE_URL, and ts.URL, http://localhost:port: a
// domain, as WebAuthn needs.
func withLocalhost() testOption { return func(c *testSetup) { c.localhost = true } }

// withTLS serves over HTTPS with an https BASE_URL, as in production.
func withTLS() testOption { return func(c *testSetup) { c.BaseURL.Scheme = "https" } }

// withSMTP sends mail to an existing sink (to share one across a restart).
func withSMTP(sink *smtpSink) testOption {
	return func(c *testSetup) { c.SMTPURL, _ = url.Parse("smtp://" + sink.addr) }
}

// withDevMailbox uses the development mailbox instead of SMTP.
func withDevMailbox() testOption { return func(c *testSetup) { c.devMailbox = true } }

// withDB uses an existing database (to test a restart): a file path, or a
// postgres:// URL.
func withDB(target string) testOption {
	return func(c *testSetup) {
		c.DatabaseURL, c.DatabasePath = "", target
		if db.IsPostgres(target) {
			c.DatabaseURL, c.DatabasePath = target, "data/skiff.db"
		}
	}
}

func newTestServer(t testing.TB, opts ...testOption) *testServer {
	t.Helper()
	return newTestServerOn(t, nil, opts...)
}

// newTestServerOn is newTestServer listening on ln (nil for any free port),
// for a provider that must know the callback address before the app starts.
func newTestServerOn(t testing.TB, ln net.Listener, opts ...testOption) *testServer {
	t.Helper()
	defaults, err := LoadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	setup := testSetup{Config: defaults}
	withDB(dbtest.Target(t))(&setup)
	setup.LogLevel = "debug"
	for _, o := range opts {
		o(&setup)
	}
	cfg := setup.Config
	var sink *smtpSink
	switch {
	case setup.devMailbox:
		cfg.SMTPURL = nil
	case cfg.SMTPURL == nil:
		sink = newSMTPSink(t)
		cfg.SMTPURL, _ = url.Parse("smtp://" + sink.addr)
	}
	hs := httptest.NewUnstartedServer(nil)
	if ln != nil {
		hs.Listener.Close()
		hs.Listener = ln
	}
	if cfg.BaseURL.Scheme == "https" {
		hs.StartTLS()
	} else {
		hs.Start()
	}
	u, _ := url.Parse(hs.URL)
	cfg.BaseURL.Host = u.Host
	if setup.localhost {
		cfg.BaseURL.Host = "localhost:" + u.Port()
		hs.URL = "http://" + cfg.BaseURL.Host // clients and browsers visit it by that name
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	database, err := db.Open(ctx, cfg.Database())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := database.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mailer, err := newMailer(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(context.Background(), cfg, database, logger, mailer)
	if err != nil {
		t.Fatal(err)
	}
	// Retries start at 20 ms instead of 5 s so an outage test takes
	// milliseconds; the idle poll stays at its production 30 s, so a retry
	// that waits for the poll instead of its own time fails those tests.
	srv.outbox.firstRetry = 20 * time.Millisecond
	workCtx, stopWork := context.WithCancel(context.Background())
	if err := srv.Start(workCtx); err != nil {
		t.Fatal(err)
	}
	hs.Config.Handler = srv
	ts := &testServer{Server: hs, t: t, srv: srv, db: database, dbPath: cfg.Database(), logs: logs, smtp: sink, stopWork: stopWork}
	t.Cleanup(ts.stop)
	return ts
}

// stop closes the server and its database; safe to call twice.
func (ts *testServer) stop() {
	ts.once.Do(func() {
		if ts.t.Failed() {
			// What the server logged as errors is usually why.
			for _, line := range strings.Split(ts.logs.String(), "\n") {
				if strings.Contains(line, "level=ERROR") || os.Getenv("SKIFF_TEST_LOGS") != "" {
					ts.t.Log("server: " + line)
				}
			}
		}
		if ts.t.Failed() && ts.db.Postgres() && os.Getenv("SKIFF_TEST_LOGS") != "" {
			rows, err := ts.db.Read.Query(`SELECT id, kind, state, args::text, errors::text, attempt, scheduled_at FROM river_job ORDER BY id`)
			if err == nil {
				for rows.Next() {
					var id, attempt int64
					var kind, state, args string
					var errs sql.NullString
					var at time.Time
					rows.Scan(&id, &kind, &state, &args, &errs, &attempt, &at)
					ts.t.Logf("river_job %d %s %s %s attempt %d at %s errors %s", id, kind, state, args, attempt, at.Format(time.RFC3339Nano), errs.String)
				}
				rows.Close()
			}
		}
		ts.Server.Close()
		ts.stopWork()
		ts.srv.Close()
		ts.db.Close()
	})
}

// client is one browser: its own cookie jar, and redirects are not followed
// so tests can see them.
type client struct {
	t  testing.TB
	ts *testServer
	hc *http.Client
}

func (ts *testServer) newClient() *client {
	ts.t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := *ts.Server.Client() // a copy: the server's own client is shared
	hc.Jar = jar
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client{t: ts.t, ts: ts, hc: &hc}
}

// response is a finished response with its body read.
type response struct {
	*http.Response
	body string
}

func (c *client) do(req *http.Request) response {
	c.t.Helper()
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return response{Response: res, body: string(b)}
}

func (c *client) get(path string) response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.ts.URL+path, nil)
	return c.do(req)
}

// post submits a form as a browser on this site would (Sec-Fetch-Site: same-origin).
func (c *client) post(path string, form url.Values) response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", c.ts.URL)
	return c.do(req)
}

// cookie returns the session cookie the jar holds for the site, or nil.
func (c *client) cookie() *http.Cookie {
	u, _ := url.Parse(c.ts.URL)
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == "session" || ck.Name == "__Host-session" {
			return ck
		}
	}
	return nil
}

const testPassword = "correct horse battery staple"

// signup creates an account and leaves the client logged in.
func (c *client) signup(email string) {
	c.t.Helper()
	res := c.post("/signup", url.Values{"email": {email}, "password": {testPassword}})
	wantRedirect(c.t, res, "/dashboard")
}

// login logs the client in and checks that it worked.
func (c *client) login(email, password string, remember bool) response {
	c.t.Helper()
	form := url.Values{"email": {email}, "password": {password}}
	if remember {
		form.Set("remember", "1")
	}
	return c.post("/login", form)
}

// verifyEmail confirms email from its latest verification mail, in this
// client's own session (the one that signed up): nothing is wiped.
func (c *client) verifyEmail(email string) {
	c.t.Helper()
	link := c.ts.smtp.latest(email, "Confirm your email address").link(c.t, c.ts.URL+"/verify-email?token=")
	wantStatus(c.t, c.get(c.ts.path(link)), http.StatusOK)
	wantRedirect(c.t, c.post("/verify-email", url.Values{"token": {tokenOf(c.t, link)}}), "/dashboard")
}

// signupVerified creates an account, confirms its address and leaves the
// client logged in.
func (c *client) signupVerified(email string) {
	c.t.Helper()
	c.signup(email)
	c.verifyEmail(email)
}

func wantStatus(t testing.TB, res response, status int) {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body:\n%.600s", res.Request.Method, res.Request.URL.Path, res.StatusCode, status, res.body)
	}
}

func wantRedirect(t testing.TB, res response, location string) {
	t.Helper()
	wantStatus(t, res, http.StatusSeeOther)
	if got := res.Header.Get("Location"); got != location {
		t.Fatalf("%s %s: redirect to %q, want %q", res.Request.Method, res.Request.URL.Path, got, location)
	}
}

func wantBody(t testing.TB, res response, substrings ...string) {
	t.Helper()
	for _, s := range substrings {
		if !strings.Contains(res.body, s) {
			t.Fatalf("%s %s: body does not contain %q:\n%.1500s", res.Request.Method, res.Request.URL.Path, s, res.body)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the server's concurrent log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
