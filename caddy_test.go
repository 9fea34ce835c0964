package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"skiff/db/dbtest"
	"strings"
	"testing"
	"time"
)

// TestShippedCaddyfile runs deploy/Caddyfile as it is, but for the domain
// (localhost, with Caddy's own local certificate authority), the ports and a
// shorter retry, in front of a skiff on a socket as skiff.socket provides it:
// the site is served over HTTPS with Skiff's headers, and neither Caddy's
// redirect to https nor its own error page names Caddy.
func TestShippedCaddyfile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary")
	}
	caddy := caddyBinary(t)
	bin := buildBinary(t)
	socket, upstream := systemdSocket(t)
	httpAddr, httpsAddr := freeAddr(t), freeAddr(t)
	_, httpPort, _ := net.SplitHostPort(httpAddr)
	_, httpsPort, _ := net.SplitHostPort(httpsAddr)
	text := shippedCaddyfile(t, upstream)
	if !strings.Contains(text, "lb_try_duration 10s") {
		t.Fatal("deploy/Caddyfile no longer retries for 10 s")
	}
	// 1 s instead of 10 before the 502 of a skiff that never comes back.
	text = strings.Replace(text, "lb_try_duration 10s", "lb_try_duration 1s", 1)
	text = strings.ReplaceAll(text, "app.example.com", "localhost")
	global := fmt.Sprintf("{\n\tadmin off\n\thttp_port %s\n\thttps_port %s\n\tlocal_certs\n\tskip_install_trust\n}\n", httpPort, httpsPort)
	startCaddy(t, caddy, caddySite{global + text, "http://127.0.0.1:" + httpsPort})

	p := startSkiff(t, bin, t.TempDir(), socket, "TRUST_PROXY_HEADERS=true", "BASE_URL=https://localhost:"+httpsPort)
	client := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"},
			// Every request goes to 127.0.0.1 whatever the URL's host says.
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				_, port, _ := net.SplitHostPort(addr)
				return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+port)
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	get := func(url string) (*http.Response, string) {
		t.Helper()
		res, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}
	noServer := func(what string, res *http.Response) {
		t.Helper()
		if v := res.Header.Get("Server"); v != "" {
			t.Errorf("%s: Server: %s", what, v)
		}
	}

	res, _ := get("http://localhost:" + httpPort + "/login?next=%2Fprojects")
	if res.StatusCode != http.StatusPermanentRedirect || res.Header.Get("Location") != "https://localhost/login?next=%2Fprojects" {
		t.Errorf("http://: %d to %q, want 308 to the same URL over https", res.StatusCode, res.Header.Get("Location"))
	}
	noServer("the redirect to https", res)

	res, body := get("https://localhost:" + httpsPort + "/login")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Log in") {
		t.Errorf("https: %d\n%s", res.StatusCode, body)
	}
	if res.Header.Get("Content-Security-Policy") == "" || res.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("Skiff's security headers did not come through Caddy: %v", res.Header)
	}
	noServer("a page", res)

	// Skiff gone for good, its socket closed: Caddy's own 502.
	p.stop(t)
	socket.Close()
	res, body = get("https://localhost:" + httpsPort + "/login")
	if res.StatusCode != http.StatusBadGateway || strings.TrimSpace(body) != "502 Bad Gateway" {
		t.Errorf("upstream gone: %d %q, want 502 Bad Gateway", res.StatusCode, body)
	}
	noServer("Caddy's error page", res)

	// deploy/Caddyfile.instances is valid for this Caddy too (it runs in
	// TestCaddyfileForSeveralInstances, with PostgreSQL).
	if out, err := exec.Command(caddy, "adapt", "--adapter", "caddyfile", "--config", filepath.Join("deploy", "Caddyfile.instances")).CombinedOutput(); err != nil {
		t.Errorf("deploy/Caddyfile.instances does not adapt: %v\n%s", err, out)
	}
}

// caddyBinary finds Caddy (Debian's caddy package), or skips the test:
// SKIFF_CADDY=required (CI) makes its absence a failure.
func caddyBinary(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("caddy")
	if err != nil {
		if os.Getenv("SKIFF_CADDY") == "required" {
			t.Fatal("caddy not found and SKIFF_CADDY=required")
		}
		t.Skip("caddy not installed (apt install caddy); SKIFF_CADDY=required makes this a failure")
	}
	return path
}

