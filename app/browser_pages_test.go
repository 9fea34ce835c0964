package app

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Issue 14's pages in a real browser, each at 1280 and 390 px when
// SKIFF_SCREENSHOTS is set: what a visitor sees before they act, and that
// acting through it works without any script of ours.

// browserSignup creates an account through the signup form.
func browserSignup(url, email string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(url+"/signup"),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		heading("Dashboard"),
	)
}

// visible reports whether the element matching css is rendered.
func visible(ctx context.Context, t *testing.T, css string) bool {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const e = document.querySelector(`+"`"+css+"`"+`); return !!e && e.checkVisibility(); })()`))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestBrowserDeleteProjectAsksFirst: the project page's Delete opens a
// confirmation that says what happens; its button deletes.
func TestBrowserDeleteProjectAsksFirst(t *testing.T) {
	ctx := newBrowser(t)
	ts := newTestServer(t)
	step := stepper(t, ctx)
	step("signup and a project", browserSignup(ts.URL, "ada@example.com"),
		chromedp.Navigate(ts.URL+"/projects"),
		chromedp.SendKeys(chromedp.ID("name"), "Moonshot"),
		chromedp.Click(chromedp.CSS(`form.create-form button`)),
		heading("Moonshot"), bothWidths("p1-project"))
	if visible(ctx, t, `button.danger`) {
		t.Fatal("the delete button shows before Delete was clicked")
	}
	step("Delete asks first",
		chromedp.Click(chromedp.Search(`//summary[contains(., "Delete")]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "removes it for good")]`)),
		chromedp.WaitVisible(chromedp.CSS(`button.danger`)), bothWidths("p2-project-confirm"))
	step("and deletes",
		chromedp.Click(chromedp.CSS(`button.danger`)),
		heading("Projects"), chromedp.WaitVisible(chromedp.Search(`//p[contains(., "Project deleted.")]`)))
}

// TestBrowserProjectQuota: the free plan's limit shows before it is hit,
// the form gives way to the upgrade once it is, and a name refused by a
// second tab is kept.
func TestBrowserProjectQuota(t *testing.T) {
	ctx := newBrowser(t)
	ts := newTestServer(t)
	step := stepper(t, ctx)
	create := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(chromedp.Navigate(ts.URL+"/projects"),
			chromedp.SendKeys(chromedp.ID("name"), name),
			chromedp.Click(chromedp.CSS(`form.create-form button`)), heading(name))
	}
	step("two projects", browserSignup(ts.URL, "ada@example.com"), create("One"), create("Two"),
		chromedp.Navigate(ts.URL+"/projects"),
		chromedp.WaitVisible(chromedp.Search(`//strong[contains(., "2 of 3 projects")]`)),
		chromedp.WaitVisible(chromedp.Search(`//main//a[@href="/pricing"]`)), bothWidths("q1-projects-2-of-3"))
	step("the dashboard says it too", chromedp.Navigate(ts.URL+"/dashboard"), heading("Dashboard"),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "of 3 projects")]`)),
		chromedp.WaitVisible(chromedp.Search(`//main//a[@href="/pricing"]`)), bothWidths("q2-dashboard-2-of-3"))

	// A second tab shows the form, then the third project is made elsewhere.
	step("the form, still open", chromedp.Navigate(ts.URL+"/projects"), chromedp.SendKeys(chromedp.ID("name"), "Four"))
	other := ts.newClient()
	wantRedirect(t, other.login("ada@example.com", testPassword, false), "/dashboard")
	wantStatus(t, other.post("/projects", url.Values{"name": {"Three"}}), 303)
	step("submitted over the limit: the name is kept",
		chromedp.Click(chromedp.CSS(`form.create-form button`)),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "Project limit reached")]`)), bothWidths("q3-over-the-limit"))
	name, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("name")))
	if err != nil || name != "Four" {
		t.Fatalf("the refused name is %q (err %v), want Four", name, err)
	}
	step("at the limit: no form, the way to more", chromedp.Navigate(ts.URL+"/projects"),
		chromedp.WaitVisible(chromedp.Search(`//strong[contains(., "3 of 3 projects")]`)),
		chromedp.WaitVisible(chromedp.Search(`//a[@href="/pricing" and @role="button"]`)), bothWidths("q4-projects-full"))
	if visible(ctx, t, `form.create-form`) {
		t.Fatal("the create form shows on a full plan")
	}
}

