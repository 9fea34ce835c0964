package db

import (
	"context"
	"database/sql"
	"fmt"
	"skiff/db/dbtest"
	"sync"
	"testing"
	"time"
)

// TestCacheSeesEveryWriteOfThisProcess: each way of writing through the
// writer pool (a statement, a statement with RETURNING, a prepared statement,
// a transaction) empties the cache as soon as it returns, with no wait.
func TestCacheSeesEveryWriteOfThisProcess(t *testing.T) {
	dbtest.SQLiteOnly(t, "the read cache is off on PostgreSQL (TestNoReadCacheOnPostgres)")
	ctx := context.Background()
	d, _ := openTestDB(t)
	u, err := d.CreateUser(ctx, "ada@example.com", "", false)
	if err != nil {
		t.Fatal(err)
	}
	name := func() string {
		t.Helper()
		su, err := d.UserForSession(ctx, u.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		return su.User.DisplayName
	}
	writes := map[string]func(name string) error{
		"exec": func(name string) error {
			_, err := d.Write.ExecContext(ctx, `UPDATE users SET display_name = ? WHERE id = ?`, name, u.ID)
			return err
		},
		"returning": func(name string) error {
			var id int64
			return d.Write.QueryRowContext(ctx, `UPDATE users SET display_name = ? WHERE id = ? RETURNING id`, name, u.ID).Scan(&id)
		},
		"prepared": func(name string) error {
			st, err := d.Write.PrepareContext(ctx, `UPDATE users SET display_name = ? WHERE id = ?`)
			if err != nil {
				return err
			}
			defer st.Close()
			_, err = st.ExecContext(ctx, name, u.ID)
			return err
		},
		"transaction": func(name string) error {
			return d.Tx(ctx, func(q Queries) error {
				_, err := q.writer.ExecContext(ctx, `UPDATE users SET display_name = ? WHERE id = ?`, name, u.ID)
				return err
			})
		},
	}
	for how, write := range writes {
		t.Run(how, func(t *testing.T) {
			before := name()
			if name() != before {
				t.Fatal("two reads without a write differ")
			}
			if err := write("by " + how); err != nil {
				t.Fatal(err)
			}
			if got := name(); got != "by "+how {
				t.Fatalf("after the write the cached read says %q, want %q", got, "by "+how)
			}
		})
	}

	// A rolled-back transaction changes nothing, and the cache still agrees.
	want := name()
	d.Tx(ctx, func(q Queries) error {
		q.writer.ExecContext(ctx, `UPDATE users SET display_name = 'rolled back' WHERE id = ?`, u.ID)
		return fmt.Errorf("abort")
	})
	if got := name(); got != want {
		t.Fatalf("after a rollback: %q, want %q", got, want)
	}
}

// TestCacheSeesOtherProcesses: a commit on a connection of its own (the
// sqlite3 shell, `skiff stripe-sync`) is seen within externalCheckInterval.
func TestCacheSeesOtherProcesses(t *testing.T) {
	dbtest.SQLiteOnly(t, "the read cache is off on PostgreSQL (TestNoReadCacheOnPostgres)")
	ctx := context.Background()
	d, path := openTestDB(t)
	u, err := d.CreateUser(ctx, "ada@example.com", "", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.UserForSession(ctx, u.ID, ""); err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Exec(`UPDATE users SET email = 'ada@elsewhere.example'`); err != nil {
		t.Fatal(err)
	}
	changed := time.Now()
	for {
		su, err := d.UserForSession(ctx, u.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if su.User.Email == "ada@elsewhere.example" {
			break
		}
		// Generous: the check runs within externalCheckInterval, but a
		// loaded CI machine can pause this goroutine.
		if time.Since(changed) > 50*externalCheckInterval {
			t.Fatalf("another connection's commit unseen after %v", time.Since(changed))
		}
		time.Sleep(externalCheckInterval / 10)
	}
}

// TestCacheUnderConcurrentWrites: readers racing a writer never keep a value
// read before a commit once that commit has returned (run with -race).
func TestCacheUnderConcurrentWrites(t *testing.T) {
	dbtest.SQLiteOnly(t, "the read cache is off on PostgreSQL (TestNoReadCacheOnPostgres)")
	ctx := context.Background()
	d, _ := openTestDB(t)
	u, err := d.CreateUser(ctx, "ada@example.com", "", false)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() {
		close(stop)
		wg.Wait()
	}()
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					d.UserForSession(ctx, u.ID, "")
				}
			}
		})
	}
	for i := range 200 {
		want := fmt.Sprint("name ", i)
		if err := d.SetDisplayName(ctx, u.ID, want); err != nil {
			t.Fatal(err)
		}
		su, err := d.UserForSession(ctx, u.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if su.User.DisplayName != want {
			t.Fatalf("write %d: read %q after the commit returned", i, su.User.DisplayName)
		}
	}
}

