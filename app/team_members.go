package app

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"skiff/db"
	"skiff/views"
)

// A team's members and invitations. An invitation is mailed to an address;
// its link works once, for an account with that address, proven, for
// invitationTTL. Admins and the owner invite (the permission table); only
// the owner invites admins.

const invitationTTL = 7 * 24 * time.Hour

// handleMembers handles "GET /t/{team}/members".
func (s *Server) handleMembers(w http.ResponseWriter, r *http.Request) error {
	return s.renderMembers(w, r, http.StatusOK, views.Form{})
}

func (s *Server) renderMembers(w http.ResponseWriter, r *http.Request, status int, f views.Form) error {
	ctx := r.Context()
	page, err := readPage(r, widePageSize)
	if err != nil {
		return err
	}
	o, team := s.pageOwner(r), s.teamView(r)
	rows, err := s.db.Members(ctx, o.Team, page.Before, page.fetch())
	if err != nil {
		return err
	}
	rows, next := cut(page, rows, func(m db.Member) int64 { return m.UserID })
	m := views.Members{Team: team, Pager: pager(r, page, next), CanInvite: allowed(team.Role, "members.invite"), CanAdmins: team.Role == db.RoleOwner,
		CanLeave: !team.Personal && team.Role != db.RoleOwner, IsOwner: !team.Personal && team.Role == db.RoleOwner,
		CanRename: !team.Personal && allowed(team.Role, "team.rename")}
	for _, mb := range rows {
		name := mb.DisplayName
		if name == "" {
			name = mb.Email
		}
		you := mb.UserID == o.Team.UserID()
		m.Items = append(m.Items, views.TeamMember{UserID: mb.UserID, Name: name, Email: mb.Email, Role: mb.Role, JoinedAt: mb.JoinedAt, You: you,
			CanRemove: !you && allowed(team.Role, "members.remove") && canActOn(team.Role, mb.Role),
			CanRole:   !you && allowed(team.Role, "members.roles") && mb.Role != db.RoleOwner,
			// On each member's own row, so it works on every page of a
			// team of any size.
			CanHandOver: !you && !team.Personal && allowed(team.Role, "team.transfer")})
	}
	if m.CanInvite && !team.Personal {
		pending, err := s.db.Invitations(ctx, o.Team)
		if err != nil {
			return err
		}
		for _, inv := range pending {
			m.Invitations = append(m.Invitations, views.TeamInvitation{ID: inv.ID, Email: inv.Email, Role: inv.Role,
				InvitedBy: inv.InvitedBy, ExpiresAt: inv.ExpiresAt, Expired: !inv.ExpiresAt.After(time.Now())})
		}
		if limit := o.Plan.MaxMembers; limit > 0 {
			seats, err := s.db.Seats(ctx, o.Team)
			if err != nil {
				return err
			}
			m.Seats = strconv.Itoa(seats) + " of " + strconv.Itoa(limit) + " people on the " + o.Plan.Name + " plan, invitations included."
			m.Full = seats >= limit
		}
	}
	if _, ok := f.Values["team_name"]; !ok { // the rename form starts with the name
		if f.Values == nil {
			f.Values = map[string]string{}
		}
		f.Values["team_name"] = team.Name
	}
	s.render(w, r, status, views.MembersPage(s.page(r, "Members"), m, f))
	return nil
}

