package db

// PostgreSQL, for several Skiff instances on one database server
// (DATABASE_URL=postgres://...). The queries are written once, in the SQL
// both engines read; what differs is in three places:
//
//   - this file: the connections. pgx's database/sql driver, wrapped so that
//     SQLite's `?` and `?3` placeholders become `$1` and `$3`, a Go bool is
//     stored as the 0 or 1 the integer columns hold, times come back in UTC,
//     and a write that lost a serialization race is run again (below);
//   - dialect.go: the few fragments of SQL that have no common spelling;
//   - migrations/postgres/: the schema, in Postgres' own types.
//
// Concurrency. On SQLite one connection writes and every write transaction
// takes the lock at BEGIN, so the rules written as "read, check, then
// write" (a plan's limit, a last way to log in, a single-use token) hold.
// On Postgres the write pool's transactions are SERIALIZABLE: Postgres
// promises the same outcome as running them one at a time, and aborts one
// of two that would not (SQLSTATE 40001, or 40P01 for a deadlock). Such a
// transaction is run again from the start, by DB.Tx (inTx below), or here
// for a statement outside a transaction. So a transaction's function may run
// more than once: it must only touch the database (mail goes through the
// outbox table, which commits with it). The read pool is READ COMMITTED and
// read-only, as SQLite's read pool is query_only.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// IsPostgres reports whether target, a DATABASE_URL or a file path, names a
// PostgreSQL database.
func IsPostgres(target string) bool {
	return strings.HasPrefix(target, "postgres://") || strings.HasPrefix(target, "postgresql://")
}

// Pool sizes per instance: 8 writing, 8 reading, and River's 3 + 1 to
// listen (jobs.go), 20 in all. Postgres' default max_connections is 100:
// four instances fit, with room for psql, pg_dump and a copy's one.
const (
	pgWriteConns = 8
	pgReadConns  = 8
)

func openPostgres(ctx context.Context, url string) (*DB, error) {
	base, err := pgxConnConfig(url)
	if err != nil {
		return nil, err
	}
	pool := func(params map[string]string, retry bool, n int) *sql.DB {
		cfg := base.Copy()
		for k, v := range params {
			cfg.RuntimeParams[k] = v
		}
		p := sql.OpenDB(pgConnector{base: stdlib.GetConnector(*cfg), retry: retry})
		p.SetMaxOpenConns(n)
		p.SetMaxIdleConns(n)
		p.SetConnMaxIdleTime(5 * time.Minute)
		return p
	}
	write := pool(map[string]string{"default_transaction_isolation": "serializable"}, true, pgWriteConns)
	read := pool(map[string]string{"default_transaction_read_only": "on"}, false, pgReadConns)
	d := &DB{Write: write, Read: read, target: url, pg: true}
	d.hot.off.Store(true) // no read cache: another instance's commits would not empty it
	if err := d.openRiverPools(url); err != nil {
		d.Close()
		return nil, fmt.Errorf("db: DATABASE_URL: %w", err)
	}
	d.Queries = Queries{reader: pgReads{read}, writer: write, db: d, pg: true}
	if err := d.Ping(ctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("db: connect to PostgreSQL at %s: %w", Redact(url), err)
	}
	var readOnly string
	if err := read.QueryRowContext(ctx, `SHOW default_transaction_read_only`).Scan(&readOnly); err != nil || readOnly != "on" {
		d.Close()
		return nil, fmt.Errorf("db: the read pool is not read-only (%q, %v)", readOnly, err)
	}
	return d, nil
}

func pgxConnConfig(url string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("db: DATABASE_URL: %w", err)
	}
	cfg.RuntimeParams["application_name"] = "skiff"
	cfg.RuntimeParams["timezone"] = "UTC"
	return cfg, nil
}

// pgReads is the read pool, read with readContext as SQLite's is
// (prepared.go): a short read whose client went away just finishes.
type pgReads struct{ pool *sql.DB }

func (p pgReads) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return p.pool.QueryRowContext(readContext(ctx), query, args...)
}

func (p pgReads) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return p.pool.QueryContext(readContext(ctx), query, args...)
}