// TestBrowserAdminActions: no Disable on the admin's own row, Disable asks
// first, and the flash and the search survive the action.
func TestBrowserAdminActions(t *testing.T) {
	ctx := newBrowser(t)
	ts := newTestServer(t, func(c *testSetup) { c.AdminEmails = map[string]bool{"boss@example.com": true} })
	boss := ts.newClient()
	boss.signupVerified("boss@example.com")
	ts.newClient().signup("alice@example.com")
	ts.newClient().signup("bob@example.com")
	step := stepper(t, ctx)
	step("log in as the admin", chromedp.Navigate(ts.URL+"/login"),
		chromedp.SendKeys(chromedp.ID("email"), "boss@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)), heading("Dashboard"))
	step("admin", chromedp.Navigate(ts.URL+"/admin"), heading("Admin"),
		chromedp.WaitVisible(chromedp.Search(`//td[contains(., "boss@example.com")]`)), bothWidths("a1-admin"))
	own, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("tr")].find(r => r.textContent.includes("boss@example.com")).lastElementChild.textContent.trim()`))
	if err != nil || own != "You" {
		t.Fatalf("the admin's own row ends with %q (err %v), want You", own, err)
	}
	step("search, then Disable asks first",
		chromedp.SendKeys(chromedp.CSS(`input[name="q"]`), "alice\n"),
		chromedp.WaitNotPresent(chromedp.Search(`//td[contains(., "bob@example.com")]`)),
		chromedp.Click(chromedp.Search(`//summary[contains(., "Disable")]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "is signed out everywhere")]`)), bothWidths("a2-admin-confirm"),
		chromedp.EmulateViewport(390, 844), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[int](`[...document.querySelectorAll(".table-scroll")].at(-1).scrollLeft = 1000`)(ctx, tg)
			return err
		}),
		shot("a2-admin-confirm-mobile-scrolled"), chromedp.EmulateViewport(1280, 900),
		chromedp.Click(chromedp.CSS(`button.danger`)),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "alice@example.com disabled and signed out.")]`)), bothWidths("a3-admin-disabled"))
	q, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`input[name="q"]`)))
	if err != nil || q != "alice" {
		t.Fatalf("the search after disabling is %q (err %v), want alice", q, err)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(loc, "/admin?q=alice") {
		t.Fatalf("back at %s, want /admin?q=alice", loc)
	}
	step("enable keeps it too", chromedp.Click(chromedp.Search(`//button[contains(., "Enable")]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "alice@example.com enabled.")]`)),
		chromedp.WaitNotPresent(chromedp.Search(`//td[contains(., "bob@example.com")]`)))
}

// TestBrowserPricingWithoutBilling: without Stripe the pricing page tells
// visitors paid plans are coming, and no card has an empty footer.
func TestBrowserPricingWithoutBilling(t *testing.T) {
	ctx := newBrowser(t)
	ts := newTestServer(t)
	step := stepper(t, ctx)
	check := func(who string) {
		t.Helper()
		text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("main").innerText`))
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"README", "operator", "Stripe"} {
			if strings.Contains(text, bad) {
				t.Errorf("%s: the pricing page says %q to visitors:\n%s", who, bad, text)
			}
		}
		empty, err := chromedp.Run(ctx, chromedp.Evaluate[int](`[...document.querySelectorAll(".plan footer")].filter(f => !f.innerText.trim()).length`))
		if err != nil || empty != 0 {
			t.Errorf("%s: %d empty plan footers (err %v)", who, empty, err)
		}
	}
	step("anonymous", chromedp.Navigate(ts.URL+"/pricing"), heading("Pricing"),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "Paid plans are coming soon")]`)), bothWidths("b1-pricing-off"))
	check("anonymous")
	step("logged in", browserSignup(ts.URL, "ada@example.com"), chromedp.Navigate(ts.URL+"/pricing"), heading("Pricing"),
		chromedp.WaitVisible(chromedp.Search(`//strong[contains(., "Your current plan")]`)), bothWidths("b2-pricing-off-free"))
	check("logged in")
	step("billing page", chromedp.Navigate(ts.URL+"/billing"), heading("Billing"), bothWidths("b3-billing-off"))
	check("billing page")
}

