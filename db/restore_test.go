package db

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
)

// TestRestoreOverABusyDatabaseKeepsItsWAL: when the old database cannot be
// checkpointed (here another process, a sqlite3 shell, keeps a transaction
// open on it; a failing disk would do the same), the restore still happens,
// because restores are for bad days. Its -wal, which may hold the last
// commits, then lies beside the kept copy instead of being deleted, and the
// operator is told.
func TestRestoreOverABusyDatabaseKeepsItsWAL(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out busy_timeout (10 s)")
	}
	ctx := context.Background()
	dir := t.TempDir()
	live := filepath.Join(dir, "live.db")
	d, err := Open(ctx, live)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Write.Exec(`CREATE TABLE notes (body TEXT)`); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "backup.db")
	if err := d.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write.Exec(`INSERT INTO notes VALUES ('written after the backup')`); err != nil {
		t.Fatal(err)
	}
	// The database as a crash left it: the last commit only in its -wal.
	dst := filepath.Join(dir, "skiff.db")
	copyBytes(t, live, dst)
	copyBytes(t, live+"-wal", dst+"-wal")
	if info, err := os.Stat(dst + "-wal"); err != nil || info.Size() == 0 {
		t.Fatal("no commits in the -wal: the test proves nothing")
	}

	// Another process reads it, in a transaction it keeps open.
	other, err := sql.Open("sqlite", "file:"+dst)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	reader, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	var n int
	if _, err := reader.ExecContext(ctx, `BEGIN`); err != nil {
		t.Fatal(err)
	}
	if err := reader.QueryRowContext(ctx, `SELECT count(*) FROM notes`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the crashed database holds %d notes (%v)", n, err)
	}

	res, err := Restore(ctx, backup, dst)
	if err != nil {
		t.Fatalf("restore refused: %v", err)
	}
	if res.WALKept == nil {
		t.Error("Restored.WALKept is nil: the operator is not told that the -wal lies beside the kept copy")
	}
	reader.ExecContext(ctx, `ROLLBACK`)
	reader.Close()
	other.Close()
	if err := IntegrityCheck(ctx, dst); err != nil {
		t.Fatalf("the restored database: %v", err)
	}
	if _, err := os.Stat(dst + "-wal"); err == nil {
		t.Fatal("an old -wal lies beside the restored database, where it would be replayed into it")
	}
	kept := dst + ".before-restore"
	if _, err := os.Stat(kept + "-wal"); err != nil {
		t.Fatalf("no -wal beside the kept copy: %v", err)
	}
	// The kept pair holds the commit made after the backup.
	conn, err := sql.Open("sqlite", DSN(kept))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.QueryRow(`SELECT count(*) FROM notes`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the kept copy holds %d notes (%v), want 1", n, err)
	}
}

func copyBytes(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
