package app

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"skiff/db"
	"skiff/views"
)

// Teams: every resource belongs to a team, and a page that acts in one says
// which in its address, /t/{team}/…. requireTeam is the one place that turns
// that address into the member's db.Scope, and a team the user is not in is
// the same 404 as a team that does not exist. Each user has a personal team,
// made at signup, which the pages outside /t/… act in.

// teamRoutes registers the teams page; the team's own pages (its projects)
// register themselves on the team group.
func (s *Server) teamRoutes(public, user group, team teamGroup) {
	user.handle("GET /teams", s.handleTeams)
	user.handle("POST /teams", s.handleTeamCreate)
	team.handle("GET /t/{team}/members", "members.view", s.handleMembers)
	team.handle("POST /t/{team}/invitations", "members.invite", s.handleInvite)
	team.handle("POST /t/{team}/invitations/{id}/resend", "members.invite", s.handleInviteResend)
	team.handle("POST /t/{team}/invitations/{id}/revoke", "members.invite", s.handleInviteRevoke)
	team.handle("POST /t/{team}/members/{user}/remove", "members.remove", s.handleMemberRemove)
	team.handle("POST /t/{team}/members/{user}/role", "members.roles", s.handleMemberRole)
	team.handle("POST /t/{team}/rename", "team.rename", s.handleTeamRename)
	team.handle("POST /t/{team}/leave", "team.leave", s.handleTeamLeave)
	team.handle("POST /t/{team}/transfer", "team.transfer", s.handleTeamTransfer)
	team.handle("POST /t/{team}/delete", "team.delete", s.handleTeamDelete)
	team.handle("GET /t/{team}/audit", "audit.view", s.handleAuditLog)
	team.handle("GET /t/{team}/export", "audit.view", s.handleTeamExport)
	public.handle("GET /invitations/accept", s.handleInvitationPage)
	user.handle("POST /invitations/accept", s.handleInvitationAccept)
}

// requireTeam serves /t/{team}/… only to members of that team: the request
// then acts in it (state(r).team, which pageOwner hands to every query),
// with the team's plan. Anyone else gets 404, as for a team that does
// not exist, so a team's existence is not told to outsiders.
func (s *Server) requireTeam(next http.Handler) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		id, err := strconv.ParseInt(r.PathValue("team"), 10, 64)
		if err != nil || id <= 0 {
			return db.ErrNotFound
		}
		if err := s.actIn(r, id); err != nil {
			return err
		}
		// Remembered for /dashboard; written only when it changes.
		if st := state(r); st.lastTeam != id && !readOnly(r) {
			if err := s.db.SetLastTeam(r.Context(), st.user.ID, id); err != nil {
				return err
			}
			st.lastTeam = id
		}
		next.ServeHTTP(w, r)
		return nil
	})
}

// actIn makes the request act in teamID, where the user must be a member
// (else db.ErrNotFound): its scope, the team, and the team's plan.
func (s *Server) actIn(r *http.Request, teamID int64) error {
	st := state(r)
	scope, team, err := s.db.Membership(r.Context(), st.user.ID, teamID)
	if err != nil {
		return err
	}
	if team.ID != st.team.TeamID() {
		// The team's own plan, not the one of the user's personal team
		// that the session carries.
		sub, err := s.db.CurrentSubscription(r.Context(), team.ID)
		switch {
		case errors.Is(err, db.ErrNotFound):
			st.sub, st.plan = nil, PlanFree
		case err != nil:
			return err
		default:
			st.sub, st.plan = &sub, entitledPlan(sub.Status, sub.Plan)
		}
	}
	st.team, st.teamInfo = scope, team
	return nil
}

// planOf is the plan teamID is entitled to now.
func (s *Server) planOf(ctx context.Context, teamID int64) (string, error) {
	sub, err := s.db.CurrentSubscription(ctx, teamID)
	if errors.Is(err, db.ErrNotFound) {
		return PlanFree, nil
	}
	if err != nil {
		return "", err
	}
	return entitledPlan(sub.Status, sub.Plan), nil
}