// TestBrowserBillingPages renders /billing in its states with billing on,
// at both widths: free, a live subscription on a price no plan sells, and
// a failed payment.
func TestBrowserBillingPages(t *testing.T) {
	ctx := newBrowser(t)
	fake := newFakeStripe(t)
	ts := newTestServer(t, withStripe(fake), func(c *testSetup) { c.AdminEmails = map[string]bool{"ada@example.com": true} })
	step := stepper(t, ctx)
	step("free", browserSignup(ts.URL, "ada@example.com"), chromedp.Navigate(ts.URL+"/billing"), heading("Billing"),
		chromedp.WaitVisible(chromedp.Search(`//a[contains(., "See plans and upgrade")]`)), bothWidths("c1-billing-free"))

	u, _ := ts.db.UserByEmail(context.Background(), "ada@example.com")
	ts.db.SaveCustomer(context.Background(), ts.team(u.ID).TeamID(), "cus_ada")
	step("free, with past invoices", chromedp.Navigate(ts.URL+"/billing"), heading("Billing"),
		chromedp.WaitVisible(chromedp.Search(`//button[contains(., "Past invoices")]`)), bothWidths("c1b-billing-free-customer"))
	checkButtons(t, ctx)
	now := time.Now().Unix()
	ts.sendEvent("customer.subscription.updated", subscriptionObject("sub_x", "cus_ada", "price_elsewhere", "active", now), now)
	step("unknown price", chromedp.Navigate(ts.URL+"/billing"), heading("Billing"),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "at a price this site does not sell")]`)), bothWidths("c2-billing-unknown-price"))
	ts.sendEvent("customer.subscription.updated", subscriptionObject("sub_x", "cus_ada", "price_pro", "past_due", now+1), now+1)
	step("payment failed", chromedp.Navigate(ts.URL+"/billing"), heading("Billing"),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "Your last payment failed")]`)), bothWidths("c3-billing-past-due"))
	checkButtons(t, ctx)

	// The founder's side of an unknown price, on /admin.
	ts.sendEvent("customer.subscription.updated", subscriptionObject("sub_x", "cus_ada", "price_elsewhere", "active", now+2), now+2)
	link := ts.smtp.latest("ada@example.com", "Confirm your email address").link(t, ts.URL)
	step("admin with an unknown price", chromedp.Navigate(link), chromedp.Click(chromedp.CSS(`form[action="/verify-email"] button`)),
		heading("Dashboard"), chromedp.Navigate(ts.URL+"/admin"), heading("Admin"),
		chromedp.WaitVisible(chromedp.Search(`//h2[contains(., "a price Skiff does not know")]`)), bothWidths("c4-admin-unknown-price"))
}

// checkButtons fails when the billing page's actions differ in size at
// 390 px (they stack, one full-width button each), or main overflows.
func checkButtons(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	defer chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900))
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`[document.querySelector("main").scrollWidth,
		...[...document.querySelectorAll(".billing-actions button, .billing-actions [role=button]")].flatMap(b => [b.getBoundingClientRect().width, b.getBoundingClientRect().height])]`))
	if err != nil {
		t.Fatal(err)
	}
	if got[0] > 390 {
		t.Errorf("main is %v px wide at 390 px", got[0])
	}
	for i := 3; i < len(got); i += 2 {
		if got[i] != got[1] || got[i+1] != got[2] {
			t.Errorf("the billing actions differ in size (width, height of each): %v", got[1:])
		}
	}
}

