package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"skiff/db"
)

// copyToPostgres is `skiff copy-to-postgres URL`: the SQLite database at
// DATABASE_PATH, copied whole into the empty PostgreSQL database at url
// (db.CopyToPostgres), then what the founder changes to move over. The file
// is only read: it stays as it was, the way back.
func copyToPostgres(ctx context.Context, cfg Config, url string, logger *slog.Logger, stdout io.Writer) error {
	if cfg.Postgres() {
		return errors.New("copy-to-postgres: DATABASE_URL is set; the copy reads the SQLite file at DATABASE_PATH: run it without DATABASE_URL")
	}
	if err := databaseExists(cfg); err != nil {
		return err
	}
	// The server must be stopped: writes made during the copy would be in
	// neither database.
	unlock, err := db.LockFile(cfg.DatabasePath)
	if errors.Is(err, db.ErrLocked) {
		return errors.New("copy-to-postgres: a skiff server is using " + cfg.DatabasePath + "; stop it first (systemctl stop skiff.socket skiff)")
	}
	if err != nil {
		return err
	}
	defer unlock()
	from, _, err := openDatabase(ctx, cfg, logger) // migrated to this version first
	if err != nil {
		return err
	}
	defer from.Close()
	to, err := db.Open(ctx, url)
	if err != nil {
		return err
	}
	defer to.Close()
	applied, err := to.Migrate(ctx)
	if err != nil {
		return err
	}
	for _, name := range applied {
		logger.Info("migration applied", "database", to.Target(), "name", name)
	}
	fmt.Fprintf(stdout, "copying %s into %s\n", cfg.DatabasePath, to.Target())
	report, err := db.CopyToPostgres(ctx, from, to, func(table string, rows int64) {
		fmt.Fprintf(stdout, "  %-24s %d rows\n", table, rows)
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "checked: every table has the same number of rows in both")
	for _, t := range report.Tables {
		fmt.Fprintf(stdout, "  %-24s %d = %d\n", t.Name, t.SQLite, t.Postgres)
	}
	fmt.Fprintf(stdout, `
Done. To run on PostgreSQL from now on:
  1. set DATABASE_URL=%s (with its password, or PGPASSWORD) in the
     service's environment (/etc/skiff/skiff.env);
  2. start skiff: it serves from PostgreSQL; mail queued in the file is sent
     from there. skiff backup and BACKUP_DIR go on writing SQLite snapshots,
     of the PostgreSQL database now;
  3. keep %s: it is the way back (unset DATABASE_URL, start again), with
     what it held at this copy; a later snapshot, put back with skiff restore,
     has what came after.
`, to.Target(), cfg.DatabasePath)
	return nil
}
