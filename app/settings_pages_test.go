package app

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// The settings pages (issue 14): one page per section with a navigation,
// destructive actions behind a confirmation, a new API token at the top,
// recovery codes that survive a reload and can be downloaded and remade, the
// same words for the same things, and the JSON API's documentation.

// settingsSections are the settings pages and their headings.
var settingsSections = []struct{ path, heading string }{
	{"/settings", "Profile and email"},
	{"/settings/security", "Password and security"},
	{"/settings/2fa", "Two-factor authentication"},
	{"/settings/sessions", "Sessions"},
	{"/settings/tokens", "API tokens"},
	{"/settings/data", "Data and deletion"},
}

var (
	titleRe      = regexp.MustCompile(`(?s)<title>(.*?)</title>`)
	h1Re         = regexp.MustCompile(`(?s)<h1>(.*?)</h1>`)
	settingsNav  = regexp.MustCompile(`(?s)<nav class="settings-nav" aria-label="Settings">(.*?)</nav>`)
	currentLink  = regexp.MustCompile(`<a href="([^"]+)" aria-current="page">`)
	confirmBlock = regexp.MustCompile(`(?s)<details class="confirm"[^>]*>\s*<summary role="button" class="secondary outline small">([^<]+)</summary>\s*<p>([^<]+)</p>\s*<form method="post" action="([^"]+)"[^>]*>(.*?)</form>\s*</details>`)
)

// pageHeading returns the page's title (without " · Skiff") and its h1,
// failing unless they are the same words.
func pageHeading(t *testing.T, res response) string {
	t.Helper()
	title, h1 := titleRe.FindStringSubmatch(res.body), h1Re.FindStringSubmatch(res.body)
	if title == nil || h1 == nil {
		t.Fatalf("%s: no title or no h1:\n%.1500s", res.Request.URL.Path, res.body)
	}
	tt := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(html.UnescapeString(title[1])), "· Skiff"))
	hh := strings.TrimSpace(html.UnescapeString(h1[1]))
	if tt != hh {
		t.Fatalf("%s: title %q, heading %q", res.Request.URL.Path, tt, hh)
	}
	return hh
}

// wantSection checks that res is the settings page at path: its heading,
// its title, and the settings navigation marking it, and only it.
func wantSection(t *testing.T, res response, path, heading string) {
	t.Helper()
	if got := pageHeading(t, res); got != heading {
		t.Fatalf("%s %s: heading %q, want %q", res.Request.Method, res.Request.URL.Path, got, heading)
	}
	nav := settingsNav.FindStringSubmatch(res.body)
	if nav == nil {
		t.Fatalf("%s %s: no settings navigation:\n%.1500s", res.Request.Method, res.Request.URL.Path, res.body)
	}
	for _, s := range settingsSections {
		if !strings.Contains(nav[1], `href="`+s.path+`"`) {
			t.Fatalf("%s: the settings navigation has no link to %s", res.Request.URL.Path, s.path)
		}
	}
	if cur := currentLink.FindAllStringSubmatch(nav[1], -1); len(cur) != 1 || cur[0][1] != path {
		t.Fatalf("%s %s: the navigation marks %v, want only %s", res.Request.Method, res.Request.URL.Path, cur, path)
	}
}

// confirmations returns the destructive actions of a page, by the form's
// action: each must sit inside a confirmation that says what will happen.
func confirmations(t *testing.T, res response) map[string][]string {
	t.Helper()
	found := map[string][]string{}
	for _, m := range confirmBlock.FindAllStringSubmatch(res.body, -1) {
		if !strings.Contains(m[4], `class="danger small"`) {
			t.Fatalf("%s: the confirmation of %s has no danger button: %s", res.Request.URL.Path, m[3], m[4])
		}
		found[m[3]] = []string{m[1], m[2]}
	}
	return found
}

func TestSettingsSectionPages(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	c.signupVerified("ada@example.com")
	for _, s := range settingsSections {
		res := c.get(s.path)
		wantStatus(t, res, http.StatusOK)
		wantSection(t, res, s.path, s.heading)
	}
	// Logged out, each sends to the login page and back.
	for _, s := range settingsSections {
		wantRedirect(t, ts.newClient().get(s.path), "/login?next="+url.QueryEscape(s.path))
	}
}

