package app

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"skiff/db"
	"skiff/views"
)

// TestAgainstStripeMock sends Skiff's real Stripe calls to stripe-mock, which
// validates every request (paths, parameter names and types) against the
// OpenAPI description of Stripe's API that it bundles. The fake in billing_fake_test.go checks the
// flow; this checks that Stripe would accept each request. CI installs
// stripe-mock (go install github.com/stripe/stripe-mock@v0.203.0); elsewhere the
// test skips without it unless SKIFF_STRIPE_MOCK=required.
func TestAgainstStripeMock(t *testing.T) {
	addr := startStripeMock(t)
	sent := recordStripe(t, "http://"+addr)
	ts := newTestServer(t, func(c *testSetup) {
		c.Stripe = StripeConfig{SecretKey: "sk_test_123", WebhookSecret: testWebhookSecret,
			PricePro: "price_123", PriceEnterprise: "price_456", TrialDays: 14, APIBase: sent.URL,
			RedirectOrigins: c.Stripe.RedirectOrigins} // the default: Stripe's own
	})
	c := ts.newClient()
	c.signup("ada@example.com")
	ctx := t.Context()

	res := c.post("/billing/checkout", url.Values{"plan": {"pro"}})
	wantStatus(t, res, http.StatusSeeOther)
	if !strings.HasPrefix(res.Header.Get("Location"), "https://checkout.stripe.com/") {
		t.Fatalf("checkout redirect %q", res.Header.Get("Location"))
	}
	// stripe-mock's portal page is on a development origin, not
	// billing.stripe.com: the form-action CSP would block a redirect there,
	// so the user gets a link (see TestStripePagesOnACustomDomain).
	res = c.post("/billing/portal", nil)
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "Continue to Stripe")
	wantStatus(t, c.get("/billing?session_id=cs_test_123"), http.StatusOK) // retrieves with expand[]=subscription
	if _, err := ts.srv.syncStripe(t.Context()); err != nil {
		t.Fatal("sync:", err)
	}
	var out strings.Builder
	// stripe-mock accepts the endpoint but returns no signing secret, which
	// stripe-setup reports (see billing_trust_test.go).
	if err := stripeSetup(t.Context(), ts.srv.cfg, ts.srv, &out); err != nil && !strings.Contains(err.Error(), "no signing secret") {
		t.Fatalf("stripe-setup: %v\n%s", err, out.String())
	}
	if logs := ts.logs.String(); strings.Contains(logs, "level=ERROR") {
		t.Fatalf("Stripe refused a request:\n%s", logs)
	}

	// A team of two buys for two seats; a third member joins, and the
	// subscription's item is set to three, prorated. stripe-mock answers
	// every subscription with its own fixture (quantity 1), so the seats
	// are read from what was sent, which it validated.
	adaID := ts.userID("ada@example.com")
	team, err := ts.db.CreateTeam(ctx, adaID, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"bob@example.com", "cyd@example.com"} {
		u, err := ts.db.CreateUser(ctx, email, "", true)
		if err != nil {
			t.Fatal(err)
		}
		if err := ts.db.AddMember(ctx, team, u.ID, "member"); err != nil {
			t.Fatal(err)
		}
		if email == "bob@example.com" {
			res := c.post(views.BillingURL(team.TeamID())+"/checkout", url.Values{"plan": {"pro"}})
			wantStatus(t, res, http.StatusSeeOther)
			if got := sent.form("POST", "/v1/checkout/sessions").Get("line_items[0][quantity]"); got != "2" {
				t.Fatalf("checkout for a team of two: quantity %q", got)
			}
		}
	}
	customer, err := ts.db.CustomerID(ctx, team.TeamID())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.db.ApplySubscription(ctx, db.Subscription{ID: "sub_seats", TeamID: team.TeamID(), CustomerID: customer,
		PriceID: "price_123", ItemID: "si_seats", Quantity: 2, Plan: PlanPro, Status: "active", Version: 1}); err != nil {
		t.Fatal(err)
	}
	if changed, err := ts.srv.syncSeats(ctx, team.TeamID()); !changed || err != nil {
		t.Fatalf("seats: changed %v, %v", changed, err)
	}
	update := sent.form("POST", "/v1/subscriptions/sub_seats")
	for k, want := range map[string]string{"items[0][id]": "si_seats", "items[0][quantity]": "3", "proration_behavior": "create_prorations"} {
		if got := update.Get(k); got != want {
			t.Errorf("seat update %s = %q, want %q (sent %v)", k, got, want, update)
		}
	}
	// Listing a customer's open Checkout pages was sent with each checkout
	// above; expiring one is the call stopTeamBilling and checkout make.
	if got := sent.form("GET", "/v1/checkout/sessions"); got == nil {
		t.Error("checkout did not list the customer's open Checkout pages")
	}
	expire := &stripe.CheckoutSessionExpireParams{}
	expire.Context = ctx
	if _, err := ts.srv.stripe.CheckoutSessions.Expire("cs_test_123", expire); err != nil {
		t.Fatal("expire a Checkout page:", err)
	}
	// Handed over: the customer's address is the new owner's.
	if err := ts.srv.billingOwnerChanged(httptest.NewRequest("POST", "/", nil).WithContext(ctx), team.TeamID(), ts.userID("bob@example.com")); err != nil {
		t.Fatal("update the customer's address:", err)
	}
	if got := sent.form("POST", "/v1/customers/"+customer).Get("email"); got != "bob@example.com" {
		t.Fatalf("customer update sent email %q", got)
	}
	// The answer is stripe-mock's fixture, on a price of its own: that
	// is logged as a price no plan sells, and nothing else may be.
	for _, line := range strings.Split(ts.logs.String(), "\n") {
		if strings.Contains(line, "level=ERROR") && !strings.Contains(line, "on a price no plan sells") {
			t.Fatalf("Stripe refused a request:\n%s", line)
		}
	}
}

// stripeRecorder passes requests on to a Stripe API (stripe-mock) and keeps
// each one's form, to read what Skiff sent.
type stripeRecorder struct {
	*httptest.Server
	mu   sync.Mutex
	sent map[string]url.Values // "METHOD path" -> the latest form sent there
}

func recordStripe(t *testing.T, target string) *stripeRecorder {
	t.Helper()
	to, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rec := &stripeRecorder{sent: map[string]url.Values{}}
	proxy := httputil.NewSingleHostReverseProxy(to)
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		rec.mu.Lock()
		rec.sent[r.Method+" "+r.URL.Path] = form
		rec.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(rec.Close)
	return rec
}

// form is the latest form sent with method to path (empty when none was).
func (r *stripeRecorder) form(method, path string) url.Values {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sent[method+" "+path]
}

// startStripeMock starts stripe-mock for one test and returns its address
// (host:port). Without it the test skips, unless SKIFF_STRIPE_MOCK=required.
func startStripeMock(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("stripe-mock")
	if err != nil {
		if os.Getenv("SKIFF_STRIPE_MOCK") == "required" {
			t.Fatal("SKIFF_STRIPE_MOCK=required but stripe-mock is not on PATH")
		}
		t.Skip("stripe-mock not found (go install github.com/stripe/stripe-mock@v0.203.0)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	// Without -https-addr it also listens on :12112, so a second
	// stripe-mock (another package's tests, a parallel run) would exit.
	cmd := exec.Command(bin, "-http-addr", addr, "-https-addr", "127.0.0.1:")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		if i > 600 { // it parses Stripe's whole OpenAPI spec first: slow on a busy machine
			t.Fatal("stripe-mock did not start within 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
