package main

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"skiff/db"
)

// TestLitestreamReplicaRestores replicates the running server's database to
// a local file replica with Litestream, restores the replica elsewhere, and
// finds every committed signup. CI installs Litestream from the Go module
// proxy; elsewhere the test skips without it unless SKIFF_LITESTREAM=required.
func TestLitestreamReplicaRestores(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary and Litestream")
	}
	ls, err := exec.LookPath("litestream")
	if err != nil {
		if os.Getenv("SKIFF_LITESTREAM") == "required" {
			t.Fatal("SKIFF_LITESTREAM=required but litestream is not on PATH")
		}
		t.Skip("litestream not found (go install github.com/benbjohnson/litestream/cmd/litestream@v0.5.18)")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	p := startBinary(t, bin, dir)
	dbPath := filepath.Join(dir, "data", "skiff.db")
	replica := filepath.Join(dir, "replica")
	cfg := filepath.Join(dir, "litestream.yml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("dbs:\n  - path: %s\n    replicas:\n      - type: file\n        path: %s\n        sync-interval: 100ms\n", dbPath, replica)), 0o600)

	rep := exec.Command(ls, "replicate", "-config", cfg)
	rep.Stdout, rep.Stderr = os.Stderr, os.Stderr
	if err := rep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rep.Process.Kill(); rep.Wait() })

	c := noRedirects()
	var emails []string
	for i := range 40 {
		email := fmt.Sprintf("ls%d@example.com", i)
		code, err := postForm(c, p.base+"/signup", url.Values{"email": {email}, "password": {"litestream proof password"}}, fmt.Sprintf("10.7.0.%d", i))
		if err != nil || code != 303 {
			t.Fatalf("signup %d: %d %v", i, code, err)
		}
		emails = append(emails, email)
		if i == 20 {
			time.Sleep(500 * time.Millisecond) // some writes replicate while others are still coming
		}
	}
	time.Sleep(2 * time.Second)
	rep.Process.Signal(syscall.SIGTERM) // a final sync on the way out
	rep.Wait()

	restored := filepath.Join(t.TempDir(), "restored.db")
	out, err := exec.Command(ls, "restore", "-config", cfg, "-o", restored, dbPath).CombinedOutput()
	if err != nil {
		t.Fatalf("litestream restore: %v\n%s", err, out)
	}
	if err := db.IntegrityCheck(t.Context(), restored); err != nil {
		t.Fatal(err)
	}
	conn, err := sql.Open("sqlite", "file:"+restored+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, e := range emails {
		var n int
		conn.QueryRow(`SELECT count(*) FROM users WHERE email = ?`, e).Scan(&n)
		if n != 1 {
			t.Fatalf("%s missing from the restored replica", e)
		}
	}
}
