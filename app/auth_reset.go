package app

import (
	"database/sql"
	"errors"
	"net/http"
	"time"

	"github.com/a-h/templ"

	"skiff/db"
	"skiff/views"
)

// sameTime is how long every POST /forgot-password and /login/magic takes,
// whether or not the address has an account, so timing tells nothing.
const sameTime = 250 * time.Millisecond

// handleForgotGet handles "GET /forgot-password".
func (s *Server) handleForgotGet(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, views.ForgotPasswordPage(s.page(r, "Reset your password"), views.Form{}))
}

// handleForgotPost handles "POST /forgot-password". Known and unknown
// addresses get the same page after the same time; only a known one gets mail.
func (s *Server) handleForgotPost(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	email, ok := s.readMailRequest(w, r, func(f views.Form) templ.Component {
		return views.ForgotPasswordPage(s.page(r, "Reset your password"), f)
	})
	if !ok {
		return
	}
	u, err := s.db.UserByEmail(r.Context(), email)
	if err == nil && u.Disabled {
		err = db.ErrNotFound // no way into a disabled account; the same answer
	}
	if err == nil {
		err = s.db.Tx(r.Context(), func(tx *sql.Tx) error {
			q := db.Q(tx)
			link, err := s.issueToken(r.Context(), q, db.PurposeResetPassword, &u, u.Email)
			if err != nil {
				return err
			}
			return queueMail(r.Context(), q, u.Email, resetPasswordMail(link))
		})
		s.outbox.notify()
	}
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		s.serverError(w, r, err)
		return
	}
	time.Sleep(time.Until(start.Add(sameTime)))
	s.render(w, r, http.StatusOK, views.MailSentPage(s.page(r, "Check your email"), views.MailSent{
		Title: "Check your email", Email: email, Action: "/forgot-password",
		Text: "If an account exists for " + email + ", we sent it a link to choose a new password. The link is valid for one hour.",
	}))
}

// handleResetGet handles "GET /reset-password?token=...": the form, if the
// token is still good. Only the POST uses it.
func (s *Server) handleResetGet(w http.ResponseWriter, r *http.Request) {
	noReferrer(w)
	token := r.URL.Query().Get("token")
	t, _, ok := s.peekUserToken(w, r, token, db.PurposeResetPassword)
	if !ok {
		return
	}
	f := views.Form{Values: map[string]string{"token": token, "email": t.Email}}
	s.render(w, r, http.StatusOK, views.ResetPasswordPage(s.page(r, "Choose a new password"), f, ""))
}

// handleResetPost handles "POST /reset-password": set the password and apply
// the reset's rules (onPasswordReset: every session and API token ends, the
// address is told), then send the user to log in.
func (s *Server) handleResetPost(w http.ResponseWriter, r *http.Request) {
	noReferrer(w)
	if !s.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	token, password := r.PostForm.Get("token"), r.PostForm.Get("password")
	t, u, ok := s.peekUserToken(w, r, token, db.PurposeResetPassword)
	if !ok {
		return
	}
	if msg := passwordProblem(password, t.Email); msg != "" {
		f := views.Form{Values: map[string]string{"token": token, "email": t.Email}, Errors: map[string]string{"password": msg}}
		s.render(w, r, http.StatusUnprocessableEntity, views.ResetPasswordPage(s.page(r, "Choose a new password"), f, ""))
		return
	}
	pwHash, err := s.hasher.hash(ctx, password)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		q := db.Q(tx)
		if _, err := q.ConsumeToken(ctx, t.Hash, db.PurposeResetPassword); err != nil {
			return err
		}
		return s.onPasswordReset(ctx, q, u, pwHash)
	})
	if !s.tokenTxOK(w, r, db.PurposeResetPassword, err) {
		return
	}
	s.outbox.notify()
	if err := s.sessions.Destroy(ctx); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.redirect(w, r, "/login", "Your password has been changed and every session was signed out. Log in with your new password.")
}
