package app

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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
	// The dashboard opens in the team visited last (TestDashboardOpensInTheLastTeam).
	wantBody(t, ada.get("/dashboard"), "In the team <strong>Acme Rockets</strong>", "Moon")
	ada.get(views.ProjectsURL(ts.team(ts.userID("ada@example.com")).TeamID()))
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
// routes, so a new one is in it at once) gives anyone who is not a member,
// whether they never belonged, were removed, had their invitation revoked,
// or hold the id of a row in their own team, the same 404 as a team that
// does not exist; an anonymous visitor is sent to log in. Every API
// endpoint that takes an id answers the same people's tokens with 404 (or
// 401: a removed member's token for the team went with the membership).
func TestTeamRoutesAreMembersOnly(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	users := map[string]*client{}
	for _, name := range []string{"ada", "bob", "cyd", "dan"} {
		users[name] = ts.newClient()
		users[name].signupVerified(name + "@example.com")
	}
	team, err := ts.db.CreateTeam(ctx, ts.userID("ada@example.com"), "Acme")
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.db.AddMember(ctx, team, ts.userID("cyd@example.com"), db.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	// Cyd's token for the team, made while she was in it.
	cydToken := users["cyd"].post("/settings/tokens", url.Values{"name": {"acme"}, "team": {itoa64(team.TeamID())}, "current_password": {testPassword}})
	cydSecret := regexp.MustCompile(`skiff_[A-Za-z0-9_-]{43}`).FindString(cydToken.body)
	if cydSecret == "" {
		t.Fatal("no token for cyd")
	}
	if err := ts.db.RemoveMember(ctx, team, ts.userID("cyd@example.com")); err != nil { // cyd was removed
		t.Fatal(err)
	}
	// Dan was invited, then the invitation revoked.
	inv, err := ts.db.CreateInvitation(ctx, team, "dan@example.com", db.RoleMember, []byte("dan-hash"), time.Now().Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.db.RevokeInvitation(ctx, team, inv.ID); err != nil {
		t.Fatal(err)
	}
	f := newTeamFixtures(t, ts, team)
	bobsTeam, err := ts.db.CreateTeam(ctx, ts.userID("bob@example.com"), "Bob's")
	if err != nil {
		t.Fatal(err)
	}
	bobs := newTeamFixtures(t, ts, bobsTeam)

	routes := teamRoutes(t, ts)
	for _, route := range routes {
		for _, who := range []string{"bob", "cyd", "dan"} {
			res := f.send(users[who], route, views.TeamURL(team.TeamID()))
			if res.StatusCode != http.StatusNotFound || !strings.Contains(res.body, "Page not found") {
				t.Errorf("%s by %s (not a member): %d, want the 404 page", route, who, res.StatusCode)
			}
		}
		// Bob's own rows, named under ada's team: 404 too.
		if res := bobs.send(users["bob"], route, views.TeamURL(team.TeamID())); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s by bob, with his own team's ids under ada's team: %d", route, res.StatusCode)
		}
		for _, path := range []string{"/t/999999999", "/t/abc", "/t/0", "/t/-1"} {
			if res := f.send(users["ada"], route, path); res.StatusCode != http.StatusNotFound {
				t.Errorf("%s in %s: %d, want 404", route, path, res.StatusCode)
			}
		}
		res := f.send(ts.newClient(), route, views.TeamURL(team.TeamID()))
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
			t.Errorf("%s anonymous: %d to %q, want the login", route, res.StatusCode, res.Header.Get("Location"))
		}
	}
	if n := ts.count(`SELECT count(*) FROM projects WHERE team_id = ?`, bobsTeam.TeamID()); n != len(bobs.projects) {
		t.Fatal("bob's own projects were changed through ada's team")
	}

	// The API: every endpoint with an {id}, named with the team's project.
	tokens := map[string]string{"bob": users["bob"].newToken("own"), "dan": users["dan"].newToken("own"), "cyd (removed)": cydSecret}
	var withID int
	for _, pattern := range ts.srv.apiPatterns {
		if !strings.Contains(pattern, "{id}") {
			continue
		}
		withID++
		method, path, _ := strings.Cut(pattern, " ")
		path = strings.ReplaceAll(path, "{id}", itoa64(f.projects[0]))
		for who, token := range tokens {
			res, body := ts.api(method, path, token, `{"name":"taken"}`)
			want := http.StatusNotFound
			if who == "cyd (removed)" {
				want = http.StatusUnauthorized
			}
			if res.StatusCode != want {
				t.Errorf("%s by %s: %d %v, want %d", pattern, who, res.StatusCode, body, want)
			}
		}
		if res, _ := ts.api(method, path, "", `{"name":"taken"}`); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d, want 401", pattern, res.StatusCode)
		}
	}
	if withID < 3 {
		t.Fatalf("only %d API endpoints with an id found in %v", withID, ts.srv.apiPatterns)
	}
	if got, err := ts.db.Project(ctx, team, f.projects[0]); err != nil || got.Name == "taken" {
		t.Fatalf("the team's project after the API matrix: %+v, %v", got, err)
	}
}

