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
	s.render(w, r, http.StatusOK, views.MagicLinkPage(s.page(r, "Email me a login link"), views.Form{}))
}

// handleMagicPost handles "POST /login/magic": the same page, after the same
// time, for every address. A known address gets a login link; an unknown one
// gets a sign-up link only when MAGIC_LINK_SIGNUP is on.
func (s *Server) handleMagicPost(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	email, ok := s.readMailRequest(w, r, func(f views.Form) templ.Component {
		return views.MagicLinkPage(s.page(r, "Email me a login link"), f)
	})
	if !ok {
		return
	}
	u, err := s.db.UserByEmail(r.Context(), email)
	var user *db.User
	switch {
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
	text := "If an account exists for " + email + ", we sent it a login link. It is valid for 15 minutes."
	if s.cfg.MagicLinkSignup {
		text = "We sent a login link to " + email + ". It is valid for 15 minutes."
	}
	s.render(w, r, http.StatusOK, views.MessagePage(s.page(r, "Check your email"), views.Message{Title: "Check your email", Text: text}))
}

// handleMagicConfirmGet handles "GET /login/magic/confirm?token=...". Mail
// scanners open links, so this page only shows a button; the POST logs in.
func (s *Server) handleMagicConfirmGet(w http.ResponseWriter, r *http.Request) {
	noReferrer(w)
	token := r.URL.Query().Get("token")
	hash, ok := tokenHash(token)
	if !ok {
		s.invalidToken(w, r)
		return
	}
	t, err := s.db.PeekToken(r.Context(), hash, db.PurposeMagicLink)
	if err != nil {
		s.invalidToken(w, r)
		return
	}
	s.render(w, r, http.StatusOK, views.ConfirmPage(s.page(r, "Log in"), views.Confirm{
		Title: "Log in to Skiff", Text: "Continue as " + t.Email + ".", Action: "/login/magic/confirm", Token: token, Button: "Log in",
	}))
}

// handleMagicConfirmPost handles "POST /login/magic/confirm": use the token,
// confirm the address, create the account for a sign-up link, and log in.
func (s *Server) handleMagicConfirmPost(w http.ResponseWriter, r *http.Request) {
	noReferrer(w)
	if !s.parseForm(w, r) {
		return
	}
	hash, ok := tokenHash(r.PostForm.Get("token"))
	if !ok {
		s.invalidToken(w, r)
		return
	}
	var u db.User
	err := s.db.Tx(r.Context(), func(tx *sql.Tx) error {
		q := db.Q(tx)
		t, err := q.ConsumeToken(r.Context(), hash, db.PurposeMagicLink)
		if err != nil {
			return err
		}
		if t.UserID.Valid {
			if err := q.MarkEmailVerified(r.Context(), t.UserID.Int64); err != nil {
				return err
			}
			u, err = q.UserByID(r.Context(), t.UserID.Int64)
			return err
		}
		u, err = q.CreateUser(r.Context(), t.Email, "", true)
		return err
	})
	switch {
	case errors.Is(err, db.ErrTokenInvalid):
		s.invalidToken(w, r)
		return
	case errors.Is(err, db.ErrEmailTaken):
		// Someone signed up with this address after the link was sent.
		s.clientError(w, r, http.StatusConflict, "Account already exists",
			"An account with this address was created meanwhile. Ask for a new login link.")
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	if err := s.startSession(r, u, false); err != nil {
		s.sessionError(w, r, err)
		return
	}
	s.redirect(w, r, "/dashboard", "You are logged in.")
}
