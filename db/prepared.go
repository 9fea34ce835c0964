package db

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"
)

// Reads go through statements prepared once and kept: SQLite spends most of
// a small query's time parsing and planning it, so the hot paths (session,
// user, plan) would otherwise parse the same SQL on every request. The cache
// holds one entry per query string in this package's code, so it is bounded.
type stmtCache struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func (d *DB) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	d.cache.mu.Lock()
	defer d.cache.mu.Unlock()
	if s, ok := d.cache.stmts[query]; ok {
		return s, nil
	}
	s, err := d.Read.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if d.cache.stmts == nil {
		d.cache.stmts = map[string]*sql.Stmt{}
	}
	d.cache.stmts[query] = s
	return s, nil
}

// queryRow runs a one-row read through a prepared statement.
func (d *DB) queryRow(ctx context.Context, query string, args ...any) rowScanner {
	s, err := d.stmt(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return s.QueryRowContext(ctx, args...)
}

// query runs a read through a prepared statement.
func (d *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := d.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

type rowScanner interface{ Scan(...any) error }

type errRow struct{ err error }

func (e errRow) Scan(...any) error { return e.err }

// closeStmts releases the prepared statements.
func (d *DB) closeStmts() {
	d.cache.mu.Lock()
	defer d.cache.mu.Unlock()
	for _, s := range d.cache.stmts {
		s.Close()
	}
	d.cache.stmts = nil
}

// SessionData returns the data of an unexpired session (for the session
// store's reads; the token is already hashed by scs).
// It runs on every request that carries a cookie, so it is cached until the
// next commit (cache.go).
func (d *DB) SessionData(ctx context.Context, token string) ([]byte, bool, error) {
	s, err := cached(&d.hot, &d.hot.sessions, token, func() (cachedSession, error) {
		var b []byte
		var expiry float64
		err := d.queryRow(ctx, `SELECT data, expiry FROM sessions WHERE token = ? AND julianday('now') < expiry`, token).Scan(&b, &expiry)
		// expiry is a Julian day number.
		return cachedSession{data: b, expiry: time.UnixMilli(int64((expiry - 2440587.5) * 86400000))}, err
	})
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !time.Now().Before(s.expiry)) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return s.data, true, nil
}
