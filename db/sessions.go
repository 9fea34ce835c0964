package db

import (
	"context"
	"database/sql"
	"errors"
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
	var julian float64
	err = q.reader.QueryRowContext(ctx, `SELECT data, expiry FROM sessions WHERE token = ? AND julianday('now') < expiry`, token).
		Scan(&data, &julian)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, false, nil
	}
	if err != nil {
		return nil, time.Time{}, false, err
	}
	// expiry is a Julian day number.
	return data, time.UnixMilli(int64((julian - 2440587.5) * 86400000)), true, nil
}
