package app

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"skiff/views"
)

// prefersColorScheme makes the page prefer the "light" or "dark" colour scheme.
func prefersColorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		return t.Call(ctx, "Emulation.setEmulatedMedia", map[string]any{
			"features": []map[string]string{{"name": "prefers-color-scheme", "value": scheme}},
		}, nil)
	})
}

// javaScript turns the page's JavaScript on or off (the no-JS path).
func javaScript(on bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		return t.Call(ctx, "Emulation.setScriptExecutionDisabled", map[string]any{"value": !on}, nil)
	})
}

// evalInto runs a JavaScript expression (awaited, when it is a promise) that
// returns JSON-able data into v.
func evalInto(t *testing.T, ctx context.Context, expr string, v any) {
	t.Helper()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate: %v", err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("evaluate: %v in %s", err, raw)
	}
}

// pageWidthJS measures the page's scrolling width and the viewport's width.
const pageWidthJS = `({scroll: document.documentElement.scrollWidth, inner: innerWidth})`

type pageWidths struct{ Scroll, Inner int }

// headerControlsJS lists the header's links and buttons a user can see now,
// with whether each lies inside the viewport.
const headerControlsJS = `[...document.querySelectorAll("header a, header button, header summary")]
	.filter(el => el.checkVisibility())
	.map(el => { const r = el.getBoundingClientRect();
		return {label: el.textContent.trim(), inside: r.left >= 0 && r.right <= innerWidth && r.width > 0 && r.height > 0}; })`

type headerControl struct {
	Label  string
	Inside bool
}

// focusedJS describes the focused element: its label, and whether it lies
// inside the viewport.
const focusedJS = `(() => { const el = document.activeElement, r = el.getBoundingClientRect();
	return {label: el.textContent.trim(), inside: r.left >= 0 && r.right <= innerWidth && r.top >= 0 && r.bottom <= innerHeight && r.width > 0}; })()`

// contrastJS holds the WCAG contrast arithmetic the focus checks use.
const contrastJS = `
const parse = c => { const m = /rgba?\(([^)]+)\)/.exec(c || ""); if (!m) return null;
	const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
const over = (c, bg) => ({r: c.r * c.a + bg.r * (1 - c.a), g: c.g * c.a + bg.g * (1 - c.a), b: c.b * c.a + bg.b * (1 - c.a), a: 1});
const lum = c => { const f = v => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
	return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
const contrast = (x, y) => { const a = lum(x), b = lum(y); return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); };
const pageBg = () => { for (const el of [document.body, document.documentElement]) { const c = parse(getComputedStyle(el).backgroundColor);
	if (c && c.a > 0) return over(c, {r: 255, g: 255, b: 255, a: 1}); } return {r: 255, g: 255, b: 255, a: 1}; };
`

// skipLinkJS describes the focused element as a skip link: inside the
// viewport, on an opaque background, with readable text.
const skipLinkJS = `(() => {` + contrastJS + `
	const el = document.activeElement, cs = getComputedStyle(el), r = el.getBoundingClientRect();
	const bg = parse(cs.backgroundColor), page = pageBg(), solid = over(bg, page);
	return {label: el.textContent.trim(), inside: r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.width > 0,
		opaque: bg.a === 1, ratio: contrast(over(parse(cs.color), solid), solid)};
})()`

type skipLink struct {
	Label          string
	Inside, Opaque bool
	Ratio          float64
}

// focusRingJS measures the focus indicator of the focused element, once its
// transitions (Pico fades its box-shadow in) have ended: the contrast of its
// outline (or, without one, of its box-shadow ring) with what it touches: the
// page, and the element itself unless the outline stands clear of it.
const focusRingJS = `(async () => {` + contrastJS + `
	const el = document.activeElement;
	if (el === document.body) return {label: "(body)", ratio: 99, what: "nothing focused"};
	await Promise.all(el.getAnimations().map(a => a.finished));
	const cs = getComputedStyle(el), page = pageBg();
	const own = over(parse(cs.backgroundColor) || {r: 0, g: 0, b: 0, a: 0}, page);
	let ring = null, against = [page, own];
	if (cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) >= 2) {
		ring = parse(cs.outlineColor);
		if (parseFloat(cs.outlineOffset) > 0) against = [page];
	} else { // the last shadow that shows is the ring
		for (const m of cs.boxShadow.matchAll(/rgba?\([^)]+\)/g)) { const c = parse(m[0]); if (c.a > 0) ring = c; }
	}
	const what = cs.outlineStyle + " " + cs.outlineWidth + " " + cs.outlineColor + " offset " + cs.outlineOffset + "; shadow " + cs.boxShadow;
	if (!ring) return {label: el.textContent.trim(), ratio: 0, what};
	ring = over(ring, page);
	return {label: el.textContent.trim(), ratio: Math.min(...against.map(c => contrast(ring, c))), what};
})()`

