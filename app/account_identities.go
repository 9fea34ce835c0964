package app

import (
	"errors"
	"net/http"

	"skiff/db"
)

// handleIdentityDelete handles "POST /settings/identities/{id}/delete":
// disconnect a provider, unless it is the last way to log in.
func (s *Server) handleIdentityDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r)
	if err != nil {
		return err
	}
	err = s.db.DeleteIdentity(r.Context(), s.currentUser(r).ID, id)
	if errors.Is(err, db.ErrLastLoginMethod) {
		return &clientError{Status: http.StatusConflict, Code: "last_login_method", Title: "This is your only way to log in",
			Message: "Set a password first (use \"Forgot your password?\" on the login page), or connect another provider, then disconnect this one."}
	}
	if err != nil {
		return err
	}
	s.redirect(w, r, "/settings/security", "Disconnected.")
	return nil
}
