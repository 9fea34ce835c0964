package db

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"
)

// migrationsThrough returns the migrations up to and including last.
func migrationsThrough(t *testing.T, last string) []Migration {
	t.Helper()
	all, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(all, func(m Migration) bool { return m.Name == last })
	if i < 0 {
		t.Fatalf("no migration %s", last)
	}
	return all[:i+1]
}

// wantAdminCounts checks the counts that migration 0012's triggers keep
// against counting the tables.
func wantAdminCounts(t *testing.T, d *DB, when string) {
	t.Helper()
	ctx := context.Background()
	bySQL := func(query string) map[string]int {
		t.Helper()
		rows, err := d.Write.Query(query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]int{}
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				t.Fatal(err)
			}
			out[k] = n
		}
		return out
	}
	signups := map[string]int{}
	list, err := d.SignupsSince(ctx, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		signups[c.Day] = c.Count
	}
	if want := bySQL(`SELECT substr(created_at, 1, 10), count(*) FROM users GROUP BY 1`); !maps.Equal(signups, want) {
		t.Errorf("%s: signups per day %v, want %v", when, signups, want)
	}
	total, err := d.TotalUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := count(t, d, `SELECT count(*) FROM users`); total != want {
		t.Errorf("%s: %d users, want %d", when, total, want)
	}
	byPlan, err := d.EntitledSubscriptionsByPlan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	subs, seats := map[string]int{}, map[string]int{}
	for plan, c := range byPlan {
		subs[plan], seats[plan] = c.Subscriptions, c.Seats
	}
	const entitled = ` FROM subscriptions WHERE status IN ('active', 'trialing', 'past_due') GROUP BY plan`
	if want := bySQL(`SELECT plan, count(*)` + entitled); !maps.Equal(subs, want) {
		t.Errorf("%s: entitled subscriptions %v, want %v", when, subs, want)
	}
	if want := bySQL(`SELECT plan, sum(quantity)` + entitled); !maps.Equal(seats, want) {
		t.Errorf("%s: entitled seats %v, want %v", when, seats, want)
	}
}

// TestAdminCountsFollowEveryChange: the counts migration 0012 adds start
// from the rows already there and follow every insert, update and delete,
// the deletes that cascade from a user included.
func TestAdminCountsFollowEveryChange(t *testing.T) {
	ctx := context.Background()
	d := openAt(t, "0011_redact_delivered_mail.sql")
	user := func(id int, created string) {
		mustExec(t, d, `INSERT INTO users (id, email, created_at, updated_at) VALUES (?, ?, ?, ?)`,
			id, fmt.Sprintf("u%d@example.com", id), created, created)
	}
	sub := func(id string, userID int, plan, status string) {
		mustExec(t, d, `INSERT INTO subscriptions (id, user_id, customer_id, price_id, plan, status, version, updated_at)
			VALUES (?, ?, 'cus', 'price', ?, ?, 1, '2026-01-01 00:00:00.000+00:00')`, id, userID, plan, status)
	}
	user(1, "2026-01-01 09:00:00.000+00:00")
	user(2, "2026-01-01 23:59:59.999+00:00")
	user(3, "2026-01-02 00:00:00.000+00:00")
	sub("sub_1", 1, "pro", "active")
	sub("sub_2", 2, "pro", "canceled")
	sub("sub_3", 3, "enterprise", "trialing")
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	wantAdminCounts(t, d, "after the migration")

	for _, step := range []struct{ what, sql string }{
		{"a signup", `INSERT INTO users (id, email, created_at, updated_at) VALUES (4, 'u4@example.com', '2026-01-02 10:00:00.000+00:00', '2026-01-02')`},
		{"a team", `INSERT INTO teams (id, name, owner_id, created_at) VALUES (4, 'Team', 4, '2026-01-02')`},
		{"a new subscription", `INSERT INTO subscriptions (id, team_id, customer_id, price_id, plan, status, quantity, version, updated_at)
			VALUES ('sub_4', 4, 'cus', 'price', 'unknown', 'incomplete', 2, 1, '2026-01-02')`},
		{"it starts", `UPDATE subscriptions SET status = 'active' WHERE id = 'sub_4'`},
		{"a member joins", `UPDATE subscriptions SET quantity = 3 WHERE id = 'sub_4'`},
		{"a member joins a subscription that bills nothing", `UPDATE subscriptions SET quantity = 2 WHERE id = 'sub_2'`},
		{"it changes plan", `UPDATE subscriptions SET plan = 'pro' WHERE id = 'sub_4'`},
		{"a payment fails", `UPDATE subscriptions SET status = 'past_due' WHERE id = 'sub_1'`},
		{"a cancellation", `UPDATE subscriptions SET status = 'canceled' WHERE id = 'sub_1'`},
		{"an update of neither", `UPDATE subscriptions SET last_invoice_status = 'paid' WHERE id = 'sub_3'`},
		{"a user deleted with their subscription", `DELETE FROM users WHERE id = 3`},
		{"a subscription deleted", `DELETE FROM subscriptions WHERE id = 'sub_4'`},
		{"every user of a day deleted", `DELETE FROM users WHERE id IN (1, 2)`},
		{"a signup date rewritten", `UPDATE users SET created_at = '2025-12-31 12:00:00.000+00:00' WHERE id = 4`},
	} {
		mustExec(t, d, step.sql)
		wantAdminCounts(t, d, step.what)
	}
	if n := count(t, d, `SELECT count(*) FROM subscriptions`); n != 0 {
		t.Fatalf("%d subscriptions left, want none: the users' deletes did not cascade", n)
	}
}

// TestAdminUsersByEmail: a search finds the addresses that begin with it,
// whatever their ASCII case, in their order, a page at a time.
func TestAdminUsersByEmail(t *testing.T) {
	ctx := context.Background()
	d, _ := openTestDB(t)
	for i, email := range []string{"ada@example.com", "ad@example.com", "adam@example.com", "bob@example.com", "ac@example.com", "ad_min@example.com"} {
		mustExec(t, d, `INSERT INTO users (email, created_at, updated_at) VALUES (?, ?, ?)`, email, time.Now(), time.Now().Add(time.Duration(i)))
	}
	emails := func(list []AdminUser) []string {
		var out []string
		for _, u := range list {
			out = append(out, u.Email)
		}
		return out
	}
	page, err := d.AdminUsersByEmail(ctx, "AD", "", 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"ad@example.com", "ad_min@example.com", "ada@example.com"}; !slices.Equal(emails(page), want) {
		t.Fatalf("first page %v, want %v", emails(page), want)
	}
	page, err = d.AdminUsersByEmail(ctx, "ad", "ada@example.com", 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"adam@example.com"}; !slices.Equal(emails(page), want) {
		t.Fatalf("second page %v, want %v", emails(page), want)
	}
	for _, q := range []string{"ad%", "_d", "zz"} {
		if page, err := d.AdminUsersByEmail(ctx, q, "", 10); err != nil || len(page) != 0 {
			t.Fatalf("%q matches %v (%v): a search is no pattern", q, emails(page), err)
		}
	}
}
