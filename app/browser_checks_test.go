package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"skiff/db"
)

// The checks that keep the pages fit for a visitor: every page, anonymous,
// logged in and as the admin, each error page, at 1280 and 390 px wide, must
// fit the screen (no horizontal scroll), pass axe-core with no violation, and
// show where the keyboard focus is. With SKIFF_SCREENSHOTS=dir each is saved.

// checkedPage is one page the checks visit.
type checkedPage struct {
	name, path string
	as         string // "", "user" or "admin"
}

// axeSource is axe-core (app/testdata/axe, MPL-2.0), read once.
func axeSource(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/axe/axe.min.js")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// axeViolation is what the checks report of one axe-core violation.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// runAxe runs axe-core on the current page and returns its violations.
func runAxe(src string) chromedp.Action[[]axeViolation] {
	return func(ctx context.Context, tg *chromedp.Target) ([]axeViolation, error) {
		if _, err := chromedp.Evaluate[bool](src+";true")(ctx, tg); err != nil {
			return nil, fmt.Errorf("inject axe-core: %w", err)
		}
		raw, err := chromedp.Evaluate[string](`axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(
			r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
				nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ") + " " + (n.failureSummary || "").split("\n").slice(1, 2).join(""))}))))`,
			chromedp.EvalAwaitPromise)(ctx, tg)
		if err != nil {
			return nil, fmt.Errorf("run axe-core: %w", err)
		}
		var v []axeViolation
		return v, json.Unmarshal([]byte(raw), &v)
	}
}

// overflow reports a page wider than the window, naming the widest element.
const overflowJS = `(() => {
	const d = document.documentElement;
	if (d.scrollWidth <= window.innerWidth) return "";
	let widest = null;
	for (const el of document.body.querySelectorAll("*")) {
		const r = el.getBoundingClientRect();
		if (r.right > window.innerWidth + 1 && (!widest || r.right > widest.getBoundingClientRect().right)) widest = el;
	}
	return "page is " + d.scrollWidth + " px wide in a " + window.innerWidth + " px window; widest: " +
		(widest ? widest.outerHTML.slice(0, 120) : "?");
})()`

// focusJS reports an element that has the keyboard focus (after one Tab: the
// first focusable element) but does not show it: off screen; with no outline
// or shadow at least 2 px wide whose colour stands 3:1 against what is behind
// it (WCAG 2.2, 1.4.11 and 2.4.13); with text under 4.5:1; or, positioned over
// the page (a skip link), without an opaque background of its own.
const focusJS = `(() => {
	const el = document.activeElement;
	if (!el || el === document.body) return "Tab focused nothing";
	const show = el.outerHTML.slice(0, 100);
	const rgb = c => { const m = (c || "").match(/rgba?\(([^)]+)\)/); if (!m) return null;
		const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
	const over = (c, bg) => ({r: c.r * c.a + bg.r * (1 - c.a), g: c.g * c.a + bg.g * (1 - c.a), b: c.b * c.a + bg.b * (1 - c.a), a: 1});
	const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
		return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
	const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
	const behind = node => { let c = {r: 255, g: 255, b: 255, a: 1}; const stack = [];
		for (let n = node; n; n = n.parentElement) stack.push(rgb(getComputedStyle(n).backgroundColor));
		const root = rgb(getComputedStyle(document.documentElement).backgroundColor);
		if (root && root.a > 0) c = over(root, c);
		for (const b of stack.reverse()) if (b && b.a > 0) c = over(b, c);
		return c; };
	const s = getComputedStyle(el);
	const r = el.getBoundingClientRect();
	if (r.width < 1 || r.height < 1 || r.bottom < 0 || r.top > window.innerHeight || r.right < 0 || r.left > window.innerWidth)
		return "the focused element is not on screen: " + show;
	if ((s.position === "absolute" || s.position === "fixed") && !((rgb(s.backgroundColor) || {a: 0}).a >= 0.9))
		return "the focused element lies over the page without a background of its own: " + show;
	const bg = behind(el.parentElement || el);
	let ring = 0;
	if (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2 && rgb(s.outlineColor)) ring = ratio(over(rgb(s.outlineColor), bg), bg);
	for (const part of (s.boxShadow || "none").split(/,(?![^(]*\))/)) {
		const c = rgb(part), spread = part.replace(/rgba?\([^)]*\)/, "").trim().split(/\s+/).map(parseFloat)[3] || 0;
		if (c && spread >= 2) ring = Math.max(ring, ratio(over(c, bg), bg));
	}
	if (ring < 3) return "focus indicator " + ring.toFixed(2) + ":1 against its background (2 px at least), want 3:1: " + show;
	const text = ratio(over(rgb(s.color), behind(el)), behind(el));
	if (el.textContent.trim() && text < 4.5) return "focused text " + text.toFixed(2) + ":1, want 4.5:1: " + show;
	return "";
})()`

func TestBrowserEveryPageFitsIsAccessibleAndShowsFocus(t *testing.T) {
	ctx := newBrowserFor(t, 5*time.Minute)
	fake := newFakeStripe(t)
	ts, _ := oauthServer(t, withStripe(fake), func(c *testSetup) { c.AdminEmails = map[string]bool{"boss@example.com": true} })
	src := axeSource(t)

	// The data the pages show: a user with a project and more than a page of
	// others (so the list shows its links between pages), the admin, an
	// address not confirmed yet (its link opens the proof page), a reset link.
	ada := ts.newClient()
	ada.signupVerified("ada@example.com")
	ada.post("/projects", url.Values{"name": {"Moonshot"}})
	seedProjects(t, ts, ts.userID("ada@example.com"), defaultPageSize+5)
	ts.newClient().signupVerified("boss@example.com")
	ts.newClient().signup("bob@example.com")
	proof := ts.path(ts.smtp.latest("bob@example.com", "Confirm your email address").link(t, ts.URL))
	ts.newClient().post("/forgot-password", url.Values{"email": {"ada@example.com"}})
	reset := ts.path(ts.smtp.latest("ada@example.com", "Reset your password").link(t, ts.URL))
	acme := ada.post("/teams", url.Values{"name": {"Acme Rockets"}}).Header.Get("Location")
	ada.post(acme, url.Values{"name": {"Apollo"}})
	members := strings.TrimSuffix(acme, "/projects") + "/members"
	acmeID, _ := strconv.ParseInt(strings.Split(acme, "/")[2], 10, 64)
	acmeTeam, _, _ := ts.db.Membership(context.Background(), ts.userID("ada@example.com"), acmeID)
	ts.db.AddMember(context.Background(), acmeTeam, ts.userID("boss@example.com"), db.RoleAdmin)
	ada.post(strings.TrimSuffix(acme, "/projects")+"/invitations", url.Values{"email": {"grace.hopper.with.a.long.address@example.com"}})
	ts.mailSettled()
	invitation := ts.path(ts.smtp.latest("grace.hopper.with.a.long.address@example.com", "invited you").link(t, ts.URL+"/invitations/accept?token="))

	pages := []checkedPage{
		{"home", "/", ""}, {"signup", "/signup", ""}, {"login", "/login", ""}, {"login-prefilled", "/login?email=ada%40example.com", ""},
		{"magic-link", "/login/magic", ""}, {"forgot-password", "/forgot-password", ""}, {"pricing", "/pricing", ""},
		{"privacy", "/privacy", ""}, {"terms", "/terms", ""}, {"api-docs", "/api", ""},
		{"not-found", "/no-such-page", ""}, {"method-not-allowed", "/logout", ""},
		{"expired-link", "/verify-email?token=" + strings.Repeat("A", 43), ""},
		{"proof", proof, ""}, {"reset-password", reset, ""}, {"invitation", invitation, ""},
		{"dashboard", "/dashboard", "user"}, {"projects", "/projects", "user"}, {"project", "/projects/1", "user"},
		{"settings-profile", "/settings", "user"}, {"settings-security", "/settings/security", "user"},
		{"settings-two-factor", "/settings/2fa", "user"}, {"settings-sessions", "/settings/sessions", "user"},
		{"settings-tokens", "/settings/tokens", "user"}, {"settings-data", "/settings/data", "user"},
		{"billing", "/billing", "user"}, {"reports-upgrade", "/reports", "user"}, {"pricing-logged-in", "/pricing", "user"},
		{"teams", "/teams", "user"}, {"team-projects", acme, "user"}, {"team-members", members, "user"},
		{"team-billing", strings.TrimSuffix(acme, "/projects") + "/billing", "user"},
		{"team-audit-log", strings.TrimSuffix(acme, "/projects") + "/audit", "user"},
		{"dashboard-in-a-team", "/dashboard", "user"}, // after the team's pages: it opens in the last one
		{"admin-teams", "/admin/teams", "admin"},
		{"team-billing-as-admin", strings.TrimSuffix(acme, "/projects") + "/billing", "admin"},
		{"not-found-logged-in", "/projects/999", "user"},
		{"admin", "/admin", "admin"},
	}
	login := func(email string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.Navigate(ts.URL+"/login"),
			chromedp.SendKeys(chromedp.ID("email"), email),
			chromedp.SendKeys(chromedp.ID("password"), testPassword),
			chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)),
			heading("Dashboard"),
		)
	}
	as := ""
	var problems []string
	for _, p := range pages {
		if p.as != as {
			// Another visitor: the browser forgets the cookies, then logs in.
			if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
				t.Fatal(err)
			}
			steps := []chromedp.Action[chromedp.Void]{chromedp.EmulateViewport(1280, 900)}
			switch p.as {
			case "user":
				steps = append(steps, login("ada@example.com"))
			case "admin":
				steps = append(steps, login("boss@example.com"))
			}
			if err := chromedp.Do(ctx, steps...); err != nil {
				t.Fatalf("log in as %q: %v", p.as, err)
			}
			as = p.as
		}
		for _, width := range []int64{1280, 390} {
			name := fmt.Sprintf("%s at %d px", p.name, width)
			err := chromedp.Do(ctx,
				chromedp.EmulateViewport(width, 900),
				chromedp.Navigate(ts.URL+p.path),
				chromedp.WaitVisible(chromedp.CSS(`h1`)),
				shot(fmt.Sprintf("check-%s-%d", p.name, width)),
			)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if msg, err := chromedp.Run(ctx, chromedp.Evaluate[string](overflowJS)); err != nil || msg != "" {
				problems = append(problems, fmt.Sprintf("%s: %s %v", name, msg, err))
			}
			violations, err := chromedp.Run(ctx, runAxe(src))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, v := range violations {
				problems = append(problems, fmt.Sprintf("%s: axe %s (%s): %s %v", name, v.ID, v.Impact, v.Help, v.Nodes))
			}
			// Tab, then end the focus style's transition (Pico animates the
			// ring): the check reads the style the user sees once it settles.
			if err := chromedp.Do(ctx, chromedp.KeyEvent("\t")); err != nil {
				t.Fatal(err)
			}
			if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const el = document.activeElement;
				if (el) { el.style.transition = "none"; getComputedStyle(el).boxShadow; } return true })()`)); err != nil {
				t.Fatal(err)
			}
			if msg, err := chromedp.Run(ctx, chromedp.Evaluate[string](focusJS)); err != nil || msg != "" {
				problems = append(problems, fmt.Sprintf("%s: %s %v", name, msg, err))
			}
		}
	}
	if len(problems) > 0 {
		t.Fatalf("%d problem(s):\n%s", len(problems), strings.Join(problems, "\n"))
	}
}
