package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The sessions table belongs to scs's sqlite3store, which writes it (through
// the writer, app/auth_session.go). Its reads are here, on the read pool.

// SessionData returns the data of an unexpired session and when it expires
// (for the session store's reads; the token is already hashed by scs).
// DB.SessionData serves it from the read cache.
func (q Queries) SessionData(ctx context.Context, token string) ([]byte, bool, error) {
	b, _, ok, err := q.sessionData(ctx, token)
	return b, ok, err
}

func (q Queries) sessionData(ctx context.Context, token string) (data []byte, expiry time.Time, ok bool, err error) {
	var at any // a Julian day number on SQLite, a time on Postgres
	err = q.reader.QueryRowContext(ctx, `SELECT data, expiry FROM sessions WHERE token = ? AND `+q.sessionLive(), token).
		Scan(&data, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, false, nil
	}
	if err != nil {
		return nil, time.Time{}, false, err
	}
	switch at := at.(type) {
	case time.Time:
		expiry = at
	case float64:
		expiry = time.UnixMilli(int64((at - 2440587.5) * 86400000))
	default:
		return nil, time.Time{}, false, fmt.Errorf("db: session expiry of type %T", at)
	}
	return data, expiry, true, nil
}
