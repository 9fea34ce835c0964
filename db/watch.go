package db

import (
	"context"
	"database/sql/driver"

	"modernc.org/sqlite"
)

// The read cache (cache.go) must forget everything the moment this process
// commits. Rather than trust every write method to say so, the writer pool's
// connections are wrapped: each statement run on them outside a transaction,
// and each commit or rollback, calls changed once it has returned, that is,
// once SQLite has committed. A write added later cannot forget to invalidate
// the cache.
//
// The wrapper forwards every optional interface modernc's connections
// implement (see sqlite.NewConnector's documentation); without them
// database/sql would fall back to context-free calls.

// watchedConnector opens connections that report their writes to changed.
type watchedConnector struct {
	driver.Connector
	changed func()
}

func newWatchedConnector(dsn string, changed func()) (driver.Connector, error) {
	base, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return watchedConnector{base, changed}, nil
}

func (c watchedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &watchedConn{Conn: conn, changed: c.changed}, nil
}

// modernConn is what every connection modernc.org/sqlite opens implements.
type modernConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

type watchedConn struct {
	driver.Conn
	changed func()
	inTx    bool // statements in a transaction are reported by its end
}

func (c *watchedConn) base() modernConn { return c.Conn.(modernConn) }

// Unwrap lets modernc's helpers (sqlite.Limit...) reach the connection.
func (c *watchedConn) Unwrap() driver.Conn { return c.Conn }

// after reports a statement that ran outside a transaction.
func (c *watchedConn) after() {
	if !c.inTx {
		c.changed()
	}
}

func (c *watchedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	defer c.after()
	return c.base().ExecContext(ctx, query, args)
}

func (c *watchedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.base().QueryContext(ctx, query, args)
	if err != nil {
		c.after()
		return nil, err
	}
	// An INSERT ... RETURNING commits when its rows are closed.
	return &watchedRows{Rows: rows, done: c.after}, nil
}

func (c *watchedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.base().PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return &watchedStmt{Stmt: st, conn: c}, nil
}

func (c *watchedConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *watchedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.base().BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	c.inTx = true
	return &watchedTx{Tx: tx, conn: c}, nil
}

func (c *watchedConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *watchedConn) Ping(ctx context.Context) error         { return c.base().Ping(ctx) }
func (c *watchedConn) ResetSession(ctx context.Context) error { return c.base().ResetSession(ctx) }
func (c *watchedConn) IsValid() bool                          { return c.base().IsValid() }

type watchedTx struct {
	driver.Tx
	conn *watchedConn
}

func (t *watchedTx) Commit() error {
	defer t.end()
	return t.Tx.Commit()
}

// Rollback reports nothing when it worked: the database is as it was (the
// readiness probe rolls back a write on every call).
func (t *watchedTx) Rollback() error {
	t.conn.inTx = false
	err := t.Tx.Rollback()
	if err != nil {
		t.conn.changed()
	}
	return err
}

// end reports a commit. A failed COMMIT is reported too: a needless
// invalidation only costs a re-read.
func (t *watchedTx) end() {
	t.conn.inTx = false
	t.conn.changed()
}

type watchedStmt struct {
	driver.Stmt
	conn *watchedConn
}

func (s *watchedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	defer s.conn.after()
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *watchedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		s.conn.after()
		return nil, err
	}
	return &watchedRows{Rows: rows, done: s.conn.after}, nil
}

// Exec and Query complete driver.Stmt; database/sql calls the Context forms.
func (s *watchedStmt) Exec(args []driver.Value) (driver.Result, error) {
	defer s.conn.after()
	//lint:ignore SA1019 driver.Stmt requires Exec; it passes the call on and database/sql never makes it
	return s.Stmt.Exec(args)
}

func (s *watchedStmt) Query(args []driver.Value) (driver.Rows, error) {
	//lint:ignore SA1019 driver.Stmt requires Query; it passes the call on and database/sql never makes it
	rows, err := s.Stmt.Query(args)
	if err != nil {
		s.conn.after()
		return nil, err
	}
	return &watchedRows{Rows: rows, done: s.conn.after}, nil
}

type watchedRows struct {
	driver.Rows
	done func()
}

func (r *watchedRows) Close() error {
	defer r.done()
	return r.Rows.Close()
}