// TestSettingsFormsFailOnTheirPage: a form that fails is shown again, 422,
// on its own section's page, with its message.
func TestSettingsFormsFailOnTheirPage(t *testing.T) {
	ts, _ := oauthServer(t)
	c := ts.newClient()
	c.signupVerified("ada@example.com")
	wrong := "Your current password is not correct."
	for _, tc := range []struct {
		action  string
		form    url.Values
		page    string
		message string
	}{
		{"/settings/profile", url.Values{"display_name": {strings.Repeat("x", 81)}}, "/settings", "at most 80 printable characters"},
		{"/settings/email", url.Values{"email": {"ada@new.example"}, "current_password": {"nope"}}, "/settings", wrong},
		{"/settings/password", url.Values{"current_password": {"nope"}, "password": {"a new long passphrase"}}, "/settings/security", wrong},
		{"/settings/identities/connect", url.Values{"provider": {"github"}, "current_password": {"nope"}}, "/settings/security", wrong},
		{"/settings/2fa/enable", url.Values{"code": {"000000"}, "current_password": {testPassword}}, "/settings/2fa", "That code does not match"},
		{"/settings/tokens", url.Values{"name": {""}, "current_password": {testPassword}}, "/settings/tokens", "Name the token"},
		{"/settings/tokens", url.Values{"name": {"script"}, "current_password": {"nope"}}, "/settings/tokens", wrong},
		{"/settings/delete", url.Values{"delete_password": {"nope"}}, "/settings/data", wrong},
	} {
		t.Run(tc.action, func(t *testing.T) {
			if tc.action == "/settings/2fa/enable" {
				c.get("/settings/2fa") // enrolment starts
			}
			res := c.post(tc.action, tc.form)
			wantStatus(t, res, http.StatusUnprocessableEntity)
			wantBody(t, res, tc.message)
			for _, s := range settingsSections {
				if s.path == tc.page {
					wantSection(t, res, s.path, s.heading)
				}
			}
		})
	}
	// The confirmation of a deletion that failed is shown open, with its error.
	res := c.post("/settings/delete", url.Values{"delete_password": {"nope"}})
	p := parsePage(t, res)
	in := p.input("delete_password")
	details := confirmOf(in)
	if details == nil || !hasAttr(details, "open") || p.byID("delete_password-error") == nil {
		t.Fatal("the refused deletion is not shown open, with its error, inside its confirmation")
	}
}

