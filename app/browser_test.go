package app

import (
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"skiff/views"
)

// newBrowser gives one test a browser of its own: a new browser context
// (its own cookies and storage, as a separate profile would) in the headless
// Chromium the browser tests share, which starts once. Without Chromium the
// test is skipped, unless SKIFF_BROWSER_TESTS=required (as in CI).
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	return newBrowserFor(t, 90*time.Second)
}

// newBrowserFor is newBrowser with a time limit of its own.
func newBrowserFor(t *testing.T, limit time.Duration) context.Context {
	t.Helper()
	browser, err := chromium.start()
	if errors.Is(err, errNoChromium) {
		if os.Getenv("SKIFF_BROWSER_TESTS") == "required" {
			t.Fatal("SKIFF_BROWSER_TESTS=required but no Chromium was found (apt-get install chromium)")
		}
		t.Skip("browser test skipped: no Chromium found (apt-get install chromium, or set SKIFF_BROWSER_TESTS=required to make this an error)")
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancelCtx := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	ctx, cancelTimeout := context.WithTimeout(ctx, limit)
	t.Cleanup(func() { cancelTimeout(); cancelCtx() })
	return ctx
}

// chromium is the one browser process of the test binary: starting Chromium
// for every test cost a second each. TestMain stops it.
var chromium sharedBrowser

type sharedBrowser struct {
	once   sync.Once
	ctx    context.Context
	stop   func()
	err    error
	dataIn string
}

var errNoChromium = errors.New("no Chromium found")

func (b *sharedBrowser) start() (context.Context, error) {
	b.once.Do(func() {
		var path string
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
			if p, err := exec.LookPath(name); err == nil {
				path = p
				break
			}
		}
		if path == "" {
			b.err = errNoChromium
			return
		}
		if b.dataIn, b.err = os.MkdirTemp("", "skiff-chromium-"); b.err != nil {
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.UserDataDir(b.dataIn),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-gpu", true),
			chromedp.WindowSize(1280, 900),
		)
		if os.Geteuid() == 0 {
			opts = append(opts, chromedp.NoSandbox)
		}
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelCtx := chromedp.NewContext(allocCtx)
		b.ctx, b.stop = ctx, func() { cancelCtx(); cancelAlloc(); os.RemoveAll(b.dataIn) }
		b.err = chromedp.Do(ctx) // starts the browser
	})
	return b.ctx, b.err
}

// TestMain stops the shared browser once every test has run.
func TestMain(m *testing.M) {
	code := m.Run()
	if chromium.stop != nil {
		chromium.stop()
	}
	os.Exit(code)
}

// shot saves a full-page PNG named name into $SKIFF_SCREENSHOTS, if set.
func shot(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		dir := os.Getenv("SKIFF_SCREENSHOTS")
		if dir == "" {
			return nil
		}
		b, err := chromedp.FullScreenshot(100)(ctx, tg)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644)
	})
}

// bothWidths saves a screenshot of the page at 1280 px, then at 390 px.
func bothWidths(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(shot(name), chromedp.EmulateViewport(390, 844), shot(name+"-mobile"), chromedp.EmulateViewport(1280, 900))
}

// heading waits for an h1 containing text.
func heading(text string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.Search(`//h1[contains(., "` + text + `")]`))
}

// stepper runs named groups of browser actions, failing the test with the page's address.
func stepper(t *testing.T, ctx context.Context) func(string, ...chromedp.Action[chromedp.Void]) {
	return func(name string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			t.Fatalf("%s (at %s): %v", name, loc, err)
		}
	}
}

