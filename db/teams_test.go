package db

import (
	"context"
	"fmt"
	"testing"
)

// TestMigration0013MovesProjectsToPersonalTeams applies 0013 to a database at
// 0012 with data in every table: every user gets a personal team they own
// alone, every project moves into its owner's one with its id, name and
// date, no id is handed out twice, and deleting a user still takes exactly
// their rows.
func TestMigration0013MovesProjectsToPersonalTeams(t *testing.T) {
	ctx := context.Background()
	d := openAt(t, "0012_admin_at_scale.sql")
	fillAt0009(t, d)
	// A sixth project, deleted: its id must never come back.
	mustExec(t, d, `INSERT INTO projects (id, user_id, name, created_at) VALUES (6, 3, 'gone', '2026-01-01')`)
	mustExec(t, d, `DELETE FROM projects WHERE id = 6`)
	projectsOf := func(owner string) string {
		t.Helper()
		var s string
		d.Write.QueryRow(`SELECT coalesce(group_concat(id || ' ' || name || ' ' || created_at, ', '), '') FROM (SELECT * FROM projects WHERE ` + owner + ` ORDER BY id)`).Scan(&s)
		return s
	}
	before := map[int]string{}
	for uid := 1; uid <= 4; uid++ {
		before[uid] = projectsOf(fmt.Sprint("user_id = ", uid))
	}

	if _, err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, d, `SELECT count(*) FROM pragma_foreign_key_check`); n != 0 {
		t.Fatalf("foreign_key_check: %d rows", n)
	}
	for uid := 1; uid <= 4; uid++ {
		sc, err := d.PersonalScope(ctx, int64(uid))
		if err != nil {
			t.Fatalf("user %d has no personal team: %v", uid, err)
		}
		if sc.TeamID() <= 100000 {
			t.Errorf("user %d's team id %d: team ids start above 100000, far from user ids", uid, sc.TeamID())
		}
		if got := projectsOf(fmt.Sprint("team_id = ", sc.TeamID())); got != before[uid] {
			t.Errorf("user %d's projects: before %q, in their personal team %q", uid, before[uid], got)
		}
		teams, err := d.Teams(ctx, int64(uid), 0, 10)
		if err != nil || len(teams) != 1 || !teams[0].Personal || teams[0].Role != "owner" {
			t.Errorf("user %d's teams: %+v, %v; want only their personal team, as its owner", uid, teams, err)
		}
	}
	if n := count(t, d, `SELECT count(*) FROM projects`); n != 4 {
		t.Fatalf("%d projects after the migration, want 4", n)
	}
	ada, _ := d.PersonalScope(ctx, 1)
	p, err := d.CreateProject(ctx, ada, "new")
	if err != nil || p.ID != 7 {
		t.Fatalf("new project: id %d, %v; want 7 (6 was handed out before)", p.ID, err)
	}

	// Deleting a user takes their team and its projects, and nobody else's.
	if err := d.DeleteUser(ctx, 2, "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`SELECT count(*) FROM teams WHERE owner_id = 2`, `SELECT count(*) FROM memberships WHERE user_id = 2`} {
		if n := count(t, d, q); n != 0 {
			t.Errorf("%s: %d after the user was deleted", q, n)
		}
	}
	if n := count(t, d, `SELECT count(*) FROM projects`); n != 4 {
		t.Fatalf("%d projects after deleting Bob (who had 1 of 5), want 4", n)
	}
}

