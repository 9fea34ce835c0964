package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"skiff/db"
)

// TestRestoreAfterKill9KeepsEveryAcknowledgedWrite serves, takes a backup,
// gets more signups acknowledged (303), kills the server with SIGKILL (its
// latest commits are then only in the -wal) and runs `skiff restore` of the
// older backup. The copy restore keeps, skiff.db.before-restore, copied
// alone into an empty folder, must hold every acknowledged signup, pass the
// integrity check and be 0600.
func TestRestoreAfterKill9KeepsEveryAcknowledgedWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "data", "skiff.db")
	p := startBinary(t, bin, dir)
	c := noRedirects()

	var mu sync.Mutex
	var acked []string
	signups := func(from, to int) {
		var wg sync.WaitGroup
		sem := make(chan struct{}, 4)
		for i := from; i < to; i++ {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				email := fmt.Sprintf("r%d@example.com", i)
				code, err := postForm(c, p.base+"/signup", url.Values{"email": {email}, "password": {"restore proof password"}},
					fmt.Sprintf("10.2.%d.%d", i/256, i%256))
				if err == nil && code == 303 {
					mu.Lock()
					acked = append(acked, email)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}

	signups(0, 10)
	backup := filepath.Join(dir, "backups", "older.db")
	if out, err := runSkiff(bin, dir, "backup", backup); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	signups(10, 40)
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	p.cmd.Wait()
	if len(acked) < 30 {
		t.Fatalf("only %d of 40 signups acknowledged: the test did not test much\n%s", len(acked), p.log())
	}
	// The point of the test: commits that only the -wal holds.
	if info, err := os.Stat(dbPath + "-wal"); err != nil || info.Size() == 0 {
		t.Fatalf("no -wal after the kill (%v): nothing left to lose, the test proves nothing", err)
	}

	if out, err := runSkiff(bin, dir, "restore", backup); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}

	kept := dbPath + ".before-restore"
	info, err := os.Stat(kept)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("%s is %#o, want 0600", kept, info.Mode().Perm())
	}
	// "On its own": the file alone, as an operator would copy it away.
	alone := filepath.Join(t.TempDir(), "kept.db")
	b, err := os.ReadFile(kept)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(alone, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := db.IntegrityCheck(ctx, alone); err != nil {
		t.Fatal(err)
	}
	missing := missingUsers(t, alone, acked)
	if len(missing) > 0 {
		t.Fatalf("the kept copy lost %d of %d acknowledged signups, e.g. %v", len(missing), len(acked), missing[:min(3, len(missing))])
	}
	// And the restore itself put the older backup back.
	if n := len(acked) - len(missingUsers(t, dbPath, acked)); n > 10 {
		t.Fatalf("the restored database holds %d of the signups; the backup had at most 10", n)
	}
	t.Logf("%d acknowledged signups, all in %s on its own", len(acked), filepath.Base(kept))
}

// runSkiff runs one command of the binary in dir, as an operator would.
func runSkiff(bin, dir string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// missingUsers returns the emails among want that have no row in the
// database file at path, opened read-only. A file without a users table
// (its migrations lost too) misses them all.
func missingUsers(t *testing.T, path string, want []string) []string {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var missing []string
	for _, email := range want {
		var n int
		if err := conn.QueryRow(`SELECT count(*) FROM users WHERE email = ?`, email).Scan(&n); err != nil {
			t.Logf("%s: %v", filepath.Base(path), err)
			return want
		}
		if n != 1 {
			missing = append(missing, email)
		}
	}
	return missing
}
