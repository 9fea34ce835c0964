package app

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"skiff/db"
	"skiff/views"
)

// handleSettings handles "GET /settings".
func (s *Server) handleSettings(w http.ResponseWriter, r *http.Request) {
	s.renderSettings(w, r, http.StatusOK, views.Form{}, views.Form{})
}

func (s *Server) renderSettings(w http.ResponseWriter, r *http.Request, status int, emailForm, passwordForm views.Form) {
	s.renderSettingsWith(w, r, status, emailForm, passwordForm, views.Form{})
}

func (s *Server) renderSettingsTokens(w http.ResponseWriter, r *http.Request, status int, tokenForm views.Form, newToken string) {
	s.renderSettingsFull(w, r, status, views.Settings{TokenForm: tokenForm, NewToken: newToken})
}

func (s *Server) renderSettingsWith(w http.ResponseWriter, r *http.Request, status int, emailForm, passwordForm, deleteForm views.Form) {
	s.renderSettingsFull(w, r, status, views.Settings{EmailForm: emailForm, PasswordForm: passwordForm, DeleteForm: deleteForm})
}

// renderSettingsFull fills in the account's data around the forms in data.
func (s *Server) renderSettingsFull(w http.ResponseWriter, r *http.Request, status int, data views.Settings) {
	u := s.currentUser(r)
	identities, err := s.db.Identities(r.Context(), u.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	sessions, err := s.db.UserSessions(r.Context(), u.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	data.Email, data.Verified, data.HasPassword = u.Email, u.EmailVerifiedAt.Valid, u.PasswordHash != ""
	if data.ProfileForm.Values == nil {
		data.ProfileForm.Values = map[string]string{"display_name": u.DisplayName}
	}
	if data.Tokens, err = s.db.APITokens(r.Context(), u.ID); err != nil {
		s.serverError(w, r, err)
		return
	}
	for _, us := range sessions {
		data.Sessions = append(data.Sessions, views.SessionRow{UserSession: us, Current: us.ID == state(r).sid})
	}
	connected := map[string]bool{}
	for _, i := range identities {
		name := i.Provider
		if op := s.oauthProvider(i.Provider); op != nil {
			name = op.Name
		}
		data.Identities = append(data.Identities, views.ConnectedAccount{ID: i.ID, ProviderName: name, Email: i.Email})
		connected[i.Provider] = true
	}
	for _, p := range s.providerButtons() {
		if !connected[p.ID] {
			data.Connectable = append(data.Connectable, p)
		}
	}
	s.render(w, r, status, views.SettingsPage(s.page(r, "Settings"), data))
}

// checkPassword verifies a password of u typed to confirm something (not a
// login). It is limited like a login, per account, and the limit's token is
// taken before the argon2id work, so concurrent guesses cannot slip past it.
// ok is false when the answer was written (429, 500).
func (s *Server) checkPassword(w http.ResponseWriter, r *http.Request, u db.User, password string) (match, ok bool) {
	if u.PasswordHash == "" || password == "" || len(password) > maxPasswordBytes {
		return false, true
	}
	if ok, wait := s.loginFailLimiter.allow(u.Email); !ok {
		s.tooManyRequests(w, r, wait)
		return false, false
	}
	_, err := s.hasher.verify(r.Context(), password, u.PasswordHash)
	switch {
	case errors.Is(err, errPasswordMismatch):
		return false, true
	case err != nil:
		s.serverError(w, r, err)
		return false, false
	}
	s.loginFailLimiter.reset(u.Email)
	return true, true
}

// handleSettingsProfile handles "POST /settings/profile" (`display_name`).
func (s *Server) handleSettingsProfile(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("display_name"))
	if msg := displayNameProblem(name); msg != "" {
		f := views.Form{Values: map[string]string{"display_name": name}, Errors: map[string]string{"display_name": msg}}
		s.renderSettingsFull(w, r, http.StatusUnprocessableEntity, views.Settings{ProfileForm: f})
		return
	}
	if err := s.db.SetDisplayName(r.Context(), s.currentUser(r).ID, name); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.redirect(w, r, "/settings", "Profile saved.")
}

// reauthenticate guards sensitive actions (changing the email or the
// password, adding or removing a way in, deleting the account): the current
// password, or for an account without one, a login within the last ten
// minutes. It returns the message to show when the check fails; ok is false
// when the answer was written (429, 500).
func (s *Server) reauthenticate(w http.ResponseWriter, r *http.Request, u *db.User, password string) (msg string, ok bool) {
	if u.PasswordHash == "" {
		at := s.sessions.GetInt64(r.Context(), sessionAuthAt)
		if time.Since(time.Unix(at, 0)) > reauthWindow {
			return reauthAgain, true
		}
		return "", true
	}
	match, ok := s.checkPassword(w, r, *u, password)
	if !match {
		return "Your current password is not correct.", ok
	}
	return "", ok
}

// reauthenticateForm runs reauthenticate for a settings form with a
// `current_password` field, putting a failure into f: on the field, and on
// the whole form for an account without a password (it has no such field).
// ok is false when the answer was written (429, 500).
func (s *Server) reauthenticateForm(w http.ResponseWriter, r *http.Request, u *db.User, f *views.Form) (ok bool) {
	msg, ok := s.reauthenticate(w, r, u, r.PostForm.Get("current_password"))
	if ok && msg != "" {
		if f.Errors == nil {
			f.Errors = map[string]string{}
		}
		f.Errors["current_password"] = msg
		if u.PasswordHash == "" {
			f.Error = msg
		}
	}
	return ok
}

// reauthAgain is what an account without a password is told when its login
// is too old for a sensitive action.
const reauthAgain = "For your security, log out and log in again, then retry within ten minutes."

// handleSettingsEmail handles "POST /settings/email": mail a confirmation link
// to the new address and a notice to the current one. The address changes
// only when the link is used.
func (s *Server) handleSettingsEmail(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
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
	if !s.reauthenticateForm(w, r, u, &f) {
		return
	}
	if len(f.Errors) == 0 {
		// "Another account uses this address" tells whether an address has
		// an account: each answer costs a token, taken before looking.
		if ok, wait := s.emailChangeLimiter.allow(strconv.FormatInt(u.ID, 10)); !ok {
			s.tooManyRequests(w, r, wait)
			return
		}
		_, err := s.db.UserByEmail(ctx, newEmail)
		switch {
		case err == nil:
			f.Errors["email"] = "Another account uses this address."
		case !errors.Is(err, db.ErrNotFound):
			s.serverError(w, r, err)
			return
		}
	}
	if len(f.Errors) > 0 {
		s.renderSettings(w, r, http.StatusUnprocessableEntity, f, views.Form{})
		return
	}
	if !s.allowMail(w, r, newEmail) {
		return
	}
	err := s.userTx(r, func(q db.Queries) error {
		if err := s.onEmailChangeRequested(ctx, q, *u, newEmail); err != nil {
			return err
		}
		link, err := s.issueToken(ctx, q, db.PurposeChangeEmail, u, newEmail)
		if err != nil {
			return err
		}
		return queueMail(ctx, q, newEmail, changeEmailConfirmMail(link))
	})
	if err != nil {
		s.userTxError(w, r, err)
		return
	}
	s.outbox.notify()
	s.redirect(w, r, "/settings", "We sent a confirmation link to "+newEmail+". Your address changes when you use it.")
}

// handleEmailConfirmGet handles "GET /settings/email/confirm?token=...": a
// button, so that a mail scanner opening the link changes nothing. Only the
// account that asked for the change may confirm it: whoever holds the new
// mailbox must not adopt, with one click, an account someone else set up (and
// whose ways in they keep). Anyone else is asked to log in first.
func (s *Server) handleEmailConfirmGet(w http.ResponseWriter, r *http.Request) {
	noReferrer(w)
	token := r.URL.Query().Get("token")
	t, u, ok := s.peekUserToken(w, r, token, db.PurposeChangeEmail)
	if !ok || !s.requireAccountOf(w, r, u) {
		return
	}
	s.render(w, r, http.StatusOK, views.ConfirmPage(s.page(r, "Confirm your new address"), views.Confirm{
		Title: "Confirm your new address", Text: "Use " + t.Email + " for your Skiff account from now on.",
		Action: "/settings/email/confirm", Token: token, Button: "Confirm " + t.Email,
	}))
}

// handleEmailConfirmPost handles "POST /settings/email/confirm": the new
// address is the account's, and every older mailed link stops working. For
// an account whose address was never proven, this is its first proof; this
// browser, logged in to it, keeps its session and the password.
func (s *Server) handleEmailConfirmPost(w http.ResponseWriter, r *http.Request) {
	noReferrer(w)
	if !s.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	t, u, ok := s.peekUserToken(w, r, r.PostForm.Get("token"), db.PurposeChangeEmail)
	if !ok || !s.requireAccountOf(w, r, u) {
		return
	}
	var p proven
	err := s.userTx(r, func(q db.Queries) error {
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
		s.userTxError(w, r, err)
		return
	}
	if !s.tokenTxOK(w, r, db.PurposeChangeEmail, err) {
		return
	}
	done := "Your email address is now " + t.Email + "."
	if p.first {
		if err := s.keepSession(ctx, p.epoch); err != nil {
			s.serverError(w, r, err)
			return
		}
		done += " Any other session was signed out."
	}
	s.redirect(w, r, "/settings", done)
}

// requireAccountOf lets through a request whose browser is logged in to u,
// else sends it to log in (coming back here after), or refuses it when
// another account is logged in. ok is false when the answer was written.
func (s *Server) requireAccountOf(w http.ResponseWriter, r *http.Request, u db.User) bool {
	cur := s.currentUser(r)
	switch {
	case cur == nil:
		target := "/login"
		if r.Method == http.MethodGet {
			target += "?next=" + urlQueryEscape(r.URL.RequestURI())
		}
		s.redirect(w, r, target, "Log in to the account that asked for this change, to confirm it.")
		return false
	case cur.ID != u.ID:
		s.clientError(w, r, http.StatusForbidden, "This link is for another account",
			"You are logged in to another account. Log out, log in to the account that asked for this change, then open the link again.")
		return false
	}
	return true
}

// handleSettingsPassword handles "POST /settings/password": this session
// stays logged in, every other one is signed out.
func (s *Server) handleSettingsPassword(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	u := s.currentUser(r)
	// Whoever registered an address first must not be able to keep voiding
	// its owner's links (a password change ends them): before the address is
	// proven, a password is changed through "Forgot your password?".
	if !s.requireVerified(w, r, u, "change your password (or use \"Forgot your password?\")") {
		return
	}
	password := r.PostForm.Get("password")
	f := views.Form{Errors: map[string]string{}}
	match, ok := s.checkPassword(w, r, *u, r.PostForm.Get("current_password"))
	if !ok {
		return
	}
	if !match {
		f.Errors["current_password"] = "Your current password is not correct."
	}
	if msg := passwordProblem(password, u.Email); msg != "" {
		f.Errors["password"] = msg
	}
	if len(f.Errors) > 0 {
		s.renderSettings(w, r, http.StatusUnprocessableEntity, views.Form{}, f)
		return
	}
	hash, err := s.hasher.hash(ctx, password)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	var epoch int64
	err = s.userTx(r, func(q db.Queries) error {
		var err error
		epoch, err = s.onPasswordChanged(ctx, q, *u, hash, state(r).sid)
		return err
	})
	if err != nil {
		s.userTxError(w, r, err)
		return
	}
	s.outbox.notify()
	if err := s.keepSession(ctx, epoch); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.redirect(w, r, "/settings", "Your password has been changed. Your other sessions were signed out.")
}
