// Package db holds Skiff's storage: opening SQLite with the right pragmas (or
// PostgreSQL, postgres.go), the embedded migrations, and one file per table
// with its SQL beside each method.
//
// The rule: each query once, on Queries; DB for what needs the pools.
//
// Every query is a method of Queries, written once, and runs inside a
// transaction (DB.Tx hands its function the Queries bound to it) or outside
// one: a DB embeds its Queries, so d.Projects(ctx, id) and, in
// d.Tx(ctx, func(q Queries) error {...}), q.Projects(ctx, id) are the same
// method. Its
// reads go through q.reader, its writes through q.writer; a method of several
// statements that must commit together runs them in q.atomic, which joins the
// caller's transaction or begins one. DB adds only what needs the pools
// themselves: opening and closing them, Tx, migrations, backups, and the
// cached reads (cache.go), which stand in for the Queries methods they wrap.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// Sentinel errors that handlers map with errors.Is.
var (
	// ErrNotFound means no row matched, including rows owned by someone else.
	ErrNotFound = errors.New("db: not found")
	// ErrEmailTaken means another account already uses that email address.
	ErrEmailTaken = errors.New("db: email already taken")
	// ErrLimitReached means the owner's plan allows no more of that resource.
	ErrLimitReached = errors.New("db: plan limit reached")
)

// busyTimeout is how long a connection waits for SQLite's write lock before
// giving up. With a single writer connection it only matters for other
// processes (a backup, the sqlite3 shell) holding the lock.
const busyTimeout = 10 * time.Second

// DB is the application's database: a pool that writes and a pool that
// reads. On SQLite the write pool is one connection: SQLite allows one writer
// at a time, and funnelling every write through one connection makes writers
// queue in Go instead of failing with SQLITE_BUSY. On PostgreSQL both are
// pools of pgx connections (postgres.go). Every query is a method of the
// embedded Queries, bound to these two.
type DB struct {
	Queries
	Write  *sql.DB // SQLite: the single writer; its commits empty the read cache (watch.go)
	Read   *sql.DB // the read pool: query_only (SQLite) or read-only (Postgres), a write through it fails
	target string  // the file's path, or the DATABASE_URL
	pg     bool    // PostgreSQL (postgres.go)
	reads  preparedReads
	hot    readCache
	river  *riverPools // Postgres: River's connections (jobs.go)
}

// Queries runs every query of the application, on the pools of a DB or inside
// one transaction (DB.Tx).
type Queries struct {
	reader reader  // the read pool (through prepared statements on SQLite), or the transaction
	writer querier // the write pool, or the transaction
	tx     *sql.Tx // the transaction, if q is bound to one
	// db begins the transactions of atomic; nil inside a transaction.
	db *DB
	pg bool // PostgreSQL: see dialect.go
}

// reader is what a read needs: *sql.Tx, *sql.DB or SQLite's preparedReads.
type reader interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	reader
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// atomic runs fn so that its statements commit together: in q's transaction
// when q is bound to one, else in a new write transaction (DB.Tx).
func (q Queries) atomic(ctx context.Context, fn func(q Queries) error) error {
	if q.db == nil {
		return fn(q)
	}
	return q.db.Tx(ctx, fn)
}

// Postgres reports whether d is a PostgreSQL database (else SQLite).
func (d *DB) Postgres() bool { return d.pg }

// Target returns the database's file path, or its DATABASE_URL without the
// password.
func (d *DB) Target() string { return Redact(d.target) }

// DSN returns the modernc.org/sqlite data source name for path. Pragmas use
// modernc's `_pragma=` syntax; mattn-style keys would be silently ignored.
// `_txlock=immediate` makes every transaction take the write lock at BEGIN, so
// a read-then-write transaction never fails half-way with SQLITE_BUSY.
func DSN(path string) string {
	return path + "?_pragma=busy_timeout(" + fmt.Sprint(busyTimeout.Milliseconds()) + ")" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(NORMAL)" +
		"&_txlock=immediate" +
		"&_time_format=sqlite"
}

