package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stripe/stripe-go/v76/webhook"

	"skiff/db"
	"skiff/db/dbtest"
)

// TestSeveralInstancesOnPostgres runs three skiff binaries on one Postgres
// database behind a round-robin proxy, as deploy/Caddyfile.instances does,
// and checks that they behave as one:
//
//   - a session made on one instance, used on another and revoked on a
//     third is refused by all three at once, and so is every session after
//     a password reset; a rate limit counts the requests of all three;
//   - 1,000 Stripe events, each delivered twice to different instances, are
//     each applied once;
//   - every queued mail is sent once, by one of them;
//   - kill -9 of one instance in the middle of a burst of signups loses no
//     acknowledged signup;
//   - a rolling restart (each instance in turn taken out, stopped, started
//     again and put back once /readyz answers) under a steady load answers
//     every request.
func TestSeveralInstancesOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three binaries")
	}
	if !dbtest.Postgres() {
		t.Skip("needs PostgreSQL (make test-postgres)")
	}
	ctx := context.Background()
	bin := buildBinary(t)
	target := dbtest.NewPostgres(t)
	sink := newMailSink(t)
	lb := newRoundRobin(t)
	// A stopping instance says so on /readyz for DRAIN_DELAY before it
	// stops listening; the balancer checks every 100 ms.
	env := []string{"DATABASE_URL=" + target, "SMTP_URL=smtp://" + sink.addr, "BASE_URL=" + lb.url, "DRAIN_DELAY=500ms"}
	var insts [3]*proc
	for i := range insts {
		insts[i] = startBinary(t, bin, t.TempDir(), env...)
		lb.set(i, insts[i].base)
	}
	d, err := db.Open(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	count := func(query string, args ...any) int {
		t.Helper()
		var n int
		if err := d.Read.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	a, b, c := insts[0].base, insts[1].base, insts[2].base
	// Instances started in a subtest outlive it: they belong to the test.
	restart := func(i int) {
		insts[i] = startBinary(t, bin, t.TempDir(), env...)
		lb.set(i, insts[i].base)
		lb.waitHealthy(t, i)
	}
	for i := range insts {
		lb.waitHealthy(t, i)
	}

	t.Run("sessions and limits are every instance's", func(t *testing.T) {
		ada, phone, laptop := browser(), browser(), browser()
		wantCode(t, ada, "POST", a+"/signup", url.Values{"email": {"ada@example.com"}, "password": {"several instances pw"}}, 303)
		wantCode(t, phone, "POST", b+"/login", url.Values{"email": {"ada@example.com"}, "password": {"several instances pw"}}, 303)
		for _, base := range []string{a, b, c} {
			wantCode(t, phone, "GET", base+"/dashboard", nil, 200)
		}
		// Revoked from a third instance: refused everywhere, at once.
		wantCode(t, ada, "POST", c+"/settings/sessions/revoke-others", nil, 303)
		for _, base := range []string{a, b, c} {
			wantCode(t, phone, "GET", base+"/dashboard", nil, 303)
		}
		// A reset (auth_epoch moves) signs out a session made on another.
		wantCode(t, laptop, "POST", b+"/login", url.Values{"email": {"ada@example.com"}, "password": {"several instances pw"}}, 303)
		wantCode(t, laptop, "GET", c+"/dashboard", nil, 200)
		wantCode(t, browser(), "POST", a+"/forgot-password", url.Values{"email": {"ada@example.com"}}, 200)
		link := sink.link(t, "ada@example.com", "Reset your password", `/reset-password\?token=[\w-]+`)
		token := strings.SplitN(link, "token=", 2)[1]
		wantCode(t, browser(), "POST", c+"/reset-password", url.Values{"token": {token}, "password": {"a brand new password"}}, 303)
		for _, base := range []string{a, b, c} {
			wantCode(t, laptop, "GET", base+"/dashboard", nil, 303)
			wantCode(t, ada, "GET", base+"/dashboard", nil, 303)
		}
		// Ten logins a minute per address, counted across the instances.
		codes := map[int]int{}
		for i := range 12 {
			res := send(t, browser(), "POST", []string{a, b, c}[i%3]+"/login",
				url.Values{"email": {"ada@example.com"}, "password": {"wrong"}}, "192.0.2.77")
			codes[res.StatusCode]++
		}
		if codes[http.StatusTooManyRequests] != 2 {
			t.Fatalf("12 logins from one address over three instances: %v, want the last 2 refused", codes)
		}
	})

	t.Run("each webhook applied once", func(t *testing.T) {
		var ok, dup, failed atomic.Int64
		var wg sync.WaitGroup
		sem := make(chan struct{}, 32)
		client := noRedirects()
		for i := range 1000 {
			payload := proofEvent(i)
			for delivery := range 2 {
				wg.Go(func() {
					sem <- struct{}{}
					defer func() { <-sem }()
					// The two deliveries of an event reach two instances.
					base := insts[(i+delivery)%3].base
					signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: proofWebhookSecret})
					req, _ := http.NewRequest("POST", base+"/webhooks/stripe", bytes.NewReader(payload))
					req.Header.Set("Stripe-Signature", signed.Header)
					res, err := client.Do(req)
					if err != nil {
						failed.Add(1)
						return
					}
					body, _ := io.ReadAll(res.Body)
					res.Body.Close()
					switch {
					case res.StatusCode != 200:
						failed.Add(1)
					case strings.Contains(string(body), `"duplicate":true`):
						dup.Add(1)
					default:
						ok.Add(1)
					}
				})
			}
		}
		wg.Wait()
		if ok.Load() != 1000 || dup.Load() != 1000 || failed.Load() != 0 {
			t.Fatalf("2,000 deliveries: %d applied, %d answered as duplicates, %d failed; want 1000, 1000, 0", ok.Load(), dup.Load(), failed.Load())
		}
		if n := count(`SELECT count(*) FROM stripe_events WHERE id LIKE 'evt_proof_%'`); n != 1000 {
			t.Fatalf("%d events recorded, want 1000", n)
		}
	})

	t.Run("each mail sent once", func(t *testing.T) {
		var wg sync.WaitGroup
		sem := make(chan struct{}, 16)
		for i := range 150 {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				res := send(t, browser(), "POST", lb.url+"/signup", url.Values{"email": {fmt.Sprintf("m%d@example.com", i)}, "password": {"mail once password"}}, fmt.Sprintf("10.2.%d.%d", i/256, i%256))
				if res.StatusCode != 303 {
					t.Errorf("signup %d: %d", i, res.StatusCode)
				}
			})
		}
		wg.Wait()
		deadline := time.Now().Add(60 * time.Second)
		for count(`SELECT count(*) FROM emails WHERE status = 'pending'`) > 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond) // a duplicate, if there were one, would have arrived
		sent := count(`SELECT count(*) FROM emails WHERE status = 'sent'`)
		got := sink.all()
		if len(got) != sent {
			t.Fatalf("%d mails marked sent, %d arrived", sent, len(got))
		}
		seen := map[string]int{}
		for _, m := range got {
			seen[m.to+" "+m.subject]++
		}
		for i := range 150 {
			if n := seen[fmt.Sprintf("m%d@example.com Confirm your email address", i)]; n != 1 {
				t.Errorf("m%d@example.com got its verification mail %d times", i, n)
			}
		}
		if n := count(`SELECT count(*) FROM emails WHERE status <> 'sent'`); n != 0 {
			t.Errorf("%d mails not sent", n)
		}
	})

	t.Run("kill -9 loses no acknowledged signup", func(t *testing.T) {
		var acked sync.Map
		var acks atomic.Int64
		victim := insts[1]
		killed := make(chan struct{})
		go func() {
			for acks.Load() < 150 {
				time.Sleep(5 * time.Millisecond)
			}
			victim.cmd.Process.Signal(syscall.SIGKILL)
			close(killed)
		}()
		var wg sync.WaitGroup
		sem := make(chan struct{}, 24)
		client := noRedirects()
		for i := range 600 {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				email := fmt.Sprintf("k%d@example.com", i)
				code, err := postForm(client, lb.url+"/signup", url.Values{"email": {email}, "password": {"kill nine proof password"}}, fmt.Sprintf("10.3.%d.%d", i/256, i%256))
				if err == nil && code == 303 {
					acked.Store(email, true)
					acks.Add(1)
				}
			})
		}
		wg.Wait()
		<-killed
		<-victim.done
		victim.cmd.Wait()
		lost, n := 0, 0
		acked.Range(func(k, _ any) bool {
			n++
			if count(`SELECT count(*) FROM users WHERE email = ?`, k) != 1 {
				lost++
			}
			return true
		})
		if lost > 0 || n < 300 {
			t.Fatalf("%d of %d acknowledged signups lost (at least 300 should have been acknowledged)", lost, n)
		}
		t.Logf("%d signups acknowledged across the kill, all present", n)
		restart(1)
	})

	t.Run("a rolling restart answers every request", func(t *testing.T) {
		stop := make(chan struct{})
		var served, failures atomic.Int64
		var failed sync.Map
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				client := noRedirects()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					var code int
					var err error
					if i%2 == 0 {
						var res *http.Response
						if res, err = client.Get(lb.url + "/login"); err == nil {
							io.Copy(io.Discard, res.Body)
							res.Body.Close()
							code = res.StatusCode
						}
					} else {
						email := fmt.Sprintf("r%d-%d@example.com", w, i)
						code, err = postForm(client, lb.url+"/signup", url.Values{"email": {email}, "password": {"rolling restart pw"}}, fmt.Sprintf("10.4.%d.%d", w, i%256))
						if code == 303 {
							failed.Store(email, false)
						}
					}
					served.Add(1)
					if err != nil || (code != 200 && code != 303) {
						failures.Add(1)
						failed.Store(fmt.Sprint(w, i), fmt.Sprint(code, err))
					}
				}
			})
		}
		for i := range insts {
			time.Sleep(time.Second)
			// The balancer is not told: /readyz takes it out, as Caddy's
			// health check does.
			insts[i].cmd.Process.Signal(syscall.SIGTERM)
			<-insts[i].done
			if err := insts[i].cmd.Wait(); err != nil {
				t.Errorf("instance %d stopped with %v", i, err)
			}
			restart(i)
		}
		time.Sleep(time.Second)
		close(stop)
		wg.Wait()
		if failures.Load() > 0 {
			var why []string
			failed.Range(func(k, v any) bool {
				if s, ok := v.(string); ok {
					why = append(why, fmt.Sprint(k, ": ", s))
				}
				return len(why) < 10
			})
			t.Fatalf("%d of %d requests failed during the rolling restart: %v", failures.Load(), served.Load(), why)
		}
		lost := 0
		failed.Range(func(k, v any) bool {
			if v == false && count(`SELECT count(*) FROM users WHERE email = ?`, k) != 1 {
				lost++
			}
			return true
		})
		if lost > 0 || served.Load() < 100 {
			t.Fatalf("%d acknowledged signups lost, %d requests served", lost, served.Load())
		}
		t.Logf("%d requests during the rolling restart, none failed", served.Load())
	})
}

