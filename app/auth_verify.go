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

// queueVerification issues a verification token for u and queues its mail.
func (s *Server) queueVerification(ctx context.Context, q db.Queries, u db.User) error {
	link, err := s.issueToken(ctx, q, db.PurposeVerifyEmail, &u, u.Email)
	if err != nil {
		return err
	}
	return s.queueMail(ctx, q, u.Email, verifyEmailMail(link))
}

// The headings of confirming an address, before and after.
const (
	confirmAddress   = "Confirm your email address"
	addressConfirmed = "Your email address is confirmed"
)

// handleVerifyEmailGet handles "GET /verify-email?token=...": a page with a
// button, so that a mail scanner opening the link changes nothing; the POST
// uses it. In a browser not logged in to the account, the proof page asks
// what the person confirming holds (see proofHolder).
func (s *Server) handleVerifyEmailGet(w http.ResponseWriter, r *http.Request) error {
	noReferrer(w)
	token := r.URL.Query().Get("token")
	t, u, err := s.peekLink(r.Context(), token, db.PurposeVerifyEmail)
	if err != nil {
		return s.linkFailed(w, r, db.PurposeVerifyEmail, err)
	}
	if s.needsProof(r, u) {
		s.renderProof(w, r, http.StatusOK, u, t.Email, token, views.Form{})
		return nil
	}
	s.render(w, r, http.StatusOK, views.ConfirmPage(s.page(r, confirmAddress), views.Confirm{
		Title: confirmAddress, Text: "Confirm that " + t.Email + " is yours.",
		Action: "/verify-email", Token: token, Button: "Confirm my address",
	}))
	return nil
}

// handleVerifyEmailPost handles "POST /verify-email" (`token`, and `password`
// or `action=new-password` from the proof page): the address is proven.
func (s *Server) handleVerifyEmailPost(w http.ResponseWriter, r *http.Request) error {
	noReferrer(w)
	if err := readForm(r); err != nil {
		return err
	}
	token := r.PostForm.Get("token")
	t, u, err := s.peekLink(r.Context(), token, db.PurposeVerifyEmail)
	if err != nil {
		return s.linkFailed(w, r, db.PurposeVerifyEmail, err)
	}
	h, ok, err := s.proofHolder(w, r, u, t.Email, token)
	if !ok || err != nil {
		return err
	}
	ctx := r.Context()
	var p proven
	var reset string
	err = s.db.Tx(ctx, func(q db.Queries) error {
		if _, err := q.ConsumeToken(ctx, t.Hash, db.PurposeVerifyEmail); err != nil {
			return err
		}
		var err error
		if p, err = s.onAddressProven(ctx, q, u, h.holder); err != nil {
			return err
		}
		if h.newPassword {
			after := u // not u itself: the function may run again (db.Tx)
			after.AuthEpoch = p.epoch
			reset, err = s.issueSecret(ctx, q, db.PurposeResetPassword, after)
		}
		return err
	})
	if err != nil {
		return s.linkFailed(w, r, db.PurposeVerifyEmail, err)
	}
	if h.newPassword {
		u.AuthEpoch = p.epoch
	}
	return s.finishProof(w, r, u, h, p, reset)
}

// peekLink finds the token of a mailed link of purpose and its account,
// without using it. A token that is malformed, unknown, used or expired, or
// whose account is gone, is db.ErrTokenInvalid; a disabled account is
// errAccountDisabled. Any other error is the database's, never "expired".
// A magic-link sign-up's token has no account yet: u is then the zero User.
func (s *Server) peekLink(ctx context.Context, token, purpose string) (t db.Token, u db.User, err error) {
	hash, ok := tokenHash(token)
	if !ok {
		return t, u, db.ErrTokenInvalid
	}
	t, err = s.db.PeekToken(ctx, hash, purpose)
	if err != nil || !t.UserID.Valid {
		return t, u, err
	}
	u, err = activeUser(s.db.UserByID(ctx, t.UserID.Int64))
	if errors.Is(err, db.ErrNotFound) {
		err = db.ErrTokenInvalid
	}
	return t, u, err
}

// linkFailed answers the error of peeking at or using a mailed link of
// purpose. An invalid link gets the page that offers a new one (an answer:
// nil is returned); an address another account took meanwhile a 409. Any
// other error is returned: a disabled account's 403, else a logged 500.
func (s *Server) linkFailed(w http.ResponseWriter, r *http.Request, purpose string, err error) error {
	switch {
	case errors.Is(err, db.ErrTokenInvalid):
		s.invalidToken(w, r, purpose)
		return nil
	case errors.Is(err, db.ErrEmailTaken):
		return &clientError{Status: http.StatusConflict, Code: "email_taken", Title: "Address already in use",
			Message: "Another account started using this address meanwhile."}
	}
	return err
}

