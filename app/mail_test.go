package app

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"skiff/db"
)

// tokenOf returns the token parameter of a mailed link.
func tokenOf(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("token")
}

// path returns a mailed link relative to the test server.
func (ts *testServer) path(link string) string {
	return strings.TrimPrefix(link, ts.URL)
}

func TestEmailVerification(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	c.signup("ada@example.com")
	wantBody(t, c.get("/dashboard"), "Please confirm your email address", `action="/verify-email/resend"`)

	m := ts.smtp.waitFor("ada@example.com", "Confirm your email address")
	if !strings.Contains(m.HTML, "Confirm my address") || !strings.Contains(m.From, "no-reply@localhost") {
		t.Fatalf("mail: %+v", m)
	}
	link := m.link(t, ts.URL+"/verify-email?token=")
	// A mail scanner opening the link (HEAD, GET) changes nothing: the page
	// only shows a button.
	req, _ := http.NewRequest(http.MethodHead, ts.URL+ts.path(link), nil)
	wantStatus(t, ts.newClient().do(req), http.StatusOK)
	res := c.get(ts.path(link))
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "Confirm my address", `action="/verify-email"`)
	if res.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatal("token page without Referrer-Policy: no-referrer")
	}
	wantBody(t, c.get("/dashboard"), "Please confirm your email address")
	wantRedirect(t, c.post("/verify-email", url.Values{"token": {tokenOf(t, link)}}), "/dashboard")
	res = c.get("/dashboard")
	wantBody(t, res, "Your email address is confirmed.")
	if strings.Contains(res.body, "Please confirm your email address") {
		t.Fatal("banner still shown after verification")
	}
	wantStatus(t, c.get(ts.path(link)), http.StatusBadRequest) // single use
	wantStatus(t, c.post("/verify-email", url.Values{"token": {tokenOf(t, link)}}), http.StatusBadRequest)

	// Resending to a confirmed address is refused politely.
	wantRedirect(t, c.post("/verify-email/resend", nil), "/dashboard")

	bob := ts.newClient()
	bob.signup("bob@example.com")
	wantRedirect(t, bob.post("/verify-email/resend", nil), "/dashboard")
	deadline := time.Now().Add(5 * time.Second)
	for countMail(ts, "bob@example.com") < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := countMail(ts, "bob@example.com"); n != 2 {
		t.Fatalf("%d mails to bob, want 2 (signup and resend)", n)
	}
}

// mailSettled waits until the outbox has nothing left to send, so that what
// the SMTP server received is all there will be.
func (ts *testServer) mailSettled() {
	ts.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ts.count(`SELECT count(*) FROM emails WHERE status = 'pending'`) > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			ts.t.Fatal("mail still pending after 10 s")
		}
	}
}

// countMail returns how many mails to `to` the SMTP server received, once the
// outbox has settled.
func countMail(ts *testServer, to string) int {
	ts.mailSettled()
	ts.smtp.mu.Lock()
	defer ts.smtp.mu.Unlock()
	n := 0
	for _, m := range ts.smtp.mails {
		if m.To == to {
			n++
		}
	}
	return n
}

