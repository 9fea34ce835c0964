package app

import (
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestAgainstStripeMock sends Skiff's real Stripe calls to stripe-mock, which
// validates every request (paths, parameter names and types) against the
// OpenAPI description of Stripe's API that it bundles. The fake in billing_fake_test.go checks the
// flow; this checks that Stripe would accept each request. CI installs
// stripe-mock (go install github.com/stripe/stripe-mock@v0.203.0); elsewhere the
// test skips without it unless SKIFF_STRIPE_MOCK=required.
func TestAgainstStripeMock(t *testing.T) {
	addr := startStripeMock(t)
	ts := newTestServer(t, func(c *testSetup) {
		c.Stripe = StripeConfig{SecretKey: "sk_test_123", WebhookSecret: testWebhookSecret,
			PricePro: "price_123", PriceEnterprise: "price_456", TrialDays: 14, APIBase: "http://" + addr,
			RedirectOrigins: c.Stripe.RedirectOrigins} // the default: Stripe's own
	})
	c := ts.newClient()
	c.signup("ada@example.com")

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
