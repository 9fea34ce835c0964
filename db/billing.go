package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Subscription is a Stripe subscription as last reported by Stripe.
type Subscription struct {
	ID                string
	TeamID            int64 // the team that pays, whose plan it sets
	CustomerID        string
	PriceID           string
	ItemID            string // the subscription item (si_…) whose quantity is the seats; "" until Stripe says
	Quantity          int64  // the seats Stripe bills for
	Plan              string // the plan sold at PriceID, or "unknown" when no plan is
	Status            string
	CurrentPeriodEnd  sql.NullTime
	CancelAtPeriodEnd bool
	LastInvoiceStatus string
	Version           int64 // Unix time of the event that last changed it
}

// ErrDuplicateEvent means a webhook event was already processed.
var ErrDuplicateEvent = errors.New("db: stripe event already processed")

// Billing belongs to a team: its Stripe customer, and the subscriptions that
// set its plan. Every query here takes a team id that a membership check
// (or Stripe's signed word, for webhooks) produced.

// CustomerID returns the Stripe customer of teamID, or ErrNotFound.
func (q Queries) CustomerID(ctx context.Context, teamID int64) (string, error) {
	var id string
	err := q.reader.QueryRowContext(ctx, `SELECT customer_id FROM billing_customers WHERE team_id = ?`, teamID).Scan(&id)
	return id, notFound(err)
}

// SaveCustomer links teamID to a Stripe customer, unless it already has one,
// and returns the customer that is linked (the first one wins).
func (q Queries) SaveCustomer(ctx context.Context, teamID int64, customerID string) (string, error) {
	var linked string
	err := q.atomic(ctx, func(q Queries) error {
		if _, err := q.writer.ExecContext(ctx, `
			INSERT INTO billing_customers (team_id, customer_id, created_at) VALUES (?, ?, ?)
			ON CONFLICT DO NOTHING`, teamID, customerID, now()); err != nil {
			return err
		}
		return q.writer.QueryRowContext(ctx, `SELECT customer_id FROM billing_customers WHERE team_id = ?`, teamID).Scan(&linked)
	})
	return linked, err
}

// TeamIDByCustomer returns the team a Stripe customer belongs to, or ErrNotFound.
func (q Queries) TeamIDByCustomer(ctx context.Context, customerID string) (int64, error) {
	var id int64
	err := q.reader.QueryRowContext(ctx, `SELECT team_id FROM billing_customers WHERE customer_id = ?`, customerID).Scan(&id)
	return id, notFound(err)
}

// Customers returns every linked Stripe customer id (for reconciliation).
func (q Queries) Customers(ctx context.Context) ([]string, error) {
	rows, err := q.reader.QueryContext(ctx, `SELECT customer_id FROM billing_customers ORDER BY team_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// RecordEvent stores a webhook event. It returns ErrDuplicateEvent when the
// id was seen before, in which case the caller must change nothing.
func (q Queries) RecordEvent(ctx context.Context, id, typ string, created int64, payload []byte) error {
	res, err := q.writer.ExecContext(ctx, `
		INSERT INTO stripe_events (id, type, created, received_at, payload) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, id, typ, created, now(), payload)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrDuplicateEvent
	}
	return nil
}

