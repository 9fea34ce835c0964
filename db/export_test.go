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
	checkExportCoverage(t, "user_id", "users", exportCoverage, "exportCoverage", Export{StripeCustomer: "cus_x"})
}

// TestEveryTeamTableIsExported: the same for the tables that hold a team's
// rows (team_id), against teamExportCoverage, with ON DELETE CASCADE on
// team_id so that deleting a team (and its owner's account) takes them along.
func TestEveryTeamTableIsExported(t *testing.T) {
	checkExportCoverage(t, "team_id", "teams", teamExportCoverage, "teamExportCoverage", TeamExport{StripeCustomer: "cus_x"})
}

func checkExportCoverage(t *testing.T, column, parent string, coverage map[string]string, name string, export any) {
	t.Helper()
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
		                         WHERE f."from" = ?1 AND f."table" = ?2), '')
		FROM sqlite_master m JOIN pragma_table_info(m.name) c
		WHERE m.type = 'table' AND c.name = ?1 ORDER BY m.name`, column, parent)
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
		if _, ok := coverage[table]; !ok {
			t.Errorf("table %s has a %s but no line in %s (db/account.go): add it to ExportUser, or say why not", table, column, name)
		}
		if onDelete != "CASCADE" {
			t.Errorf("table %s: %s must reference %s(id) ON DELETE CASCADE, so deleting one deletes its rows (has %q)", table, column, parent, onDelete)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// Every key named is one the export really has.
	b, _ := json.Marshal(export)
	var keys map[string]any
	json.Unmarshal(b, &keys)
	for table, where := range coverage {
		if !owned[table] {
			t.Errorf("%s names %s, which has no %s column (renamed or dropped?)", name, table, column)
		}
		if strings.HasPrefix(where, "not exported: ") {
			continue
		}
		if _, ok := keys[where]; !ok {
			t.Errorf("%s says %s goes under %q, which the export does not have", name, table, where)
		}
	}
}