// handleInvite handles "POST /t/{team}/invitations" (email, role): the
// invitation and its mail commit together.
func (s *Server) handleInvite(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(r); err != nil {
		return err
	}
	ctx := r.Context()
	o, team := s.pageOwner(r), s.teamView(r)
	email := normalizeEmail(r.PostForm.Get("email"))
	role := r.PostForm.Get("role")
	if role == "" {
		role = db.RoleMember
	}
	f := views.Form{Values: map[string]string{"email": email, "role": role}}
	switch {
	case role != db.RoleMember && role != db.RoleAdmin:
		return badRequest("bad_role", "A member's role is member or admin.")
	case role == db.RoleAdmin && team.Role != db.RoleOwner:
		return errOnlyOwnerInvitesAdmins
	}
	if msg := emailProblem(email); msg != "" {
		f.Errors = map[string]string{"email": msg}
		return s.renderMembers(w, r, http.StatusUnprocessableEntity, f)
	}
	if err := s.mailLimit(r, email); err != nil {
		return err
	}
	err := s.teamTx(ctx, o, func(q db.Queries, me db.Team, e *db.AuditEntry) error {
		if role == db.RoleAdmin && me.Role != db.RoleOwner {
			return errOnlyOwnerInvitesAdmins // handed over meanwhile
		}
		secret, hash := newSecret()
		inv, err := q.CreateInvitation(ctx, o.Team, email, role, hash, time.Now().Add(invitationTTL), o.Plan.MaxMembers)
		if err != nil {
			return err
		}
		*e = db.AuditEntry{Action: db.AuditMemberInvited, Subject: email, Detail: "as " + views.RoleArticle(role)}
		return s.queueMail(ctx, q, email, invitationMail(inv, s.invitationLink(secret)))
	})
	if msg := s.invitationProblem(err, email, o.Plan); msg != "" {
		f.Error = msg
		return s.renderMembers(w, r, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return err
	}
	s.outbox.notify()
	s.redirect(w, r, views.TeamURL(team.ID)+"/members", "Invitation sent to "+email+".")
	return nil
}

// invitationProblem is what to tell the inviter when an invitation is
// refused, or "" for any other error.
func (s *Server) invitationProblem(err error, email string, plan Plan) string {
	switch {
	case errors.Is(err, db.ErrAlreadyMember):
		return email + " is a member of the team already."
	case errors.Is(err, db.ErrAlreadyInvited):
		return email + " has an invitation already: send it again from the list below."
	case errors.Is(err, db.ErrLimitReached):
		return "The team is full: the " + plan.Name + " plan includes teams of up to " + strconv.Itoa(plan.MaxMembers) +
			" people, invitations included. Nothing was sent."
	case errors.Is(err, db.ErrPersonalTeam):
		return "Your personal team is yours alone. Create a team to invite people."
	case errors.Is(err, db.ErrTooManyInvitations):
		return "The team has " + strconv.Itoa(db.MaxPendingInvitations) + " invitations waiting, the most it may. Revoke some, or wait until they are accepted. Nothing was sent."
	}
	return ""
}

// handleInviteResend handles "POST /t/{team}/invitations/{id}/resend": a
// new link (the old one stops working) and seven more days.
func (s *Server) handleInviteResend(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := idParam(r)
	if err != nil {
		return err
	}
	o, team := s.pageOwner(r), s.teamView(r)
	var inv db.Invitation
	err = s.teamTx(ctx, o, func(q db.Queries, me db.Team, e *db.AuditEntry) error {
		secret, hash := newSecret()
		var err error
		if inv, err = q.RenewInvitation(ctx, o.Team, id, hash, time.Now().Add(invitationTTL)); err != nil {
			return err
		}
		if err := s.mailLimit(r, inv.Email); err != nil {
			return err
		}
		*e = db.AuditEntry{Action: db.AuditInvitationResent, Subject: inv.Email}
		return s.queueMail(ctx, q, inv.Email, invitationMail(inv, s.invitationLink(secret)))
	})
	if err != nil {
		return err
	}
	s.outbox.notify()
	s.redirect(w, r, views.TeamURL(team.ID)+"/members", "Invitation sent again to "+inv.Email+". The link sent before no longer works.")
	return nil
}

// handleInviteRevoke handles "POST /t/{team}/invitations/{id}/revoke".
func (s *Server) handleInviteRevoke(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r)
	if err != nil {
		return err
	}
	o, team := s.pageOwner(r), s.teamView(r)
	var inv db.Invitation
	err = s.teamTx(r.Context(), o, func(q db.Queries, me db.Team, e *db.AuditEntry) error {
		var err error
		inv, err = q.RevokeInvitation(r.Context(), o.Team, id)
		*e = db.AuditEntry{Action: db.AuditInvitationRevoked, Subject: inv.Email}
		return err
	})
	if err != nil {
		return err
	}
	s.redirect(w, r, views.TeamURL(team.ID)+"/members", "Invitation to "+inv.Email+" revoked. Its link no longer works.")
	return nil
}