// TestTeamRolesFollowTheTable: every team route, for each role, answers as
// the permission table (app/team_permissions.go) says: 403 below the
// action's role, an answer at or above it. A route registered without an
// action cannot exist (teamGroup.handle panics), so every route is here.
func TestTeamRolesFollowTheTable(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	users := map[string]*client{}
	for _, name := range []string{"ada", "bob", "cyd"} {
		users[name] = ts.newClient()
		users[name].signupVerified(name + "@example.com")
	}
	roles := map[string]string{"ada": db.RoleOwner, "bob": db.RoleAdmin, "cyd": db.RoleMember}
	for _, route := range teamRoutes(t, ts) {
		action := ts.srv.teamActions[route]
		for who, role := range roles {
			// A fresh team for each request: they act for real (a hand-over,
			// a deletion), and each must meet the roles as set up.
			team, _ := ts.db.CreateTeam(ctx, ts.userID("ada@example.com"), "Acme")
			ts.db.AddMember(ctx, team, ts.userID("bob@example.com"), db.RoleAdmin)
			ts.db.AddMember(ctx, team, ts.userID("cyd@example.com"), db.RoleMember)
			// On Pro: no plan limit gets in the way of the rows made here.
			if _, err := ts.db.ApplySubscription(ctx, db.Subscription{ID: "sub_" + itoa64(team.TeamID()), TeamID: team.TeamID(),
				CustomerID: "cus_" + itoa64(team.TeamID()), PriceID: "price_pro", Plan: PlanPro, Status: "active", Version: 1}); err != nil {
				t.Fatal(err)
			}
			f := newTeamFixtures(t, ts, team)
			res := f.send(users[who], route, views.TeamURL(team.TeamID()))
			switch {
			case res.StatusCode >= 500:
				t.Errorf("%s (%s) by the %s: %d", route, action, role, res.StatusCode)
			case !allowed(role, action) && res.StatusCode != http.StatusForbidden:
				t.Errorf("%s (%s) by the %s: %d, want 403", route, action, role, res.StatusCode)
			case allowed(role, action) && res.StatusCode == http.StatusForbidden:
				t.Errorf("%s (%s) by the %s: 403, the table allows it", route, action, role)
			}
			ts.db.DeleteTeam(ctx, team)
		}
	}
	for pattern, action := range ts.srv.teamActions {
		if _, ok := teamPermissions[action]; !ok {
			t.Errorf("%s: action %q is not in the table", pattern, action)
		}
	}
}

// teamRoutes are the registered page routes under /t/{team}, deletes last
// (a request that deletes a fixture runs after those that read it).
func teamRoutes(t *testing.T, ts *testServer) []string {
	t.Helper()
	var routes []string
	for _, p := range ts.srv.pagePatterns {
		if strings.Contains(p, " /t/{team}/") {
			routes = append(routes, p)
		}
	}
	if len(routes) < 9 {
		t.Fatalf("only %d team routes found: %v", len(routes), routes)
	}
	last := func(p string) bool {
		return strings.HasSuffix(p, "/delete") || strings.HasSuffix(p, "/revoke") || strings.HasSuffix(p, "/remove") ||
			strings.HasSuffix(p, "/leave") || strings.HasSuffix(p, "/transfer")
	}
	slices.SortStableFunc(routes, func(a, b string) int {
		return strings.Compare(strconv.FormatBool(last(a)), strconv.FormatBool(last(b)))
	})
	return routes
}

// teamFixtures are rows of one team that its routes' {id} name: a project
// and a pending invitation.
type teamFixtures struct {
	t          *testing.T
	projects   []int64
	invitation int64
	member     int64 // a member (role member) to act on
}

var fixtureSeq atomic.Int64

