package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"skiff/db"
)

// backupOrRestore runs `skiff backup PATH` and `skiff restore PATH`.
func backupOrRestore(ctx context.Context, cmd, path string, cfg Config, stdout io.Writer) error {
	if cmd == "restore" && cfg.Postgres() {
		return errors.New("restore: DATABASE_URL is set; restore puts a snapshot back as the SQLite file. To put one back on PostgreSQL, copy it into a new, empty database: DATABASE_PATH=SNAPSHOT skiff copy-to-postgres URL (README, Several instances)")
	}
	if cmd == "backup" {
		if err := databaseExists(cfg); err != nil {
			return err
		}
		d, err := db.Open(ctx, cfg.Database())
		if err != nil {
			return err
		}
		defer d.Close()
		if err := d.Backup(ctx, path); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "backup written to %s (integrity check ok)\n", path)
		return nil
	}
	unlock, err := db.LockFile(cfg.DatabasePath)
	if errors.Is(err, db.ErrLocked) {
		return errors.New("restore: a skiff server is using " + cfg.DatabasePath + "; stop it first (systemctl stop skiff.socket skiff)")
	}
	if err != nil {
		return err
	}
	defer unlock()
	res, err := db.Restore(ctx, path, cfg.DatabasePath)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s from %s\n", cfg.DatabasePath, path)
	if res.Kept != "" {
		fmt.Fprintf(stdout, "the previous database is %s\n", res.Kept)
	}
	if res.WALKept != nil {
		fmt.Fprintf(stdout, "warning: its last commits may be only in %s-wal (%v): keep the two files together\n", res.Kept, res.WALKept)
	}
	return nil
}

// databaseExists refuses a command that reads the database when there is
// none at DATABASE_PATH: opening it would create an empty one, and a backup
// of that would say "integrity check ok". Run as another user or without the
// service's environment, the path is usually the wrong one.
func databaseExists(cfg Config) error {
	if cfg.Postgres() {
		return nil // a database server, not a path that may be the wrong one
	}
	info, err := os.Stat(cfg.DatabasePath)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no database at %s: set DATABASE_PATH to the server's (the systemd unit sets /var/lib/skiff/skiff.db; see the README, Backups)", cfg.DatabasePath)
	}
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s is not a database file", cfg.DatabasePath)
	}
	return nil
}

// runScheduledBackups writes a snapshot to BACKUP_DIR every BACKUP_INTERVAL
// and keeps the newest BACKUP_KEEP, until ctx ends.
func (s *Server) runScheduledBackups(ctx context.Context) {
	if s.cfg.BackupDir == "" {
		return
	}
	t := time.NewTicker(s.cfg.BackupInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.scheduledBackup(ctx)
		}
	}
}

// It returns the backup's error (logged too), for River to try again.
func (s *Server) scheduledBackup(ctx context.Context) error {
	if s.cfg.BackupDir == "" {
		return errors.New("backup: BACKUP_DIR is not set on this instance")
	}
	path := filepath.Join(s.cfg.BackupDir, db.BackupName(s.now().UTC().Format("20060102T150405Z")))
	if err := s.db.Backup(ctx, path); err != nil {
		s.log.Error("scheduled backup", "err", err)
		return err
	}
	removed, err := db.PruneBackups(s.cfg.BackupDir, s.cfg.BackupKeep)
	if err != nil {
		s.log.Error("prune backups", "err", err)
	}
	info, _ := os.Stat(path)
	var size int64
	if info != nil {
		size = info.Size()
	}
	s.log.Info("scheduled backup", "path", path, "bytes", size, "pruned", len(removed))
	return nil
}
