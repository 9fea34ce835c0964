package db

import (
	"context"
	"database/sql"
	"sync"
)

// Reads outside a transaction go through statements prepared once and kept:
// SQLite spends most of a small query's time parsing and planning it, so the
// hot paths (session, user, plan) would otherwise parse the same SQL on every
// request. The map holds one entry per query string in this package's code
// (no query is built from data), so it is bounded.
type preparedReads struct {
	pool  *sql.DB // the read pool
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func (p *preparedReads) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.stmts[query]; ok {
		return s, nil
	}
	s, err := p.pool.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if p.stmts == nil {
		p.stmts = map[string]*sql.Stmt{}
	}
	p.stmts[query] = s
	return s, nil
}

// readContext is ctx without its cancellation, unless it has a deadline.
// Every request's context can be cancelled (net/http cancels it when the
// client goes away), and for such a context database/sql and the driver each
// start a goroutine per query to watch it, and the driver installs a progress
// handler: that doubled the CPU time of the dashboard's projects read (about
// 12 µs against 6 µs). The reads here are short (indexed, paginated), so one
// whose client went away just finishes; a deadline the caller set (the
// readiness probe's) still bounds it.
func readContext(ctx context.Context) context.Context {
	if _, ok := ctx.Deadline(); ok {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

// QueryRowContext runs a one-row read through a prepared statement.
func (p *preparedReads) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = readContext(ctx)
	s, err := p.stmt(ctx, query)
	if err != nil {
		// A *sql.Row cannot be made with an error in it: the pool's own
		// QueryRowContext reports it (a cancelled context, a typo in the SQL).
		return p.pool.QueryRowContext(ctx, query, args...)
	}
	return s.QueryRowContext(ctx, args...)
}

// QueryContext runs a read through a prepared statement.
func (p *preparedReads) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = readContext(ctx)
	s, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

// close releases the prepared statements.
func (p *preparedReads) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.stmts {
		s.Close()
	}
	p.stmts = nil
}