type focusRing struct {
	Label, What string
	Ratio       float64
}

// signupByBrowser signs up (and stays logged in) in the browser.
func signupByBrowser(step func(string, ...chromedp.Action[chromedp.Void]), base, email string) {
	step("sign up "+email,
		chromedp.Navigate(base+"/signup"),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		heading("Dashboard"))
}

// TestBrowserMobileMenu: at 390 px no logged-in page is wider than the
// screen, with the menu closed or open; the menu opens by keyboard and walks
// through every link; at 1280 px the menu is inline. Billing is offered
// (billing is configured here), Pricing too.
func TestBrowserMobileMenu(t *testing.T) {
	ctx := newBrowser(t)
	fake := newFakeStripe(t)
	ts := newTestServer(t, withStripe(fake), func(c *testSetup) { c.AdminEmails = map[string]bool{"ada@example.com": true} })
	step := stepper(t, ctx)
	signupByBrowser(step, ts.URL, "ada@example.com")
	link := ts.smtp.latest("ada@example.com", "Confirm your email address").link(t, ts.URL)
	step("confirm the address (admins must), create a project",
		chromedp.Navigate(link), chromedp.Click(chromedp.CSS(`form[action="/verify-email"] button`)), heading("Dashboard"),
		chromedp.Navigate(ts.URL+"/projects"), chromedp.SendKeys(chromedp.ID("name"), "A project with a rather long name to wrap"),
		chromedp.Click(chromedp.CSS(`form.create-form button`)), heading("A project with"))

	wantMenu := []string{"Dashboard", "Projects", "Teams", "Billing", "Pricing", "Settings", "Admin", "Log out"}
	summary := chromedp.CSS(`header details > summary`)
	for _, path := range []string{"/dashboard", "/projects", "/projects/1", "/settings", "/settings/2fa", "/billing",
		"/pricing", "/reports", "/admin", "/", "/privacy"} {
		name := strings.ReplaceAll(strings.Trim(path, "/"), "/", "-")
		if name == "" {
			name = "home"
		}
		step("phone "+path, chromedp.EmulateViewport(390, 844), chromedp.Navigate(ts.URL+path),
			chromedp.WaitVisible(chromedp.CSS("h1")), shot("layout-menu-"+name+"-390"))
		var w pageWidths
		evalInto(t, ctx, pageWidthJS, &w)
		if w.Scroll > w.Inner {
			t.Errorf("%s at 390 px, menu closed: the page is %d px wide", path, w.Scroll)
		}
		var closed []headerControl
		evalInto(t, ctx, headerControlsJS, &closed)
		for _, c := range closed {
			if c.Label == "Log out" || c.Label == "Dashboard" {
				t.Errorf("%s at 390 px: %q shows with the menu closed", path, c.Label)
			}
		}
		step("open the menu on "+path, chromedp.Click(summary), chromedp.WaitVisible(chromedp.Search(`//header//details//button[contains(., "Log out")]`)),
			shot("layout-menu-"+name+"-390-open"))
		evalInto(t, ctx, pageWidthJS, &w)
		if w.Scroll > w.Inner {
			t.Errorf("%s at 390 px, menu open: the page is %d px wide", path, w.Scroll)
		}
		var open []headerControl
		evalInto(t, ctx, headerControlsJS, &open)
		var labels []string
		for _, c := range open {
			labels = append(labels, c.Label)
			if !c.Inside {
				t.Errorf("%s at 390 px, menu open: %q runs off the screen", path, c.Label)
			}
		}
		for _, want := range wantMenu {
			if !strings.Contains(strings.Join(labels, "|"), want) {
				t.Errorf("%s at 390 px, menu open: no %q among %q", path, want, labels)
			}
		}
	}

	// By keyboard: Tab to the menu button, Enter opens it, Tab walks its
	// links in order, each on screen.
	step("phone, by keyboard", chromedp.EmulateViewport(390, 844), chromedp.Navigate(ts.URL+"/dashboard"), heading("Dashboard"))
	var f headerControl
	for range 4 {
		step("tab", chromedp.KeyEvent(kb.Tab))
		evalInto(t, ctx, focusedJS, &f)
		if f.Label == "Menu" {
			break
		}
	}
	if f.Label != "Menu" {
		t.Fatalf("Tab from the top never reached the menu button (last: %q)", f.Label)
	}
	step("Enter opens the menu", chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.Search(`//header//details//button[contains(., "Log out")]`)))
	var walked []string
	for range wantMenu {
		step("tab", chromedp.KeyEvent(kb.Tab))
		evalInto(t, ctx, focusedJS, &f)
		walked = append(walked, f.Label)
		if !f.Inside {
			t.Errorf("keyboard: %q is focused off screen", f.Label)
		}
	}
	if strings.Join(walked, "|") != strings.Join(wantMenu, "|") {
		t.Errorf("keyboard walk through the open menu: %q, want %q", walked, wantMenu)
	}
	step("shot", shot("layout-menu-keyboard-390"))

	// Wide: the menu in a line, no button.
	step("laptop", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(ts.URL+"/dashboard"), heading("Dashboard"),
		chromedp.WaitNotVisible(summary), shot("layout-menu-dashboard-1280"))
	var w pageWidths
	evalInto(t, ctx, pageWidthJS, &w)
	if w.Scroll > w.Inner {
		t.Errorf("/dashboard at 1280 px: the page is %d px wide", w.Scroll)
	}
	var wide []headerControl
	evalInto(t, ctx, headerControlsJS, &wide)
	var labels []string
	for _, c := range wide {
		labels = append(labels, c.Label)
	}
	for _, want := range wantMenu {
		if !strings.Contains(strings.Join(labels, "|"), want) {
			t.Errorf("at 1280 px: no %q in the inline menu %q", want, labels)
		}
	}

	// Without JavaScript the menu still opens.
	step("phone without JavaScript", javaScript(false), chromedp.EmulateViewport(390, 844), chromedp.Navigate(ts.URL+"/projects"),
		heading("Projects"), chromedp.Click(summary),
		chromedp.WaitVisible(chromedp.Search(`//header//details//a[contains(., "Settings")]`)),
		chromedp.Click(chromedp.Search(`//header//details//a[contains(., "Settings")]`)), heading("Profile and email"))
}

