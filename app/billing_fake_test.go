package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeStripe is a local Stripe API speaking the real wire format (form
// bodies in, JSON objects out) for the calls Skiff makes.
type fakeStripe struct {
	*httptest.Server
	t testing.TB

	mu              sync.Mutex
	n               int
	down            bool                      // answer every call with a 500
	customers       map[string]string         // id -> email
	idempotent      map[string]string         // Idempotency-Key -> customer id
	sessions        map[string]map[string]any // checkout sessions
	sessionParams   map[string]map[string]string
	subs            map[string]map[string]any // subscriptions
	portalCustomers []string
	endpoints       []map[string]any
	canceled        []string // subscriptions cancelled through the API
	seatUpdates     []seatUpdate
	// ignoreListFilters lists every subscription whatever the customer
	// asked for, as stripe-mock does.
	ignoreListFilters bool
	// noWebhookSecret creates webhook endpoints without a signing secret,
	// as stripe-mock does.
	noWebhookSecret bool
	// pagesOrigin, when set, serves Checkout and the portal from another
	// origin, as a custom domain set up in Stripe does.
	pagesOrigin string
}

// seatUpdate is a change of a subscription's quantity through the API.
type seatUpdate struct {
	Sub, Item, Quantity, Proration string
}

// lastSeats is the quantity the latest seat update set on sub ("" for none).
func (f *fakeStripe) lastSeats(sub string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.seatUpdates) - 1; i >= 0; i-- {
		if f.seatUpdates[i].Sub == sub {
			return f.seatUpdates[i].Quantity
		}
	}
	return ""
}

func newFakeStripe(t testing.TB) *fakeStripe {
	f := &fakeStripe{
		t: t, customers: map[string]string{}, idempotent: map[string]string{},
		sessions: map[string]map[string]any{}, sessionParams: map[string]map[string]string{},
		subs: map[string]map[string]any{},
	}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeStripe) id(prefix string) string {
	f.n++
	return fmt.Sprintf("%s_%d", prefix, f.n)
}

