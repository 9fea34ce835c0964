package db

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Token purposes.
const (
	PurposeVerifyEmail   = "verify_email"
	PurposeResetPassword = "reset_password"
	PurposeMagicLink     = "magic_link"
	PurposeChangeEmail   = "change_email"
)

// ErrTokenInvalid means a token is unknown, used, expired, of another
// purpose, or issued before the user's last security change.
var ErrTokenInvalid = errors.New("db: invalid or expired token")

// Token is a single-use token sent by mail; Hash is the SHA-256 of the secret.
type Token struct {
	Hash      []byte
	Purpose   string
	UserID    sql.NullInt64 // not set for a magic-link sign-up
	Email     string
	AuthEpoch int64
	ExpiresAt time.Time
}

// InsertToken stores a token.
func (q Queries) InsertToken(ctx context.Context, t Token) error {
	_, err := q.writer.ExecContext(ctx, `
		INSERT INTO tokens (hash, purpose, user_id, email, auth_epoch, expires_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, t.Hash, t.Purpose, t.UserID, t.Email, t.AuthEpoch, t.ExpiresAt.UTC(), now())
	return err
}

// tokenStillMeant holds while a token's account is as it was when the token
// was issued: the same auth_epoch (no reset, password change, first proof or
// sign-out everywhere since), and, but for an email change's link to the new
// address, the account still at the address the link was mailed to (so a
// link that reached the old mailbox after a change, however late, is void).
const tokenStillMeant = `(user_id IS NULL OR EXISTS (SELECT 1 FROM users u WHERE u.id = tokens.user_id
	AND u.auth_epoch = tokens.auth_epoch AND (tokens.purpose = 'change_email' OR u.email = tokens.email)))`

// ConsumeToken marks a valid token used and returns it. The check and the
// mark are one UPDATE, so of many concurrent redemptions exactly one wins.
func (q Queries) ConsumeToken(ctx context.Context, hash []byte, purpose string) (Token, error) {
	t := Token{Hash: hash}
	err := q.writer.QueryRowContext(ctx, `
		UPDATE tokens SET used_at = ?
		WHERE hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ? AND `+tokenStillMeant+`
		RETURNING purpose, user_id, email, auth_epoch, expires_at`,
		now(), hash, purpose, now()).Scan(&t.Purpose, &t.UserID, &t.Email, &t.AuthEpoch, &t.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, ErrTokenInvalid
	}
	return t, err
}

// PeekToken returns a token that ConsumeToken would accept, without using it
// (to show a form before the POST that uses it).
func (q Queries) PeekToken(ctx context.Context, hash []byte, purpose string) (Token, error) {
	t := Token{Hash: hash}
	err := q.reader.QueryRowContext(ctx, `
		SELECT purpose, user_id, email, auth_epoch, expires_at FROM tokens
		WHERE hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ? AND `+tokenStillMeant,
		hash, purpose, now()).Scan(&t.Purpose, &t.UserID, &t.Email, &t.AuthEpoch, &t.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, ErrTokenInvalid
	}
	return t, err
}

// VoidMailedTokens makes every unused mailed link of the user useless
// (purpose "" for all purposes, or only that one).
func (q Queries) VoidMailedTokens(ctx context.Context, userID int64, purpose string) error {
	_, err := q.writer.ExecContext(ctx, `
		DELETE FROM tokens WHERE user_id = ? AND used_at IS NULL AND (? = '' OR purpose = ?)`, userID, purpose, purpose)
	return err
}

// DeleteExpiredSessions removes the sessions whose time is up (Postgres: on
// SQLite scs's sqlite3store does it itself).
func (q Queries) DeleteExpiredSessions(ctx context.Context) error {
	_, err := q.writer.ExecContext(ctx, `DELETE FROM sessions WHERE NOT (`+q.sessionLive()+`)`)
	return err
}

// DeleteExpiredTokens removes tokens that can no longer be used.
func (q Queries) DeleteExpiredTokens(ctx context.Context) error {
	_, err := q.writer.ExecContext(ctx, `DELETE FROM tokens WHERE expires_at < ?`, now().Add(-24*time.Hour))
	return err
}