// TestBrowserFocusVisible: the skip link, once focused, is on screen, opaque
// and readable; the focus ring keeps 3:1 against what it touches on a link,
// the primary button and a field, in the light and the dark colour scheme.
func TestBrowserFocusVisible(t *testing.T) {
	ctx := newBrowser(t)
	ts := newTestServer(t)
	step := stepper(t, ctx)
	for _, scheme := range []string{"light", "dark"} {
		step(scheme+": the skip link", prefersColorScheme(scheme), chromedp.EmulateViewport(1280, 900),
			chromedp.Navigate(ts.URL+"/pricing"), heading("Pricing"), chromedp.KeyEvent(kb.Tab), shot("layout-skip-link-"+scheme))
		var s skipLink
		evalInto(t, ctx, skipLinkJS, &s)
		if s.Label != "Skip to content" || !s.Inside || !s.Opaque || s.Ratio < 4.5 {
			t.Errorf("%s: focused skip link %+v: want it on screen, opaque, text contrast 4.5:1 or more", scheme, s)
		}
		step(scheme+": the skip link leads to the content", chromedp.KeyEvent(kb.Enter))
		var main struct{ ID string }
		evalInto(t, ctx, `({id: document.activeElement.id})`, &main)
		if main.ID != "main" {
			t.Errorf("%s: after the skip link, focus is on %q, want main", scheme, main.ID)
		}

		// Tab through the login page (from its autofocused email field) and
		// measure each headerControl's ring.
		step(scheme+": tab through the login page", chromedp.Navigate(ts.URL+"/login"), heading("Log in"))
		seen := map[string]bool{}
		for range 20 {
			step("tab", chromedp.KeyEvent(kb.Tab))
			var r focusRing
			evalInto(t, ctx, focusRingJS, &r)
			label := r.Label
			if label == "" {
				label = "a field"
			}
			seen[label] = true
			if r.Ratio < 3 {
				t.Errorf("%s: the focus ring of %q has contrast %.2f:1, want 3:1 (%s)", scheme, label, r.Ratio, r.What)
			}
			if r.Label == "Log in" && !seen["shot"] {
				seen["shot"] = true
				step("shot", shot("layout-focus-button-"+scheme))
			}
		}
		for _, want := range []string{"Pricing", "a field", "Log in"} {
			if !seen[want] {
				t.Errorf("%s: tabbing never reached %q (saw %v)", scheme, want, seen)
			}
		}
	}
}

