package db

import (
	"context"

	"skiff/db/dbtest"
	"testing"
)

// openTestDB opens a migrated database in a temporary folder.
func openTestDB(t *testing.T) (*DB, string) {
	t.Helper()
	path := dbtest.Target(t)
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