// teamView is the team the request acts in, as the pages show it.
func (s *Server) teamView(r *http.Request) views.Team {
	st := state(r)
	if st.teamInfo.ID == 0 {
		return views.Team{ID: st.team.TeamID(), Name: "Personal", Personal: true, Role: db.RoleOwner, CanAudit: true}
	}
	return teamView(st.teamInfo)
}

// teamView is a team as the pages show it.
func teamView(t db.Team) views.Team {
	return views.Team{ID: t.ID, Name: t.Name, Personal: t.Personal, Role: t.Role, CreatedAt: t.CreatedAt,
		CanAudit: allowed(t.Role, "audit.view")}
}

const maxTeamName = 100

// teamInput is the create-a-team form.
type teamInput struct{ Name string }

func (in teamInput) clean() teamInput {
	in.Name = strings.TrimSpace(in.Name)
	return in
}

// Valid requires a printable name of 1 to 100 characters, as for a project.
func (in teamInput) Valid() map[string]string {
	if msg := nameProblem(in.Name, maxTeamName, "Give your team a name."); msg != "" {
		return map[string]string{"name": msg}
	}
	return nil
}

// handleTeams handles "GET /teams".
func (s *Server) handleTeams(w http.ResponseWriter, r *http.Request) error {
	return s.renderTeams(w, r, http.StatusOK, views.Form{})
}

func (s *Server) renderTeams(w http.ResponseWriter, r *http.Request, status int, f views.Form) error {
	u := s.currentUser(r)
	page, err := readPage(r, widePageSize)
	if err != nil {
		return err
	}
	rows, err := s.db.Teams(r.Context(), u.ID, page.Before, page.fetch())
	if err != nil {
		return err
	}
	teams, next := cut(page, rows, func(t db.Team) int64 { return t.ID })
	owned, err := s.db.CountOwnedTeams(r.Context(), u.ID, s.cfg.Limits.MaxOwnedTeams)
	if err != nil {
		return err
	}
	data := views.Teams{CanMore: owned < s.cfg.Limits.MaxOwnedTeams, Max: s.cfg.Limits.MaxOwnedTeams, Pager: pager(r, page, next)}
	for _, t := range teams {
		data.Items = append(data.Items, teamView(t))
	}
	s.render(w, r, status, views.TeamsPage(s.page(r, "Teams"), data, f))
	return nil
}

// handleTeamCreate handles "POST /teams": a team the user owns, then its
// projects page.
func (s *Server) handleTeamCreate(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(r); err != nil {
		return err
	}
	u := s.currentUser(r)
	in := teamInput{Name: r.PostForm.Get("name")}.clean()
	f := views.Form{Values: map[string]string{"name": in.Name}, Errors: in.Valid()}
	if f.Errors != nil {
		return s.renderTeams(w, r, http.StatusUnprocessableEntity, f)
	}
	// Counted in the creating transaction, on the single writer: two
	// creations at once cannot both take the last team.
	limit := s.cfg.Limits.MaxOwnedTeams
	var team db.Scope
	err := s.db.Tx(r.Context(), func(q db.Queries) error {
		owned, err := q.CountOwnedTeams(r.Context(), u.ID, limit)
		if err != nil {
			return err
		}
		if owned >= limit {
			return db.ErrLimitReached
		}
		if team, err = q.CreateTeam(r.Context(), u.ID, in.Name); err != nil {
			return err
		}
		return q.RecordAudit(r.Context(), db.AuditEntry{TeamID: team.TeamID(), ActorID: u.ID, Actor: actorName(*u),
			Action: db.AuditTeamCreated, Subject: in.Name})
	})
	if errors.Is(err, db.ErrLimitReached) {
		f.Error = "You own " + strconv.Itoa(limit) + " teams, the most one person may. Nothing was created."
		return s.renderTeams(w, r, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return err
	}
	s.redirect(w, r, views.ProjectsURL(team.TeamID()), "Team created. You are its owner.")
	return nil
}