func newTeamFixtures(t *testing.T, ts *testServer, team db.Scope) *teamFixtures {
	t.Helper()
	ctx := context.Background()
	p, err := ts.db.CreateProject(ctx, team, "Rocket")
	if err != nil {
		t.Fatal(err)
	}
	n := fixtureSeq.Add(1)
	inv, err := ts.db.CreateInvitation(ctx, team, "guest"+strconv.FormatInt(n, 10)+"@example.com", db.RoleMember,
		[]byte("fixture-hash-"+strconv.FormatInt(n, 10)), time.Now().Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	u, err := ts.db.CreateUser(ctx, "member"+strconv.FormatInt(n, 10)+"@example.com", "", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.db.AddMember(ctx, team, u.ID, db.RoleMember); err != nil && err != db.ErrPersonalTeam {
		t.Fatal(err)
	}
	return &teamFixtures{t: t, projects: []int64{p.ID}, invitation: inv.ID, member: u.ID}
}

// send sends the route's request with teamPath for /t/{team} and the
// fixture the route's {id} names.
func (f *teamFixtures) send(c *client, pattern, teamPath string) response {
	f.t.Helper()
	method, path, _ := strings.Cut(pattern, " ")
	path = strings.Replace(path, "/t/{team}", teamPath, 1)
	id := f.projects[0]
	if strings.Contains(path, "/invitations/{id}") {
		id = f.invitation
	}
	path = strings.Replace(path, "{id}", strconv.FormatInt(id, 10), 1)
	path = strings.Replace(path, "{user}", strconv.FormatInt(f.member, 10), 1)
	if unknown := regexp.MustCompile(`\{[a-z]+\}`).FindString(path); unknown != "" {
		f.t.Fatalf("%s: no value for %s in the matrix; add one", pattern, unknown)
	}
	if method == http.MethodPost {
		n := fixtureSeq.Add(1)
		role := db.RoleAdmin // a role change promotes; an invitation is a member's (only owners invite admins)
		if strings.Contains(path, "/invitations") {
			role = db.RoleMember
		}
		return c.post(path, url.Values{"name": {"Renamed"}, "email": {"new" + strconv.FormatInt(n, 10) + "@example.com"},
			"role": {role}, "user": {strconv.FormatInt(f.member, 10)}})
	}
	return c.get(path)
}

// TestTeamPlanIsTheTeams: a team's limits are its own plan, whoever acts:
// neither a member's Pro plan nor its owner's personal one lifts the Free
// limit of a team that does not pay; once the team pays, it is lifted.
func TestTeamPlanIsTheTeams(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	ada, bob := ts.newClient(), ts.newClient()
	ada.signup("ada@example.com")
	bob.signup("bob@example.com")
	adaID, bobID := ts.userID("ada@example.com"), ts.userID("bob@example.com")
	for i, id := range []int64{adaID, bobID} { // both on Pro, each in their personal team
		if _, err := ts.db.ApplySubscription(ctx, db.Subscription{ID: "sub_" + strconv.Itoa(i), TeamID: ts.team(id).TeamID(),
			CustomerID: "cus_" + strconv.Itoa(i), PriceID: "price_pro", Plan: PlanPro, Status: "active", Version: 1}); err != nil {
			t.Fatal(err)
		}
	}
	team, _ := ts.db.CreateTeam(ctx, adaID, "Acme")
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
	wantStatus(t, ada.post(projects, url.Values{"name": {"a fourth"}}), http.StatusForbidden)
	// In his own team his Pro plan applies.
	for i := range 4 {
		wantStatus(t, bob.post("/projects", url.Values{"name": {"own " + strconv.Itoa(i)}}), http.StatusSeeOther)
	}
	// The team pays: its limit goes, for every member.
	if _, err := ts.db.ApplySubscription(ctx, db.Subscription{ID: "sub_acme", TeamID: team.TeamID(), CustomerID: "cus_acme",
		PriceID: "price_pro", Plan: PlanPro, Status: "active", Quantity: 2, Version: 1}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, bob.post(projects, url.Values{"name": {"a fourth"}}), http.StatusSeeOther)
	wantBody(t, bob.get(projects), "a fourth")
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

// TestInvitationsByMail: the whole invitation, from the mail to the team.
// The link opens a page that spends nothing; joining needs an account with
// the invited address, proven; the link works once; a revoked or renewed
// link dies; a member cannot invite; the team's plan caps its seats.
func TestInvitationsByMail(t *testing.T) {
	ts := newTestServer(t)
	ada := ts.newClient()
	ada.signupVerified("ada@example.com")
	acme := strings.TrimSuffix(ada.post("/teams", url.Values{"name": {"Acme"}}).Header.Get("Location"), "/projects")
	ada.post(acme+"/projects", url.Values{"name": {"Apollo"}})
	invite := func(c *client, email, role string) response {
		t.Helper()
		return c.post(acme+"/invitations", url.Values{"email": {email}, "role": {role}})
	}
	linkTo := func(email string) string {
		t.Helper()
		ts.mailSettled() // the newest mail has arrived
		return ts.path(ts.smtp.latest(email, "invited you to Acme").link(t, ts.URL+"/invitations/accept?token="))
	}

	wantRedirect(t, invite(ada, " Bob@Example.com ", "member"), acme+"/members")
	res := ada.get(acme + "/members")
	wantBody(t, res, "Invitation sent to bob@example.com.", "bob@example.com", "2 of 3 people on the Free plan, invitations included.")
	link := linkTo("bob@example.com")
	mail := ts.smtp.latest("bob@example.com", "invited you to Acme")
	if !strings.Contains(mail.Text, "ada@example.com invited you to join the team Acme on Skiff, as a member.") ||
		!strings.Contains(mail.Text, "The link works once, for bob@example.com") {
		t.Fatalf("the invitation mail:\n%s", mail.Text)
	}

	// Opened by a scanner, or by bob before he has an account: nothing spent.
	for range 2 {
		res = ts.newClient().get(link)
		wantStatus(t, res, http.StatusOK)
		wantBody(t, res, "Join Acme", "Log in to join", "/signup?email=bob%40example.com")
	}
	if res.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Error("the invitation page lets its token out in a Referer")
	}

	// Cyd, logged in, cannot take bob's invitation.
	cyd := ts.newClient()
	cyd.signupVerified("cyd@example.com")
	wantBody(t, cyd.get(link), "You are logged in with another address")
	res = cyd.post("/invitations/accept", url.Values{"token": {tokenOf(t, link)}})
	wantStatus(t, res, http.StatusForbidden)
	wantBody(t, res, "This invitation is for another address")

	// Bob signs up, unproven first.
	bob := ts.newClient()
	bob.signup("bob@example.com")
	wantBody(t, bob.get(link), "Confirm your address first")
	wantStatus(t, bob.post("/invitations/accept", url.Values{"token": {tokenOf(t, link)}}), http.StatusForbidden)
	bob.verifyEmail("bob@example.com")
	wantBody(t, bob.get(link), "Join Acme</button>")
	wantRedirect(t, bob.post("/invitations/accept", url.Values{"token": {tokenOf(t, link)}}), acme+"/projects")
	res = bob.get(acme + "/projects")
	wantBody(t, res, "You joined Acme.", "Apollo")
	wantBody(t, bob.get(acme+"/members"), "ada@example.com", "Owner", "bob@example.com", "Member")
	// Spent: the same answer as any dead link, naming no team.
	res = bob.post("/invitations/accept", url.Values{"token": {tokenOf(t, link)}})
	wantStatus(t, res, http.StatusBadRequest)
	wantBody(t, res, "This invitation has expired")
	res = ts.newClient().get(link)
	wantStatus(t, res, http.StatusBadRequest)
	if strings.Contains(res.body, "Acme") {
		t.Fatal("a dead invitation link names the team")
	}

	// A member may not invite (the permission table), nor pick admin.
	res = invite(bob, "dan@example.com", "member")
	wantStatus(t, res, http.StatusForbidden)
	wantBody(t, res, "Only the team&#39;s admins and its owner may invite people by mail")
	if strings.Contains(bob.get(acme+"/members").body, "Send invitation") {
		t.Fatal("a member is shown the invite form")
	}

	// The Free plan: 3 people, invitations included.
	wantRedirect(t, invite(ada, "cyd@example.com", "admin"), acme+"/members")
	res = invite(ada, "dan@example.com", "member")
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantBody(t, res, "The team is full: the Free plan includes teams of up to 3 people, invitations included. Nothing was sent.")
	for email, msg := range map[string]string{"bob@example.com": "bob@example.com is a member of the team already.",
		"not an address": "Enter a valid email address"} {
		res = invite(ada, email, "member")
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantBody(t, res, msg)
	}

	// Cyd's invitation sent again: the first link dies, the second works;
	// then revoked: dead too.
	first := linkTo("cyd@example.com")
	cydInv := ts.count(`SELECT id FROM invitations WHERE email = 'cyd@example.com'`)
	inv := acme + "/invitations/" + strconv.Itoa(cydInv)
	wantRedirect(t, ada.post(inv+"/resend", nil), acme+"/members")
	second := linkTo("cyd@example.com")
	if second == first {
		t.Fatal("sent again with the same link")
	}
	wantStatus(t, cyd.get(first), http.StatusBadRequest)
	wantBody(t, cyd.get(second), "as an admin.", "Join Acme</button>")
	wantRedirect(t, ada.post(inv+"/revoke", nil), acme+"/members")
	wantStatus(t, cyd.post("/invitations/accept", url.Values{"token": {tokenOf(t, second)}}), http.StatusBadRequest)
	wantStatus(t, ada.post(inv+"/revoke", nil), http.StatusNotFound)
	if n := ts.count(`SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = 'cyd@example.com' AND m.team_id = ?`,
		ts.count(`SELECT id FROM teams WHERE name = 'Acme'`)); n != 0 {
		t.Fatal("cyd joined through a revoked invitation")
	}
}

// TestREADMEPermissionTable: the README's permission table is the code's.
func TestREADMEPermissionTable(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	start, end := strings.Index(string(b), "<!-- permissions -->"), strings.Index(string(b), "<!-- /permissions -->")
	if start < 0 || end < start {
		t.Fatal("no <!-- permissions --> table in the README")
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(b)[start:end], "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		rows[strings.Trim(strings.TrimSpace(cells[1]), "`")] = strings.TrimSpace(cells[2])
	}
	who := map[string]string{db.RoleMember: "members, admins, owner", db.RoleAdmin: "admins, owner", db.RoleOwner: "owner"}
	for action, p := range teamPermissions {
		if rows[action] != who[p.Min] {
			t.Errorf("README: %s is %q, the code says %q", action, rows[action], who[p.Min])
		}
	}
	if len(rows) != len(teamPermissions) {
		t.Errorf("README lists %d actions, the code %d", len(rows), len(teamPermissions))
	}
}

// TestManagingMembers: removal, role changes, leaving, handing over and
// deleting, each by whom the table allows, each taking effect at the next
// request of the member it concerns.
func TestManagingMembers(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	c := map[string]*client{}
	for _, name := range []string{"ada", "bob", "cyd", "dan"} {
		c[name] = ts.newClient()
		c[name].signupVerified(name + "@example.com")
	}
	id := func(name string) string { return strconv.FormatInt(ts.userID(name+"@example.com"), 10) }
	team, _ := ts.db.CreateTeam(ctx, ts.userID("ada@example.com"), "Acme")
	ts.db.AddMember(ctx, team, ts.userID("bob@example.com"), db.RoleAdmin)
	ts.db.AddMember(ctx, team, ts.userID("cyd@example.com"), db.RoleMember)
	base := views.TeamURL(team.TeamID())
	members := base + "/members"

	res := c["ada"].get(members)
	wantBody(t, res, "Make member", "Make admin", "Remove bob@example.com", "Remove cyd@example.com", "Hand the team over to bob@example.com", "Hand the team over to cyd@example.com", "Delete Acme")
	res = c["bob"].get(members)
	wantBody(t, res, "Remove cyd@example.com", "Leave Acme")
	for _, not := range []string{"Remove ada@example.com", "Make admin", "Delete Acme"} {
		if strings.Contains(res.body, not) {
			t.Errorf("an admin is offered %q", not)
		}
	}
	if strings.Contains(c["cyd"].get(members).body, "Remove ") {
		t.Error("a member is offered to remove someone")
	}

	// An admin removes a member, not the owner nor another admin.
	wantStatus(t, c["bob"].post(members+"/"+id("ada")+"/remove", nil), http.StatusForbidden)
	wantRedirect(t, c["bob"].post(members+"/"+id("cyd")+"/remove", nil), members)
	wantBody(t, c["bob"].get(members), "cyd@example.com was removed from the team.")
	wantStatus(t, c["cyd"].get(base+"/projects"), http.StatusNotFound)
	wantStatus(t, c["bob"].post(members+"/"+id("cyd")+"/remove", nil), http.StatusNotFound)

	// The owner makes bob a member: he can no longer invite.
	wantRedirect(t, c["ada"].post(members+"/"+id("bob")+"/role", url.Values{"role": {"member"}}), members)
	wantStatus(t, c["bob"].post(base+"/invitations", url.Values{"email": {"eve@example.com"}}), http.StatusForbidden)
	wantStatus(t, c["ada"].post(members+"/"+id("ada")+"/role", url.Values{"role": {"member"}}), http.StatusConflict)

	// The owner cannot leave; bob can.
	wantStatus(t, c["ada"].post(base+"/leave", nil), http.StatusConflict)
	wantRedirect(t, c["bob"].post(base+"/leave", nil), "/teams")
	wantBody(t, c["bob"].get("/teams"), "You left Acme.")
	wantStatus(t, c["bob"].get(base+"/projects"), http.StatusNotFound)

	// Handed over to dan: ada stays as an admin and may not delete it; dan may.
	ts.db.AddMember(ctx, team, ts.userID("dan@example.com"), db.RoleMember)
	wantStatus(t, c["ada"].post(base+"/transfer", url.Values{"user": {id("cyd")}}), http.StatusBadRequest) // not a member
	wantRedirect(t, c["ada"].post(base+"/transfer", url.Values{"user": {id("dan")}}), members)
	wantBody(t, c["ada"].get(members), "dan@example.com owns Acme now; you are an admin.")
	wantStatus(t, c["ada"].post(base+"/delete", nil), http.StatusForbidden)
	c["dan"].post(base+"/projects", url.Values{"name": {"Apollo"}})
	wantRedirect(t, c["dan"].post(base+"/delete", nil), "/teams")
	wantBody(t, c["dan"].get("/teams"), "Acme and its projects were deleted.")
	wantStatus(t, c["ada"].get(base+"/projects"), http.StatusNotFound)
	if n := ts.count(`SELECT count(*) FROM projects WHERE team_id = ?`, team.TeamID()); n != 0 {
		t.Fatalf("%d projects of the deleted team left", n)
	}
	// A personal team is not deleted on its own.
	personal := views.TeamURL(ts.team(ts.userID("ada@example.com")).TeamID())
	wantStatus(t, c["ada"].post(personal+"/delete", nil), http.StatusConflict)
}

// TestRenamingATeam: admins and the owner rename a team; its links stay
// right (they carry its id); a personal team keeps its name.
func TestRenamingATeam(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	ada, cyd := ts.newClient(), ts.newClient()
	ada.signupVerified("ada@example.com")
	cyd.signupVerified("cyd@example.com")
	team, _ := ts.db.CreateTeam(ctx, ts.userID("ada@example.com"), "Acme")
	ts.db.AddMember(ctx, team, ts.userID("cyd@example.com"), db.RoleMember)
	base := views.TeamURL(team.TeamID())
	wantBody(t, ada.get(base+"/members"), `name="team_name"`, `value="Acme"`)
	res := ada.post(base+"/rename", url.Values{"name": {""}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantBody(t, res, "Give your team a name.")
	wantRedirect(t, ada.post(base+"/rename", url.Values{"name": {" Acme Rockets "}}), base+"/members")
	wantBody(t, ada.get(base+"/members"), "Acme is called Acme Rockets now.", "In the team <strong>Acme Rockets</strong>")
	wantBody(t, cyd.get(base+"/projects"), "Acme Rockets")
	if strings.Contains(cyd.get(base+"/members").body, `name="team_name"`) {
		t.Error("a member is offered the rename form")
	}
	personal := views.TeamURL(ts.team(ts.userID("ada@example.com")).TeamID())
	wantStatus(t, ada.post(personal+"/rename", url.Values{"name": {"Mine"}}), http.StatusConflict)
}

// TestTeamsArePaged: the teams page shows a page of a user's teams, and its
// links lead through all of them, each once.
func TestTeamsArePaged(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	ada, bob := ts.newClient(), ts.newClient()
	ada.signup("ada@example.com")
	bob.signup("bob@example.com")
	for i := range widePageSize + 5 {
		team, err := ts.db.CreateTeam(ctx, ts.userID("bob@example.com"), "Team "+strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		ts.db.AddMember(ctx, team, ts.userID("ada@example.com"), db.RoleMember)
	}
	rows, pages := followPages(t, ada, "/teams", regexp.MustCompile(`<td><a href="/t/(\d+)/projects">`))
	if len(rows) != widePageSize+6 || pages != 2 {
		t.Fatalf("%d teams on %d pages, want %d (with the personal one) on 2", len(rows), pages, widePageSize+6)
	}
	wantBadCursor(t, ada, "/teams?cursor=abc")
}
