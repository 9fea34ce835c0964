package app

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"skiff/views"
)

var (
	titleRE = regexp.MustCompile(`(?s)<title>(.*?)</title>`)
	h1RE    = regexp.MustCompile(`(?s)<h1[^>]*>(.*?)</h1>`)
	tagRE   = regexp.MustCompile(`<[^>]+>`)
)

// readableText is an HTML fragment as a reader sees it: no tags, entities decoded,
// spaces collapsed.
func readableText(fragment string) string {
	return strings.Join(strings.Fields(html.UnescapeString(tagRE.ReplaceAllString(fragment, ""))), " ")
}

// TestTitlesAreHeadings: every page's <title> is its h1 and the product's
// name, so a tab, a bookmark and a search result say what the page says.
func TestTitlesAreHeadings(t *testing.T) {
	fake := newFakeStripe(t)
	ts := newTestServer(t, withStripe(fake), func(c *testSetup) { c.AdminEmails = map[string]bool{"ada@example.com": true} })
	ada := ts.newClient()
	ada.signup("ada@example.com")
	verifyLink := ts.smtp.latest("ada@example.com", "Confirm your email address").link(t, ts.URL)
	pages := map[string]response{"own verification link": ada.get(ts.path(verifyLink))}
	pages["proof page"] = ts.newClient().get(ts.path(verifyLink))
	ada.verifyEmail("ada@example.com")
	wantRedirect(t, ada.post("/projects", url.Values{"name": {"Moonshot"}}), ts.projectsOf("ada@example.com")+"/1")
	ada.post("/settings/email", url.Values{"email": {"ada@new.example"}, "current_password": {testPassword}})
	pages["email change link"] = ada.get(ts.path(ts.smtp.latest("ada@new.example", "Confirm your new email address").link(t, ts.URL)))
	for _, path := range []string{"/", "/pricing", "/dashboard", "/projects", "/projects/1", "/teams", ts.projectsOf("ada@example.com"), "/settings", "/settings/2fa",
		"/billing", "/reports", "/admin", "/privacy", "/terms", "/nope"} {
		pages[path] = ada.get(path)
	}

	anon := ts.newClient()
	for _, path := range []string{"/", "/pricing", "/login", "/signup", "/forgot-password", "/login/magic", "/privacy",
		"/terms", "/nope", "/reset-password?token=nope"} {
		pages["anonymous "+path] = anon.get(path)
	}
	pages["reset mail sent"] = anon.post("/forgot-password", url.Values{"email": {"ada@example.com"}})
	pages["reset link"] = anon.get(ts.path(ts.smtp.latest("ada@example.com", "Reset your password").link(t, ts.URL)))
	pages["magic link sent"] = anon.post("/login/magic", url.Values{"email": {"ada@example.com"}})
	pages["magic link"] = anon.get(ts.path(ts.smtp.latest("ada@example.com", "Your login link").link(t, ts.URL)))
	pages["login failed"] = anon.post("/login", url.Values{"email": {"ada@example.com"}, "password": {"wrong"}})
	pages["signup refused"] = anon.post("/signup", url.Values{"email": {"bob@example.com"}, "password": {"short"}})
	// Someone else's link, confirmed by choosing a new password.
	ts.newClient().signup("bob@example.com")
	bobLink := ts.smtp.latest("bob@example.com", "Confirm your email address").link(t, ts.URL)
	pages["proof, new password"] = ts.newClient().post("/verify-email", url.Values{"token": {tokenOf(t, bobLink)}, "action": {"new-password"}})

	dev := newTestServer(t, withDevMailbox())
	pages["dev mailbox"] = dev.newClient().get("/dev/mail")

	for name, res := range pages {
		title, h1 := titleRE.FindStringSubmatch(res.body), h1RE.FindStringSubmatch(res.body)
		if title == nil || h1 == nil {
			t.Errorf("%s: no title or no h1:\n%.800s", name, res.body)
			continue
		}
		if got, want := readableText(title[1]), readableText(h1[1])+" · "+views.ProductName; got != want {
			t.Errorf("%s: title %q, want %q (the h1, then the product)", name, got, want)
		}
	}
}

