package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"skiff/db"
)

// Tests that start the real binary and hurt it: kill -9 mid-burst, SIGTERM
// with slow requests in flight, and many writers at once.

const proofWebhookSecret = "whsec_proof"

// proc is a running skiff binary.
type proc struct {
	cmd  *exec.Cmd
	base string
	logs *bytes.Buffer
	mu   *sync.Mutex
	done chan struct{}
}

// startBinary starts skiff serve in dir, with extra settings (KEY=value)
// after the proof's own.
func startBinary(t *testing.T, bin, dir string, extra ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Dir = dir
	cmd.Env = cleanEnv(append([]string{"ADDR=127.0.0.1:0", "TRUST_PROXY_HEADERS=true", "LOG_LEVEL=info",
		"STRIPE_SECRET_KEY=sk_test_proof", "STRIPE_WEBHOOK_SECRET=" + proofWebhookSecret,
		"STRIPE_PRICE_PRO=price_pro", "STRIPE_PRICE_ENTERPRISE=price_ent", "STRIPE_API_BASE=http://127.0.0.1:9"}, extra...)...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, logs: &bytes.Buffer{}, mu: &sync.Mutex{}, done: make(chan struct{})}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		re := regexp.MustCompile(`addr=(\S+)`)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.logs.WriteString(line + "\n")
			p.mu.Unlock()
			if m := re.FindStringSubmatch(line); m != nil && strings.Contains(line, "ready") {
				select {
				case ready <- m[1]:
				default:
				}
			}
		}
		close(p.done)
	}()
	select {
	case addr := <-ready:
		p.base = "http://" + addr
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("server did not start:\n%s", p.log())
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return p
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

func postForm(c *http.Client, u string, v url.Values, ip string) (int, error) {
	req, _ := http.NewRequest("POST", u, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", ip)
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

func noRedirects() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
}

func proofEvent(i int) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": fmt.Sprintf("evt_proof_%d", i), "object": "event", "api_version": stripe.APIVersion,
		"created": time.Now().Unix(), "type": "invoice.paid",
		"data": map[string]any{"object": map[string]any{"id": fmt.Sprintf("in_%d", i), "object": "invoice"}},
	})
	return b
}

// TestKill9LosesNothingAcknowledged sends 1,000 signups and 1,000 webhook
// deliveries (each event twice), kills the server with SIGKILL halfway, and
// checks the database: every acknowledged write is there, integrity is ok,
// no event was processed twice.
func TestKill9LosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	p := startBinary(t, bin, dir)
	c := noRedirects()

	var ackedUsers, ackedEvents sync.Map
	var acks atomic.Int64
	killed := make(chan struct{})
	go func() {
		for acks.Load() < 400 {
			time.Sleep(5 * time.Millisecond)
		}
		p.cmd.Process.Signal(syscall.SIGKILL)
		close(killed)
	}()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range 1000 {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			email := fmt.Sprintf("k%d@example.com", i)
			if code, err := postForm(c, p.base+"/signup", url.Values{"email": {email}, "password": {"kill nine proof password"}}, fmt.Sprintf("10.1.%d.%d", i/256, i%256)); err == nil && code == 303 {
				ackedUsers.Store(email, true)
				acks.Add(1)
			}
		})
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			payload := proofEvent(i)
			for range 2 { // every event is delivered twice
				signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: proofWebhookSecret})
				req, _ := http.NewRequest("POST", p.base+"/webhooks/stripe", bytes.NewReader(payload))
				req.Header.Set("Stripe-Signature", signed.Header)
				res, err := c.Do(req)
				if err != nil {
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == 200 {
					ackedEvents.Store(fmt.Sprintf("evt_proof_%d", i), true)
					acks.Add(1)
				}
			}
		})
	}
	wg.Wait()
	<-killed
	<-p.done
	p.cmd.Wait()

	// Restart on the same database: it must come up, and hold every acknowledged write.
	p2 := startBinary(t, bin, dir)
	if res, err := http.Get(p2.base + "/readyz"); err != nil || res.StatusCode != 200 {
		t.Fatalf("not ready after the crash: %v %v", res, err)
	}
	p2.cmd.Process.Signal(syscall.SIGTERM)
	<-p2.done
	p2.cmd.Wait()

	ctx := context.Background()
	if err := db.IntegrityCheck(ctx, filepath.Join(dir, "data", "skiff.db")); err != nil {
		t.Fatal(err)
	}
	conn, err := sql.Open("sqlite", db.DSN(filepath.Join(dir, "data", "skiff.db")))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var users, events int
	missing := 0
	ackedUsers.Range(func(k, _ any) bool {
		users++
		var n int
		conn.QueryRow(`SELECT count(*) FROM users WHERE email = ?`, k).Scan(&n)
		if n != 1 {
			missing++
		}
		return true
	})
	ackedEvents.Range(func(k, _ any) bool {
		events++
		var n int
		conn.QueryRow(`SELECT count(*) FROM stripe_events WHERE id = ?`, k).Scan(&n)
		if n != 1 {
			missing++
		}
		return true
	})
	if missing > 0 {
		t.Fatalf("%d acknowledged writes lost (of %d users and %d events acknowledged)", missing, users, events)
	}
	var dupes int
	conn.QueryRow(`SELECT count(*) FROM (SELECT id FROM stripe_events GROUP BY id HAVING count(*) > 1)`).Scan(&dupes)
	if dupes != 0 {
		t.Fatalf("%d events processed twice", dupes)
	}
	if users < 100 || events < 100 {
		t.Fatalf("only %d users and %d events acknowledged before the kill: the test did not test much", users, events)
	}
	t.Logf("killed after %d signups and %d events were acknowledged; all present", users, events)
}

