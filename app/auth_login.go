package app

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"skiff/db"
	"skiff/views"
)

// authRoutes registers signing up, logging in and out, the mailed links
// (verification, password reset, magic link) and the second factor.
func (s *Server) authRoutes(public, user group) {
	public.handle("GET /signup", s.handleSignupGet)
	public.handle("POST /signup", s.handleSignupPost)
	public.handle("GET /login", s.handleLoginGet)
	public.handle("POST /login", s.handleLoginPost)
	public.handle("POST /logout", s.handleLogoutPost)
	public.handle("GET /login/2fa", s.handleTwoFactorLoginGet)
	public.handle("POST /login/2fa", s.handleTwoFactorLoginPost)

	public.handle("GET /verify-email", s.handleVerifyEmailGet)
	public.handle("POST /verify-email", s.handleVerifyEmailPost)
	user.handle("POST /verify-email/resend", s.handleVerifyResend)
	public.handle("GET /forgot-password", s.handleForgotGet)
	public.handle("POST /forgot-password", s.handleForgotPost)
	public.handle("GET /reset-password", s.handleResetGet)
	public.handle("POST /reset-password", s.handleResetPost)
	public.handle("GET /login/magic", s.handleMagicGet)
	public.handle("POST /login/magic", s.handleMagicPost)
	public.handle("GET /login/magic/confirm", s.handleMagicConfirmGet)
	public.handle("POST /login/magic/confirm", s.handleMagicConfirmPost)
}

// loginFailed is the one message for an unknown email and a wrong password.
const loginFailed = "Incorrect email or password."

// handleLoginGet handles "GET /login" (`next`, and `email` to fill in, as the
// signup page's "Log in instead?" link does).
func (s *Server) handleLoginGet(w http.ResponseWriter, r *http.Request) error {
	next := safeNext(r.URL.Query().Get("next"))
	if s.currentUser(r) != nil {
		http.Redirect(w, r, cmp.Or(next, "/dashboard"), http.StatusSeeOther)
		return nil
	}
	f := views.Form{Values: map[string]string{"next": next}}
	if email := normalizeEmail(r.URL.Query().Get("email")); emailProblem(email) == "" {
		f.Values["email"] = email
	}
	s.renderLogin(w, r, http.StatusOK, f)
	return nil
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, f views.Form) {
	s.render(w, r, status, views.LoginPage(s.page(r, "Log in"), f, s.providerButtons()))
}

// handleLoginPost handles "POST /login". An unknown email and a wrong password
// get the same page, the same status and the same argon2id work, so the
// response tells nothing about which accounts exist.
func (s *Server) handleLoginPost(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(r); err != nil {
		return err
	}
	if ok, wait := s.loginIPLimiter.allow(s.clientIP(r)); !ok {
		return tooMany(wait)
	}
	f := readLoginForm(r)
	if errs := f.Valid(); len(errs) > 0 {
		s.renderLogin(w, r, http.StatusUnprocessableEntity, f.view(errs, ""))
		return nil
	}
	// Attempts are counted per address whether or not it has an account, so
	// this limit reveals nothing either. The token is taken before the
	// argon2id work, so concurrent guesses get at most the limit's worth of
	// checks; a success gives the address its tokens back.
	if ok, wait := s.loginFailLimiter.allow(f.Email); !ok {
		return tooMany(wait)
	}
	u, rehash, err := s.verifyLogin(r.Context(), f.Email, f.Password)
	if errors.Is(err, errPasswordMismatch) {
		s.renderLogin(w, r, http.StatusUnauthorized, f.view(nil, loginFailed))
		return nil
	}
	if err != nil {
		return err
	}
	s.loginFailLimiter.reset(f.Email)
	if rehash {
		s.upgradePasswordHash(r, u, f.Password)
	}
	return s.logIn(w, r, u, f.Remember, cmp.Or(f.Next, "/dashboard"), "")
}

// verifyLogin returns the account of email if password is its password, and
// whether its hash should be made again. An unknown address, an account
// without a password and a wrong password are all errPasswordMismatch, after
// the same argon2id work.
func (s *Server) verifyLogin(ctx context.Context, email, password string) (u db.User, rehash bool, err error) {
	u, err = s.db.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return u, false, err
	}
	if err != nil || u.PasswordHash == "" {
		if err := s.hasher.verifyDummy(ctx, password); err != nil {
			return u, false, err
		}
		return u, false, errPasswordMismatch
	}
	rehash, err = s.hasher.verify(ctx, password, u.PasswordHash)
	return u, rehash, err
}

// upgradePasswordHash replaces u's outdated hash (other cost parameters, or
// made before passwords were normalised) now that the password is at hand.
// A failure is logged, not answered: the login itself succeeded, and the old
// hash goes on working until the next login tries again.
func (s *Server) upgradePasswordHash(r *http.Request, u db.User, password string) {
	ctx := r.Context()
	h, err := s.hasher.hash(ctx, password)
	if err == nil {
		err = s.db.RehashPassword(ctx, u.ID, u.PasswordHash, h)
	}
	if err != nil {
		s.log.Warn("rehash password", "user_id", u.ID, "err", err, "request_id", state(r).id)
	}
}

// handleLogoutPost handles "POST /logout": the session is deleted from the
// store and a new, empty one carries the goodbye message.
func (s *Server) handleLogoutPost(w http.ResponseWriter, r *http.Request) error {
	if err := s.sessions.Destroy(r.Context()); err != nil {
		return err
	}
	s.redirect(w, r, "/", "You have been logged out.")
	return nil
}

// loginForm is POST /login.
type loginForm struct {
	Email    string
	Password string
	Remember bool
	Next     string // a local path to return to, already made safe
}

func readLoginForm(r *http.Request) loginForm {
	return loginForm{
		Email:    normalizeEmail(r.PostForm.Get("email")),
		Password: r.PostForm.Get("password"),
		Remember: r.PostForm.Get("remember") != "",
		Next:     safeNext(r.PostForm.Get("next")),
	}
}

// Valid checks only the shape: whether the account exists is never told.
func (f loginForm) Valid() map[string]string {
	errs := map[string]string{}
	if msg := emailProblem(f.Email); msg != "" {
		errs["email"] = msg
	}
	if f.Password == "" {
		errs["password"] = "Enter your password."
	} else if len(f.Password) > maxPasswordBytes {
		errs["password"] = "Passwords are at most 1024 characters."
	}
	return errs
}

func (f loginForm) view(errs map[string]string, formErr string) views.Form {
	v := map[string]string{"email": f.Email, "next": f.Next}
	if f.Remember {
		v["remember"] = "1"
	}
	return views.Form{Values: v, Errors: errs, Error: formErr}
}

// safeNext returns next when it is a path on this site, else "". It refuses
// "//evil.example" and "/\evil.example", which browsers treat as other hosts.
func safeNext(next string) string {
	if next == "" || len(next) > 2048 || next[0] != '/' || strings.HasPrefix(next, "//") ||
		strings.HasPrefix(next, `/\`) || strings.ContainsFunc(next, unicode.IsControl) || strings.Contains(next, `\`) {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return ""
	}
	return next
}
