package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"skiff/views"
)

var eventSeq atomic.Int64

// stripeEvent builds a webhook event of stripe-go's API version around obj.
func stripeEvent(typ string, obj any, created int64) (id string, payload []byte) {
	id = fmt.Sprintf("evt_test_%d", eventSeq.Add(1))
	payload, _ = json.Marshal(map[string]any{
		"id": id, "object": "event", "api_version": stripe.APIVersion, "created": created,
		"type": typ, "livemode": false, "pending_webhooks": 1, "data": map[string]any{"object": obj},
	})
	return id, payload
}

// deliver posts a payload to the webhook as Stripe would, signed with secret
// at time at (now when zero).
func (ts *testServer) deliver(payload []byte, secret string, at time.Time) response {
	ts.t.Helper()
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at})
	req, _ := http.NewRequest("POST", ts.URL+"/webhooks/stripe", bytes.NewReader(payload))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Stripe-Signature", signed.Header)
	return ts.newClient().do(req)
}

func (ts *testServer) sendEvent(typ string, obj any, created int64) response {
	ts.t.Helper()
	_, payload := stripeEvent(typ, obj, created)
	res := ts.deliver(payload, testWebhookSecret, time.Time{})
	wantStatus(ts.t, res, http.StatusOK)
	return res
}

func (ts *testServer) planOf(email string) string {
	ts.t.Helper()
	u, err := ts.db.UserByEmail(context.Background(), email)
	if err != nil {
		ts.t.Fatal(err)
	}
	sub, err := ts.db.CurrentSubscription(context.Background(), ts.team(u.ID).TeamID())
	if err != nil {
		return PlanFree
	}
	return entitledPlan(sub.Status, sub.Plan)
}

func TestBillingWithoutStripe(t *testing.T) {
	ts := newTestServer(t)
	anon := ts.newClient()
	res := anon.get("/pricing")
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "Paid plans are coming soon", "Free", "Pro", "Enterprise", "$19 per member / month", "Get started")

	c := ts.newClient()
	c.signup("ada@example.com")
	wantBody(t, c.get("/pricing"), "Your current plan")
	if strings.Contains(c.get("/pricing").body, "/billing/checkout") {
		t.Fatal("checkout offered without billing configured")
	}
	wantBody(t, c.get("/billing"), "Paid plans are coming soon", "Free")
	for _, res := range []response{c.post("/billing/checkout", url.Values{"plan": {"pro"}}), c.post("/billing/portal", nil)} {
		if res.StatusCode >= 500 {
			t.Fatalf("%s: %d", res.Request.URL.Path, res.StatusCode)
		}
		wantBody(t, res, "Paid plans are coming soon")
	}
	res = c.get("/reports")
	wantStatus(t, res, http.StatusForbidden)
	wantBody(t, res, "Pro feature")
	_, payload := stripeEvent("invoice.paid", map[string]any{"id": "in_1", "object": "invoice"}, time.Now().Unix())
	if res := ts.deliver(payload, "whsec_x", time.Time{}); res.StatusCode >= 500 {
		t.Fatalf("webhook without billing: %d", res.StatusCode)
	}
}