// metaContent returns the content of <meta name|property="key">, or "".
func metaContent(body, key string) string {
	m := regexp.MustCompile(`<meta (?:name|property)="` + regexp.QuoteMeta(key) + `" content="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// linkHref returns the href of <link rel="rel">, or "".
func linkHref(body, rel string) string {
	m := regexp.MustCompile(`<link rel="` + regexp.QuoteMeta(rel) + `" href="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// TestHeadTags: every page has a description, link-preview tags, a theme
// colour and a canonical address built from BASE_URL, without the query (a
// mailed link's token must not travel in a preview).
func TestHeadTags(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	for _, path := range []string{"/", "/pricing", "/login", "/privacy", "/reset-password?token=zq9token"} {
		body := c.get(path).body
		u, _ := url.Parse(path)
		canonical := ts.srv.cfg.Origin() + u.Path
		want := map[string]string{
			"og:url":       canonical,
			"og:type":      "website",
			"og:site_name": views.ProductName,
			"twitter:card": "summary",
		}
		for key, value := range want {
			if got := metaContent(body, key); got != value {
				t.Errorf("%s: %s = %q, want %q", path, key, got, value)
			}
		}
		for _, key := range []string{"description", "og:title", "og:description", "og:image", "theme-color"} {
			if metaContent(body, key) == "" {
				t.Errorf("%s: no %s", path, key)
			}
		}
		if got := linkHref(body, "canonical"); got != canonical {
			t.Errorf("%s: canonical %q, want %q", path, got, canonical)
		}
		if img := metaContent(body, "og:image"); !strings.HasPrefix(img, ts.srv.cfg.Origin()+"/static/") {
			t.Errorf("%s: og:image %q is not an absolute address of an asset", path, img)
		}
		if strings.Contains(body, "zq9token") {
			t.Errorf("%s: the token is in the page's head", path)
		}
		// The icons and the manifest the head names are there.
		for _, rel := range []string{"apple-touch-icon", "manifest"} {
			href := linkHref(body, rel)
			if href == "" {
				t.Errorf("%s: no <link rel=%q>", path, rel)
				continue
			}
			wantStatus(t, c.get(href), http.StatusOK)
		}
	}
}

// TestLoggedInPagesSkipLinkPreviews: a crawler or a chat app fetching a
// logged-in page gets the login page, so those pages leave out the preview
// tags, and the dashboard's whole answer fits one 4 KB write.
func TestLoggedInPagesSkipLinkPreviews(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	c.signupVerified("ada@example.com")
	res := c.get("/dashboard")
	for _, key := range []string{"og:url", "og:title", "description", "twitter:card"} {
		if metaContent(res.body, key) != "" {
			t.Errorf("the dashboard has %s", key)
		}
	}
	if linkHref(res.body, "canonical") != "" {
		t.Error("the dashboard has a canonical link")
	}
	if len(res.body) > 3400 {
		t.Errorf("the dashboard is %d bytes: with its headers, more than one 4 KB write", len(res.body))
	}
}

// TestWellKnownFiles: what browsers and crawlers ask for by name is there,
// with the right type, and without a session.
func TestWellKnownFiles(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	tests := []struct{ path, contentType, starts string }{
		{"/robots.txt", "text/plain", "#"},
		{"/favicon.ico", "image/", "\x00\x00\x01\x00"}, // an ICO header
		{"/manifest.webmanifest", "application/manifest+json", "{"},
	}
	for _, tt := range tests {
		res := c.get(tt.path)
		wantStatus(t, res, http.StatusOK)
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.contentType) {
			t.Errorf("%s: Content-Type %q, want %s", tt.path, ct, tt.contentType)
		}
		if !strings.HasPrefix(res.body, tt.starts) {
			t.Errorf("%s: body starts %.20q", tt.path, res.body)
		}
		if res.Header.Get("Set-Cookie") != "" || res.Header.Get("Cache-Control") == "" {
			t.Errorf("%s: Set-Cookie %q, Cache-Control %q", tt.path, res.Header.Get("Set-Cookie"), res.Header.Get("Cache-Control"))
		}
	}
	if robots := c.get("/robots.txt").body; !strings.Contains(robots, "User-agent: *") || !strings.Contains(robots, "Disallow: /settings") {
		t.Errorf("robots.txt:\n%s", robots)
	}

	var m struct {
		Name  string
		Icons []struct{ Src, Sizes, Type string }
	}
	if err := json.Unmarshal([]byte(c.get("/manifest.webmanifest").body), &m); err != nil {
		t.Fatal(err)
	}
	if m.Name != views.ProductName || len(m.Icons) < 2 {
		t.Fatalf("manifest %+v", m)
	}
	for _, icon := range m.Icons {
		res := c.get(icon.Src)
		wantStatus(t, res, http.StatusOK)
		if res.Header.Get("Content-Type") != icon.Type {
			t.Errorf("icon %s: Content-Type %q, manifest says %q", icon.Src, res.Header.Get("Content-Type"), icon.Type)
		}
	}
}

// TestPlaceholderPages: the footer's privacy and terms pages exist and say
// plainly that they are placeholders.
func TestPlaceholderPages(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	home := c.get("/")
	for _, path := range []string{"/privacy", "/terms"} {
		wantBody(t, home, `href="`+path+`"`)
		res := c.get(path)
		wantStatus(t, res, http.StatusOK)
		wantBody(t, res, "This page is a placeholder")
	}
}

// TestLandingPage: the landing page has the sections a founder edits, and
// its pricing teaser shows the plans of billing_plans.go.
func TestLandingPage(t *testing.T) {
	ts := newTestServer(t)
	res := ts.newClient().get("/")
	p := parsePage(t, res)
	if h := all(p.root, "h1"); len(h) != 1 || text(h[0]) != views.ProductTagline {
		t.Fatal("the landing page's heading is not the tagline")
	}
	for _, id := range []string{"features", "pricing", "faq"} {
		if p.byID(id) == nil {
			t.Fatalf("no section %q", id)
		}
	}
	if len(all(p.byID("faq").Parent, "details")) == 0 || len(p.links("/pricing")) == 0 {
		t.Fatal("no questions to open, or no link to the pricing")
	}
	for _, p := range ts.srv.plans {
		wantBody(t, res, "<h3>"+p.Name+"</h3>", html.EscapeString(p.PriceLabel))
	}
}

// TestExpiredLinksOfferTheWayOn: an expired or used link says what to do
// next, for each kind of link, instead of a bare error.
func TestExpiredLinksOfferTheWayOn(t *testing.T) {
	ts := newTestServer(t)
	anon := ts.newClient()
	tests := []struct{ path, want string }{
		{"/reset-password?token=used", `href="/forgot-password"`},
		{"/login/magic/confirm?token=used", `href="/login/magic"`},
		{"/verify-email?token=used", `href="/login"`},
		{"/settings/email/confirm?token=used", `href="/settings"`},
	}
	for _, tt := range tests {
		res := anon.get(tt.path)
		wantStatus(t, res, http.StatusBadRequest)
		wantBody(t, res, "This link has expired", tt.want)
	}
	// Logged in with the address still unconfirmed: send a new link at once.
	ada := ts.newClient()
	ada.signup("ada@example.com")
	res := ada.get("/verify-email?token=used")
	wantStatus(t, res, http.StatusBadRequest)
	wantBody(t, res, `action="/verify-email/resend"`, "Send a new link")
	wantRedirect(t, ada.post("/verify-email/resend", nil), "/dashboard")
	// A POST with a used token gets the same way on.
	res = anon.post("/reset-password", url.Values{"token": {"used"}, "password": {testPassword}})
	wantStatus(t, res, http.StatusBadRequest)
	wantBody(t, res, `href="/forgot-password"`)
}

// TestCheckYourEmailPages: after asking for a reset or login link, the page
// names the spam folder, sends it again, and leads back.
func TestCheckYourEmailPages(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	for _, path := range []string{"/forgot-password", "/login/magic"} {
		res := c.post(path, url.Values{"email": {"ada@example.com"}})
		wantStatus(t, res, http.StatusOK)
		wantBody(t, res, "Check your email", "spam", `action="`+path+`"`, `name="email" value="ada@example.com"`,
			"Send it again", `href="/login"`)
	}
}
