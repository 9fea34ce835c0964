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
	Team db.Scope
	Plan Plan
	Owns bool // the user owns the team, so its plan is theirs to change
}

// pageOwner is the logged-in user of a page request (behind requireUser),
// in their personal team or the one of /t/{team}.
func (s *Server) pageOwner(r *http.Request) owner {
	st := state(r)
	owns := st.teamInfo.ID == 0 || st.teamInfo.OwnerID == st.user.ID
	return owner{Team: st.team, Plan: s.plan(st.plan), Owns: owns}
}

// apiOwner is the caller of an API request, in their personal team.
func (s *Server) apiOwner(c apiCaller) owner {
	return owner{Team: c.team, Plan: s.plan(c.plan), Owns: true}
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