// needsProof reports whether confirming u's address here must show what the
// person confirming holds: the address was never proven, and this browser is
// not logged in to the account (the one that signed up, or a later login).
func (s *Server) needsProof(r *http.Request, u db.User) bool {
	cur := s.currentUser(r)
	return !u.EmailVerifiedAt.Valid && (cur == nil || cur.ID != u.ID)
}

// ownSession is what the browser logged in to u holds: its session, the
// password (it signed up with it, or logged in with it), and, for an account
// without one, the provider account or the passkey it was created with (an
// unproven account can add neither). Provider accounts beside a password
// were not linked by this session.
func ownSession(r *http.Request, u db.User) holder {
	return holder{sid: state(r).sid, password: true, identities: u.PasswordHash == "", passkeys: u.PasswordHash == ""}
}

// proofInput is what the person confirming an address showed, and whether
// they asked to choose a new password instead.
type proofInput struct {
	holder
	newPassword bool
}

// proofHolder reads what the person confirming u's address holds: this
// browser's session of u (which keeps the password it was made with and the
// provider account it came from), else the password typed on the proof page,
// else nothing (they choose a new password). ok is false when it answered
// instead: a wrong password shows the page again (too many are the 429 err).
func (s *Server) proofHolder(w http.ResponseWriter, r *http.Request, u db.User, email, token string) (in proofInput, ok bool, err error) {
	if !s.needsProof(r, u) {
		if cur := s.currentUser(r); cur != nil && cur.ID == u.ID {
			return proofInput{holder: ownSession(r, u)}, true, nil
		}
		return proofInput{holder: holder{password: true, identities: true}}, true, nil // proven before: nothing is wiped
	}
	if r.PostForm.Get("action") == "new-password" || u.PasswordHash == "" {
		return proofInput{newPassword: true}, true, nil
	}
	match, err := s.passwordMatches(r.Context(), u, r.PostForm.Get("password"))
	if err != nil {
		return proofInput{}, false, err
	}
	if !match {
		f := views.Form{Errors: map[string]string{"password": "This is not the account's password. If you did not choose it, confirm and choose a new one below."}}
		s.renderProof(w, r, http.StatusUnprocessableEntity, u, email, token, f)
		return proofInput{}, false, nil
	}
	return proofInput{holder: holder{password: true}}, true, nil
}

func (s *Server) renderProof(w http.ResponseWriter, r *http.Request, status int, u db.User, email, token string, f views.Form) {
	s.render(w, r, status, views.ProofPage(s.page(r, confirmAddress), views.Proof{
		Title: confirmAddress, Email: email, Action: "/verify-email", Token: token,
		HasPassword: u.PasswordHash != "", Form: f,
	}))
}

// finishProof answers a proven address: the browser that was logged in stays
// so (with the new epoch), one that showed the password is logged in, and one
// that showed nothing chooses a password with reset, a fresh reset token.
func (s *Server) finishProof(w http.ResponseWriter, r *http.Request, u db.User, h proofInput, p proven, reset string) error {
	const done, next = addressConfirmed + ".", "/dashboard"
	ctx := r.Context()
	switch {
	case h.sid != "" && p.first:
		if err := s.keepSession(ctx, p.epoch); err != nil {
			return err
		}
		s.redirect(w, r, next, done+" Any other session was signed out.")
	case h.newPassword:
		s.renderNewPassword(w, r, http.StatusOK, reset, u.Email, nil,
			done+" Choose a password to finish: anything set up before you confirmed it was removed.")
	case h.password && p.first:
		fresh, err := s.db.UserByID(ctx, u.ID)
		if err != nil {
			return err
		}
		return s.logIn(w, r, fresh, false, next, done)
	case s.currentUser(r) != nil:
		s.redirect(w, r, next, done)
	default:
		s.render(w, r, http.StatusOK, views.MessagePage(s.page(r, addressConfirmed), views.Message{
			Title: addressConfirmed, Text: "Thank you. Your account is all set.",
			LinkURL: "/login", LinkLabel: "Log in",
		}))
	}
	return nil
}

