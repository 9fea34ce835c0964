package app

import (
	"context"
	"errors"
	"net/http"
	"time"

	"skiff/db"
	"skiff/views"
)

// Sensitive actions (changing the email or the password, adding or removing
// a way in, deleting the account) ask again who is there: the current
// password, or for an account without one, a login within reauthWindow.

// reauthWindow is how recent a login must be for a sensitive action without
// typing a password (for accounts that have none).
const reauthWindow = 10 * time.Minute

// passwordMatches verifies a password of u typed to confirm something (not
// a login). It is limited like a login, per account, and the limit's token
// is taken before the argon2id work, so concurrent guesses cannot slip past
// it: over the limit, the error is a 429.
func (s *Server) passwordMatches(ctx context.Context, u db.User, password string) (bool, error) {
	if u.PasswordHash == "" || password == "" || len(password) > maxPasswordBytes {
		return false, nil
	}
	if ok, wait := s.loginFailLimiter.allow(u.Email); !ok {
		return false, tooMany(wait)
	}
	_, err := s.hasher.verify(ctx, password, u.PasswordHash)
	switch {
	case errors.Is(err, errPasswordMismatch):
		return false, nil
	case err != nil:
		return false, err
	}
	s.loginFailLimiter.reset(u.Email)
	return true, nil
}

// reauthenticate guards sensitive actions (changing the email or the
// password, adding or removing a way in, deleting the account): the current
// password, or for an account without one, a login within the last ten
// minutes. It returns the message to show when the check fails.
func (s *Server) reauthenticate(r *http.Request, u *db.User, password string) (msg string, err error) {
	if u.PasswordHash == "" {
		at := s.sessions.GetInt64(r.Context(), sessionAuthAt)
		if time.Since(time.Unix(at, 0)) > reauthWindow {
			return reauthAgain, nil
		}
		return "", nil
	}
	match, err := s.passwordMatches(r.Context(), *u, password)
	if err != nil || match {
		return "", err
	}
	return "Your current password is not correct.", nil
}

// reauthenticateInto runs reauthenticate for a settings form with a
// `current_password` field, putting a failure into f: on the field, and on
// the whole form for an account without a password (it has no such field).
func (s *Server) reauthenticateInto(r *http.Request, u *db.User, f *views.Form) error {
	msg, err := s.reauthenticate(r, u, r.PostForm.Get("current_password"))
	if err != nil || msg == "" {
		return err
	}
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	f.Errors["current_password"] = msg
	if u.PasswordHash == "" {
		f.Error = msg
	}
	return nil
}

// reauthAgain is what an account without a password is told when its login
// is too old for a sensitive action.
const reauthAgain = "For your security, log out and log in again, then retry within ten minutes."
