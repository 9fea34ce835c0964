package app

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"skiff/db"
)

// TestDeletedUsersIdIsNeverGivenToTheNextSignup: Stripe carries a user's id
// back (client_reference_id, metadata) days later. If a deleted user's id went
// to the next signup, a late checkout.session.completed would link the deleted
// user's Stripe customer to the newcomer, and that customer's subscription
// would then make the newcomer Pro.
func TestDeletedUsersIdIsNeverGivenToTheNextSignup(t *testing.T) {
	fake := newFakeStripe(t)
	ts := newTestServer(t, withStripe(fake))
	ctx := context.Background()

	// Ada opens a checkout (Skiff creates her Stripe customer), then deletes
	// her account before Stripe's events arrive.
	ada := ts.newClient()
	ada.signup("ada@example.com")
	adaUser, err := ts.db.UserByEmail(ctx, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	res := ada.post("/billing/checkout", url.Values{"plan": {"pro"}})
	wantStatus(t, res, http.StatusSeeOther)
	sessionID := strings.TrimPrefix(res.Header.Get("Location"), "https://checkout.stripe.com/c/pay/")
	adaTeam := ts.team(adaUser.ID).TeamID()
	adaCustomer, err := ts.db.CustomerID(ctx, adaTeam)
	if err != nil {
		t.Fatal(err)
	}
	wantRedirect(t, ada.post("/settings/delete", url.Values{"delete_password": {testPassword}}), "/")

	// Bob signs up next: he must not get Ada's id.
	bob := ts.newClient()
	bob.signup("bob@example.com")
	bobUser, err := ts.db.UserByEmail(ctx, "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if bobUser.ID <= adaUser.ID {
		t.Fatalf("the next signup got id %d; the deleted user had %d", bobUser.ID, adaUser.ID)
	}

	// Stripe's events for Ada arrive late, correctly signed.
	now := time.Now().Unix()
	ts.sendEvent("checkout.session.completed", map[string]any{"id": sessionID, "object": "checkout.session",
		"mode": "subscription", "customer": adaCustomer, "client_reference_id": teamReference(adaTeam),
		"subscription": "sub_late"}, now)
	ts.sendEvent("customer.subscription.updated", subscriptionObject("sub_late", adaCustomer, "price_pro", "active", now), now+1)

	// Bob is still on Free, and nothing of Ada's is linked to anyone.
	if got := ts.planOf("bob@example.com"); got != PlanFree {
		t.Fatalf("bob is on %s after a deleted user's late events, want free", got)
	}
	wantStatus(t, bob.get("/reports"), http.StatusForbidden)
	wantBody(t, bob.get("/billing"), "Free")
	if id, err := ts.db.CustomerID(ctx, ts.team(bobUser.ID).TeamID()); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("bob has Stripe customer %q (err %v); he never went to checkout", id, err)
	}
	if id, err := ts.db.TeamIDByCustomer(ctx, adaCustomer); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("the deleted user's customer is linked to team %d (err %v)", id, err)
	}
	var subs int
	ts.db.Read.QueryRow(`SELECT count(*) FROM subscriptions`).Scan(&subs)
	if subs != 0 {
		t.Fatalf("%d subscriptions stored for a deleted user's customer", subs)
	}
}

// TestDeletedProjectsIdIsNeverReused: a link or an API client still holding a
// deleted project's id must not reach the next project created.
func TestDeletedProjectsIdIsNeverReused(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	c.signup("ada@example.com")
	create := func(name string) string {
		t.Helper()
		res := c.post("/projects", url.Values{"name": {name}})
		wantStatus(t, res, http.StatusSeeOther)
		return res.Header.Get("Location")
	}
	first := create("first")
	second := create("second")
	wantRedirect(t, c.post(second+"/delete", nil), ts.projectsOf("ada@example.com"))
	third := create("third")
	if third == second || third == first {
		t.Fatalf("the new project is at %s, a deleted or existing project's address (%s, %s)", third, first, second)
	}
	wantStatus(t, c.get(second), http.StatusNotFound)
}
