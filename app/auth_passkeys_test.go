package app

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"skiff/views"
)

// virtualAuthenticator gives the browser a platform authenticator that
// holds discoverable credentials and verifies its user (a fingerprint
// reader that always says yes), through DevTools' WebAuthn domain.
func virtualAuthenticator(t *testing.T, ctx context.Context) cdpwebauthn.AuthenticatorID {
	t.Helper()
	var id cdpwebauthn.AuthenticatorID
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, s *chromedp.Target) error {
		if _, err := cdp.Call(ctx, s, cdpwebauthn.Enable, cdpwebauthn.EnableParams{}); err != nil {
			return err
		}
		res, err := cdp.Call(ctx, s, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{
			Options: &cdpwebauthn.VirtualAuthenticatorOptions{
				Protocol: cdpwebauthn.AuthenticatorProtocolCtap2, Ctap2version: cdpwebauthn.Ctap2versionCtap21,
				Transport: cdpwebauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
				IsUserVerified: true, AutomaticPresenceSimulation: true,
			}})
		id = res.AuthenticatorID
		return err
	}))
	if err != nil {
		t.Fatal("virtual authenticator:", err)
	}
	return id
}

// credentialsOf lists the passkeys the virtual authenticator holds.
func credentialsOf(t *testing.T, ctx context.Context, id cdpwebauthn.AuthenticatorID) []*cdpwebauthn.Credential {
	t.Helper()
	var out []*cdpwebauthn.Credential
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, s *chromedp.Target) error {
		res, err := cdp.Call(ctx, s, cdpwebauthn.GetCredentials, cdpwebauthn.GetCredentialsParams{AuthenticatorID: id})
		out = res.Credentials
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBrowserPasskeys: in Chromium with a virtual authenticator, a user adds
// a passkey in settings (with their password, told by mail), logs out, logs
// in with the passkey button and no address typed, renames and removes it;
// the passkey is refused once removed.
func TestBrowserPasskeys(t *testing.T) {
	ctx := newBrowser(t)
	ts := newTestServer(t, withLocalhost())
	base := ts.URL // http://localhost:port
	step := stepper(t, ctx)
	auth := virtualAuthenticator(t, ctx)
	// The passkey controls show only on a domain (not in the every-page
	// check's server): the same layout and axe checks here, at both widths.
	src := axeSource(t)
	checkHere := func(name string) {
		t.Helper()
		for _, width := range []int64{1280, 390} {
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900)); err != nil {
				t.Fatal(err)
			}
			if msg, err := chromedp.Run(ctx, chromedp.Evaluate[string](overflowJS)); err != nil || msg != "" {
				t.Errorf("%s at %d px: %s %v", name, width, msg, err)
			}
			violations, err := chromedp.Run(ctx, runAxe(src))
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range violations {
				t.Errorf("%s at %d px: axe %s (%s): %s %v", name, width, v.ID, v.Impact, v.Help, v.Nodes)
			}
		}
		chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900))
	}

	step("signup", chromedp.Navigate(base+"/signup"),
		chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)), heading("Dashboard"))
	link := ts.smtp.latest("ada@example.com", "Confirm your email address").link(t, ts.URL)
	step("confirm the address", chromedp.Navigate(link), heading("Confirm your email address"),
		chromedp.Click(chromedp.CSS(`form[action="/verify-email"] button`)), heading("Dashboard"))

	step("add a passkey", chromedp.Navigate(base+"/settings/security"), heading("Password and security"),
		chromedp.WaitVisible(chromedp.ID("passkey-add")), bothWidths("60-passkeys-empty"),
		chromedp.SendKeys(chromedp.ID("passkey-name"), "Test laptop"),
		chromedp.SendKeys(chromedp.ID("passkey-password"), testPassword),
		chromedp.Click(chromedp.CSS(`#passkey-add button[type="submit"]`)))
	step("the passkey is added",
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., 'Passkey "Test laptop" added.')]`)),
		chromedp.WaitVisible(chromedp.Search(`//li[contains(., "Test laptop") and contains(., "never used")]`)),
		bothWidths("61-passkey-added"))
	checkHere("the passkeys settings")
	if n := len(credentialsOf(t, ctx, auth)); n != 1 {
		t.Fatalf("the authenticator holds %d passkeys, want 1", n)
	}
	ts.mailSettled()
	ts.smtp.latest("ada@example.com", "A passkey was added")

	logOut := chromedp.Steps(chromedp.Evaluate[chromedp.Void](`document.querySelector('form[action="/logout"]').submit()`),
		heading(views.ProductTagline))
	step("log out", logOut)
	// The login page asks for passkeys in the email field's autofill
	// (conditional mediation) as it loads: the virtual authenticator, which
	// approves every request, picks the passkey at once.
	step("log in through the autofill, no address typed", chromedp.Navigate(base+"/login"), heading("Dashboard"))
	step("log out", logOut)
	// Without autofill (a browser that has none), the button.
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, s *chromedp.Target) error {
		_, err := cdp.Call(ctx, s, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
			Source: "delete PublicKeyCredential.isConditionalMediationAvailable"})
		return err
	})); err != nil {
		t.Fatal(err)
	}
	step("log in with the passkey button", chromedp.Navigate(base+"/login"), heading("Log in"),
		chromedp.WaitVisible(chromedp.ID("passkey-login-button")), bothWidths("62-login-passkey"))
	checkHere("the login page with passkeys")
	step("click the passkey button",
		chromedp.Click(chromedp.ID("passkey-login-button")), heading("Dashboard"))
	if n := ts.count(`SELECT count(*) FROM user_sessions WHERE user_id = ?`, ts.userID("ada@example.com")); n != 3 {
		t.Fatalf("%d sessions after two passkey logins, want 3 (the signup's and theirs)", n)
	}
	if n := ts.count(`SELECT count(*) FROM passkeys WHERE last_used_at IS NOT NULL`); n != 1 {
		t.Fatal("the passkey's use was not recorded")
	}

	// With two-factor on, the passkey stands in for the code after the password.
	step("log out for the second factor", logOut)
	if _, err := ts.db.Write.Exec(`UPDATE users SET totp_secret = 'JBSWY3DPEHPK3PXP' WHERE email = 'ada@example.com'`); err != nil {
		t.Fatal(err)
	}
	step("password, then a passkey instead of the code", chromedp.Navigate(base+"/login"), heading("Log in"),
		chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)),
		heading("Two-factor authentication"), chromedp.WaitVisible(chromedp.ID("passkey-mfa-button")), bothWidths("63-second-factor-passkey"))
	checkHere("the second factor with a passkey")
	step("use the passkey as the second factor",
		chromedp.Click(chromedp.ID("passkey-mfa-button")), heading("Dashboard"))
	// With two-factor still on, a passkey login itself (the user verified
	// on the device) needs no second step.
	step("a passkey login skips the second step", logOut, chromedp.Navigate(base+"/login"),
		chromedp.Click(chromedp.ID("passkey-login-button")), heading("Dashboard"))
	export, err := ts.db.ExportUser(context.Background(), ts.userID("ada@example.com"))
	if err != nil || len(export.Passkeys) != 1 || export.Passkeys[0].Name != "Test laptop" || export.Passkeys[0].LastUsedAt == "" {
		t.Fatalf("the export's passkeys: %+v, %v", export.Passkeys, err)
	}

	step("rename and remove it", chromedp.Navigate(base+"/settings/security#passkeys"), heading("Password and security"),
		chromedp.Click(chromedp.Search(`//li[contains(., "Test laptop")]//summary[contains(., "Rename")]`)),
		chromedp.SetValue(chromedp.CSS(`#passkeys input[name="name"]`), "Work laptop"),
		chromedp.Click(chromedp.Search(`//li[contains(., "Test laptop")]//button[contains(., "Save")]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., 'Passkey renamed to "Work laptop".')]`)),
		chromedp.Click(chromedp.Search(`//li[contains(., "Work laptop")]//summary[contains(., "Remove")]`)),
		chromedp.Click(chromedp.Search(`//li[contains(., "Work laptop")]//button[contains(., "Remove passkey")]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., 'Passkey "Work laptop" removed.')]`)))

	step("log out again", logOut)
	step("the removed passkey is refused", chromedp.Navigate(base+"/login"), heading("Log in"),
		chromedp.Click(chromedp.ID("passkey-login-button")),
		chromedp.WaitVisible(chromedp.Search(`//p[@id="passkey-login-error" and contains(., "could not be checked")]`)))
}

