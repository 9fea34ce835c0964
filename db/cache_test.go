package db

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func openTestDB(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "skiff.db")
	d, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d, path
}

// TestCacheSeesEveryWriteOfThisProcess: each way of writing through the
// writer pool (a statement, a statement with RETURNING, a prepared statement,
// a transaction) empties the cache as soon as it returns, with no wait.
func TestCacheSeesEveryWriteOfThisProcess(t *testing.T) {
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
			return d.Tx(ctx, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `UPDATE users SET display_name = ? WHERE id = ?`, name, u.ID)
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
	d.Tx(ctx, func(tx *sql.Tx) error {
		tx.ExecContext(ctx, `UPDATE users SET display_name = 'rolled back' WHERE id = ?`, u.ID)
		return fmt.Errorf("abort")
	})
	if got := name(); got != want {
		t.Fatalf("after a rollback: %q, want %q", got, want)
	}
}

// TestCacheSeesOtherProcesses: a commit on a connection of its own (the
// sqlite3 shell, `skiff stripe-sync`) is seen within externalCheckInterval.
func TestCacheSeesOtherProcesses(t *testing.T) {
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
		d.Tx(ctx, func(tx *sql.Tx) error {
			tx.ExecContext(ctx, `UPDATE users SET email = 'nobody@example.com'`)
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
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		if err := Q(tx).EnableTOTP(ctx, u.ID, "SECRET", [][]byte{[]byte("a")}); err != nil {
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