// browser is one visitor: a cookie jar (shared by the three instances, all
// on 127.0.0.1), redirects not followed.
func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	c := noRedirects()
	c.Jar = jar
	return c
}

func send(t *testing.T, c *http.Client, method, u string, form url.Values, ip string) *http.Response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if ip != "" {
		req.Header.Set("X-Forwarded-For", ip)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

func wantCode(t *testing.T, c *http.Client, method, u string, form url.Values, want int) {
	t.Helper()
	if res := send(t, c, method, u, form, ""); res.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d", method, u, res.StatusCode, want)
	}
}

// roundRobin is the tiny load balancer: each request to the next healthy
// instance, healthy meaning that GET /readyz answered 200 at its last check
// (every 100 ms), as Caddy's health_uri does. One that refuses the
// connection anyway is skipped for the next, as Caddy's lb_try_duration
// does. A request whose connection was made is never sent twice.
type roundRobin struct {
	url   string
	mu    sync.Mutex
	ups   [3]upstream
	next  atomic.Uint64
	trans *http.Transport
}

type upstream struct {
	base    string
	healthy bool
}

func newRoundRobin(t *testing.T) *roundRobin {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rr := &roundRobin{url: "http://" + ln.Addr().String(), trans: &http.Transport{MaxIdleConnsPerHost: 64}}
	srv := &http.Server{Handler: rr}
	go srv.Serve(ln)
	stop := make(chan struct{})
	go rr.check(stop)
	t.Cleanup(func() { close(stop); srv.Close() })
	return rr
}

