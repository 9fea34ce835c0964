package app

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"skiff/db"
)

func TestAdmin(t *testing.T) {
	fake := newFakeStripe(t)
	ts := newTestServer(t, withStripe(fake), func(c *testSetup) { c.AdminEmails = map[string]bool{"boss@example.com": true} })
	ctx := context.Background()

	// An unverified account with the admin's address is not the admin.
	squatter := ts.newClient()
	squatter.signup("boss@example.com")
	wantStatus(t, squatter.get("/admin"), http.StatusNotFound)
	squatter.verifyEmail("boss@example.com")
	boss := squatter // now verified
	res := boss.get("/admin")
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "Admin", "boss@example.com", "monthly recurring revenue")

	// Everyone else, logged in or not, gets a 404 on every admin route.
	alice := ts.newClient()
	alice.signup("alice@example.com")
	anon := ts.newClient()
	for _, c := range []*client{alice, anon} {
		wantStatus(t, c.get("/admin"), map[bool]int{true: http.StatusNotFound, false: http.StatusSeeOther}[c == alice])
	}
	wantStatus(t, alice.post("/admin/users/"+itoa64(ts.userID("boss@example.com"))+"/disable", nil), http.StatusNotFound)

	// A paying customer shows in the counts and the revenue.
	a, _ := ts.db.UserByEmail(ctx, "alice@example.com")
	ts.db.SaveCustomer(ctx, ts.team(a.ID).TeamID(), "cus_alice")
	ts.db.ApplySubscription(ctx, db.Subscription{ID: "sub_a", TeamID: ts.team(a.ID).TeamID(), CustomerID: "cus_alice", PriceID: "price_pro",
		Plan: PlanPro, Status: "active", Version: time.Now().Unix()})
	res = boss.get("/admin?q=ALICE")
	wantBody(t, res, "alice@example.com", "$19.00", "Pro")
	if got := boss.get("/admin?q=nobody%25").body; contains(got, "alice@example.com") {
		t.Fatal("search ignored its query")
	}

	// Disabling signs the user out and keeps them out.
	wantRedirect(t, boss.post("/admin/users/"+itoa64(a.ID)+"/disable", nil), "/admin")
	wantRedirect(t, alice.get("/dashboard"), "/login?next=%2Fdashboard")
	res = ts.newClient().login("alice@example.com", testPassword, false)
	wantStatus(t, res, http.StatusForbidden)
	wantBody(t, res, "Account disabled")
	wantRedirect(t, boss.post("/admin/users/"+itoa64(a.ID)+"/enable", nil), "/admin")
	wantRedirect(t, ts.newClient().login("alice@example.com", testPassword, false), "/dashboard")
	wantStatus(t, boss.post("/admin/users/999/disable", nil), http.StatusNotFound)
	wantStatus(t, boss.post("/admin/users/"+itoa64(ts.userID("boss@example.com"))+"/disable", url.Values{}), http.StatusConflict) // not yourself
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestAdminShowsLastSeen(t *testing.T) {
	ts := newTestServer(t, func(c *testSetup) { c.AdminEmails = map[string]bool{"boss@example.com": true} })
	boss := ts.newClient()
	boss.signupVerified("boss@example.com")
	ts.newClient().signup("seen@example.com")
	res := boss.get("/admin?q=seen")
	wantStatus(t, res, http.StatusOK)
	if strings.Contains(res.body, "never") {
		t.Fatalf("a user who just signed up shows as never seen:\n%s", res.body)
	}
}
