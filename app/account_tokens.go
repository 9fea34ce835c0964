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

// handleTokens handles "GET /settings/tokens": the account's API tokens.
func (s *Server) handleTokens(w http.ResponseWriter, r *http.Request) {
	s.renderTokens(w, r, http.StatusOK, views.SettingsTokens{})
}

// renderTokens shows the "API tokens" page with the form, or the new token, in d.
func (s *Server) renderTokens(w http.ResponseWriter, r *http.Request, status int, d views.SettingsTokens) {
	u := s.currentUser(r)
	d.Account = account(u)
	var err error
	if d.Tokens, err = s.db.APITokens(r.Context(), u.ID); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, status, views.SettingsTokensPage(s.settingsPage(r, views.SectionTokens), d))
}

// handleTokenCreate handles "POST /settings/tokens" (`name`, `expires_days`
// empty for never, `current_password`): a new way into the account, so the
// address must be proven, the user re-authenticated, and the address told.
// The token is shown once, at the top of the API tokens page that this POST
// renders; only its hash is kept. Not a redirect: the token would have to
// wait somewhere for the GET, and nothing but this answer may ever hold it.
// A reload asks the browser's "resubmit the form?" question, and a second
// token made that way is listed and mailed about like the first.
func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	u := s.currentUser(r)
	if !s.requireVerified(w, r, u, "create API tokens") {
		return
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
	if !s.reauthenticateForm(w, r, u, &f) {
		return
	}
	if len(f.Errors) > 0 {
		s.renderTokens(w, r, http.StatusUnprocessableEntity, views.SettingsTokens{Form: f})
		return
	}
	token, hash := newAPIToken()
	err := s.userTx(r, func(q db.Queries) error {
		if _, err := q.CreateAPIToken(ctx, u.ID, name, hash, token[:len(apiTokenPrefix)+4], expires, s.cfg.Limits.MaxAPITokens); err != nil {
			return err
		}
		return s.onWayInChanged(ctx, q, *u, "A new API token was created",
			"An API token named \""+name+"\" was created for your Skiff account. It can use the JSON API as you until it is revoked.")
	})
	if errors.Is(err, db.ErrLimitReached) {
		f.Error = "You have " + strconv.Itoa(s.cfg.Limits.MaxAPITokens) + " API tokens, the most an account may hold. Revoke one you no longer use first."
		s.renderTokens(w, r, http.StatusUnprocessableEntity, views.SettingsTokens{Form: f})
		return
	}
	if err != nil {
		s.userTxError(w, r, err)
		return
	}
	s.outbox.notify()
	s.renderTokens(w, r, http.StatusOK, views.SettingsTokens{NewToken: token})
}

// requireVerified refuses a new way into an account whose address was never
// proven: whoever proves it later must not inherit a way back in planted
// before (the lifecycle's first-proof rule). It answers 403 and says why.
func (s *Server) requireVerified(w http.ResponseWriter, r *http.Request, u *db.User, what string) bool {
	if u.EmailVerifiedAt.Valid {
		return true
	}
	s.clientError(w, r, http.StatusForbidden, "Confirm your email address first",
		"You can "+what+" once your address is confirmed: until then we cannot be sure this account is yours. Use the link we sent to "+u.Email+", or ask for a new one from your dashboard.")
	return false
}

// handleTokenRevoke handles "POST /settings/tokens/{id}/revoke".
func (s *Server) handleTokenRevoke(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	err := s.db.RevokeAPIToken(r.Context(), s.currentUser(r).ID, id)
	if errors.Is(err, db.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.redirect(w, r, "/settings/tokens", "Token revoked. It no longer works.")
}
