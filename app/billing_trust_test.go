package app

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
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
	admins := func(c *testSetup) { c.AdminEmails = map[string]bool{"boss@example.com": true} }
	ts := newTestServer(t, withStripe(fake), admins)
	ctx := context.Background()
	boss := ts.newClient()
	boss.signupVerified("boss@example.com")

	// By webhook: ada's subscription, cancelled at period end, and Stripe
	// sent no period end.
	ada := ts.newClient()
	ada.signup("ada@example.com")
	u, _ := ts.db.UserByEmail(ctx, "ada@example.com")
	ts.db.SaveCustomer(ctx, ts.team(u.ID).TeamID(), "cus_ada")
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
	if zeroYear.MatchString(res.body) {
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
	ts = newTestServer(t, withStripe(fake), admins, withDB(ts.dbPath), func(c *testSetup) { c.Stripe.PricePro = "price_legacy" })
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
	ts.db.SaveCustomer(context.Background(), ts.team(u.ID).TeamID(), "cus_ada")
	now := time.Now().Unix()
	sub := subscriptionObject("sub_nodate", "cus_ada", "price_pro", "active", now)
	sub["cancel_at_period_end"] = true
	delete(sub, "current_period_end")
	ts.sendEvent("customer.subscription.updated", sub, now)
	res := c.get("/billing")
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "Pro", "Your subscription is cancelled and ends at the end of the current billing period")
	if zeroYear.MatchString(res.body) {
		t.Fatalf("/billing shows a zero date:\n%s", res.body)
	}
}

