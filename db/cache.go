package db

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// readCache keeps the two reads every authenticated request makes (its
// session, and its user with their plan) in memory, and throws everything
// away as soon as anything is committed to the database, by this process or
// any other (a `skiff stripe-sync`, the sqlite3 shell): SQLite's
// `PRAGMA data_version`, read on a connection of its own, changes whenever
// another connection commits. So a revoked session or a bumped auth_epoch is
// seen on the very next request, and a read-only request costs one tiny
// query instead of two joins.
type readCache struct {
	conn *sql.DB // one connection, used only for data_version
	stmt *sql.Stmt

	mu       sync.Mutex
	version  int64
	sessions map[string]cachedSession
	users    map[userKey]SessionUser
}

type userKey struct {
	id  int64
	sid string
}

type cachedSession struct {
	data   []byte
	expiry time.Time
}

// maxCached bounds each map; past it the cache starts again empty.
const maxCached = 50_000

func (c *readCache) open(dsn string) error {
	conn, err := sql.Open("sqlite", dsn)
	if err != nil {
		return err
	}
	conn.SetMaxOpenConns(1)
	conn.SetMaxIdleConns(1)
	conn.SetConnMaxIdleTime(0)
	stmt, err := conn.Prepare(`PRAGMA data_version`)
	if err != nil {
		conn.Close()
		return err
	}
	c.conn, c.stmt = conn, stmt
	return nil
}

func (c *readCache) close() {
	if c.conn != nil {
		c.stmt.Close()
		c.conn.Close()
	}
}

// current checks the database's version and empties the cache if anything
// was committed since it was filled. It returns the version the caller may
// store entries under; ok is false when the check itself failed.
func (c *readCache) current(ctx context.Context) (int64, bool) {
	var v int64
	if err := c.stmt.QueryRowContext(ctx).Scan(&v); err != nil {
		return 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v != c.version || c.sessions == nil || len(c.sessions) > maxCached || len(c.users) > maxCached {
		c.version = v
		c.sessions = map[string]cachedSession{}
		c.users = map[userKey]SessionUser{}
	}
	return v, true
}

func (c *readCache) session(v int64, token string) (cachedSession, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.sessions[token]
	return s, ok && v == c.version && time.Now().Before(s.expiry)
}

func (c *readCache) putSession(v int64, token string, s cachedSession) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v == c.version {
		c.sessions[token] = s
	}
}

func (c *readCache) user(v int64, id userKey) (SessionUser, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.users[id]
	return u, ok && v == c.version
}

func (c *readCache) putUser(v int64, id userKey, u SessionUser) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v == c.version {
		c.users[id] = u
	}
}

type snapshotKey struct{}

// snapshot remembers, for one request, the version its cached reads were
// checked against: the session and the user of a request come from the same
// moment, for one data_version query instead of one per read.
type snapshot struct {
	version     int64
	ok, checked bool
}

// WithSnapshot returns a context whose cached reads check the database's
// version once. Use one per request.
func WithSnapshot(ctx context.Context) context.Context {
	return context.WithValue(ctx, snapshotKey{}, &snapshot{})
}

// versionFor is current, once per snapshot.
func (c *readCache) versionFor(ctx context.Context) (int64, bool) {
	s, _ := ctx.Value(snapshotKey{}).(*snapshot)
	if s == nil {
		return c.current(ctx)
	}
	if !s.checked {
		s.version, s.ok = c.current(ctx)
		s.checked = true
	}
	return s.version, s.ok
}
