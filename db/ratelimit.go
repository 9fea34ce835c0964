package db

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Rate limits shared by every instance on a Postgres database: a token
// bucket per key in rate_limits, taken from in one statement, so that
// requests spread over several instances (or sent at once to one) get the
// limit's worth together. On SQLite one process serves the database and
// keeps its buckets in memory (app/ratelimit.go).
//
// The statements run on the READ COMMITTED pool: an upsert on one row is
// atomic there (concurrent ones wait for the row and see its latest
// tokens), and a flood of guesses on one key must not fail on
// serialization conflicts.

// TakeToken takes a token from key's bucket, which holds burst tokens and
// gains one every per. When none is left it returns false and how long
// until one is.
func (d *DB) TakeToken(ctx context.Context, key string, per time.Duration, burst int) (bool, time.Duration, error) {
	if d.river == nil {
		return false, 0, errors.New("db: shared rate limits are Postgres' (SQLite's are in memory)")
	}
	secs := per.Seconds()
	var tokens float64
	err := d.river.sql.QueryRowContext(ctx, `
		INSERT INTO rate_limits AS r (key, tokens, at, full_at)
		VALUES ($1, $2::float8 - 1, now(), now() + make_interval(secs => $3::float8))
		ON CONFLICT (key) DO UPDATE SET
			tokens = least($2::float8, r.tokens + extract(epoch FROM now() - r.at)::float8 / $3::float8) - 1,
			at = now(),
			full_at = now() + make_interval(secs => ($2::float8 - (least($2::float8, r.tokens + extract(epoch FROM now() - r.at)::float8 / $3::float8) - 1)) * $3::float8)
		WHERE least($2::float8, r.tokens + extract(epoch FROM now() - r.at)::float8 / $3::float8) >= 1
		RETURNING r.tokens`, key, float64(burst), secs).Scan(&tokens)
	if err == nil {
		return true, 0, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return false, 0, err
	}
	// Refused: how long until the bucket holds a whole token.
	var have float64
	err = d.river.sql.QueryRowContext(ctx, `
		SELECT least($2::float8, tokens + extract(epoch FROM now() - at)::float8 / $3::float8)
		FROM rate_limits WHERE key = $1`, key, float64(burst), secs).Scan(&have)
	if err != nil {
		return false, per, nil // it was just refused: a whole period is a safe answer
	}
	return false, time.Duration((1 - have) * secs * float64(time.Second)), nil
}

// ForgetTokens refills key's bucket (after a success that forgives the
// failures before it).
func (d *DB) ForgetTokens(ctx context.Context, key string) error {
	if d.river == nil {
		return nil
	}
	_, err := d.river.sql.ExecContext(ctx, `DELETE FROM rate_limits WHERE key = $1`, key)
	return err
}

// DeleteFullBuckets deletes the buckets that are full again: they are the
// same as no row.
func (d *DB) DeleteFullBuckets(ctx context.Context) error {
	if d.river == nil {
		return nil
	}
	_, err := d.river.sql.ExecContext(ctx, `DELETE FROM rate_limits WHERE full_at < now()`)
	return err
}
