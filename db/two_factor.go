package db

import (
	"context"
	"database/sql"
)

// TOTPSecret returns the user's TOTP secret, or "" when two-factor is off.
func (d *DB) TOTPSecret(ctx context.Context, userID int64) (string, error) {
	var s sql.NullString
	err := d.Read.QueryRowContext(ctx, `SELECT totp_secret FROM users WHERE id = ?`, userID).Scan(&s)
	return s.String, notFound(err)
}

// EnableTOTP turns two-factor on with secret and replaces the recovery codes.
func (q Queries) EnableTOTP(ctx context.Context, userID int64, secret string, codeHashes [][]byte) error {
	if _, err := q.q.ExecContext(ctx, `UPDATE users SET totp_secret = ?, totp_last_step = 0, updated_at = ? WHERE id = ?`, secret, now(), userID); err != nil {
		return err
	}
	return q.replaceRecoveryCodes(ctx, userID, codeHashes)
}

// ReplaceRecoveryCodes gives a user with two-factor on new recovery codes:
// the old ones stop working. ErrNotFound when two-factor is off.
func (q Queries) ReplaceRecoveryCodes(ctx context.Context, userID int64, codeHashes [][]byte) error {
	var on bool
	err := q.q.QueryRowContext(ctx, `SELECT totp_secret IS NOT NULL FROM users WHERE id = ?`, userID).Scan(&on)
	if err != nil {
		return notFound(err)
	}
	if !on {
		return ErrNotFound
	}
	return q.replaceRecoveryCodes(ctx, userID, codeHashes)
}

func (q Queries) replaceRecoveryCodes(ctx context.Context, userID int64, codeHashes [][]byte) error {
	if _, err := q.q.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
		return err
	}
	for _, h := range codeHashes {
		if _, err := q.q.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, hash) VALUES (?, ?)`, userID, h); err != nil {
			return err
		}
	}
	return nil
}

// DisableTOTP turns two-factor off and deletes the recovery codes.
func (q Queries) DisableTOTP(ctx context.Context, userID int64) error {
	if _, err := q.q.ExecContext(ctx, `UPDATE users SET totp_secret = NULL, totp_last_step = 0, updated_at = ? WHERE id = ?`, now(), userID); err != nil {
		return err
	}
	_, err := q.q.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID)
	return err
}

// UseTOTPStep records that the code of time step was used; it fails (false)
// when that step or a later one was already used, so a code works once.
func (d *DB) UseTOTPStep(ctx context.Context, userID, step int64) (bool, error) {
	res, err := d.Write.ExecContext(ctx, `UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?`, step, userID, step)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// UseRecoveryCode consumes one unused recovery code (false if none matches).
func (d *DB) UseRecoveryCode(ctx context.Context, userID int64, hash []byte) (bool, error) {
	res, err := d.Write.ExecContext(ctx, `
		UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at IS NULL`, now(), userID, hash)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RecoveryCodesLeft counts the unused recovery codes.
func (d *DB) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	var n int
	err := d.Read.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(&n)
	return n, err
}
