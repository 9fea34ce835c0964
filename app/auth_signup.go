package app

import (
	"database/sql"
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
	s.render(w, r, http.StatusOK, views.SignupPage(s.page(r, "Create your account"), views.Form{}, s.providerButtons()))
}

// handleSignupPost handles "POST /signup": create the account and log in.
func (s *Server) handleSignupPost(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	f := readSignupForm(r)
	if errs := f.Valid(); len(errs) > 0 {
		s.render(w, r, http.StatusUnprocessableEntity, views.SignupPage(s.page(r, "Create your account"), f.view(errs, ""), s.providerButtons()))
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
	// The account and its verification mail are one transaction.
	var u db.User
	err = s.db.Tx(r.Context(), func(tx *sql.Tx) error {
		q := db.Q(tx)
		var err error
		if u, err = q.CreateUser(r.Context(), f.Email, hash, false); err != nil {
			return err
		}
		return s.queueVerification(r.Context(), q, u)
	})
	if errors.Is(err, db.ErrEmailTaken) {
		errs := map[string]string{"email": views.EmailTaken}
		s.render(w, r, http.StatusUnprocessableEntity, views.SignupPage(s.page(r, "Create your account"), f.view(errs, ""), s.providerButtons()))
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.outbox.notify()
	if err := s.startSession(r, u, false); err != nil {
		s.sessionError(w, r, err)
		return
	}
	// No flash: the dashboard's banner asks for the confirmation, with the
	// address and a button to send the link again. Said twice, it was noise.
	s.redirect(w, r, "/dashboard", "")
}
