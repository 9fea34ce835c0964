package app

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"skiff/db"
)

// TestSeatBilling follows a team's billing against the Stripe fake: only its
// owner buys, for as many seats as it has members, on the team's own Stripe
// customer; the webhook gives the team (not its owner) the plan; joining,
// removal, leaving and a deleted account each set the quantity, prorated;
// a failed call and a change made in Stripe's Dashboard are brought back to
// the members; the admin's revenue counts seats; deleting the team cancels
// its subscription.
func TestSeatBilling(t *testing.T) {
	fake := newFakeStripe(t)
	ts := newTestServer(t, withStripe(fake), func(c *testSetup) { c.AdminEmails = map[string]bool{"ada@example.com": true} })
	ctx := context.Background()
	ada := ts.newClient()
	ada.signupVerified("ada@example.com")
	acme := strings.TrimSuffix(ada.post("/teams", url.Values{"name": {"Acme"}}).Header.Get("Location"), "/projects")
	team, _ := strconv.ParseInt(strings.TrimPrefix(acme, "/t/"), 10, 64)
	join := func(name, role string) *client {
		t.Helper()
		email := name + "@example.com"
		wantRedirect(t, ada.post(acme+"/invitations", url.Values{"email": {email}, "role": {role}}), acme+"/members")
		ts.mailSettled()
		link := ts.path(ts.smtp.latest(email, "invited you to Acme").link(t, ts.URL+"/invitations/accept?token="))
		c := ts.newClient()
		c.signupVerified(email)
		wantRedirect(t, c.post("/invitations/accept", url.Values{"token": {tokenOf(t, link)}}), acme+"/projects")
		return c
	}
	bob, cyd := join("bob", db.RoleAdmin), join("cyd", db.RoleMember)

	// Who may see and change the team's plan: the permission table.
	wantStatus(t, cyd.get(acme+"/billing"), http.StatusForbidden)
	res := bob.get(acme + "/billing")
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "Acme: one plan for the whole team", "Free", "Only the team's owner chooses its plan")
	for _, path := range []string{"/billing/checkout", "/billing/portal"} {
		wantStatus(t, bob.post(acme+path, url.Values{"plan": {"pro"}}), http.StatusForbidden)
	}
	if len(fake.sessions) != 0 || len(fake.customers) != 0 {
		t.Fatal("an admin reached Stripe")
	}

	// The owner buys Pro for three seats, on the team's own customer: the
	// team's pages send her to its billing, not to her own pricing.
	wantBody(t, ada.get(acme+"/projects"), `<a href="`+acme+`/billing">Upgrade for unlimited projects</a>`)
	res = ada.get(acme + "/billing")
	wantBody(t, res, "3 seats now", "Choose Pro, $19 per member / month", `action="`+acme+`/billing/checkout"`)
	res = ada.post(acme+"/billing/checkout", url.Values{"plan": {"pro"}})
	wantStatus(t, res, http.StatusSeeOther)
	sessionID := strings.TrimPrefix(res.Header.Get("Location"), "https://checkout.stripe.com/c/pay/")
	customer, err := ts.db.CustomerID(ctx, team)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.db.CustomerID(ctx, ts.team(ts.userID("ada@example.com")).TeamID()); err == nil {
		t.Fatal("the team's purchase made a customer for its owner's personal team")
	}
	params := fake.sessionParams[sessionID]
	for k, want := range map[string]string{"customer": customer, "client_reference_id": "team-" + itoa64(team),
		"line_items[0][quantity]": "3", "success_url": ts.URL + acme + "/billing?session_id={CHECKOUT_SESSION_ID}"} {
		if params[k] != want {
			t.Errorf("checkout %s = %q, want %q", k, params[k], want)
		}
	}
	sub := fake.completeCheckout(sessionID, "active")
	subID := sub["id"].(string)
	now := time.Now().Unix()
	ts.sendEvent("checkout.session.completed", map[string]any{"id": sessionID, "object": "checkout.session", "mode": "subscription",
		"customer": customer, "client_reference_id": "team-" + itoa64(team), "subscription": subID}, now)
	ts.sendEvent("customer.subscription.created", sub, now)
	res = bob.get(acme + "/billing")
	wantBody(t, res, "Pro", "Active", "3 seats")
	if got := ts.planOf("ada@example.com"); got != PlanFree {
		t.Fatalf("the owner's personal team is on %s; the team bought Pro, not her", got)
	}

	// Pro has no member limit: a fourth joins, and Stripe bills 4 seats.
	dan := join("dan", db.RoleMember)
	seatsAre := func(want string) {
		t.Helper()
		eventually(t, func() bool { return fake.lastSeats(subID) == want })
		eventually(t, func() bool {
			s, err := ts.db.CurrentSubscription(ctx, team)
			return err == nil && strconv.FormatInt(s.Quantity, 10) == want
		})
	}
	seatsAre("4")
	fake.mu.Lock()
	last := fake.seatUpdates[len(fake.seatUpdates)-1]
	fake.mu.Unlock()
	if last.Proration != "create_prorations" || last.Item != "si_"+subID {
		t.Fatalf("seat update %+v: want item si_%s, prorated", last, subID)
	}
	// Removal, leaving and a deleted account each free a seat.
	wantRedirect(t, ada.post(acme+"/members/"+itoa64(ts.userID("cyd@example.com"))+"/remove", nil), acme+"/members")
	seatsAre("3")
	wantRedirect(t, dan.post(acme+"/leave", nil), "/teams")
	seatsAre("2")
	wantRedirect(t, bob.post("/settings/delete", url.Values{"delete_password": {testPassword}}), "/")
	seatsAre("1")
	if n := ts.count(`SELECT count(*) FROM memberships WHERE team_id = ?`, team); n != 1 {
		t.Fatalf("%d members, want Ada alone", n)
	}

	// Stripe down while someone joins: the page works, the failure is
	// logged, and the next pass sets the seats.
	fake.mu.Lock()
	fake.down = true
	fake.mu.Unlock()
	eveClient := join("eve", db.RoleMember)
	eventually(t, func() bool { return strings.Contains(ts.logs.String(), "seats: update the team's subscription") })
	fake.mu.Lock()
	fake.down = false
	fake.mu.Unlock()
	if n, err := ts.srv.syncAllSeats(ctx); n != 1 || err != nil {
		t.Fatalf("a pass after Stripe came back: %d updated, %v", n, err)
	}
	seatsAre("2")

	// A quantity changed in Stripe's Dashboard comes back as a webhook and
	// is set back to the members.
	fake.mu.Lock()
	updates := len(fake.seatUpdates)
	item := sub["items"].(map[string]any)["data"].([]any)[0].(map[string]any)
	item["quantity"] = 7
	fake.mu.Unlock()
	ts.sendEvent("customer.subscription.updated", sub, now+5)
	seatsAre("2")
	fake.mu.Lock()
	if len(fake.seatUpdates) != updates+1 {
		t.Errorf("%d seat updates after the Dashboard's change, want 1", len(fake.seatUpdates)-updates)
	}
	fake.mu.Unlock()
	if n, err := ts.srv.syncAllSeats(ctx); n != 0 || err != nil {
		t.Fatalf("a pass with every team in step: %d updated, %v", n, err)
	}

	// The admin's revenue is per seat: 2 × $19.
	wantBody(t, ada.get("/admin"), "$38.00", "Pro subscriptions, 2 seats")

	// Handing the team over: its Stripe customer's address is the new
	// owner's, who pays from now on.
	wantStatus(t, ada.get(acme+"/members"), http.StatusOK)
	eve := ts.userID("eve@example.com")
	wantRedirect(t, ada.post(acme+"/transfer", url.Values{"user": {itoa64(eve)}}), acme+"/members")
	fake.mu.Lock()
	email := fake.customers[customer]
	fake.mu.Unlock()
	if email != "eve@example.com" {
		t.Fatalf("the team's customer after the hand-over: %q, want eve's address", email)
	}
	wantStatus(t, ada.get(acme+"/billing"), http.StatusOK) // an admin now: read only
	wantStatus(t, ada.post(acme+"/billing/portal", nil), http.StatusForbidden)
	ada = eveClient

	// Deleting the team cancels its subscription first.
	wantRedirect(t, ada.post(acme+"/delete", nil), "/teams")
	fake.mu.Lock()
	canceled := slices.Contains(fake.canceled, subID)
	fake.mu.Unlock()
	if !canceled {
		t.Fatal("the team was deleted with its subscription still billing")
	}
	if n := ts.count(`SELECT count(*) FROM billing_customers WHERE team_id = ?`, team); n != 0 {
		t.Fatal("the deleted team's customer link stayed")
	}
}