// shippedCaddyfile is deploy/Caddyfile with the upstream replaced by addr.
func shippedCaddyfile(t *testing.T, upstream string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("deploy", "Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if !strings.Contains(text, "reverse_proxy 127.0.0.1:8080 {") {
		t.Fatal("deploy/Caddyfile no longer proxies to 127.0.0.1:8080 (skiff.socket's address)")
	}
	return strings.ReplaceAll(text, "127.0.0.1:8080", upstream)
}

// caddyfileProxy is a plain-http site on a free port whose reverse_proxy block
// is the shipped one, word for word (upstream aside). It returns the
// Caddyfile and the site's address.
func caddyfileProxy(t *testing.T, upstream string) caddySite {
	t.Helper()
	block := regexp.MustCompile(`(?ms)^\treverse_proxy .*?^\t}$`).FindString(shippedCaddyfile(t, upstream))
	if block == "" {
		t.Fatal("no reverse_proxy block in deploy/Caddyfile")
	}
	addr := freeAddr(t)
	return caddySite{fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n}\nhttp://%s {\n%s\n}\n", addr, block), "http://" + addr}
}

// caddySite is a Caddyfile and the address of the site it serves.
type caddySite struct{ caddyfile, url string }

// startCaddy runs `caddy run` on the site's Caddyfile in a folder of its own
// and waits until it listens. It returns the site's address.
func startCaddy(t *testing.T, caddy string, site caddySite) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(site.caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(caddy, "run", "--adapter", "caddyfile", "--config", path)
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("caddy's log:\n%s", logs)
		}
	})
	host := strings.TrimPrefix(strings.TrimPrefix(site.url, "http://"), "https://")
	for deadline := time.Now().Add(20 * time.Second); ; {
		if c, err := net.Dial("tcp", host); err == nil {
			c.Close()
			return site.url
		}
		select {
		case <-exited:
			t.Fatalf("caddy exited:\n%s", logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("caddy does not listen on %s:\n%s", host, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCaddyfileForSeveralInstances runs deploy/Caddyfile.instances' proxy
// block, word for word but for the addresses, in front of two skiff
// instances on one Postgres database, and restarts each instance in turn
// (SIGTERM, then a new process on the same address) twice while eight
// clients load pages, post forms and rename a project through Caddy: every
// request is answered. This is the README's rolling restart.
func TestCaddyfileForSeveralInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary")
	}
	caddy := caddyBinary(t)
	if !dbtest.Postgres() {
		t.Skip("needs PostgreSQL (make test-postgres)")
	}
	bin := buildBinary(t)
	target := dbtest.NewPostgres(t)
	addrs := []string{freeAddr(t), freeAddr(t)}
	b, err := os.ReadFile(filepath.Join("deploy", "Caddyfile.instances"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{"reverse_proxy 10.0.0.11:8080 10.0.0.12:8080 {", "health_uri /readyz"} {
		if !strings.Contains(text, want) {
			t.Fatalf("deploy/Caddyfile.instances lacks %q", want)
		}
	}
	text = strings.Replace(text, "10.0.0.11:8080 10.0.0.12:8080", addrs[0]+" "+addrs[1], 1)
	block := regexp.MustCompile(`(?ms)^\treverse_proxy .*?^\t}$`).FindString(text)
	site := freeAddr(t)
	base := startCaddy(t, caddy, caddySite{fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n}\nhttp://%s {\n%s\n}\n", site, block), "http://" + site})

	env := func(i int) []string {
		return []string{"ADDR=" + addrs[i], "DATABASE_URL=" + target, "TRUST_PROXY_HEADERS=true", "BASE_URL=" + base}
	}
	var procs [2]*skiffProcess
	for i := range procs {
		procs[i] = startSkiff(t, bin, t.TempDir(), nil, env(i)...)
	}
	// Both in the rotation: Caddy's first checks have passed.
	time.Sleep(1500 * time.Millisecond)
	loop := newRequestLoop(t, base, false)
	loop.healthz = true // a stopping instance's /readyz answers 503, as it must
	stop := make(chan struct{})
	wg := loop.run(stop, 8)
	for range 2 {
		for i := range procs {
			time.Sleep(500 * time.Millisecond)
			procs[i].stop(t) // drains: /readyz 503 for 3 s, then the listener closes
			procs[i] = startSkiff(t, bin, t.TempDir(), nil, env(i)...)
			time.Sleep(1500 * time.Millisecond) // Caddy's next check puts it back
		}
	}
	close(stop)
	wg.Wait()
	close(loop.failures)
	var failed []string
	for f := range loop.failures {
		failed = append(failed, f)
	}
	t.Logf("%d requests through Caddy across 4 restarts, %d failed", loop.sent.Load(), len(failed))
	if len(failed) > 0 {
		t.Fatalf("%d requests failed, first: %s", len(failed), strings.Join(failed[:min(5, len(failed))], "\n"))
	}
	if loop.sent.Load() < 100 {
		t.Fatalf("only %d requests: the test proved little", loop.sent.Load())
	}
}