// TestBrowserSignupLoginProjects drives a real browser through the main
// journey: sign up, log out, log in, create a project. With
// SKIFF_SCREENSHOTS=dir it saves a screenshot of each page there.
func TestBrowserSignupLoginProjects(t *testing.T) {
	ctx := newBrowser(t)
	ts := newTestServer(t)
	step := stepper(t, ctx)

	step("landing page", chromedp.Navigate(ts.URL+"/"), heading(views.ProductTagline), shot("1-home"))

	step("signup with a common password is refused",
		chromedp.Navigate(ts.URL+"/signup"), heading("Create your account"), shot("2-signup"),
		chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), "password123"),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("password-error")), shot("3-signup-errors"),
	)
	step("signup",
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		heading("Dashboard"), shot("4-dashboard"),
	)
	step("log out",
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "You have been logged out.")]`)),
	)
	step("log in, back to the page that asked",
		chromedp.Navigate(ts.URL+"/projects"), heading("Log in"), shot("5-login"),
		chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`input[name="remember"]`)),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		heading("Projects"), shot("6-projects-empty"),
	)
	step("create a project",
		chromedp.SendKeys(chromedp.ID("name"), "Moonshot"),
		chromedp.Click(chromedp.CSS(`form.create-form button`)),
		heading("Moonshot"), shot("7-project"),
	)
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil || !strings.Contains(title, "Moonshot") {
		t.Fatalf("title %q, err %v", title, err)
	}
	step("project list", chromedp.Navigate(ts.URL+"/projects"), chromedp.WaitVisible(chromedp.Search(`//td/a[text()="Moonshot"]`)), shot("8-projects"))
	step("404 page", chromedp.Navigate(ts.URL+"/nope"), heading("Page not found"), shot("9-not-found"))
	step("mobile dashboard", chromedp.EmulateViewport(390, 844), chromedp.Navigate(ts.URL+"/dashboard"), heading("Dashboard"), shot("10-dashboard-mobile"))

	// The stylesheet loaded (the CSP let it through): Pico sets the body's font.
	font, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.body).fontFamily`))
	if err != nil || !strings.Contains(font, "system-ui") {
		t.Fatalf("stylesheet not applied: font-family %q, err %v", font, err)
	}
}

// TestBrowserBilling renders the billing pages in a real browser: the pricing
// page with its upgrade forms, the upgrade prompt, and the billing page after
// returning from Checkout (the fake plays Stripe).
func TestBrowserBilling(t *testing.T) {
	ctx := newBrowser(t)
	fake := newFakeStripe(t)
	ts := newTestServer(t, withStripe(fake))
	step := stepper(t, ctx)
	step("signup",
		chromedp.Navigate(ts.URL+"/signup"),
		chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		heading("Dashboard"),
	)
	step("pricing", chromedp.Navigate(ts.URL+"/pricing"), heading("Pricing"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/billing/checkout"] button`)), shot("11-pricing"))
	step("upgrade prompt", chromedp.Navigate(ts.URL+"/reports"), heading("Pro feature"), shot("12-upgrade"))

	// Pay through the fake, then come back as Stripe's success URL would.
	c := ts.newClient()
	c.login("ada@example.com", testPassword, false)
	loc := c.post("/billing/checkout", url.Values{"plan": {"pro"}}).Header.Get("Location")
	sessionID := strings.TrimPrefix(loc, "https://checkout.stripe.com/c/pay/")
	fake.completeCheckout(sessionID, "active")
	step("billing after checkout", chromedp.Navigate(ts.URL+"/billing?session_id="+sessionID), heading("Billing"),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "Thank you!")]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/billing/portal"] button`)), shot("13-billing"))
	step("reports", chromedp.Navigate(ts.URL+"/reports"), heading("Reports"), shot("14-reports"))
}

