package db

import (
	"context"
	"database/sql"
	"math"
	"time"
)

// The admin's list of users, a page at a time, and its figures: each costs
// what it costs on an empty database, however many users there are. A page
// is read through an index (the id, or the email's unique index) and stops
// at its limit; the figures read the small tables that migration 0012's
// triggers keep.

// adminUserColumns are the columns scanned by scanAdminUsers, for users u.
// "Last seen" is the latest activity of any session, else the last login.
const adminUserColumns = `u.id, u.email, u.created_at, u.email_verified_at IS NOT NULL,
	coalesce((SELECT max(last_seen_at) FROM user_sessions WHERE user_id = u.id), u.last_login_at),
	u.disabled_at IS NOT NULL, coalesce(s.plan, 'free'), coalesce(s.status, '')
	FROM users u
	LEFT JOIN subscriptions s ON s.id = (
		SELECT id FROM subscriptions WHERE user_id = u.id
		ORDER BY status IN ('active', 'trialing', 'past_due') DESC, version DESC LIMIT 1)`

// AdminUsersNewest returns a page of users, the newest first: at most limit
// of those with an id below before (0: from the newest).
func (d *DB) AdminUsersNewest(ctx context.Context, before int64, limit int) ([]AdminUser, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	return scanAdminUsers(d.query(ctx, `
		SELECT `+adminUserColumns+`
		WHERE u.id < ? ORDER BY u.id DESC LIMIT ?`, before, limit))
}

// AdminUsersByEmail returns a page of the users whose address starts with
// prefix, in the order of their addresses: at most limit of those after the
// address after ("" from the first). The email's unique index finds them, so
// a page costs the same whether ten users match or a hundred thousand.
// Addresses compare without regard to ASCII case, like the column.
func (d *DB) AdminUsersByEmail(ctx context.Context, prefix, after string, limit int) ([]AdminUser, error) {
	// Every address that starts with prefix sorts at or after it and before
	// prefix followed by the last character Unicode has.
	end := prefix + "\U0010FFFF"
	return scanAdminUsers(d.query(ctx, `
		SELECT `+adminUserColumns+`
		WHERE u.email >= ? AND u.email < ? AND u.email > ? ORDER BY u.email LIMIT ?`, prefix, end, after, limit))
}

// AdminUserByID returns the user with that id as the admin's list shows
// them, or ErrNotFound.
func (d *DB) AdminUserByID(ctx context.Context, id int64) (AdminUser, error) {
	list, err := scanAdminUsers(d.query(ctx, `SELECT `+adminUserColumns+` WHERE u.id = ?`, id))
	if err != nil {
		return AdminUser{}, err
	}
	if len(list) == 0 {
		return AdminUser{}, ErrNotFound
	}
	return list[0], nil
}

func scanAdminUsers(rows *sql.Rows, err error) ([]AdminUser, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AdminUser
	for rows.Next() {
		var a AdminUser
		var lastSeen sql.NullString // an expression has no declared type, so no automatic time
		if err := rows.Scan(&a.ID, &a.Email, &a.CreatedAt, &a.Verified, &lastSeen, &a.Disabled, &a.Plan, &a.SubStatus); err != nil {
			return nil, err
		}
		if lastSeen.Valid {
			t, err := time.Parse(storedTime, lastSeen.String)
			if err != nil {
				return nil, err
			}
			a.LastSeen = sql.NullTime{Time: t, Valid: true}
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// storedTime is how the driver writes a time.Time (_time_format=sqlite).
const storedTime = "2006-01-02 15:04:05.999999999-07:00"

// TotalUsers returns how many accounts exist, from signups_by_day: a row a
// day since the first signup, not a row a user.
func (d *DB) TotalUsers(ctx context.Context) (int, error) {
	var n int
	err := d.queryRow(ctx, `SELECT coalesce(sum(users), 0) FROM signups_by_day`).Scan(&n)
	return n, err
}

// SignupsSince counts, for each day (UTC) from the day of since on, the
// accounts that signed up that day and still exist; the latest day first,
// days without any left out.
func (d *DB) SignupsSince(ctx context.Context, since time.Time) ([]DayCount, error) {
	rows, err := d.query(ctx, `
		SELECT day, users FROM signups_by_day WHERE day >= ? AND users > 0 ORDER BY day DESC`,
		since.UTC().Format(time.DateOnly))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DayCount
	for rows.Next() {
		var c DayCount
		if err := rows.Scan(&c.Day, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// EntitledSubscriptionsByPlan counts the subscriptions that grant their plan
// (active, trialing or past_due), per plan, from entitled_subscriptions.
func (d *DB) EntitledSubscriptionsByPlan(ctx context.Context) (map[string]int, error) {
	rows, err := d.query(ctx, `SELECT plan, subscriptions FROM entitled_subscriptions WHERE subscriptions > 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var plan string
		var n int
		if err := rows.Scan(&plan, &n); err != nil {
			return nil, err
		}
		out[plan] = n
	}
	return out, rows.Err()
}