// set puts a new instance in place i; it serves once its /readyz says so.
func (rr *roundRobin) set(i int, base string) {
	rr.mu.Lock()
	rr.ups[i] = upstream{base: base}
	rr.mu.Unlock()
}

func (rr *roundRobin) check(stop chan struct{}) {
	probe := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
		for i := range rr.ups {
			rr.mu.Lock()
			base := rr.ups[i].base
			rr.mu.Unlock()
			if base == "" {
				continue
			}
			healthy := false
			if res, err := probe.Get(base + "/readyz"); err == nil {
				res.Body.Close()
				healthy = res.StatusCode == 200
			}
			rr.mu.Lock()
			if rr.ups[i].base == base {
				rr.ups[i].healthy = healthy
			}
			rr.mu.Unlock()
		}
	}
}

func (rr *roundRobin) waitHealthy(t *testing.T, i int) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		rr.mu.Lock()
		ok := rr.ups[i].healthy
		rr.mu.Unlock()
		if ok {
			return
		}
	}
	t.Fatalf("instance %d never became healthy", i)
}

func (rr *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for range 6 {
		rr.mu.Lock()
		up := rr.ups[rr.next.Add(1)%3]
		rr.mu.Unlock()
		if !up.healthy {
			continue
		}
		out, _ := http.NewRequestWithContext(r.Context(), r.Method, up.base+r.URL.RequestURI(), bytes.NewReader(body))
		out.Header = r.Header.Clone()
		res, err := rr.trans.RoundTrip(out)
		var op *net.OpError
		if err != nil && errors.As(err, &op) && op.Op == "dial" {
			continue // nothing was sent: another instance
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		io.Copy(w, res.Body)
		res.Body.Close()
		return
	}
	http.Error(w, "no instance answers", http.StatusBadGateway)
}

// mailSink is an SMTP server that keeps what it receives.
type mailSink struct {
	addr  string
	mu    sync.Mutex
	mails []sunkMail
}

type sunkMail struct{ to, subject, body string }

func newMailSink(t *testing.T) *mailSink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &mailSink{addr: ln.Addr().String()}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: s}, nil }))
	srv.Domain = "localhost"
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *mailSink) all() []sunkMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sunkMail(nil), s.mails...)
}

