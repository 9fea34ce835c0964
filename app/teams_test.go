package app

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"skiff/db"
	"skiff/views"
)

// TestTeams: a user creates a team, owns it, and its projects are its own:
// listed under its address, not in the personal team's, and the page says
// which team it acts in.
func TestTeams(t *testing.T) {
	ts := newTestServer(t, func(c *testSetup) { c.Limits.MaxOwnedTeams = 2 })
	ada := ts.newClient()
	ada.signup("ada@example.com")

	res := ada.get("/teams")
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "Personal", "only you", "Owner", "Create a team")

	res = ada.post("/teams", url.Values{"name": {"  Acme Rockets  "}})
	wantStatus(t, res, http.StatusSeeOther)
	acme := res.Header.Get("Location")
	if !regexp.MustCompile(`^/t/\d+/projects$`).MatchString(acme) {
		t.Fatalf("a new team leads to %q, want its projects", acme)
	}
	res = ada.get(acme)
	wantBody(t, res, "Team created. You are its owner.", "In the team <strong>Acme Rockets</strong>", "No projects yet")
	wantLink(t, res, acme, "Projects", "") // the menu's Projects is this team's

	res = ada.post(acme, url.Values{"name": {"Moon"}})
	wantStatus(t, res, http.StatusSeeOther)
	moon := res.Header.Get("Location")
	if !strings.HasPrefix(moon, acme+"/") {
		t.Fatalf("the team's new project is at %q, not under %s", moon, acme)
	}
	wantBody(t, ada.get(acme), "Moon")
	if strings.Contains(ada.get("/projects").body, "Moon") {
		t.Fatal("the team's project is listed in the personal team")
	}
	if strings.Contains(ada.get("/dashboard").body, "Moon") {
		t.Fatal("the team's project is on the personal dashboard")
	}
	// The same project through the personal team's short address: not there.
	id := moon[strings.LastIndex(moon, "/")+1:]
	wantStatus(t, ada.get("/projects/"+id), http.StatusNotFound)
	wantRedirect(t, ada.post(moon+"/rename", url.Values{"name": {"Mars"}}), moon)
	wantRedirect(t, ada.post(moon+"/delete", nil), acme)

	res = ada.get("/teams")
	wantBody(t, res, "Acme Rockets", "Owner")
	wantLink(t, res, acme, "Acme Rockets", "")

	// Names are checked; a user owns at most MaxOwnedTeams teams.
	for name, msg := range map[string]string{"": "Give your team a name.", strings.Repeat("x", 101): "Use at most 100 characters.",
		"bell\a": "Use letters, digits, spaces and punctuation only."} {
		res := ada.post("/teams", url.Values{"name": {name}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantBody(t, res, msg)
	}
	wantStatus(t, ada.post("/teams", url.Values{"name": {"Second"}}), http.StatusSeeOther)
	res = ada.post("/teams", url.Values{"name": {"Third"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantBody(t, res, "You own 2 teams, the most one person may. Nothing was created.", "Third")
	res = ada.get("/teams")
	wantBody(t, res, "You own 2 teams, the most one person may.")
	if parsePage(t, res).form("/teams") != nil {
		t.Fatal("a create form past the limit")
	}
	if n := ts.count(`SELECT count(*) FROM teams WHERE owner_id = ?`, ts.userID("ada@example.com")); n != 3 {
		t.Fatalf("ada owns %d teams, want 3 (personal, Acme, Second)", n)
	}
	wantRedirect(t, ts.newClient().get("/teams"), "/login?next=%2Fteams")
}

// TestTeamRoutesAreMembersOnly is the isolation matrix: every page route of
// a team (every pattern under /t/{team}, found by walking the registered
// routes, so a new one is in it at once) answers a member, and gives anyone
// else, whether they never belonged, were removed, or hold the id of a
// project in their own team, the same 404 as a team that does not exist; an
// anonymous visitor is sent to log in.
func TestTeamRoutesAreMembersOnly(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	users := map[string]*client{}
	for _, name := range []string{"ada", "bob", "cyd", "dan"} {
		users[name] = ts.newClient()
		users[name].signup(name + "@example.com")
	}
	team, err := ts.db.CreateTeam(ctx, ts.userID("ada@example.com"), "Acme")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"cyd", "dan"} {
		if err := ts.db.AddMember(ctx, team, ts.userID(name+"@example.com"), db.RoleMember); err != nil {
			t.Fatal(err)
		}
	}
	if err := ts.db.RemoveMember(ctx, team, ts.userID("cyd@example.com")); err != nil { // cyd was removed
		t.Fatal(err)
	}
	base := views.TeamURL(team.TeamID())

	var routes []string
	for _, p := range ts.srv.pagePatterns {
		if strings.Contains(p, " /t/{team}/") {
			routes = append(routes, p)
		}
	}
	if len(routes) < 5 {
		t.Fatalf("only %d team routes found: %v", len(routes), routes)
	}
	// Deletes last: the member's requests act for real.
	slices.SortStableFunc(routes, func(a, b string) int {
		return strings.Compare(strconv.FormatBool(strings.HasSuffix(a, "/delete")), strconv.FormatBool(strings.HasSuffix(b, "/delete")))
	})
	project, err := ts.db.CreateProject(ctx, team, "Rocket")
	if err != nil {
		t.Fatal(err)
	}
	bobs, _ := ts.db.CreateProject(ctx, ts.team(ts.userID("bob@example.com")), "Bob's own")
	send := func(c *client, pattern string, teamPath string, projectID int64) response {
		t.Helper()
		method, path, _ := strings.Cut(pattern, " ")
		path = strings.Replace(path, "/t/{team}", teamPath, 1)
		path = strings.Replace(path, "{id}", strconv.FormatInt(projectID, 10), 1)
		if unknown := regexp.MustCompile(`\{[a-z]+\}`).FindString(path); unknown != "" {
			t.Fatalf("%s: no value for %s in the matrix; add one", pattern, unknown)
		}
		if method == http.MethodPost {
			return c.post(path, url.Values{"name": {"Renamed"}})
		}
		return c.get(path)
	}
	for _, route := range routes {
		for _, who := range []string{"bob", "cyd"} {
			res := send(users[who], route, base, project.ID)
			if res.StatusCode != http.StatusNotFound || !strings.Contains(res.body, "Page not found") {
				t.Errorf("%s by %s (not a member): %d, want the 404 page", route, who, res.StatusCode)
			}
		}
		// Bob's own project, named under ada's team: 404 too.
		if res := send(users["bob"], route, base, bobs.ID); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s by bob, with his own project's id under ada's team: %d", route, res.StatusCode)
		}
		// No such team: the same answer.
		if res := send(users["ada"], route, "/t/999999999", project.ID); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s in a team that does not exist: %d", route, res.StatusCode)
		}
		if res := send(users["ada"], route, "/t/abc", project.ID); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s with a team that is not a number: %d", route, res.StatusCode)
		}
		res := send(ts.newClient(), route, base, project.ID)
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
			t.Errorf("%s anonymous: %d to %q, want the login", route, res.StatusCode, res.Header.Get("Location"))
		}
		res = send(users["dan"], route, base, project.ID)
		if res.StatusCode >= 400 {
			t.Errorf("%s by dan (a member): %d", route, res.StatusCode)
		}
	}
	if n := ts.count(`SELECT count(*) FROM projects WHERE id = ?`, bobs.ID); n != 1 {
		t.Fatal("bob's own project was deleted through ada's team")
	}
}

