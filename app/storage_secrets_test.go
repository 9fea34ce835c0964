package app

import (
	"bytes"
	"context"
	"database/sql"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"skiff/db"
)

// Rule 7 of issue 12: no usable secret at rest beyond what must be there.
// Rule 8: the development mailbox shows mail only where nobody else can read it.

// runCmd runs the skiff command line (as main does) on the database at
// dbPath, in development with the dev mailbox.
func runCmd(t *testing.T, dbPath string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	env := map[string]string{"DATABASE_PATH": dbPath, "APP_ENV": "development"}
	var out, errOut bytes.Buffer
	err = Run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), errOut.String(), err
}

// wantMode checks the permission bits of path.
func wantMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("%s: mode %#o, want %#o", filepath.Base(path), got, want)
	}
}

// TestOtherLocalUsersCannotReadTheDatabase: another account on the machine
// (a compromised service, a shared host) can read none of the files that
// hold password hashes, TOTP secrets, sessions and pending mail, even when
// the process runs with a permissive umask.
func TestOtherLocalUsersCannotReadTheDatabase(t *testing.T) {
	old := syscall.Umask(0) // the worst case: files would be 0644 and folders 0755
	t.Cleanup(func() { syscall.Umask(old) })
	ctx := context.Background()

	dataDir := filepath.Join(t.TempDir(), "data") // missing: Skiff creates it
	dbPath := filepath.Join(dataDir, "skiff.db")
	backupDir := filepath.Join(t.TempDir(), "backups")
	ts := newTestServer(t, withDB(dbPath), func(c *Config) { c.BackupDir = backupDir })

	// Real writes through HTTP, so the -wal and -shm exist and hold data.
	ada := ts.newClient()
	ada.signup("ada@example.com")
	wantStatus(t, ada.post("/projects", url.Values{"name": {"Moon"}}), http.StatusSeeOther)
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(dbPath + suffix); err != nil {
			t.Fatalf("want a %s file while the server runs: %v", suffix, err)
		}
	}
	wantMode(t, dataDir, 0o700)
	wantMode(t, dbPath, 0o600)
	wantMode(t, dbPath+"-wal", 0o600)
	wantMode(t, dbPath+"-shm", 0o600)

	t.Run("skiff backup", func(t *testing.T) {
		snapDir := filepath.Join(t.TempDir(), "snapshots") // missing: created
		snap := filepath.Join(snapDir, "skiff.db")
		if _, stderr, err := runCmd(t, dbPath, "backup", snap); err != nil {
			t.Fatalf("skiff backup: %v\n%s", err, stderr)
		}
		wantMode(t, snapDir, 0o700)
		wantMode(t, snap, 0o600)
	})

	t.Run("scheduled backup", func(t *testing.T) {
		ts.srv.scheduledBackup(ctx)
		entries, err := os.ReadDir(backupDir)
		if err != nil || len(entries) != 1 {
			t.Fatalf("BACKUP_DIR holds %v (%v), want one snapshot; logs:\n%s", entries, err, ts.logs.String())
		}
		wantMode(t, backupDir, 0o700)
		wantMode(t, filepath.Join(backupDir, entries[0].Name()), 0o600)
	})

	t.Run("skiff restore", func(t *testing.T) {
		snap := filepath.Join(t.TempDir(), "snap.db")
		if _, stderr, err := runCmd(t, dbPath, "backup", snap); err != nil {
			t.Fatalf("skiff backup: %v\n%s", err, stderr)
		}
		ts.stop()
		// The database as an older version (or `litestream restore`) left it.
		if err := os.Chmod(dbPath, 0o644); err != nil {
			t.Fatal(err)
		}
		// A leftover of an interrupted restore, readable by all.
		if err := os.WriteFile(dbPath+".restoring", []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
		out, stderr, err := runCmd(t, dbPath, "restore", snap)
		if err != nil || !strings.Contains(out, "restored") {
			t.Fatalf("skiff restore: %v\n%s%s", err, out, stderr)
		}
		wantMode(t, dbPath, 0o600)                   // the restored database (was .restoring)
		wantMode(t, dbPath+".before-restore", 0o600) // the kept copy
		wantMode(t, dbPath+".lock", 0o600)
		if _, err := os.Stat(dbPath + ".restoring"); err == nil {
			t.Error("the .restoring copy is still there")
		}
	})

	t.Run("files left readable by an older version", func(t *testing.T) {
		// Another program has the database open (the sqlite3 shell, a
		// crashed server's leftovers): -wal and -shm exist, all 0644.
		if err := os.Chmod(dbPath, 0o644); err != nil {
			t.Fatal(err)
		}
		other, err := sql.Open("sqlite", db.DSN(dbPath))
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		if _, err := other.Exec(`INSERT INTO projects (user_id, name, created_at) SELECT id, 'Mars', '2026-01-01' FROM users`); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{dbPath, dbPath + "-wal", dbPath + "-shm"} {
			info, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != 0o644 {
				t.Fatalf("setup: %s is %#o, want 0644", p, info.Mode().Perm())
			}
		}
		if _, stderr, err := runCmd(t, dbPath, "migrate"); err != nil {
			t.Fatalf("skiff migrate: %v\n%s", err, stderr)
		}
		wantMode(t, dbPath, 0o600)
		wantMode(t, dbPath+"-wal", 0o600)
		wantMode(t, dbPath+"-shm", 0o600)
	})
}
