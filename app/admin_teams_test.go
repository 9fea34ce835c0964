package app

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"skiff/db"
)

// TestAdminTeams: the admin's list of shared teams shows each with its owner,
// members, plan, seats and revenue, pages through all of them, leaves the
// personal teams out, and is the admins' only.
func TestAdminTeams(t *testing.T) {
	ts := newTestServer(t, func(c *testSetup) { c.AdminEmails = map[string]bool{"boss@example.com": true} })
	ctx := context.Background()
	boss, ada := ts.newClient(), ts.newClient()
	boss.signupVerified("boss@example.com")
	ada.signupVerified("ada@example.com")
	ts.newClient().signupVerified("bob@example.com")
	acme, _ := ts.db.CreateTeam(ctx, ts.userID("ada@example.com"), "Acme")
	ts.db.AddMember(ctx, acme, ts.userID("bob@example.com"), db.RoleMember)
	if _, err := ts.db.ApplySubscription(ctx, db.Subscription{ID: "sub_acme", TeamID: acme.TeamID(), CustomerID: "cus_acme",
		PriceID: "price_pro", Plan: PlanPro, Status: "active", Quantity: 2, Version: 1}); err != nil {
		t.Fatal(err)
	}
	for i := range widePageSize + 3 {
		ts.db.CreateTeam(ctx, ts.userID("bob@example.com"), "Team "+strconv.Itoa(i))
	}

	wantStatus(t, ada.get("/admin/teams"), http.StatusNotFound)
	res := boss.get("/admin")
	wantBody(t, res, `href="/admin/teams"`)
	rows, pages := followPages(t, boss, "/admin/teams", regexp.MustCompile(`<td>([^<]+) <small>#\d+</small>`))
	if len(rows) != widePageSize+4 || pages != 2 {
		t.Fatalf("%d teams over %d pages, want %d over 2: %v", len(rows), pages, widePageSize+4, rows)
	}
	for _, r := range rows {
		if r == "Personal" {
			t.Fatal("a personal team is listed")
		}
	}
	// Acme, the oldest shared team, is on the last page.
	res = boss.get("/admin/teams")
	next := regexp.MustCompile(`href="(/admin/teams\?cursor=[^"]+)"`).FindStringSubmatch(res.body)
	if next == nil {
		t.Fatal("no link to the next page")
	}
	res = boss.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	row := regexp.MustCompile(`(?s)<td>Acme <small>.*?</tr>`).FindString(res.body)
	for _, want := range []string{"ada@example.com", ">2<", "Pro", "(active)", "$38.00"} {
		if !strings.Contains(row, want) {
			t.Errorf("Acme's row lacks %q:\n%s", want, row)
		}
	}
	wantBadCursor(t, boss, "/admin/teams?cursor=x")
}

// TestDashboardOpensInTheLastTeam: /dashboard shows the team whose pages the
// user visited last, and their personal team once they are no longer in it.
func TestDashboardOpensInTheLastTeam(t *testing.T) {
	ts := newTestServer(t)
	ada, bob := ts.newClient(), ts.newClient()
	ada.signupVerified("ada@example.com")
	bob.signupVerified("bob@example.com")
	acme := strings.TrimSuffix(ada.post("/teams", url.Values{"name": {"Acme"}}).Header.Get("Location"), "/projects")
	team, _ := strconv.ParseInt(strings.TrimPrefix(acme, "/t/"), 10, 64)
	ts.db.AddMember(context.Background(), ts.scopeIn(ts.userID("ada@example.com"), team), ts.userID("bob@example.com"), db.RoleMember)
	ada.post(acme+"/projects", url.Values{"name": {"Apollo"}})
	bob.post("/projects", url.Values{"name": {"Bob's own"}})

	res := bob.get("/dashboard")
	if strings.Contains(res.body, "Apollo") || !strings.Contains(res.body, "Bob&#39;s own") && !strings.Contains(res.body, "Bob's own") {
		t.Fatal("a first dashboard is not the personal team's")
	}
	wantStatus(t, bob.get(acme+"/projects"), http.StatusOK)
	res = bob.get("/dashboard")
	wantBody(t, res, "In the team <strong>Acme</strong>", "Apollo", `href="`+acme+`/projects"`)
	// A HEAD changes nothing it is not asked to: the personal team's page
	// by HEAD leaves Acme remembered.
	personal := "/t/" + itoa64(ts.team(ts.userID("bob@example.com")).TeamID()) + "/projects"
	req, _ := http.NewRequest("HEAD", ts.URL+personal, nil)
	bob.do(req)
	wantBody(t, bob.get("/dashboard"), "Apollo")
	wantStatus(t, bob.get(personal), http.StatusOK)
	if strings.Contains(bob.get("/dashboard").body, "Apollo") {
		t.Fatal("the dashboard stayed in Acme after bob went back to his own projects")
	}
	// Back in Acme, then removed from it: the dashboard is his own again.
	bob.get(acme + "/members")
	wantBody(t, bob.get("/dashboard"), "Apollo")
	wantRedirect(t, ada.post(acme+"/members/"+itoa64(ts.userID("bob@example.com"))+"/remove", nil), acme+"/members")
	res = bob.get("/dashboard")
	wantStatus(t, res, http.StatusOK)
	if strings.Contains(res.body, "Apollo") || strings.Contains(res.body, "In the team") {
		t.Fatal("a removed member's dashboard shows the team")
	}
}