// invitationLink is the link an invitation mails, built from BASE_URL.
func (s *Server) invitationLink(secret string) string {
	return s.cfg.Origin() + "/invitations/accept?token=" + url.QueryEscape(secret)
}

// handleInvitationPage handles "GET /invitations/accept?token=": who
// invites whom where, and the step left. It spends nothing.
func (s *Server) handleInvitationPage(w http.ResponseWriter, r *http.Request) error {
	noReferrer(w)
	token := r.URL.Query().Get("token")
	inv, err := s.pendingInvitation(r.Context(), token)
	if errors.Is(err, db.ErrNotFound) {
		return errInvitationGone
	}
	if err != nil {
		return err
	}
	page := views.Invitation{TeamName: inv.TeamName, InvitedBy: inv.InvitedBy, Role: inv.Role, Email: inv.Email, Token: token}
	here := r.URL.RequestURI()
	u := s.currentUser(r)
	switch {
	case u == nil:
		page.State = "anonymous"
		page.LoginURL = "/login?email=" + url.QueryEscape(inv.Email) + "&next=" + url.QueryEscape(here)
		page.SignupURL = "/signup?email=" + url.QueryEscape(inv.Email)
	case u.Email != inv.Email:
		page.State = "other-account"
	case !u.EmailVerifiedAt.Valid:
		page.State = "unverified"
	default:
		page.State = "ready"
	}
	s.render(w, r, http.StatusOK, views.InvitationPage(s.page(r, "Join "+inv.TeamName), page))
	return nil
}

func (s *Server) pendingInvitation(ctx context.Context, token string) (db.Invitation, error) {
	hash, ok := tokenHash(token)
	if !ok {
		return db.Invitation{}, db.ErrNotFound
	}
	return s.db.PendingInvitation(ctx, hash)
}

// errInvitationGone is the one answer for an unknown, used, revoked,
// expired or forged invitation link: it names no team.
var errInvitationGone = &clientError{Status: http.StatusBadRequest, Code: "invitation_gone", Title: "This invitation has expired",
	Message: "The invitation is invalid, was already used or revoked, or has expired. Ask whoever invited you to send it again."}

// handleInvitationAccept handles "POST /invitations/accept" (token): the
// logged-in user, with the invited address proven, joins the team.
func (s *Server) handleInvitationAccept(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(r); err != nil {
		return err
	}
	noReferrer(w)
	ctx := r.Context()
	u := s.currentUser(r)
	hash, ok := tokenHash(r.PostForm.Get("token"))
	if !ok {
		return errInvitationGone
	}
	if !u.EmailVerifiedAt.Valid {
		return &clientError{Status: http.StatusForbidden, Code: "unverified", Title: "Confirm your address first",
			Message: "An invitation is accepted by a proven address: open the link we mailed you when you signed up, then the invitation again."}
	}
	var sc db.Scope
	var inv db.Invitation
	err := s.db.Tx(ctx, func(q db.Queries) error {
		var err error
		sc, inv, err = q.AcceptInvitation(ctx, hash, u.ID, u.Email, func(teamID int64) (int, error) {
			plan, err := s.planOf(ctx, teamID)
			return s.plan(plan).MaxMembers, err
		})
		if err != nil {
			return err
		}
		return q.RecordAudit(ctx, db.AuditEntry{TeamID: sc.TeamID(), ActorID: u.ID, Actor: actorName(*u),
			Action: db.AuditMemberJoined, Detail: "as " + views.RoleArticle(inv.Role)})
	})
	switch {
	case errors.Is(err, db.ErrNotFound):
		return errInvitationGone
	case errors.Is(err, db.ErrNotInvited):
		return &clientError{Status: http.StatusForbidden, Code: "not_invited", Title: "This invitation is for another address",
			Message: "You are logged in as " + u.Email + ". Log out, then log in with the address the invitation was sent to."}
	case errors.Is(err, db.ErrAlreadyMember):
		s.redirect(w, r, views.ProjectsURL(inv.TeamID), "You are a member of "+inv.TeamName+" already.")
		return nil
	case errors.Is(err, db.ErrLimitReached):
		return &clientError{Status: http.StatusConflict, Code: "team_full", Title: "The team is full",
			Message: inv.TeamName + " has as many members as its plan includes. Ask whoever invited you; the invitation stays valid until it expires."}
	case err != nil:
		return err
	}
	s.seatsChanged(sc.TeamID())
	s.redirect(w, r, views.ProjectsURL(sc.TeamID()), "You joined "+inv.TeamName+".")
	return nil
}

