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

// handleTokenCreate handles "POST /settings/tokens" (`name`, `expires_days`
// empty for never): the token is shown once, on the page this POST renders,
// and only its hash is kept.
func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
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
	if len(f.Errors) > 0 {
		s.renderSettingsTokens(w, r, http.StatusUnprocessableEntity, f, "")
		return
	}
	token, hash := newAPIToken()
	if _, err := s.db.CreateAPIToken(r.Context(), s.currentUser(r).ID, name, hash, token[:len(apiTokenPrefix)+4], expires); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.renderSettingsTokens(w, r, http.StatusOK, views.Form{}, token)
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
	s.redirect(w, r, "/settings", "Token revoked. It no longer works.")
}
