package db

import (
	"context"
	"database/sql"
	"strings"
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

// AdminUsers lists users, newest first, whose email contains search.
func (q Queries) AdminUsers(ctx context.Context, search string, limit int) ([]AdminUser, error) {
	like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(search)) + "%"
	rows, err := q.reader.QueryContext(ctx, `
		SELECT u.id, u.email, u.created_at, u.email_verified_at IS NOT NULL,
		       coalesce((SELECT max(last_seen_at) FROM user_sessions WHERE user_id = u.id), u.last_login_at),
		       u.disabled_at IS NOT NULL,
		       coalesce(s.plan, 'free'), coalesce(s.status, '')
		FROM users u
		LEFT JOIN subscriptions s ON s.id = (
			SELECT id FROM subscriptions WHERE user_id = u.id
			ORDER BY status IN ('active', 'trialing', 'past_due') DESC, version DESC LIMIT 1)
		WHERE u.email LIKE ? ESCAPE '\'
		ORDER BY u.id DESC LIMIT ?`, like, limit)
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
			if t, err := time.Parse("2006-01-02 15:04:05.999999999-07:00", lastSeen.String); err == nil {
				a.LastSeen = sql.NullTime{Time: t, Valid: true}
			}
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// DayCount is a number of events on a day (YYYY-MM-DD, UTC).
type DayCount struct {
	Day   string
	Count int
}

// SignupsPerDay counts signups over the last days days.
func (q Queries) SignupsPerDay(ctx context.Context, days int) ([]DayCount, error) {
	rows, err := q.reader.QueryContext(ctx, `
		SELECT substr(created_at, 1, 10) AS day, count(*) FROM users
		WHERE created_at >= ? GROUP BY day ORDER BY day DESC`, now().AddDate(0, 0, -days))
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

// ActiveSubscriptionsByPlan counts active and trialing subscriptions per plan.
func (q Queries) ActiveSubscriptionsByPlan(ctx context.Context) (map[string]int, error) {
	rows, err := q.reader.QueryContext(ctx, `
		SELECT plan, count(*) FROM subscriptions WHERE status IN ('active', 'trialing', 'past_due') GROUP BY plan`)
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