// Open opens the database target names: a DATABASE_URL (postgres://...) or
// the path of a SQLite file, created if needed. It checks the connections'
// settings and returns it. Call Migrate before use.
func Open(ctx context.Context, target string) (*DB, error) {
	if IsPostgres(target) {
		return openPostgres(ctx, target)
	}
	return openSQLite(ctx, target)
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("db: empty database path")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("db: database path %q must not contain '?' or '#'", path)
	}
	if err := mkdirOwnerOnly(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("db: create folder: %w", err)
	}
	// SQLite would create a new database file 0644 minus the umask, and it
	// gives -wal and -shm the mode of the database file. So the file is
	// created 0600 here first (SQLite takes an empty file as a new database),
	// and the three files are owner-only whatever the umask.
	if err := createOwnerOnly(path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("db: create %s: %w", path, err)
	}
	// Files that exist already keep their mode when SQLite opens them.
	if err := restrictToOwner(path, path+"-wal", path+"-shm"); err != nil {
		return nil, err
	}
	dsn := DSN(path)

	d := &DB{target: path}
	// The read cache opens a connection of its own, and wraps the writer's
	// connections so that every commit empties it (cache.go, watch.go).
	writer, err := d.hot.open(dsn)
	if err != nil {
		return nil, err
	}
	write := sql.OpenDB(writer)
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)

	// query_only: a write that went through the read pool would not empty
	// the read cache, so SQLite refuses it.
	read, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		d.hot.close()
		return nil, err
	}
	n := max(4, runtime.NumCPU())
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	read.SetConnMaxIdleTime(5 * time.Minute)

	d.Write, d.Read = write, read
	d.reads.pool = read
	d.Queries = Queries{reader: &d.reads, writer: write, db: d}
	// The writer connects first: it switches a new file to WAL.
	if err := d.checkPragmas(ctx, write); err != nil {
		d.Close()
		return nil, err
	}
	if err := d.checkPragmas(ctx, read); err != nil {
		d.Close()
		return nil, err
	}
	var queryOnly int
	if err := read.QueryRowContext(ctx, "PRAGMA query_only").Scan(&queryOnly); err != nil || queryOnly != 1 {
		d.Close()
		return nil, fmt.Errorf("db: the read pool is not query_only (%d, %v)", queryOnly, err)
	}
	return d, nil
}

// checkPragmas reads the settings back: a DSN typo must stop start-up, not
// surface later as "database is locked" under load.
func (d *DB) checkPragmas(ctx context.Context, conn *sql.DB) error {
	var journal string
	var busy, fk, sync int
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&journal); err != nil {
		return fmt.Errorf("db: open %s: %w", d.target, err)
	}
	if err := conn.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil {
		return fmt.Errorf("db: %w", err)
	}
	if err := conn.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		return fmt.Errorf("db: %w", err)
	}
	if err := conn.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		return fmt.Errorf("db: %w", err)
	}
	switch {
	case !strings.EqualFold(journal, "wal"):
		return fmt.Errorf("db: journal_mode is %q, want wal", journal)
	case busy != int(busyTimeout.Milliseconds()):
		return fmt.Errorf("db: busy_timeout is %d, want %d", busy, busyTimeout.Milliseconds())
	case fk != 1:
		return errors.New("db: foreign_keys is off")
	case sync != 1: // NORMAL
		return fmt.Errorf("db: synchronous is %d, want 1 (NORMAL)", sync)
	}
	return nil
}

// Ping checks that the database answers a query.
func (d *DB) Ping(ctx context.Context) error {
	var one int
	return d.Read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Close closes both pools.
func (d *DB) Close() error {
	d.reads.close()
	d.hot.close()
	d.river.close()
	var errs []error
	for _, p := range []*sql.DB{d.Read, d.Write} {
		if p != nil {
			errs = append(errs, p.Close())
		}
	}
	return errors.Join(errs...)
}

// Tx runs fn in a write transaction and commits it when fn returns nil.
// Nothing is acknowledged to a caller before the commit returns. On SQLite
// the transaction holds the write lock from its BEGIN (BEGIN IMMEDIATE); on
// Postgres it is SERIALIZABLE and fn runs again if Postgres aborts it for a
// concurrent one (postgres.go), so fn must only touch the database through q.
func (d *DB) Tx(ctx context.Context, fn func(q Queries) error) error {
	if d.pg {
		return d.inTxPostgres(ctx, fn)
	}
	tx, err := d.Write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(d.bound(tx)); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// bound returns the queries bound to tx.
func (d *DB) bound(tx *sql.Tx) Queries { return Queries{reader: tx, writer: tx, tx: tx, pg: d.pg} }

// now is the clock used for timestamps, in UTC so stored text sorts in time order.
func now() time.Time { return time.Now().UTC() }

// notFound maps sql.ErrNoRows to ErrNotFound and passes other errors through.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
