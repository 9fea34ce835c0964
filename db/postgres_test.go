package db

import "testing"

// TestRebind: SQLite's placeholders become Postgres', and nothing else moves.
func TestRebind(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT * FROM t WHERE a = ? AND b = ?`, `SELECT * FROM t WHERE a = $1 AND b = $2`},
		{`UPDATE t SET a = ?1 WHERE b = ?2 OR c = ?1`, `UPDATE t SET a = $1 WHERE b = $2 OR c = $1`},
		{`SELECT '?', "?" FROM t WHERE a = ?`, `SELECT '?', "?" FROM t WHERE a = $1`},
		{`SELECT 'it''s ?' WHERE a = ?`, `SELECT 'it''s ?' WHERE a = $1`},
		{"SELECT a -- why? because\nFROM t WHERE a = ?", "SELECT a -- why? because\nFROM t WHERE a = $1"},
		{`DELETE FROM sessions WHERE json_extract(data, '$.v.sid.v') = ?`, `DELETE FROM sessions WHERE json_extract(data, '$.v.sid.v') = $1`},
		// Written for Postgres already: `?` is a JSON operator there.
		{`SELECT * FROM j WHERE doc ? 'key' AND id = $1`, `SELECT * FROM j WHERE doc ? 'key' AND id = $1`},
		{`SELECT 'unterminated ?`, `SELECT 'unterminated ?`},
	} {
		if got := rebind(c.in); got != c.want {
			t.Errorf("rebind(%q)\n = %q\nwant %q", c.in, got, c.want)
		}
	}
}
