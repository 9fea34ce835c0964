package app

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
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
