package db

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// User is an account. PasswordHash is empty for accounts without a password.
type User struct {
	ID              int64
	Email           string
	PasswordHash    string
	EmailVerifiedAt sql.NullTime
	AuthEpoch       int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
	DisplayName     string // optional; empty means "use the email"
	Disabled        bool   // an admin disabled the account: no way in works
}

// Name is what to call the user: the display name, else the email.
func (u User) Name() string {
	if u.DisplayName != "" {
		return u.DisplayName
	}
	return u.Email
}

// SetDisplayName changes the user's display name.
func (q Queries) SetDisplayName(ctx context.Context, id int64, name string) error {
	_, err := q.writer.ExecContext(ctx, `UPDATE users SET display_name = ?, updated_at = ? WHERE id = ?`, name, now(), id)
	return err
}

const userColumns = `id, email, coalesce(password_hash, ''), email_verified_at, auth_epoch, created_at, updated_at, display_name,
	disabled_at IS NOT NULL`

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &u.EmailVerifiedAt, &u.AuthEpoch, &u.CreatedAt, &u.UpdatedAt, &u.DisplayName, &u.Disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	return u, err
}

// CreateUser inserts a user with an already normalised email; an empty
// passwordHash makes an account without a password, and verified marks the
// address as proven. It returns ErrEmailTaken when the address is in use.
// The user's personal team is made with them, in the same transaction.
func (q Queries) CreateUser(ctx context.Context, email, passwordHash string, verified bool) (User, error) {
	t := now()
	var hash any = passwordHash
	if passwordHash == "" {
		hash = nil
	}
	var verifiedAt any
	if verified {
		verifiedAt = t
	}
	var u User
	err := q.atomic(ctx, func(q Queries) error {
		row := q.writer.QueryRowContext(ctx, `
			INSERT INTO users (email, password_hash, email_verified_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?)
			RETURNING `+userColumns, email, hash, verifiedAt, t, t)
		var err error
		if u, err = scanUser(row); err != nil {
			return err
		}
		return q.createPersonalTeam(ctx, u.ID, t)
	})
	if isUniqueViolation(err) {
		return User{}, ErrEmailTaken
	}
	return u, err
}

// MarkEmailVerifiedFirst records that the user proved they receive mail at
// their address. It reports whether this is the first proof: the event that
// wipes what was attached to the account before (see the app's lifecycle).
func (q Queries) MarkEmailVerifiedFirst(ctx context.Context, id int64) (bool, error) {
	res, err := q.writer.ExecContext(ctx, `
		UPDATE users SET email_verified_at = ?, updated_at = ? WHERE id = ? AND email_verified_at IS NULL`, now(), now(), id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SetEmail changes the user's address, proven now by the link it was sent
// to; ErrEmailTaken if another account uses it.
func (q Queries) SetEmail(ctx context.Context, id int64, email string) error {
	_, err := q.writer.ExecContext(ctx, `
		UPDATE users SET email = ?, email_verified_at = ?, updated_at = ? WHERE id = ?`,
		email, now(), now(), id)
	if isUniqueViolation(err) {
		return ErrEmailTaken
	}
	return err
}

// SetPasswordHash replaces the user's password hash. It revokes nothing by
// itself: the caller applies the event's rules (a reset, a change).
func (q Queries) SetPasswordHash(ctx context.Context, id int64, hash string) error {
	_, err := q.writer.ExecContext(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, now(), id)
	return err
}

// ClearPassword removes the user's password: they log in by mail or a
// provider until they choose a new one.
func (q Queries) ClearPassword(ctx context.Context, id int64) error {
	_, err := q.writer.ExecContext(ctx, `UPDATE users SET password_hash = NULL, updated_at = ? WHERE id = ?`, now(), id)
	return err
}

// UserByID returns the user with that id.
func (q Queries) UserByID(ctx context.Context, id int64) (User, error) {
	return scanUser(q.reader.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
}

// UserByEmail returns the user with that address, compared case-insensitively.
func (q Queries) UserByEmail(ctx context.Context, email string) (User, error) {
	return scanUser(q.reader.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, email))
}

// RehashPassword replaces the user's password hash with newHash, a hash of
// the same password with new parameters, only if the stored hash is still
// oldHash: a reset committed meanwhile must not get the old password back.
func (q Queries) RehashPassword(ctx context.Context, id int64, oldHash, newHash string) error {
	_, err := q.writer.ExecContext(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ? AND password_hash = ?`,
		newHash, now(), id, oldHash)
	return err
}

// RewriteEmails stores every address that has a character outside printable
// ASCII in the form normalize gives it (addresses stored before a stricter
// normal form). An address whose new form another account already has is left
// as it was and returned in conflicts, for the operator. It is one
// transaction, and reads only the few non-ASCII rows.
func (q Queries) RewriteEmails(ctx context.Context, normalize func(string) string) (changed int, conflicts []string, err error) {
	err = q.atomic(ctx, func(q Queries) error {
		changed, conflicts = 0, nil // the function may run again (DB.Tx)
		rows, err := q.reader.QueryContext(ctx, `SELECT id, email FROM users WHERE `+q.nonASCII("email"))
		if err != nil {
			return err
		}
		type row struct {
			id    int64
			email string
		}
		var old []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.email); err != nil {
				rows.Close()
				return err
			}
			old = append(old, r)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, r := range old {
			email := normalize(r.email)
			if email == r.email {
				continue
			}
			err := q.mayFail(ctx, func() error {
				_, err := q.writer.ExecContext(ctx, `UPDATE users SET email = ?, updated_at = ? WHERE id = ?`, email, now(), r.id)
				return err
			})
			switch {
			case isUniqueViolation(err):
				conflicts = append(conflicts, r.email)
			case err != nil:
				return err
			default:
				changed++
			}
		}
		return nil
	})
	return changed, conflicts, err
}

// CountUsers returns how many accounts exist.
func (q Queries) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := q.reader.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, err
}
