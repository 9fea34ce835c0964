package app

import (
	"net/http"

	"skiff/db"
)

// The permission table: what each role may do in a team. It is the only
// place a team route's rule is written. A route is registered with its
// action (teamGroup.handle), requireAction refuses the roles below the
// action's (403, the page saying who may), and TestTeamRolesFollowTheTable
// walks every team route and every role against this table. The README's
// table is this one.
//
// Roles rank member < admin < owner; the owner is the one in teams.owner_id.
var teamPermissions = map[string]struct {
	Min  string // the least role that may
	What string // what the action covers, for the refusal and the README
}{
	"projects":       {db.RoleMember, "see, create, rename and delete the team's projects"},
	"members.view":   {db.RoleMember, "see the team's members"},
	"members.invite": {db.RoleAdmin, "invite people by mail, send an invitation again, revoke one"},
	"members.remove": {db.RoleAdmin, "remove a member whose role is below their own"},
	"members.roles":  {db.RoleOwner, "make a member an admin, or an admin a member"},
	"team.rename":    {db.RoleAdmin, "rename the team"},
	"team.leave":     {db.RoleMember, "leave the team (its owner hands it over first)"},
	"team.transfer":  {db.RoleOwner, "hand the team over to another member, staying as an admin"},
	"team.delete":    {db.RoleOwner, "delete the team with its projects (its subscription is cancelled)"},
	"billing.view":   {db.RoleAdmin, "see the team's plan, seats and subscription"},
	"billing.manage": {db.RoleOwner, "choose the team's plan and open Stripe's checkout and billing portal"},
	"audit.view":     {db.RoleAdmin, "read the team's audit log and download the team's data"},
}

// canActOn reports whether a member with role actor may remove one with
// role target: only below their own (an admin removes members, the owner
// anyone but themselves).
func canActOn(actor, target string) bool { return roleRank[actor] > roleRank[target] }

var roleRank = map[string]int{db.RoleMember: 1, db.RoleAdmin: 2, db.RoleOwner: 3}

// allowed reports whether role may take action.
func allowed(role, action string) bool {
	p, ok := teamPermissions[action]
	return ok && roleRank[role] >= roleRank[p.Min]
}

// teamGroup registers a team's routes (behind requireTeam), each with its
// action from the permission table.
type teamGroup struct{ g group }

// handle registers h for pattern, for the roles the action allows. An
// action missing from the table stops the server at start-up (and every
// test): a team route without a rule cannot exist.
func (t teamGroup) handle(pattern, action string, h handlerFunc) {
	if _, ok := teamPermissions[action]; !ok {
		panic("team route " + pattern + ": action " + action + " is not in teamPermissions (app/team_permissions.go)")
	}
	t.g.with(t.g.s.requireAction(action)).handle(pattern, h)
	t.g.s.teamActions[pattern] = action
}

// requireAction refuses a member whose role is below the action's.
func (s *Server) requireAction(action string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return s.handle(func(w http.ResponseWriter, r *http.Request) error {
			if !allowed(s.teamView(r).Role, action) {
				return forbiddenAction(action)
			}
			next.ServeHTTP(w, r)
			return nil
		})
	}
}

// forbiddenAction is the 403 for a role below action's, saying who may.
func forbiddenAction(action string) error {
	p := teamPermissions[action]
	who := "the team's " + p.Min + "s and its owner"
	if p.Min == db.RoleOwner {
		who = "the team's owner"
	}
	return &clientError{Status: http.StatusForbidden, Code: "forbidden", Title: "Not allowed in this team",
		Message: "Only " + who + " may " + p.What + ". Ask them."}
}