// link waits for a mail to `to` about subject and returns the link in it
// that matches pattern.
func (s *mailSink) link(t *testing.T, to, subject, pattern string) string {
	t.Helper()
	re := regexp.MustCompile(`https?://[^\s"<>]*` + pattern)
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, m := range s.all() {
			if m.to == to && strings.Contains(m.subject, subject) {
				if l := re.FindString(m.body); l != "" {
					return l
				}
			}
		}
	}
	t.Fatalf("no mail %q to %s with a link", subject, to)
	return ""
}

type sinkSession struct {
	sink *mailSink
	to   string
}

func (s *sinkSession) AuthPlain(string, string) error            { return nil }
func (s *sinkSession) Mail(string, *smtp.MailOptions) error      { return nil }
func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = to; return nil }
func (s *sinkSession) Reset()                                    {}
func (s *sinkSession) Logout() error                             { return nil }
func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	text := string(b)
	subject := ""
	if m := regexp.MustCompile(`(?m)^Subject: (.*)\r?$`).FindStringSubmatch(text); m != nil {
		subject = strings.TrimSpace(m[1])
	}
	// Quoted-printable soft line breaks would cut links in two.
	text = strings.ReplaceAll(text, "=\r\n", "")
	text = strings.ReplaceAll(text, "=3D", "=")
	s.sink.mu.Lock()
	s.sink.mails = append(s.sink.mails, sunkMail{to: s.to, subject: subject, body: text})
	s.sink.mu.Unlock()
	return nil
}