// TestBrowserForms: a taken address links to log in with it, the cursor
// lands in the password where only it is missing or wrong, and the reset
// page names the account for password managers.
func TestBrowserForms(t *testing.T) {
	ctx := newBrowser(t)
	ts := newTestServer(t)
	ts.newClient().signup("ada@example.com")
	step := stepper(t, ctx)
	focused := func() string {
		t.Helper()
		id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	step("signup with a taken address",
		chromedp.Navigate(ts.URL+"/signup"),
		chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("email-error")), bothWidths("f1-signup-taken"))
	step("Log in instead? is a link to log in with it",
		chromedp.Click(chromedp.Search(`//a[contains(., "Log in instead?")]`)), heading("Log in"), bothWidths("f2-login-prefilled"))
	if email, _ := chromedp.Run(ctx, chromedp.Value(chromedp.ID("email"))); email != "ada@example.com" || focused() != "password" {
		t.Fatalf("the login page has %q with the cursor in %q, want the address and the password", email, focused())
	}
	step("a wrong password",
		chromedp.SendKeys(chromedp.ID("password"), "not the password"),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "Incorrect email or password.")]`)), bothWidths("f3-login-wrong-password"))
	if email, _ := chromedp.Run(ctx, chromedp.Value(chromedp.ID("email"))); email != "ada@example.com" || focused() != "password" {
		t.Fatalf("after a wrong password: %q with the cursor in %q, want the address kept and the password", email, focused())
	}
	step("typing goes to the password", chromedp.KeyEvent(testPassword+"\n"), heading("Dashboard"))

	wantStatus(t, ts.newClient().post("/forgot-password", url.Values{"email": {"ada@example.com"}}), 200)
	link := ts.smtp.latest("ada@example.com", "Reset your password").link(t, ts.URL+"/reset-password?token=")
	step("the reset page names the account", chromedp.Navigate(link), heading("Choose a new password"),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "For ada@example.com")]`)), bothWidths("f4-reset"))
	if got, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`input[autocomplete="username"]`))); got != "ada@example.com" || focused() != "password" {
		t.Fatalf("the reset page's username is %q, the cursor in %q", got, focused())
	}
}

// TestBrowserSignupSaysItOnce: after signup the dashboard asks for the
// confirmation once, in its banner, with no flash beside it.
func TestBrowserSignupSaysItOnce(t *testing.T) {
	ctx := newBrowser(t)
	ts := newTestServer(t)
	step := stepper(t, ctx)
	step("signup", browserSignup(ts.URL, "ada@example.com"), chromedp.WaitVisible(chromedp.CSS(".verify-banner")), bothWidths("s1-dashboard-after-signup"))
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("main").innerText.toLowerCase()`))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(text, "confirm"); n != 1 || visible(ctx, t, ".flash") {
		t.Fatalf("the dashboard asks for the confirmation %d times, or has a flash beside it:\n%s", n, text)
	}
}

// TestBrowserDevMailboxTimes: the development mailbox shows when a mail was
// sent as people read it.
func TestBrowserDevMailboxTimes(t *testing.T) {
	ctx := newBrowser(t)
	ts := newTestServer(t, withDevMailbox())
	step := stepper(t, ctx)
	step("signup", browserSignup(ts.URL, "ada@example.com"))
	step("mailbox", chromedp.Navigate(ts.URL+"/dev/mail"), heading("Development mailbox"),
		chromedp.WaitVisible(chromedp.CSS(".dev-mail time")), bothWidths("m1-dev-mailbox"))
	got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".dev-mail time")))
	if err != nil || !regexp.MustCompile(`^\d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2} UTC$`).MatchString(got) {
		t.Fatalf("the mailbox shows %q (err %v), not a time people read", got, err)
	}
}
