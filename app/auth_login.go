package app

import (
	"cmp"
	"errors"
	"net/http"

	"skiff/db"
	"skiff/views"
)

// authRoutes registers signing up, logging in and out, the mailed links
// (verification, password reset, magic link) and the second factor.
func (s *Server) authRoutes(public, user group) {
	public.handle("GET /signup", old(s.handleSignupGet))
	public.handle("POST /signup", old(s.handleSignupPost))
	public.handle("GET /login", old(s.handleLoginGet))
	public.handle("POST /login", old(s.handleLoginPost))
	public.handle("POST /logout", old(s.handleLogoutPost))
	public.handle("GET /login/2fa", old(s.handleTwoFactorLoginGet))
	public.handle("POST /login/2fa", old(s.handleTwoFactorLoginPost))

	public.handle("GET /verify-email", old(s.handleVerifyEmailGet))
	public.handle("POST /verify-email", old(s.handleVerifyEmailPost))
	user.handle("POST /verify-email/resend", old(s.handleVerifyResend))
	public.handle("GET /forgot-password", old(s.handleForgotGet))
	public.handle("POST /forgot-password", old(s.handleForgotPost))
	public.handle("GET /reset-password", old(s.handleResetGet))
	public.handle("POST /reset-password", old(s.handleResetPost))
	public.handle("GET /login/magic", old(s.handleMagicGet))
	public.handle("POST /login/magic", old(s.handleMagicPost))
	public.handle("GET /login/magic/confirm", old(s.handleMagicConfirmGet))
	public.handle("POST /login/magic/confirm", old(s.handleMagicConfirmPost))
}

// loginFailed is the one message for an unknown email and a wrong password.
const loginFailed = "Incorrect email or password."

// handleLoginGet handles "GET /login" (`next`, and `email` to fill in, as the
// signup page's "Log in instead?" link does).
func (s *Server) handleLoginGet(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if s.currentUser(r) != nil {
		http.Redirect(w, r, cmp.Or(next, "/dashboard"), http.StatusSeeOther)
		return
	}
	f := views.Form{Values: map[string]string{"next": next}}
	if email := normalizeEmail(r.URL.Query().Get("email")); emailProblem(email) == "" {
		f.Values["email"] = email
	}
	s.render(w, r, http.StatusOK, views.LoginPage(s.page(r, "Log in"), f, s.providerButtons()))
}

// handleLoginPost handles "POST /login". An unknown email and a wrong password
// get the same page, the same status and the same argon2id work, so the
// response tells nothing about which accounts exist.
func (s *Server) handleLoginPost(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	if ok, wait := s.loginIPLimiter.allow(s.clientIP(r)); !ok {
		s.tooManyRequests(w, r, wait)
		return
	}
	f := readLoginForm(r)
	if errs := f.Valid(); len(errs) > 0 {
		s.render(w, r, http.StatusUnprocessableEntity, views.LoginPage(s.page(r, "Log in"), f.view(errs, ""), s.providerButtons()))
		return
	}
	// Attempts are counted per address whether or not it has an account, so
	// this limit reveals nothing either. The token is taken before the
	// argon2id work, so concurrent guesses get at most the limit's worth of
	// checks; a success gives the address its tokens back.
	if ok, wait := s.loginFailLimiter.allow(f.Email); !ok {
		s.tooManyRequests(w, r, wait)
		return
	}
	ctx := r.Context()
	u, err := s.db.UserByEmail(ctx, f.Email)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		s.serverError(w, r, err)
		return
	}
	var rehash bool
	if err != nil || u.PasswordHash == "" {
		s.hasher.verifyDummy(ctx, f.Password)
		err = errPasswordMismatch
	} else {
		rehash, err = s.hasher.verify(ctx, f.Password, u.PasswordHash)
	}
	if errors.Is(err, errPasswordMismatch) {
		s.render(w, r, http.StatusUnauthorized, views.LoginPage(s.page(r, "Log in"), f.view(nil, loginFailed), s.providerButtons()))
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.loginFailLimiter.reset(f.Email)
	if rehash {
		// The hash is outdated (other cost parameters, or made before
		// passwords were normalised): upgrade it now that the password is at
		// hand. A failure here is not the user's.
		if h, err := s.hasher.hash(ctx, f.Password); err == nil {
			if err := s.db.RehashPassword(ctx, u.ID, u.PasswordHash, h); err != nil {
				s.log.Warn("rehash password", "user_id", u.ID, "err", err)
			}
		}
	}
	if err := s.startSession(r, u, f.Remember); err != nil {
		s.sessionError(w, r, err)
		return
	}
	http.Redirect(w, r, cmp.Or(f.Next, "/dashboard"), http.StatusSeeOther)
}

// handleLogoutPost handles "POST /logout": the session is deleted from the
// store and a new, empty one carries the goodbye message.
func (s *Server) handleLogoutPost(w http.ResponseWriter, r *http.Request) {
	if err := s.sessions.Destroy(r.Context()); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.redirect(w, r, "/", "You have been logged out.")
}
