package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"skiff/db"
)

// TestAuditLog: each change in a team writes its line, naming who did it, as
// it happened; the log is the admins' and the owner's, paged, and in the
// team's export; a deleted account's name leaves every log.
func TestAuditLog(t *testing.T) {
	fake := newFakeStripe(t)
	ts := newTestServer(t, withStripe(fake))
	ctx := context.Background()
	ada := ts.newClient()
	ada.signupVerified("ada@example.com")
	acme := strings.TrimSuffix(ada.post("/teams", url.Values{"name": {"Acme"}}).Header.Get("Location"), "/projects")
	team, _ := strconv.ParseInt(strings.TrimPrefix(acme, "/t/"), 10, 64)
	invite := func(email, role string) {
		t.Helper()
		wantRedirect(t, ada.post(acme+"/invitations", url.Values{"email": {email}, "role": {role}}), acme+"/members")
	}
	join := func(email string) *client {
		t.Helper()
		ts.mailSettled()
		link := ts.path(ts.smtp.latest(email, "invited you to Acme").link(t, ts.URL+"/invitations/accept?token="))
		c := ts.newClient()
		c.signupVerified(email)
		wantRedirect(t, c.post("/invitations/accept", url.Values{"token": {tokenOf(t, link)}}), acme+"/projects")
		return c
	}
	invite("bob@example.com", "admin")
	bob := join("bob@example.com")
	invite("cyd@example.com", "member")
	cydInv := itoa64(int64(ts.count(`SELECT id FROM invitations WHERE email = 'cyd@example.com'`)))
	wantRedirect(t, ada.post(acme+"/invitations/"+cydInv+"/revoke", nil), acme+"/members")
	invite("cyd@example.com", "member")
	// Sent before the re-sent one (on Postgres mail goes out from several
	// workers, in no set order).
	ts.mailSettled()
	cydInv = itoa64(int64(ts.count(`SELECT max(id) FROM invitations WHERE email = 'cyd@example.com'`)))
	wantRedirect(t, ada.post(acme+"/invitations/"+cydInv+"/resend", nil), acme+"/members")
	cyd := join("cyd@example.com")

	p := strings.TrimPrefix(bob.post(acme+"/projects", url.Values{"name": {"Apollo"}}).Header.Get("Location"), acme)
	wantRedirect(t, bob.post(acme+p+"/rename", url.Values{"name": {"Artemis"}}), acme+p)
	cyd.post(acme+"/projects", url.Values{"name": {"Gemini"}})
	wantRedirect(t, bob.post(acme+p+"/delete", nil), acme+"/projects")
	// Refused: no change, no line.
	wantStatus(t, cyd.post(acme+"/projects", url.Values{"name": {"Mercury"}}), http.StatusSeeOther)
	wantStatus(t, cyd.post(acme+"/projects", url.Values{"name": {"Venus"}}), http.StatusSeeOther)
	res := cyd.post(acme+"/projects", url.Values{"name": {"One too many"}})
	wantStatus(t, res, http.StatusForbidden)
	wantRedirect(t, ada.post(acme+"/members/"+itoa64(ts.userID("cyd@example.com"))+"/role", url.Values{"role": {"admin"}}), acme+"/members")
	wantRedirect(t, ada.post(acme+"/rename", url.Values{"name": {"Acme Rockets"}}), acme+"/members")
	now := time.Now().Unix()
	ts.db.SaveCustomer(ctx, team, "cus_acme")
	ts.sendEvent("customer.subscription.created", subscriptionObject("sub_acme", "cus_acme", "price_pro", "active", now), now)
	ts.sendEvent("customer.subscription.updated", subscriptionObject("sub_acme", "cus_acme", "price_pro", "active", now), now+1) // no change of plan

	want := []string{
		"ada@example.com|created the team|",
		"ada@example.com|invited bob@example.com|as an admin",
		"bob@example.com|joined the team|as an admin",
		"ada@example.com|invited cyd@example.com|as a member",
		"ada@example.com|revoked the invitation to cyd@example.com|",
		"ada@example.com|invited cyd@example.com|as a member",
		"ada@example.com|sent the invitation to cyd@example.com again|",
		"cyd@example.com|joined the team|as a member",
		"bob@example.com|created the project Apollo|",
		"bob@example.com|renamed the project Apollo|now Artemis",
		"cyd@example.com|created the project Gemini|",
		"bob@example.com|deleted the project Artemis|",
		"cyd@example.com|created the project Mercury|",
		"cyd@example.com|created the project Venus|",
		"ada@example.com|changed the role of cyd@example.com|member → admin",
		"ada@example.com|renamed the team|Acme → Acme Rockets",
		"Stripe|changed the team's plan|Free → Pro (subscription active, 1 seat)",
	}
	lines := func() []string {
		t.Helper()
		log, err := ts.db.AuditLog(ctx, ts.scopeIn(ts.userID("ada@example.com"), team), 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for i := len(log) - 1; i >= 0; i-- {
			out = append(out, log[i].Actor+"|"+auditText(log[i])+"|"+log[i].Detail)
		}
		return out
	}
	if got := lines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("the log, oldest first:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The page: admins and the owner, newest first; a member gets 403.
	res = bob.get(acme + "/audit")
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "Audit log", "changed the team&#39;s plan", "Free → Pro", "renamed the project Apollo")
	if strings.Index(res.body, "renamed the team") > strings.Index(res.body, "created the team") {
		t.Error("the log is not newest first")
	}
	wantBody(t, ada.get(acme+"/projects"), `href="`+acme+`/audit"`)
	invite("dan@example.com", "member")
	dan := join("dan@example.com")
	for _, path := range []string{"/audit", "/export"} {
		wantStatus(t, dan.get(acme+path), http.StatusForbidden)
	}
	if strings.Contains(dan.get(acme+"/projects").body, acme+"/audit") {
		t.Error("a member is shown the audit log's link")
	}

	// The export: the whole log, with the team's members, projects and billing.
	res = ada.get(acme + "/export")
	wantStatus(t, res, http.StatusOK)
	var export struct {
		Team     struct{ Name string }
		Members  []struct{ Email, Role string }
		Projects []struct{ Name string }
		Subs     []struct{ Plan string }                           `json:"subscriptions"`
		Customer string                                            `json:"stripe_customer"`
		AuditLog []struct{ Actor, Action, Subject, Detail string } `json:"audit_log"`
	}
	if err := json.Unmarshal([]byte(res.body), &export); err != nil {
		t.Fatal(err)
	}
	if export.Team.Name != "Acme Rockets" || len(export.Members) != 4 || len(export.Projects) != 3 || len(export.Subs) != 1 ||
		export.Customer != "cus_acme" || len(export.AuditLog) != len(want)+2 || export.AuditLog[0].Action != db.AuditMemberJoined {
		t.Fatalf("the team's export: %+v", export)
	}
	if got := res.Header.Get("Content-Disposition"); got != `attachment; filename="skiff-team-`+itoa64(team)+`.json"` {
		t.Errorf("Content-Disposition %q", got)
	}

	// Cyd deletes her account: her name leaves the log, the lines stay.
	wantRedirect(t, cyd.post("/settings/delete", url.Values{"delete_password": {testPassword}}), "/")
	got := strings.Join(lines(), "\n")
	if strings.Contains(got, "cyd@example.com") || !strings.Contains(got, "a deleted account|created the project Gemini") ||
		!strings.Contains(got, "ada@example.com|changed the role of a deleted account|") {
		t.Fatalf("the log after cyd's account was deleted:\n%s", got)
	}
	if !strings.Contains(got, "ada@example.com|invited a deleted account|") || !strings.Contains(got, "invited dan@example.com") {
		t.Error("the invitations to her address, and only those, should name a deleted account")
	}
	if !strings.HasSuffix(got, "a deleted account|left the team|their account was deleted") {
		t.Errorf("no line for her leaving with her account:\n%s", got)
	}
	// Dan leaves, then deletes his account: his name leaves Acme's log too.
	wantRedirect(t, dan.post(acme+"/leave", nil), "/teams")
	wantRedirect(t, dan.post("/settings/delete", url.Values{"delete_password": {testPassword}}), "/")
	if got := strings.Join(lines(), "\n"); strings.Contains(got, "dan@example.com") {
		t.Fatalf("a former member's address is in the log after his account was deleted:\n%s", got)
	}
}

// TestAuditLogIsPaged: the audit log page is paged by id; following its
// links shows every line once.
func TestAuditLogIsPaged(t *testing.T) {
	ts := newTestServer(t)
	ada := ts.newClient()
	ada.signupVerified("ada@example.com")
	acme := strings.TrimSuffix(ada.post("/teams", url.Values{"name": {"Acme"}}).Header.Get("Location"), "/projects")
	team, _ := strconv.ParseInt(strings.TrimPrefix(acme, "/t/"), 10, 64)
	for i := range defaultPageSize + 7 {
		if err := ts.db.RecordAudit(context.Background(), db.AuditEntry{TeamID: team, Actor: "ada", Action: db.AuditProjectCreated,
			Subject: "p-" + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	rows, pages := followPages(t, ada, acme+"/audit", regexp.MustCompile(`created the project (p-\d+)`))
	if len(rows) != defaultPageSize+7 || pages != 2 {
		t.Fatalf("%d lines over %d pages, want %d over 2", len(rows), pages, defaultPageSize+7)
	}
	wantBadCursor(t, ada, acme+"/audit?cursor=nonsense")
}

// TestTeamChangesCheckTheMemberAgain: a change checks the membership and the
// role inside its own transaction, so a member removed or demoted after
// their request was let in changes nothing and logs nothing.
func TestTeamChangesCheckTheMemberAgain(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	ts.newClient().signupVerified("ada@example.com")
	ts.newClient().signupVerified("bob@example.com")
	adaID, bobID := ts.userID("ada@example.com"), ts.userID("bob@example.com")
	team, _ := ts.db.CreateTeam(ctx, adaID, "Acme")
	ts.db.AddMember(ctx, team, bobID, db.RoleAdmin)
	bob := ts.scopeIn(bobID, team.TeamID())
	// Let in as an admin, to rename the team...
	o := owner{Team: bob, Plan: ts.srv.plan(PlanFree), Action: "team.rename", Actor: "bob@example.com"}
	rename := func(q db.Queries, me db.Team, e *db.AuditEntry) error {
		*e = db.AuditEntry{Action: db.AuditTeamRenamed, Detail: "Acme → Bob's"}
		return q.RenameTeam(ctx, bob, "Bob's")
	}
	// ...but demoted meanwhile: 403, nothing changed.
	ts.db.SetRole(ctx, team, bobID, db.RoleMember)
	err := ts.srv.teamTx(ctx, o, rename)
	if ce, ok := errors.AsType[*clientError](err); !ok || ce.Status != http.StatusForbidden {
		t.Fatalf("a demoted admin's rename: %v, want 403", err)
	}
	// ...or removed meanwhile: 404.
	ts.db.RemoveMember(ctx, team, bobID)
	o.Action = "projects"
	if err := ts.srv.teamTx(ctx, o, rename); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("a removed member's change: %v, want not found", err)
	}
	if n := ts.count(`SELECT count(*) FROM teams WHERE name = 'Acme'`); n != 1 {
		t.Fatal("the team was renamed")
	}
	if n := ts.count(`SELECT count(*) FROM audit_log WHERE team_id = ?`, team.TeamID()); n != 0 {
		t.Fatalf("%d lines logged for changes that were refused", n)
	}
}

// scopeIn is userID's scope in teamID, which they must be a member of.
func (ts *testServer) scopeIn(userID, teamID int64) db.Scope {
	ts.t.Helper()
	sc, _, err := ts.db.Membership(context.Background(), userID, teamID)
	if err != nil {
		ts.t.Fatal(err)
	}
	return sc
}