// TestBillingEndToEnd follows a customer from free to Pro and back.
func TestBillingEndToEnd(t *testing.T) {
	fake := newFakeStripe(t)
	ts := newTestServer(t, withStripe(fake))
	c := ts.newClient()
	c.signup("ada@example.com")

	// Free: Pro pages show an upgrade prompt, and the fourth project is refused.
	wantBody(t, c.get("/pricing"), "Upgrade to Pro", "Upgrade to Enterprise", "Your current plan")
	res := c.get("/reports")
	wantStatus(t, res, http.StatusForbidden)
	wantBody(t, res, "Upgrade to Pro")
	for i := range 3 {
		wantStatus(t, c.post("/projects", url.Values{"name": {fmt.Sprint("p", i)}}), http.StatusSeeOther)
	}
	res = c.post("/projects", url.Values{"name": {"p3"}})
	wantStatus(t, res, http.StatusForbidden)
	wantBody(t, res, "Project limit reached", "up to 3 projects")

	// Checkout: a 303 to Stripe on the user's own customer.
	res = c.post("/billing/checkout", url.Values{"plan": {"pro"}})
	wantStatus(t, res, http.StatusSeeOther)
	loc := res.Header.Get("Location")
	if !strings.HasPrefix(loc, "https://checkout.stripe.com/c/pay/cs_test_") {
		t.Fatalf("checkout redirect to %q", loc)
	}
	sessionID := strings.TrimPrefix(loc, "https://checkout.stripe.com/c/pay/")
	params := fake.sessionParams[sessionID]
	team := ts.team(ts.userID("ada@example.com")).TeamID()
	customerID, err := ts.db.CustomerID(context.Background(), team)
	if err != nil {
		t.Fatal(err)
	}
	billing := ts.URL + views.BillingURL(team)
	for k, want := range map[string]string{
		"mode": "subscription", "customer": customerID, "client_reference_id": teamReference(team),
		"line_items[0][price]": "price_pro", "line_items[0][quantity]": "1", "subscription_data[metadata][team_id]": itoa64(team),
		"success_url": billing + "?session_id={CHECKOUT_SESSION_ID}", "cancel_url": billing,
	} {
		if params[k] != want {
			t.Errorf("checkout session %s = %q, want %q", k, params[k], want)
		}
	}

	// Back from Checkout before any webhook: the plan applies at once.
	sub := fake.completeCheckout(sessionID, "active")
	res = c.get("/billing?session_id=" + sessionID)
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "Thank you!", "Pro", "Active", "Renews on", "Manage subscription")
	wantStatus(t, c.get("/reports"), http.StatusOK)
	wantStatus(t, c.post("/projects", url.Values{"name": {"p3"}}), http.StatusSeeOther)

	// While subscribed, checkout is not offered or accepted again.
	if strings.Contains(c.get("/pricing").body, "/billing/checkout") {
		t.Fatal("checkout offered to a subscriber")
	}
	sessionsBefore := len(fake.sessions)
	wantRedirect(t, c.post("/billing/checkout", url.Values{"plan": {"enterprise"}}), views.BillingURL(team))
	if len(fake.sessions) != sessionsBefore {
		t.Fatal("a second checkout session was created for a subscriber")
	}

	// The webhooks arrive later and change nothing more.
	now := time.Now().Unix()
	ts.sendEvent("checkout.session.completed", map[string]any{"id": sessionID, "object": "checkout.session",
		"mode": "subscription", "customer": customerID, "client_reference_id": teamReference(team), "subscription": sub["id"]}, now)
	ts.sendEvent("customer.subscription.created", sub, now)
	ts.sendEvent("invoice.paid", map[string]any{"id": "in_1", "object": "invoice", "customer": customerID, "subscription": sub["id"]}, now)
	if got := ts.planOf("ada@example.com"); got != PlanPro {
		t.Fatalf("plan %s after webhooks, want pro", got)
	}

	// The customer portal, for the user's own customer.
	res = c.post("/billing/portal", nil)
	wantStatus(t, res, http.StatusSeeOther)
	if res.Header.Get("Location") != "https://billing.stripe.com/p/session/test" || fake.portalCustomers[0] != customerID {
		t.Fatalf("portal: %q for %v", res.Header.Get("Location"), fake.portalCustomers)
	}

	// Cancelled in the portal: first at period end, then deleted.
	sub["cancel_at_period_end"] = true
	ts.sendEvent("customer.subscription.updated", sub, now+10)
	wantBody(t, c.get("/billing"), "Your subscription is cancelled and ends on", "Ends on")
	wantStatus(t, c.get("/reports"), http.StatusOK)

	payFail := map[string]any{"id": "in_2", "object": "invoice", "customer": customerID, "subscription": sub["id"]}
	ts.sendEvent("invoice.payment_failed", payFail, now+15)
	wantBody(t, c.get("/billing"), "Your last payment failed")

	sub["status"] = "canceled"
	ts.sendEvent("customer.subscription.deleted", sub, now+20)
	if got := ts.planOf("ada@example.com"); got != PlanFree {
		t.Fatalf("plan %s after deletion, want free", got)
	}
	wantStatus(t, c.get("/reports"), http.StatusForbidden)
	wantStatus(t, c.post("/projects", url.Values{"name": {"p5"}}), http.StatusForbidden)
	wantBody(t, c.get("/pricing"), "Upgrade to Pro")
	wantBody(t, c.get("/billing"), "Free", "Cancelled")
	if strings.Contains(ts.logs.String(), "level=ERROR") {
		t.Fatalf("errors logged:\n%s", ts.logs.String())
	}
}

