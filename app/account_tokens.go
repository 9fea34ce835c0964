package app

import (
	"database/sql"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"skiff/db"
	"skiff/views"
)

// tokenSettings fills in what "API tokens" lists: a page of the tokens, the
// newest first.
func (s *Server) tokenSettings(r *http.Request, u *db.User, d *views.Settings) error {
	page, err := readPage(r, defaultPageSize)
	if err != nil {
		return err
	}
	rows, err := s.db.APITokensPage(r.Context(), u.ID, page.Before, page.fetch())
	if err != nil {
		return err
	}
	rows, next := cut(page, rows, func(t db.APIToken) int64 { return t.ID })
	for _, t := range rows {
		d.Tokens = append(d.Tokens, views.APIToken{ID: t.ID, TeamName: t.TeamName, Name: t.Name, Prefix: t.Prefix, CreatedAt: t.CreatedAt,
			ExpiresAt: t.ExpiresAt.Time, LastUsedAt: t.LastUsedAt.Time})
	}
	d.TokensPager = pager(r, page, next)
	// The teams a new token may act in: the personal one first, then the
	// newest (a list, not a page: a user in more than tokenTeamChoices
	// teams picks among the newest).
	teams, err := s.db.Teams(r.Context(), u.ID, 0, tokenTeamChoices)
	if err != nil {
		return err
	}
	d.TokenTeams = []views.Team{{ID: state(r).team.TeamID(), Name: "Personal", Personal: true}}
	for _, t := range teams {
		if !t.Personal {
			d.TokenTeams = append(d.TokenTeams, teamView(t))
		}
	}
	return nil
}

// tokenTeamChoices is how many teams the token form offers.
const tokenTeamChoices = 100

// handleTokenCreate handles "POST /settings/tokens" (`name`, `expires_days`
// empty for never, `current_password`): a new way into the account, so the
// address must be proven, the user re-authenticated, and the address told.
// The token is shown once, at the top of the API tokens page that this POST
// renders; only its hash is kept. Not a redirect: the token would have to
// wait somewhere for the GET, and nothing but this answer may ever hold it.
// A reload asks the browser's "resubmit the form?" question, and a second
// token made that way is listed and mailed about like the first.
func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(r); err != nil {
		return err
	}
	ctx := r.Context()
	u := s.currentUser(r)
	if err := requireVerifiedAddress(u, "create API tokens"); err != nil {
		return err
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	f := views.Form{Values: map[string]string{"name": name, "expires_days": r.PostForm.Get("expires_days")}, Errors: map[string]string{}}
	if name == "" || utf8.RuneCountInString(name) > 60 || !utf8.ValidString(name) {
		f.Errors["name"] = "Name the token (at most 60 characters), e.g. \"Laptop script\"."
	}
	var expires sql.NullTime
	if d := strings.TrimSpace(r.PostForm.Get("expires_days")); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > 3650 {
			f.Errors["expires_days"] = "Use a number of days from 1 to 3650, or leave empty for no expiry."
		} else {
			expires = sql.NullTime{Time: time.Now().AddDate(0, 0, n).UTC(), Valid: true}
		}
	}
	// The team it acts in: the personal one unless another is chosen.
	teamID := state(r).team.TeamID()
	if v := r.PostForm.Get("team"); v != "" {
		f.Values["team"] = v
		if teamID, _ = strconv.ParseInt(v, 10, 64); teamID <= 0 {
			f.Error = errNotYourTeam
		}
	}
	if err := s.reauthenticateInto(r, u, &f); err != nil {
		return err
	}
	if len(f.Errors) > 0 || f.Error != "" {
		return s.renderSettings(w, r, http.StatusUnprocessableEntity, views.SectionTokens, views.Settings{TokenForm: f})
	}
	token, hash := newAPIToken()
	err := s.userTx(r, func(q db.Queries) error {
		// A member of the team now, in this transaction.
		sc, team, err := q.Membership(ctx, u.ID, teamID)
		if err != nil {
			return err
		}
		if _, err := q.CreateAPIToken(ctx, sc, name, hash, token[:len(apiTokenPrefix)+4], expires, s.cfg.Limits.MaxAPITokens); err != nil {
			return err
		}
		in := ""
		if !team.Personal {
			in = ", in the team " + team.Name + ","
		}
		if err := q.RecordAudit(ctx, db.AuditEntry{TeamID: team.ID, ActorID: u.ID, Actor: actorName(*u), Action: db.AuditTokenCreated,
			Subject: name, Detail: tokenExpiry(expires)}); err != nil {
			return err
		}
		return s.onWayInChanged(ctx, q, *u, "A new API token was created",
			"An API token named \""+name+"\" was created for your Skiff account. It can use the JSON API as you"+in+" until it is revoked.")
	})
	if errors.Is(err, db.ErrNotFound) {
		f.Error = errNotYourTeam
		return s.renderSettings(w, r, http.StatusUnprocessableEntity, views.SectionTokens, views.Settings{TokenForm: f})
	}
	if errors.Is(err, db.ErrLimitReached) {
		f.Error = "You have " + strconv.Itoa(s.cfg.Limits.MaxAPITokens) + " API tokens, the most an account may hold. Revoke one you no longer use first."
		return s.renderSettings(w, r, http.StatusUnprocessableEntity, views.SectionTokens, views.Settings{TokenForm: f})
	}
	if err != nil {
		return s.userTxFailed(w, r, err)
	}
	s.outbox.notify()
	return s.renderSettings(w, r, http.StatusOK, views.SectionTokens, views.Settings{NewToken: token})
}

// errNotYourTeam refuses a token for a team the user is not in.
const errNotYourTeam = "Choose one of your teams: a token acts in a team you are a member of."

// tokenExpiry says when a token expires, for the audit log.
func tokenExpiry(expires sql.NullTime) string {
	if !expires.Valid {
		return "does not expire"
	}
	return "expires " + expires.Time.UTC().Format("2 Jan 2006")
}

// requireVerifiedAddress refuses a new way into an account whose address
// was never proven: whoever proves it later must not inherit a way back in
// planted before (the lifecycle's first-proof rule). The refusal is a 403
// that says why and what to do.
func requireVerifiedAddress(u *db.User, what string) error {
	if u.EmailVerifiedAt.Valid {
		return nil
	}
	return &clientError{Status: http.StatusForbidden, Code: "email_unverified", Title: "Confirm your email address first",
		Message: "You can " + what + " once your address is confirmed: until then we cannot be sure this account is yours. Use the link we sent to " + u.Email + ", or ask for a new one from your dashboard."}
}

// handleTokenRevoke handles "POST /settings/tokens/{id}/revoke".
func (s *Server) handleTokenRevoke(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r)
	if err != nil {
		return err
	}
	u := s.currentUser(r)
	err = s.db.Tx(r.Context(), func(q db.Queries) error {
		t, err := q.RevokeAPIToken(r.Context(), u.ID, id)
		if err != nil {
			return err // db.ErrNotFound for someone else's
		}
		return q.RecordAudit(r.Context(), db.AuditEntry{TeamID: t.TeamID, ActorID: u.ID, Actor: actorName(*u), Action: db.AuditTokenRevoked, Subject: t.Name})
	})
	if err != nil {
		return err
	}
	s.redirect(w, r, "/settings/tokens", "Token revoked. It no longer works.")
	return nil
}
