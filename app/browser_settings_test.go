package app

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
)

// browserSignupVerified signs up in the browser and confirms the address
// there, so the browser's session stays logged in.
func browserSignupVerified(t *testing.T, ts *testServer, step func(string, ...chromedp.Action[chromedp.Void]), email string) {
	t.Helper()
	step("signup",
		chromedp.Navigate(ts.URL+"/signup"),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		heading("Dashboard"))
	link := ts.smtp.latest(email, "Confirm your email address").link(t, ts.URL)
	step("confirm the address", chromedp.Navigate(link), heading("Confirm your email address"),
		chromedp.Click(chromedp.CSS(`form[action="/verify-email"] button`)), heading("Dashboard"))
}

// flash waits for the flash message containing text.
func flash(text string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.Search(`//p[@class="flash" and contains(., "` + text + `")]`))
}

// TestBrowserSettings walks every settings page in a real browser at 1280
// and 390 px: the navigation marks the page shown, a new API token is at the
// top, focused, with a working copy button, every destructive action asks
// first and acts only from its confirmation, recovery codes survive a reload
// unchanged and can be regenerated, and the account is deleted from its
// confirmation.
func TestBrowserSettings(t *testing.T) {
	ctx := newBrowser(t)
	ts := newTestServer(t)
	step := stepper(t, ctx)
	run := func(what string, expr string) {
		t.Helper()
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err != nil || !ok {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			t.Fatalf("%s (at %s): %s is not true (err %v)", what, loc, expr, err)
		}
	}
	text := func(css string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	browserSignupVerified(t, ts, step, "ada@example.com")

	for i, sec := range settingsSections {
		step(sec.heading, chromedp.Navigate(ts.URL+sec.path), heading(sec.heading),
			chromedp.WaitVisible(chromedp.CSS(`nav[aria-label="Settings"] a[aria-current="page"][href="`+sec.path+`"]`)),
			bothWidths("40-settings-"+string(rune('a'+i))))
		run(sec.heading+": one section marked, title equals heading",
			`document.querySelectorAll('nav[aria-label="Settings"] [aria-current]').length === 1 &&
			 document.title === document.querySelector("h1").textContent + " · Skiff"`)
	}

	// A new token: at the top, focused, announced, with a copy button.
	step("create a token",
		chromedp.Navigate(ts.URL+"/settings/tokens"),
		chromedp.SendKeys(chromedp.ID("token-name"), "Laptop script"),
		chromedp.SendKeys(chromedp.ID("token-password"), testPassword),
		chromedp.Click(chromedp.Search(`//button[text()="Create token"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#new-token[role="status"]`)),
		chromedp.WaitVisible(chromedp.CSS(`button[data-copy="new-token-value"]`)),
		bothWidths("41-token-created"))
	run("the new token is focused, in view, above the form",
		`document.activeElement.id === "new-token" &&
		 document.getElementById("new-token").getBoundingClientRect().bottom <= innerHeight &&
		 (document.getElementById("new-token").compareDocumentPosition(document.querySelector('form[action="/settings/tokens"]')) & Node.DOCUMENT_POSITION_FOLLOWING) > 0`)
	token := text("#new-token-value")
	if !strings.HasPrefix(token, "skiff_") {
		t.Fatalf("token %q", token)
	}
	// The copy button hands the token to the clipboard (caught here: a
	// headless browser's clipboard needs a permission and focus).
	step("copy it",
		chromedp.Evaluate[chromedp.Void](`navigator.clipboard.writeText = (text) => { window.copied = text; return Promise.resolve(); }`),
		chromedp.Click(chromedp.CSS(`button[data-copy="new-token-value"]`)),
		chromedp.WaitVisible(chromedp.Search(`//button[@data-copy and text()="Copied"]`)))
	run("the copied text is the token", `window.copied === `+jsString(token))

	step("revoking asks first",
		chromedp.Navigate(ts.URL+"/settings/tokens"), heading("API tokens"),
		chromedp.WaitNotPresent(chromedp.ID("new-token")),
		hidden(`form[action$="/revoke"] button`),
		chromedp.Click(chromedp.Search(`//summary[text()="Revoke"]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "will be refused from its next request")]`)),
		bothWidths("42-token-revoke-confirm"),
		chromedp.Click(chromedp.Search(`//button[text()="Revoke token"]`)),
		flash("Token revoked."), chromedp.WaitVisible(chromedp.Search(`//p[text()="You have no API tokens."]`)))

	// Sessions: one, then every other, each from its confirmation.
	phone := ts.newClient().as(safariIPhone)
	phone.login("ada@example.com", testPassword, false)
	step("sign out one session",
		chromedp.Navigate(ts.URL+"/settings/sessions"), heading("Sessions"),
		chromedp.Click(chromedp.Search(`//li[contains(., "Safari on iOS")]//summary[text()="Sign out"]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "Safari on iOS will be logged out")]`)),
		bothWidths("43-session-confirm"),
		chromedp.Click(chromedp.Search(`//button[text()="Sign out this session"]`)),
		flash("That session was signed out."))
	wantRedirect(t, phone.get("/dashboard"), "/login?next=%2Fdashboard")
	for range 2 {
		ts.newClient().login("ada@example.com", testPassword, false)
	}
	step("sign out everywhere else",
		chromedp.Navigate(ts.URL+"/settings/sessions"),
		chromedp.Click(chromedp.Search(`//summary[text()="Sign out everywhere else"]`)),
		chromedp.Click(chromedp.Search(`//button[text()="Sign out 2 other sessions"]`)),
		flash("Signed out 2 other sessions."), shot("44-sessions-after"))

	// Two-factor: recovery codes after turning it on, a reload, new codes.
	step("two-factor enrolment", chromedp.Navigate(ts.URL+"/settings/2fa"), heading("Two-factor authentication"))
	code, _ := totp.GenerateCode(text(`code.token`), ts.srv.now())
	step("turn it on",
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.SendKeys(chromedp.ID("current_password"), testPassword),
		chromedp.Click(chromedp.Search(`//button[text()="Turn on two-factor authentication"]`)),
		heading("Save your recovery codes"), flash("Two-factor authentication is on."),
		chromedp.WaitVisible(chromedp.CSS(`button[data-copy="recovery-codes-value"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/settings/2fa/recovery-codes.txt"][download]`)),
		bothWidths("45-recovery-codes"))
	codes := text("#recovery-codes-value")
	step("reload", chromedp.Reload(), heading("Save your recovery codes"))
	reloaded := text("#recovery-codes-value")
	if len(strings.Fields(codes)) != 10 || reloaded != codes {
		t.Fatalf("codes %q, after a reload %q", codes, reloaded)
	}
	step("new recovery codes",
		chromedp.Click(chromedp.Search(`//a[text()="I have saved my codes"]`)), heading("Two-factor authentication"),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "You have 10 unused recovery codes")]`)),
		bothWidths("46-2fa-on"),
		chromedp.SendKeys(chromedp.ID("regenerate-password"), testPassword),
		chromedp.Click(chromedp.Search(`//button[text()="Regenerate recovery codes"]`)),
		heading("Save your recovery codes"), flash("New recovery codes were made."))
	regenerated := text("#recovery-codes-value")
	if len(strings.Fields(regenerated)) != 10 || regenerated == codes {
		t.Fatalf("regenerated codes %q, before %q", regenerated, codes)
	}

	// Deleting the account: the password goes into the confirmation.
	step("delete the account",
		chromedp.Navigate(ts.URL+"/settings/data"), heading("Data and deletion"),
		hidden(`#delete_password`),
		chromedp.Click(chromedp.Search(`//summary[text()="Delete my account"]`)),
		chromedp.SendKeys(chromedp.ID("delete_password"), "not my password"),
		chromedp.Click(chromedp.Search(`//button[text()="Delete my account for good"]`)),
		chromedp.WaitVisible(chromedp.ID("delete_password-error")), // shown again, open
		bothWidths("47-delete-confirm"),
		chromedp.SendKeys(chromedp.ID("delete_password"), testPassword),
		chromedp.Click(chromedp.Search(`//button[text()="Delete my account for good"]`)),
		flash("Your account and its data have been deleted."))
}

