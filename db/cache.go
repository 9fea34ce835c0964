package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// The read cache keeps in memory the two reads every authenticated request
// makes, its session (SessionData) and its user with their plan
// (UserForSession), and one more: the dashboard's recent projects
// (RecentProjects), the page a logged-in visitor lands on. Nothing else:
// anything cached must be worth it in `make bench`, and every entry is one
// more thing that can be stale. The dashboard's was measured: with the
// session and the user cached and its projects read from SQLite, its read
// transaction made the dashboard 28% of the bare handler (target 40%); cached,
// 4x% (the README's Performance section).
//
// It is one seam. The three methods below take the place, on a DB, of the
// Queries methods of the same names, and are the only ones that read the
// cache. What they hand out is the caller's own: a new []byte, a new
// *Subscription, a new slice. READ_CACHE=off (SetReadCache) sends every read
// to SQLite.
//
// To remove it from a fork: delete cache.go, cache_test.go and watch.go. In
// db.go drop the `hot readCache` field and the two `d.hot.close()` calls,
// open the writer with `writer, err := sqlite.NewConnector(dsn)` (and import
// "modernc.org/sqlite" without the _). In app/server.go drop the
// SetReadCache line (READ_CACHE in app/config.go then does nothing: drop it
// too). d.SessionData, d.UserForSession and d.RecentProjects are then the
// Queries methods.
//
// The cache forgets everything whenever anything is committed:
//
//   - by this process: the writer's connections report every commit
//     (watch.go), so a revoked session or a bumped auth_epoch is seen by the
//     very next request;
//   - by another process (the sqlite3 shell, `skiff stripe-sync`): SQLite's
//     `PRAGMA data_version`, read on a connection of its own, changes when
//     another connection commits. It is read at most every
//     externalCheckInterval, so such a change is seen within that time.
//
// Loading the session and the user then costs no SQL at all: no query, and
// no read transaction with its shared-memory locks.

// SessionData is Queries.SessionData, served from the read cache until the
// next commit: it runs on every request that carries a cookie. The bytes are
// the caller's own.
func (d *DB) SessionData(ctx context.Context, token string) ([]byte, bool, error) {
	s, err := cached(&d.hot, &d.hot.sessions, token, func() (cachedSession, error) {
		b, expiry, ok, err := d.Queries.sessionData(ctx, token)
		if err == nil && !ok {
			err = errNoSession // not cached: a random cookie must not take a place
		}
		return cachedSession{data: string(b), expiry: expiry}, err
	})
	if errors.Is(err, errNoSession) || (err == nil && !time.Now().Before(s.expiry)) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return []byte(s.data), true, nil
}

var errNoSession = errors.New("db: no such session")

// UserForSession is Queries.UserForSession, served from the read cache until
// the next commit: it runs on every authenticated request. Its Sub is the
// caller's own copy.
func (d *DB) UserForSession(ctx context.Context, id int64, sid string) (SessionUser, error) {
	su, err := cached(&d.hot, &d.hot.users, userKey{id, sid}, func() (SessionUser, error) {
		return d.Queries.UserForSession(ctx, id, sid)
	})
	if su.Sub != nil {
		sub := *su.Sub // the cached one stays unshared
		su.Sub = &sub
	}
	return su, err
}

// RecentProjects is Queries.RecentProjects, served from the read cache until
// the next commit: the dashboard reads it on every view. The slice is the
// caller's own copy (Project holds only values).
func (d *DB) RecentProjects(ctx context.Context, sc Scope, limit, countUpTo int) ([]Project, int, error) {
	r, err := cached(&d.hot, &d.hot.projects, projectsKey{sc, limit, countUpTo}, func() (recentProjects, error) {
		list, total, err := d.Queries.RecentProjects(ctx, sc, limit, countUpTo)
		return recentProjects{list, total}, err
	})
	return slices.Clone(r.list), r.total, err
}

// SetReadCache turns the read cache on (the default) or off (READ_CACHE=off):
// off, every read goes to SQLite.
func (d *DB) SetReadCache(on bool) { d.hot.off.Store(!on || d.pg) }

