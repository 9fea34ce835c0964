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

// QueryRowContext runs a one-row read through a prepared statement.
func (p *preparedReads) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
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
