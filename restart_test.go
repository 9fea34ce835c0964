package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Restarts as the deploy files do them (deploy/skiff.socket, skiff.service and
// the Caddyfile), under a steady stream of requests: none may fail.

// skiffProcess is one run of `skiff serve`, with its log.
type skiffProcess struct {
	cmd  *exec.Cmd
	logs *lockedBuffer
	done chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startSkiff starts `skiff serve` in dir and waits for its "ready" line. With
// a socket, it is started the way systemd starts it with skiff.socket: the
// listening socket becomes file descriptor 3, LISTEN_FDS=1, and LISTEN_PID is
// the new process's own pid (sh's $$, which exec keeps).
func startSkiff(t *testing.T, bin, dir string, socket *os.File, env ...string) *skiffProcess {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	if socket != nil {
		cmd = exec.Command("sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" serve`, bin)
		cmd.ExtraFiles = []*os.File{socket}
	}
	cmd.Dir = dir
	cmd.Env = cleanEnv(append([]string{"LOG_LEVEL=info"}, env...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &skiffProcess{cmd: cmd, logs: &lockedBuffer{}, done: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			fmt.Fprintln(p.logs, sc.Text())
			if strings.Contains(sc.Text(), "skiff is ready") {
				once.Do(func() { close(ready) })
			}
		}
		cmd.Wait()
		close(p.done)
	}()
	select {
	case <-ready:
	case <-p.done:
		t.Fatalf("skiff exited before it was ready:\n%s", p.logs)
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("skiff not ready after 20 s:\n%s", p.logs)
	}
	t.Cleanup(func() { cmd.Process.Kill(); <-p.done })
	return p
}

// stop is systemd's stop: SIGTERM, then wait for the exit.
func (p *skiffProcess) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit 30 s after SIGTERM:\n%s", p.logs)
	}
	if !strings.Contains(p.logs.String(), `"stopped"`) && !strings.Contains(p.logs.String(), "msg=stopped") {
		t.Fatalf("no clean stop:\n%s", p.logs)
	}
}

// requestLoop sends requests from several clients until stop is closed: pages,
// the readiness probe, and a write (a project renamed) by a logged-in user.
// Every answer must be the expected one; a refused connection, a reset, a
// timeout or a 5xx is a failure.
type requestLoop struct {
	base     string
	noBodies bool // only requests without a body (see the third setup)
	healthz  bool // probe /healthz, not /readyz (which a draining instance answers 503)
	cookie   *http.Cookie
	project  string // the project's path, /t/{team}/projects/{id}
	client   *http.Client
	sent     atomic.Int64
	failures chan string
	spans    [][2]time.Time // when each request started and ended, for the restart gaps
	mu       sync.Mutex
}

func (l *requestLoop) run(stop <-chan struct{}, clients int) *sync.WaitGroup {
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				l.sent.Add(1)
				start := time.Now()
				if err := l.one(c, i); err != nil {
					select {
					case l.failures <- err.Error():
					default:
					}
				}
				l.mu.Lock()
				l.spans = append(l.spans, [2]time.Time{start, time.Now()})
				l.mu.Unlock()
			}
		})
	}
	return &wg
}

func (l *requestLoop) one(client, i int) error {
	var req *http.Request
	want := http.StatusOK
	switch i % 4 {
	case 0:
		req, _ = http.NewRequest("GET", l.base+"/", nil)
	case 1:
		probe := "/readyz"
		if l.healthz {
			probe = "/healthz"
		}
		req, _ = http.NewRequest("GET", l.base+probe, nil)
	case 2:
		req, _ = http.NewRequest("GET", l.base+"/projects", nil)
		req.AddCookie(l.cookie)
	case 3:
		if l.noBodies {
			req, _ = http.NewRequest("GET", l.base+l.project, nil)
			req.AddCookie(l.cookie)
			break
		}
		form := url.Values{"name": {fmt.Sprintf("renamed by client %d, request %d", client, i)}}
		req, _ = http.NewRequest("POST", l.base+l.project+"/rename", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(l.cookie)
		want = http.StatusSeeOther
	}
	res, err := l.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != want {
		return fmt.Errorf("%s %s: %d, want %d", req.Method, req.URL.Path, res.StatusCode, want)
	}
	return nil
}

// inGaps counts the requests that were waiting for an answer while no skiff
// process was running.
func (l *requestLoop) inGaps(gaps [][2]time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, span := range l.spans {
		for _, g := range gaps {
			if span[0].Before(g[1]) && span[1].After(g[0]) {
				n++
			}
		}
	}
	return n
}

// TestRestartLosesNoRequest restarts the real binary three times, as
// `systemctl restart skiff` does (SIGTERM, wait for the exit, `skiff migrate`,
// start), while eight clients send requests in a loop. Each setup the README
// documents must answer every request:
//   - skiff.socket: systemd holds the port, so connections wait in the
//     kernel's queue while no process runs;
//   - the same behind Caddy with the shipped Caddyfile's reverse_proxy block;
//   - Caddy in front of a skiff that listens on ADDR itself (no socket
//     activation, as with Docker): Caddy retries the refused connection
//     (lb_try_duration). Only for requests without a body: Caddy up to
//     2.11.1 sends a retried request's body empty (caddyserver/caddy#7546),
//     which is why the deploy files use skiff.socket.
func TestRestartLosesNoRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary")
	}
	bin := buildBinary(t)

	t.Run("skiff.socket", func(t *testing.T) {
		socket, addr := systemdSocket(t)
		restartUnderLoad(t, bin, "http://"+addr, false, func(dir string, env ...string) *skiffProcess {
			return startSkiff(t, bin, dir, socket, env...)
		})
	})
	t.Run("skiff.socket behind Caddy", func(t *testing.T) {
		caddy := caddyBinary(t)
		socket, addr := systemdSocket(t)
		front := startCaddy(t, caddy, caddyfileProxy(t, addr))
		restartUnderLoad(t, bin, front, false, func(dir string, env ...string) *skiffProcess {
			return startSkiff(t, bin, dir, socket, env...)
		})
	})
	t.Run("Caddy retrying, no socket activation", func(t *testing.T) {
		caddy := caddyBinary(t)
		addr := freeAddr(t)
		front := startCaddy(t, caddy, caddyfileProxy(t, addr))
		restartUnderLoad(t, bin, front, true, func(dir string, env ...string) *skiffProcess {
			return startSkiff(t, bin, dir, nil, append(env, "ADDR="+addr)...)
		})
	})
}

// systemdSocket opens a listening socket as skiff.socket makes systemd do,
// and returns it as the file handed to each skiff process.
func systemdSocket(t *testing.T) (*os.File, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	ln.Close() // f is a copy of the socket: it stays open
	t.Cleanup(func() { f.Close() })
	return f, ln.Addr().String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// restartUnderLoad signs a user up, starts the request loop against base and
// restarts skiff three times under it.
func restartUnderLoad(t *testing.T, bin, base string, noBodies bool, start func(dir string, env ...string) *skiffProcess) {
	dir := t.TempDir()
	env := []string{"TRUST_PROXY_HEADERS=true"}
	p := start(dir, env...)

	loop := newRequestLoop(t, base, noBodies)
	stop := make(chan struct{})
	wg := loop.run(stop, 8)
	var gaps [][2]time.Time
	for range 3 {
		time.Sleep(300 * time.Millisecond)
		p.stop(t)
		down := time.Now()
		if out, err := runSkiff(bin, dir, "migrate"); err != nil { // ExecStartPre
			t.Fatalf("migrate: %v\n%s", err, out)
		}
		p = start(dir, env...)
		gaps = append(gaps, [2]time.Time{down, time.Now()})
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	close(loop.failures)

	var failed []string
	for f := range loop.failures {
		failed = append(failed, f)
	}
	waited := loop.inGaps(gaps)
	t.Logf("%d requests, %d of them waiting while no skiff process ran, %d failed", loop.sent.Load(), waited, len(failed))
	if len(failed) > 0 {
		t.Fatalf("%d requests failed across 3 restarts, first: %s\nlast process's log:\n%s", len(failed), strings.Join(failed[:min(5, len(failed))], "\n"), p.logs)
	}
	if waited == 0 {
		t.Fatal("no request was sent while skiff was down: the test proved nothing")
	}
}

// newRequestLoop signs a user up through base, logs in, makes a project and
// returns a loop that uses them.
func newRequestLoop(t *testing.T, base string, noBodies bool) *requestLoop {
	t.Helper()
	c := noRedirects()
	code, err := postForm(c, base+"/signup", url.Values{"email": {"slow@example.com"}, "password": {"a slow but sure password"}}, "10.9.9.9")
	if err != nil || code != http.StatusSeeOther {
		t.Fatalf("signup: %d %v", code, err)
	}
	cookie := loginCookie(t, base)
	req, _ := http.NewRequest("POST", base+"/projects", strings.NewReader("name=first"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(cookie)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	project := regexp.MustCompile(`^/t/\d+/projects/\d+$`).FindString(res.Header.Get("Location"))
	if project == "" {
		t.Fatalf("project creation: %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}

	loop := &requestLoop{base: base, noBodies: noBodies, cookie: cookie, project: project, failures: make(chan string, 100),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConnsPerHost: 16, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	return loop
}