// TestBrowserMailPages renders the mail flows: the verification banner, the
// development mailbox and a mail's HTML, settings, and the reset pages; and
// follows a magic link from the mailbox by clicking.
func TestBrowserMailPages(t *testing.T) {
	ctx := newBrowser(t)
	ts := newTestServer(t, withDevMailbox(), func(c *testSetup) { c.AdminEmails = map[string]bool{"ada@example.com": true} })
	step := stepper(t, ctx)
	step("signup",
		chromedp.Navigate(ts.URL+"/signup"),
		chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		heading("Dashboard"), chromedp.WaitVisible(chromedp.CSS(".verify-banner")), shot("15-dashboard-unverified"),
	)
	step("dev mailbox", chromedp.Navigate(ts.URL+"/dev/mail"), heading("Development mailbox"),
		chromedp.WaitVisible(chromedp.Search(`//a[contains(@href, "/verify-email?token=")]`)), shot("16-dev-mailbox"))
	step("mail HTML", chromedp.Navigate(ts.URL+"/dev/mail/1"), chromedp.WaitVisible(chromedp.Search(`//a[contains(., "Confirm my address")]`)), shot("17-mail-verify"))
	step("verify by clicking the mail's button",
		chromedp.Click(chromedp.Search(`//a[contains(., "Confirm my address")]`)),
		heading("Confirm your email address"), shot("18-verify-confirm"),
		chromedp.Click(chromedp.CSS(`form[action="/verify-email"] button`)),
		heading("Dashboard"), chromedp.WaitVisible(chromedp.Search(`//p[contains(., "Your email address is confirmed.")]`)), shot("18-verified"))
	step("settings", chromedp.Navigate(ts.URL+"/settings/sessions"), heading("Sessions"),
		chromedp.WaitVisible(chromedp.Search(`//mark[contains(., "this device")]`)), shot("19-settings"))
	step("two-factor enrolment", chromedp.Navigate(ts.URL+"/settings/2fa"), heading("Two-factor authentication"),
		chromedp.WaitVisible(chromedp.CSS(`img[alt^="QR code"]`)), shot("19c-2fa"))
	step("admin", chromedp.Navigate(ts.URL+"/admin"), heading("Admin"),
		chromedp.WaitVisible(chromedp.Search(`//td[contains(., "ada@example.com")]`)), shot("19b-admin"))
	step("log out", chromedp.Navigate(ts.URL+"/dashboard"), chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "You have been logged out.")]`)))
	step("ask for a magic link",
		chromedp.Navigate(ts.URL+"/login"), chromedp.Click(chromedp.Search(`//a[contains(., "Email me a login link")]`)),
		heading("Log in with a link"), shot("20-magic"),
		chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		heading("Check your email"),
	)
	step("follow it from the mailbox",
		chromedp.Navigate(ts.URL+"/dev/mail"),
		chromedp.Click(chromedp.Search(`//a[contains(@href, "/login/magic/confirm?token=")]`)),
		heading("Log in to Skiff"), shot("21-magic-confirm"),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		heading("Dashboard"),
	)
	step("forgot password page", chromedp.Navigate(ts.URL+"/forgot-password"), heading("Reset your password"), shot("22-forgot"))
}

// TestBrowserSocialLogin signs in with GitHub through the fake provider's
// consent redirect, in a real browser, and shows the connected account.
func TestBrowserSocialLogin(t *testing.T) {
	ctx := newBrowser(t)
	ts, f := oauthServer(t)
	f.consent = fakeAccount{ID: "4242", Email: "octo@example.com", Verified: true}
	step := stepper(t, ctx)
	step("login page with providers", chromedp.Navigate(ts.URL+"/login"), heading("Log in"),
		chromedp.WaitVisible(chromedp.Search(`//a[contains(., "Continue with GitHub")]`)), shot("23-login-providers"))
	step("continue with GitHub",
		chromedp.Click(chromedp.Search(`//a[contains(., "Continue with GitHub")]`)),
		heading("Dashboard"),
		chromedp.WaitVisible(chromedp.Search(`//strong[contains(., "octo@example.com")]`)),
	)
	step("settings shows the connected account", chromedp.Navigate(ts.URL+"/settings/security"), heading("Password and security"),
		chromedp.WaitVisible(chromedp.Search(`//li[contains(., "GitHub")]`)), shot("24-settings-connected"))
}

