package db

import (
	"context"
	"fmt"
	"path/filepath"
	"skiff/db/dbtest"
	"slices"
	"strings"
	"testing"
)

// openAt opens a new database migrated up to and including the migration
// named last, as an older release of Skiff would have left it.
func openAt(t *testing.T, last string) *DB {
	t.Helper()
	dbtest.SQLiteOnly(t, "SQLite's migrations, release by release")
	d, err := Open(context.Background(), filepath.Join(t.TempDir(), "skiff.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	all, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(all, func(m Migration) bool { return m.Name == last })
	if i < 0 {
		t.Fatalf("no migration %s", last)
	}
	if _, err := d.migrate(context.Background(), all[:i+1]); err != nil {
		t.Fatal(err)
	}
	return d
}

func mustExec(t *testing.T, d *DB, query string, args ...any) {
	t.Helper()
	if _, err := d.Write.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// userChildTables are the tables whose rows belong to a user (user_id
// REFERENCES users ON DELETE CASCADE).
var userChildTables = []string{"projects", "billing_customers", "subscriptions", "tokens", "identities",
	"user_sessions", "known_devices", "api_tokens", "recovery_codes"}

// fillAt0009 puts rows in every table of the 0009 schema. Bob (id 2) has a
// row in every table that belongs to a user; Cyd (id 3) has the largest id.
func fillAt0009(t *testing.T, d *DB) {
	t.Helper()
	const ts = "2026-01-02 03:04:05.000+00:00"
	for _, u := range []struct {
		id    int
		email string
	}{{1, "ada@example.com"}, {2, "bob@example.com"}, {3, "cyd@example.com"}} {
		mustExec(t, d, `INSERT INTO users (id, email, password_hash, email_verified_at, auth_epoch, created_at, updated_at,
			last_login_at, disabled_at, totp_secret, totp_last_step, display_name)
			VALUES (?, ?, '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$a2V5', ?, ?, ?, ?, ?, NULL, 'JBSWY3DPEHPK3PXP', 7, ?)`,
			u.id, u.email, ts, u.id+1, ts, ts, ts, "Name "+u.email)
	}
	mustExec(t, d, `INSERT INTO users (id, email, created_at, updated_at) VALUES (4, 'dee@example.com', ?, ?)`, ts, ts) // defaults
	for id, owner := range []int{1, 1, 2, 3} {
		mustExec(t, d, `INSERT INTO projects (id, user_id, name, created_at) VALUES (?, ?, ?, ?)`, id+1, owner, fmt.Sprint("p", id+1), ts)
	}
	for _, uid := range []int{1, 2} {
		mustExec(t, d, `INSERT INTO billing_customers (user_id, customer_id, created_at) VALUES (?, ?, ?)`, uid, fmt.Sprint("cus_", uid), ts)
		mustExec(t, d, `INSERT INTO subscriptions (id, user_id, customer_id, price_id, plan, status, current_period_end, version, updated_at)
			VALUES (?, ?, ?, 'price_pro', 'pro', 'active', ?, 1, ?)`, fmt.Sprint("sub_", uid), uid, fmt.Sprint("cus_", uid), ts, ts)
		mustExec(t, d, `INSERT INTO tokens (hash, purpose, user_id, email, auth_epoch, expires_at, created_at)
			VALUES (?, 'reset_password', ?, 'x@example.com', 1, ?, ?)`, []byte{byte(uid)}, uid, ts, ts)
		mustExec(t, d, `INSERT INTO identities (user_id, provider, provider_user_id, email, created_at) VALUES (?, 'github', ?, 'x@example.com', ?)`, uid, fmt.Sprint(uid), ts)
		mustExec(t, d, `INSERT INTO user_sessions (id, user_id, device, ip, created_at, last_seen_at) VALUES (?, ?, 'Firefox on Linux', '192.0.2.1', ?, ?)`, fmt.Sprint("s", uid), uid, ts, ts)
		mustExec(t, d, `INSERT INTO known_devices (user_id, device, first_seen_at) VALUES (?, 'Firefox on Linux', ?)`, uid, ts)
		mustExec(t, d, `INSERT INTO api_tokens (user_id, name, hash, prefix, created_at) VALUES (?, 'cli', ?, 'skf_', ?)`, uid, []byte{byte(uid)}, ts)
		mustExec(t, d, `INSERT INTO recovery_codes (user_id, hash) VALUES (?, ?)`, uid, []byte{byte(uid)})
	}
	mustExec(t, d, `INSERT INTO tokens (hash, purpose, user_id, email, auth_epoch, expires_at, created_at)
		VALUES (x'ff', 'magic_link', NULL, 'new@example.com', 1, ?, ?)`, ts, ts)
	mustExec(t, d, `INSERT INTO stripe_events (id, type, created, received_at, payload) VALUES ('evt_1', 'invoice.paid', 1, ?, x'7b7d')`, ts)
	mustExec(t, d, `INSERT INTO emails (to_addr, subject, text_body, html_body, next_attempt_at, created_at) VALUES ('bob@example.com', 'Hi', 't', 'h', ?, ?)`, ts, ts)
	mustExec(t, d, `INSERT INTO sessions (token, data, expiry) VALUES ('tok', x'00', 2460000.5)`)
}

// snapshot is everything a migration must keep: each table's rows, columns,
// foreign keys, and the indexes.
func snapshot(t *testing.T, d *DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	query := func(q string) string {
		t.Helper()
		rows, err := d.Write.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var b strings.Builder
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%v\n", vals)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	for _, table := range tables(t, d) {
		out[table+" rows"] = query(`SELECT * FROM "` + table + `" ORDER BY rowid`)
		out[table+" columns"] = query(`PRAGMA table_info("` + table + `")`)
		out[table+" foreign keys"] = query(`PRAGMA foreign_key_list("` + table + `")`)
	}
	out["indexes"] = query(`SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name`)
	return out
}

// tables lists the application's tables (not schema_migrations, which gains
// a row, nor SQLite's own).
func tables(t *testing.T, d *DB) []string {
	t.Helper()
	rows, err := d.Write.Query(`SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	return names
}

func count(t *testing.T, d *DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := d.Write.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// TestMigration0010KeepsEveryRowAndNeverReusesIds applies 0010 to a database
// at 0009 with data in every table.
func TestMigration0010KeepsEveryRowAndNeverReusesIds(t *testing.T) {
	ctx := context.Background()
	d := openAt(t, "0009_profile.sql")
	fillAt0009(t, d)
	before := snapshot(t, d)
	for _, table := range append([]string{"users"}, userChildTables...) {
		if count(t, d, `SELECT count(*) FROM `+table) == 0 {
			t.Fatalf("the test data has no row in %s", table)
		}
	}

	applied, err := d.migrate(ctx, migrationsThrough(t, "0010_ids_never_reused.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(applied, "0010_ids_never_reused.sql") {
		t.Fatalf("applied %v", applied)
	}

	// Nothing lost or changed: rows, columns (types, NOT NULL, defaults),
	// foreign keys and indexes (the UNIQUE email index included).
	after := snapshot(t, d)
	for k, was := range before {
		if after[k] != was {
			t.Errorf("%s changed:\nbefore:\n%s\nafter:\n%s", k, was, after[k])
		}
	}
	if len(after) != len(before) {
		t.Errorf("tables before %d, after %d", len(before), len(after))
	}
	for _, table := range []string{"users", "projects"} {
		var schema string
		d.Write.QueryRow(`SELECT sql FROM sqlite_master WHERE name = ?`, table).Scan(&schema)
		if !strings.Contains(schema, "AUTOINCREMENT") {
			t.Errorf("%s has no AUTOINCREMENT:\n%s", table, schema)
		}
	}
	if n := count(t, d, `SELECT count(*) FROM pragma_foreign_key_check`); n != 0 {
		t.Fatalf("foreign_key_check: %d rows", n)
	}
	if n := count(t, d, `SELECT count(*) FROM sqlite_master WHERE name LIKE '%_new'`); n != 0 {
		t.Fatal("a *_new table was left behind")
	}

	// sqlite_sequence starts at the largest id of each table.
	for table, want := range map[string]int{"users": 4, "projects": 4} {
		if seq := count(t, d, `SELECT seq FROM sqlite_sequence WHERE name = ?`, table); seq != want {
			t.Errorf("sqlite_sequence for %s is %d, want %d", table, seq, want)
		}
	}

	// Foreign keys are enforced again, on the writer every write uses.
	if on := count(t, d, `PRAGMA foreign_keys`); on != 1 {
		t.Fatal("foreign keys are off after the migration")
	}
	if _, err := d.Write.Exec(`INSERT INTO projects (user_id, name, created_at) VALUES (999, 'orphan', '2026-01-01')`); err == nil {
		t.Fatal("a project for a missing user was accepted")
	}
	// (Raw SQL from here on: the db methods follow the newest schema, not 0010's.)
	if _, err := d.Write.Exec(`INSERT INTO users (email, created_at, updated_at) VALUES ('ADA@Example.COM', '2026-01-01', '2026-01-01')`); !isUniqueViolation(err) {
		t.Fatalf("the same address in other case: %v, want a unique violation", err)
	}

	// Deleting a user still cascades to every table that belongs to them,
	// and to nobody else's rows.
	adaRows := map[string]int{}
	for _, table := range userChildTables {
		adaRows[table] = count(t, d, `SELECT count(*) FROM `+table+` WHERE user_id = 1`)
	}
	mustExec(t, d, `DELETE FROM users WHERE id = 2`)
	for _, table := range userChildTables {
		if n := count(t, d, `SELECT count(*) FROM `+table+` WHERE user_id = 2`); n != 0 {
			t.Errorf("%s: %d rows of the deleted user remain", table, n)
		}
		if n := count(t, d, `SELECT count(*) FROM `+table+` WHERE user_id = 1`); n != adaRows[table] {
			t.Errorf("%s: another user's rows went from %d to %d", table, adaRows[table], n)
		}
	}

	// The largest ids are deleted; new rows still get new ids.
	mustExec(t, d, `DELETE FROM users WHERE id = 4`)
	var id int64
	if err := d.Write.QueryRow(`INSERT INTO users (email, created_at, updated_at) VALUES ('eve@example.com', '2026-01-01', '2026-01-01') RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if id != 5 {
		t.Fatalf("new user got id %d after the user with id 4 was deleted, want 5", id)
	}
	mustExec(t, d, `DELETE FROM projects WHERE id = 4`)
	if err := d.Write.QueryRow(`INSERT INTO projects (user_id, name, created_at) VALUES (1, 'new', '2026-01-01') RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if id != 5 {
		t.Fatalf("new project got id %d after the project with id 4 was deleted, want 5", id)
	}

	// A second start applies nothing and leaves foreign keys on.
	if applied, err := d.migrate(ctx, migrationsThrough(t, "0010_ids_never_reused.sql")); err != nil || len(applied) != 0 {
		t.Fatalf("second Migrate: %v, %v", applied, err)
	}
}

// TestForeignKeysOffMigrationMustLeaveNoOrphans: a migration run with foreign
// keys off that leaves rows pointing nowhere is rolled back with an error
// naming them, and enforcement is back on afterwards, also when the SQL fails.
func TestForeignKeysOffMigrationMustLeaveNoOrphans(t *testing.T) {
	dbtest.SQLiteOnly(t, "PRAGMA foreign_keys")
	ctx := context.Background()
	d, _ := openTestDB(t)
	u, err := d.CreateUser(ctx, "ada@example.com", "", false)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := d.PersonalScope(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateProject(ctx, sc, "p"); err != nil {
		t.Fatal(err)
	}
	bad := []Migration{
		// Deletes the parent but, with foreign keys off, not the child.
		{Name: "9998_orphans.sql", SQL: foreignKeysOffMarker + "\nDELETE FROM users;", ForeignKeysOff: true},
		{Name: "9999_syntax.sql", SQL: foreignKeysOffMarker + "\nCREATE TABLE (;", ForeignKeysOff: true},
	}
	for _, m := range bad {
		t.Run(m.Name, func(t *testing.T) {
			applied, err := d.migrate(ctx, []Migration{m})
			if err == nil || len(applied) != 0 {
				t.Fatalf("applied %v, err %v; want an error", applied, err)
			}
			if m.Name == "9998_orphans.sql" && !strings.Contains(err.Error(), "foreign_key_check") {
				t.Fatalf("error %q does not say why", err)
			}
			if n := count(t, d, `SELECT count(*) FROM users`); n != 1 {
				t.Fatalf("%d users after the rollback, want 1", n)
			}
			if n := count(t, d, `SELECT count(*) FROM schema_migrations WHERE name = ?`, m.Name); n != 0 {
				t.Fatal("the failed migration was recorded")
			}
			if on := count(t, d, `PRAGMA foreign_keys`); on != 1 {
				t.Fatal("foreign keys were left off")
			}
		})
	}
	// Enforcement really is on: deleting the user takes the project along.
	mustExec(t, d, `DELETE FROM users`)
	if n := count(t, d, `SELECT count(*) FROM projects`); n != 0 {
		t.Fatalf("%d projects survived their user", n)
	}
}

func TestMigrationMarker(t *testing.T) {
	for _, tt := range []struct {
		text    string
		off     bool
		wantErr bool
	}{
		{"-- 0001_init: tables\nCREATE TABLE a (b);", false, false},
		{"-- migrate: foreign_keys=off\n-- 0010: rebuild\nCREATE TABLE a (b);", true, false},
		{"-- migrate: foreign_keys=off\r\nCREATE TABLE a (b);", true, false},
		{"-- migrate: foreign_keys=of\nCREATE TABLE a (b);", false, true},
		{"CREATE TABLE a (b);\n-- migrate: foreign_keys=off", false, false}, // only the first line counts
	} {
		m, err := parseMigration("x.sql", tt.text)
		if (err != nil) != tt.wantErr || m.ForeignKeysOff != tt.off {
			t.Errorf("%q: ForeignKeysOff %v, err %v; want %v, error %v", tt.text, m.ForeignKeysOff, err, tt.off, tt.wantErr)
		}
	}
	all, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		if m.ForeignKeysOff != (m.Name == "0010_ids_never_reused.sql" || m.Name == "0013_teams.sql" || m.Name == "0015_team_billing.sql" || m.Name == "0017_api_token_teams.sql") {
			t.Errorf("%s: ForeignKeysOff %v", m.Name, m.ForeignKeysOff)
		}
	}
}
