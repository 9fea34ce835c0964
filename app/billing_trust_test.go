package app

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Tests that Skiff checks what Stripe (or something that answers like it)
// tells it, instead of storing it as given.

// TestStripeSyncStoresOnlyTheAskedCustomersSubscriptions lists every
// subscription whatever the customer asked for (as stripe-mock does): bob's
// Pro subscription must not become ada's plan, and bob keeps it.
func TestStripeSyncStoresOnlyTheAskedCustomersSubscriptions(t *testing.T) {
	fake := newFakeStripe(t)
	ts := newTestServer(t, withStripe(fake))
	ada := ts.newClient()
	ada.signup("ada@example.com")
	wantStatus(t, ada.post("/billing/checkout", url.Values{"plan": {"pro"}}), http.StatusSeeOther) // ada has a customer, no subscription
	bob := ts.newClient()
	bob.signup("bob@example.com")
	loc := bob.post("/billing/checkout", url.Values{"plan": {"pro"}}).Header.Get("Location")
	sub := fake.completeCheckout(strings.TrimPrefix(loc, "https://checkout.stripe.com/c/pay/"), "active")

	fake.mu.Lock()
	fake.ignoreListFilters = true
	fake.mu.Unlock()
	n, err := ts.srv.syncStripe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d subscriptions reconciled, want 1 (bob's, once)", n)
	}
	if got := ts.planOf("ada@example.com"); got != PlanFree {
		t.Fatalf("ada's plan is %s after a sync that listed bob's subscription, want free", got)
	}
	var adas int
	ts.db.Read.QueryRow(`SELECT count(*) FROM subscriptions s JOIN users u ON u.id = s.user_id WHERE u.email = 'ada@example.com'`).Scan(&adas)
	if adas != 0 {
		t.Fatalf("%d subscriptions stored for ada", adas)
	}
	if got := ts.planOf("bob@example.com"); got != PlanPro {
		t.Fatalf("bob's plan is %s, want pro", got)
	}
	wantBody(t, ada.get("/pricing"), `action="/billing/checkout"`) // ada may still subscribe
	if !strings.Contains(ts.logs.String(), "another customer") || !strings.Contains(ts.logs.String(), sub["id"].(string)) {
		t.Fatalf("the skipped subscription is not logged:\n%s", ts.logs.String())
	}
}

// TestUnknownPriceIsFlaggedNeverFree follows a live subscription on a price
// no plan sells, from a webhook and from stripe-sync: the customer sees an
// honest billing page (no zero date, no second Checkout), the founder sees
// it logged and listed on /admin, and the documented fix works.
func TestUnknownPriceIsFlaggedNeverFree(t *testing.T) {
	fake := newFakeStripe(t)
	admins := func(c *Config) { c.AdminEmails = map[string]bool{"boss@example.com": true} }
	ts := newTestServer(t, withStripe(fake), admins)
	ctx := context.Background()
	boss := ts.newClient()
	boss.signupVerified("boss@example.com")

	// By webhook: ada's subscription, cancelled at period end, and Stripe
	// sent no period end.
	ada := ts.newClient()
	ada.signup("ada@example.com")
	u, _ := ts.db.UserByEmail(ctx, "ada@example.com")
	ts.db.SaveCustomer(ctx, u.ID, "cus_ada")
	now := time.Now().Unix()
	legacy := subscriptionObject("sub_legacy", "cus_ada", "price_legacy", "active", now)
	legacy["cancel_at_period_end"] = true
	delete(legacy, "current_period_end")
	fake.mu.Lock()
	fake.subs["sub_legacy"] = legacy
	fake.mu.Unlock()
	ts.sendEvent("customer.subscription.updated", legacy, now)

	res := ada.get("/billing")
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "Unknown price", "at a price this site does not sell", "Active",
		"ends at the end of the current billing period", "Manage subscription")
	if strings.Contains(res.body, "0001") {
		t.Fatalf("/billing shows a zero date:\n%s", res.body)
	}
	if strings.Contains(ada.get("/pricing").body, `action="/billing/checkout"`) {
		t.Fatal("Checkout offered to a customer Stripe already bills")
	}
	wantStatus(t, ada.get("/reports"), http.StatusForbidden) // Skiff cannot tell what was sold
	if logs := ts.logs.String(); !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "price=price_legacy") {
		t.Fatalf("the unknown price is not logged as an error:\n%s", logs)
	}

	// By stripe-sync: bob paid through Checkout on a price that was Pro's
	// when he did; then the founder changed STRIPE_PRICE_PRO.
	bob := ts.newClient()
	bob.signup("bob@example.com")
	loc := bob.post("/billing/checkout", url.Values{"plan": {"pro"}}).Header.Get("Location")
	sub := fake.completeCheckout(strings.TrimPrefix(loc, "https://checkout.stripe.com/c/pay/"), "active")
	fake.mu.Lock()
	sub["items"].(map[string]any)["data"].([]any)[0].(map[string]any)["price"] = map[string]any{"id": "price_legacy", "object": "price"}
	fake.mu.Unlock()
	_, err := ts.srv.syncStripe(ctx)
	if err == nil || !strings.Contains(err.Error(), "price_legacy") || !strings.Contains(err.Error(), "STRIPE_PRICE_PRO") {
		t.Fatalf("sync: err %v, want one naming the price and the setting", err)
	}
	wantBody(t, bob.get("/billing"), "Unknown price", "Renews on")

	res = boss.get("/admin")
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "Subscriptions on a price Skiff does not know", "ada@example.com", "sub_legacy",
		"bob@example.com", sub["id"].(string), "price_legacy", "skiff stripe-sync")

	// The fix the page gives: the setting names the price, restart, sync.
	ts.stop()
	ts = newTestServer(t, withStripe(fake), admins, withDB(ts.dbPath), func(c *Config) { c.Stripe.PricePro = "price_legacy" })
	if _, err := ts.srv.syncStripe(ctx); err != nil {
		t.Fatal("sync after the fix:", err)
	}
	for _, email := range []string{"ada@example.com", "bob@example.com"} {
		if got := ts.planOf(email); got != PlanPro {
			t.Errorf("%s: plan %s after the fix, want pro", email, got)
		}
	}
	boss = ts.newClient()
	boss.login("boss@example.com", testPassword, false)
	res = boss.get("/admin")
	wantStatus(t, res, http.StatusOK)
	if strings.Contains(res.body, "Subscriptions on a price Skiff does not know") {
		t.Fatal("the list stays after the fix")
	}
}

// TestBillingPageNeverShowsAZeroDate: a subscription cancelled at period
// end without a period end from Stripe says so in words.
func TestBillingPageNeverShowsAZeroDate(t *testing.T) {
	fake := newFakeStripe(t)
	ts := newTestServer(t, withStripe(fake))
	c := ts.newClient()
	c.signup("ada@example.com")
	u, _ := ts.db.UserByEmail(context.Background(), "ada@example.com")
	ts.db.SaveCustomer(context.Background(), u.ID, "cus_ada")
	now := time.Now().Unix()
	sub := subscriptionObject("sub_nodate", "cus_ada", "price_pro", "active", now)
	sub["cancel_at_period_end"] = true
	delete(sub, "current_period_end")
	ts.sendEvent("customer.subscription.updated", sub, now)
	res := c.get("/billing")
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "Pro", "Your subscription is cancelled and ends at the end of the current billing period")
	if strings.Contains(res.body, "0001") {
		t.Fatalf("/billing shows a zero date:\n%s", res.body)
	}
}