// Redact returns a DATABASE_URL without its password, for logs and errors.
// A path is returned as it is.
func Redact(target string) string {
	if !IsPostgres(target) {
		return target
	}
	cfg, err := pgx.ParseConfig(target)
	if err != nil {
		return "postgres://(unreadable URL)"
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

// retryable reports whether err is Postgres refusing a transaction because a
// concurrent one won: running it again will see that one's result.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// maxAttempts bounds how often one transaction is run again. A transaction
// that keeps losing under heavy contention fails with the serialization
// error, which the caller reports like any other database error.
const maxAttempts = 12

// backoff waits before attempt (1, 2, ...): a random time up to 2^attempt ms,
// at most 200 ms, so that the transactions that collided do not collide again.
func backoff(ctx context.Context, attempt int) error {
	limit := min(time.Duration(1<<attempt)*time.Millisecond, 200*time.Millisecond)
	t := time.NewTimer(rand.N(limit) + time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// inTxPostgres is DB.Tx on Postgres: fn in a SERIALIZABLE transaction, run
// again (in a new transaction) when Postgres aborts it for a concurrent one.
//
// A transaction that lost runs again alone, so that it cannot lose forever
// to a crowd (200 signups at once all add to the same day's counter row,
// and each round of them would let one through). Every write transaction
// first takes the write_gate table's lock: ROW EXCLUSIVE, which write
// transactions share, on its first run; EXCLUSIVE on the runs after a
// conflict, which waits for the transactions under way and holds back new
// ones until it commits. LOCK TABLE takes no snapshot, so the transaction
// then sees everything committed before it got the lock.
//
// fn may ignore an error of its own and go on; the aborted transaction then
// fails its next statement with 25P02, so the connection's record of the
// first error decides, not the error fn returns.
func (d *DB) inTxPostgres(ctx context.Context, fn func(q Queries) error) error {
	return d.retryTx(ctx, true, fn)
}

// retryTx is inTxPostgres; gated false skips write_gate, for the migrations
// (which run under a lock of their own, and before write_gate exists).
func (d *DB) retryTx(ctx context.Context, gated bool, fn func(q Queries) error) error {
	for attempt := 1; ; attempt++ {
		gate := ""
		if gated {
			gate = "ROW EXCLUSIVE"
			if attempt > 1 {
				gate = "EXCLUSIVE"
			}
		}
		err := d.txOnce(ctx, gate, fn)
		if err == nil || !retryable(err) || attempt == maxAttempts {
			return err
		}
		if err := backoff(ctx, attempt); err != nil {
			return err
		}
	}
}

func (d *DB) txOnce(ctx context.Context, gate string, fn func(q Queries) error) (err error) {
	conn, err := d.Write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})
	if err != nil {
		return err
	}
	if gate != "" {
		if _, err := tx.ExecContext(ctx, `LOCK TABLE write_gate IN `+gate+` MODE`); err != nil {
			tx.Rollback()
			return err
		}
	}
	if err = fn(d.bound(tx)); err == nil {
		err = tx.Commit()
	} else {
		tx.Rollback()
	}
	if err != nil && !retryable(err) {
		conn.Raw(func(dc any) error {
			if c, ok := dc.(*pgConn); ok && c.txConflict != nil {
				err = fmt.Errorf("%w (after: %w)", c.txConflict, err)
			}
			return nil
		})
	}
	return err
}

// pgConnector opens pgx connections wrapped in pgConn.
type pgConnector struct {
	base  driver.Connector
	retry bool // the write pool: statements outside a transaction are run again on a conflict
}

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{Conn: conn.(*stdlib.Conn), retry: c.retry}, nil
}

func (c pgConnector) Driver() driver.Driver { return c.base.Driver() }

// pgConn is a pgx connection that reads SQLite's placeholders. Its embedded
// *stdlib.Conn supplies the rest of database/sql's driver interfaces.
type pgConn struct {
	*stdlib.Conn
	retry bool
	inTx  bool
	// txConflict is the first serialization failure or deadlock of the
	// transaction under way (see inTxPostgres).
	txConflict error
}

func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, rebind(query))
}

func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *pgConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.Conn.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	c.inTx, c.txConflict = true, nil
	return pgTx{tx, c}, nil
}