// TestBrowserSettingsConnectedAccounts connects a provider from "Password
// and security" and disconnects it through its confirmation.
func TestBrowserSettingsConnectedAccounts(t *testing.T) {
	ctx := newBrowser(t)
	ts, f := oauthServer(t)
	f.consent = fakeAccount{ID: "4242", Email: "octo@example.com", Verified: true}
	step := stepper(t, ctx)
	browserSignupVerified(t, ts, step, "ada@example.com")
	step("connect GitHub",
		chromedp.Navigate(ts.URL+"/settings/security"), heading("Password and security"),
		chromedp.SendKeys(chromedp.ID("connect-password"), testPassword),
		chromedp.Click(chromedp.CSS(`button[name="provider"][value="github"]`)),
		flash("GitHub is now connected"), bothWidths("48-security-connected"))
	step("disconnect it, asked first",
		hidden(`form[action$="/delete"] button`),
		chromedp.Click(chromedp.Search(`//li[contains(., "octo@example.com")]//summary[text()="Disconnect"]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "no longer be able to log in with this GitHub account")]`)),
		bothWidths("49-disconnect-confirm"),
		chromedp.Click(chromedp.Search(`//button[text()="Disconnect GitHub"]`)),
		flash("Disconnected."), chromedp.WaitNotPresent(chromedp.Search(`//li[contains(., "octo@example.com")]`)))
}

// TestBrowserAPIDocs renders the JSON API's documentation, linked from the
// API tokens page, as a page a person reads.
func TestBrowserAPIDocs(t *testing.T) {
	ctx := newBrowser(t)
	ts := newTestServer(t)
	step := stepper(t, ctx)
	browserSignupVerified(t, ts, step, "ada@example.com")
	step("from the API tokens page",
		chromedp.Navigate(ts.URL+"/settings/tokens"),
		chromedp.Click(chromedp.Search(`//a[text()="JSON API"]`)), heading("JSON API"),
		chromedp.WaitVisible(chromedp.Search(`//h2[text()="Errors"]`)),
		chromedp.WaitVisible(chromedp.Search(`//dt/code[text()="rate_limited"]`)),
		bothWidths("50-api-docs"))
}

// hidden fails unless the element matching css is in the page, not shown
// (inside a confirmation not opened yet).
func hidden(css string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		ok, err := chromedp.Evaluate[bool](`(e => e !== null && !e.checkVisibility())(document.querySelector(`+jsString(css)+`))`)(ctx, tg)
		if err == nil && !ok {
			err = fmt.Errorf("%s is shown, or missing", css)
		}
		return err
	})
}

// jsString quotes s for JavaScript.
func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