// ApplySubscription stores s unless the stored row is newer: a row changed by
// a later event (higher version) is kept, and a canceled subscription stays
// canceled (Stripe never revives one). It reports whether s was applied.
// It is one statement: atomic inside a transaction or not.
func (q Queries) ApplySubscription(ctx context.Context, s Subscription) (bool, error) {
	res, err := q.writer.ExecContext(ctx, `
		INSERT INTO subscriptions (id, team_id, customer_id, price_id, item_id, quantity, plan, status, current_period_end,
		                           cancel_at_period_end, version, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
			price_id = excluded.price_id, item_id = excluded.item_id, quantity = excluded.quantity,
			plan = excluded.plan, status = excluded.status,
			current_period_end = excluded.current_period_end,
			cancel_at_period_end = excluded.cancel_at_period_end,
			version = excluded.version, updated_at = excluded.updated_at
		WHERE excluded.version >= subscriptions.version
		  AND subscriptions.status NOT IN ('canceled', 'incomplete_expired')`,
		s.ID, s.TeamID, s.CustomerID, s.PriceID, s.ItemID, max(s.Quantity, 1), s.Plan, s.Status, s.CurrentPeriodEnd,
		s.CancelAtPeriodEnd, s.Version, now())
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// SetInvoiceStatus records the outcome of a subscription's latest invoice
// ("paid" or "payment_failed"), unless a newer invoice event was applied.
func (q Queries) SetInvoiceStatus(ctx context.Context, subscriptionID, status string, version int64) error {
	_, err := q.writer.ExecContext(ctx, `
		UPDATE subscriptions SET last_invoice_status = ?, invoice_version = ?, updated_at = ?
		WHERE id = ? AND invoice_version <= ?`, status, version, now(), subscriptionID, version)
	return err
}

const subscriptionColumns = `id, team_id, customer_id, price_id, item_id, quantity, plan, status, current_period_end,
	cancel_at_period_end, last_invoice_status, version`

func scanSubscription(row interface{ Scan(...any) error }) (Subscription, error) {
	var s Subscription
	err := row.Scan(&s.ID, &s.TeamID, &s.CustomerID, &s.PriceID, &s.ItemID, &s.Quantity, &s.Plan, &s.Status, &s.CurrentPeriodEnd,
		&s.CancelAtPeriodEnd, &s.LastInvoiceStatus, &s.Version)
	return s, notFound(err)
}

// currentSubscriptionOf is the subquery that picks the subscription deciding
// the plan of the team in ?: the live one (active, trialing or past_due) of
// the highest version, else the most recent one of any status.
const currentSubscriptionOf = `SELECT id FROM subscriptions WHERE team_id = %s
	ORDER BY status IN ('active', 'trialing', 'past_due') DESC, version DESC, updated_at DESC LIMIT 1`

// CurrentSubscription returns the subscription that decides teamID's plan,
// or ErrNotFound.
func (q Queries) CurrentSubscription(ctx context.Context, teamID int64) (Subscription, error) {
	return scanSubscription(q.reader.QueryRowContext(ctx, `
		SELECT `+subscriptionColumns+` FROM subscriptions WHERE id = (`+fmt.Sprintf(currentSubscriptionOf, "?")+`)`, teamID))
}

// Subscriptions returns every subscription of teamID, the oldest first (for
// its export): a team has a handful, one per purchase.
func (q Queries) Subscriptions(ctx context.Context, teamID int64) ([]Subscription, error) {
	return scanSubscriptions(q.reader.QueryContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions WHERE team_id = ? ORDER BY version, id`, teamID))
}

func scanSubscriptions(rows *sql.Rows, err error) ([]Subscription, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Subscription
	for rows.Next() {
		s, err := scanSubscription(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// LiveSubscriptionsOf returns the subscriptions Stripe still bills (any
// status but the two final ones) of teamID: what must be cancelled before
// the team goes. Usually one; two when a purchase raced another.
func (q Queries) LiveSubscriptionsOf(ctx context.Context, teamID int64) ([]Subscription, error) {
	return scanSubscriptions(q.reader.QueryContext(ctx, `
		SELECT `+subscriptionColumns+` FROM subscriptions
		WHERE team_id = ? AND status NOT IN ('canceled', 'incomplete_expired') ORDER BY id`, teamID))
}

// SubscriptionByID returns one subscription, or ErrNotFound.
func (q Queries) SubscriptionByID(ctx context.Context, id string) (Subscription, error) {
	return scanSubscription(q.reader.QueryRowContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions WHERE id = ?`, id))
}

// AdminSubscription is one row of a subscription list on the admin page.
type AdminSubscription struct {
	ID        string
	Email     string
	PriceID   string
	Status    string
	UpdatedAt time.Time
}