func TestCheckoutDoubleSubmitMakesOneCustomer(t *testing.T) {
	fake := newFakeStripe(t)
	ts := newTestServer(t, withStripe(fake))
	c := ts.newClient()
	c.signup("ada@example.com")
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			form := url.Values{"plan": {"pro"}}
			req, _ := http.NewRequest("POST", ts.URL+"/billing/checkout", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res, err := c.hc.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			if res.StatusCode != http.StatusSeeOther {
				t.Errorf("status %d", res.StatusCode)
			}
		})
	}
	wg.Wait()
	if len(fake.customers) != 1 {
		t.Fatalf("%d Stripe customers created, want 1", len(fake.customers))
	}
	var rows int
	ts.db.Read.QueryRow(`SELECT count(*) FROM billing_customers`).Scan(&rows)
	if rows != 1 {
		t.Fatalf("%d billing_customers rows", rows)
	}
}

func TestCheckoutReturnForAnotherUsersSession(t *testing.T) {
	fake := newFakeStripe(t)
	ts := newTestServer(t, withStripe(fake))
	ada := ts.newClient()
	ada.signup("ada@example.com")
	loc := ada.post("/billing/checkout", url.Values{"plan": {"pro"}}).Header.Get("Location")
	sessionID := strings.TrimPrefix(loc, "https://checkout.stripe.com/c/pay/")
	fake.completeCheckout(sessionID, "active")

	bob := ts.newClient()
	bob.signup("bob@example.com")
	wantStatus(t, bob.post("/billing/checkout", url.Values{"plan": {"pro"}}), http.StatusSeeOther) // bob has a customer too
	res := bob.get("/billing?session_id=" + sessionID)
	wantStatus(t, res, http.StatusOK)
	if ts.planOf("bob@example.com") != PlanFree || strings.Contains(res.body, "Thank you") {
		t.Fatal("bob got ada's subscription")
	}
	for _, bad := range []string{"x", "cs_../../v1/customers", strings.Repeat("cs_a", 100)} {
		wantStatus(t, bob.get("/billing?session_id="+url.QueryEscape(bad)), http.StatusOK)
	}
}

func TestStripeDownIsNot500(t *testing.T) {
	fake := newFakeStripe(t)
	ts := newTestServer(t, withStripe(fake))
	c := ts.newClient()
	c.signup("ada@example.com")
	fake.mu.Lock()
	fake.down = true
	fake.mu.Unlock()
	res := c.post("/billing/checkout", url.Values{"plan": {"pro"}})
	wantStatus(t, res, http.StatusServiceUnavailable)
	wantBody(t, res, "Nothing was charged")
	wantStatus(t, c.post("/billing/checkout", url.Values{"plan": {"gold"}}), http.StatusUnprocessableEntity)
}