// invitationMail is the invitation, with its link.
func invitationMail(inv db.Invitation, link string) views.EmailContent {
	who := inv.InvitedBy
	if who == "" {
		who = "Someone"
	}
	return views.EmailContent{
		Title:       who + " invited you to " + inv.TeamName,
		Paragraphs:  []string{who + " invited you to join the team " + inv.TeamName + " on Skiff, as " + views.RoleArticle(inv.Role) + "."},
		ButtonLabel: "Join " + inv.TeamName, ButtonURL: link,
		After: []string{"The link works once, for " + inv.Email + ", until " + inv.ExpiresAt.UTC().Format("2 Jan 2006") +
			". If you did not expect this invitation, ignore this mail."},
	}
}

// targetMember is the member the path's {user} names, with their role; a
// user who is not a member is db.ErrNotFound.
func (s *Server) targetMember(r *http.Request) (int64, db.Team, error) {
	id, err := strconv.ParseInt(r.PathValue("user"), 10, 64)
	if err != nil || id <= 0 {
		return 0, db.Team{}, db.ErrNotFound
	}
	_, t, err := s.db.Membership(r.Context(), id, s.pageOwner(r).Team.TeamID())
	return id, t, err
}

// memberName is how the pages name a member in a message.
func (s *Server) memberName(ctx context.Context, id int64) string {
	u, err := s.db.UserByID(ctx, id)
	if err != nil {
		return "The member"
	}
	if u.DisplayName != "" {
		return u.DisplayName
	}
	return u.Email
}

var errOnlyOwnerInvitesAdmins = &clientError{Status: http.StatusForbidden, Code: "forbidden", Title: "Not allowed in this team",
	Message: "Only the team's owner may make someone an admin. Invite them as a member."}

var errRemoveBelowOnly = &clientError{Status: http.StatusForbidden, Code: "forbidden", Title: "Not allowed in this team",
	Message: "You may remove only members whose role is below yours. To leave the team yourself, use Leave the team."}

var errOwnerStays = &clientError{Status: http.StatusConflict, Code: "owner_stays", Title: "The owner stays",
	Message: "The team's owner cannot be removed or change role: they hand the team over to another member first."}

// handleMemberRemove handles "POST /t/{team}/members/{user}/remove": a
// member below the remover's role leaves the team, at their next request.
func (s *Server) handleMemberRemove(w http.ResponseWriter, r *http.Request) error {
	id, target, err := s.targetMember(r)
	if err != nil {
		return err
	}
	team := s.teamView(r)
	if !canActOn(team.Role, target.Role) {
		return errRemoveBelowOnly
	}
	name := s.memberName(r.Context(), id)
	o := s.pageOwner(r)
	err = s.teamTx(r.Context(), o, func(q db.Queries, me db.Team, e *db.AuditEntry) error {
		// Both roles as they are now: either may have changed since.
		_, them, err := q.Membership(r.Context(), id, team.ID)
		if err != nil {
			return err
		}
		if !canActOn(me.Role, them.Role) {
			return errRemoveBelowOnly
		}
		*e = db.AuditEntry{Action: db.AuditMemberRemoved, SubjectID: id, Subject: name, Detail: "was " + views.RoleArticle(them.Role)}
		return q.RemoveMember(r.Context(), o.Team, id)
	})
	if errors.Is(err, db.ErrOwnerStays) {
		return errOwnerStays
	}
	if err != nil {
		return err
	}
	s.seatsChanged(team.ID)
	s.redirect(w, r, views.TeamURL(team.ID)+"/members", name+" was removed from the team.")
	return nil
}