// TestSettingsDestructiveActionsAskFirst: revoking a token, signing out a
// session or every other one, disconnecting a provider and deleting the
// account are each a form inside a confirmation that says what will happen,
// never a button that acts on one click; and each works from there.
func TestSettingsDestructiveActionsAskFirst(t *testing.T) {
	ts, f := oauthServer(t)
	ada := ts.newClient().as(firefoxLinux)
	ada.signupVerified("ada@example.com")
	phone := ts.newClient().as(safariIPhone)
	wantRedirect(t, phone.login("ada@example.com", testPassword, false), "/dashboard")
	ts.newClient().login("ada@example.com", testPassword, false)
	wantRedirect(t, ada.connect("github", f.code(fakeAccount{ID: "42", Email: "ada@work.example", Verified: true}), testPassword), "/settings/security")
	ada.newToken("script")

	formAction := regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	harmless := map[string]bool{"/logout": true, "/settings/tokens": true, "/settings/identities/connect": true, "/settings/password": true}
	onlyInConfirmations := func(res response, want map[string]string) map[string][]string {
		t.Helper()
		found := confirmations(t, res)
		for action, summary := range want {
			if found[action] == nil || found[action][0] != summary {
				t.Fatalf("%s: no confirmation %q for %s (found %v):\n%.3000s", res.Request.URL.Path, summary, action, found, res.body)
			}
		}
		// Every other form of the page adds or changes, never removes.
		for _, m := range formAction.FindAllStringSubmatch(confirmBlock.ReplaceAllString(res.body, ""), -1) {
			if !harmless[m[1]] {
				t.Fatalf("%s: %s acts on one click", res.Request.URL.Path, m[1])
			}
		}
		return found
	}

	tokens := onlyInConfirmations(ada.get("/settings/tokens"), map[string]string{"/settings/tokens/1/revoke": "Revoke"})
	wantText(t, tokens["/settings/tokens/1/revoke"][1], "will be refused from its next request")
	wantRedirect(t, ada.post("/settings/tokens/1/revoke", nil), "/settings/tokens")
	wantBody(t, ada.get("/settings/tokens"), "Token revoked.", "You have no API tokens.")

	sessions := ada.get("/settings/sessions")
	phoneID := regexp.MustCompile(`/settings/sessions/([A-Za-z0-9_-]+)/revoke`).FindAllStringSubmatch(sessions.body, -1)
	if len(phoneID) != 2 {
		t.Fatalf("sign-out forms: %v", phoneID)
	}
	found := onlyInConfirmations(sessions, map[string]string{
		"/settings/sessions/" + phoneID[0][1] + "/revoke": "Sign out",
		"/settings/sessions/revoke-others":                "Sign out everywhere else",
	})
	wantText(t, found["/settings/sessions/revoke-others"][1], "Every other browser and device will be logged out")
	wantBody(t, sessions, ">Sign out 2 other sessions</button>")

	security := ada.get("/settings/security")
	ids := regexp.MustCompile(`/settings/identities/(\d+)/delete`).FindStringSubmatch(security.body)
	found = onlyInConfirmations(security, map[string]string{"/settings/identities/" + ids[1] + "/delete": "Disconnect"})
	wantText(t, found["/settings/identities/"+ids[1]+"/delete"][1], "no longer be able to log in with this GitHub account")
	wantRedirect(t, ada.post("/settings/identities/"+ids[1]+"/delete", nil), "/settings/security")
	wantBody(t, ada.get("/settings/security"), "Disconnected.")

	data := ada.get("/settings/data")
	found = onlyInConfirmations(data, map[string]string{"/settings/delete": "Delete my account"})
	wantText(t, found["/settings/delete"][1], "We will send a goodbye to ada@example.com")
	if !regexp.MustCompile(`(?s)<details class="confirm">.*name="delete_password".*</details>`).MatchString(data.body) {
		t.Fatal("the password of the deletion is not inside its confirmation")
	}
	if strings.Contains(data.body, `class="contrast"`) {
		t.Fatal("the deletion still has the black button")
	}

	wantRedirect(t, ada.post("/settings/sessions/revoke-others", nil), "/settings/sessions")
	wantBody(t, ada.get("/settings/sessions"), "Signed out 2 other sessions.")
	wantRedirect(t, phone.get("/dashboard"), "/login?next=%2Fdashboard")
	wantRedirect(t, ada.post("/settings/delete", url.Values{"delete_password": {testPassword}}), "/")
}

func wantText(t *testing.T, got, want string) {
	t.Helper()
	if !strings.Contains(html.UnescapeString(got), want) {
		t.Fatalf("%q does not say %q", got, want)
	}
}

// TestSettingsNewTokenAtTheTop: the answer to "Create token" is the API
// tokens page with the new token first, announced and focused, with a copy
// button that JavaScript reveals (without it, the token is text to select).
func TestSettingsNewTokenAtTheTop(t *testing.T) {
	ts := newTestServer(t)
	ada := ts.newClient()
	ada.signupVerified("ada@example.com")
	res := ada.post("/settings/tokens", url.Values{"name": {"Laptop script"}, "current_password": {testPassword}})
	wantStatus(t, res, http.StatusOK)
	wantSection(t, res, "/settings/tokens", "API tokens")
	token := regexp.MustCompile(`skiff_[A-Za-z0-9_-]{43}`).FindString(res.body)
	box := regexp.MustCompile(`(?s)<div class="notice new-secret" id="new-token" role="status" tabindex="-1" autofocus>(.*?)</div>`).FindStringSubmatch(res.body)
	if token == "" || box == nil || !strings.Contains(box[1], `<pre class="token" id="new-token-value">`+token+`</pre>`) {
		t.Fatalf("no announced, focused box with the token:\n%.3000s", res.body)
	}
	wantText(t, box[1], `<button type="button" class="secondary small" data-copy="new-token-value" hidden>Copy token</button>`)
	if at := strings.Index(res.body, token); at > strings.Index(res.body, `<form method="post" action="/settings/tokens"`) || at < strings.Index(res.body, "<h1>") {
		t.Fatal("the new token is not between the heading and the form")
	}
	script := regexp.MustCompile(`<script src="(/static/copy\.[0-9a-f]+\.js)" defer></script>`).FindStringSubmatch(res.body)
	if script == nil {
		t.Fatal("copy.js is not loaded")
	}
	js := ada.get(script[1])
	wantStatus(t, js, http.StatusOK)
	wantBody(t, js, "navigator.clipboard.writeText", "button.hidden = false")
	// A later visit shows only the prefix.
	later := ada.get("/settings/tokens")
	if strings.Contains(later.body, token) || strings.Contains(later.body, `id="new-token"`) || strings.Contains(later.body, "copy.") {
		t.Fatal("the token, or its box, is shown again")
	}
}