// activeCustomer makes a user with a Stripe customer, for webhook tests.
func activeCustomer(t *testing.T, ts *testServer, email string) (userID int64, customerID string) {
	t.Helper()
	ts.newClient().signup(email)
	u, _ := ts.db.UserByEmail(context.Background(), email)
	customerID = "cus_" + strings.Split(email, "@")[0]
	if _, err := ts.db.SaveCustomer(context.Background(), ts.team(u.ID).TeamID(), customerID); err != nil {
		t.Fatal(err)
	}
	return u.ID, customerID
}

func TestWebhookDuplicatesHaveOneEffect(t *testing.T) {
	fake := newFakeStripe(t)
	ts := newTestServer(t, withStripe(fake))
	_, cus := activeCustomer(t, ts, "ada@example.com")
	now := time.Now().Unix()
	sub := subscriptionObject("sub_dup", cus, "price_pro", "active", now)
	_, payload := stripeEvent("customer.subscription.created", sub, now)
	for range 10 {
		wantStatus(t, ts.deliver(payload, testWebhookSecret, time.Time{}), http.StatusOK)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if res := ts.deliver(payload, testWebhookSecret, time.Time{}); res.StatusCode != 200 {
				t.Errorf("concurrent duplicate: %d", res.StatusCode)
			}
		})
	}
	wg.Wait()
	if n, _ := ts.db.CountEvents(context.Background()); n != 1 {
		t.Fatalf("%d events recorded, want 1", n)
	}
	// A replay after a newer change does not roll it back.
	sub["status"] = "past_due"
	ts.sendEvent("customer.subscription.updated", sub, now+5)
	wantStatus(t, ts.deliver(payload, testWebhookSecret, time.Time{}), http.StatusOK)
	s, _ := ts.db.SubscriptionByID(context.Background(), "sub_dup")
	if s.Status != "past_due" {
		t.Fatalf("status %s after replay, want past_due", s.Status)
	}
}

