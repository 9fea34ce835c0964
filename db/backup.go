package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Backup writes a consistent snapshot of the database to path with VACUUM
// INTO (safe while the server runs: it reads one transaction's view), then
// checks the copy with PRAGMA integrity_check. path must not exist yet. A
// missing folder is created 0700, and the snapshot is 0600.
//
// On Postgres the snapshot is a SQLite file all the same (CopyToSQLite):
// the database at one moment, checked like the others, which `skiff restore`
// puts back (for a server on the file) or `skiff copy-to-postgres` takes
// into a new Postgres database.
func (d *DB) Backup(ctx context.Context, path string) error {
	source := d.target
	if d.pg {
		// The snapshot is built beside the backup, then written out as
		// the SQLite path writes its own: one file, no -wal.
		if err := mkdirOwnerOnly(filepath.Dir(path)); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		source = path + ".building"
		defer func() {
			for _, f := range []string{source, source + "-wal", source + "-shm"} {
				os.Remove(f)
			}
		}()
		if _, err := CopyToSQLite(ctx, d, source); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
	}
	if err := mkdirOwnerOnly(filepath.Dir(path)); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	// VACUUM INTO would create its file 0644 minus the umask. Into an empty
	// file that exists it writes the snapshot and leaves the mode alone (and
	// it refuses a file that holds a database). So the snapshot starts as an
	// empty 0600 file of our own; O_EXCL also makes "never overwrite" atomic.
	if err := createOwnerOnly(path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("backup: %s already exists", path)
		}
		return fmt.Errorf("backup: %w", err)
	}
	if err := vacuumInto(ctx, source, path); err != nil {
		os.Remove(path)
		return fmt.Errorf("backup: %w", err)
	}
	if err := IntegrityCheck(ctx, path); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// vacuumInto runs VACUUM INTO on a connection of its own: SQLite counts it as
// a write, which the read pool (query_only) refuses, and on the writer it
// would hold up every write for as long as the copy takes.
func vacuumInto(ctx context.Context, db, path string) error {
	conn, err := sql.Open("sqlite", DSN(db))
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.ExecContext(ctx, `VACUUM INTO ?`, path)
	return err
}

// IntegrityCheck opens the SQLite file at path read-only and runs PRAGMA
// integrity_check.
func IntegrityCheck(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err != nil {
		return err
	}
	conn, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return err
	}
	defer conn.Close()
	var result string
	if err := conn.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&result); err != nil {
		return fmt.Errorf("integrity check of %s: %w", path, err)
	}
	if result != "ok" {
		return fmt.Errorf("integrity check of %s: %s", path, result)
	}
	return nil
}

// Restored tells what Restore did with the database it replaced.
type Restored struct {
	// Kept is the previous database, dst + ".before-restore" ("" when
	// there was none).
	Kept string
	// WALKept is why the previous database's -wal could not be
	// checkpointed into it, or nil. That -wal then lies beside it as
	// Kept + "-wal", and the two files belong together.
	WALKept error
}

// Restore replaces the database at dst with the backup at src, after
// checking the backup. The caller must make sure no server uses dst (see
// LockFile). The old file is kept next to it as dst + ".before-restore",
// whole on its own: after a crash its last commits may be only in its -wal,
// so they are checkpointed into the file first. A file too damaged to open
// (often the reason to restore) cannot be checkpointed: the restore goes
// on, and its -wal moves with it rather than away (see Restored.WALKept).
// The restored database and the kept copy are 0600.
func Restore(ctx context.Context, src, dst string) (Restored, error) {
	if err := IntegrityCheck(ctx, src); err != nil {
		return Restored{}, err
	}
	if info, err := os.Stat(dst); err == nil {
		if err := mayReplace(dst, info); err != nil {
			return Restored{}, err
		}
	}
	tmp := dst + ".restoring"
	if err := copyFile(src, tmp); err != nil {
		return Restored{}, err
	}
	var res Restored
	if info, err := os.Stat(dst); err == nil {
		// The restored file is the server's again: as the one it replaces,
		// whoever runs the restore (root, usually).
		if err := sameOwnerAndMode(tmp, info); err != nil {
			return res, err
		}
		res.Kept = dst + ".before-restore"
		res.WALKept = checkpoint(ctx, dst)
		// A -wal left beside an earlier kept copy would be replayed into
		// this one when it is opened, and corrupt it.
		for _, suffix := range []string{"-wal", "-shm"} {
			if err := os.Remove(res.Kept + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return res, err
			}
		}
		if err := os.Rename(dst, res.Kept); err != nil {
			return res, err
		}
		// After a checkpoint there is no -wal (SQLite deletes it on the
		// last close); one that is left may hold commits, so it goes with
		// the kept copy.
		if err := os.Rename(dst+"-wal", res.Kept+"-wal"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return res, err
		}
		// A database written by an older version may still be 0644, and
		// nothing opens the kept copy again to fix it.
		if err := restrictToOwner(res.Kept, res.Kept+"-wal"); err != nil {
			return res, err
		}
	}
	// The -shm is only an index of the -wal, rebuilt when needed.
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(dst + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return res, err
		}
	}
	return res, os.Rename(tmp, dst)
}

// checkpoint copies every commit in path's -wal into the file itself
// (PRAGMA wal_checkpoint(TRUNCATE)), opening it as the server does. A server
// killed with SIGKILL leaves its latest commits in the -wal; opening the
// file recovers them first. It fails on a file SQLite cannot read, and when
// another connection (a sqlite3 shell) keeps the checkpoint from finishing.
func checkpoint(ctx context.Context, path string) error {
	// Opening creates a missing -wal and -shm with the file's mode.
	if err := restrictToOwner(path, path+"-wal", path+"-shm"); err != nil {
		return err
	}
	conn, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return err
	}
	defer conn.Close()
	var busy, walFrames, checkpointed int
	if err := conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &walFrames, &checkpointed); err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if busy != 0 {
		return fmt.Errorf("checkpoint %s: another process has the database open", path)
	}
	return conn.Close()
}

// copyFile copies src to a new 0600 file dst. A dst left by an earlier,
// interrupted copy is removed first: opening it would keep its old mode.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, ownerOnlyFile)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// BackupName is the file name of a scheduled snapshot taken at stamp
// ("20261127T040000Z"); they sort by time.
func BackupName(stamp string) string { return "skiff-" + stamp + ".db" }

// PruneBackups deletes all but the newest keep scheduled snapshots in dir.
func PruneBackups(dir string, keep int) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "skiff-") && strings.HasSuffix(e.Name(), ".db") {
			names = append(names, e.Name())
		}
	}
	var removed []string
	for len(names) > keep {
		if err := os.Remove(filepath.Join(dir, names[0])); err != nil {
			return removed, err
		}
		removed = append(removed, names[0])
		names = names[1:]
	}
	return removed, nil
}

var errProbe = errors.New("probe")

// CheckWritable takes the write lock and lets it go, proving the database
// accepts writes (not read-only, not locked by another process). On
// Postgres it begins a write transaction and asks the server whether it may
// write (a standby, or a server in read-only mode, may not).
func (d *DB) CheckWritable(ctx context.Context) error {
	err := d.Tx(ctx, func(q Queries) error {
		if q.pg {
			var ro string
			if err := q.writer.QueryRowContext(ctx, `SHOW transaction_read_only`).Scan(&ro); err != nil {
				return err
			}
			if ro != "off" {
				return errors.New("db: the PostgreSQL server accepts no writes (transaction_read_only is on)")
			}
		}
		return errProbe
	})
	if errors.Is(err, errProbe) {
		return nil
	}
	return err
}
