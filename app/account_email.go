package app

import (
	"errors"
	"net/http"
	"strconv"

	"skiff/db"
	"skiff/views"
)

// handleEmailChangeRequest handles "POST /settings/email": mail a
// confirmation link to the new address and a notice to the current one. The
// address changes only when the link is used.
func (s *Server) handleEmailChangeRequest(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(r); err != nil {
		return err
	}
	ctx := r.Context()
	u := s.currentUser(r)
	newEmail := normalizeEmail(r.PostForm.Get("email"))
	f := views.Form{Values: map[string]string{"email": newEmail}, Errors: map[string]string{}}
	if msg := emailProblem(newEmail); msg != "" {
		f.Errors["email"] = msg
	} else if newEmail == u.Email {
		f.Errors["email"] = "This is already your address."
	}
	if err := s.reauthenticateInto(r, u, &f); err != nil {
		return err
	}
	if len(f.Errors) == 0 {
		// "Another account uses this address" tells whether an address has
		// an account: each answer costs a token, taken before looking.
		if ok, wait := s.emailChangeLimiter.allow(strconv.FormatInt(u.ID, 10)); !ok {
			return tooMany(wait)
		}
		_, err := s.db.UserByEmail(ctx, newEmail)
		switch {
		case err == nil:
			f.Errors["email"] = "Another account uses this address."
		case !errors.Is(err, db.ErrNotFound):
			return err
		}
	}
	if len(f.Errors) > 0 {
		return s.renderSettings(w, r, http.StatusUnprocessableEntity, views.SectionProfile, views.Settings{EmailForm: f})
	}
	if err := s.mailLimit(r, newEmail); err != nil {
		return err
	}
	err := s.userTx(r, func(q db.Queries) error {
		if err := s.onEmailChangeRequested(ctx, q, *u, newEmail); err != nil {
			return err
		}
		link, err := s.issueToken(ctx, q, db.PurposeChangeEmail, u, newEmail)
		if err != nil {
			return err
		}
		return s.queueMail(ctx, q, newEmail, changeEmailConfirmMail(link))
	})
	if err != nil {
		return s.userTxFailed(w, r, err)
	}
	s.outbox.notify()
	s.redirect(w, r, "/settings", "We sent a confirmation link to "+newEmail+". Your address changes when you use it.")
	return nil
}

// handleEmailChangeConfirmPage handles "GET /settings/email/confirm?token=...":
// a button, so that a mail scanner opening the link changes nothing. Only the
// account that asked for the change may confirm it: whoever holds the new
// mailbox must not adopt, with one click, an account someone else set up (and
// whose ways in they keep). Anyone else is asked to log in first.
func (s *Server) handleEmailChangeConfirmPage(w http.ResponseWriter, r *http.Request) error {
	noReferrer(w)
	token := r.URL.Query().Get("token")
	t, u, err := s.peekLink(r.Context(), token, db.PurposeChangeEmail)
	if err != nil {
		return s.linkFailed(w, r, db.PurposeChangeEmail, err)
	}
	if done, err := s.requireAccountOf(w, r, u); done || err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, views.ConfirmPage(s.page(r, "Confirm your new address"), views.Confirm{
		Title: "Confirm your new address", Text: "Use " + t.Email + " for your Skiff account from now on.",
		Action: "/settings/email/confirm", Token: token, Button: "Confirm " + t.Email,
	}))
	return nil
}

// handleEmailChangeConfirm handles "POST /settings/email/confirm": the new
// address is the account's, and every older mailed link stops working. For
// an account whose address was never proven, this is its first proof; this
// browser, logged in to it, keeps its session and the password.
func (s *Server) handleEmailChangeConfirm(w http.ResponseWriter, r *http.Request) error {
	noReferrer(w)
	if err := readForm(r); err != nil {
		return err
	}
	ctx := r.Context()
	t, u, err := s.peekLink(ctx, r.PostForm.Get("token"), db.PurposeChangeEmail)
	if err != nil {
		return s.linkFailed(w, r, db.PurposeChangeEmail, err)
	}
	if done, err := s.requireAccountOf(w, r, u); done || err != nil {
		return err
	}
	var p proven
	err = s.userTx(r, func(q db.Queries) error {
		if _, err := q.ConsumeToken(ctx, t.Hash, db.PurposeChangeEmail); err != nil {
			return err
		}
		var err error
		if p, err = s.onAddressProven(ctx, q, u, ownSession(r, u)); err != nil {
			return err
		}
		return s.onEmailChanged(ctx, q, u, t.Email)
	})
	if errors.Is(err, errSessionEnded) {
		return s.userTxFailed(w, r, err)
	}
	if err != nil {
		return s.linkFailed(w, r, db.PurposeChangeEmail, err) // used meanwhile, or the address taken
	}
	done := "Your email address is now " + t.Email + "."
	if p.first {
		if err := s.keepSession(ctx, p.epoch); err != nil {
			return err
		}
		done += " Any other session was signed out."
	}
	s.redirect(w, r, "/settings", done)
	return nil
}

// requireAccountOf lets through a request whose browser is logged in to u.
// Logged out, the browser is sent to log in (coming back here after) and
// done is true; logged in to another account, the error is a 403.
func (s *Server) requireAccountOf(w http.ResponseWriter, r *http.Request, u db.User) (done bool, err error) {
	cur := s.currentUser(r)
	switch {
	case cur == nil:
		target := "/login"
		if r.Method == http.MethodGet {
			target += "?next=" + urlQueryEscape(r.URL.RequestURI())
		}
		s.redirect(w, r, target, "Log in to the account that asked for this change, to confirm it.")
		return true, nil
	case cur.ID != u.ID:
		return true, &clientError{Status: http.StatusForbidden, Code: "other_account", Title: "This link is for another account",
			Message: "You are logged in to another account. Log out, log in to the account that asked for this change, then open the link again."}
	}
	return false, nil
}