// handleMemberRole handles "POST /t/{team}/members/{user}/role" (role).
func (s *Server) handleMemberRole(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(r); err != nil {
		return err
	}
	id, _, err := s.targetMember(r)
	if err != nil {
		return err
	}
	role := r.PostForm.Get("role")
	if role != db.RoleMember && role != db.RoleAdmin {
		return badRequest("bad_role", "A member's role is member or admin.")
	}
	o := s.pageOwner(r)
	err = s.teamTx(r.Context(), o, func(q db.Queries, me db.Team, e *db.AuditEntry) error {
		_, them, err := q.Membership(r.Context(), id, o.Team.TeamID())
		if err != nil {
			return err
		}
		if them.Role != role { // a double submit logs one change
			*e = db.AuditEntry{Action: db.AuditRoleChanged, SubjectID: id, Subject: s.memberName(r.Context(), id),
				Detail: them.Role + " → " + role}
		}
		return q.SetRole(r.Context(), o.Team, id, role)
	})
	if errors.Is(err, db.ErrOwnerStays) {
		return errOwnerStays
	}
	if err != nil {
		return err
	}
	s.redirect(w, r, views.TeamURL(s.teamView(r).ID)+"/members", s.memberName(r.Context(), id)+" is "+views.RoleArticle(role)+" now.")
	return nil
}

// handleTeamLeave handles "POST /t/{team}/leave".
func (s *Server) handleTeamLeave(w http.ResponseWriter, r *http.Request) error {
	o, team := s.pageOwner(r), s.teamView(r)
	err := s.teamTx(r.Context(), o, func(q db.Queries, me db.Team, e *db.AuditEntry) error {
		*e = db.AuditEntry{Action: db.AuditMemberLeft, Detail: "was " + views.RoleArticle(team.Role)}
		return q.RemoveMember(r.Context(), o.Team, o.Team.UserID())
	})
	if errors.Is(err, db.ErrOwnerStays) {
		return &clientError{Status: http.StatusConflict, Code: "owner_stays", Title: "The owner stays",
			Message: "You own this team: hand it over to another member first, or delete it."}
	}
	if err != nil {
		return err
	}
	s.seatsChanged(team.ID)
	s.redirect(w, r, "/teams", "You left "+team.Name+".")
	return nil
}

// handleTeamTransfer handles "POST /t/{team}/transfer" (user): another
// member owns the team from now on; the former owner stays, as an admin.
func (s *Server) handleTeamTransfer(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(r); err != nil {
		return err
	}
	o, team := s.pageOwner(r), s.teamView(r)
	id, err := strconv.ParseInt(r.PostForm.Get("user"), 10, 64)
	if err != nil || id <= 0 || id == o.Team.UserID() {
		return badRequest("bad_member", "Choose the member who will own the team.")
	}
	ctx := r.Context()
	err = s.teamTx(ctx, o, func(q db.Queries, me db.Team, e *db.AuditEntry) error {
		*e = db.AuditEntry{Action: db.AuditTeamTransferred, SubjectID: id, Subject: s.memberName(ctx, id)}
		if err := q.TransferTeam(ctx, o.Team, id); err != nil {
			return err
		}
		// Both are told, in the same commit; a paying team's card is the
		// former owner's until the new owner changes it.
		newOwner, err := q.UserByID(ctx, id)
		if err != nil {
			return err
		}
		live, err := q.LiveSubscriptionsOf(ctx, team.ID)
		if err != nil {
			return err
		}
		paying := len(live) > 0 && s.stripe != nil
		if err := s.queueMail(ctx, q, newOwner.Email, s.handOverMail(team.Name, o.Actor, views.TeamURL(team.ID), paying)); err != nil {
			return err
		}
		if !paying {
			return nil
		}
		return s.queueMail(ctx, q, s.currentUser(r).Email, formerOwnerMail(team.Name, newOwner.Email))
	})
	switch {
	case errors.Is(err, db.ErrPersonalTeam):
		return &clientError{Status: http.StatusConflict, Code: "personal_team", Title: "A personal team stays yours",
			Message: "Your personal team is yours alone and cannot be handed over."}
	case errors.Is(err, db.ErrNotFound):
		return badRequest("bad_member", "The team is handed over to one of its members only.")
	case err != nil:
		return err
	}
	s.outbox.notify()
	msg := s.memberName(r.Context(), id) + " owns " + team.Name + " now; you are an admin."
	if err := s.billingOwnerChanged(r, team.ID, id); err != nil {
		s.log.Error("team handed over: Stripe still sends the team's invoices to the former owner", "team_id", team.ID, "err", err, "request_id", state(r).id)
		msg += " Stripe could not be told yet: the team's invoices still go to your address until they update it in the billing portal."
	}
	s.redirect(w, r, views.TeamURL(team.ID)+"/members", msg)
	return nil
}

