//go:build unix

package db

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// ErrLocked means another process (a running server) holds the database.
var ErrLocked = errors.New("db: the database is in use by a running skiff")

// LockFile takes an exclusive, non-blocking lock on path + ".lock" and
// returns its release. The server holds it while it runs, so `skiff restore`
// can refuse to swap the file under it. The kernel drops it if the process dies.
func LockFile(path string) (func(), error) {
	if err := mkdirOwnerOnly(filepath.Dir(path)); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, ownerOnlyFile)
	if err != nil {
		return nil, err
	}
	// A lock file made by an older version keeps its mode when opened.
	if err := restrictToOwner(path + ".lock"); err != nil {
		f.Close()
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("db: lock %s.lock: %w", path, err)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// sameOwnerAndMode gives path the owner, group and permissions of the file
// described by like (within owner-only: never more than 0600). Changing the
// owner needs root, which is who restores a service's database; run as the
// owner itself, the owner is already right.
func sameOwnerAndMode(path string, like os.FileInfo) error {
	if st, ok := like.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
		if err := os.Chown(path, int(st.Uid), int(st.Gid)); err != nil {
			return fmt.Errorf("db: give %s the owner of the database it replaces: %w", path, err)
		}
	}
	return os.Chmod(path, like.Mode().Perm()&ownerOnlyFile)
}

// mayReplace refuses to replace path, described by info, as a user other
// than its owner or root: the server (its owner) could not open the result.
func mayReplace(path string, info os.FileInfo) error {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok || os.Geteuid() == 0 || int(st.Uid) == os.Geteuid() {
		return nil
	}
	return fmt.Errorf("db: %s belongs to user %d: restore as that user or as root, so the server can still open it", path, st.Uid)
}
