package db

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestRestoreKeepsTheOwner: root restoring a service's database (as the
// README's commands do) leaves it owned by the service's user, with its
// mode, so the service can open it.
func TestRestoreKeepsTheOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the database another owner (CI runs as root)")
	}
	ctx := context.Background()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	live := filepath.Join(dir, "skiff.db")
	d, err := Open(ctx, live)
	if err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "backup.db")
	if err := d.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	d.Close()
	const service = 65534 // nobody: the service's user
	if err := os.Chown(live, service, service); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(ctx, backup, live); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(live)
	if err != nil {
		t.Fatal(err)
	}
	st := info.Sys().(*syscall.Stat_t)
	if st.Uid != service || st.Gid != service || info.Mode().Perm() != 0o600 {
		t.Fatalf("restored database: uid %d gid %d mode %v, want %d %d 0600", st.Uid, st.Gid, info.Mode().Perm(), service, service)
	}
	if err := mayReplace(live, info); err != nil {
		t.Fatalf("root may replace it: %v", err)
	}
}