func (c *pgConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// CheckNamedValue lets every value through to pgx; sqliteArgs converts the
// bools of the package's own queries.
func (c *pgConn) CheckNamedValue(*driver.NamedValue) error { return nil }

// sqliteArgs prepares a query written for both engines (with `?`): its
// placeholders become Postgres' and a Go bool becomes the 1 or 0 SQLite
// stores, as the schema's flags are integer columns on both engines. A
// query written for Postgres (scs's postgresstore, River, with `$1`) is
// left as it is.
func sqliteArgs(query string, args []driver.NamedValue) string {
	if len(args) == 0 {
		return query
	}
	pg := rebind(query)
	if pg == query {
		return query
	}
	for i, a := range args {
		if b, ok := a.Value.(bool); ok {
			args[i].Value = int64(0)
			if b {
				args[i].Value = int64(1)
			}
		}
	}
	return pg
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	query = sqliteArgs(query, args)
	var res driver.Result
	err := c.run(ctx, func() (err error) {
		res, err = c.Conn.ExecContext(ctx, query, args)
		return err
	})
	return res, err
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	query = sqliteArgs(query, args)
	if c.inTx || !c.retry {
		rows, err := c.Conn.QueryContext(ctx, query, args)
		c.noteConflict(err)
		if err != nil {
			return nil, err
		}
		return &utcRows{Rows: rows, conn: c}, nil
	}
	// Outside a transaction on the write pool the statement commits on its
	// own, and a conflict may show only at that commit, after its first
	// row: the rows are read to the end here, where it can be run again.
	var buf *bufferedRows
	err := c.run(ctx, func() error {
		rows, err := c.Conn.QueryContext(ctx, query, args)
		if err != nil {
			return err
		}
		buf, err = readAll(rows)
		return err
	})
	return buf, err
}

// run runs one statement: in a transaction once, noting a conflict for
// inTxPostgres; outside one on the write pool, again after a conflict, as a
// statement on its own commits or changes nothing.
func (c *pgConn) run(ctx context.Context, stmt func() error) error {
	if c.inTx || !c.retry {
		err := stmt()
		c.noteConflict(err)
		return err
	}
	for attempt := 1; ; attempt++ {
		err := stmt()
		if err == nil || !retryable(err) || attempt == maxAttempts {
			return err
		}
		if err := backoff(ctx, attempt); err != nil {
			return err
		}
	}
}

func (c *pgConn) noteConflict(err error) {
	if c.inTx && c.txConflict == nil && retryable(err) {
		c.txConflict = err
	}
}

type pgTx struct {
	driver.Tx
	c *pgConn
}

func (t pgTx) Commit() error {
	t.c.inTx = false
	err := t.Tx.Commit()
	t.c.noteConflict(err)
	return err
}

func (t pgTx) Rollback() error {
	t.c.inTx = false
	return t.Tx.Rollback()
}

// utcRows returns times in UTC, as SQLite's driver does (pgx gives them in
// the process's local zone).
type utcRows struct {
	driver.Rows
	conn *pgConn
}

// Close reports a conflict that shows only at the end of the rows (a
// QueryRow's Scan returns it from here).
func (r *utcRows) Close() error {
	err := r.Rows.Close()
	r.conn.noteConflict(err)
	return err
}

func (r *utcRows) Next(dest []driver.Value) error {
	err := r.Rows.Next(dest)
	if err != nil && err != io.EOF {
		r.conn.noteConflict(err)
		return err
	}
	for i, v := range dest {
		if t, ok := v.(time.Time); ok {
			dest[i] = t.UTC()
		}
	}
	return err
}

// bufferedRows holds a statement's rows, read to the end.
type bufferedRows struct {
	columns []string
	rows    [][]driver.Value
}

func readAll(rows driver.Rows) (*bufferedRows, error) {
	defer rows.Close()
	b := &bufferedRows{columns: rows.Columns()}
	for {
		dest := make([]driver.Value, len(b.columns))
		err := rows.Next(dest)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		for i, v := range dest {
			switch v := v.(type) {
			case []byte:
				dest[i] = append([]byte(nil), v...)
			case time.Time:
				dest[i] = v.UTC()
			}
		}
		b.rows = append(b.rows, dest)
	}
	return b, rows.Close()
}

func (b *bufferedRows) Columns() []string { return b.columns }
func (b *bufferedRows) Close() error      { return nil }
func (b *bufferedRows) Next(dest []driver.Value) error {
	if len(b.rows) == 0 {
		return io.EOF
	}
	copy(dest, b.rows[0])
	b.rows = b.rows[1:]
	return nil
}

// rebind turns SQLite's placeholders into Postgres': each `?` into the next
// `$n`, and `?n` into `$n`. Quoted text, quoted names and comments are left
// alone, and so is a query that has a `$1` already (written for Postgres,
// where `?` is also a JSON operator). The result is kept: the queries are
// the package's constants.
func rebind(query string) string {
	if v, ok := rebound.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		ch := query[i]
		switch {
		case ch == '\'' || ch == '"':
			end := strings.IndexByte(query[i+1:], ch)
			if end < 0 { // unterminated: Postgres will say so
				b.WriteString(query[i:])
				i = len(query)
				break
			}
			b.WriteString(query[i : i+end+2])
			i += end + 1
		case ch == '-' && i+1 < len(query) && query[i+1] == '-':
			end := strings.IndexByte(query[i:], '\n')
			if end < 0 {
				end = len(query) - i
			}
			b.WriteString(query[i : i+end])
			i += end - 1
		case ch == '$' && i+1 < len(query) && query[i+1] >= '0' && query[i+1] <= '9':
			rebound.Store(query, query)
			return query
		case ch == '?':
			j := i + 1
			for j < len(query) && query[j] >= '0' && query[j] <= '9' {
				j++
			}
			b.WriteByte('$')
			if j > i+1 {
				b.WriteString(query[i+1 : j])
			} else {
				n++
				b.WriteString(strconv.Itoa(n))
			}
			i = j - 1
		default:
			b.WriteByte(ch)
		}
	}
	out := b.String()
	rebound.Store(query, out)
	return out
}

var rebound sync.Map // query → rebound query
