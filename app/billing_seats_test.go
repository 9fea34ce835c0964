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
	ts.mailSettled()
	if m := ts.smtp.latest("eve@example.com", "You own Acme now"); !strings.Contains(m.Text, "still paid with the card ada@example.com added") {
		t.Errorf("the new owner's mail:\n%s", m.Text)
	}
	if m := ts.smtp.latest("ada@example.com", "Your card still pays for Acme"); !strings.Contains(m.Text, "until eve@example.com puts their own") {
		t.Errorf("the former owner's mail:\n%s", m.Text)
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

// TestCheckoutReferenceLinksNothing: a Checkout session's
// client_reference_id is the buyer's to set (a Payment Link takes it from
// its URL), so naming a team or a user there links no customer to it: a
// subscription of a customer Skiff did not make for the team stays another's.
func TestCheckoutReferenceLinksNothing(t *testing.T) {
	fake := newFakeStripe(t)
	ts := newTestServer(t, withStripe(fake))
	ts.newClient().signup("ada@example.com")
	id := ts.userID("ada@example.com")
	now := time.Now().Unix()
	for _, ref := range []string{"team-" + itoa64(ts.team(id).TeamID()), itoa64(id), "team-x", ""} {
		ts.sendEvent("checkout.session.completed", map[string]any{"id": "cs_" + ref, "object": "checkout.session", "mode": "subscription",
			"customer": "cus_attacker", "client_reference_id": ref, "subscription": "sub_attacker"}, now)
	}
	ts.sendEvent("customer.subscription.created", subscriptionObject("sub_attacker", "cus_attacker", "price_pro", "active", now), now)
	if n := ts.count(`SELECT count(*) FROM billing_customers`); n != 0 {
		t.Fatalf("%d customers linked on a client_reference_id's word", n)
	}
	if got := ts.planOf("ada@example.com"); got != PlanFree {
		t.Fatalf("ada is on %s through someone else's purchase", got)
	}
}

// TestDeletedTeamStopsBilling: deleting a team cancels every live
// subscription it has and expires its open Checkout pages; a Checkout that
// completes afterwards anyway (or one racing the deletion) is cancelled by
// its webhook, and only this Skiff's: another site's subscription on the
// same Stripe account is left alone.
func TestDeletedTeamStopsBilling(t *testing.T) {
	fake := newFakeStripe(t)
	ts := newTestServer(t, withStripe(fake))
	ada := ts.newClient()
	ada.signupVerified("ada@example.com")
	acme := strings.TrimSuffix(ada.post("/teams", url.Values{"name": {"Acme"}}).Header.Get("Location"), "/projects")
	team, _ := strconv.ParseInt(strings.TrimPrefix(acme, "/t/"), 10, 64)
	checkout := func() string {
		t.Helper()
		res := ada.post(acme+"/billing/checkout", url.Values{"plan": {"pro"}})
		wantStatus(t, res, http.StatusSeeOther)
		return strings.TrimPrefix(res.Header.Get("Location"), "https://checkout.stripe.com/c/pay/")
	}
	// Two tabs: the first page is expired when the second opens.
	first, second := checkout(), checkout()
	fake.mu.Lock()
	firstStatus := fake.sessions[first]["status"]
	fake.mu.Unlock()
	if firstStatus != "expired" {
		t.Fatalf("the first Checkout page is %v once a second opened, want expired", firstStatus)
	}
	// Two live subscriptions all the same (one bought in the Dashboard).
	sub := fake.completeCheckout(second, "active")
	now := time.Now().Unix()
	ts.sendEvent("customer.subscription.created", sub, now)
	customer := sub["customer"].(string)
	extra := subscriptionObject("sub_extra", customer, "price_pro", "trialing", now)
	fake.mu.Lock()
	fake.subs["sub_extra"] = extra
	fake.mu.Unlock()
	ts.sendEvent("customer.subscription.created", extra, now)
	// And a Checkout page left open (made in the fake: while a
	// subscription is live, the billing page makes none).
	fake.mu.Lock()
	fake.sessions["cs_left_open"] = map[string]any{"id": "cs_left_open", "object": "checkout.session", "mode": "subscription",
		"status": "open", "customer": customer}
	fake.mu.Unlock()

	wantRedirect(t, ada.post(acme+"/delete", nil), "/teams")
	fake.mu.Lock()
	canceled := strings.Join(fake.canceled, ",")
	fake.mu.Unlock()
	for _, id := range []string{sub["id"].(string), "sub_extra"} {
		if !strings.Contains(canceled, id) {
			t.Errorf("%s still bills the deleted team (cancelled: %s)", id, canceled)
		}
	}
	fake.mu.Lock()
	leftOpen := fake.sessions["cs_left_open"]["status"]
	fake.mu.Unlock()
	if leftOpen != "expired" {
		t.Errorf("a Checkout page of the deleted team is %v, want expired", leftOpen)
	}

	// A page paid after the deletion: its webhook cancels it.
	fake.mu.Lock()
	late := map[string]any{}
	for k, v := range subscriptionObject("sub_late", customer, "price_pro", "active", now) {
		late[k] = v
	}
	late["metadata"] = map[string]any{"team_id": itoa64(team), "origin": ts.URL}
	fake.subs["sub_late"] = late
	other := subscriptionObject("sub_other_site", "cus_other", "price_pro", "active", now)
	other["metadata"] = map[string]any{"team_id": itoa64(team), "origin": "https://another.example"}
	fake.mu.Unlock()
	ts.sendEvent("customer.subscription.created", late, now+1)
	ts.sendEvent("customer.subscription.created", other, now+1)
	fake.mu.Lock()
	canceled = strings.Join(fake.canceled, ",")
	fake.mu.Unlock()
	if !strings.Contains(canceled, "sub_late") {
		t.Error("a subscription bought for the deleted team after its deletion was not cancelled")
	}
	if strings.Contains(canceled, "sub_other_site") {
		t.Error("another site's subscription was cancelled")
	}
	if !strings.Contains(ts.logs.String(), "cancelled the subscription of a team that was deleted") {
		t.Error("the cancellation was not logged")
	}
}
