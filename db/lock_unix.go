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