// TestBrowserBreadcrumb: Pico draws the separators between the crumbs.
func TestBrowserBreadcrumb(t *testing.T) {
	ctx := newBrowser(t)
	ts := newTestServer(t)
	step := stepper(t, ctx)
	signupByBrowser(step, ts.URL, "ada@example.com")
	step("a project", chromedp.Navigate(ts.URL+"/projects"), chromedp.SendKeys(chromedp.ID("name"), "Moonshot"),
		chromedp.Click(chromedp.CSS(`form.create-form button`)), heading("Moonshot"), shot("layout-breadcrumb"))
	var sep struct{ Content, Label string }
	evalInto(t, ctx, `(() => { const li = document.querySelector("main nav li");
		return {content: li ? getComputedStyle(li, "::after").content : "", label: li ? li.closest("nav").getAttribute("aria-label") : ""}; })()`, &sep)
	if sep.Content == "" || sep.Content == "none" || sep.Content == "normal" {
		t.Errorf("breadcrumb (aria-label %q): no separator after the first crumb (content %q)", sep.Label, sep.Content)
	}
}

// TestBrowserSubmitBusy: app.js marks a submitted form's button busy and
// disables it, after the browser has read the form, so the button's own
// name and value still reach the server.
func TestBrowserSubmitBusy(t *testing.T) {
	ctx := newBrowser(t)
	ts := newTestServer(t)
	ts.newClient().signup("ada@example.com")
	step := stepper(t, ctx)
	// Record the button's state just after app.js has run; sessionStorage
	// outlives the page, which the submission replaces.
	const record = `window.addEventListener("submit", e => setTimeout(() => sessionStorage.setItem("busy",
		JSON.stringify({disabled: e.submitter.disabled, busy: e.submitter.getAttribute("aria-busy")})), 0)); true`
	var ok bool
	step("log in", chromedp.Navigate(ts.URL+"/login"), heading("Log in"),
		chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword))
	if ok, _ = chromedp.Run(ctx, chromedp.Evaluate[bool](record)); !ok {
		t.Fatal("could not install the recorder")
	}
	step("submit", chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)), heading("Dashboard"))
	var state struct {
		Disabled bool
		Busy     string
	}
	evalInto(t, ctx, `JSON.parse(sessionStorage.getItem("busy") || "{}")`, &state)
	if !state.Disabled || state.Busy != "true" {
		t.Errorf("the login button after submitting: %+v, want disabled and aria-busy=true", state)
	}

	// A button's name and value are still sent: "action=new-password" on
	// the proof page chooses a new password.
	ts.newClient().signup("bob@example.com")
	link := ts.smtp.latest("bob@example.com", "Confirm your email address").link(t, ts.URL)
	step("the proof page's second button", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "You have been logged out.")]`)),
		chromedp.Navigate(link), heading("Confirm your email address"),
		chromedp.Click(chromedp.Search(`//button[contains(., "Confirm and choose a new password")]`)),
		heading("Choose a new password"))
}

// TestBrowserDeadEnds: an expired link and a "check your email" page each
// show their next step, on a phone too.
func TestBrowserDeadEnds(t *testing.T) {
	ctx := newBrowser(t)
	ts := newTestServer(t)
	step := stepper(t, ctx)
	for _, width := range []int64{1280, 390} {
		suffix := "-" + map[int64]string{1280: "1280", 390: "390"}[width]
		step("expired reset link", chromedp.EmulateViewport(width, 900), chromedp.Navigate(ts.URL+"/reset-password?token=used"),
			heading("This link has expired"), chromedp.WaitVisible(chromedp.Search(`//main//a[@href="/forgot-password"]`)),
			shot("layout-expired"+suffix))
		step("reset mail sent", chromedp.Navigate(ts.URL+"/forgot-password"), chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"),
			chromedp.Click(chromedp.CSS(`form button[type="submit"]`)), heading("Check your email"),
			chromedp.WaitVisible(chromedp.Search(`//main//button[contains(., "Send it again")]`)),
			chromedp.WaitVisible(chromedp.Search(`//main//a[@href="/login"]`)), shot("layout-check-email"+suffix))
		var w pageWidths
		evalInto(t, ctx, pageWidthJS, &w)
		if w.Scroll > w.Inner {
			t.Errorf("check your email at %d px: the page is %d px wide", width, w.Scroll)
		}
	}
	// The answer is the same page: wait for a new document, not the heading
	// the old one has too (navigating away meanwhile aborts the post).
	step("send it again", chromedp.Evaluate[chromedp.Void](`window.beforeResend = true`),
		chromedp.Click(chromedp.Search(`//main//button[contains(., "Send it again")]`)))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.beforeResend === undefined && document.readyState === "complete"`))
		if err == nil && loaded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("sending it again loaded no new page")
		}
	}
	step("sent again", heading("Check your email"))
	step("the landing page and the placeholders", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(ts.URL+"/"),
		heading(views.ProductTagline), shot("layout-home-1280"), chromedp.EmulateViewport(390, 844), shot("layout-home-390"),
		chromedp.Click(chromedp.Search(`//footer//a[contains(., "Privacy")]`)), heading("Privacy policy"), shot("layout-privacy-390"))
}