// LiveSubscriptionsOfPlan lists up to limit subscriptions stored with plan
// that Stripe still bills (any status but the two final ones), most recently
// changed first.
func (q Queries) LiveSubscriptionsOfPlan(ctx context.Context, plan string, limit int) ([]AdminSubscription, error) {
	rows, err := q.reader.QueryContext(ctx, `
		SELECT s.id, u.email, s.price_id, s.status, s.updated_at
		FROM subscriptions s JOIN teams t ON t.id = s.team_id JOIN users u ON u.id = t.owner_id
		WHERE s.plan = ? AND s.status NOT IN ('canceled', 'incomplete_expired')
		ORDER BY s.updated_at DESC LIMIT ?`, plan, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AdminSubscription
	for rows.Next() {
		var a AdminSubscription
		if err := rows.Scan(&a.ID, &a.Email, &a.PriceID, &a.Status, &a.UpdatedAt); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// CountEvents returns how many webhook events were recorded (for tests and the admin).
func (q Queries) CountEvents(ctx context.Context) (int, error) {
	var n int
	err := q.reader.QueryRowContext(ctx, `SELECT count(*) FROM stripe_events`).Scan(&n)
	return n, err
}

// UnixTime converts a Stripe timestamp (0 for none) to a NullTime.
func UnixTime(sec int64) sql.NullTime {
	if sec == 0 {
		return sql.NullTime{}
	}
	return sql.NullTime{Time: time.Unix(sec, 0).UTC(), Valid: true}
}

// SessionUser is what an authenticated request needs: the user, the
// subscription that decides the plan of their personal team (nil if none),
// and when the session's
// device was last seen (zero when the session was revoked). Each caller gets
// its own: the read cache hands out a copy of *Sub too.
type SessionUser struct {
	User     User
	Sub      *Subscription
	LastSeen time.Time
	Team     Scope // the user in their personal team, where their pages act
	// LastTeam is the team whose pages they visited last, if they are still
	// in it (0 when none is remembered): where /dashboard opens.
	LastTeam int64
}

// UserForSession loads a SessionUser in one query. DB.UserForSession serves
// it from the read cache: it runs on every authenticated request.
func (q Queries) UserForSession(ctx context.Context, id int64, sid string) (SessionUser, error) {
	var u User
	var s Subscription
	var subID, customer, price, plan, status, invoice sql.NullString
	var atEnd sql.NullBool
	var version sql.NullInt64
	var lastSeen sql.NullTime
	var team, lastTeam int64
	err := q.reader.QueryRowContext(ctx, `
		SELECT u.id, u.email, coalesce(u.password_hash, ''), u.email_verified_at, u.auth_epoch, u.created_at, u.updated_at, u.display_name,
		       u.disabled_at IS NOT NULL, s.id, s.customer_id, s.price_id, s.plan, s.status, s.current_period_end, s.cancel_at_period_end,
		       s.last_invoice_status, s.version, coalesce(s.item_id, ''), coalesce(s.quantity, 1), us.last_seen_at, coalesce(pt.id, 0), coalesce(lm.team_id, 0)
		FROM users u
		LEFT JOIN user_sessions us ON us.id = ? AND us.user_id = u.id
		LEFT JOIN teams pt ON pt.owner_id = u.id AND pt.personal = 1
		LEFT JOIN memberships lm ON lm.team_id = u.last_team_id AND lm.user_id = u.id
		LEFT JOIN subscriptions s ON s.id = (`+fmt.Sprintf(currentSubscriptionOf, "pt.id")+`)
		WHERE u.id = ?`, sid, id).Scan(&u.ID, &u.Email, &u.PasswordHash, &u.EmailVerifiedAt, &u.AuthEpoch, &u.CreatedAt, &u.UpdatedAt, &u.DisplayName,
		&u.Disabled, &subID, &customer, &price, &plan, &status, &s.CurrentPeriodEnd, &atEnd, &invoice, &version, &s.ItemID, &s.Quantity, &lastSeen, &team, &lastTeam)
	if err != nil {
		return SessionUser{}, notFound(err)
	}
	su := SessionUser{User: u, LastSeen: lastSeen.Time, LastTeam: lastTeam}
	if team != 0 {
		su.Team = Scope{team: team, user: u.ID}
	}
	if subID.Valid {
		s.ID, s.TeamID, s.CustomerID, s.PriceID, s.Plan, s.Status = subID.String, team, customer.String, price.String, plan.String, status.String
		s.CancelAtPeriodEnd, s.LastInvoiceStatus, s.Version = atEnd.Bool, invoice.String, version.Int64
		su.Sub = &s
	}
	return su, nil
}

// Seats: a paid plan bills each member of the team. A live subscription's
// quantity is kept equal to the team's members by app/billing_seats.go,
// which reads these two and tells Stripe.

// MemberCount is how many members teamID has, its owner included: the
// seats its subscription bills.
func (q Queries) MemberCount(ctx context.Context, teamID int64) (int64, error) {
	var n int64
	err := q.reader.QueryRowContext(ctx, `SELECT count(*) FROM memberships WHERE team_id = ?`, teamID).Scan(&n)
	return n, err
}

// SeatsOutOfStep returns the teams whose entitled subscription (active,
// trialing or past_due) bills another number of seats than they have
// members: what a missed update, a failed call to Stripe or a change made
// in Stripe's Dashboard leaves behind.
func (q Queries) SeatsOutOfStep(ctx context.Context) ([]int64, error) {
	return scanIDs(q.reader.QueryContext(ctx, `
		SELECT DISTINCT s.team_id FROM subscriptions s
		WHERE s.status IN ('active', 'trialing', 'past_due')
		  AND s.quantity <> (SELECT count(*) FROM memberships WHERE team_id = s.team_id)
		ORDER BY s.team_id`))
}

// scanIDs reads a column of ids.
func scanIDs(rows *sql.Rows, err error) ([]int64, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// PayingTeamsOf returns the teams userID is a member of, not their owner,
// whose subscription is entitled: the teams that bill one seat fewer once
// they leave them all (their account is deleted).
func (q Queries) PayingTeamsOf(ctx context.Context, userID int64) ([]int64, error) {
	return scanIDs(q.reader.QueryContext(ctx, `
		SELECT m.team_id FROM memberships m JOIN teams t ON t.id = m.team_id
		WHERE m.user_id = ?1 AND t.owner_id <> ?1
		  AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.team_id = m.team_id AND s.status IN ('active', 'trialing', 'past_due'))
		ORDER BY m.team_id`, userID))
}
