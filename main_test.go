package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildBinary builds skiff as `make build` does: static, trimmed.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "skiff")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-X skiff/app.Version=v0.0.0-test", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// cleanEnv is an environment without any Skiff setting from the developer's shell.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		key, _, _ := strings.Cut(kv, "=")
		switch key {
		case "ADDR", "BASE_URL", "DATABASE_PATH", "DATABASE_URL", "SMTP_URL", "APP_ENV", "TRUST_PROXY_HEADERS", "LOG_LEVEL", "PPROF_ADDR":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// TestBinaryRunsAlone copies nothing but the binary into an empty folder and
// checks that it migrates, serves its pages and CSS, and stops cleanly.
func TestBinaryRunsAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	if runtime.GOOS == "linux" {
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		if f.Section(".interp") != nil {
			t.Fatal("binary is dynamically linked; want a static CGO_ENABLED=0 build")
		}
		f.Close()
	}
	dir := t.TempDir()
	run := func(args []string, env ...string) (string, string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = cleanEnv(env...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}

	t.Run("version", func(t *testing.T) {
		out, _, err := run([]string{"version"})
		if err != nil || strings.TrimSpace(out) != "skiff v0.0.0-test" {
			t.Fatalf("version: %q, %v", out, err)
		}
	})
	t.Run("bad configuration stops start-up with one line naming the key", func(t *testing.T) {
		_, stderr, err := run(nil, "APP_ENV=production", "BASE_URL=http://example.com")
		if err == nil {
			t.Fatal("started with an http BASE_URL in production")
		}
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], "BASE_URL") {
			t.Fatalf("stderr: %q", stderr)
		}
	})
	t.Run("unknown command", func(t *testing.T) {
		if _, _, err := run([]string{"frobnicate"}); err == nil {
			t.Fatal("unknown command accepted")
		}
	})
	t.Run("migrate", func(t *testing.T) {
		out, stderr, err := run([]string{"migrate"})
		if err != nil || out != "" || !strings.Contains(stderr, "database is up to date") {
			t.Fatalf("migrate: stdout %q, stderr %q, %v", out, stderr, err)
		}
		// In production every line is a JSON log record, as the server's are:
		// under systemd both go to one journal.
		_, stderr, err = run([]string{"migrate"}, "APP_ENV=production", "BASE_URL=https://example.com", "SMTP_URL=smtp://127.0.0.1:9")
		for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
			if err != nil || !json.Valid([]byte(line)) {
				t.Fatalf("migrate in production: %v, a line that is not JSON: %q", err, line)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "data", "skiff.db")); err != nil {
			t.Fatal("data/skiff.db not created:", err)
		}
	})

	t.Run("serve", func(t *testing.T) {
		cmd := exec.Command(bin) // "serve" is the default
		cmd.Dir = dir
		cmd.Env = cleanEnv("ADDR=127.0.0.1:0", "PPROF_ADDR=127.0.0.1:0")
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		logs := bufio.NewScanner(stderr)
		var addr, pprofAddr string
		addrRE := regexp.MustCompile(`addr=(\S+)`)
		for logs.Scan() {
			m := addrRE.FindStringSubmatch(logs.Text())
			if m != nil && strings.Contains(logs.Text(), "profiler listening") {
				pprofAddr = m[1]
			}
			if m != nil && strings.Contains(logs.Text(), "ready") {
				addr = m[1]
				break
			}
		}
		if addr == "" {
			t.Fatal("server never said it was ready")
		}
		var rest bytes.Buffer
		done := make(chan struct{})
		go func() { io.Copy(&rest, stderr); close(done) }()

		base := "http://" + addr
		page := get(t, base+"/")
		css := regexp.MustCompile(`href="(/static/app\.[0-9a-f]+\.css)"`).FindStringSubmatch(page)
		if css == nil {
			t.Fatalf("no stylesheet link in the landing page:\n%s", page)
		}
		res, err := http.Get(base + css[1])
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") ||
			!strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
			t.Fatalf("stylesheet: %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"))
		}

		if res, err := http.Get(base + "/readyz"); err != nil || res.StatusCode != 200 {
			t.Fatalf("readyz: %v %v", res, err)
		}
		// PPROF_ADDR: the profiler answers on its own address, never on the site's.
		if pprofAddr == "" {
			t.Fatal("no profiler address in the log")
		}
		if !strings.Contains(get(t, "http://"+pprofAddr+"/debug/pprof/"), "goroutine") {
			t.Fatal("the profiler's index does not list profiles")
		}
		if res, err := http.Get(base + "/debug/pprof/"); err != nil || res.StatusCode != 404 {
			t.Fatalf("the site serves the profiler: %v %v", res, err)
		}
		// A consistent backup while serving; no restore and no second server meanwhile.
		if out, _, err := run([]string{"backup", "snap.db"}); err != nil || !strings.Contains(out, "integrity check ok") {
			t.Fatalf("backup while serving: %q %v", out, err)
		}
		if _, stderr, err := run([]string{"restore", "snap.db"}); err == nil || !strings.Contains(stderr, "stop it first") {
			t.Fatalf("restore while serving: %q %v", stderr, err)
		}
		if _, stderr, err := run(nil, "ADDR=127.0.0.1:0"); err == nil || !strings.Contains(stderr, "already serving") {
			t.Fatalf("second server on the same database: %q %v", stderr, err)
		}

		// SIGTERM: a clean, prompt exit.
		cmd.Process.Signal(syscall.SIGTERM)
		exited := make(chan error, 1)
		go func() { <-done; exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("exit after SIGTERM: %v\n%s", err, rest.String())
			}
		case <-time.After(15 * time.Second):
			t.Fatal("no exit within 15s of SIGTERM")
		}
		if !strings.Contains(rest.String(), "stopped") {
			t.Fatalf("no clean shutdown in the log:\n%s", rest.String())
		}
		if out, stderr, err := run([]string{"restore", "snap.db"}); err != nil || !strings.Contains(out, "restored") {
			t.Fatalf("restore with the server stopped: %q %q %v", out, stderr, err)
		}
		if _, _, err := run([]string{"backup", "snap.db"}); err == nil {
			t.Fatal("backup overwrote an existing file")
		}
	})
}

func get(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, res.StatusCode)
	}
	return string(b)
}
