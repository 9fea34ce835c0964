package app

import (
	"errors"
	"net/http"

	"skiff/db"
	"skiff/views"
)

// handleSignupGet handles "GET /signup".
func (s *Server) handleSignupGet(w http.ResponseWriter, r *http.Request) {
	if s.currentUser(r) != nil {
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, views.SignupPage(s.page(r, "Sign up"), views.Form{}))
}

// handleSignupPost handles "POST /signup": create the account and log in.
func (s *Server) handleSignupPost(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	f := readSignupForm(r)
	if errs := f.Valid(); len(errs) > 0 {
		s.render(w, r, http.StatusUnprocessableEntity, views.SignupPage(s.page(r, "Sign up"), f.view(errs, "")))
		return
	}
	// Only well-formed attempts count: they are the ones that cost a hash and
	// could create accounts or probe which addresses are taken.
	if ok, wait := s.signupIPLimiter.allow(s.clientIP(r)); !ok {
		s.tooManyRequests(w, r, wait)
		return
	}
	hash, err := s.hasher.hash(r.Context(), f.Password)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	u, err := s.db.CreateUser(r.Context(), f.Email, hash)
	if errors.Is(err, db.ErrEmailTaken) {
		errs := map[string]string{"email": "An account with this email already exists. Log in instead?"}
		s.render(w, r, http.StatusUnprocessableEntity, views.SignupPage(s.page(r, "Sign up"), f.view(errs, "")))
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if err := s.startSession(r.Context(), u, false); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.redirect(w, r, "/dashboard", "Welcome to Skiff! Your account is ready.")
}
