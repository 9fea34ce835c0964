package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed migrations/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// Each engine has its own folder: migrations/ for SQLite, whose first
// twenty built the schema release by release, and migrations/postgres/,
// which starts from that schema in one file (0020_schema.sql). A migration
// after it is written twice, under the same name in both folders, and
// TestSchemasMatch checks that both engines end with the same tables,
// columns and indexes.

// Migration is one forward-only schema change, named after its file.
type Migration struct {
	Name string
	SQL  string
	// ForeignKeysOff is set by the marker line below; see migrateForeignKeysOff.
	ForeignKeysOff bool
}

// foreignKeysOffMarker, as the first line of a migration, runs it with
// foreign key enforcement off. A migration that rebuilds a table needs it
// (SQLite's 12-step procedure, https://www.sqlite.org/lang_altertable.html#otheralter):
// with enforcement on, its `DROP TABLE users` would first delete every user,
// and ON DELETE CASCADE would take their projects, tokens, subscriptions and
// every other child row with them. PRAGMA foreign_key_check must still find
// nothing before the commit.
const foreignKeysOffMarker = "-- migrate: foreign_keys=off"

// Migrations returns the embedded SQLite migrations in the order they apply.
func Migrations() ([]Migration, error) { return migrationsIn("migrations") }

// PostgresMigrations returns the embedded PostgreSQL migrations in order.
func PostgresMigrations() ([]Migration, error) { return migrationsIn("migrations/postgres") }

func (d *DB) migrations() ([]Migration, error) {
	if d.pg {
		return PostgresMigrations()
	}
	return Migrations()
}

