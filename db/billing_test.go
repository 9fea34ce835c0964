package db

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
)

// TestMigration0015MovesBillingToPersonalTeams applies 0013 to 0015 to a
// database at 0012 with customers and subscriptions: each ends up in its
// user's personal team, with every column kept and one seat, the admin's
// figures count the seats, and deleting a user still takes their billing
// rows and nobody else's.
func TestMigration0015MovesBillingToPersonalTeams(t *testing.T) {
	ctx := context.Background()
	d := openAt(t, "0012_admin_at_scale.sql")
	fillAt0009(t, d)
	// A second, cancelled subscription for Ada, with an invoice outcome.
	mustExec(t, d, `INSERT INTO subscriptions (id, user_id, customer_id, price_id, plan, status, cancel_at_period_end,
		last_invoice_status, version, invoice_version, updated_at)
		VALUES ('sub_old', 1, 'cus_1', 'price_ent', 'enterprise', 'canceled', 1, 'payment_failed', 7, 8, '2025-01-01')`)
	const cols = `id || ' ' || customer_id || ' ' || price_id || ' ' || plan || ' ' || status || ' ' || coalesce(current_period_end, '-') || ' ' ||
		cancel_at_period_end || ' ' || last_invoice_status || ' ' || version || ' ' || invoice_version || ' ' || updated_at`
	rowsOf := func(query string) string {
		t.Helper()
		var s string
		if err := d.Write.QueryRow(`SELECT coalesce(group_concat(r, ', '), '') FROM (` + query + `)`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	subsBefore, customersBefore := map[int]string{}, map[int]string{}
	for uid := 1; uid <= 4; uid++ {
		subsBefore[uid] = rowsOf(fmt.Sprintf(`SELECT %s AS r FROM subscriptions WHERE user_id = %d ORDER BY id`, cols, uid))
		customersBefore[uid] = rowsOf(fmt.Sprintf(`SELECT customer_id || ' ' || created_at AS r FROM billing_customers WHERE user_id = %d`, uid))
	}
	if subsBefore[1] == "" || subsBefore[2] == "" || customersBefore[1] == "" {
		t.Fatal("the fixture has no billing rows")
	}

	if _, err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, d, `SELECT count(*) FROM pragma_foreign_key_check`); n != 0 {
		t.Fatalf("foreign_key_check: %d rows", n)
	}
	for uid := 1; uid <= 4; uid++ {
		sc, err := d.PersonalScope(ctx, int64(uid))
		if err != nil {
			t.Fatal(err)
		}
		team := sc.TeamID()
		if got := rowsOf(fmt.Sprintf(`SELECT %s AS r FROM subscriptions WHERE team_id = %d ORDER BY id`, cols, team)); got != subsBefore[uid] {
			t.Errorf("user %d's subscriptions: before %q, in their personal team %q", uid, subsBefore[uid], got)
		}
		if got := rowsOf(fmt.Sprintf(`SELECT customer_id || ' ' || created_at AS r FROM billing_customers WHERE team_id = %d`, team)); got != customersBefore[uid] {
			t.Errorf("user %d's customer: before %q, in their personal team %q", uid, customersBefore[uid], got)
		}
		if customersBefore[uid] != "" {
			if got, err := d.TeamIDByCustomer(ctx, fmt.Sprint("cus_", uid)); err != nil || got != team {
				t.Errorf("customer of user %d: team %d, %v; want %d", uid, got, err, team)
			}
		}
	}
	if n := count(t, d, `SELECT count(*) FROM subscriptions WHERE quantity <> 1 OR item_id <> ''`); n != 0 {
		t.Errorf("%d subscriptions with other than one seat and no item", n)
	}
	ada, _ := d.PersonalScope(ctx, 1)
	sub, err := d.CurrentSubscription(ctx, ada.TeamID())
	if err != nil || sub.ID != "sub_1" || sub.TeamID != ada.TeamID() || sub.Quantity != 1 {
		t.Fatalf("Ada's current subscription: %+v, %v; want the active sub_1", sub, err)
	}
	wantAdminCounts(t, d, "after 0015")

	if err := d.DeleteUser(ctx, 2, "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`SELECT count(*) FROM subscriptions WHERE customer_id = 'cus_2'`, `SELECT count(*) FROM billing_customers WHERE customer_id = 'cus_2'`} {
		if n := count(t, d, q); n != 0 {
			t.Errorf("%s: %d after Bob was deleted", q, n)
		}
	}
	if n := count(t, d, `SELECT count(*) FROM subscriptions`); n != 2 {
		t.Errorf("%d subscriptions after Bob was deleted, want Ada's 2", n)
	}
	wantAdminCounts(t, d, "after Bob was deleted")
}

// TestBillingIsTheTeams: a team's customer and subscription are its own;
// another team of the same owner has neither, and the subscription a
// session sees is its user's personal team's.
func TestBillingIsTheTeams(t *testing.T) {
	ctx := context.Background()
	d, _ := openTestDB(t)
	u, err := d.CreateUser(ctx, "ada@example.com", "", false)
	if err != nil {
		t.Fatal(err)
	}
	personal, _ := d.PersonalScope(ctx, u.ID)
	team, err := d.CreateTeam(ctx, u.ID, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := d.SaveCustomer(ctx, team.TeamID(), "cus_acme"); err != nil || got != "cus_acme" {
		t.Fatal(got, err)
	}
	if got, err := d.SaveCustomer(ctx, team.TeamID(), "cus_other"); err != nil || got != "cus_acme" {
		t.Fatalf("a second customer for the team: %q, %v; the first stays", got, err)
	}
	if _, err := d.ApplySubscription(ctx, Subscription{ID: "sub_acme", TeamID: team.TeamID(), CustomerID: "cus_acme",
		PriceID: "price_pro", ItemID: "si_1", Quantity: 4, Plan: "pro", Status: "active", Version: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.CustomerID(ctx, personal.TeamID()); err != ErrNotFound {
		t.Errorf("the personal team has a customer: %v", err)
	}
	if _, err := d.CurrentSubscription(ctx, personal.TeamID()); err != ErrNotFound {
		t.Errorf("the personal team has a subscription: %v", err)
	}
	sub, err := d.CurrentSubscription(ctx, team.TeamID())
	if err != nil || sub.Quantity != 4 || sub.ItemID != "si_1" {
		t.Fatalf("the team's subscription: %+v, %v", sub, err)
	}
	su, err := d.Queries.UserForSession(ctx, u.ID, "")
	if err != nil || su.Sub != nil {
		t.Fatalf("the session's plan is the personal team's, which has none: %+v, %v", su.Sub, err)
	}
	live, err := d.LiveSubscriptionsOf(ctx, team.TeamID())
	if err != nil || len(live) != 1 || live[0].ID != "sub_acme" {
		t.Fatalf("live subscriptions of Acme: %+v, %v", live, err)
	}
	if live, err := d.LiveSubscriptionsOf(ctx, personal.TeamID()); err != nil || len(live) != 0 {
		t.Fatalf("live subscriptions of the personal team: %+v, %v", live, err)
	}
	if owned, err := d.OwnedTeamIDs(ctx, u.ID); err != nil || len(owned) != 2 {
		t.Fatalf("Ada's teams: %v, %v", owned, err)
	}
}

// TestMigration0017TokensActInPersonalTeams: every API token made before
// 0017 acts in its user's personal team, keeping its id, hash and dates; a
// token goes with the membership it was made with; and a revoked token's id
// is not handed out again.
func TestMigration0017TokensActInPersonalTeams(t *testing.T) {
	ctx := context.Background()
	d := openAt(t, "0012_admin_at_scale.sql")
	fillAt0009(t, d)
	before := count(t, d, `SELECT count(*) FROM api_tokens`)
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, d, `SELECT count(*) FROM pragma_foreign_key_check`); n != 0 {
		t.Fatalf("foreign_key_check: %d rows", n)
	}
	if n := count(t, d, `SELECT count(*) FROM sqlite_sequence WHERE name = 'api_tokens'`); n != 1 {
		t.Fatalf("%d sqlite_sequence rows for api_tokens, want 1", n)
	}
	if n := count(t, d, `SELECT count(*) FROM api_tokens a JOIN teams t ON t.id = a.team_id AND t.owner_id = a.user_id AND t.personal`); n != before || n == 0 {
		t.Fatalf("%d of %d tokens act in their user's personal team", n, before)
	}
	ada, _ := d.PersonalScope(ctx, 1)
	tok, err := d.APITokenByHash(ctx, []byte{1})
	if err != nil || tok.TeamID != ada.TeamID() || tok.TeamName != "Personal" || tok.Name != "cli" {
		t.Fatalf("ada's token: %+v, %v", tok, err)
	}
	// A token of a shared team goes when its user leaves the team.
	bob, _ := d.PersonalScope(ctx, 2)
	acme, err := d.CreateTeam(ctx, 1, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.AddMember(ctx, acme, 2, RoleMember); err != nil {
		t.Fatal(err)
	}
	bobInAcme, _, err := d.Membership(ctx, 2, acme.TeamID())
	if err != nil {
		t.Fatal(err)
	}
	last, err := d.CreateAPIToken(ctx, bobInAcme, "acme", []byte("acme-hash"), "skiff_", sql.NullTime{}, 50)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveMember(ctx, acme, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := d.APITokenByHash(ctx, []byte("acme-hash")); err != ErrNotFound {
		t.Fatalf("bob's token for Acme after he left it: %v", err)
	}
	next, err := d.CreateAPIToken(ctx, bob, "again", []byte("again-hash"), "skiff_", sql.NullTime{}, 50)
	if err != nil || next.ID <= last.ID {
		t.Fatalf("a new token's id %d after %d was revoked (%v): ids are never reused", next.ID, last.ID, err)
	}
}
