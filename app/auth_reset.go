package app

import (
	"context"
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
func (s *Server) handleForgotGet(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, s.forgotPage(r, views.Form{}))
	return nil
}

func (s *Server) forgotPage(r *http.Request, f views.Form) templ.Component {
	return views.ForgotPasswordPage(s.page(r, "Reset your password"), f)
}

// handleForgotPost handles "POST /forgot-password". Known and unknown
// addresses get the same page after the same time; only a known one gets mail.
func (s *Server) handleForgotPost(w http.ResponseWriter, r *http.Request) error {
	return s.answerMailRequest(w, r, mailRequestFlow{
		form: s.forgotPage,
		send: s.sendResetLink,
		sent: func(email string) views.MailSent {
			return views.MailSent{Email: email, Action: "/forgot-password",
				Text: "If an account exists for " + email + ", we sent it a link to choose a new password. The link is valid for one hour."}
		},
	})
}

// sendResetLink queues a reset link to the account of email, if there is one
// that is not disabled (no way into a disabled account).
func (s *Server) sendResetLink(ctx context.Context, email string) error {
	u, err := activeUser(s.db.UserByEmail(ctx, email))
	if errors.Is(err, db.ErrNotFound) || errors.Is(err, errAccountDisabled) {
		return nil
	}
	if err != nil {
		return err
	}
	err = s.db.Tx(ctx, func(q db.Queries) error {
		link, err := s.issueToken(ctx, q, db.PurposeResetPassword, &u, u.Email)
		if err != nil {
			return err
		}
		return s.queueMail(ctx, q, u.Email, resetPasswordMail(link))
	})
	if err != nil {
		return err
	}
	s.outbox.notify()
	return nil
}

// renderMailSent is the one answer to a request for a mailed link, whatever
// the address, once sameTime has passed since start.
func (s *Server) renderMailSent(w http.ResponseWriter, r *http.Request, start time.Time, m views.MailSent) {
	time.Sleep(time.Until(start.Add(sameTime)))
	m.Title = "Check your email"
	s.render(w, r, http.StatusOK, views.MailSentPage(s.page(r, m.Title), m))
}

// handleResetGet handles "GET /reset-password?token=...": the form, if the
// token is still good. Only the POST uses it.
func (s *Server) handleResetGet(w http.ResponseWriter, r *http.Request) error {
	noReferrer(w)
	token := r.URL.Query().Get("token")
	t, _, err := s.peekLink(r.Context(), token, db.PurposeResetPassword)
	if err != nil {
		return s.linkFailed(w, r, db.PurposeResetPassword, err)
	}
	s.renderNewPassword(w, r, http.StatusOK, token, t.Email, nil, "")
	return nil
}

// renderNewPassword shows the form to choose a new password for email's
// account with token, a reset token; note is said above it.
func (s *Server) renderNewPassword(w http.ResponseWriter, r *http.Request, status int, token, email string, errs map[string]string, note string) {
	f := views.Form{Values: map[string]string{"token": token, "email": email}, Errors: errs}
	s.render(w, r, status, views.ResetPasswordPage(s.page(r, "Choose a new password"), f, note))
}

// handleResetPost handles "POST /reset-password": set the password and apply
// the reset's rules (onPasswordReset: every session and API token ends, the
// address is told), then send the user to log in.
func (s *Server) handleResetPost(w http.ResponseWriter, r *http.Request) error {
	noReferrer(w)
	if err := readForm(r); err != nil {
		return err
	}
	ctx := r.Context()
	token, password := r.PostForm.Get("token"), r.PostForm.Get("password")
	t, u, err := s.peekLink(ctx, token, db.PurposeResetPassword)
	if err != nil {
		return s.linkFailed(w, r, db.PurposeResetPassword, err)
	}
	if msg := passwordProblem(password, t.Email); msg != "" {
		s.renderNewPassword(w, r, http.StatusUnprocessableEntity, token, t.Email, map[string]string{"password": msg}, "")
		return nil
	}
	pwHash, err := s.hasher.hash(ctx, password)
	if err != nil {
		return err
	}
	err = s.db.Tx(ctx, func(q db.Queries) error {
		if _, err := q.ConsumeToken(ctx, t.Hash, db.PurposeResetPassword); err != nil {
			return err
		}
		return s.onPasswordReset(ctx, q, u, pwHash)
	})
	if err != nil {
		return s.linkFailed(w, r, db.PurposeResetPassword, err)
	}
	s.outbox.notify()
	if err := s.sessions.Destroy(ctx); err != nil {
		return err
	}
	s.redirect(w, r, "/login", "Your password has been changed and every session was signed out. Log in with your new password.")
	return nil
}
