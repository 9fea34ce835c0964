package app

import (
	"context"
	"database/sql"
	"errors"
	"net/http"

	"github.com/a-h/templ"

	"skiff/db"
	"skiff/views"
)

// queueVerification issues a verification token for u and queues its mail.
func (s *Server) queueVerification(ctx context.Context, q db.Queries, u db.User) error {
	link, err := s.issueToken(ctx, q, db.PurposeVerifyEmail, &u, u.Email)
	if err != nil {
		return err
	}
	return queueMail(ctx, q, u.Email, verifyEmailMail(link))
}

// handleVerifyEmail handles "GET /verify-email?token=...". Opening the link
// is the proof that the address receives mail, so a GET may use it.
func (s *Server) handleVerifyEmail(w http.ResponseWriter, r *http.Request) {
	noReferrer(w)
	hash, ok := tokenHash(r.URL.Query().Get("token"))
	if !ok {
		s.invalidToken(w, r)
		return
	}
	err := s.db.Tx(r.Context(), func(tx *sql.Tx) error {
		q := db.Q(tx)
		t, err := q.ConsumeToken(r.Context(), hash, db.PurposeVerifyEmail)
		if err != nil {
			return err
		}
		return q.MarkEmailVerified(r.Context(), t.UserID.Int64)
	})
	if errors.Is(err, db.ErrTokenInvalid) {
		s.invalidToken(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, views.MessagePage(s.page(r, "Email confirmed"), views.Message{
		Title: "Your email address is confirmed", Text: "Thank you. Your account is all set.",
		LinkURL: "/dashboard", LinkLabel: "Go to your dashboard",
	}))
}

// handleVerifyResend handles "POST /verify-email/resend".
func (s *Server) handleVerifyResend(w http.ResponseWriter, r *http.Request) {
	u := s.currentUser(r)
	if u.EmailVerifiedAt.Valid {
		s.redirect(w, r, "/dashboard", "Your email address is already confirmed.")
		return
	}
	if !s.allowMail(w, r, u.Email) {
		return
	}
	err := s.db.Tx(r.Context(), func(tx *sql.Tx) error { return s.queueVerification(r.Context(), db.Q(tx), *u) })
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.outbox.notify()
	s.redirect(w, r, "/dashboard", "We sent a new confirmation link to "+u.Email+".")
}

// readMailRequest reads the `email` of a form that asks for a mail with a
// link (reset, magic link): a malformed address re-renders page with 422,
// and the mail rate limits apply. ok is false when the answer was written.
func (s *Server) readMailRequest(w http.ResponseWriter, r *http.Request, page func(views.Form) templ.Component) (string, bool) {
	if !s.parseForm(w, r) {
		return "", false
	}
	email := normalizeEmail(r.PostForm.Get("email"))
	if msg := emailProblem(email); msg != "" {
		f := views.Form{Values: map[string]string{"email": email}, Errors: map[string]string{"email": msg}}
		s.render(w, r, http.StatusUnprocessableEntity, page(f))
		return "", false
	}
	return email, s.allowMail(w, r, email)
}

// allowMail applies the per-address and per-IP limits on mails with links.
// Unknown addresses count the same, so a 429 reveals nothing.
func (s *Server) allowMail(w http.ResponseWriter, r *http.Request, email string) bool {
	if ok, wait := s.mailIPLimiter.allow(s.clientIP(r)); !ok {
		s.tooManyRequests(w, r, wait)
		return false
	}
	if ok, wait := s.mailAddrLimiter.allow(email); !ok {
		s.tooManyRequests(w, r, wait)
		return false
	}
	return true
}

// invalidToken is the one answer for an unknown, used, expired or forged token.
func (s *Server) invalidToken(w http.ResponseWriter, r *http.Request) {
	noReferrer(w)
	s.clientError(w, r, http.StatusBadRequest, "This link has expired",
		"The link is invalid, was already used, or has expired. Ask for a new one and use it soon after it arrives.")
}

// noReferrer keeps a page's token out of the Referer header of any request
// the page makes.
func noReferrer(w http.ResponseWriter) {
	w.Header().Set("Referrer-Policy", "no-referrer")
}
