package db

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// Passkey is a WebAuthn credential of a user: its public key and what the
// checks of each login need (the signature counter, the backup flags). Its
// private key never leaves the user's device.
type Passkey struct {
	ID              int64
	UserID          int64
	CredentialID    []byte
	PublicKey       []byte
	AttestationType string
	AAGUID          []byte
	Transports      []string
	SignCount       uint32
	BackupEligible  bool
	BackupState     bool
	Name            string
	CreatedAt       time.Time
	LastUsedAt      sql.NullTime
}

// MaxPasskeys is how many passkeys an account may hold.
const MaxPasskeys = 20

// ErrCredentialTaken means a passkey with that credential id is registered
// already (to this account or another).
var ErrCredentialTaken = errors.New("db: that passkey is registered already")

const passkeyColumns = `id, user_id, credential_id, public_key, attestation_type, aaguid, transports, sign_count,
	backup_eligible, backup_state, name, created_at, last_used_at`

func scanPasskey(row interface{ Scan(...any) error }) (Passkey, error) {
	var p Passkey
	var transports string
	err := row.Scan(&p.ID, &p.UserID, &p.CredentialID, &p.PublicKey, &p.AttestationType, &p.AAGUID, &transports, &p.SignCount,
		&p.BackupEligible, &p.BackupState, &p.Name, &p.CreatedAt, &p.LastUsedAt)
	if transports != "" {
		p.Transports = strings.Split(transports, ",")
	}
	return p, notFound(err)
}

// WebAuthnHandle returns userID's WebAuthn user handle, making it (64 random
// bytes, kept) the first time.
func (q Queries) WebAuthnHandle(ctx context.Context, userID int64) ([]byte, error) {
	var handle []byte
	err := q.atomic(ctx, func(q Queries) error {
		fresh := make([]byte, 64)
		rand.Read(fresh)
		if _, err := q.writer.ExecContext(ctx, `UPDATE users SET webauthn_handle = ? WHERE id = ? AND webauthn_handle IS NULL`, fresh, userID); err != nil {
			return err
		}
		return q.writer.QueryRowContext(ctx, `SELECT webauthn_handle FROM users WHERE id = ?`, userID).Scan(&handle)
	})
	return handle, notFound(err)
}

// SetWebAuthnHandle gives userID the user handle its first passkey was made
// with (a passkey signup), unless it has one.
func (q Queries) SetWebAuthnHandle(ctx context.Context, userID int64, handle []byte) error {
	_, err := q.writer.ExecContext(ctx, `UPDATE users SET webauthn_handle = ? WHERE id = ? AND webauthn_handle IS NULL`, handle, userID)
	return err
}

// UserIDByWebAuthnHandle returns the user whose handle it is, or ErrNotFound.
func (q Queries) UserIDByWebAuthnHandle(ctx context.Context, handle []byte) (int64, error) {
	var id int64
	err := q.reader.QueryRowContext(ctx, `SELECT id FROM users WHERE webauthn_handle = ?`, handle).Scan(&id)
	return id, notFound(err)
}

// Passkeys returns userID's passkeys, the newest first (an account holds at
// most MaxPasskeys).
func (q Queries) Passkeys(ctx context.Context, userID int64) ([]Passkey, error) {
	rows, err := q.reader.QueryContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE user_id = ? ORDER BY id DESC`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Passkey{}
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PasskeyByCredentialID returns the passkey with that credential id, or
// ErrNotFound.
func (q Queries) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (Passkey, error) {
	return scanPasskey(q.reader.QueryRowContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE credential_id = ?`, credentialID))
}

// AddPasskey stores a new passkey of p.UserID, unless the account holds
// MaxPasskeys already (ErrLimitReached) or the credential is registered
// (ErrCredentialTaken).
func (q Queries) AddPasskey(ctx context.Context, p Passkey) (Passkey, error) {
	p.CreatedAt = now()
	err := q.writer.QueryRowContext(ctx, `
		INSERT INTO passkeys (user_id, credential_id, public_key, attestation_type, aaguid, transports, sign_count,
		                      backup_eligible, backup_state, name, created_at)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE (SELECT count(*) FROM passkeys WHERE user_id = ?) < ?
		RETURNING id`,
		p.UserID, p.CredentialID, p.PublicKey, p.AttestationType, p.AAGUID, strings.Join(p.Transports, ","), p.SignCount,
		p.BackupEligible, p.BackupState, p.Name, p.CreatedAt, p.UserID, MaxPasskeys).Scan(&p.ID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Passkey{}, ErrLimitReached
	case isUniqueViolation(err):
		return Passkey{}, ErrCredentialTaken
	}
	return p, err
}

// UsePasskey records a login with the passkey: its new signature counter
// and backup state, and when. The counter only moves forward (0 stays 0 for
// authenticators that keep none); the caller refused one that went back.
func (q Queries) UsePasskey(ctx context.Context, id int64, signCount uint32, backupState bool) error {
	_, err := q.writer.ExecContext(ctx, `
		UPDATE passkeys SET sign_count = CASE WHEN sign_count > ?1 THEN sign_count ELSE ?1 END,
		                    backup_state = ?2, last_used_at = ?3
		WHERE id = ?4`,
		signCount, backupState, now(), id)
	return err
}

// RenamePasskey names one of userID's passkeys (ErrNotFound if not theirs).
func (q Queries) RenamePasskey(ctx context.Context, userID, id int64, name string) error {
	res, err := q.writer.ExecContext(ctx, `UPDATE passkeys SET name = ? WHERE id = ? AND user_id = ?`, name, id, userID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeletePasskey removes one of userID's passkeys, unless it is their last
// way to log in: no password, no provider account and no other passkey
// (ErrLastLoginMethod). The check and the delete are one statement on the
// single writer. ErrNotFound if it is not theirs.
func (q Queries) DeletePasskey(ctx context.Context, userID, id int64) (Passkey, error) {
	p, err := scanPasskey(q.reader.QueryRowContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE id = ? AND user_id = ?`, id, userID))
	if err != nil {
		return p, err
	}
	res, err := q.writer.ExecContext(ctx, `
		DELETE FROM passkeys WHERE id = ?1 AND user_id = ?2
		AND ((SELECT password_hash FROM users WHERE id = ?2) IS NOT NULL
		     OR EXISTS (SELECT 1 FROM identities WHERE user_id = ?2)
		     OR (SELECT count(*) FROM passkeys WHERE user_id = ?2) > 1)`, id, userID)
	if err != nil {
		return p, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return p, ErrLastLoginMethod
	}
	return p, nil
}

// DeletePasskeys removes every passkey of userID (a first proof of the
// address, a password reset).
func (q Queries) DeletePasskeys(ctx context.Context, userID int64) error {
	_, err := q.writer.ExecContext(ctx, `DELETE FROM passkeys WHERE user_id = ?`, userID)
	return err
}
