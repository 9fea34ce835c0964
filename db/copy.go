package db

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Moving from the SQLite file to PostgreSQL (`skiff copy-to-postgres`).

// CopyReport is what CopyToPostgres copied: each table's rows, as counted
// in both databases afterwards.
type CopyReport struct {
	Tables []CopiedTable
}

// CopiedTable is one table's rows in the SQLite file and in Postgres.
type CopiedTable struct {
	Name             string
	SQLite, Postgres int64
}

// derived tables are kept by triggers on Postgres from the rows copied
// (users, subscriptions): copying them would count everything twice. They
// are compared after the copy like the others.
var derivedTables = []string{"signups_by_day", "entitled_subscriptions"}

// CopyToPostgres copies every row of the SQLite database from into the
// Postgres database to, which must be migrated and empty, in one
// transaction: on any error nothing is left in it. The ids are kept, and
// each identity continues after the highest id SQLite ever handed out, so an
// id is never given twice across the move. Then it counts every table on
// both sides; a difference is an error. progress is told each table as it
// is copied.
func CopyToPostgres(ctx context.Context, from, to *DB, progress func(table string, rows int64)) (CopyReport, error) {
	var report CopyReport
	if from.pg || !to.pg {
		return report, errors.New("copy: from must be a SQLite database and to a PostgreSQL one")
	}
	for _, d := range []*DB{from, to} {
		pending, err := d.PendingMigrations(ctx)
		if err != nil {
			return report, err
		}
		if len(pending) > 0 {
			return report, fmt.Errorf("copy: %s is not migrated (pending: %s)", d.Target(), strings.Join(pending, ", "))
		}
	}
	tables, err := from.Tables(ctx)
	if err != nil {
		return report, err
	}
	order, err := to.tablesParentsFirst(ctx)
	if err != nil {
		return report, err
	}
	pgTables, err := to.Tables(ctx)
	if err != nil {
		return report, err
	}
	pgColumns := map[string][]string{}
	for _, t := range pgTables {
		pgColumns[t.Name] = t.Columns
	}
	byName := map[string]Table{}
	for _, t := range tables {
		byName[t.Name] = t
	}
	for _, t := range tables {
		if t.Name != "schema_migrations" && !slices.Contains(order, t.Name) {
			return report, fmt.Errorf("copy: the table %s is not in the Postgres schema", t.Name)
		}
	}
	// Nothing is copied into a database that holds anything.
	for _, name := range order {
		var n int64
		if err := to.Read.QueryRowContext(ctx, `SELECT count(*) FROM `+name).Scan(&n); err != nil {
			return report, err
		}
		if n > 0 && name != "schema_migrations" {
			return report, fmt.Errorf("copy: %s is not empty (%s has %d rows): copy into a new, empty database", to.Target(), name, n)
		}
	}

	conn, err := pgx.ConnectConfig(ctx, mustConnConfig(to.target))
	if err != nil {
		return report, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
	if err != nil {
		return report, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// Hold every other writer off: a server started on it by mistake
	// meanwhile would mix its rows with the copy.
	if _, err := tx.Exec(ctx, `LOCK TABLE write_gate IN EXCLUSIVE MODE`); err != nil {
		return report, err
	}
	for _, name := range order {
		t, ok := byName[name]
		if !ok || name == "schema_migrations" || slices.Contains(derivedTables, name) {
			continue
		}
		n, err := copyTable(ctx, from, tx, t, pgColumns[name])
		if err != nil {
			return report, fmt.Errorf("copy: %s: %w", name, err)
		}
		if progress != nil {
			progress(name, n)
		}
	}
	if err := continueIdentities(ctx, from, tx); err != nil {
		return report, err
	}
	if err := tx.Commit(ctx); err != nil {
		return report, err
	}

	// Count both sides, the derived tables included (compared by content:
	// a day or plan at zero is a row on one side and none on the other).
	var bad []string
	for _, name := range order {
		if _, ok := byName[name]; !ok || name == "schema_migrations" {
			continue
		}
		c := CopiedTable{Name: name}
		q := `SELECT count(*) FROM ` + name
		if slices.Contains(derivedTables, name) {
			q += ` WHERE ` + map[string]string{"signups_by_day": "users", "entitled_subscriptions": "subscriptions"}[name] + ` > 0`
		}
		if err := from.Read.QueryRowContext(ctx, q).Scan(&c.SQLite); err != nil {
			return report, err
		}
		if err := to.Read.QueryRowContext(ctx, q).Scan(&c.Postgres); err != nil {
			return report, err
		}
		if c.SQLite != c.Postgres {
			bad = append(bad, fmt.Sprintf("%s: %d rows in SQLite, %d in Postgres", name, c.SQLite, c.Postgres))
		}
		report.Tables = append(report.Tables, c)
	}
	for _, check := range []string{
		`SELECT coalesce(sum(users), 0) FROM signups_by_day`,
		`SELECT coalesce(sum(subscriptions), 0) * 1000000 + coalesce(sum(seats), 0) FROM entitled_subscriptions`,
	} {
		var a, b int64
		from.Read.QueryRowContext(ctx, check).Scan(&a)
		to.Read.QueryRowContext(ctx, check).Scan(&b)
		if a != b {
			bad = append(bad, fmt.Sprintf("%s: %d in SQLite, %d in Postgres", check, a, b))
		}
	}
	if len(bad) > 0 {
		return report, fmt.Errorf("copy: the counts differ after the copy: %s", strings.Join(bad, "; "))
	}
	return report, nil
}

func mustConnConfig(url string) *pgx.ConnConfig {
	cfg, err := pgxConnConfig(url)
	if err != nil {
		panic(err) // to was opened from it
	}
	return cfg
}

// copyTable streams t's rows from SQLite into Postgres with COPY, in
// primary key order (rowid for user_sessions, whose seq numbers them).
func copyTable(ctx context.Context, from *DB, tx pgx.Tx, t Table, pgCols []string) (int64, error) {
	cols := slices.Clone(t.Columns)
	for _, c := range cols {
		if !slices.Contains(pgCols, c) {
			return 0, fmt.Errorf("no column %s in Postgres", c)
		}
	}
	rows, err := from.Read.QueryContext(ctx, `SELECT `+strings.Join(cols, ", ")+` FROM `+t.Name+` ORDER BY rowid`)
	if err != nil && strings.Contains(err.Error(), "no such column: rowid") {
		rows, err = from.Read.QueryContext(ctx, `SELECT `+strings.Join(cols, ", ")+` FROM `+t.Name)
	}
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	src := &sqliteRows{rows: rows, table: t.Name, cols: cols, vals: make([]any, len(cols))}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{t.Name}, cols, src)
	if err != nil {
		return n, err
	}
	return n, rows.Err()
}

// sqliteRows is a pgx.CopyFromSource over SQLite's rows, turning its values
// into Postgres': the session store's expiry (a Julian day for
// sqlite3store, a time for postgresstore), and times stored as text.
type sqliteRows struct {
	rows interface {
		Next() bool
		Scan(...any) error
		Err() error
	}
	table string
	cols  []string
	vals  []any
	err   error
}

func (s *sqliteRows) Next() bool { return s.err == nil && s.rows.Next() }
func (s *sqliteRows) Err() error { return errors.Join(s.err, s.rows.Err()) }
func (s *sqliteRows) Values() ([]any, error) {
	ptrs := make([]any, len(s.vals))
	for i := range s.vals {
		ptrs[i] = &s.vals[i]
	}
	if err := s.rows.Scan(ptrs...); err != nil {
		s.err = err
		return nil, err
	}
	out := make([]any, len(s.vals))
	for i, v := range s.vals {
		switch v := v.(type) {
		case float64:
			if s.table == "sessions" && s.cols[i] == "expiry" {
				out[i] = time.UnixMilli(int64((v - 2440587.5) * 86400000)).UTC()
				continue
			}
			out[i] = v
		case string:
			// A DATETIME column comes back as a time when SQLite's driver
			// can read it; one it could not is kept as text.
			if t, err := time.Parse(storedTime, v); err == nil && strings.HasSuffix(s.cols[i], "_at") {
				out[i] = t
				continue
			}
			out[i] = v
		default:
			out[i] = v
		}
	}
	return out, nil
}

// continueIdentities makes each identity column hand out ids above any id
// SQLite ever gave: its highest row's, or sqlite_sequence's when rows with
// the highest ids were deleted.
func continueIdentities(ctx context.Context, from *DB, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `
		SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND is_identity = 'YES' AND table_name NOT LIKE 'river!_%' ESCAPE '!'
		  AND table_name <> 'user_sessions'`)
	if err != nil {
		return err
	}
	type ident struct{ table, column string }
	var ids []ident
	for rows.Next() {
		var i ident
		if err := rows.Scan(&i.table, &i.column); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, i)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, i := range ids {
		var seq, maxID int64
		from.Read.QueryRowContext(ctx, `SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?), 0)`, i.table).Scan(&seq)
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(`+i.column+`), 0) FROM `+i.table).Scan(&maxID); err != nil {
			return err
		}
		if next := max(seq, maxID); next > 0 {
			if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, $2), $3)`, i.table, i.column, next); err != nil {
				return fmt.Errorf("copy: continue %s.%s after %d: %w", i.table, i.column, next, err)
			}
		}
	}
	return nil
}