func TestWebhookOrderDoesNotMatter(t *testing.T) {
	fake := newFakeStripe(t)
	ts := newTestServer(t, withStripe(fake))
	_, cus := activeCustomer(t, ts, "ada@example.com")
	base := time.Now().Unix() - 100
	type ev struct {
		typ     string
		status  string
		atEnd   bool
		created int64
	}
	lifecycle := []ev{
		{"customer.subscription.created", "active", false, base},
		{"customer.subscription.updated", "active", true, base + 10},
		{"customer.subscription.deleted", "canceled", true, base + 20},
	}
	perms := [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
	for i, perm := range perms {
		subID := fmt.Sprintf("sub_order_%d", i)
		for _, j := range perm {
			e := lifecycle[j]
			obj := subscriptionObject(subID, cus, "price_pro", e.status, base)
			obj["cancel_at_period_end"] = e.atEnd
			ts.sendEvent(e.typ, obj, e.created)
		}
		s, err := ts.db.SubscriptionByID(context.Background(), subID)
		if err != nil || s.Status != "canceled" || s.Version != base+20 {
			t.Errorf("order %v: status %q version %d (err %v), want canceled at %d", perm, s.Status, s.Version, err, base+20)
		}
	}
	// Without the deletion, the newer update wins in both orders.
	for i, order := range [][]int{{0, 1}, {1, 0}} {
		subID := fmt.Sprintf("sub_pair_%d", i)
		for _, j := range order {
			status := []string{"active", "past_due"}[j]
			ts.sendEvent("customer.subscription.updated", subscriptionObject(subID, cus, "price_enterprise", status, base), base+int64(j))
		}
		if s, _ := ts.db.SubscriptionByID(context.Background(), subID); s.Status != "past_due" || s.Plan != PlanEnterprise {
			t.Errorf("order %v: %s/%s, want past_due/enterprise", order, s.Status, s.Plan)
		}
	}
}

func TestWebhookRejectsBadDeliveries(t *testing.T) {
	fake := newFakeStripe(t)
	ts := newTestServer(t, withStripe(fake))
	_, cus := activeCustomer(t, ts, "ada@example.com")
	now := time.Now().Unix()
	sub := subscriptionObject("sub_bad", cus, "price_pro", "active", now)
	_, good := stripeEvent("customer.subscription.created", sub, now)

	post := func(body []byte, header string) response {
		req, _ := http.NewRequest("POST", ts.URL+"/webhooks/stripe", bytes.NewReader(body))
		if header != "" {
			req.Header.Set("Stripe-Signature", header)
		}
		return ts.newClient().do(req)
	}
	t.Run("no signature", func(t *testing.T) { wantStatus(t, post(good, ""), http.StatusBadRequest) })
	t.Run("garbage signature", func(t *testing.T) { wantStatus(t, post(good, "t=1,v1=abc"), http.StatusBadRequest) })
	t.Run("wrong secret", func(t *testing.T) { wantStatus(t, ts.deliver(good, "whsec_other", time.Time{}), http.StatusBadRequest) })
	t.Run("stale timestamp", func(t *testing.T) {
		res := ts.deliver(good, testWebhookSecret, time.Now().Add(-10*time.Minute))
		wantStatus(t, res, http.StatusBadRequest)
		wantBody(t, res, "too old")
	})
	t.Run("tampered body", func(t *testing.T) {
		signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: good, Secret: testWebhookSecret})
		wantStatus(t, post(bytes.Replace(good, []byte("active"), []byte("trialing"), 1), signed.Header), http.StatusBadRequest)
	})
	t.Run("other API version", func(t *testing.T) {
		payload, _ := json.Marshal(map[string]any{"id": "evt_v", "object": "event", "api_version": "2024-06-20",
			"created": now, "type": "customer.subscription.created", "data": map[string]any{"object": sub}})
		res := ts.deliver(payload, testWebhookSecret, time.Time{})
		wantStatus(t, res, http.StatusBadRequest)
		wantBody(t, res, "API version")
	})
	t.Run("not JSON", func(t *testing.T) {
		wantStatus(t, ts.deliver([]byte("{not json"), testWebhookSecret, time.Time{}), http.StatusBadRequest)
	})
	t.Run("oversized", func(t *testing.T) {
		big := bytes.Repeat([]byte("a"), 70<<10)
		wantStatus(t, ts.deliver(big, testWebhookSecret, time.Time{}), http.StatusRequestEntityTooLarge)
	})
	if n, _ := ts.db.CountEvents(context.Background()); n != 0 {
		t.Fatalf("%d rejected events recorded", n)
	}

	t.Run("unknown type is recorded and ignored", func(t *testing.T) {
		ts.sendEvent("customer.created", map[string]any{"id": "cus_new", "object": "customer"}, now)
	})
	t.Run("unknown customer is recorded and ignored", func(t *testing.T) {
		ts.sendEvent("customer.subscription.created", subscriptionObject("sub_ghost", "cus_ghost", "price_pro", "active", now), now)
		if _, err := ts.db.SubscriptionByID(context.Background(), "sub_ghost"); err == nil {
			t.Fatal("subscription of an unknown customer stored")
		}
	})
	t.Run("cross-origin headers do not block Stripe", func(t *testing.T) {
		_, payload := stripeEvent("invoice.paid", map[string]any{"id": "in_x", "object": "invoice"}, now)
		signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: testWebhookSecret})
		req, _ := http.NewRequest("POST", ts.URL+"/webhooks/stripe", bytes.NewReader(payload))
		req.Header.Set("Stripe-Signature", signed.Header)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Origin", "https://stripe.com")
		wantStatus(t, ts.newClient().do(req), http.StatusOK)
	})
	if n, _ := ts.db.CountEvents(context.Background()); n != 3 {
		t.Fatalf("%d events recorded, want 3", n)
	}
}