// TestBrowserAccountLifecycle renders what a first proof looks like: the
// settings of an unconfirmed account (why no way in can be added), the proof
// page opened in another browser (password kept when typed, or a new one
// chosen), and connecting a provider with the password through the CSP's
// form-action, at 1280 and 390 px.
func TestBrowserAccountLifecycle(t *testing.T) {
	ts, f := oauthServer(t)
	f.consent = fakeAccount{ID: "sso-7", Email: "ada@corp.example", Verified: true}
	laptop := newBrowser(t)
	step := stepper(t, laptop)
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
	step("settings before the address is proven", chromedp.Navigate(ts.URL+"/settings/tokens"), heading("API tokens"),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "Confirm your email address to create API tokens")]`)),
		both("30-settings-unconfirmed"),
		chromedp.Navigate(ts.URL+"/settings/security"), heading("Password and security"),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "Confirm your email address to connect another way to log in")]`)),
		both("30b-settings-unconfirmed"))
	step("two-factor waits too", chromedp.Navigate(ts.URL+"/settings/2fa"),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "Confirm your email address to turn on two-factor")]`)), both("31-2fa-unconfirmed"))

	// The link opened on another device: the proof page.
	link := ts.smtp.latest("ada@example.com", "Confirm your email address").link(t, ts.URL)
	phone := newBrowser(t)
	pstep := stepper(t, phone)
	pstep("proof page", chromedp.Navigate(link), heading("Confirm your email address"),
		chromedp.WaitVisible(chromedp.ID("password")), both("32-proof"))
	pstep("a wrong password",
		chromedp.SendKeys(chromedp.ID("password"), "not the password"),
		chromedp.Click(chromedp.Search(`//button[contains(., "Confirm and log in")]`)),
		chromedp.WaitVisible(chromedp.ID("password-error")), shot("33-proof-wrong"))
	pstep("the right one keeps it and logs in",
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.Search(`//button[contains(., "Confirm and log in")]`)),
		heading("Dashboard"), chromedp.WaitVisible(chromedp.Search(`//p[contains(., "Your email address is confirmed.")]`)))
	step("the laptop was signed out", chromedp.Navigate(ts.URL+"/dashboard"), heading("Log in"),
		chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		heading("Dashboard"))
	step("settings once proven", chromedp.Navigate(ts.URL+"/settings/tokens"), heading("API tokens"),
		chromedp.WaitVisible(chromedp.ID("token-password")),
		chromedp.Navigate(ts.URL+"/settings/security#connected-accounts"), heading("Password and security"),
		chromedp.WaitVisible(chromedp.ID("connect-password")),
		both("34-settings-confirmed"))
	step("connect a provider with the password",
		chromedp.SendKeys(chromedp.ID("connect-password"), testPassword),
		chromedp.Click(chromedp.CSS(`button[name="provider"][value="oidc"]`)),
		heading("Password and security"), chromedp.WaitVisible(chromedp.Search(`//p[contains(., "Acme SSO is now connected")]`)),
		chromedp.WaitVisible(chromedp.Search(`//li[contains(., "ada@corp.example")]`)), shot("35-connected"))

	// Someone else's address: confirming without its password means choosing one.
	ts.newClient().signup("bob@example.com")
	bobLink := ts.smtp.latest("bob@example.com", "Confirm your email address").link(t, ts.URL)
	pstep("confirm and choose a new password",
		chromedp.Navigate(ts.URL+"/dashboard"), chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "You have been logged out.")]`)),
		chromedp.Navigate(bobLink), heading("Confirm your email address"),
		chromedp.Click(chromedp.Search(`//button[contains(., "Confirm and choose a new password")]`)),
		heading("Choose a new password"), chromedp.WaitVisible(chromedp.Search(`//p[contains(., "Choose a password to finish")]`)),
		both("36-proof-new-password"),
		chromedp.SendKeys(chromedp.ID("password"), "bob's very own passphrase"),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		heading("Log in"))
}