// TestSIGTERMFinishesRequestsInFlight starts 100 slow requests (their bodies
// trickle in), sends SIGTERM while they are in flight, and expects every one
// to complete before a clean exit.
func TestSIGTERMFinishesRequestsInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	p := startBinary(t, bin, dir)
	c := noRedirects()
	// A logged-in Pro user whose project creations will be slow.
	code, err := postForm(c, p.base+"/signup", url.Values{"email": {"slow@example.com"}, "password": {"a slow but sure password"}}, "10.9.9.9")
	if err != nil || code != 303 {
		t.Fatalf("signup: %d %v", code, err)
	}
	makePro(t, dir, "slow@example.com")
	jar := loginCookie(t, p.base)

	var wg sync.WaitGroup
	var ok atomic.Int64
	started := make(chan struct{}, 100)
	for i := range 100 {
		wg.Go(func() {
			pr, pw := io.Pipe()
			req, _ := http.NewRequest("POST", p.base+"/projects", pr)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(jar)
			go func() {
				started <- struct{}{}
				body := fmt.Sprintf("name=slow+project+%d", i)
				for j := range body {
					pw.Write([]byte{body[j]})
					time.Sleep(60 * time.Millisecond)
				}
				pw.Close()
			}()
			res, err := c.Do(req)
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			res.Body.Close()
			if res.StatusCode == 303 {
				ok.Add(1)
			} else {
				t.Errorf("request %d: status %d", i, res.StatusCode)
			}
		})
	}
	for range 100 {
		<-started
	}
	time.Sleep(200 * time.Millisecond)
	p.cmd.Process.Signal(syscall.SIGTERM)
	wg.Wait()
	exited := make(chan error, 1)
	go func() { <-p.done; exited <- p.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, p.log())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	if ok.Load() != 100 {
		t.Fatalf("%d of 100 requests in flight completed", ok.Load())
	}
	if !strings.Contains(p.log(), "stopped") {
		t.Fatalf("no clean shutdown:\n%s", p.log())
	}
}

func loginCookie(t *testing.T, base string) *http.Cookie {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/login", strings.NewReader("email=slow%40example.com&password=a+slow+but+sure+password"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", "10.9.9.8")
	res, err := noRedirects().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for _, ck := range res.Cookies() {
		if ck.Name == "session" {
			return ck
		}
	}
	t.Fatalf("no session cookie (status %d)", res.StatusCode)
	return nil
}

// TestManyWritersNoBusy runs 200 concurrent writers for 30 seconds against
// the real binary: no request may fail, none may log SQLITE_BUSY.
func TestManyWritersNoBusy(t *testing.T) {
	if testing.Short() {
		t.Skip("30 seconds")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	p := startBinary(t, bin, dir)
	c := noRedirects()
	if code, err := postForm(c, p.base+"/signup", url.Values{"email": {"slow@example.com"}, "password": {"a slow but sure password"}}, "10.9.9.9"); err != nil || code != 303 {
		t.Fatalf("signup: %d %v", code, err)
	}
	makePro(t, dir, "slow@example.com")
	ck := loginCookie(t, p.base)
	deadline := time.Now().Add(30 * time.Second)
	var wg sync.WaitGroup
	var writes, failures atomic.Int64
	var n atomic.Int64
	for w := range 200 {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				var req *http.Request
				if w%2 == 0 {
					req, _ = http.NewRequest("POST", p.base+"/projects", strings.NewReader(fmt.Sprintf("name=w%d", n.Add(1))))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.AddCookie(ck)
				} else {
					payload := proofEvent(int(n.Add(1)))
					signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: proofWebhookSecret})
					req, _ = http.NewRequest("POST", p.base+"/webhooks/stripe", bytes.NewReader(payload))
					req.Header.Set("Stripe-Signature", signed.Header)
				}
				res, err := c.Do(req)
				if err != nil {
					failures.Add(1)
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 303 && res.StatusCode != 200 {
					failures.Add(1)
				} else {
					writes.Add(1)
				}
			}
		})
	}
	wg.Wait()
	logs := p.log()
	for _, bad := range []string{"SQLITE_BUSY", "database is locked"} {
		if strings.Contains(logs, bad) {
			t.Fatalf("%q in the logs", bad)
		}
	}
	if failures.Load() != 0 {
		t.Fatalf("%d failed writes of %d", failures.Load(), writes.Load()+failures.Load())
	}
	t.Logf("%d writes by 200 writers in 30 s, none failed", writes.Load())
}

// makePro gives the user an active Pro subscription (no project limit),
// writing to the database beside the running server.
func makePro(t *testing.T, dir, email string) {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, filepath.Join(dir, "data", "skiff.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	u, err := d.UserByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	team, err := d.PersonalScope(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	d.SaveCustomer(ctx, team.TeamID(), "cus_proof")
	if _, err := d.ApplySubscription(ctx, db.Subscription{ID: "sub_proof", TeamID: team.TeamID(), CustomerID: "cus_proof",
		PriceID: "price_pro", Plan: "pro", Status: "active", Version: time.Now().Unix()}); err != nil {
		t.Fatal(err)
	}
}