// tablesParentsFirst returns the application's tables (River's aside) in an
// order where every table comes after those its foreign keys point at.
func (d *DB) tablesParentsFirst(ctx context.Context) ([]string, error) {
	tables, err := d.Tables(ctx)
	if err != nil {
		return nil, err
	}
	parents := map[string][]string{}
	rows, err := d.Read.QueryContext(ctx, `
		SELECT c.conrelid::regclass::text, c.confrelid::regclass::text
		FROM pg_constraint c WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var child, parent string
		if err := rows.Scan(&child, &parent); err != nil {
			rows.Close()
			return nil, err
		}
		if child != parent {
			parents[child] = append(parents[child], parent)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var order []string
	done := map[string]bool{}
	var visit func(string, int) error
	visit = func(t string, depth int) error {
		if done[t] {
			return nil
		}
		if depth > len(tables) {
			return fmt.Errorf("copy: foreign keys in a cycle through %s", t)
		}
		for _, p := range parents[t] {
			if err := visit(p, depth+1); err != nil {
				return err
			}
		}
		done[t] = true
		order = append(order, t)
		return nil
	}
	for _, t := range tables {
		if err := visit(t.Name, 0); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// CopyToSQLite writes a consistent snapshot of the Postgres database from
// into a new SQLite file at path (which must not exist): every table of
// SQLite's schema, from one REPEATABLE READ transaction, so the copy is the
// database at one moment while the instances go on serving. It is
// `skiff backup` on Postgres, and the way back to the file: `skiff restore`
// puts it in place for a server on SQLite, and `skiff copy-to-postgres` takes
// it into a new Postgres database. Each table's AUTOINCREMENT continues after
// the highest id Postgres handed out. The file's rows are counted against the
// snapshot's.
func CopyToSQLite(ctx context.Context, from *DB, path string) (CopyReport, error) {
	var report CopyReport
	if !from.pg {
		return report, errors.New("copy: from must be a PostgreSQL database")
	}
	conn, err := pgx.ConnectConfig(ctx, mustConnConfig(from.target))
	if err != nil {
		return report, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	src, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return report, err
	}
	defer src.Rollback(context.WithoutCancel(ctx))
	order, err := from.tablesParentsFirst(ctx)
	if err != nil {
		return report, err
	}

	if err := createOwnerOnly(path); err != nil {
		return report, fmt.Errorf("copy: %s: %w", path, err)
	}
	to, err := Open(ctx, path)
	if err != nil {
		return report, err
	}
	defer to.Close()
	if _, err := to.Migrate(ctx); err != nil {
		return report, err
	}
	tables, err := to.Tables(ctx)
	if err != nil {
		return report, err
	}
	byName := map[string]Table{}
	for _, t := range tables {
		byName[t.Name] = t
	}
	err = to.Tx(ctx, func(q Queries) error {
		for _, name := range order {
			t, ok := byName[name]
			if !ok || name == "schema_migrations" || slices.Contains(derivedTables, name) {
				continue // Postgres' own (write_gate, rate_limits), or made by SQLite's triggers
			}
			sortBy := "1"
			if name == "user_sessions" {
				sortBy = "seq" // rowid follows the order the sessions began
			}
			rows, err := src.Query(ctx, `SELECT `+strings.Join(t.Columns, ", ")+` FROM `+name+` ORDER BY `+sortBy)
			if err != nil {
				return fmt.Errorf("copy: %s: %w", name, err)
			}
			insert := `INSERT INTO ` + name + ` (` + strings.Join(t.Columns, ", ") + `) VALUES (?` + strings.Repeat(", ?", len(t.Columns)-1) + `)`
			var n int64
			for rows.Next() {
				vals, err := rows.Values()
				if err != nil {
					rows.Close()
					return err
				}
				for i, v := range vals {
					if tm, ok := v.(time.Time); ok && name == "sessions" && t.Columns[i] == "expiry" {
						vals[i] = float64(tm.UnixMilli())/86400000 + 2440587.5 // sqlite3store's Julian day
					} else if ok {
						vals[i] = tm.UTC()
					}
				}
				if _, err := q.writer.ExecContext(ctx, insert, vals...); err != nil {
					rows.Close()
					return fmt.Errorf("copy: %s: %w", name, err)
				}
				n++
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("copy: %s: %w", name, err)
			}
			report.Tables = append(report.Tables, CopiedTable{Name: name, Postgres: n})
		}
		// AUTOINCREMENT goes on after Postgres' last id, deleted rows' included.
		for _, name := range []string{"users", "teams", "projects", "invitations", "audit_log", "api_tokens", "passkeys"} {
			var last int64
			if err := src.QueryRow(ctx, `SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence($1, 'id')), 0)`, name).Scan(&last); err != nil {
				return fmt.Errorf("copy: %s's last id: %w", name, err)
			}
			if _, err := q.writer.ExecContext(ctx, `
				INSERT INTO sqlite_sequence (name, seq) SELECT ?1, ?2 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?1)`, name, last); err != nil {
				return err
			}
			if _, err := q.writer.ExecContext(ctx, `UPDATE sqlite_sequence SET seq = max(seq, ?2) WHERE name = ?1`, name, last); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return report, err
	}
	for i, c := range report.Tables {
		if err := to.Read.QueryRowContext(ctx, `SELECT count(*) FROM `+c.Name).Scan(&report.Tables[i].SQLite); err != nil {
			return report, err
		}
		if report.Tables[i].SQLite != c.Postgres {
			return report, fmt.Errorf("copy: %s: %d rows in the snapshot, %d in the file", c.Name, c.Postgres, report.Tables[i].SQLite)
		}
	}
	return report, nil
}