func TestPasswordReset(t *testing.T) {
	ts := newTestServer(t)
	ada := ts.newClient()
	ada.signup("ada@example.com")
	other := ts.newClient()
	wantRedirect(t, other.login("ada@example.com", testPassword, true), "/dashboard")

	// Known and unknown addresses get the same answer.
	anon := ts.newClient()
	known := anon.post("/forgot-password", url.Values{"email": {"ada@example.com"}})
	unknown := anon.post("/forgot-password", url.Values{"email": {"nobody@example.com"}})
	wantStatus(t, known, http.StatusOK)
	wantStatus(t, unknown, http.StatusOK)
	if strings.ReplaceAll(known.body, "ada@example.com", "X") != strings.ReplaceAll(unknown.body, "nobody@example.com", "X") {
		t.Fatal("forgot-password answers differ for known and unknown addresses")
	}
	wantBody(t, known, "If an account exists for ada@example.com")
	wantStatus(t, anon.post("/forgot-password", url.Values{"email": {"not an email"}}), http.StatusUnprocessableEntity)

	m := ts.smtp.waitFor("ada@example.com", "Reset your password")
	link := m.link(t, ts.URL+"/reset-password?token=")
	res := anon.get(ts.path(link))
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "Choose a new password", `name="token"`)
	if res.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatal("reset page without Referrer-Policy: no-referrer")
	}
	token := tokenOf(t, link)
	res = anon.post("/reset-password", url.Values{"token": {token}, "password": {"password123"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantBody(t, res, "too common")

	const newPassword = "a brand new passphrase"
	wantRedirect(t, anon.post("/reset-password", url.Values{"token": {token}, "password": {newPassword}}), "/login")
	wantBody(t, anon.get("/login"), "Your password has been changed and every session was signed out.")

	// Every session was signed out, the old password is gone, the new one works.
	wantRedirect(t, ada.get("/dashboard"), "/login?next=%2Fdashboard")
	wantRedirect(t, other.get("/dashboard"), "/login?next=%2Fdashboard")
	wantStatus(t, ts.newClient().login("ada@example.com", testPassword, false), http.StatusUnauthorized)
	wantRedirect(t, ts.newClient().login("ada@example.com", newPassword, false), "/dashboard")
	ts.smtp.waitFor("ada@example.com", "Your password was reset")

	// The link is single use.
	wantStatus(t, anon.post("/reset-password", url.Values{"token": {token}, "password": {"yet another passphrase"}}), http.StatusBadRequest)
	wantStatus(t, anon.get(ts.path(link)), http.StatusBadRequest)

	var unknownMails int
	ts.db.Read.QueryRow(`SELECT count(*) FROM emails WHERE to_addr = 'nobody@example.com'`).Scan(&unknownMails)
	if unknownMails != 0 {
		t.Fatal("a mail was queued for an unknown address")
	}
}

func TestResetLinksUseBaseURLNotHost(t *testing.T) {
	ts := newTestServer(t)
	ts.newClient().signup("ada@example.com")
	req, _ := http.NewRequest("POST", ts.URL+"/forgot-password", strings.NewReader("email=ada%40example.com"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Host = "evil.example"
	req.Header.Set("X-Forwarded-Host", "evil.example")
	wantStatus(t, ts.newClient().do(req), http.StatusOK)
	m := ts.smtp.waitFor("ada@example.com", "Reset your password")
	if strings.Contains(m.Text+m.HTML, "evil.example") {
		t.Fatal("the reset link uses the request's Host")
	}
	m.link(t, ts.URL+"/reset-password?token=")
}

func TestMagicLink(t *testing.T) {
	ts := newTestServer(t)
	ts.newClient().signup("ada@example.com")
	c := ts.newClient()
	known := c.post("/login/magic", url.Values{"email": {"ada@example.com"}})
	unknown := c.post("/login/magic", url.Values{"email": {"ghost@example.com"}})
	wantStatus(t, known, http.StatusOK)
	if strings.ReplaceAll(known.body, "ada@example.com", "X") != strings.ReplaceAll(unknown.body, "ghost@example.com", "X") {
		t.Fatal("magic link answers differ for known and unknown addresses")
	}
	m := ts.smtp.waitFor("ada@example.com", "Your login link")
	link := m.link(t, ts.URL+"/login/magic/confirm?token=")

	// Opening the link (as a mail scanner would) does not use it.
	for range 2 {
		res := c.get(ts.path(link))
		wantStatus(t, res, http.StatusOK)
		wantBody(t, res, "Continue as ada@example.com", `method="post"`)
	}
	wantRedirect(t, c.get("/dashboard"), "/login?next=%2Fdashboard")
	before := c.cookie()
	wantRedirect(t, c.post("/login/magic/confirm", url.Values{"token": {tokenOf(t, link)}}), "/dashboard")
	if after := c.cookie(); after == nil || (before != nil && after.Value == before.Value) {
		t.Fatal("session not renewed by the magic link")
	}
	res := c.get("/dashboard")
	wantStatus(t, res, http.StatusOK)
	if strings.Contains(res.body, "Please confirm your email address") {
		t.Fatal("a magic link login did not verify the address")
	}
	wantStatus(t, ts.newClient().post("/login/magic/confirm", url.Values{"token": {tokenOf(t, link)}}), http.StatusBadRequest)

	var n int
	ts.db.Read.QueryRow(`SELECT count(*) FROM emails WHERE to_addr = 'ghost@example.com'`).Scan(&n)
	if u, _ := ts.db.CountUsers(context.Background()); n != 0 || u != 1 {
		t.Fatalf("unknown address: %d mails, %d users", n, u)
	}
}

func TestMagicLinkSignup(t *testing.T) {
	ts := newTestServer(t, func(c *testSetup) { c.MagicLinkSignup = true })
	c := ts.newClient()
	wantStatus(t, c.post("/login/magic", url.Values{"email": {"new@example.com"}}), http.StatusOK)
	m := ts.smtp.waitFor("new@example.com", "Finish creating your account")
	if n, _ := ts.db.CountUsers(context.Background()); n != 0 {
		t.Fatal("account created before the link was used")
	}
	wantRedirect(t, c.post("/login/magic/confirm", url.Values{"token": {tokenOf(t, m.link(t, ts.URL))}}), "/dashboard")
	u, err := ts.db.UserByEmail(context.Background(), "new@example.com")
	if err != nil || u.PasswordHash != "" || !u.EmailVerifiedAt.Valid {
		t.Fatalf("user %+v, err %v: want verified, without password", u, err)
	}
	wantBody(t, c.get("/settings/security"), "You log in without a password")
}

func TestEmailChange(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	c.signup("ada@example.com")
	res := c.post("/settings/email", url.Values{"email": {"ada@new.example"}, "current_password": {"wrong password"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantBody(t, res, "Your current password is not correct.")
	ts.newClient().signup("bob@example.com")
	wantStatus(t, c.post("/settings/email", url.Values{"email": {"bob@example.com"}, "current_password": {testPassword}}), http.StatusUnprocessableEntity)

	wantRedirect(t, c.post("/settings/email", url.Values{"email": {"Ada@New.example"}, "current_password": {testPassword}}), "/settings")
	confirm := ts.smtp.waitFor("ada@new.example", "Confirm your new email address")
	ts.smtp.waitFor("ada@example.com", "A change of email address was requested")
	if u, _ := ts.db.UserByID(context.Background(), ts.userID("ada@example.com")); u.Email != "ada@example.com" {
		t.Fatal("address changed before confirmation")
	}
	link := confirm.link(t, ts.URL+"/settings/email/confirm?token=")
	wantBody(t, c.get(ts.path(link)), "Confirm ada@new.example")
	wantRedirect(t, c.post("/settings/email/confirm", url.Values{"token": {tokenOf(t, link)}}), "/settings")
	wantBody(t, c.get("/settings"), "ada@new.example", "(confirmed)")
	wantRedirect(t, ts.newClient().login("ada@new.example", testPassword, false), "/dashboard")
	wantStatus(t, ts.newClient().login("ada@example.com", testPassword, false), http.StatusUnauthorized)
}

func TestPasswordChangeKeepsThisSession(t *testing.T) {
	ts := newTestServer(t)
	laptop := ts.newClient()
	laptop.signupVerified("ada@example.com")
	phone := ts.newClient()
	wantRedirect(t, phone.login("ada@example.com", testPassword, true), "/dashboard")

	res := laptop.post("/settings/password", url.Values{"current_password": {"nope nope"}, "password": {"a new long passphrase"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	before := laptop.cookie().Value
	wantRedirect(t, laptop.post("/settings/password", url.Values{"current_password": {testPassword}, "password": {"a new long passphrase"}}), "/settings/security")
	if laptop.cookie().Value == before {
		t.Fatal("session token not renewed on password change")
	}
	wantStatus(t, laptop.get("/dashboard"), http.StatusOK)
	wantRedirect(t, phone.get("/dashboard"), "/login?next=%2Fdashboard")
	ts.smtp.waitFor("ada@example.com", "Your password was changed")
	wantRedirect(t, ts.newClient().login("ada@example.com", "a new long passphrase", false), "/dashboard")
}

func TestTokensAreStrict(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	c.signup("ada@example.com")
	verify := ts.smtp.waitFor("ada@example.com", "Confirm your email address").link(t, ts.URL)
	token := tokenOf(t, verify)

	// Only the hash is stored.
	var stored int
	ts.db.Read.QueryRow(`SELECT count(*) FROM tokens WHERE hash = ? OR CAST(hash AS TEXT) = ?`, token, token).Scan(&stored)
	if stored != 0 {
		t.Fatal("a raw token is stored")
	}
	// Wrong purpose: a verification token does not reset a password or log in.
	wantStatus(t, c.get("/reset-password?token="+token), http.StatusBadRequest)
	wantStatus(t, c.post("/reset-password", url.Values{"token": {token}, "password": {"some fine passphrase"}}), http.StatusBadRequest)
	wantStatus(t, ts.newClient().post("/login/magic/confirm", url.Values{"token": {token}}), http.StatusBadRequest)
	// Forged and mangled tokens.
	for _, forged := range []string{"", "abc", strings.Repeat("A", 43), token[:42] + "!", token + "A", "%00"} {
		wantStatus(t, c.get("/verify-email?token="+url.QueryEscape(forged)), http.StatusBadRequest)
	}
	// Expired.
	ts.db.Write.Exec(`UPDATE tokens SET expires_at = ?`, time.Now().Add(-time.Minute).UTC())
	wantStatus(t, c.get(ts.path(verify)), http.StatusBadRequest)

	// Issued before a security change (auth_epoch bump): void.
	c.post("/login/magic", url.Values{"email": {"ada@example.com"}})
	magic := ts.smtp.waitFor("ada@example.com", "Your login link").link(t, ts.URL)
	ts.db.SignOutEverywhere(context.Background(), ts.userID("ada@example.com"))
	wantStatus(t, ts.newClient().post("/login/magic/confirm", url.Values{"token": {tokenOf(t, magic)}}), http.StatusBadRequest)
}

func TestTokenRedeemedOnceUnderConcurrency(t *testing.T) {
	ts := newTestServer(t, func(c *testSetup) { c.Limits.LoginPerIP = Rate{N: 1000, Per: time.Minute} })
	ts.newClient().signup("ada@example.com")
	ts.newClient().post("/login/magic", url.Values{"email": {"ada@example.com"}})
	token := tokenOf(t, ts.smtp.waitFor("ada@example.com", "Your login link").link(t, ts.URL))
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for range 50 {
		wg.Go(func() {
			res := ts.newClient().post("/login/magic/confirm", url.Values{"token": {token}})
			mu.Lock()
			statuses[res.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if statuses[http.StatusSeeOther] != 1 || statuses[http.StatusBadRequest] != 49 {
		t.Fatalf("statuses %v: want exactly one 303 and 49 400s", statuses)
	}
}

func TestMailRateLimits(t *testing.T) {
	ts := newTestServer(t, func(c *testSetup) { c.Limits.MailPerAddress = Rate{N: 2, Per: time.Hour} })
	c := ts.newClient()
	for range 2 {
		wantStatus(t, c.post("/forgot-password", url.Values{"email": {"x@example.com"}}), http.StatusOK)
	}
	res := c.post("/forgot-password", url.Values{"email": {"x@example.com"}})
	wantStatus(t, res, http.StatusTooManyRequests)
	if res.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	wantStatus(t, c.post("/login/magic", url.Values{"email": {"x@example.com"}}), http.StatusTooManyRequests)
	wantStatus(t, c.post("/login/magic", url.Values{"email": {"y@example.com"}}), http.StatusOK)
}

func TestOutboxRetriesUntilSMTPIsBack(t *testing.T) {
	ts := newTestServer(t)
	ts.smtp.stop()
	start := time.Now()
	c := ts.newClient()
	c.signup("ada@example.com") // not blocked by the dead mail server
	if time.Since(start) > 5*time.Second {
		t.Fatal("signup waited for the mail server")
	}
	// The mail stays pending and is retried.
	deadline := time.Now().Add(5 * time.Second)
	var attempts int
	for attempts < 2 && time.Now().Before(deadline) {
		ts.db.Read.QueryRow(`SELECT attempts FROM emails WHERE to_addr = 'ada@example.com'`).Scan(&attempts)
		time.Sleep(20 * time.Millisecond)
	}
	if attempts < 2 {
		t.Fatalf("%d attempts while SMTP was down, want retries", attempts)
	}
	ts.smtp.start()
	ts.smtp.waitFor("ada@example.com", "Confirm your email address")
	if n := countMail(ts, "ada@example.com"); n != 1 {
		t.Fatalf("mail delivered %d times, want once", n)
	}
	e, _ := ts.db.RecentEmails(context.Background(), 1)
	if e[0].Status != "sent" || !e[0].SentAt.Valid {
		t.Fatalf("outbox row %+v", e[0])
	}
}

func TestOutboxSurvivesRestart(t *testing.T) {
	sink := newSMTPSink(t)
	sink.stop()
	ts := newTestServer(t, withSMTP(sink))
	ts.newClient().signup("ada@example.com")
	ts.stop() // the process ends with the mail still pending

	sink.start()
	newTestServer(t, withDB(ts.dbPath), withSMTP(sink))
	sink.waitFor("ada@example.com", "Confirm your email address")
}

func TestOutboxGivesUp(t *testing.T) {
	ts := newTestServer(t)
	ts.smtp.stop()
	ts.srv.outbox.giveUpAfter = 0
	ts.newClient().signup("ada@example.com")
	deadline := time.Now().Add(5 * time.Second)
	var status string
	for status != "failed" && time.Now().Before(deadline) {
		ts.db.Read.QueryRow(`SELECT status FROM emails`).Scan(&status)
		time.Sleep(20 * time.Millisecond)
	}
	if status != "failed" || !strings.Contains(ts.logs.String(), "giving up on a mail") {
		t.Fatalf("status %q; logs:\n%s", status, ts.logs.String())
	}
}

// TestMailHeaders: the Message-ID is on MAIL_FROM's domain, not the
// machine's hostname, and no header names the mail library and its version.
func TestMailHeaders(t *testing.T) {
	ts := newTestServer(t, func(c *testSetup) { c.MailFrom = "Acme <no-reply@acme.example>" })
	ts.newClient().signup("ada@example.com")
	h := ts.smtp.waitFor("ada@example.com", "Confirm your email address").Header
	if id := h.Get("Message-ID"); !regexp.MustCompile(`^<[A-Za-z0-9]{20,}@acme\.example>$`).MatchString(id) {
		t.Errorf("Message-ID %q, want <random@acme.example>", id)
	}
	for _, k := range []string{"X-Mailer", "User-Agent"} {
		if v := h.Get(k); v != "" {
			t.Errorf("%s: %s", k, v)
		}
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative;") {
		t.Errorf("Content-Type %q, want multipart/alternative", ct)
	}
}

// TestOutboxRetriesOnSchedule: a failed mail is retried 5 s, 10 s and 20 s
// after each failure, with the production delays and the production 30 s
// idle poll. The worker runs on a fake clock that the test moves from one
// wait to the next, so three failures take milliseconds, not 35 seconds.
func TestOutboxRetriesOnSchedule(t *testing.T) {
	ctx := context.Background()
	database, err := db.Open(ctx, filepath.Join(t.TempDir(), "skiff.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer database.Close()
	if _, err := database.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	err = database.Tx(ctx, func(q db.Queries) error {
		_, err := q.EnqueueEmail(ctx, db.Email{To: "ada@example.com", Subject: "Hello", Text: "t", HTML: "h"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	clock := newFakeClock(time.Now()) // after the mail was queued: it is due
	mailer := &flakyMailer{clock: clock, failures: 3}
	logs := &syncBuffer{}
	o := newOutbox(database, mailer, slog.New(slog.NewTextHandler(logs, nil)))
	if o.firstRetry != 5*time.Second || o.idlePoll != 30*time.Second {
		t.Fatalf("not the production schedule: first retry %v, idle poll %v", o.firstRetry, o.idlePoll)
	}
	o.now, o.after = clock.Now, clock.After
	workCtx, stop := context.WithCancel(ctx)
	go o.run(workCtx)
	defer func() { stop(); <-o.done }()

	// Each time the worker goes to sleep, wake it at the end of its wait:
	// the time of each attempt is then the time the worker chose.
	start := clock.Now()
	for len(mailer.attemptTimes()) < 4 {
		select {
		case at := <-clock.waits:
			if at.Sub(start) > 10*time.Minute {
				t.Fatalf("the worker sleeps until +%v; attempts so far at %v", at.Sub(start), offsets(start, mailer.attemptTimes()))
			}
			clock.set(at)
		case <-time.After(10 * time.Second):
			t.Fatalf("the worker neither sent nor slept; attempts at %v; logs:\n%s", offsets(start, mailer.attemptTimes()), logs)
		}
	}
	got := offsets(start, mailer.attemptTimes())
	want := []time.Duration{0, 5 * time.Second, 15 * time.Second, 35 * time.Second}
	if !slices.Equal(got, want) {
		t.Fatalf("attempts at %v after the mail was queued, want %v (retries 5 s, 10 s, 20 s after each failure)", got, want)
	}
	// With nothing pending the worker polls every 30 s.
	select {
	case at := <-clock.waits:
		if idle := at.Sub(clock.Now()); idle != 30*time.Second {
			t.Fatalf("idle wait %v, want 30s", idle)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not go back to sleep")
	}
	e, err := database.RecentEmails(ctx, 1)
	if err != nil || len(e) != 1 || e[0].Status != "sent" || e[0].Attempts != 4 {
		t.Fatalf("outbox row %+v, %v; want sent after 4 attempts", e, err)
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("errors logged:\n%s", logs)
	}
}

// fakeClock is the outbox's clock in TestOutboxRetriesOnSchedule: time stands
// still until the test sets it, and each wait the worker starts is reported
// on waits (its deadline), so the test knows when the worker sleeps, and until
// when.
type fakeClock struct {
	waits chan time.Time

	mu     sync.Mutex
	now    time.Time
	timers []fakeTimer
}

type fakeTimer struct {
	at time.Time
	c  chan time.Time
}

func newFakeClock(now time.Time) *fakeClock {
	return &fakeClock{now: now, waits: make(chan time.Time, 100)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives once the clock is set to now+d or later.
func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	t := fakeTimer{at: c.now.Add(d), c: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	c.waits <- t.at
	return t.c
}

// set moves the clock to at and fires every wait that ends by then.
func (c *fakeClock) set(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = at
	c.timers = slices.DeleteFunc(c.timers, func(t fakeTimer) bool {
		if t.at.After(at) {
			return false
		}
		t.c <- at
		return true
	})
}

// flakyMailer fails its first failures sends, then accepts every mail. It
// records the clock's time of each attempt.
type flakyMailer struct {
	clock    *fakeClock
	failures int

	mu       sync.Mutex
	attempts []time.Time
}

func (m *flakyMailer) Send(context.Context, Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.attempts = append(m.attempts, m.clock.Now())
	if len(m.attempts) <= m.failures {
		return errors.New("dial tcp 127.0.0.1:25: connection refused")
	}
	return nil
}

func (m *flakyMailer) attemptTimes() []time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.attempts)
}

// offsets returns how long after start each time is.
func offsets(start time.Time, times []time.Time) []time.Duration {
	var out []time.Duration
	for _, at := range times {
		out = append(out, at.Sub(start))
	}
	return out
}

func TestDevMailbox(t *testing.T) {
	ts := newTestServer(t, withDevMailbox())
	c := ts.newClient()
	c.signup("ada@example.com")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(ts.logs.String(), "dev mailbox: mail delivered") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	res := c.get("/dev/mail")
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "Confirm your email address", `href="`+ts.URL+`/verify-email?token=`, "To ada@example.com")
	wantBody(t, c.get("/dev/mail/1"), "Confirm my address")
	if !strings.Contains(ts.logs.String(), ts.URL+"/verify-email?token=") {
		t.Fatal("the dev mailbox did not log the link")
	}
	// The link from the dev mailbox works.
	var link string
	for _, l := range linkRE.FindAllString(res.body, -1) {
		if strings.Contains(l, "/verify-email?token=") {
			link = strings.ReplaceAll(l, "&amp;", "&")
			break
		}
	}
	wantBody(t, c.get(ts.path(link)), "Confirm my address")

	prod := newTestServer(t, withTLS(), func(c *testSetup) { c.Env = "production" })
	wantStatus(t, prod.newClient().get("/dev/mail"), http.StatusNotFound)
	wantStatus(t, prod.newClient().get("/dev/mail/1"), http.StatusNotFound)
}