// TestCheckoutFromBeforeTeams: a Checkout session opened before teams
// existed names its user (client_reference_id "42"); its completion links
// the customer to that user's personal team.
func TestCheckoutFromBeforeTeams(t *testing.T) {
	fake := newFakeStripe(t)
	ts := newTestServer(t, withStripe(fake))
	ts.newClient().signup("ada@example.com")
	id := ts.userID("ada@example.com")
	now := time.Now().Unix()
	ts.sendEvent("checkout.session.completed", map[string]any{"id": "cs_old", "object": "checkout.session", "mode": "subscription",
		"customer": "cus_old", "client_reference_id": itoa64(id), "subscription": "sub_old"}, now)
	ts.sendEvent("customer.subscription.created", subscriptionObject("sub_old", "cus_old", "price_pro", "active", now), now)
	if got, err := ts.db.CustomerID(context.Background(), ts.team(id).TeamID()); err != nil || got != "cus_old" {
		t.Fatalf("ada's personal team's customer: %q, %v", got, err)
	}
	if got := ts.planOf("ada@example.com"); got != PlanPro {
		t.Fatalf("ada is on %s, want pro", got)
	}
	for _, ref := range []string{"team-", "team-x", "team--4", "x", "-1", ""} {
		ts.sendEvent("checkout.session.completed", map[string]any{"id": "cs_" + ref, "object": "checkout.session", "mode": "subscription",
			"customer": "cus_" + ref, "client_reference_id": ref}, now)
	}
	if n := ts.count(`SELECT count(*) FROM billing_customers`); n != 1 {
		t.Fatalf("%d customers linked, want only ada's", n)
	}
}