// handOverMail tells the new owner of team that it is theirs now.
func (s *Server) handOverMail(team, from, path string, paying bool) views.EmailContent {
	m := views.EmailContent{
		Title:       "You own " + team + " now",
		Paragraphs:  []string{from + " handed the team " + team + " over to you. You now manage its members and, as its owner, its plan and payments; " + from + " stays, as an admin."},
		ButtonLabel: "Open " + team, ButtonURL: s.cfg.Origin() + path + "/members",
	}
	if paying {
		m.Paragraphs = append(m.Paragraphs, "Its subscription is still paid with the card "+from+" added. Open the team's billing page, then Manage subscription, to put your own card in its place.")
	}
	return m
}

// formerOwnerMail tells the former owner of a paying team whose card pays.
func formerOwnerMail(team, newOwner string) views.EmailContent {
	return views.EmailContent{
		Title: "Your card still pays for " + team,
		Paragraphs: []string{"You handed the team " + team + " over to " + newOwner + ". Its subscription is still charged to the card you added, " +
			"until " + newOwner + " puts their own in its place in the billing portal: ask them to."},
	}
}

// handleTeamDelete handles "POST /t/{team}/delete": the team, its projects,
// memberships and invitations go, and its subscription is cancelled first.
func (s *Server) handleTeamDelete(w http.ResponseWriter, r *http.Request) error {
	o, team := s.pageOwner(r), s.teamView(r)
	if team.Personal {
		return &clientError{Status: http.StatusConflict, Code: "personal_team", Title: "A personal team stays yours",
			Message: "Your personal team goes only with your account."}
	}
	// Still its owner now (not handed over a moment ago)? Then its billing
	// stops, and it goes, the owner checked once more as it does.
	noChange := func(db.Queries, db.Team, *db.AuditEntry) error { return nil }
	if err := s.teamTx(r.Context(), o, noChange); err != nil {
		return err
	}
	if err := s.stopTeamBilling(r, team.ID); err != nil {
		return err
	}
	err := s.teamTx(r.Context(), o, func(q db.Queries, _ db.Team, _ *db.AuditEntry) error {
		return q.DeleteTeam(r.Context(), o.Team) // its log goes with it
	})
	if errors.Is(err, db.ErrPersonalTeam) {
		return &clientError{Status: http.StatusConflict, Code: "personal_team", Title: "A personal team stays yours",
			Message: "Your personal team goes only with your account."}
	}
	if err != nil {
		return err
	}
	s.redirect(w, r, "/teams", team.Name+" and its projects were deleted.")
	return nil
}

// handleTeamRename handles "POST /t/{team}/rename" (name).
func (s *Server) handleTeamRename(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(r); err != nil {
		return err
	}
	o, team := s.pageOwner(r), s.teamView(r)
	in := teamInput{Name: r.PostForm.Get("name")}.clean()
	if errs := in.Valid(); errs != nil {
		return s.renderMembers(w, r, http.StatusUnprocessableEntity, views.Form{
			Values: map[string]string{"team_name": in.Name}, Errors: map[string]string{"team_name": errs["name"]}})
	}
	err := s.teamTx(r.Context(), o, func(q db.Queries, me db.Team, e *db.AuditEntry) error {
		if in.Name != team.Name {
			*e = db.AuditEntry{Action: db.AuditTeamRenamed, Detail: team.Name + " → " + in.Name}
		}
		return q.RenameTeam(r.Context(), o.Team, in.Name)
	})
	if errors.Is(err, db.ErrPersonalTeam) {
		return &clientError{Status: http.StatusConflict, Code: "personal_team", Title: "A personal team keeps its name",
			Message: "Your personal team is yours alone; create a team to name one."}
	}
	if err != nil {
		return err
	}
	s.redirect(w, r, views.TeamURL(team.ID)+"/members", team.Name+" is called "+in.Name+" now.")
	return nil
}