func (f *fakeStripe) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer sk_test_") {
		writeJSON(w, 401, map[string]any{"error": map[string]any{"type": "invalid_request_error", "message": "bad key"}})
		return
	}
	if f.down {
		writeJSON(w, 500, map[string]any{"error": map[string]any{"type": "api_error", "message": "down"}})
		return
	}
	r.ParseForm()
	form := map[string]string{}
	for k, v := range r.PostForm {
		form[k] = v[0]
	}
	path := r.URL.Path
	switch {
	case r.Method == "POST" && path == "/v1/customers":
		key := r.Header.Get("Idempotency-Key")
		id, seen := f.idempotent[key]
		if !seen {
			id = f.id("cus")
			f.customers[id] = form["email"]
			f.idempotent[key] = id
		}
		writeJSON(w, 200, map[string]any{"id": id, "object": "customer", "email": f.customers[id]})

	case r.Method == "POST" && strings.HasPrefix(path, "/v1/customers/"):
		id := strings.TrimPrefix(path, "/v1/customers/")
		if _, ok := f.customers[id]; !ok {
			writeJSON(w, 404, map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "resource_missing", "message": "No such customer"}})
			return
		}
		if email, ok := form["email"]; ok {
			f.customers[id] = email
		}
		writeJSON(w, 200, map[string]any{"id": id, "object": "customer", "email": f.customers[id]})

	case r.Method == "POST" && path == "/v1/checkout/sessions":
		id := f.id("cs_test")
		s := map[string]any{
			"id": id, "object": "checkout.session", "mode": form["mode"], "status": "open",
			"customer": form["customer"], "client_reference_id": form["client_reference_id"],
			"url": f.pageURL("https://checkout.stripe.com") + "/c/pay/" + id, "subscription": nil,
		}
		f.sessions[id] = s
		f.sessionParams[id] = form
		writeJSON(w, 200, s)

	case r.Method == "GET" && path == "/v1/checkout/sessions":
		var data []any
		for _, cs := range f.sessions {
			if cs["customer"] == r.URL.Query().Get("customer") && cs["status"] == r.URL.Query().Get("status") {
				data = append(data, cs)
			}
		}
		writeJSON(w, 200, map[string]any{"object": "list", "data": data, "has_more": false, "url": "/v1/checkout/sessions"})

	case r.Method == "POST" && strings.HasPrefix(path, "/v1/checkout/sessions/") && strings.HasSuffix(path, "/expire"):
		cs, ok := f.sessions[strings.TrimSuffix(strings.TrimPrefix(path, "/v1/checkout/sessions/"), "/expire")]
		if !ok || cs["status"] != "open" {
			writeJSON(w, 400, map[string]any{"error": map[string]any{"type": "invalid_request_error", "message": "session is not open"}})
			return
		}
		cs["status"] = "expired"
		writeJSON(w, 200, cs)

	case r.Method == "GET" && strings.HasPrefix(path, "/v1/checkout/sessions/"):
		s, ok := f.sessions[strings.TrimPrefix(path, "/v1/checkout/sessions/")]
		if !ok {
			writeJSON(w, 404, map[string]any{"error": map[string]any{"type": "invalid_request_error", "message": "No such session"}})
			return
		}
		out := map[string]any{}
		for k, v := range s {
			out[k] = v
		}
		if subID, ok := s["subscription"].(string); ok && expands(r, "subscription") {
			out["subscription"] = f.subs[subID]
		}
		writeJSON(w, 200, out)

	case r.Method == "POST" && path == "/v1/billing_portal/sessions":
		f.portalCustomers = append(f.portalCustomers, form["customer"])
		writeJSON(w, 200, map[string]any{"id": f.id("bps"), "object": "billing_portal.session",
			"customer": form["customer"], "return_url": form["return_url"], "url": f.pageURL("https://billing.stripe.com") + "/p/session/test"})

	case r.Method == "DELETE" && strings.HasPrefix(path, "/v1/subscriptions/"):
		id := strings.TrimPrefix(path, "/v1/subscriptions/")
		sub, ok := f.subs[id]
		if !ok {
			sub = subscriptionObject(id, "cus_unknown", "price_pro", "active", time.Now().Unix())
			f.subs[id] = sub
		}
		sub["status"] = "canceled"
		f.canceled = append(f.canceled, id)
		writeJSON(w, 200, sub)

	case r.Method == "GET" && strings.HasPrefix(path, "/v1/subscriptions/"):
		sub, ok := f.subs[strings.TrimPrefix(path, "/v1/subscriptions/")]
		if !ok {
			writeJSON(w, 404, map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "resource_missing", "message": "No such subscription"}})
			return
		}
		writeJSON(w, 200, sub)

	case r.Method == "POST" && strings.HasPrefix(path, "/v1/subscriptions/"):
		// An update of an item's quantity, as Stripe takes it: the item
		// must be the subscription's, and a cancelled one takes none.
		sub, ok := f.subs[strings.TrimPrefix(path, "/v1/subscriptions/")]
		if !ok {
			writeJSON(w, 404, map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "resource_missing", "message": "No such subscription"}})
			return
		}
		item := sub["items"].(map[string]any)["data"].([]any)[0].(map[string]any)
		if form["items[0][id]"] != item["id"] || sub["status"] == "canceled" {
			writeJSON(w, 400, map[string]any{"error": map[string]any{"type": "invalid_request_error", "message": "bad item or cancelled subscription"}})
			return
		}
		q, err := strconv.ParseInt(form["items[0][quantity]"], 10, 64)
		if err != nil || q < 1 {
			writeJSON(w, 400, map[string]any{"error": map[string]any{"type": "invalid_request_error", "message": "bad quantity"}})
			return
		}
		item["quantity"] = q
		f.seatUpdates = append(f.seatUpdates, seatUpdate{Sub: sub["id"].(string), Item: form["items[0][id]"],
			Quantity: form["items[0][quantity]"], Proration: form["proration_behavior"]})
		writeJSON(w, 200, sub)

	case r.Method == "GET" && path == "/v1/subscriptions":
		var data []any
		for _, s := range f.subs {
			if s["customer"] == r.URL.Query().Get("customer") || f.ignoreListFilters {
				data = append(data, s)
			}
		}
		writeJSON(w, 200, map[string]any{"object": "list", "data": data, "has_more": false, "url": "/v1/subscriptions"})

	case r.Method == "GET" && strings.HasPrefix(path, "/v1/prices/"):
		writeJSON(w, 200, map[string]any{"id": strings.TrimPrefix(path, "/v1/prices/"), "object": "price", "active": true,
			"currency": "usd", "unit_amount": 1900, "recurring": map[string]any{"interval": "month", "interval_count": 1}})

	case r.Method == "GET" && path == "/v1/webhook_endpoints":
		writeJSON(w, 200, map[string]any{"object": "list", "data": f.endpoints, "has_more": false, "url": "/v1/webhook_endpoints"})

	case r.Method == "POST" && path == "/v1/webhook_endpoints":
		var events []string
		for i := 0; ; i++ {
			e, ok := r.PostForm[fmt.Sprintf("enabled_events[%d]", i)]
			if !ok {
				break
			}
			events = append(events, e[0])
		}
		ep := map[string]any{"id": f.id("we"), "object": "webhook_endpoint", "url": form["url"],
			"api_version": form["api_version"], "enabled_events": events, "secret": "whsec_fake_secret", "status": "enabled"}
		if f.noWebhookSecret {
			delete(ep, "secret")
		}
		f.endpoints = append(f.endpoints, ep)
		writeJSON(w, 200, ep)

	case r.Method == "POST" && strings.HasPrefix(path, "/v1/webhook_endpoints/"):
		for _, ep := range f.endpoints {
			if ep["id"] == strings.TrimPrefix(path, "/v1/webhook_endpoints/") {
				writeJSON(w, 200, ep)
				return
			}
		}
		writeJSON(w, 404, map[string]any{"error": map[string]any{"type": "invalid_request_error", "message": "No such endpoint"}})

	default:
		f.t.Errorf("fake stripe: unexpected %s %s", r.Method, r.URL)
		writeJSON(w, 404, map[string]any{"error": map[string]any{"type": "invalid_request_error", "message": "unknown route"}})
	}
}

