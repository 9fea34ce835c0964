package db

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryOwnedTableIsExported: every table that holds a user's rows is in
// the data export, or says in exportCoverage why not; and account deletion
// takes its rows along (ON DELETE CASCADE on user_id). Adding a resource
// without deciding both fails here.
func TestEveryOwnedTableIsExported(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := d.Read.QueryContext(ctx, `
		SELECT m.name, coalesce((SELECT f.on_delete FROM pragma_foreign_key_list(m.name) f
		                         WHERE f."from" = 'user_id' AND f."table" = 'users'), '')
		FROM sqlite_master m JOIN pragma_table_info(m.name) c
		WHERE m.type = 'table' AND c.name = 'user_id' ORDER BY m.name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	owned := map[string]bool{}
	for rows.Next() {
		var table, onDelete string
		if err := rows.Scan(&table, &onDelete); err != nil {
			t.Fatal(err)
		}
		owned[table] = true
		if _, ok := exportCoverage[table]; !ok {
			t.Errorf("table %s has a user_id but no line in exportCoverage (db/account.go): add it to ExportUser, or say why not", table)
		}
		if onDelete != "CASCADE" {
			t.Errorf("table %s: user_id must reference users(id) ON DELETE CASCADE, so deleting an account deletes its rows (has %q)", table, onDelete)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// Every key named is one the export really has.
	b, _ := json.Marshal(Export{StripeCustomer: "cus_x"})
	var keys map[string]any
	json.Unmarshal(b, &keys)
	for table, where := range exportCoverage {
		if !owned[table] {
			t.Errorf("exportCoverage names %s, which has no user_id column (renamed or dropped?)", table)
		}
		if strings.HasPrefix(where, "not exported: ") {
			continue
		}
		if _, ok := keys[where]; !ok {
			t.Errorf("exportCoverage says %s goes under %q, which the export does not have", table, where)
		}
	}
}
