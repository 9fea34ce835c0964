package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"skiff/db"
	"skiff/views"
)

// A team's changes, and its audit log. Every change a member makes to a team
// (its projects, members, invitations, name, owner) runs through teamTx: one
// write transaction that first checks again that the user is still a member
// whose role allows the request's action, then makes the change and writes
// its line in the team's audit log. The single writer runs it after any
// removal or demotion committed before it, so a member removed a moment ago
// cannot outrun their removal, and no change goes unlogged.

// teamTx runs change as o, in o's team, with its audit line: change gets
// the team with o's role as they stand in this transaction (for any rule
// beyond the action's, such as acting only on roles below one's own), and
// fills in the line's action and what it was about (an action left ""
// records nothing). A user no longer in the team gets db.ErrNotFound (404, as for
// any team that is not theirs), one whose role no longer allows o.Action a
// 403, and nothing is changed.
func (s *Server) teamTx(ctx context.Context, o owner, change func(q db.Queries, me db.Team, e *db.AuditEntry) error) error {
	return s.db.Tx(ctx, func(q db.Queries) error {
		_, team, err := q.Membership(ctx, o.Team.UserID(), o.Team.TeamID())
		if err != nil {
			return err
		}
		if o.Action != "" && !allowed(team.Role, o.Action) {
			return forbiddenAction(o.Action)
		}
		var e db.AuditEntry
		if err := change(q, team, &e); err != nil {
			return err
		}
		if e.Action == "" {
			return nil
		}
		e.TeamID, e.ActorID, e.Actor = o.Team.TeamID(), o.Team.UserID(), o.Actor
		return q.RecordAudit(ctx, e)
	})
}

// auditWords is what each action reads as on the audit log page, after the
// actor's name; %s is the line's subject.
var auditWords = map[string]string{
	db.AuditTeamCreated:       "created the team",
	db.AuditTeamRenamed:       "renamed the team",
	db.AuditTeamTransferred:   "handed the team over to %s",
	db.AuditMemberInvited:     "invited %s",
	db.AuditInvitationResent:  "sent the invitation to %s again",
	db.AuditInvitationRevoked: "revoked the invitation to %s",
	db.AuditMemberJoined:      "joined the team",
	db.AuditMemberRemoved:     "removed %s from the team",
	db.AuditMemberLeft:        "left the team",
	db.AuditRoleChanged:       "changed the role of %s",
	db.AuditPlanChanged:       "changed the team's plan",
	db.AuditProjectCreated:    "created the project %s",
	db.AuditProjectRenamed:    "renamed the project %s",
	db.AuditProjectDeleted:    "deleted the project %s",
	db.AuditTokenCreated:      "created the API token %s",
	db.AuditTokenRevoked:      "revoked the API token %s",
	db.AuditSeatsChanged:      "changed the seats Stripe bills",
}

// auditText is a line of the log in words, without its actor.
func auditText(e db.AuditEntry) string {
	words, ok := auditWords[e.Action]
	if !ok {
		return e.Action + " " + e.Subject
	}
	if before, after, ok := strings.Cut(words, "%s"); ok {
		return before + e.Subject + after
	}
	return words
}

// handleAuditLog handles "GET /t/{team}/audit" (cursor): the team's audit
// log, the newest first, a page at a time.
func (s *Server) handleAuditLog(w http.ResponseWriter, r *http.Request) error {
	page, err := readPage(r, defaultPageSize)
	if err != nil {
		return err
	}
	rows, err := s.db.AuditLog(r.Context(), s.pageOwner(r).Team, page.Before, page.fetch())
	if err != nil {
		return err
	}
	lines, next := cut(page, rows, func(e db.AuditEntry) int64 { return e.ID })
	data := views.AuditLog{Team: s.teamView(r), Pager: pager(r, page, next)}
	for _, e := range lines {
		data.Lines = append(data.Lines, views.AuditLine{At: e.CreatedAt, Actor: e.Actor, Text: auditText(e), Detail: e.Detail})
	}
	s.render(w, r, http.StatusOK, views.AuditLogPage(s.page(r, "Audit log"), data))
	return nil
}

// handleTeamExport handles "GET /t/{team}/export": the team's data as JSON
// (members, projects, billing, the whole audit log).
func (s *Server) handleTeamExport(w http.ResponseWriter, r *http.Request) error {
	o := s.pageOwner(r)
	e, err := s.db.ExportTeam(r.Context(), o.Team)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(struct {
		ExportedAt string `json:"exported_at"`
		db.TeamExport
	}{time.Now().UTC().Format(time.RFC3339), e}, "", "  ")
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="skiff-team-`+strconv.FormatInt(o.Team.TeamID(), 10)+`.json"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(append(b, '\n'))
	return nil
}