// TestStripeSetupWithoutASigningSecretSaysWhatToDo runs `skiff stripe-setup`
// against a Stripe that creates the endpoint but returns no secret (as
// stripe-mock does): no empty STRIPE_WEBHOOK_SECRET= to paste into .env, but
// a failure that says where the secret is.
func TestStripeSetupWithoutASigningSecretSaysWhatToDo(t *testing.T) {
	fake := newFakeStripe(t)
	fake.noWebhookSecret = true
	env := map[string]string{
		"DATABASE_PATH": filepath.Join(t.TempDir(), "skiff.db"), "BASE_URL": "https://app.example.com",
		"SMTP_URL": "smtp://127.0.0.1:9", "STRIPE_SECRET_KEY": "sk_test_fake", "STRIPE_PRICE_PRO": "price_pro",
		"STRIPE_PRICE_ENTERPRISE": "price_enterprise", "STRIPE_API_BASE": fake.URL,
	}
	var stdout, stderr strings.Builder
	err := Run(context.Background(), []string{"stripe-setup"}, func(k string) string { return env[k] }, &stdout, &stderr)
	if len(fake.endpoints) != 1 {
		t.Fatalf("%d endpoints created, want 1", len(fake.endpoints))
	}
	if regexp.MustCompile(`(?m)^STRIPE_WEBHOOK_SECRET=\s*$`).MatchString(stdout.String()) {
		t.Fatalf("an empty assignment was printed:\n%s", stdout.String())
	}
	if err == nil {
		t.Fatalf("stripe-setup succeeded (exit 0) without a signing secret:\n%s", stdout.String())
	}
	for _, want := range []string{"no signing secret", "Dashboard", "Signing secret", "STRIPE_WEBHOOK_SECRET", fake.endpoints[0]["id"].(string)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// TestStripeMockAnswersAreCheckedNotTrusted runs sync and setup against
// stripe-mock, which answers a customer's subscription list with another
// customer's subscription (cancelled at period end, on a price Skiff does
// not sell) and creates webhook endpoints without a secret.
func TestStripeMockAnswersAreCheckedNotTrusted(t *testing.T) {
	addr := startStripeMock(t)
	ts := newTestServer(t, func(c *testSetup) {
		c.Stripe = StripeConfig{SecretKey: "sk_test_123", WebhookSecret: testWebhookSecret,
			PricePro: "price_123", PriceEnterprise: "price_456", APIBase: "http://" + addr,
			RedirectOrigins: c.Stripe.RedirectOrigins} // the default: Stripe's own
	})
	c := ts.newClient()
	c.signup("ada@example.com")
	wantStatus(t, c.post("/billing/checkout", url.Values{"plan": {"pro"}}), http.StatusSeeOther) // makes ada's customer

	t.Run("sync skips another customer's subscription", func(t *testing.T) {
		n, err := ts.srv.syncStripe(t.Context())
		if err != nil || n != 0 {
			t.Fatalf("sync: %d reconciled, %v; want 0 and no error", n, err)
		}
		var rows int
		ts.db.Read.QueryRow(`SELECT count(*) FROM subscriptions`).Scan(&rows)
		if rows != 0 {
			t.Fatalf("%d subscriptions stored from stripe-mock's list", rows)
		}
		res := c.get("/billing")
		wantStatus(t, res, http.StatusOK)
		wantBody(t, res, "Free", "See plans and upgrade")
		if zeroYear.MatchString(res.body) {
			t.Fatalf("/billing shows a zero date:\n%s", res.body)
		}
		wantBody(t, c.get("/pricing"), `action="/billing/checkout"`)
	})
	t.Run("setup says where the missing secret is", func(t *testing.T) {
		var out strings.Builder
		err := stripeSetup(t.Context(), ts.srv.cfg, ts.srv, &out)
		if err == nil || !strings.Contains(err.Error(), "Signing secret") {
			t.Fatalf("stripe-setup: err %v, want one saying where the signing secret is\n%s", err, out.String())
		}
		if regexp.MustCompile(`(?m)^STRIPE_WEBHOOK_SECRET=\s*$`).MatchString(out.String()) {
			t.Fatalf("an empty assignment was printed:\n%s", out.String())
		}
	})
}

// TestStripePagesOnACustomDomain: Stripe can serve Checkout and the portal
// from a custom domain. Listed in STRIPE_REDIRECT_ORIGINS, the CSP's
// form-action allows the redirect; not listed, the browser would refuse the
// redirect without a word, so the user gets a link and the founder a warning.
func TestStripePagesOnACustomDomain(t *testing.T) {
	t.Run("the setting: https origins, Stripe's own by default", func(t *testing.T) {
		load := func(v string) (Config, error) {
			return LoadConfig(func(k string) string { return map[string]string{"STRIPE_REDIRECT_ORIGINS": v}[k] })
		}
		cfg, err := load("")
		if err != nil || strings.Join(cfg.Stripe.RedirectOrigins, " ") != "https://checkout.stripe.com https://billing.stripe.com" {
			t.Fatalf("default: %q, %v", cfg.Stripe.RedirectOrigins, err)
		}
		cfg, err = load(" https://Pay.Example.com/ ,https://checkout.stripe.com")
		if err != nil || strings.Join(cfg.Stripe.RedirectOrigins, " ") != "https://pay.example.com https://checkout.stripe.com" {
			t.Fatalf("custom: %q, %v", cfg.Stripe.RedirectOrigins, err)
		}
		for _, bad := range []string{"pay.example.com", "http://pay.example.com", "https://pay.example.com/c/pay",
			"https://pay.example.com?x=1", "https://pay.example.com; script-src *", "https://pay.example.com;script-src"} {
			if _, err := load(bad); err == nil || !strings.Contains(err.Error(), "STRIPE_REDIRECT_ORIGINS") {
				t.Errorf("%q: err %v, want one naming STRIPE_REDIRECT_ORIGINS", bad, err)
			}
		}
	})

	t.Run("not listed: a link to continue, and a warning for the founder", func(t *testing.T) {
		fake := newFakeStripe(t)
		fake.pagesOrigin = "https://pay.example.com"
		ts := newTestServer(t, withStripe(fake))
		c := ts.newClient()
		c.signup("ada@example.com")
		res := c.post("/billing/checkout", url.Values{"plan": {"pro"}})
		wantStatus(t, res, http.StatusOK)
		wantBody(t, res, "Continue to Stripe", `href="https://pay.example.com/c/pay/cs_test_`)
		res = c.post("/billing/portal", nil)
		wantStatus(t, res, http.StatusOK)
		wantBody(t, res, "Continue to Stripe", `href="https://pay.example.com/p/session/test"`)
		logs := ts.logs.String()
		if strings.Count(logs, "add it to STRIPE_REDIRECT_ORIGINS") != 2 || !strings.Contains(logs, "origin=https://pay.example.com") {
			t.Fatalf("no warning naming the setting and the origin:\n%s", logs)
		}
	})

	t.Run("listed: form-action allows it and the form redirects", func(t *testing.T) {
		fake := newFakeStripe(t)
		fake.pagesOrigin = "https://pay.example.com"
		ts := newTestServer(t, withStripe(fake), func(c *testSetup) {
			c.Stripe.RedirectOrigins = []string{"https://pay.example.com"}
		})
		c := ts.newClient()
		c.signup("ada@example.com")
		res := c.get("/pricing")
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://pay.example.com") {
			t.Fatalf("CSP: %s", csp)
		}
		res = c.post("/billing/checkout", url.Values{"plan": {"pro"}})
		wantStatus(t, res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, "https://pay.example.com/c/pay/cs_test_") {
			t.Fatalf("checkout redirects to %q", loc)
		}
		if strings.Contains(ts.logs.String(), "STRIPE_REDIRECT_ORIGINS") {
			t.Fatalf("warned about a listed origin:\n%s", ts.logs.String())
		}
	})

	t.Run("not https: refused, never linked", func(t *testing.T) {
		fake := newFakeStripe(t)
		fake.pagesOrigin = "javascript:alert(document.domain)//"
		ts := newTestServer(t, withStripe(fake))
		c := ts.newClient()
		c.signup("ada@example.com")
		res := c.post("/billing/checkout", url.Values{"plan": {"pro"}})
		wantStatus(t, res, http.StatusServiceUnavailable)
		if strings.Contains(res.body, "javascript:") || res.Header.Get("Location") != "" {
			t.Fatalf("an unsafe address reached the browser: %q\n%s", res.Header.Get("Location"), res.body)
		}
	})
}

// TestBrowserStripeAnswersThatNeedTheUser drives Chromium, at 1280 and 390
// px: "Upgrade" with Checkout on an origin form-action does not list lands
// on a link to continue (the browser would otherwise refuse the redirect
// and stay put); then the billing page and the admin of a subscription on
// a price no plan sells.
func TestBrowserStripeAnswersThatNeedTheUser(t *testing.T) {
	ctx := newBrowser(t)
	fake := newFakeStripe(t)
	fake.pagesOrigin = "https://pay.example.com"
	ts := newTestServer(t, withStripe(fake), func(c *testSetup) { c.AdminEmails = map[string]bool{"ada@example.com": true} })
	step := stepper(t, ctx)
	both := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(shot(name), chromedp.EmulateViewport(390, 844), shot(name+"-mobile"), chromedp.EmulateViewport(1280, 900))
	}
	step("signup",
		chromedp.Navigate(ts.URL+"/signup"),
		chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		heading("Dashboard"),
	)
	upgrade, cancel := context.WithTimeout(ctx, 15*time.Second) // a refused redirect leaves nothing to wait for
	defer cancel()
	stepper(t, upgrade)("upgrade with Checkout on an unlisted origin",
		chromedp.Navigate(ts.URL+"/pricing"), heading("Pricing"),
		chromedp.Click(chromedp.CSS(`form[action="/billing/checkout"] button`)),
		heading("Continue to Stripe"),
		chromedp.WaitVisible(chromedp.CSS(`a[href^="https://pay.example.com/c/pay/cs_test_"]`)), both("40-continue-to-stripe"))

	// Stripe bills ada at a price no plan sells, cancelled at period end,
	// without a period end.
	u, _ := ts.db.UserByEmail(context.Background(), "ada@example.com")
	customerID, err := ts.db.CustomerID(context.Background(), ts.team(u.ID).TeamID())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	sub := subscriptionObject("sub_legacy", customerID, "price_legacy", "active", now)
	sub["cancel_at_period_end"] = true
	delete(sub, "current_period_end")
	ts.sendEvent("customer.subscription.updated", sub, now)
	step("billing on an unknown price", chromedp.Navigate(ts.URL+"/billing"), heading("Billing"),
		chromedp.WaitVisible(chromedp.Search(`//p[@role="alert" and contains(., "at a price this site does not sell")]`)),
		chromedp.WaitVisible(chromedp.Search(`//dd[contains(., "Unknown price")]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/billing/portal"] button`)), both("41-billing-unknown-price"))

	if _, err := ts.db.Write.Exec(`UPDATE users SET email_verified_at = ? WHERE id = ?`, time.Now().UTC(), u.ID); err != nil {
		t.Fatal(err)
	}
	step("the admin's list", chromedp.Navigate(ts.URL+"/admin"), heading("Admin"),
		chromedp.WaitVisible(chromedp.ID("unknown-prices")),
		chromedp.WaitVisible(chromedp.Search(`//td/code[contains(., "price_legacy")]`)), both("42-admin-unknown-prices"))
}

// zeroYear finds the year of a zero time.Time in a page (not in an id such
// as a team's 100001).
var zeroYear = regexp.MustCompile(`\b0001\b`)
