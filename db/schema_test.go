package db

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"skiff/db/dbtest"
)

// TestSchemasMatch: SQLite's migrations and PostgreSQL's end with the same
// tables, the same columns in each, and the same named indexes. A migration
// written for one engine only fails here. Postgres may have more: seq in
// user_sessions (SQLite's rowid), the second index on users' addresses,
// write_gate and rate_limits.
func TestSchemasMatch(t *testing.T) {
	if !dbtest.Postgres() {
		t.Skip("needs PostgreSQL (make test-postgres)")
	}
	ctx := context.Background()
	lite, err := Open(ctx, filepath.Join(t.TempDir(), "skiff.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	pg, err := Open(ctx, dbtest.NewPostgres(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	for _, d := range []*DB{lite, pg} {
		if _, err := d.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	lt, err := lite.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := pg.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pgOnly := map[string][]string{"user_sessions": {"seq"}}
	byName := map[string][]string{}
	for _, tb := range pt {
		byName[tb.Name] = slices.DeleteFunc(tb.Columns, func(c string) bool { return slices.Contains(pgOnly[tb.Name], c) })
	}
	for _, tb := range lt {
		cols, ok := byName[tb.Name]
		if !ok {
			t.Errorf("table %s is missing on PostgreSQL", tb.Name)
			continue
		}
		delete(byName, tb.Name)
		if !slices.Equal(tb.Columns, cols) {
			t.Errorf("table %s: SQLite has columns %v, PostgreSQL %v", tb.Name, tb.Columns, cols)
		}
	}
	delete(byName, "write_gate")  // the lock of postgres.go, no rows
	delete(byName, "rate_limits") // SQLite's are in memory
	for name := range byName {
		t.Errorf("table %s is on PostgreSQL only", name)
	}

	li, err := lite.Indexes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pi, err := pg.Indexes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pi = slices.DeleteFunc(pi, func(n string) bool {
		return n == "users_email_key" || n == "users_email_lower_idx" || n == "rate_limits_full_idx"
	})
	if !slices.Equal(li, pi) {
		t.Errorf("indexes differ:\nSQLite     %v\nPostgreSQL %v", li, pi)
	}
}

// TestMigrationsRunOnceAcrossInstances: instances starting at once on a new
// Postgres database migrate it once: one takes the advisory lock and applies
// everything, the others wait and find nothing left to do.
func TestMigrationsRunOnceAcrossInstances(t *testing.T) {
	if !dbtest.Postgres() {
		t.Skip("needs PostgreSQL (make test-postgres)")
	}
	ctx := context.Background()
	target := dbtest.NewPostgres(t)
	const n = 4
	applied := make([][]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			d, err := Open(ctx, target)
			if err != nil {
				errs[i] = err
				return
			}
			defer d.Close()
			applied[i], errs[i] = d.Migrate(ctx)
		})
	}
	wg.Wait()
	ran := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("instance %d: %v", i, errs[i])
		}
		if len(applied[i]) > 0 {
			ran++
			if !slices.Contains(applied[i], "0020_schema.sql") {
				t.Fatalf("instance %d applied %v", i, applied[i])
			}
		}
	}
	if ran != 1 {
		t.Fatalf("%d instances applied migrations, want 1: %v", ran, applied)
	}
	d, err := Open(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if pending, err := d.PendingMigrations(ctx); err != nil || len(pending) != 0 {
		t.Fatalf("pending after: %v, %v", pending, err)
	}
	var rows int
	d.Read.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&rows)
	if rows != 1 {
		t.Fatalf("%d rows in schema_migrations, want 1", rows)
	}
}
