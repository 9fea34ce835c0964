package app

import (
	"context"
	"errors"
	"net/http"

	"github.com/a-h/templ"

	"skiff/db"
	"skiff/views"
)

// handleMagicGet handles "GET /login/magic".
func (s *Server) handleMagicGet(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, s.magicPage(r, views.Form{}))
	return nil
}

func (s *Server) magicPage(r *http.Request, f views.Form) templ.Component {
	return views.MagicLinkPage(s.page(r, "Log in with a link"), f)
}

// handleMagicPost handles "POST /login/magic": the same page, after the same
// time, for every address. A known address gets a login link; an unknown one
// gets a sign-up link only when MAGIC_LINK_SIGNUP is on.
func (s *Server) handleMagicPost(w http.ResponseWriter, r *http.Request) error {
	return s.answerMailRequest(w, r, mailRequestFlow{
		form: s.magicPage,
		send: s.sendMagicLink,
		sent: func(email string) views.MailSent {
			text := "If an account exists for " + email + ", we sent it a login link. It is valid for 15 minutes."
			if s.cfg.MagicLinkSignup {
				text = "We sent a login link to " + email + ". It is valid for 15 minutes."
			}
			return views.MailSent{Text: text, Email: email, Action: "/login/magic"}
		},
	})
}

// sendMagicLink queues a login link to the account of email, or a sign-up
// link when it has none and MAGIC_LINK_SIGNUP is on. A disabled account gets
// nothing: there is no way into it.
func (s *Server) sendMagicLink(ctx context.Context, email string) error {
	u, err := activeUser(s.db.UserByEmail(ctx, email))
	var user *db.User // nil: a sign-up link
	switch {
	case err == nil:
		user = &u
	case errors.Is(err, errAccountDisabled):
		return nil
	case !errors.Is(err, db.ErrNotFound):
		return err
	case !s.cfg.MagicLinkSignup:
		return nil
	}
	err = s.db.Tx(ctx, func(q db.Queries) error {
		link, err := s.issueToken(ctx, q, db.PurposeMagicLink, user, email)
		if err != nil {
			return err
		}
		return s.queueMail(ctx, q, email, magicLinkMail(link, user == nil))
	})
	if err != nil {
		return err
	}
	s.outbox.notify()
	return nil
}

// handleMagicConfirmGet handles "GET /login/magic/confirm?token=...". Mail
// scanners open links, so this page only shows a button; the POST logs in.
func (s *Server) handleMagicConfirmGet(w http.ResponseWriter, r *http.Request) error {
	noReferrer(w)
	token := r.URL.Query().Get("token")
	t, _, err := s.peekLink(r.Context(), token, db.PurposeMagicLink)
	if err != nil {
		return s.linkFailed(w, r, db.PurposeMagicLink, err)
	}
	title := "Log in to " + views.ProductName
	s.render(w, r, http.StatusOK, views.ConfirmPage(s.page(r, title), views.Confirm{
		Title: title, Text: "Continue as " + t.Email + ".", Action: "/login/magic/confirm", Token: token, Button: "Log in",
	}))
	return nil
}

// handleMagicConfirmPost handles "POST /login/magic/confirm": use the token,
// prove the address (a first proof wipes what was set up before it), create
// the account for a sign-up link, and log in.
func (s *Server) handleMagicConfirmPost(w http.ResponseWriter, r *http.Request) error {
	noReferrer(w)
	if err := readForm(r); err != nil {
		return err
	}
	ctx := r.Context()
	t, u, err := s.peekLink(ctx, r.PostForm.Get("token"), db.PurposeMagicLink)
	if err != nil {
		return s.linkFailed(w, r, db.PurposeMagicLink, err)
	}
	var p proven
	var in db.User // who logs in; u stays as peeked: the function may run again (db.Tx)
	err = s.db.Tx(ctx, func(q db.Queries) error {
		if _, err := q.ConsumeToken(ctx, t.Hash, db.PurposeMagicLink); err != nil {
			return err
		}
		var err error
		if !t.UserID.Valid {
			in, err = q.CreateUser(ctx, t.Email, "", true)
			return err
		}
		// The link proves the mailbox, nothing else: this browser holds no
		// session of the account and showed no password.
		if p, err = s.onAddressProven(ctx, q, u, holder{}); err != nil {
			return err
		}
		in, err = q.UserByID(ctx, u.ID)
		return err
	})
	if errors.Is(err, db.ErrEmailTaken) {
		// Someone signed up with this address after the link was sent.
		return &clientError{Status: http.StatusConflict, Code: "email_taken", Title: "Account already exists",
			Message: "An account with this address was created meanwhile. Ask for a new login link."}
	}
	if err != nil {
		return s.linkFailed(w, r, db.PurposeMagicLink, err)
	}
	msg := "You are logged in."
	if p.first {
		msg = "You are logged in, and your email address is confirmed."
	}
	if p.passwordRemoved {
		msg += " " + passwordRemovedNote
	}
	return s.logIn(w, r, in, false, "/dashboard", msg)
}

// passwordRemovedNote tells whoever proved an address first that the
// password set before (by them or by someone else) is gone.
const passwordRemovedNote = "The password set before it was confirmed was removed: choose a new one with \"Forgot your password?\" if you want one."
