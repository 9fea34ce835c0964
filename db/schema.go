package db

import (
	"context"
	"strconv"
)

// Table is one of the application's tables and its columns, in order.
type Table struct {
	Name    string
	Columns []string
}

// Tables returns the application's tables by name: not the engine's own
// (sqlite_sequence), nor River's job tables on Postgres.
func (d *DB) Tables(ctx context.Context) ([]Table, error) {
	query := `
		SELECT m.name, c.name FROM sqlite_master m JOIN pragma_table_info(m.name) c
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite!_%' ESCAPE '!'
		ORDER BY m.name, c.cid`
	if d.pg {
		query = `
		SELECT c.table_name, c.column_name
		FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
		  AND c.table_name NOT LIKE 'river!_%' ESCAPE '!'
		ORDER BY c.table_name, c.ordinal_position`
	}
	rows, err := d.Read.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Table
	for rows.Next() {
		var table, column string
		if err := rows.Scan(&table, &column); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].Name != table {
			out = append(out, Table{Name: table})
		}
		out[len(out)-1].Columns = append(out[len(out)-1].Columns, column)
	}
	return out, rows.Err()
}

// Indexes returns the names of the indexes the migrations made (not those
// the engine makes for a primary key or a UNIQUE column).
func (d *DB) Indexes(ctx context.Context) ([]string, error) {
	query := `SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`
	if d.pg {
		query = `
		SELECT i.indexname FROM pg_indexes i
		WHERE i.schemaname = current_schema() AND i.tablename NOT LIKE 'river!_%' ESCAPE '!'
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
		ORDER BY 1`
	}
	rows, err := d.Read.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	return out, rows.Err()
}

// SessionField is the SQL for a value in a sessions row's data, as text
// (for tests and an operator's queries): SessionField("user_id") = ? with
// SessionKey(id).
func (d *DB) SessionField(key string) string { return d.Queries.sessionField(key) }

// SessionKey is id as SessionField gives it.
func SessionKey(id int64) string { return strconv.FormatInt(id, 10) }