// recoveryCodesIn returns the recovery codes a page shows.
func recoveryCodesIn(t *testing.T, body string) []string {
	t.Helper()
	pre := regexp.MustCompile(`(?s)<pre class="token" id="recovery-codes-value">(.*?)</pre>`).FindStringSubmatch(body)
	if pre == nil {
		t.Fatalf("no recovery codes shown:\n%.2000s", body)
	}
	codes := regexp.MustCompile(`\b[a-z2-7]{5}-[a-z2-7]{5}\b`).FindAllString(pre[1], -1)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown, want 10", len(codes))
	}
	return codes
}

// turnOnTwoFactor enrols c at the server's clock and returns the secret; it
// stops at the redirect to the recovery codes.
func turnOnTwoFactor(t *testing.T, ts *testServer, c *client) string {
	t.Helper()
	res := c.get("/settings/2fa")
	secret := regexp.MustCompile(`<code class="token">([A-Z2-7]+)</code>`).FindStringSubmatch(res.body)
	if secret == nil {
		t.Fatalf("no secret shown:\n%.2000s", res.body)
	}
	code, _ := totp.GenerateCode(secret[1], ts.srv.now())
	res = c.post("/settings/2fa/enable", url.Values{"code": {code}, "current_password": {testPassword}})
	wantRedirect(t, res, "/settings/2fa/recovery-codes")
	return secret[1]
}

// TestRecoveryCodesPage: turning two-factor on redirects to a page of the
// codes (Post/Redirect/Get), which a reload shows again unchanged, with a
// copy button and a download that works in the first five minutes, only for
// that browser, and never after.
func TestRecoveryCodesPage(t *testing.T) {
	ts := newTestServer(t)
	clock := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	ts.srv.now = func() time.Time { return clock }
	ada := ts.newClient()
	ada.signupVerified("ada@example.com")
	turnOnTwoFactor(t, ts, ada)
	stored := func() string {
		rows, err := ts.db.Read.Query(`SELECT hash FROM recovery_codes ORDER BY hash`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var hashes []string
		for rows.Next() {
			var h []byte
			rows.Scan(&h)
			hashes = append(hashes, fmt.Sprintf("%x", h))
		}
		return strings.Join(hashes, ",")
	}
	before := stored()
	if strings.Count(before, ",") != 9 {
		t.Fatalf("stored codes %q, want 10", before)
	}

	res := ada.get("/settings/2fa/recovery-codes")
	wantStatus(t, res, http.StatusOK)
	wantSection(t, res, "/settings/2fa", "Save your recovery codes")
	wantBody(t, res, "Two-factor authentication is on.", `data-copy="recovery-codes-value"`, `href="/settings/2fa/recovery-codes.txt" download`)
	codes := recoveryCodesIn(t, res.body)
	// The database holds them sealed, under a key only the browser has.
	snapshot := ts.dbSnapshot()
	for _, c := range codes {
		if strings.Contains(snapshot, c) || strings.Contains(snapshot, strings.ReplaceAll(c, "-", "")) {
			t.Fatalf("the code %s is in the database in clear", c)
		}
	}
	// Another instance on the same database shows this browser the same
	// codes (behind a load balancer the next request may go there).
	other := newTestServer(t, withDB(ts.dbPath))
	other.srv.now = ts.srv.now
	there := other.newClient()
	from, _ := url.Parse(ts.URL)
	to, _ := url.Parse(other.URL)
	there.hc.Jar.SetCookies(to, ada.hc.Jar.Cookies(from))
	if again := recoveryCodesIn(t, there.get("/settings/2fa/recovery-codes").body); strings.Join(again, " ") != strings.Join(codes, " ") {
		t.Fatalf("another instance shows %v, want %v", again, codes)
	}
	// Without the key's cookie, the session alone opens nothing.
	keyless := other.newClient()
	for _, c := range ada.hc.Jar.Cookies(from) {
		if c.Name != "codes" {
			keyless.hc.Jar.SetCookies(to, []*http.Cookie{c})
		}
	}
	wantRedirect(t, keyless.get("/settings/2fa/recovery-codes"), "/settings/2fa")
	clock = clock.Add(4 * time.Minute)
	if again := recoveryCodesIn(t, ada.get("/settings/2fa/recovery-codes").body); strings.Join(again, " ") != strings.Join(codes, " ") {
		t.Fatalf("a reload shows other codes: %v, then %v", codes, again)
	}
	// The form sent again (a browser's "resubmit?") turns nothing on again.
	res = ada.post("/settings/2fa/enable", url.Values{"code": {"123456"}, "current_password": {testPassword}})
	if res.StatusCode == http.StatusOK || stored() != before {
		t.Fatalf("sending the form again: %d, codes changed: %v", res.StatusCode, stored() != before)
	}
	if n := countMail(ts, "ada@example.com"); n != 2 { // the verification and "turned on", once
		t.Fatalf("%d mails: %v", n, ts.smtp.subjects())
	}

	dl := ada.get("/settings/2fa/recovery-codes.txt")
	wantStatus(t, dl, http.StatusOK)
	if ct, cd := dl.Header.Get("Content-Type"), dl.Header.Get("Content-Disposition"); ct != "text/plain; charset=utf-8" ||
		cd != `attachment; filename="skiff-recovery-codes.txt"` || dl.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("download headers: %q %q %q", ct, cd, dl.Header.Get("Cache-Control"))
	}
	wantBody(t, dl, append([]string{"ada@example.com"}, codes...)...)
	// Another session of the same account gets nothing.
	second := ts.newClient()
	wantRedirect(t, second.login("ada@example.com", testPassword, false), "/login/2fa")
	wantRedirect(t, second.post("/login/2fa", url.Values{"code": {codes[0]}}), "/dashboard")
	wantStatus(t, second.get("/settings/2fa/recovery-codes.txt"), http.StatusGone)
	wantRedirect(t, second.get("/settings/2fa/recovery-codes"), "/settings/2fa")

	// After five minutes: never again.
	clock = clock.Add(time.Minute)
	gone := ada.get("/settings/2fa/recovery-codes.txt")
	wantStatus(t, gone, http.StatusGone)
	for _, c := range codes {
		if strings.Contains(gone.body, c) {
			t.Fatal("a code in the answer after five minutes")
		}
	}
	wantRedirect(t, ada.get("/settings/2fa/recovery-codes"), "/settings/2fa")
	wantBody(t, ada.get("/settings/2fa"), "shown only in the five minutes after they are made", "9 unused recovery codes")
	if stored() != before {
		t.Fatal("showing the codes changed them")
	}
}