// TestCacheVersionCheckEdges: a lost data_version connection is replaced and
// counts as a change; an overdue check makes requests bypass the cache; a
// rollback leaves the cache alone.
func TestCacheVersionCheckEdges(t *testing.T) {
	dbtest.SQLiteOnly(t, "the read cache is off on PostgreSQL (TestNoReadCacheOnPostgres)")
	ctx := context.Background()
	d, path := openTestDB(t)
	u, err := d.CreateUser(ctx, "ada@example.com", "", false)
	if err != nil {
		t.Fatal(err)
	}
	email := func() string {
		t.Helper()
		su, err := d.UserForSession(ctx, u.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		return su.User.Email
	}
	email() // cached, and a connection pinned for data_version

	t.Run("lost connection", func(t *testing.T) {
		other, err := sql.Open("sqlite", DSN(path))
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		// As if it broke: closed for good, not back to the pool.
		d.hot.conn.SetMaxIdleConns(0)
		d.hot.pinned.Close()
		d.hot.conn.SetMaxIdleConns(1)
		if _, err := other.Exec(`UPDATE users SET email = 'ada@elsewhere.example'`); err != nil {
			t.Fatal(err)
		}
		d.hot.lastCheck.Store(0)
		email() // the check fails: read from the database, not the cache
		// The worst case: the new connection happens to report the number
		// the old one last did.
		third, err := sql.Open("sqlite", DSN(path))
		if err != nil {
			t.Fatal(err)
		}
		defer third.Close()
		var fresh int64
		if err := third.QueryRow(`PRAGMA data_version`).Scan(&fresh); err != nil {
			t.Fatal(err)
		}
		d.hot.dataVersion = fresh
		d.hot.lastCheck.Store(0)
		if got := email(); got != "ada@elsewhere.example" {
			t.Fatalf("after a new data_version connection: %q", got)
		}
	})

	t.Run("overdue check", func(t *testing.T) {
		d.hot.checking.Store(true) // a check is stuck
		defer d.hot.checking.Store(false)
		d.hot.lastCheck.Store(time.Now().Add(-3 * externalCheckInterval).UnixNano())
		if _, ok := d.hot.current(); ok {
			t.Fatal("the cache was trusted while its check was overdue")
		}
		d.hot.lastCheck.Store(time.Now().Add(-externalCheckInterval * 3 / 2).UnixNano())
		if _, ok := d.hot.current(); !ok {
			t.Fatal("the cache was bypassed while another request was checking on time")
		}
	})

	t.Run("rollback", func(t *testing.T) {
		before := d.hot.version.Load()
		d.Tx(ctx, func(q Queries) error {
			q.writer.ExecContext(ctx, `UPDATE users SET email = 'nobody@example.com'`)
			return fmt.Errorf("abort")
		})
		if d.hot.version.Load() != before {
			t.Fatal("a rollback emptied the cache")
		}
		if got := email(); got != "ada@elsewhere.example" {
			t.Fatalf("after a rollback: %q", got)
		}
	})
}

// cacheFixture makes a user with an active subscription and a session row
// through the writer, in SQL that does not depend on this package's methods.
func cacheFixture(t *testing.T, d *DB) (userID int64, token string) {
	t.Helper()
	ctx := context.Background()
	if err := d.Write.QueryRowContext(ctx, `
		INSERT INTO users (email, created_at, updated_at) VALUES ('ada@example.com', ?, ?) RETURNING id`,
		now(), now()).Scan(&userID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write.ExecContext(ctx, `
		INSERT INTO teams (name, owner_id, personal, created_at) VALUES ('Personal', ?, 1, ?)`, userID, now()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write.ExecContext(ctx, `
		INSERT INTO memberships (team_id, user_id, role, created_at) SELECT id, ?1, 'admin', ?2 FROM teams WHERE owner_id = ?1`,
		userID, now()); err != nil {
		t.Fatal(err)
	}
	var team int64
	if err := d.Write.QueryRowContext(ctx, `SELECT id FROM teams WHERE owner_id = ?`, userID).Scan(&team); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ApplySubscription(ctx, Subscription{ID: "sub_ada", TeamID: team, CustomerID: "cus_ada",
		PriceID: "price_pro", Plan: "pro", Status: "active", Version: 1}); err != nil {
		t.Fatal(err)
	}
	token = "hashed-token"
	if _, err := d.Write.ExecContext(ctx, `INSERT INTO sessions (token, data, expiry) VALUES (?, ?, ?)`,
		token, []byte(`{"user_id":1}`), sessionExpiry(d, time.Now().Add(24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	return userID, token
}

// TestCacheHandsOutCopies: what one request gets from the cache is its own.
// Changing it (scs decoding a session in place, a handler adjusting the
// subscription it was given) must not reach the next request.
func TestCacheHandsOutCopies(t *testing.T) {
	dbtest.SQLiteOnly(t, "the read cache is off on PostgreSQL (TestNoReadCacheOnPostgres)")
	ctx := context.Background()
	d, _ := openTestDB(t)
	id, token := cacheFixture(t, d)
	// The first read fills the cache, the next ones are served from it.
	t.Run("session data", func(t *testing.T) {
		for range 3 {
			b, ok, err := d.SessionData(ctx, token)
			if err != nil || !ok {
				t.Fatalf("session: %v, %v", ok, err)
			}
			if string(b) != `{"user_id":1}` {
				t.Fatalf("session data %q: an earlier reader's change reached this one", b)
			}
			for i := range b {
				b[i] = 'X'
			}
		}
	})
	t.Run("subscription", func(t *testing.T) {
		for range 3 {
			su, err := d.UserForSession(ctx, id, "")
			if err != nil || su.Sub == nil {
				t.Fatalf("user: %+v, %v", su, err)
			}
			if su.Sub.Status != "active" || su.Sub.Plan != "pro" {
				t.Fatalf("subscription %+v: an earlier reader's change reached this one", *su.Sub)
			}
			su.Sub.Status, su.Sub.Plan = "canceled", "free"
		}
	})
	t.Run("recent projects", func(t *testing.T) {
		sc, err := d.PersonalScope(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.CreateProject(ctx, sc, "Moon"); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			list, total, err := d.RecentProjects(ctx, sc, 5, 100)
			if err != nil || total != 1 || len(list) != 1 {
				t.Fatalf("recent projects: %v, %d, %v", list, total, err)
			}
			if list[0].Name != "Moon" {
				t.Fatalf("project %q: an earlier reader's change reached this one", list[0].Name)
			}
			list[0].Name = "changed by a reader"
		}
	})
}

// TestReadCacheOff: with READ_CACHE=off (SetReadCache(false)) the hot reads
// still work, and each goes to SQLite: a commit the cache has not heard of
// (another connection's, before the next data_version check) is seen at once.
// The same steps with the cache on serve the cached values, which shows the
// test would notice the switch being ignored.
func TestReadCacheOff(t *testing.T) {
	dbtest.SQLiteOnly(t, "the read cache is off on PostgreSQL (TestNoReadCacheOnPostgres)")
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint("cache on ", on), func(t *testing.T) {
			ctx := context.Background()
			d, path := openTestDB(t)
			d.SetReadCache(on)
			id, token := cacheFixture(t, d)
			read := func() (string, string) {
				t.Helper()
				b, ok, err := d.SessionData(ctx, token)
				if err != nil || !ok {
					t.Fatalf("session: %v, %v", ok, err)
				}
				su, err := d.UserForSession(ctx, id, "")
				if err != nil {
					t.Fatal(err)
				}
				return string(b), su.User.Email
			}
			read()
			other, err := sql.Open("sqlite", DSN(path))
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			if _, err := other.Exec(`UPDATE users SET email = 'ada@elsewhere.example'`); err != nil {
				t.Fatal(err)
			}
			if _, err := other.Exec(`UPDATE sessions SET data = '{"user_id":2}'`); err != nil {
				t.Fatal(err)
			}
			// As if data_version had just been read: a cache that is on
			// trusts itself until the next check.
			d.hot.lastCheck.Store(time.Now().Add(time.Hour).UnixNano())
			data, email := read()
			fresh := data == `{"user_id":2}` && email == "ada@elsewhere.example"
			if fresh == on {
				t.Fatalf("cache on %v: read %q and %q after another connection's commit", on, data, email)
			}
		})
	}
}

// TestReadPoolRefusesWrites: a write through the read pool would not empty
// the read cache, so the pool is query_only and SQLite refuses it.
func TestReadPoolRefusesWrites(t *testing.T) {
	d, _ := openTestDB(t)
	if _, err := d.Read.Exec(`INSERT INTO users (email, created_at, updated_at) VALUES ('x@example.com', 0, 0)`); err == nil {
		t.Fatal("the read pool took a write")
	}
}

// TestQueriesRunAtomically: a method of several statements commits them
// together outside a transaction too, and inside one it joins it (its
// statements roll back with the transaction).
func TestQueriesRunAtomically(t *testing.T) {
	ctx := context.Background()
	d, _ := openTestDB(t)
	u, err := d.CreateUser(ctx, "ada@example.com", "", false)
	if err != nil {
		t.Fatal(err)
	}
	// EnableTOTP updates the user and writes the codes: a duplicate code
	// fails the second statement, and the first must not stay.
	dup := [][]byte{[]byte("same"), []byte("same")}
	if err := d.EnableTOTP(ctx, u.ID, "SECRET", dup); err == nil {
		t.Fatal("duplicate recovery codes were accepted")
	}
	if s, err := d.TOTPSecret(ctx, u.ID); err != nil || s != "" {
		t.Fatalf("after a failed EnableTOTP the secret is %q (%v)", s, err)
	}
	err = d.Tx(ctx, func(q Queries) error {
		if err := q.EnableTOTP(ctx, u.ID, "SECRET", [][]byte{[]byte("a")}); err != nil {
			return err
		}
		return fmt.Errorf("abort")
	})
	if err == nil || err.Error() != "abort" {
		t.Fatal(err)
	}
	if s, err := d.TOTPSecret(ctx, u.ID); err != nil || s != "" {
		t.Fatalf("after a rolled-back transaction the secret is %q (%v)", s, err)
	}
}

// TestNoReadCacheOnPostgres: several instances share a Postgres database,
// and a commit by one would not empty another's cache; so there is none,
// whatever READ_CACHE says, and a change is seen by the next read.
func TestNoReadCacheOnPostgres(t *testing.T) {
	if !dbtest.Postgres() {
		t.Skip("a PostgreSQL run only (make test-postgres)")
	}
	ctx := context.Background()
	d, _ := openTestDB(t)
	d.SetReadCache(true)
	_, token := cacheFixture(t, d)
	if _, ok, err := d.SessionData(ctx, token); err != nil || !ok {
		t.Fatalf("session: ok %v, err %v", ok, err)
	}
	// Another instance's write, through a connection of its own.
	other, err := Open(ctx, d.target)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Write.ExecContext(ctx, `DELETE FROM sessions`); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := d.SessionData(ctx, token); err != nil || ok {
		t.Fatalf("a session deleted by another instance is still found: ok %v, err %v", ok, err)
	}
}

// sessionExpiry is t as scs's store for d's engine keeps it: a Julian day
// number (sqlite3store) or a time (postgresstore).
func sessionExpiry(d *DB, t time.Time) any {
	if d.pg {
		return t
	}
	return float64(t.UnixMilli())/86400000 + 2440587.5
}