// readCache holds the cached reads and decides when they may be served.
type readCache struct {
	off atomic.Bool // READ_CACHE=off

	// version changes on every commit seen; entries are stored under the
	// version current when their read began, and only served under it.
	version atomic.Uint64

	// data_version is only comparable on one connection: a new connection
	// starts again from its own number. So one connection is pinned, and
	// replaced (with the cache emptied) when it fails.
	conn        *sql.DB
	pinned      *sql.Conn    // guarded by checking
	dataVersion int64        // the last value read on pinned; guarded by checking
	lastCheck   atomic.Int64 // Unix nanoseconds of the last successful read
	checking    atomic.Bool

	sessions memo[string, cachedSession]
	users    memo[userKey, SessionUser]        // never handed out as is: Sub is a pointer
	projects memo[projectsKey, recentProjects] // never handed out as is: list is a slice
}

// externalCheckInterval is how often data_version is read. A commit by
// another process is seen within it; if a read is overdue by as long again
// (SQLite busy, the check failing), requests bypass the cache meanwhile.
const externalCheckInterval = 100 * time.Millisecond

type userKey struct {
	id  int64
	sid string
}

type projectsKey struct {
	scope            Scope // the team, and the member asking
	limit, countUpTo int
}

type recentProjects struct {
	list  []Project
	total int
}

// cachedSession holds the data as a string: it cannot be changed, and each
// caller's []byte is a copy.
type cachedSession struct {
	data   string
	expiry time.Time
}

// maxCached bounds each map; past it the map starts again empty.
const maxCached = 10_000

// open opens the cache's connection for data_version and returns the
// writer's connector, whose commits empty the cache.
func (c *readCache) open(dsn string) (driver.Connector, error) {
	writer, err := newWatchedConnector(dsn, c.changed)
	if err != nil {
		return nil, err
	}
	conn, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	conn.SetMaxOpenConns(1)
	c.conn = conn
	return writer, nil
}

func (c *readCache) close() {
	if c.pinned != nil {
		c.pinned.Close()
	}
	if c.conn != nil {
		c.conn.Close()
	}
}

// changed is called after every commit of this process.
func (c *readCache) changed() { c.version.Add(1) }

// current returns the version under which a read starting now may be cached
// or served. ok is false when the cache must not be used: it is off, or the
// check for other processes' commits is overdue or failed.
func (c *readCache) current() (v uint64, ok bool) {
	if c.off.Load() {
		return 0, false
	}
	now := time.Now().UnixNano()
	since := now - c.lastCheck.Load()
	if since < int64(externalCheckInterval) {
		return c.version.Load(), true
	}
	if !c.checking.CompareAndSwap(false, true) {
		// Another request is checking right now.
		return c.version.Load(), since < 2*int64(externalCheckInterval)
	}
	defer c.checking.Store(false)
	dv, err := c.readDataVersion()
	if err != nil {
		return 0, false
	}
	if dv != c.dataVersion {
		c.dataVersion = dv
		c.changed()
	}
	c.lastCheck.Store(now)
	return c.version.Load(), true
}

// readDataVersion reads data_version on the pinned connection, pinning a new
// one if needed. The caller holds checking.
func (c *readCache) readDataVersion() (int64, error) {
	// Not the request's context: a client going away must not break the
	// pinned connection.
	ctx, cancel := context.WithTimeout(context.Background(), externalCheckInterval)
	defer cancel()
	if c.pinned == nil {
		p, err := c.conn.Conn(ctx)
		if err != nil {
			return 0, err
		}
		// A new connection's numbers mean nothing against the old one's:
		// -1 makes the first read count as a change.
		c.pinned, c.dataVersion = p, -1
	}
	var dv int64
	if err := c.pinned.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&dv); err != nil {
		c.pinned.Close()
		c.pinned = nil
		return 0, err
	}
	return dv, nil
}

// memo is one map of the cache.
type memo[K comparable, V any] struct {
	mu      sync.Mutex
	version uint64
	m       map[K]V
}

func (m *memo[K, V]) get(v uint64, k K) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	val, ok := m.m[k]
	return val, ok && v == m.version
}

// put stores val read under version v, unless a newer version was seen
// since: the read may predate a commit.
func (m *memo[K, V]) put(v uint64, k K, val V) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v < m.version {
		return
	}
	if v > m.version || m.m == nil || len(m.m) >= maxCached {
		m.version, m.m = v, map[K]V{}
	}
	m.m[k] = val
}

// cached serves read from m under the current version, or runs it and
// remembers what it returned.
func cached[K comparable, V any](c *readCache, m *memo[K, V], k K, read func() (V, error)) (V, error) {
	v, ok := c.current()
	if ok {
		if val, hit := m.get(v, k); hit {
			return val, nil
		}
	}
	val, err := read()
	if err == nil && ok {
		m.put(v, k, val)
	}
	return val, err
}