// TestBrowserTeams is a team from end to end in two browsers, the mail read
// from the development mailbox: ada creates a team and a project and invites
// bob; bob signs up, confirms his address, opens the invitation and joins;
// both see the project; ada removes bob, and his next page is a 404. Each
// page is saved at 1280 and 390 px.
func TestBrowserTeams(t *testing.T) {
	fake := newFakeStripe(t)
	ts := newTestServer(t, withDevMailbox(), withStripe(fake))
	mailLink := func(to, href string) string {
		return `//article[contains(@class, "dev-mail")][.//small[contains(., "To ` + to + `")]]//a[contains(@href, "` + href + `")]`
	}
	ada := newBrowser(t)
	step := stepper(t, ada)
	step("ada signs up",
		chromedp.Navigate(ts.URL+"/signup"),
		chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		heading("Dashboard"))
	step("creates a team",
		chromedp.Navigate(ts.URL+"/teams"), heading("Teams"), bothWidths("40-teams"),
		chromedp.SendKeys(chromedp.ID("name"), "Acme Rockets"),
		chromedp.Click(chromedp.CSS(`form[action="/teams"] button[type="submit"]`)),
		heading("Projects"), chromedp.WaitVisible(chromedp.Search(`//p[contains(., "Team created. You are its owner.")]`)))
	step("and a project in it",
		chromedp.SendKeys(chromedp.ID("name"), "Apollo"),
		chromedp.Click(chromedp.CSS(`form.create-form button[type="submit"]`)),
		heading("Apollo"))
	team := strconv.Itoa(ts.count(`SELECT id FROM teams WHERE name = 'Acme Rockets'`))
	step("invites bob",
		chromedp.Navigate(ts.URL+"/t/"+team+"/projects"),
		heading("Projects"), bothWidths("41-team-projects"),
		chromedp.Click(chromedp.Search(`//p[contains(@class, "team-line")]//a[contains(., "Members")]`)),
		heading("Members"),
		chromedp.SendKeys(chromedp.ID("email"), "bob@example.com"),
		chromedp.Click(chromedp.Search(`//button[contains(., "Send invitation")]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "Invitation sent to bob@example.com.")]`)),
		bothWidths("42-members-invited"))

	bob := newBrowser(t)
	bstep := stepper(t, bob)
	bstep("bob signs up",
		chromedp.Navigate(ts.URL+"/signup"),
		chromedp.SendKeys(chromedp.ID("email"), "bob@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		heading("Dashboard"))
	ts.mailSettled()
	bstep("confirms his address from the mailbox",
		chromedp.Navigate(ts.URL+"/dev/mail"),
		chromedp.Click(chromedp.Search(mailLink("bob@example.com", "/verify-email?token="))),
		heading("Confirm your email address"),
		chromedp.Click(chromedp.CSS(`form[action="/verify-email"] button`)),
		heading("Dashboard"), chromedp.WaitVisible(chromedp.Search(`//p[contains(., "Your email address is confirmed.")]`)))
	bstep("opens the invitation",
		chromedp.Navigate(ts.URL+"/dev/mail"),
		chromedp.Click(chromedp.Search(mailLink("bob@example.com", "/invitations/accept?token="))),
		heading("Join Acme Rockets"), bothWidths("43-invitation"))
	bstep("joins, and sees the team's project",
		chromedp.Click(chromedp.Search(`//button[contains(., "Join Acme Rockets")]`)),
		heading("Projects"),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "You joined Acme Rockets.")]`)),
		chromedp.WaitVisible(chromedp.Search(`//td/a[text()="Apollo"]`)),
		bothWidths("44-joined"))

	step("ada opens the team's billing from the menu",
		chromedp.Navigate(ts.URL+"/t/"+team+"/projects"), heading("Projects"),
		chromedp.Click(chromedp.Search(`//ul[contains(@class, "menu-inline")]//a[text()="Billing"]`)),
		heading("Billing"), chromedp.WaitVisible(chromedp.Search(`//p[contains(., "2 seats now")]`)),
		chromedp.WaitVisible(chromedp.Search(`//button[contains(., "Choose Pro")]`)), bothWidths("44b-team-billing"))
	teamID, _ := strconv.ParseInt(team, 10, 64)
	if _, err := ts.db.SaveCustomer(context.Background(), teamID, "cus_acme"); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	sub := subscriptionObject("sub_acme", "cus_acme", "price_pro", "active", now)
	sub["items"].(map[string]any)["data"].([]any)[0].(map[string]any)["quantity"] = 2
	ts.sendEvent("customer.subscription.created", sub, now)
	step("the team on Pro, two seats",
		chromedp.Reload(), heading("Billing"),
		chromedp.WaitVisible(chromedp.Search(`//dd[contains(., "2 seats")]`)),
		chromedp.WaitVisible(chromedp.Search(`//button[contains(., "Manage subscription")]`)), bothWidths("44c-team-billing-pro"))

	step("ada sees bob, and removes him",
		chromedp.Navigate(ts.URL+"/t/"+team+"/members"), heading("Members"),
		chromedp.WaitVisible(chromedp.Search(`//td[contains(., "bob@example.com")]`)), bothWidths("45-members"),
		chromedp.Click(chromedp.Search(`//tr[contains(., "bob@example.com")]//summary[contains(., "Remove")]`)),
		chromedp.Click(chromedp.Search(`//button[contains(., "Remove bob@example.com")]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "bob@example.com was removed from the team.")]`)),
		chromedp.WaitVisible(chromedp.Search(`//td/a[text()="Apollo"] | //h1[contains(., "Members")]`)))
	bstep("bob's next page: the team is gone for him",
		chromedp.Navigate(ts.URL+"/t/"+team+"/projects"), heading("Page not found"), bothWidths("46-removed"),
		chromedp.Navigate(ts.URL+"/teams"), heading("Teams"))
	body, err := chromedp.Run(bob, chromedp.Evaluate[string](`document.querySelector("main").innerText`))
	if err != nil || strings.Contains(body, "Acme Rockets") || !strings.Contains(body, "Personal") {
		t.Fatalf("bob's teams after the removal (%v):\n%s", err, body)
	}

	// Ada hands the paying team over to cyd, from cyd's row; both are mailed.
	cyd, err := ts.db.CreateUser(context.Background(), "cyd@example.com", "", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.db.AddMember(context.Background(), ts.scopeIn(ts.userID("ada@example.com"), teamID), cyd.ID, "admin"); err != nil {
		t.Fatal(err)
	}
	step("ada hands the team over to cyd",
		chromedp.Navigate(ts.URL+"/t/"+team+"/members"), heading("Members"),
		chromedp.Click(chromedp.Search(`//tr[contains(., "cyd@example.com")]//summary[contains(., "Make owner")]`)),
		bothWidths("47-hand-over"),
		chromedp.Click(chromedp.Search(`//button[contains(., "Hand the team over to cyd@example.com")]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "cyd@example.com owns Acme Rockets now; you are an admin.")]`)))
	ts.mailSettled()
	for i, to := range []string{"cyd@example.com", "ada@example.com"} {
		step("the hand-over's mail to "+to,
			chromedp.Navigate(ts.URL+"/dev/mail"),
			chromedp.Click(chromedp.Search(`//article[contains(@class, "dev-mail")][.//small[contains(., "To `+to+`")]][.//strong[contains(., "own") or contains(., "still pays")]]//a[contains(., "HTML version")]`)),
			chromedp.WaitVisible(chromedp.Search(`//body[contains(., "Acme Rockets")]`)), bothWidths("48-hand-over-mail-"+strconv.Itoa(i)))
	}
}
