package app

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// Issue 14, "Pages a visitor trusts": what a page says before the visitor
// acts, through real HTTP. browser_pages_test.go shows the same in Chromium.

// page is a parsed HTML response.
type page struct{ root *html.Node }

func parsePage(t testing.TB, res response) page {
	t.Helper()
	root, err := html.Parse(strings.NewReader(res.body))
	if err != nil {
		t.Fatal(err)
	}
	return page{root}
}

// all returns the elements named tag under n, in document order.
func all(n *html.Node, tag string) []*html.Node {
	var out []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && d.Data == tag {
			out = append(out, d)
		}
	}
	return out
}

func attr(n *html.Node, name string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, name string) bool {
	if n == nil {
		return false
	}
	for _, a := range n.Attr {
		if a.Key == name {
			return true
		}
	}
	return false
}

func text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// form returns the form posting to action, or nil.
func (p page) form(action string) *html.Node {
	for _, f := range all(p.root, "form") {
		if attr(f, "action") == action {
			return f
		}
	}
	return nil
}

// input returns the input with that id, or nil.
func (p page) input(id string) *html.Node {
	for _, in := range all(p.root, "input") {
		if attr(in, "id") == id {
			return in
		}
	}
	return nil
}

// byID returns the element with that id, or nil.
func (p page) byID(id string) *html.Node {
	for d := range p.root.Descendants() {
		if d.Type == html.ElementNode && attr(d, "id") == id {
			return d
		}
	}
	return nil
}

// links returns the links to href, in document order.
func (p page) links(href string) []*html.Node {
	var out []*html.Node
	for _, a := range all(p.root, "a") {
		if attr(a, "href") == href {
			out = append(out, a)
		}
	}
	return out
}

// wantLink fails unless the page has a link to href reading text, and, when
// role is not empty, with that role ("button": it looks like one).
func wantLink(t testing.TB, res response, href, label, role string) {
	t.Helper()
	for _, a := range parsePage(t, res).links(href) {
		if (label == "" || strings.Contains(text(a), label)) && (role == "" || attr(a, "role") == role) {
			return
		}
	}
	t.Fatalf("no link to %s reading %q (role %q)", href, label, role)
}

// stat returns the text of the page's first summary figure (p.stat).
func stat(t testing.TB, res response) string {
	t.Helper()
	for _, p := range all(parsePage(t, res).root, "p") {
		if attr(p, "class") == "stat" {
			return text(p)
		}
	}
	t.Fatal("no summary figure on the page")
	return ""
}

// confirmOf returns the <details class="confirm"> that holds n, or nil.
func confirmOf(n *html.Node) *html.Node {
	for a := n; a != nil; a = a.Parent {
		if a.Data == "details" && attr(a, "class") == "confirm" {
			return a
		}
	}
	return nil
}

// insideConfirm reports whether n sits in a <details class="confirm"> whose
// summary is a button.
func insideConfirm(n *html.Node) bool {
	for a := n.Parent; a != nil; a = a.Parent {
		if a.Data == "details" && attr(a, "class") == "confirm" {
			s := all(a, "summary")
			return len(s) > 0 && attr(s[0], "role") == "button"
		}
	}
	return false
}

func TestDeleteProjectAsksFirst(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	c.signup("ada@example.com")
	loc := c.post("/projects", url.Values{"name": {"Moonshot"}}).Header.Get("Location")

	p := parsePage(t, c.get(loc))
	del := p.form(loc + "/delete")
	if del == nil {
		t.Fatal("no delete form on the project page")
	}
	if !insideConfirm(del) {
		t.Fatal("the delete form is not behind a <details class=\"confirm\"> with a summary button")
	}
	details := del.Parent
	if got := text(details); !strings.Contains(got, "Moonshot") || !strings.Contains(got, "There is no undo") {
		t.Fatalf("the confirmation does not say what happens: %q", got)
	}
	if hasAttr(details, "open") {
		t.Fatal("the confirmation starts open")
	}
	// The button inside deletes.
	wantRedirect(t, c.post(loc+"/delete", nil), ts.projectsOf("ada@example.com"))
	wantStatus(t, c.get(loc), http.StatusNotFound)
}

