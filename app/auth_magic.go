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

// handleMagicGet handles "GET /login/magic".
func (s *Server) handleMagicGet(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, views.MagicLinkPage(s.page(r, "Log in with a link"), views.Form{}))
}

// handleMagicPost handles "POST /login/magic": the same page, after the same
// time, for every address. A known address gets a login link; an unknown one
// gets a sign-up link only when MAGIC_LINK_SIGNUP is on.
func (s *Server) handleMagicPost(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	email, ok := s.readMailRequest(w, r, func(f views.Form) templ.Component {
		return views.MagicLinkPage(s.page(r, "Log in with a link"), f)
	})
	if !ok {
		return
	}
	u, err := s.db.UserByEmail(r.Context(), email)
	var user *db.User
	switch {
	case err == nil && u.Disabled:
		// No way into a disabled account; the same answer as for any address.
		time.Sleep(time.Until(start.Add(sameTime)))
		s.render(w, r, http.StatusOK, views.MailSentPage(s.page(r, "Check your email"), magicLinkSent(email, s.cfg.MagicLinkSignup)))
		return
	case err == nil:
		user = &u
	case !errors.Is(err, db.ErrNotFound):
		s.serverError(w, r, err)
		return
	}
	if user != nil || s.cfg.MagicLinkSignup {
		err := s.db.Tx(r.Context(), func(tx *sql.Tx) error {
			q := db.Q(tx)
			link, err := s.issueToken(r.Context(), q, db.PurposeMagicLink, user, email)
			if err != nil {
				return err
			}
			return queueMail(r.Context(), q, email, magicLinkMail(link, user == nil))
		})
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		s.outbox.notify()
	}
	time.Sleep(time.Until(start.Add(sameTime)))
	s.render(w, r, http.StatusOK, views.MailSentPage(s.page(r, "Check your email"), magicLinkSent(email, s.cfg.MagicLinkSignup)))
}

// magicLinkSent is the one answer to a magic-link request, whatever the address.
func magicLinkSent(email string, signup bool) views.MailSent {
	text := "If an account exists for " + email + ", we sent it a login link. It is valid for 15 minutes."
	if signup {
		text = "We sent a login link to " + email + ". It is valid for 15 minutes."
	}
	return views.MailSent{Title: "Check your email", Text: text, Email: email, Action: "/login/magic"}
}

// handleMagicConfirmGet handles "GET /login/magic/confirm?token=...". Mail
// scanners open links, so this page only shows a button; the POST logs in.
func (s *Server) handleMagicConfirmGet(w http.ResponseWriter, r *http.Request) {
	noReferrer(w)
	token := r.URL.Query().Get("token")
	t, _, ok := s.peekUserToken(w, r, token, db.PurposeMagicLink)
	if !ok {
		return
	}
	title := "Log in to " + views.ProductName
	s.render(w, r, http.StatusOK, views.ConfirmPage(s.page(r, title), views.Confirm{
		Title: title, Text: "Continue as " + t.Email + ".", Action: "/login/magic/confirm", Token: token, Button: "Log in",
	}))
}

// handleMagicConfirmPost handles "POST /login/magic/confirm": use the token,
// prove the address (a first proof wipes what was set up before it), create
// the account for a sign-up link, and log in.
func (s *Server) handleMagicConfirmPost(w http.ResponseWriter, r *http.Request) {
	noReferrer(w)
	if !s.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	t, u, ok := s.peekUserToken(w, r, r.PostForm.Get("token"), db.PurposeMagicLink)
	if !ok {
		return
	}
	var p proven
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		q := db.Q(tx)
		if _, err := q.ConsumeToken(ctx, t.Hash, db.PurposeMagicLink); err != nil {
			return err
		}
		var err error
		if !t.UserID.Valid {
			u, err = q.CreateUser(ctx, t.Email, "", true)
			return err
		}
		// The link proves the mailbox, nothing else: this browser holds no
		// session of the account and showed no password.
		if p, err = s.onAddressProven(ctx, q, u, holder{}); err != nil {
			return err
		}
		u, err = q.UserByID(ctx, u.ID)
		return err
	})
	if errors.Is(err, db.ErrEmailTaken) {
		// Someone signed up with this address after the link was sent.
		s.clientError(w, r, http.StatusConflict, "Account already exists",
			"An account with this address was created meanwhile. Ask for a new login link.")
		return
	}
	if !s.tokenTxOK(w, r, db.PurposeMagicLink, err) {
		return
	}
	if err := s.startSession(r, u, false); err != nil {
		s.sessionError(w, r, err)
		return
	}
	msg := "You are logged in."
	if p.first {
		msg = "You are logged in, and your email address is confirmed."
	}
	if p.passwordRemoved {
		msg += " The password set before it was confirmed was removed: choose a new one with \"Forgot your password?\" if you want one."
	}
	s.redirect(w, r, "/dashboard", msg)
}