// TestProjectsAreTheTeams: a project is reached only through a scope of its
// team; another team's scope, and the zero Scope, find nothing.
func TestProjectsAreTheTeams(t *testing.T) {
	ctx := context.Background()
	d, _ := openTestDB(t)
	scopes := map[string]Scope{}
	for _, email := range []string{"ada@example.com", "bob@example.com"} {
		u, err := d.CreateUser(ctx, email, "", false)
		if err != nil {
			t.Fatal(err)
		}
		if scopes[email], err = d.PersonalScope(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	ada, bob := scopes["ada@example.com"], scopes["bob@example.com"]
	p, err := d.CreateProjectWithin(ctx, ada, "Moon", 3)
	if err != nil {
		t.Fatal(err)
	}
	for name, sc := range map[string]Scope{"another team": bob, "no team": {}} {
		if _, err := d.Project(ctx, sc, p.ID); err != ErrNotFound {
			t.Errorf("%s reads the project: %v", name, err)
		}
		if _, err := d.RenameProject(ctx, sc, p.ID, "Mars"); err != ErrNotFound {
			t.Errorf("%s renames the project: %v", name, err)
		}
		if err := d.DeleteProject(ctx, sc, p.ID); err != ErrNotFound {
			t.Errorf("%s deletes the project: %v", name, err)
		}
		if list, err := d.Projects(ctx, sc, 0, 10); err != nil || len(list) != 0 {
			t.Errorf("%s lists %v, %v", name, list, err)
		}
	}
	if got, err := d.Project(ctx, ada, p.ID); err != nil || got.Name != "Moon" || got.TeamID != ada.TeamID() {
		t.Fatalf("the team's own project: %+v, %v", got, err)
	}
}

// TestTeamMembers: the membership rules the team pages will build on. A team
// has one owner at every moment, who cannot be removed or demoted, only
// replaced by a member; a personal team takes no one else and cannot be
// given away or deleted on its own; and a member removed is no member.
func TestTeamMembers(t *testing.T) {
	ctx := context.Background()
	d, _ := openTestDB(t)
	ids := map[string]int64{}
	for _, name := range []string{"ada", "bob", "cyd"} {
		u, err := d.CreateUser(ctx, name+"@example.com", "", true)
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = u.ID
	}
	team, err := d.CreateTeam(ctx, ids["ada"], "Acme")
	if err != nil {
		t.Fatal(err)
	}
	role := func(who string) string {
		t.Helper()
		_, tm, err := d.Membership(ctx, ids[who], team.TeamID())
		if err == ErrNotFound {
			return "none"
		}
		if err != nil {
			t.Fatal(err)
		}
		return tm.Role
	}
	want := func(what string, got, want error) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}
	if role("ada") != RoleOwner || role("bob") != "none" {
		t.Fatalf("after CreateTeam: ada %s, bob %s", role("ada"), role("bob"))
	}

	want("add bob", d.AddMember(ctx, team, ids["bob"], RoleMember), nil)
	want("add bob again", d.AddMember(ctx, team, ids["bob"], RoleAdmin), ErrAlreadyMember)
	if err := d.AddMember(ctx, team, ids["cyd"], RoleOwner); err == nil {
		t.Error("a second owner was added as a member's role")
	}
	adaPersonal, _ := d.PersonalScope(ctx, ids["ada"])
	want("add to a personal team", d.AddMember(ctx, adaPersonal, ids["bob"], RoleMember), ErrPersonalTeam)
	if role("bob") != RoleMember {
		t.Fatalf("bob is %s", role("bob"))
	}

	want("promote bob", d.SetRole(ctx, team, ids["bob"], RoleAdmin), nil)
	want("demote the owner", d.SetRole(ctx, team, ids["ada"], RoleMember), ErrOwnerStays)
	want("set a stranger's role", d.SetRole(ctx, team, ids["cyd"], RoleAdmin), ErrNotFound)
	want("remove the owner", d.RemoveMember(ctx, team, ids["ada"]), ErrOwnerStays)
	want("transfer to a stranger", d.TransferTeam(ctx, team, ids["cyd"]), ErrNotFound)
	want("transfer a personal team", d.TransferTeam(ctx, adaPersonal, ids["bob"]), ErrPersonalTeam)

	want("transfer to bob", d.TransferTeam(ctx, team, ids["bob"]), nil)
	if role("bob") != RoleOwner || role("ada") != RoleAdmin {
		t.Fatalf("after the transfer: bob %s, ada %s; want owner, admin", role("bob"), role("ada"))
	}
	members, err := d.Members(ctx, team, 0, 10)
	if err != nil || len(members) != 2 {
		t.Fatalf("members: %+v, %v", members, err)
	}
	owners := 0
	for _, m := range members {
		if m.Role == RoleOwner {
			owners++
		}
	}
	if owners != 1 {
		t.Fatalf("%d owners listed, want 1: %+v", owners, members)
	}
	if page, _ := d.Members(ctx, team, members[0].UserID, 10); len(page) != 1 || page[0].UserID != members[1].UserID {
		t.Fatalf("the page after %d: %+v", members[0].UserID, page)
	}

	// A project of the team; ada leaves and reaches it no more.
	p, err := d.CreateProject(ctx, team, "Rocket")
	if err != nil {
		t.Fatal(err)
	}
	want("ada leaves", d.RemoveMember(ctx, team, ids["ada"]), nil)
	want("ada leaves again", d.RemoveMember(ctx, team, ids["ada"]), ErrNotFound)
	if _, _, err := d.Membership(ctx, ids["ada"], team.TeamID()); err != ErrNotFound {
		t.Fatalf("ada's membership after leaving: %v", err)
	}

	want("delete a personal team", d.DeleteTeam(ctx, adaPersonal), ErrPersonalTeam)
	want("delete the team", d.DeleteTeam(ctx, team), nil)
	if _, err := d.Project(ctx, team, p.ID); err != ErrNotFound {
		t.Fatalf("the deleted team's project: %v", err)
	}
	if n := count(t, d, `SELECT count(*) FROM memberships WHERE team_id = ?`, team.TeamID()); n != 0 {
		t.Fatalf("%d memberships of the deleted team left", n)
	}
	want("delete it again", d.DeleteTeam(ctx, team), ErrNotFound)
}
