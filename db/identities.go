package db

import (
	"context"
	"errors"
	"time"
)

// Identity is an account at an OAuth / OpenID Connect provider, linked to a user.
type Identity struct {
	ID             int64
	UserID         int64
	Provider       string
	ProviderUserID string
	Email          string
	CreatedAt      time.Time
}

// IdentityByProvider finds the identity a provider knows by its own user id.
func (q Queries) IdentityByProvider(ctx context.Context, provider, providerUserID string) (Identity, error) {
	var i Identity
	err := q.reader.QueryRowContext(ctx, `
		SELECT id, user_id, provider, provider_user_id, email, created_at FROM identities
		WHERE provider = ? AND provider_user_id = ?`, provider, providerUserID).
		Scan(&i.ID, &i.UserID, &i.Provider, &i.ProviderUserID, &i.Email, &i.CreatedAt)
	return i, notFound(err)
}

// LinkIdentity links a provider account to userID.
func (q Queries) LinkIdentity(ctx context.Context, userID int64, provider, providerUserID, email string) error {
	_, err := q.writer.ExecContext(ctx, `
		INSERT INTO identities (user_id, provider, provider_user_id, email, created_at) VALUES (?, ?, ?, ?, ?)`,
		userID, provider, providerUserID, email, now())
	return err
}

// UpdateIdentityEmail keeps the address the provider last reported.
func (q Queries) UpdateIdentityEmail(ctx context.Context, id int64, email string) error {
	_, err := q.writer.ExecContext(ctx, `UPDATE identities SET email = ? WHERE id = ?`, email, id)
	return err
}

// DeleteIdentities unlinks every provider account of the user.
func (q Queries) DeleteIdentities(ctx context.Context, userID int64) error {
	_, err := q.writer.ExecContext(ctx, `DELETE FROM identities WHERE user_id = ?`, userID)
	return err
}

// Identities lists the user's linked accounts.
func (q Queries) Identities(ctx context.Context, userID int64) ([]Identity, error) {
	rows, err := q.reader.QueryContext(ctx, `
		SELECT id, user_id, provider, provider_user_id, email, created_at FROM identities
		WHERE user_id = ? ORDER BY id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Identity
	for rows.Next() {
		var i Identity
		if err := rows.Scan(&i.ID, &i.UserID, &i.Provider, &i.ProviderUserID, &i.Email, &i.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// ErrLastLoginMethod means removing the identity would lock the user out.
var ErrLastLoginMethod = errors.New("db: this is the last way to log in")

// DeleteIdentity unlinks one of userID's identities, unless the user has no
// password, no passkey and no other identity left. The check and the delete are one
// statement on the single writer.
func (q Queries) DeleteIdentity(ctx context.Context, userID, id int64) error {
	if _, err := q.identity(ctx, userID, id); err != nil {
		return err
	}
	res, err := q.writer.ExecContext(ctx, `
		DELETE FROM identities WHERE id = ? AND user_id = ?
		AND ((SELECT password_hash FROM users WHERE id = ?) IS NOT NULL
		     OR (SELECT count(*) FROM identities WHERE user_id = ?) > 1
		     OR EXISTS (SELECT 1 FROM passkeys WHERE user_id = ?))`, id, userID, userID, userID, userID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrLastLoginMethod
	}
	return nil
}

func (q Queries) identity(ctx context.Context, userID, id int64) (Identity, error) {
	var i Identity
	err := q.reader.QueryRowContext(ctx, `
		SELECT id, user_id, provider, provider_user_id, email, created_at FROM identities WHERE id = ? AND user_id = ?`,
		id, userID).Scan(&i.ID, &i.UserID, &i.Provider, &i.ProviderUserID, &i.Email, &i.CreatedAt)
	return i, notFound(err)
}
