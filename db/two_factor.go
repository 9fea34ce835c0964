package db

import (
	"context"
	"database/sql"
)

// TOTPSecret returns the user's TOTP secret, or "" when two-factor is off.
func (q Queries) TOTPSecret(ctx context.Context, userID int64) (string, error) {
	var s sql.NullString
	err := q.reader.QueryRowContext(ctx, `SELECT totp_secret FROM users WHERE id = ?`, userID).Scan(&s)
	return s.String, notFound(err)
}

// EnableTOTP turns two-factor on with secret and replaces the recovery codes.
func (q Queries) EnableTOTP(ctx context.Context, userID int64, secret string, codeHashes [][]byte) error {
	return q.atomic(ctx, func(q Queries) error {
		if _, err := q.writer.ExecContext(ctx, `UPDATE users SET totp_secret = ?, totp_last_step = 0, updated_at = ? WHERE id = ?`, secret, now(), userID); err != nil {
			return err
		}
		return q.replaceRecoveryCodes(ctx, userID, codeHashes)
	})
}

// ReplaceRecoveryCodes gives a user with two-factor on new recovery codes:
// the old ones stop working. ErrNotFound when two-factor is off.
func (q Queries) ReplaceRecoveryCodes(ctx context.Context, userID int64, codeHashes [][]byte) error {
	return q.atomic(ctx, func(q Queries) error {
		var on bool
		err := q.reader.QueryRowContext(ctx, `SELECT totp_secret IS NOT NULL FROM users WHERE id = ?`, userID).Scan(&on)
		if err != nil {
			return notFound(err)
		}
		if !on {
			return ErrNotFound
		}
		return q.replaceRecoveryCodes(ctx, userID, codeHashes)
	})
}

// replaceRecoveryCodes runs inside the caller's atomic.
func (q Queries) replaceRecoveryCodes(ctx context.Context, userID int64, codeHashes [][]byte) error {
	if _, err := q.writer.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
		return err
	}
	for _, h := range codeHashes {
		if _, err := q.writer.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, hash) VALUES (?, ?)`, userID, h); err != nil {
			return err
		}
	}
	return nil
}

// DisableTOTP turns two-factor off and deletes the recovery codes.
func (q Queries) DisableTOTP(ctx context.Context, userID int64) error {
	return q.atomic(ctx, func(q Queries) error {
		if _, err := q.writer.ExecContext(ctx, `UPDATE users SET totp_secret = NULL, totp_last_step = 0, updated_at = ? WHERE id = ?`, now(), userID); err != nil {
			return err
		}
		_, err := q.writer.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID)
		return err
	})
}

// UseTOTPStep records that the code of time step was used; it fails (false)
// when that step or a later one was already used, so a code works once.
func (q Queries) UseTOTPStep(ctx context.Context, userID, step int64) (bool, error) {
	res, err := q.writer.ExecContext(ctx, `UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?`, step, userID, step)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// UseRecoveryCode consumes one unused recovery code (false if none matches).
func (q Queries) UseRecoveryCode(ctx context.Context, userID int64, hash []byte) (bool, error) {
	res, err := q.writer.ExecContext(ctx, `
		UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at IS NULL`, now(), userID, hash)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RecoveryCodesLeft counts the unused recovery codes.
func (q Queries) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	var n int
	err := q.reader.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(&n)
	return n, err
}
