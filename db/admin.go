package db

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"
)

// AdminUser is one row of the admin's user list.
type AdminUser struct {
	ID        int64
	Email     string
	CreatedAt time.Time
	Verified  bool
	LastSeen  sql.NullTime // the latest activity of any session, else the last login
	Disabled  bool
	Plan      string // the plan of a live subscription, else free
	SubStatus string
}

// DayCount is a number of events on a day (YYYY-MM-DD, UTC).
type DayCount struct {
	Day   string
	Count int
}

// SetDisabled disables or re-enables a user (ErrNotFound if there is none).
// It revokes nothing by itself: the caller applies the event's rules.
func (q Queries) SetDisabled(ctx context.Context, id int64, disabled bool) error {
	var at any
	if disabled {
		at = now()
	}
	res, err := q.writer.ExecContext(ctx, `UPDATE users SET disabled_at = ?, updated_at = ? WHERE id = ?`, at, now(), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// RecordLogin notes when the user last logged in.
func (q Queries) RecordLogin(ctx context.Context, id int64) error {
	_, err := q.writer.ExecContext(ctx, `UPDATE users SET last_login_at = ? WHERE id = ?`, now(), id)
	return err
}

// The admin's list of users, a page at a time, and its figures: each costs
// what it costs on an empty database, however many users there are. A page
// is read through an index (the id, or the email's unique index) and stops
// at its limit; the figures read the small tables that migration 0012's
// triggers keep.

// adminUserColumns are the columns scanned by scanAdminUsers, for users u.
// "Last seen" is the latest activity of any session, else the last login.
var adminUserColumns = `u.id, u.email, u.created_at, u.email_verified_at IS NOT NULL,
	coalesce((SELECT max(last_seen_at) FROM user_sessions WHERE user_id = u.id), u.last_login_at),
	u.disabled_at IS NOT NULL, coalesce(s.plan, 'free'), coalesce(s.status, '')
	FROM users u
	LEFT JOIN subscriptions s ON s.id = (` + personalSubscription + `)`

// personalSubscription picks the subscription deciding the plan of the
// personal team of the user u.
var personalSubscription = fmt.Sprintf(currentSubscriptionOf, "(SELECT id FROM teams WHERE owner_id = u.id AND personal = 1)")

// AdminUsersNewest returns a page of users, the newest first: at most limit
// of those with an id below before (0: from the newest).
func (q Queries) AdminUsersNewest(ctx context.Context, before int64, limit int) ([]AdminUser, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	return scanAdminUsers(q.reader.QueryContext(ctx, `
		SELECT `+adminUserColumns+`
		WHERE u.id < ? ORDER BY u.id DESC LIMIT ?`, before, limit))
}

// AdminUsersByEmail returns a page of the users whose address starts with
// prefix, in the order of their addresses: at most limit of those after the
// address after ("" from the first). The email's unique index finds them, so
// a page costs the same whether ten users match or a hundred thousand.
// Addresses compare without regard to ASCII case, like the column.
func (q Queries) AdminUsersByEmail(ctx context.Context, prefix, after string, limit int) ([]AdminUser, error) {
	// Every address that starts with prefix sorts at or after it and before
	// prefix followed by the last character Unicode has.
	end := prefix + "\U0010FFFF"
	e := q.emailKey("u.email")
	return scanAdminUsers(q.reader.QueryContext(ctx, `
		SELECT `+adminUserColumns+`
		WHERE `+e+` >= `+q.emailKey("?")+` AND `+e+` < `+q.emailKey("?")+` AND `+e+` > `+q.emailKey("?")+`
		ORDER BY `+e+` LIMIT ?`, prefix, end, after, limit))
}

// AdminUserByID returns the user with that id as the admin's list shows
// them, or ErrNotFound.
func (q Queries) AdminUserByID(ctx context.Context, id int64) (AdminUser, error) {
	list, err := scanAdminUsers(q.reader.QueryContext(ctx, `SELECT `+adminUserColumns+` WHERE u.id = ?`, id))
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
		var lastSeen expressionTime
		if err := rows.Scan(&a.ID, &a.Email, &a.CreatedAt, &a.Verified, &lastSeen, &a.Disabled, &a.Plan, &a.SubStatus); err != nil {
			return nil, err
		}
		a.LastSeen = sql.NullTime(lastSeen)
		out = append(out, a)
	}
	return out, rows.Err()
}

// TotalUsers returns how many accounts exist, from signups_by_day: a row a
// day since the first signup, not a row a user.
func (q Queries) TotalUsers(ctx context.Context) (int, error) {
	var n int
	err := q.reader.QueryRowContext(ctx, `SELECT coalesce(sum(users), 0) FROM signups_by_day`).Scan(&n)
	return n, err
}

// SignupsSince counts, for each day (UTC) from the day of since on, the
// accounts that signed up that day and still exist; the latest day first,
// days without any left out.
func (q Queries) SignupsSince(ctx context.Context, since time.Time) ([]DayCount, error) {
	rows, err := q.reader.QueryContext(ctx, `
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

// PlanCount is how many subscriptions grant a plan, and the seats they bill.
type PlanCount struct{ Subscriptions, Seats int }

// EntitledSubscriptionsByPlan counts the subscriptions that grant their plan
// (active, trialing or past_due) and their seats, per plan, from
// entitled_subscriptions.
func (q Queries) EntitledSubscriptionsByPlan(ctx context.Context) (map[string]PlanCount, error) {
	rows, err := q.reader.QueryContext(ctx, `SELECT plan, subscriptions, seats FROM entitled_subscriptions WHERE subscriptions > 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]PlanCount{}
	for rows.Next() {
		var plan string
		var c PlanCount
		if err := rows.Scan(&plan, &c.Subscriptions, &c.Seats); err != nil {
			return nil, err
		}
		out[plan] = c
	}
	return out, rows.Err()
}