func TestStripeSyncRecoversMissedWebhooks(t *testing.T) {
	fake := newFakeStripe(t)
	ts := newTestServer(t, withStripe(fake))
	c := ts.newClient()
	c.signup("ada@example.com")
	loc := c.post("/billing/checkout", url.Values{"plan": {"enterprise"}}).Header.Get("Location")
	fake.completeCheckout(strings.TrimPrefix(loc, "https://checkout.stripe.com/c/pay/"), "trialing")
	if ts.planOf("ada@example.com") != PlanFree {
		t.Fatal("plan changed before any webhook or return")
	}
	n, err := ts.srv.syncStripe(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("sync: %d, %v", n, err)
	}
	if got := ts.planOf("ada@example.com"); got != PlanEnterprise {
		t.Fatalf("plan %s after sync, want enterprise", got)
	}
	wantBody(t, c.get("/billing"), "Enterprise", "Free trial")
}

func TestStripeSetupCreatesPinnedEndpoint(t *testing.T) {
	fake := newFakeStripe(t)
	ts := newTestServer(t, withStripe(fake))
	var out bytes.Buffer
	if err := stripeSetup(context.Background(), ts.srv.cfg, ts.srv, &out); err != nil {
		t.Fatal(err)
	}
	if len(fake.endpoints) != 1 {
		t.Fatalf("%d endpoints", len(fake.endpoints))
	}
	ep := fake.endpoints[0]
	if ep["url"] != ts.URL+"/webhooks/stripe" || ep["api_version"] != "2023-10-16" {
		t.Fatalf("endpoint %v", ep)
	}
	if fmt.Sprint(ep["enabled_events"]) != fmt.Sprint(webhookEvents) {
		t.Fatalf("events %v, want %v", ep["enabled_events"], webhookEvents)
	}
	if !strings.Contains(out.String(), "STRIPE_WEBHOOK_SECRET=whsec_fake_secret") {
		t.Fatalf("output:\n%s", out.String())
	}
	// A second run finds the endpoint instead of creating another.
	out.Reset()
	if err := stripeSetup(context.Background(), ts.srv.cfg, ts.srv, &out); err != nil {
		t.Fatal(err)
	}
	if len(fake.endpoints) != 1 || !strings.Contains(out.String(), "exists") {
		t.Fatalf("second run: %d endpoints, output:\n%s", len(fake.endpoints), out.String())
	}
	// An endpoint on another API version is reported, not silently used.
	fake.endpoints[0]["api_version"] = "2024-06-20"
	if err := stripeSetup(context.Background(), ts.srv.cfg, ts.srv, &out); err == nil || !strings.Contains(err.Error(), "delete it") {
		t.Fatalf("endpoint on a newer API version: err %v", err)
	}
}

// TestBillingDatabaseFailureIsNotNoCustomer: when the database cannot say
// whether a user has a Stripe customer, the billing pages fail (500) rather
// than take it for "no customer": the page would offer a second checkout,
// and checkout would create a second customer.
func TestBillingDatabaseFailureIsNotNoCustomer(t *testing.T) {
	fake := newFakeStripe(t)
	ts := newTestServer(t, withStripe(fake))
	c := ts.newClient()
	c.signup("ada@example.com")
	wantStatus(t, c.post("/billing/checkout", url.Values{"plan": {"pro"}}), http.StatusSeeOther)
	wantBody(t, c.get("/billing"), "Past invoices") // the customer is known
	if _, err := ts.db.Write.Exec(`ALTER TABLE billing_customers RENAME TO billing_customers_away`); err != nil {
		t.Fatal(err)
	}
	for _, res := range []response{c.get("/billing"), c.get("/billing?session_id=cs_1"),
		c.post("/billing/checkout", url.Values{"plan": {"pro"}}), c.post("/billing/portal", nil)} {
		wantStatus(t, res, http.StatusInternalServerError)
	}
	if len(fake.customers) != 1 {
		t.Fatalf("%d Stripe customers, want 1: a failing database was taken for no customer", len(fake.customers))
	}
}