// TestRecoveryCodesRegenerate: new codes need the password, are announced
// to the address, replace the old ones (which stop working), and are shown
// like the first ones.
func TestRecoveryCodesRegenerate(t *testing.T) {
	ts := newTestServer(t)
	ada := ts.newClient()
	ada.signupVerified("ada@example.com")
	turnOnTwoFactor(t, ts, ada)
	old := recoveryCodesIn(t, ada.get("/settings/2fa/recovery-codes").body)
	wantBody(t, ada.get("/settings/2fa"), "Regenerate recovery codes", `id="regenerate-password"`)

	thief := ada.steal()
	for _, pw := range []string{"", "a guess"} {
		res := thief.post("/settings/2fa/recovery-codes", url.Values{"current_password": {pw}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantSection(t, res, "/settings/2fa", "Two-factor authentication")
		wantBody(t, res, "Your current password is not correct.")
	}
	wantRedirect(t, ada.post("/settings/2fa/recovery-codes", url.Values{"current_password": {testPassword}}), "/settings/2fa/recovery-codes")
	res := ada.get("/settings/2fa/recovery-codes")
	wantBody(t, res, "New recovery codes were made. The old ones no longer work.")
	fresh := recoveryCodesIn(t, res.body)
	if strings.Join(fresh, " ") == strings.Join(old, " ") {
		t.Fatal("the same codes again")
	}
	wantBody(t, ada.get("/settings/2fa/recovery-codes.txt"), fresh...)
	m := ts.smtp.waitFor("ada@example.com", "New recovery codes were made")
	if !strings.Contains(m.Text, "The old ones no longer work") {
		t.Fatalf("notice:\n%s", m.Text)
	}

	c := ts.newClient()
	wantRedirect(t, c.login("ada@example.com", testPassword, false), "/login/2fa")
	wantStatus(t, c.post("/login/2fa", url.Values{"code": {old[0]}}), http.StatusUnauthorized)
	wantRedirect(t, c.post("/login/2fa", url.Values{"code": {fresh[0]}}), "/dashboard")

	// Without two-factor there is nothing to remake.
	bob := ts.newClient()
	bob.signupVerified("bob@example.com")
	wantRedirect(t, bob.post("/settings/2fa/recovery-codes", url.Values{"current_password": {testPassword}}), "/settings/2fa")
	if n := ts.count(`SELECT count(*) FROM recovery_codes WHERE user_id = ?`, ts.userID("bob@example.com")); n != 0 {
		t.Fatalf("%d recovery codes made for an account without two-factor", n)
	}
}

// TestSettingsWording: a count that reads right, one message for a wrong
// second-factor code wherever one is asked, a title equal to the heading.
func TestSettingsWording(t *testing.T) {
	ts := newTestServer(t)
	ada := ts.newClient()
	ada.signupVerified("ada@example.com")
	for i, want := range []string{"Signed out 1 other session.", "Signed out 2 other sessions."} {
		for range i + 1 {
			ts.newClient().login("ada@example.com", testPassword, false)
		}
		wantRedirect(t, ada.post("/settings/sessions/revoke-others", nil), "/settings/sessions")
		res := ada.get("/settings/sessions")
		wantBody(t, res, want)
		if strings.Contains(res.body, "(s)") {
			t.Fatal("a count with (s)")
		}
	}

	turnOnTwoFactor(t, ts, ada)
	c := ts.newClient()
	wantRedirect(t, c.login("ada@example.com", testPassword, false), "/login/2fa")
	atLogin := c.post("/login/2fa", url.Values{"code": {"999999"}})
	wantStatus(t, atLogin, http.StatusUnauthorized)
	inSettings := ada.post("/settings/2fa/disable", url.Values{"code": {"999999"}, "current_password": {testPassword}})
	wantStatus(t, inSettings, http.StatusUnprocessableEntity)
	msg := regexp.MustCompile(`<small id="code-error" class="field-error">([^<]+)</small>`)
	a, b := msg.FindStringSubmatch(atLogin.body), msg.FindStringSubmatch(inSettings.body)
	if a == nil || b == nil || a[1] != b[1] {
		t.Fatalf("a wrong code at login says %q, in settings %q", a, b)
	}

	for _, p := range []string{"/settings", "/settings/security", "/settings/2fa", "/settings/2fa/recovery-codes", "/settings/sessions", "/settings/tokens", "/settings/data", "/api"} {
		pageHeading(t, ada.get(p))
	}
}

// TestAPIDocsPage: the "JSON API" link of the settings leads to a page a
// person can read, for anyone, that agrees with what the API does.
func TestAPIDocsPage(t *testing.T) {
	ts := newTestServer(t)
	ada := ts.newClient()
	ada.signupVerified("ada@example.com")
	wantLink(t, ada.get("/settings/tokens"), "/api", "JSON API", "")
	for _, c := range []*client{ada, ts.newClient()} {
		res := c.get("/api")
		wantStatus(t, res, http.StatusOK)
		if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Fatalf("/api is %s", ct)
		}
		if pageHeading(t, res) != "JSON API" {
			t.Fatal("heading")
		}
		wantBody(t, res, "Authorization: Bearer skiff_", `href="/settings/tokens"`,
			"GET /api/v1/me", "GET /api/v1/projects", "POST /api/v1/projects", "PATCH /api/v1/projects/{id}", "DELETE /api/v1/projects/{id}", `rel="next"`,
			"600 requests a minute", "50 tokens", "64 KiB", "CORS_ORIGINS", "Retry-After",
			"curl -s "+ts.URL+"/api/v1/me")
		for _, code := range []string{"unauthorized", "invalid_token", "account_disabled", "plan_limit", "not_found",
			"method_not_allowed", "bad_json", "bad_cursor", "bad_limit", "too_large", "invalid", "rate_limited", "internal"} {
			wantBody(t, res, "<code>"+code+"</code>")
		}
	}
	// The API itself still answers JSON.
	if res, v := ts.api("GET", "/api/v1/me", "", ""); res.StatusCode != http.StatusUnauthorized || apiCode(v) != "unauthorized" {
		t.Fatalf("/api/v1/me without a token: %d %v", res.StatusCode, v)
	}
	if res, v := ts.api("GET", "/api/", "", ""); res.StatusCode != http.StatusNotFound || apiCode(v) != "not_found" {
		t.Fatalf("/api/: %d %v", res.StatusCode, v)
	}
	wantStatus(t, ada.post("/api", nil), http.StatusMethodNotAllowed)
}
