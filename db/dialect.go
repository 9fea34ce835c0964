package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The SQL that SQLite and PostgreSQL spell differently, in one place. Every
// other query is written once, in what both read (placeholders are `?`, which
// postgres.go turns into `$n`). A query that needs one of these builds its
// text from q: q.pg is true on Postgres.

// sessionField is the SQL for a value in a session's data (the JSON of
// app/auth_session_codec.go), as text, e.g. sessionField("user_id").
func (q Queries) sessionField(key string) string {
	if q.pg {
		return `(convert_from(data, 'UTF8')::jsonb #>> '{v,` + key + `,v}')`
	}
	return `CAST(json_extract(data, '$.v.` + key + `.v') AS TEXT)`
}

// sessionLive is the condition that a sessions row has not expired. scs's
// sqlite3store keeps expiry as a Julian day, its postgresstore as a time.
func (q Queries) sessionLive() string {
	if q.pg {
		return `current_timestamp < expiry`
	}
	return `julianday('now') < expiry`
}

// nonASCII is the condition that column holds a character outside printable
// ASCII.
func (q Queries) nonASCII(column string) string {
	if q.pg {
		return column + ` ~ '[^ -~]'`
	}
	return column + ` GLOB '*[^ -~]*'`
}

// equalFold is the condition that column equals the placeholder ph, ignoring
// ASCII case (SQLite's NOCASE).
func (q Queries) equalFold(column, ph string) string {
	if q.pg {
		return `lower(` + column + `) = lower(` + ph + `)`
	}
	return column + ` = ` + ph + ` COLLATE NOCASE`
}

// emailKey is expr as addresses compare and sort: SQLite's users.email is
// COLLATE NOCASE; on Postgres lower-cased, in code point order ("C"), as
// users_email_lower_idx holds them. For the placeholder of a value to
// compare with, pass "?".
func (q Queries) emailKey(expr string) string {
	if q.pg {
		return `(lower(` + expr + `) COLLATE "C")`
	}
	return expr
}

// indexedBy makes SQLite use index, where its planner would guess wrong
// (" INDEXED BY index", after a table's name); Postgres' planner reads the
// statistics of the index, so there it is nothing.
func (q Queries) indexedBy(index string) string {
	if q.pg {
		return ""
	}
	return " INDEXED BY " + index
}

// userSessionSeq is user_sessions' column in the order rows were made, for
// paging: SQLite's rowid; on Postgres the identity column seq.
func (q Queries) userSessionSeq() string {
	if q.pg {
		return "seq"
	}
	return "rowid"
}

// expressionTime scans a time computed by an expression (max(...),
// coalesce(...)): SQLite's driver gives it as text, since only a column has
// a declared type; Postgres as a time. NULL is not Valid.
type expressionTime sql.NullTime

// storedTime is how SQLite's driver writes a time.Time (_time_format=sqlite).
const storedTime = "2006-01-02 15:04:05.999999999-07:00"

func (e *expressionTime) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*e = expressionTime{}
	case time.Time:
		*e = expressionTime{Time: v.UTC(), Valid: true}
	case string:
		t, err := time.Parse(storedTime, v)
		if err != nil {
			return err
		}
		*e = expressionTime{Time: t, Valid: true}
	default:
		return fmt.Errorf("db: a time of type %T", v)
	}
	return nil
}

// mayFail runs fn, a statement whose error the transaction goes on after
// (a conflict to report and skip). Postgres ends a transaction at its first
// error unless the statement ran under a savepoint; SQLite needs none.
func (q Queries) mayFail(ctx context.Context, fn func() error) error {
	if !q.pg || q.tx == nil {
		return fn()
	}
	if _, err := q.writer.ExecContext(ctx, `SAVEPOINT may_fail`); err != nil {
		return err
	}
	err := fn()
	if err != nil {
		if _, rerr := q.writer.ExecContext(ctx, `ROLLBACK TO SAVEPOINT may_fail`); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
	if _, rerr := q.writer.ExecContext(ctx, `RELEASE SAVEPOINT may_fail`); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

// isUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY
// constraint refusing a row.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
