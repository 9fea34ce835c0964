package app

import (
	"errors"
	"net/http"

	"skiff/db"
)

// handleIdentityDelete handles "POST /settings/identities/{id}/delete":
// disconnect a provider, unless it is the last way to log in.
func (s *Server) handleIdentityDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	err := s.db.DeleteIdentity(r.Context(), s.currentUser(r).ID, id)
	switch {
	case errors.Is(err, db.ErrNotFound):
		s.notFound(w, r)
	case errors.Is(err, db.ErrLastLoginMethod):
		s.clientError(w, r, http.StatusConflict, "This is your only way to log in",
			"Set a password first (use \"Forgot your password?\" on the login page), or connect another provider, then disconnect this one.")
	case err != nil:
		s.serverError(w, r, err)
	default:
		s.redirect(w, r, "/settings/security", "Disconnected.")
	}
}
