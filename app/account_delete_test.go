package app

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"skiff/db"
)

func TestDataExportIsYoursOnly(t *testing.T) {
	ts := newTestServer(t)
	ada := ts.newClient()
	ada.signup("ada@example.com")
	ada.post("/projects", url.Values{"name": {"Ada's secret"}})
	bob := ts.newClient()
	bob.signup("bob@example.com")
	bob.post("/projects", url.Values{"name": {"Bob's plan"}})

	res := ada.get("/settings/export")
	wantStatus(t, res, http.StatusOK)
	if !strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("Content-Disposition %q", res.Header.Get("Content-Disposition"))
	}
	var e struct {
		Account  struct{ Email string }
		Projects []struct{ Name string }
	}
	if err := json.Unmarshal([]byte(res.body), &e); err != nil {
		t.Fatal(err)
	}
	if e.Account.Email != "ada@example.com" || len(e.Projects) != 1 || e.Projects[0].Name != "Ada's secret" {
		t.Fatalf("export %+v", e)
	}
	if strings.Contains(res.body, "bob") || strings.Contains(res.body, "Bob") {
		t.Fatal("the export holds another user's data")
	}
	wantRedirect(t, ts.newClient().get("/settings/export"), "/login?next=%2Fsettings%2Fexport")
}

func TestAccountDeletion(t *testing.T) {
	fake := newFakeStripe(t)
	ts := newTestServer(t, withStripe(fake))
	ctx := context.Background()
	ada := ts.newClient()
	ada.signupVerified("ada@example.com")
	other := ts.newClient()
	wantRedirect(t, other.login("ada@example.com", testPassword, true), "/dashboard")
	ada.post("/projects", url.Values{"name": {"p"}})
	u, _ := ts.db.UserByEmail(ctx, "ada@example.com")
	adaTeam := ts.team(u.ID).TeamID()
	ts.db.SaveCustomer(ctx, ts.team(u.ID).TeamID(), "cus_ada")
	ts.db.ApplySubscription(ctx, db.Subscription{ID: "sub_ada", TeamID: ts.team(u.ID).TeamID(), CustomerID: "cus_ada", PriceID: "price_pro",
		Plan: PlanPro, Status: "active", Version: time.Now().Unix()})
	ts.sendEvent("invoice.paid", map[string]any{"id": "in_1", "object": "invoice", "subscription": "sub_ada"}, time.Now().Unix())
	bob := ts.newClient()
	bob.signup("bob@example.com")
	token := ada.newToken("script")
	enableTwoFactor(t, ts, ada)

	res := ada.post("/settings/delete", url.Values{"delete_password": {"wrong password"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantBody(t, res, "Your current password is not correct.")

	wantRedirect(t, ada.post("/settings/delete", url.Values{"delete_password": {testPassword}}), "/")
	wantBody(t, ada.get("/"), "Your account and its data have been deleted.")
	if len(fake.canceled) != 1 || fake.canceled[0] != "sub_ada" {
		t.Fatalf("Stripe cancellations %v, want [sub_ada]", fake.canceled)
	}
	ts.smtp.waitFor("ada@example.com", "Your account has been deleted")
	wantRedirect(t, other.get("/dashboard"), "/login?next=%2Fdashboard")
	wantStatus(t, ts.newClient().login("ada@example.com", testPassword, false), http.StatusUnauthorized)

	// Nothing of Ada's remains but the Stripe event log; Bob is untouched.
	for table, where := range map[string]string{
		"users": "id = ?", "teams": "owner_id = ?", "memberships": "user_id = ?", "tokens": "user_id = ?", "identities": "user_id = ?",
		"billing_customers": "team_id = " + itoa64(adaTeam) + " OR ? = 0", "subscriptions": "team_id = " + itoa64(adaTeam) + " OR ? = 0",
		"user_sessions": "user_id = ?", "known_devices": "user_id = ?", "api_tokens": "user_id = ?",
		"recovery_codes": "user_id = ?",
	} {
		var n int
		if err := ts.db.Read.QueryRow(`SELECT count(*) FROM `+table+` WHERE `+where, u.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d rows of the deleted user left in %s", n, table)
		}
	}
	if n := ts.count(`SELECT count(*) FROM sessions WHERE `+ts.db.SessionField("user_id")+` = ?`, db.SessionKey(u.ID)); n != 0 {
		t.Errorf("%d sessions of the deleted user left", n)
	}
	if n := ts.count(`SELECT count(*) FROM projects WHERE team_id = ?`, adaTeam); n != 0 {
		t.Errorf("%d projects of the deleted user's team left", n)
	}
	if n, _ := ts.db.CountEvents(ctx); n != 1 {
		t.Fatalf("stripe event log has %d events, want it kept (1)", n)
	}
	wantStatus(t, bob.get("/dashboard"), http.StatusOK)
	wantStatus(t, first(ts.api("GET", "/api/v1/me", token, "")), http.StatusUnauthorized)
}

func TestAccountDeletionWithoutPasswordNeedsAFreshLogin(t *testing.T) {
	ts := newTestServer(t, func(c *testSetup) { c.MagicLinkSignup = true })
	c := ts.newClient()
	c.post("/login/magic", url.Values{"email": {"nopw@example.com"}})
	link := ts.smtp.waitFor("nopw@example.com", "Finish creating your account").link(t, ts.URL)
	wantRedirect(t, c.post("/login/magic/confirm", url.Values{"token": {tokenOf(t, link)}}), "/dashboard")
	wantRedirect(t, c.post("/settings/delete", nil), "/")
	if n, _ := ts.db.CountUsers(context.Background()); n != 0 {
		t.Fatal("account not deleted")
	}
}

func TestProfileDisplayName(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	c.signup("ada@example.com")
	res := c.post("/settings/profile", url.Values{"display_name": {strings.Repeat("x", 81)}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantBody(t, res, "at most 80")
	wantRedirect(t, c.post("/settings/profile", url.Values{"display_name": {"  Ada <Lovelace>  "}}), "/settings")
	wantBody(t, c.get("/dashboard"), "Ada &lt;Lovelace&gt;")
	wantBody(t, c.get("/settings/export"), `"display_name": "Ada \u003cLovelace\u003e"`)
	wantRedirect(t, c.post("/settings/profile", url.Values{"display_name": {""}}), "/settings")
	wantBody(t, c.get("/dashboard"), "Signed in as <strong>ada@example.com</strong>")
}