// TestPasskeyCeremoniesRefuseBadInput: the JSON ceremony routes answer bad
// input with a 4xx in JSON, never a 5xx: no challenge, malformed JSON, the
// wrong types, an oversized body, a forged credential.
func TestPasskeyCeremoniesRefuseBadInput(t *testing.T) {
	ts := newTestServer(t, withLocalhost())
	c := ts.newClient()
	c.signupVerified("ada@example.com")
	post := func(c *client, path, body string) response {
		t.Helper()
		req, _ := http.NewRequest("POST", ts.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return c.do(req)
	}
	for _, path := range []string{"/login/passkey", "/settings/passkeys"} {
		for _, body := range []string{"", "{", "[]", `{"credential": 5}`, `{"credential": {"id": 1}}`, `{"name": ["x"]}`,
			`{"credential": {"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": {"clientDataJSON": "e30"}}}`,
			`{"credential": "` + strings.Repeat("A", 2<<20) + `"}`} {
			// A challenge first, where one is needed, so the body itself is what is refused.
			if path == "/login/passkey" {
				wantStatus(t, post(c, "/login/passkey/options", "{}"), http.StatusOK)
			} else {
				wantStatus(t, c.post("/settings/passkeys/options", url.Values{"current_password": {testPassword}}), http.StatusOK)
			}
			res := post(c, path, body)
			if res.StatusCode < 400 || res.StatusCode >= 500 || !strings.Contains(res.body, `"error"`) {
				t.Errorf("POST %s %.60q: %d %.200s, want a 4xx in JSON", path, body, res.StatusCode, res.body)
			}
		}
		// No challenge at all (never asked for, or spent): 400.
		res := post(c, path, `{"credential": {}}`)
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("POST %s without a challenge: %d", path, res.StatusCode)
		}
	}
	// The second factor's ceremony without a login waiting for it: 400.
	for _, path := range []string{"/login/2fa/passkey/options", "/login/2fa/passkey"} {
		res := post(ts.newClient(), path, `{"credential": {}}`)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(res.body, "log_in_again") {
			t.Errorf("POST %s with no login pending: %d %s", path, res.StatusCode, res.body)
		}
	}
	// Passkey signup is off unless PASSKEY_SIGNUP is on.
	for _, path := range []string{"/signup/passkey/options", "/signup/passkey"} {
		if res := post(ts.newClient(), path, "{}"); res.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s with passkey signup off: %d", path, res.StatusCode)
		}
	}
	on := newTestServer(t, withLocalhost(), func(c *testSetup) { c.PasskeySignup = true })
	visitor := on.newClient()
	for _, email := range []string{"", "not an address", "ada@"} {
		res := visitor.post("/signup/passkey/options", url.Values{"email": {email}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.body, `"error"`) {
			t.Errorf("passkey signup for %q: %d %s", email, res.StatusCode, res.body)
		}
	}
	for _, body := range []string{"{", `{"credential": 5}`, `{"credential": {"id": "AAAA", "type": "public-key", "response": {}}}`} {
		wantStatus(t, visitor.post("/signup/passkey/options", url.Values{"email": {"new@example.com"}}), http.StatusOK)
		req, _ := http.NewRequest("POST", on.URL+"/signup/passkey", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if res := visitor.do(req); res.StatusCode < 400 || res.StatusCode >= 500 {
			t.Errorf("passkey signup finished with %.40q: %d %s", body, res.StatusCode, res.body)
		}
	}
	if n := on.count(`SELECT count(*) FROM users`); n != 0 {
		t.Fatalf("%d accounts made by refused passkey signups", n)
	}
	// Adding a passkey needs the password; anonymous visitors are sent to log in.
	res := c.post("/settings/passkeys/options", url.Values{"current_password": {"wrong"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.body, "not correct") {
		t.Errorf("options with a wrong password: %d %s", res.StatusCode, res.body)
	}
	wantStatus(t, ts.newClient().post("/settings/passkeys/options", nil), http.StatusSeeOther)
	if strings.Contains(ts.logs.String(), "level=ERROR") {
		t.Fatalf("errors logged:\n%s", ts.logs.String())
	}
}

// TestPasskeysOffOnAnIPAddress: WebAuthn needs a domain; with BASE_URL on an
// IP address the passkey controls are not shown and the routes answer 404.
func TestPasskeysOffOnAnIPAddress(t *testing.T) {
	ts := newTestServer(t)
	if strings.Contains(ts.newClient().get("/login").body, "passkey-login") {
		t.Fatal("the login page offers passkeys on an IP address")
	}
	if !strings.Contains(ts.logs.String(), "passkeys are off") {
		t.Error("no warning that passkeys are off")
	}
	req, _ := http.NewRequest("POST", ts.URL+"/login/passkey/options", strings.NewReader("{}"))
	if res := ts.newClient().do(req); res.StatusCode != http.StatusNotFound {
		t.Fatalf("passkey options on an IP address: %d", res.StatusCode)
	}
}

// passkeyJS are the conversions an attacker's page needs to speak WebAuthn
// JSON, for the attacks below (the site's passkey.js keeps its own private).
const passkeyJS = `
const b64 = buf => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const bin = s => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - s.length % 4) % 4)), c => c.charCodeAt(0));
const assertion = c => JSON.stringify({credential: {id: c.id, rawId: b64(c.rawId), type: c.type, clientExtensionResults: {},
  response: {clientDataJSON: b64(c.response.clientDataJSON), authenticatorData: b64(c.response.authenticatorData),
    signature: b64(c.response.signature), userHandle: c.response.userHandle ? b64(c.response.userHandle) : undefined}}});
const sign = (o, allow) => {
  const pk = o.publicKey;
  pk.challenge = bin(pk.challenge);
  pk.allowCredentials = (allow ? [{type: "public-key", id: allow}] : pk.allowCredentials || []).map(c => ({type: c.type, id: bin(c.id)}));
  return navigator.credentials.get({publicKey: pk}).then(assertion);
};
const postJSON = (url, body) => fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}, body: body});
`

// TestBrowserPasskeyAttacks: a login's signed answer replayed, another
// account's passkey offered as a second factor, an answer signed on another
// origin, and a disabled account's passkey are each refused, in Chromium with a virtual
// authenticator holding real passkeys.
func TestBrowserPasskeyAttacks(t *testing.T) {
	ctx := newBrowser(t)
	ts := newTestServer(t, withLocalhost())
	step := stepper(t, ctx)
	virtualAuthenticator(t, ctx)
	// Every page: the login answers sent are kept (to replay one), and no
	// autofill (the button, and these scripts, ask instead).
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, s *chromedp.Target) error {
		_, err := cdp.Call(ctx, s, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: `
			delete PublicKeyCredential.isConditionalMediationAvailable;
			const realFetch = window.fetch;
			window.fetch = function (url, init) {
				if (String(url).endsWith("/login/passkey") && init && init.body) sessionStorage.setItem("lastLogin", init.body);
				return realFetch.apply(this, arguments);
			};`})
		return err
	})); err != nil {
		t.Fatal(err)
	}
	logOut := chromedp.Steps(chromedp.Evaluate[chromedp.Void](`document.querySelector('form[action="/logout"]').submit()`), heading(views.ProductTagline))
	for _, who := range []string{"bob", "ada"} {
		email := who + "@example.com"
		step(who+" signs up", chromedp.Navigate(ts.URL+"/signup"),
			chromedp.SendKeys(chromedp.ID("email"), email), chromedp.SendKeys(chromedp.ID("password"), testPassword),
			chromedp.Click(chromedp.CSS(`form button[type="submit"]`)), heading("Dashboard"))
		step(who+" confirms the address", chromedp.Navigate(ts.smtp.latest(email, "Confirm your email address").link(t, ts.URL)),
			chromedp.Click(chromedp.CSS(`form[action="/verify-email"] button`)), heading("Dashboard"))
		step(who+" adds a passkey", chromedp.Navigate(ts.URL+"/settings/security"),
			chromedp.SendKeys(chromedp.ID("passkey-name"), who), chromedp.SendKeys(chromedp.ID("passkey-password"), testPassword),
			chromedp.Click(chromedp.CSS(`#passkey-add button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.Search(`//p[contains(., 'Passkey "`+who+`" added.')]`)), logOut)
	}
	sessions := func() int { return ts.count(`SELECT count(*) FROM user_sessions`) }

	// 1. Replay: a login's signed answer, sent again with a new challenge
	// in the session, logs nobody in.
	step("a passkey login", chromedp.Navigate(ts.URL+"/login"), chromedp.Click(chromedp.ID("passkey-login-button")), heading("Dashboard"), logOut)
	before := sessions()
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](passkeyJS+`
		postJSON("/login/passkey/options", "{}").then(() => postJSON("/login/passkey", sessionStorage.getItem("lastLogin"))).then(r => r.status)`,
		chromedp.EvalAwaitPromise))
	if err != nil || status != http.StatusBadRequest || sessions() != before {
		t.Fatalf("a replayed login answer: %d (%v), %d sessions, want 400 and %d", status, err, sessions(), before)
	}

	// 2. Ada's password typed, Bob's passkey offered as her second factor.
	if _, err := ts.db.Write.Exec(`UPDATE users SET totp_secret = 'JBSWY3DPEHPK3PXP' WHERE email = 'ada@example.com'`); err != nil {
		t.Fatal(err)
	}
	var bobsKey []byte
	ts.db.Read.QueryRow(`SELECT credential_id FROM passkeys p JOIN users u ON u.id = p.user_id WHERE u.email = 'bob@example.com'`).Scan(&bobsKey)
	step("ada's password", chromedp.Navigate(ts.URL+"/login"),
		chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"), chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)), heading("Two-factor authentication"))
	status, err = chromedp.Run(ctx, chromedp.Evaluate[int](passkeyJS+`
		postJSON("/login/2fa/passkey/options", "{}").then(r => r.json()).then(o => sign(o, "`+base64.RawURLEncoding.EncodeToString(bobsKey)+`"))
			.then(body => postJSON("/login/2fa/passkey", body)).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil || status != http.StatusBadRequest || sessions() != before {
		t.Fatalf("bob's passkey as ada's second factor: %d (%v), %d sessions, want 400 and %d", status, err, sessions(), before)
	}

	// 3. An answer signed on another origin (another port of localhost,
	// which the RP id allows the browser to sign for), sent with the
	// challenge of this site's session.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`<!doctype html><title>Another site</title><h1>Another site</h1>`))
	}))
	defer other.Close()
	c := ts.newClient()
	req, _ := http.NewRequest("POST", ts.URL+"/login/passkey/options", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	options := c.do(req).body
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	step("another site", chromedp.Navigate(otherURL), heading("Another site"))
	body, err := chromedp.Run(ctx, chromedp.Evaluate[string](passkeyJS+`sign(`+options+`)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal("signing on another origin:", err)
	}
	req, _ = http.NewRequest("POST", ts.URL+"/login/passkey", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if res := c.do(req); res.StatusCode != http.StatusBadRequest || sessions() != before {
		t.Fatalf("an answer signed on %s: %d %s, want 400", otherURL, res.StatusCode, res.body)
	}
	// 4. A disabled account's passkey: refused like its password.
	if _, err := ts.db.Write.Exec(`UPDATE users SET disabled_at = ? WHERE email = 'bob@example.com'`, time.Now()); err != nil {
		t.Fatal(err)
	}
	step("back on the site", chromedp.Navigate(ts.URL+"/login"), heading("Log in"))
	status, err = chromedp.Run(ctx, chromedp.Evaluate[int](passkeyJS+`
		postJSON("/login/passkey/options", "{}").then(r => r.json()).then(o => sign(o, "`+base64.RawURLEncoding.EncodeToString(bobsKey)+`"))
			.then(body => postJSON("/login/passkey", body)).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil || status != http.StatusForbidden || sessions() != before {
		t.Fatalf("a disabled account's passkey: %d (%v), %d sessions, want 403 and %d", status, err, sessions(), before)
	}

	for _, l := range strings.Split(ts.logs.String(), "\n") {
		if strings.Contains(l, "passkey refused") && testing.Verbose() {
			t.Log(l)
		}
	}
	if n := strings.Count(ts.logs.String(), "passkey refused"); n != 3 {
		t.Errorf("%d refusals logged, want 3", n)
	}
}

// TestBrowserPasskeySignup (PASSKEY_SIGNUP=true): an account made with a
// passkey and no password, unproven until its link is followed; following
// it in the account's own browser keeps the passkey, the passkey logs in,
// removing it (the last way in) is refused, and a copy of it whose counter
// is behind is refused. An account pre-registered with someone else's address and a passkey
// loses that passkey when the address's owner proves it by magic link.
func TestBrowserPasskeySignup(t *testing.T) {
	ctx := newBrowser(t)
	ts := newTestServer(t, withLocalhost(), func(c *testSetup) { c.PasskeySignup = true })
	step := stepper(t, ctx)
	auth := virtualAuthenticator(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, s *chromedp.Target) error {
		_, err := cdp.Call(ctx, s, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
			Source: "delete PublicKeyCredential.isConditionalMediationAvailable"})
		return err
	})); err != nil {
		t.Fatal(err)
	}
	logOut := chromedp.Steps(chromedp.Evaluate[chromedp.Void](`document.querySelector('form[action="/logout"]').submit()`), heading(views.ProductTagline))
	signUp := func(email string) {
		t.Helper()
		step("sign up with a passkey as "+email, chromedp.Navigate(ts.URL+"/signup"), heading("Create your account"),
			chromedp.WaitVisible(chromedp.ID("passkey-signup")), bothWidths("64-signup-passkey"),
			chromedp.SendKeys(chromedp.ID("passkey-signup-email"), email),
			chromedp.Click(chromedp.CSS(`#passkey-signup button[type="submit"]`)), heading("Dashboard"),
			chromedp.WaitVisible(chromedp.Search(`//p[contains(., "Please confirm your email address")]`)))
	}
	signUp("ada@example.com")
	ada := ts.userID("ada@example.com")
	if n := ts.count(`SELECT count(*) FROM users WHERE id = ? AND password_hash IS NULL AND email_verified_at IS NULL`, ada); n != 1 {
		t.Fatal("a passkey signup made an account with a password, or proven")
	}
	if n := ts.count(`SELECT count(*) FROM passkeys WHERE user_id = ?`, ada); n != 1 {
		t.Fatalf("%d passkeys after a passkey signup", n)
	}
	step("confirm the address in the same browser", chromedp.Navigate(ts.smtp.latest("ada@example.com", "Confirm your email address").link(t, ts.URL)),
		chromedp.Click(chromedp.CSS(`form[action="/verify-email"] button`)), heading("Dashboard"))
	if n := ts.count(`SELECT count(*) FROM passkeys WHERE user_id = ?`, ada); n != 1 {
		t.Fatal("confirming the address in the account's own browser removed the passkey it was made with")
	}
	step("log out, then in with the passkey", logOut, chromedp.Navigate(ts.URL+"/login"),
		chromedp.Click(chromedp.ID("passkey-login-button")), heading("Dashboard"))
	// Her only way in (no password, no provider account): not removed.
	step("removing the last way in is refused", chromedp.Navigate(ts.URL+"/settings/security#passkeys"),
		chromedp.Click(chromedp.Search(`//li[contains(., "Passkey")]//summary[contains(., "Remove")]`)),
		chromedp.Click(chromedp.Search(`//button[contains(., "Remove passkey")]`)),
		heading("Your last way to log in"), logOut)
	if n := ts.count(`SELECT count(*) FROM passkeys WHERE user_id = ?`, ada); n != 1 {
		t.Fatal("the last way in was removed")
	}

	// A copy of her key whose counter is behind (a cloned authenticator):
	// refused, and logged for the founder.
	var stored float64
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, s *chromedp.Target) error {
		res, err := cdp.Call(ctx, s, cdpwebauthn.GetCredentials, cdpwebauthn.GetCredentialsParams{AuthenticatorID: auth})
		if err != nil || len(res.Credentials) != 1 {
			return fmt.Errorf("credentials: %v, %v", res.Credentials, err)
		}
		c := *res.Credentials[0]
		stored = c.SignCount
		if _, err := cdp.Call(ctx, s, cdpwebauthn.RemoveCredential, cdpwebauthn.RemoveCredentialParams{AuthenticatorID: auth, CredentialID: c.CredentialID}); err != nil {
			return err
		}
		// The same key, its counter back at 0. (cdproto's Credential always
		// sends generateCmtgKeyOnNextOperation, which this authenticator
		// refuses: the command is sent with only the fields it takes.)
		type credential struct {
			CredentialID         []byte `json:"credentialId"`
			IsResidentCredential bool   `json:"isResidentCredential"`
			RpID                 string `json:"rpId"`
			PrivateKey           []byte `json:"privateKey"`
			UserHandle           []byte `json:"userHandle"`
			SignCount            int    `json:"signCount"`
		}
		addCredential := cdp.Command[struct {
			AuthenticatorID cdpwebauthn.AuthenticatorID `json:"authenticatorId"`
			Credential      credential                  `json:"credential"`
		}, cdp.Empty]{Method: cdpwebauthn.CommandAddCredential}
		_, err = cdp.Call(ctx, s, addCredential, struct {
			AuthenticatorID cdpwebauthn.AuthenticatorID `json:"authenticatorId"`
			Credential      credential                  `json:"credential"`
		}{auth, credential{c.CredentialID, true, "localhost", c.PrivateKey, c.UserHandle, 0}})
		return err
	})); err != nil {
		t.Fatal(err)
	}
	if stored < 1 {
		t.Fatalf("the authenticator's counter is %v after two logins", stored)
	}
	step("the cloned key is refused", chromedp.Navigate(ts.URL+"/login"), chromedp.Click(chromedp.ID("passkey-login-button")),
		chromedp.WaitVisible(chromedp.Search(`//p[@id="passkey-login-error" and contains(., "looks copied")]`)))
	if !strings.Contains(ts.logs.String(), "may have been cloned") {
		t.Error("the cloned key was not logged")
	}

	// A taken address is said before any passkey is made.
	step("a taken address", chromedp.Navigate(ts.URL+"/signup"), chromedp.SendKeys(chromedp.ID("passkey-signup-email"), "ada@example.com"),
		chromedp.Click(chromedp.CSS(`#passkey-signup button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[@id="passkey-signup-error" and contains(., "already")]`)))

	// Pre-hijack: someone signs up with Bob's address and their passkey;
	// Bob proves his address by magic link, and their passkey is gone.
	signUp("bob@example.com")
	step("the squatter leaves", logOut)
	owner := ts.newClient()
	owner.post("/login/magic", url.Values{"email": {"bob@example.com"}})
	link := ts.smtp.latest("bob@example.com", "Your login link").link(t, ts.URL)
	wantRedirect(t, owner.post("/login/magic/confirm", url.Values{"token": {tokenOf(t, link)}}), "/dashboard")
	if n := ts.count(`SELECT count(*) FROM passkeys WHERE user_id = ?`, ts.userID("bob@example.com")); n != 0 {
		t.Fatal("the squatter's passkey survived the owner's proof of the address")
	}
}