func TestProjectQuotaShowsBeforeTheLimit(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	c.signup("ada@example.com")
	for _, name := range []string{"One", "Two"} {
		wantStatus(t, c.post("/projects", url.Values{"name": {name}}), http.StatusSeeOther)
	}

	// Before the limit: the count, the limit and the way to more.
	res := c.get("/projects")
	wantBody(t, res, "2 of 3 projects", "on the Free plan")
	wantLink(t, res, "/pricing", "See plans", "")
	if parsePage(t, res).form(ts.projectsOf("ada@example.com")) == nil {
		t.Fatal("no create form with room left")
	}
	res = c.get("/dashboard")
	wantBody(t, res, "of 3 projects")
	if stat(t, res) != "2" {
		t.Fatalf("the dashboard counts %s projects", stat(t, res))
	}
	wantLink(t, res, "/pricing", "", "")

	// At the limit: no form to fail, a link to /pricing instead.
	wantStatus(t, c.post("/projects", url.Values{"name": {"Three"}}), http.StatusSeeOther)
	res = c.get("/projects")
	wantBody(t, res, "3 of 3 projects")
	wantLink(t, res, "/pricing", "", "button")
	if parsePage(t, res).form(ts.projectsOf("ada@example.com")) != nil {
		t.Fatal("a create form on a full plan")
	}

	// A fourth sent anyway (a second tab): the form again, the name kept.
	res = c.post("/projects", url.Values{"name": {"The fourth, kept"}})
	wantStatus(t, res, http.StatusForbidden)
	wantBody(t, res, "Project limit reached, nothing was created. The Free plan includes up to 3 projects.")
	wantLink(t, res, "/pricing", "", "button")
	p := parsePage(t, res)
	if p.form(ts.projectsOf("ada@example.com")) == nil || attr(p.input("name"), "value") != "The fourth, kept" {
		t.Fatalf("the refused name is not kept in the form:\n%s", res.body)
	}
	if n, _ := ts.db.CountProjects(context.Background(), ts.team(ts.userID("ada@example.com")), 1000); n != 3 {
		t.Fatalf("%d projects, want 3", n)
	}

	// With billing on, the link says what it leads to; Pro has no limit to show.
	fake := newFakeStripe(t)
	paid := newTestServer(t, withStripe(fake))
	bob := paid.newClient()
	bob.signup("bob@example.com")
	res = bob.get("/projects")
	wantBody(t, res, "0 of 3 projects")
	wantLink(t, res, "/pricing", "Upgrade for unlimited projects", "")
	u, _ := paid.db.UserByEmail(context.Background(), "bob@example.com")
	paid.db.SaveCustomer(context.Background(), paid.team(u.ID).TeamID(), "cus_bob")
	now := time.Now().Unix()
	paid.sendEvent("customer.subscription.updated", subscriptionObject("sub_b", "cus_bob", "price_pro", "active", now), now)
	if body := bob.get("/projects").body; strings.Contains(body, "of 3 projects") {
		t.Fatal("a Pro user is shown the Free plan's limit")
	}
}

func TestAdminRows(t *testing.T) {
	ts := newTestServer(t, func(c *testSetup) { c.AdminEmails = map[string]bool{"boss@example.com": true} })
	boss := ts.newClient()
	boss.signupVerified("boss@example.com")
	ts.newClient().signup("alice@example.com")
	ts.newClient().signup("bob@example.com")
	bossID, aliceID := ts.userID("boss@example.com"), ts.userID("alice@example.com")
	disable := func(id int64) string { return "/admin/users/" + strconv.FormatInt(id, 10) + "/disable" }

	res := boss.get("/admin")
	p := parsePage(t, res)
	if p.form(disable(bossID)) != nil {
		t.Fatal("the admin's own row offers Disable")
	}
	f := p.form(disable(aliceID))
	if f == nil || !insideConfirm(f) {
		t.Fatal("Disable is not behind a confirmation")
	}
	if got := text(f.Parent); !strings.Contains(got, "alice@example.com is signed out everywhere") {
		t.Fatalf("the confirmation does not say what happens: %q", got)
	}
	for _, th := range all(p.root, "th") {
		if text(th) == "" {
			t.Fatalf("an empty table header in:\n%s", res.body)
		}
	}

	// An action from a search comes back to it, naming the address.
	res = boss.post(disable(aliceID), url.Values{"q": {"alice"}})
	wantRedirect(t, res, "/admin?q=alice")
	res = boss.get("/admin?q=alice")
	wantBody(t, res, "alice@example.com disabled and signed out.", `value="alice"`)
	if strings.Contains(res.body, "bob@example.com") || strings.Contains(res.body, "User "+strconv.FormatInt(aliceID, 10)) {
		t.Fatalf("the search was lost, or the flash names an id:\n%s", res.body)
	}
	if in := parsePage(t, res).form("/admin/users/" + strconv.FormatInt(aliceID, 10) + "/enable"); in == nil {
		t.Fatal("no Enable for the disabled user")
	}
	wantRedirect(t, boss.post("/admin/users/"+strconv.FormatInt(aliceID, 10)+"/enable", url.Values{"q": {"a&b c"}}), "/admin?q=a%26b+c")
	wantBody(t, boss.get("/admin"), "alice@example.com enabled.")
	// Without a search, back to the plain page.
	wantRedirect(t, boss.post(disable(aliceID), nil), "/admin")
}

