package db

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The database holds password hashes, TOTP secrets and pending mail with live
// links, so every file Skiff writes beside it (the database, its -wal and
// -shm, backups, restore's copies, the lock) is for Skiff's own user only.
// The modes are set here, not left to the process umask: a umask can only
// take bits away from these, never add any.
const (
	ownerOnlyDir  = 0o700
	ownerOnlyFile = 0o600
)

// mkdirOwnerOnly creates dir, and any missing parent, 0700. A folder that
// exists already is left as it is: it may be the working directory, /tmp, or
// one the operator prepared (systemd's StateDirectory).
func mkdirOwnerOnly(dir string) error {
	if dir == "." {
		return nil
	}
	return os.MkdirAll(dir, ownerOnlyDir)
}

// createOwnerOnly creates path as an empty 0600 file. It fails with an error
// matching fs.ErrExist when path exists (a file, a directory or a symlink),
// so it never touches a file it did not create.
func createOwnerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, ownerOnlyFile)
	if err != nil {
		return err
	}
	return f.Close()
}

// restrictToOwner makes each existing file among paths 0600 when group or
// others have any permission on it: files written by an older version of
// Skiff, by `litestream restore` or by hand under a 022 umask. Missing files
// are skipped. A file that cannot be changed (owned by another user) stops
// start-up with a message that names it, rather than leaving it readable.
func restrictToOwner(paths ...string) error {
	for _, p := range paths {
		info, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() || info.Mode().Perm()&0o077 == 0 {
			continue
		}
		if err := os.Chmod(p, ownerOnlyFile); err != nil {
			return fmt.Errorf("db: %s can be read by other users (mode %#o) and could not be made owner-only: %w",
				filepath.Clean(p), info.Mode().Perm(), err)
		}
	}
	return nil
}
