package app

import (
	"net/http"
	"strconv"

	"skiff/db"
)

// What every resource a user owns shares, whichever surface asks: who the
// request acts for, and the id in its path. A feature's rules take an owner,
// so the page and the API handler call the same function.

// owner is who a request acts for: a member in a team (db.Scope, which
// every team-scoped query takes and only a membership gives), and the plan
// that decides the team's limits. For now every request acts in the user's
// personal team, the one made at signup.
type owner struct {
	Team     db.Scope
	Plan     Plan
	Owns     bool   // the user owns the team, so its plan is theirs to change
	Personal bool   // the team is the user's personal one
	Action   string // the request's action in the permission table; "" in the user's personal team
	Actor    string // the user as the team's audit log names them
}

// pageOwner is the logged-in user of a page request (behind requireUser),
// in their personal team or the one of /t/{team}.
func (s *Server) pageOwner(r *http.Request) owner {
	st := state(r)
	owns := st.teamInfo.ID == 0 || st.teamInfo.OwnerID == st.user.ID
	return owner{Team: st.team, Plan: s.plan(st.plan), Owns: owns, Personal: st.teamInfo.ID == 0 || st.teamInfo.Personal,
		Action: s.teamActions[r.Pattern], Actor: actorName(*st.user)}
}

// apiOwner is the caller of an API request, in their token's team. The API
// serves projects only, an action of every member.
func (s *Server) apiOwner(c apiCaller) owner {
	return owner{Team: c.team, Plan: s.plan(c.plan), Owns: c.teamInfo.OwnerID == c.user.ID, Personal: c.teamInfo.Personal,
		Action: "projects", Actor: actorName(c.user) + " via the API"}
}

// actorName is how a team's audit log names a user: their name, else their
// address.
func actorName(u db.User) string {
	if u.DisplayName != "" {
		return u.DisplayName + " (" + u.Email + ")"
	}
	return u.Email
}

// idParam reads the {id} of the path, a positive integer. Anything else is
// db.ErrNotFound: no such row, as for someone else's.
func idParam(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, db.ErrNotFound
	}
	return id, nil
}