// pageURL is the origin of a page Stripe serves at origin by default.
func (f *fakeStripe) pageURL(origin string) string {
	if f.pagesOrigin != "" {
		return f.pagesOrigin
	}
	return origin
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_fake")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// completeCheckout plays the customer paying: Stripe creates the
// subscription and marks the session complete. It returns the subscription.
func (f *fakeStripe) completeCheckout(sessionID, status string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sessions[sessionID]
	if s["status"] != "open" {
		f.t.Errorf("fake stripe: session %s completed while %s", sessionID, s["status"])
	}
	params := f.sessionParams[sessionID]
	now := time.Now().Unix()
	sub := subscriptionObject(f.id("sub"), s["customer"].(string), params["line_items[0][price]"], status, now)
	metadata := map[string]any{}
	for k, v := range params {
		if key, ok := strings.CutPrefix(k, "subscription_data[metadata]["); ok {
			metadata[strings.TrimSuffix(key, "]")] = v
		}
	}
	sub["metadata"] = metadata
	if q, err := strconv.ParseInt(params["line_items[0][quantity]"], 10, 64); err == nil {
		sub["items"].(map[string]any)["data"].([]any)[0].(map[string]any)["quantity"] = q
	}
	f.subs[sub["id"].(string)] = sub
	s["subscription"] = sub["id"]
	s["status"] = "complete"
	return sub
}

// subscriptionObject is a Stripe subscription as the API and webhooks send it.
func subscriptionObject(id, customer, price, status string, created int64) map[string]any {
	return map[string]any{
		"id": id, "object": "subscription", "customer": customer, "status": status, "created": created,
		"current_period_start": created, "current_period_end": created + 30*86400, "cancel_at_period_end": false,
		"items": map[string]any{"object": "list", "data": []any{map[string]any{
			"id": "si_" + id, "object": "subscription_item", "quantity": 1, "price": map[string]any{"id": price, "object": "price"},
		}}},
	}
}

// withStripe turns billing on against the fake.
func withStripe(f *fakeStripe) testOption {
	return func(c *testSetup) {
		c.Stripe = StripeConfig{SecretKey: "sk_test_fake", WebhookSecret: testWebhookSecret,
			PricePro: "price_pro", PriceEnterprise: "price_enterprise", APIBase: f.URL,
			RedirectOrigins: c.Stripe.RedirectOrigins} // the default: Stripe's own
	}
}

const testWebhookSecret = "whsec_test_secret"

func expands(r *http.Request, field string) bool {
	for k, v := range r.URL.Query() {
		if strings.HasPrefix(k, "expand") && v[0] == field {
			return true
		}
	}
	return false
}