// handleVerifyResend handles "POST /verify-email/resend".
func (s *Server) handleVerifyResend(w http.ResponseWriter, r *http.Request) error {
	u := s.currentUser(r)
	if u.EmailVerifiedAt.Valid {
		s.redirect(w, r, "/dashboard", "Your email address is already confirmed.")
		return nil
	}
	if err := s.mailLimit(r, u.Email); err != nil {
		return err
	}
	err := s.db.Tx(r.Context(), func(q db.Queries) error { return s.queueVerification(r.Context(), q, *u) })
	if err != nil {
		return err
	}
	s.outbox.notify()
	s.redirect(w, r, "/dashboard", "We sent a new confirmation link to "+u.Email+".")
	return nil
}

// mailRequest reads the `email` of a form that asks for a mail with a link
// (reset, magic link): a malformed address is invalid (the handler shows its
// form again with the message), and the mail limits apply.
func (s *Server) mailRequest(r *http.Request) (string, error) {
	if err := readForm(r); err != nil {
		return "", err
	}
	email := normalizeEmail(r.PostForm.Get("email"))
	if msg := emailProblem(email); msg != "" {
		return email, invalid(map[string]string{"email": msg})
	}
	return email, s.mailLimit(r, email)
}

// mailRequestFlow is a page that asks for a link by mail (password reset,
// magic link): its form, what sends the link, and the answer after it.
type mailRequestFlow struct {
	form func(r *http.Request, f views.Form) templ.Component
	send func(ctx context.Context, email string) error
	sent func(email string) views.MailSent
}

// answerMailRequest runs a mail request: a malformed address shows the form
// again (422); otherwise the link is sent if the flow's rules allow, and
// every address gets the same "check your email" page after the same time.
func (s *Server) answerMailRequest(w http.ResponseWriter, r *http.Request, m mailRequestFlow) error {
	start := time.Now()
	email, err := s.mailRequest(r)
	if errs := fieldErrors(err); errs != nil {
		f := views.Form{Values: map[string]string{"email": email}, Errors: errs}
		s.render(w, r, http.StatusUnprocessableEntity, m.form(r, f))
		return nil
	}
	if err != nil {
		return err
	}
	if err := m.send(r.Context(), email); err != nil {
		return err
	}
	s.renderMailSent(w, r, start, m.sent(email))
	return nil
}

// mailLimit applies the per-IP and per-address limits on mails with links.
// Unknown addresses count the same, so a 429 reveals nothing.
func (s *Server) mailLimit(r *http.Request, email string) error {
	if ok, wait := s.mailIPLimiter.allow(s.clientIP(r)); !ok {
		return tooMany(wait)
	}
	if ok, wait := s.mailAddrLimiter.allow(email); !ok {
		return tooMany(wait)
	}
	return nil
}

// invalidToken is the one answer for an unknown, used, expired or forged
// token, with the way to a new link of its purpose.
func (s *Server) invalidToken(w http.ResponseWriter, r *http.Request, purpose string) {
	noReferrer(w)
	e := views.ErrorInfo{Status: http.StatusBadRequest, Title: "This link has expired",
		Message: "The link is invalid, was already used, or has expired. Ask for a new one and use it soon after it arrives."}
	u := s.currentUser(r)
	switch {
	case purpose == db.PurposeResetPassword:
		e.Next = views.Link{URL: "/forgot-password", Label: "Send a new link"}
	case purpose == db.PurposeMagicLink:
		e.Next = views.Link{URL: "/login/magic", Label: "Send a new link"}
	case purpose == db.PurposeVerifyEmail && u == nil:
		e.Message = "The link is invalid, was already used, or has expired. Log in, and your dashboard offers to send a new one."
		e.Next = views.Link{URL: "/login", Label: "Log in"}
	case purpose == db.PurposeVerifyEmail && !u.EmailVerifiedAt.Valid:
		e.Next, e.NextPost = views.Link{URL: "/verify-email/resend", Label: "Send a new link"}, true
	case purpose == db.PurposeChangeEmail:
		e.Message = "The link is invalid, was already used, or has expired. Ask for the change again in your settings."
		e.Next = views.Link{URL: "/settings", Label: "Go to your settings"}
	}
	s.render(w, r, e.Status, views.ErrorPage(s.page(r, e.Title), e))
}

// noReferrer keeps a page's token out of the Referer header of any request
// the page makes.
func noReferrer(w http.ResponseWriter) {
	w.Header().Set("Referrer-Policy", "no-referrer")
}