func migrationsIn(dir string) ([]Migration, error) {
	names, err := fs.Glob(migrationFiles, dir+"/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []Migration
	for _, name := range names {
		b, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		m, err := parseMigration(strings.TrimPrefix(name, dir+"/"), string(b))
		if err != nil {
			return nil, err
		}
		if m.ForeignKeysOff && dir != "migrations" {
			return nil, fmt.Errorf("db: migration %s: %q is for SQLite only", name, foreignKeysOffMarker)
		}
		out = append(out, m)
	}
	return out, nil
}

// parseMigration reads a migration's marker line, if it has one. Any other
// "-- migrate:" line is an error rather than ignored: a misspelt marker would
// otherwise run a table rebuild with foreign keys on.
func parseMigration(name, text string) (Migration, error) {
	m := Migration{Name: name, SQL: text}
	first, _, _ := strings.Cut(text, "\n")
	first = strings.TrimSpace(first)
	switch {
	case first == foreignKeysOffMarker:
		m.ForeignKeysOff = true
	case strings.HasPrefix(first, "-- migrate:"):
		return Migration{}, fmt.Errorf("db: migration %s: unknown marker %q (the only one is %q)", name, first, foreignKeysOffMarker)
	}
	return m, nil
}

// Migrate applies every migration not yet recorded in schema_migrations, each
// in its own transaction together with its record, and returns the names it
// applied. A failed migration leaves the schema as it was before it.
func (d *DB) Migrate(ctx context.Context) ([]string, error) {
	all, err := d.migrations()
	if err != nil {
		return nil, err
	}
	return d.migrate(ctx, all)
}

// migrate applies the migrations in list (tests pass a prefix of the list to
// build a database as an older release left it).
func (d *DB) migrate(ctx context.Context, list []Migration) (_ []string, err error) {
	timeType := "DATETIME"
	if d.pg {
		// Several instances start at once: one migrates, the others wait
		// here and then find nothing left to do.
		unlock, err := d.lockMigrations(ctx)
		if err != nil {
			return nil, err
		}
		defer func() { err = errors.Join(err, unlock()) }()
		timeType = "TIMESTAMPTZ"
	}
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name       TEXT PRIMARY KEY,
		applied_at `+timeType+` NOT NULL
	)`); err != nil {
		return nil, fmt.Errorf("db: create schema_migrations: %w", err)
	}
	var applied []string
	for _, m := range list {
		ran := false
		apply := func(q Queries) error {
			// Checked inside the transaction: another process (a second
			// `skiff migrate`) may have applied it meanwhile.
			if done, err := migrationApplied(ctx, q.writer, m.Name); err != nil || done {
				return err
			}
			if _, err := q.writer.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			if _, err := q.writer.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, m.Name, now()); err != nil {
				return err
			}
			ran = true
			return nil
		}
		var err error
		if m.ForeignKeysOff {
			// Checked first as well, so that a start-up with nothing to do
			// does not switch enforcement off and on.
			var done bool
			if done, err = migrationApplied(ctx, d.Write, m.Name); err == nil && !done {
				err = d.migrateForeignKeysOff(ctx, apply)
			}
		} else if d.pg {
			err = d.retryTx(ctx, false, apply)
		} else {
			err = d.Tx(ctx, apply)
		}
		if err != nil {
			return applied, fmt.Errorf("db: migration %s: %w", m.Name, err)
		}
		if ran {
			applied = append(applied, m.Name)
		}
	}
	if d.pg && len(list) > 0 {
		river, err := d.migrateRiver(ctx)
		applied = append(applied, river...)
		if err != nil {
			return applied, err
		}
	}
	return applied, nil
}

func migrationApplied(ctx context.Context, q querier, name string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n)
	return n > 0, err
}

// migrateForeignKeysOff runs fn in a write transaction with foreign key
// enforcement off, on the writer's one connection, pinned so that the pragma
// and the transaction meet on the same connection. The pragma does nothing
// inside a transaction, so it is set before BEGIN and read back. Before the
// commit PRAGMA foreign_key_check must return no row (no child row points at
// a parent that is gone); otherwise everything is rolled back. Enforcement is
// turned back on afterwards, also after a failure; if even that fails, the
// connection is thrown away (the pool opens a new one, with foreign keys on
// from the DSN), so no later write ever runs without them.
func (d *DB) migrateForeignKeysOff(ctx context.Context, fn func(q Queries) error) (err error) {
	conn, err := d.Write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	defer func() {
		// Not ctx: a cancelled context must not leave enforcement off.
		bg := context.WithoutCancel(ctx)
		_, onErr := conn.ExecContext(bg, `PRAGMA foreign_keys = ON`)
		if onErr == nil {
			var on bool
			if onErr = conn.QueryRowContext(bg, `PRAGMA foreign_keys`).Scan(&on); onErr == nil && !on {
				onErr = errors.New("still off")
			}
		}
		if onErr != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn }) // discards the connection
			err = errors.Join(err, fmt.Errorf("turn foreign keys back on: %w", onErr))
		}
	}()

	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return err
	}
	var on bool
	if err := conn.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&on); err != nil {
		return err
	}
	if on {
		return errors.New("PRAGMA foreign_keys = OFF did not take effect (is a transaction open on the writer?)")
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(d.bound(tx)); err != nil {
		tx.Rollback()
		return err
	}
	if err := foreignKeyCheck(ctx, tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// foreignKeyCheck returns an error naming the rows whose parent is missing.
func foreignKeyCheck(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var bad []string
	for rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fkid int
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return err
		}
		if len(bad) < 5 {
			bad = append(bad, fmt.Sprintf("%s row %d points at a missing %s", table, rowid.Int64, parent))
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(bad) > 0 {
		return fmt.Errorf("rolled back: PRAGMA foreign_key_check found rows without a parent: %s", strings.Join(bad, "; "))
	}
	return nil
}

// PendingMigrations returns the names of embedded migrations not yet applied.
func (d *DB) PendingMigrations(ctx context.Context) ([]string, error) {
	all, err := d.migrations()
	if err != nil {
		return nil, err
	}
	done := map[string]bool{}
	rows, err := d.reader.QueryContext(ctx, `SELECT name FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		done[name] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var pending []string
	for _, m := range all {
		if !done[m.Name] {
			pending = append(pending, m.Name)
		}
	}
	if d.pg {
		river, err := d.riverPending(ctx)
		if err != nil {
			return nil, err
		}
		pending = append(pending, river...)
	}
	return pending, nil
}

// migrationLock is the key of the advisory lock that lets one instance at a
// time migrate a Postgres database ("skiff" in ASCII).
const migrationLock = 0x736b696666

// lockMigrations waits for the migration lock on a connection of its own and
// returns the function that lets it go. Should the process die holding it,
// Postgres lets it go with the connection.
func (d *DB) lockMigrations(ctx context.Context) (unlock func() error, err error) {
	conn, err := d.Write.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(?)`, migrationLock); err != nil {
		conn.Close()
		return nil, fmt.Errorf("db: wait for the migration lock: %w", err)
	}
	return func() error {
		_, err := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(?)`, migrationLock)
		return errors.Join(err, conn.Close())
	}, nil
}