// TestTeamPlanIsTheOwners: a team's limits are its owner's plan, whoever
// acts: a member on Pro cannot exceed the Free limit of a Free owner's team.
func TestTeamPlanIsTheOwners(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	ada, bob := ts.newClient(), ts.newClient()
	ada.signup("ada@example.com")
	bob.signup("bob@example.com")
	bobID := ts.userID("bob@example.com")
	if _, err := ts.db.ApplySubscription(ctx, db.Subscription{ID: "sub_bob", UserID: bobID, CustomerID: "cus_bob",
		PriceID: "price_pro", Plan: PlanPro, Status: "active", Version: 1}); err != nil {
		t.Fatal(err)
	}
	team, _ := ts.db.CreateTeam(ctx, ts.userID("ada@example.com"), "Acme")
	ts.db.AddMember(ctx, team, bobID, db.RoleMember)
	projects := views.ProjectsURL(team.TeamID())
	for i := range 3 {
		wantStatus(t, bob.post(projects, url.Values{"name": {"p" + strconv.Itoa(i)}}), http.StatusSeeOther)
	}
	res := bob.post(projects, url.Values{"name": {"a fourth"}})
	wantStatus(t, res, http.StatusForbidden)
	wantBody(t, res, "The Free plan includes up to 3 projects.", "ask the team's owner to move it to a plan without a limit")
	if strings.Contains(res.body, "Upgrade for unlimited projects") {
		t.Fatal("a member is offered to upgrade a team that is not theirs")
	}
	// In his own team his Pro plan applies.
	for i := range 4 {
		wantStatus(t, bob.post("/projects", url.Values{"name": {"own " + strconv.Itoa(i)}}), http.StatusSeeOther)
	}
}

// TestAccountDeletionWaitsForTheTeam: the owner of a team with other members
// cannot delete their account (the team, with the members' projects, would
// go with it): 409, the page says which team and what to do, nothing is
// deleted. Once the team has no other member, the account and the team go,
// and the former member keeps their own account.
func TestAccountDeletionWaitsForTheTeam(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	ada, bob := ts.newClient(), ts.newClient()
	ada.signup("ada@example.com")
	bob.signup("bob@example.com")
	adaID, bobID := ts.userID("ada@example.com"), ts.userID("bob@example.com")
	team, _ := ts.db.CreateTeam(ctx, adaID, "Acme")
	if err := ts.db.AddMember(ctx, team, bobID, db.RoleMember); err != nil {
		t.Fatal(err)
	}
	ts.db.CreateProject(ctx, team, "Shared")

	res := ada.post("/settings/delete", url.Values{"delete_password": {testPassword}})
	wantStatus(t, res, http.StatusConflict)
	wantBody(t, res, "You own the team Acme, which has other members. Transfer it to one of them, or remove them, before you delete your account. Nothing was deleted.")
	if n := ts.count(`SELECT count(*) FROM users WHERE id = ?`, adaID); n != 1 {
		t.Fatal("the account was deleted")
	}
	// The same rule holds in the database, whoever calls it.
	if err := ts.db.DeleteUser(ctx, adaID, "ada@example.com"); err != db.ErrOwnsSharedTeam {
		t.Fatalf("DeleteUser of a shared team's owner: %v", err)
	}

	ts.db.RemoveMember(ctx, team, bobID)
	wantRedirect(t, ada.post("/settings/delete", url.Values{"delete_password": {testPassword}}), "/")
	for q, want := range map[string]int{
		`SELECT count(*) FROM teams WHERE owner_id = ` + strconv.FormatInt(adaID, 10):           0,
		`SELECT count(*) FROM projects WHERE team_id = ` + strconv.FormatInt(team.TeamID(), 10): 0,
		`SELECT count(*) FROM users WHERE id = ` + strconv.FormatInt(bobID, 10):                 1,
	} {
		if n := ts.count(q); n != want {
			t.Errorf("%s: %d, want %d", q, n, want)
		}
	}
	wantStatus(t, bob.get("/dashboard"), http.StatusOK)
}