func TestPricingWithoutBillingSpeaksToVisitors(t *testing.T) {
	ts := newTestServer(t)
	ada := ts.newClient()
	ada.signup("ada@example.com")
	emptyFooter := regexp.MustCompile(`<footer>\s*</footer>`)
	for who, c := range map[string]*client{"anonymous": ts.newClient(), "logged in": ada} {
		res := c.get("/pricing")
		wantStatus(t, res, http.StatusOK)
		wantBody(t, res, "Paid plans are coming soon", "Coming soon")
		for _, bad := range []string{"README", "operator", "Stripe"} {
			if strings.Contains(res.body, bad) {
				t.Errorf("%s: the pricing page says %q to visitors", who, bad)
			}
		}
		if emptyFooter.MatchString(res.body) {
			t.Errorf("%s: a plan card has an empty footer", who)
		}
	}
	for _, res := range []response{ada.get("/billing"), ada.post("/billing/checkout", url.Values{"plan": {"pro"}})} {
		if strings.Contains(res.body, "README") || strings.Contains(res.body, "not configured") {
			t.Errorf("%s says how to set billing up to a visitor", res.Request.URL.Path)
		}
	}
}

func TestSignupTakenLinksToLogin(t *testing.T) {
	ts := newTestServer(t)
	ts.newClient().signup("ada@example.com")
	c := ts.newClient()
	res := c.post("/signup", url.Values{"email": {"Ada@Example.com"}, "password": {testPassword}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	p := parsePage(t, res)
	var link *html.Node
	for _, a := range all(p.root, "a") {
		if text(a) == "Log in instead?" {
			link = a
		}
	}
	if link == nil || attr(link, "href") != "/login?email=ada%40example.com" {
		t.Fatalf("\"Log in instead?\" is not a link to /login with the address:\n%s", res.body)
	}
	if link.Parent.Data != "small" || attr(link.Parent, "id") != "email-error" {
		t.Fatal("the link is not part of the email field's message")
	}

	// It leads to the login form with the address filled in, the cursor in
	// the password.
	p = parsePage(t, c.get(attr(link, "href")))
	if attr(p.input("email"), "value") != "ada@example.com" || !hasAttr(p.input("password"), "autofocus") || hasAttr(p.input("email"), "autofocus") {
		t.Fatal("the login page does not fill in the address and focus the password")
	}
	// Anything but an address is not filled in.
	p = parsePage(t, c.get("/login?email=%22%3E%3Cscript%3E"))
	if attr(p.input("email"), "value") != "" || !hasAttr(p.input("email"), "autofocus") {
		t.Fatal("the login page fills in something that is not an address")
	}
}

func TestLoginWrongPasswordFocusesPassword(t *testing.T) {
	ts := newTestServer(t)
	ts.newClient().signup("ada@example.com")
	for name, tc := range map[string]struct {
		form      url.Values
		focus     string
		wantEmail string
	}{
		"wrong password":   {url.Values{"email": {"ada@example.com"}, "password": {"not it at all"}}, "password", "ada@example.com"},
		"unknown address":  {url.Values{"email": {"who@example.com"}, "password": {"not it at all"}}, "password", "who@example.com"},
		"no password":      {url.Values{"email": {"ada@example.com"}}, "password", "ada@example.com"},
		"malformed email":  {url.Values{"email": {"ada"}, "password": {"x"}}, "email", "ada"},
		"nothing":          {url.Values{}, "email", ""},
		"an empty address": {url.Values{"password": {"x"}}, "email", ""},
	} {
		t.Run(name, func(t *testing.T) {
			p := parsePage(t, ts.newClient().post("/login", tc.form))
			email, password := p.input("email"), p.input("password")
			if attr(email, "value") != tc.wantEmail {
				t.Errorf("email value %q, want %q", attr(email, "value"), tc.wantEmail)
			}
			var focused []string
			for _, in := range all(p.root, "input") {
				if hasAttr(in, "autofocus") {
					focused = append(focused, attr(in, "id"))
				}
			}
			if len(focused) == 0 || focused[0] != tc.focus {
				t.Errorf("autofocus on %v, want %s first", focused, tc.focus)
			}
			if attr(password, "value") != "" {
				t.Error("the password is sent back")
			}
		})
	}
}

// usernameFields checks that every form of res with a password field has a
// field password managers read as the account, holding email.
func usernameFields(t *testing.T, res response, email string) {
	t.Helper()
	p := parsePage(t, res)
	n := 0
	for _, f := range all(p.root, "form") {
		var password bool
		username := ""
		for _, in := range all(f, "input") {
			switch {
			case attr(in, "type") == "password":
				password = true
			case attr(in, "autocomplete") == "username":
				username = attr(in, "value")
			}
		}
		if password {
			n++
			if username != email {
				t.Errorf("%s: the form posting to %s has no username field with %q", res.Request.URL.Path, attr(f, "action"), email)
			}
		}
	}
	if n == 0 {
		t.Fatalf("%s: no password form:\n%s", res.Request.URL.Path, res.body)
	}
}

func TestPasswordFormsHaveAUsernameField(t *testing.T) {
	ts := newTestServer(t)
	ada := ts.newClient()
	ada.signup("ada@example.com")

	// The proof page: the address's link opened in another browser.
	link := ts.smtp.latest("ada@example.com", "Confirm your email address").link(t, ts.URL+"/verify-email?token=")
	other := ts.newClient()
	res := other.get(ts.path(link))
	wantBody(t, res, "Password of this account")
	usernameFields(t, res, "ada@example.com")
	// Confirming without the password leads to choosing one: that form too.
	res = other.post("/verify-email", url.Values{"token": {tokenOf(t, link)}, "action": {"new-password"}})
	wantBody(t, res, "Choose a password to finish")
	usernameFields(t, res, "ada@example.com")

	// The reset page, and again when its password is refused.
	wantStatus(t, ts.newClient().post("/forgot-password", url.Values{"email": {"ada@example.com"}}), http.StatusOK)
	link = ts.smtp.latest("ada@example.com", "Reset your password").link(t, ts.URL+"/reset-password?token=")
	anon := ts.newClient()
	usernameFields(t, anon.get(ts.path(link)), "ada@example.com")
	res = anon.post("/reset-password", url.Values{"token": {tokenOf(t, link)}, "password": {"short"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	usernameFields(t, res, "ada@example.com")

	// Every settings form that asks for the current password.
	bob := ts.newClient()
	bob.signupVerified("bob@example.com")
	for _, page := range []string{"/settings", "/settings/security", "/settings/tokens", "/settings/data", "/settings/2fa"} {
		usernameFields(t, bob.get(page), "bob@example.com")
	}
}

// TestSignupSaysConfirmOnce: after signup the dashboard's banner is the one
// message, not a flash that says the same above it.
func TestSignupSaysConfirmOnce(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	c.signup("ada@example.com")
	res := c.get("/dashboard")
	wantBody(t, res, "we sent a link to <strong>ada@example.com</strong>")
	if strings.Contains(res.body, `class="flash"`) {
		t.Errorf("a flash beside the banner:\n%s", res.body)
	}
	body := strings.ToLower(res.body)
	for _, said := range []string{"confirm your email", "inbox", "we sent"} {
		if n := strings.Count(body, said); n > 1 {
			t.Errorf("the dashboard says %q %d times:\n%s", said, n, res.body)
		}
	}
}

func TestDevMailboxTimesAreReadable(t *testing.T) {
	ts := newTestServer(t, withDevMailbox())
	c := ts.newClient()
	c.signup("ada@example.com")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(ts.logs.String(), "dev mailbox: mail delivered") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	res := c.get("/dev/mail")
	times := all(parsePage(t, res).root, "time")
	if len(times) == 0 {
		t.Fatalf("no <time> in the mailbox:\n%s", res.body)
	}
	human := regexp.MustCompile(`^\d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2} UTC$`)
	for _, tm := range times {
		at, err := time.Parse(time.RFC3339, attr(tm, "datetime"))
		if err != nil || time.Since(at) > time.Minute {
			t.Errorf("datetime %q is not the machine-readable time the mail was sent (%v)", attr(tm, "datetime"), err)
		}
		if !human.MatchString(text(tm)) {
			t.Errorf("the mailbox shows %q, not a time people read", text(tm))
		}
	}
}
