// Package dbtest gives each test a database of its own, on the engine the
// test run is for: a SQLite file in the test's temporary folder, or, when
// SKIFF_TEST_POSTGRES names a PostgreSQL server (`make test-postgres` starts
// one with tools/withpostgres), a new database on it, dropped when the test
// ends. Tests pass what Target returns to db.Open.
package dbtest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for creating and dropping databases
)

// Postgres reports whether this test run is for PostgreSQL.
func Postgres() bool { return server() != "" }

func server() string { return os.Getenv("SKIFF_TEST_POSTGRES") }

// SQLiteOnly skips a test of what only SQLite has (its file, its pragmas,
// its backups) in a PostgreSQL run, with why.
func SQLiteOnly(t testing.TB, why string) {
	t.Helper()
	if Postgres() {
		t.Skip("SQLite only: " + why)
	}
}

// Target returns a new, empty database for t: a file path or a
// postgres:// URL.
func Target(t testing.TB) string {
	t.Helper()
	if !Postgres() {
		return filepath.Join(t.TempDir(), "skiff.db")
	}
	return NewPostgres(t)
}

var (
	adminOnce sync.Once
	admin     *sql.DB
	adminErr  error
	made      atomic.Int64
)

// NewPostgres creates a database on the test server and returns its URL.
func NewPostgres(t testing.TB) string {
	t.Helper()
	base := server()
	if base == "" {
		t.Fatal("dbtest: SKIFF_TEST_POSTGRES is not set")
	}
	adminOnce.Do(func() {
		admin, adminErr = sql.Open("pgx", base)
		if adminErr == nil {
			admin.SetMaxOpenConns(2)
		}
	})
	if adminErr != nil {
		t.Fatal(adminErr)
	}
	name := fmt.Sprintf("skiff_test_%d_%d", os.Getpid(), made.Add(1))
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatalf("dbtest: create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(ctx, `DROP DATABASE `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("dbtest: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
