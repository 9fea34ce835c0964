package app

import (
	"database/sql"
	"errors"
	"net/http"
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

// checkCurrentPassword verifies the password of the logged-in user. It
// counts failures like a login, so it cannot be used to guess.
func (s *Server) checkCurrentPassword(r *http.Request, u *db.User, password string) (bool, error) {
	if ok, _ := s.loginFailLimiter.check(u.Email); !ok {
		return false, nil
	}
	if u.PasswordHash == "" || password == "" || len(password) > maxPasswordBytes {
		return false, nil
	}
	_, err := s.hasher.verify(r.Context(), password, u.PasswordHash)
	if errors.Is(err, errPasswordMismatch) {
		s.loginFailLimiter.allow(u.Email)
		return false, nil
	}
	return err == nil, err
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

// reauthenticate guards sensitive actions (email change, disabling 2FA,
// deleting the account): the current password, or for an account without
// one, a login within the last ten minutes. It returns the message to show
// when the check fails.
func (s *Server) reauthenticate(r *http.Request, u *db.User, password string) (bool, string, error) {
	if u.PasswordHash != "" {
		ok, err := s.checkCurrentPassword(r, u, password)
		return ok, "Your current password is not correct.", err
	}
	at := s.sessions.GetInt64(r.Context(), sessionAuthAt)
	return time.Since(time.Unix(at, 0)) <= reauthWindow, "For your security, log out and log in again, then retry within ten minutes.", nil
}

// handleSettingsEmail handles "POST /settings/email": mail a confirmation link
// to the new address and a notice to the current one. The address changes
// only when the link is used.
func (s *Server) handleSettingsEmail(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	u := s.currentUser(r)
	newEmail := normalizeEmail(r.PostForm.Get("email"))
	f := views.Form{Values: map[string]string{"email": newEmail}, Errors: map[string]string{}}
	if msg := emailProblem(newEmail); msg != "" {
		f.Errors["email"] = msg
	} else if newEmail == u.Email {
		f.Errors["email"] = "This is already your address."
	}
	ok, msg, err := s.reauthenticate(r, u, r.PostForm.Get("current_password"))
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if !ok {
		f.Errors["current_password"] = msg
		if u.PasswordHash == "" {
			f.Error = msg
		}
	}
	if len(f.Errors) == 0 {
		if _, err := s.db.UserByEmail(r.Context(), newEmail); err == nil {
			f.Errors["email"] = "Another account uses this address."
		}
	}
	if len(f.Errors) > 0 {
		s.renderSettings(w, r, http.StatusUnprocessableEntity, f, views.Form{})
		return
	}
	if !s.allowMail(w, r, newEmail) {
		return
	}
	err = s.db.Tx(r.Context(), func(tx *sql.Tx) error {
		q := db.Q(tx)
		link, err := s.issueToken(r.Context(), q, db.PurposeChangeEmail, u, newEmail)
		if err != nil {
			return err
		}
		if err := queueMail(r.Context(), q, newEmail, changeEmailConfirmMail(link)); err != nil {
			return err
		}
		return queueMail(r.Context(), q, u.Email, changeEmailNoticeMail(newEmail, s.cfg.Origin()))
	})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.outbox.notify()
	s.redirect(w, r, "/settings", "We sent a confirmation link to "+newEmail+". Your address changes when you use it.")
}

// handleEmailConfirmGet handles "GET /settings/email/confirm?token=...": a
// button, so that a mail scanner opening the link changes nothing.
func (s *Server) handleEmailConfirmGet(w http.ResponseWriter, r *http.Request) {
	noReferrer(w)
	token := r.URL.Query().Get("token")
	hash, ok := tokenHash(token)
	if !ok {
		s.invalidToken(w, r)
		return
	}
	t, err := s.db.PeekToken(r.Context(), hash, db.PurposeChangeEmail)
	if err != nil {
		s.invalidToken(w, r)
		return
	}
	s.render(w, r, http.StatusOK, views.ConfirmPage(s.page(r, "Confirm your new address"), views.Confirm{
		Title: "Confirm your new address", Text: "Use " + t.Email + " for your Skiff account from now on.",
		Action: "/settings/email/confirm", Token: token, Button: "Confirm " + t.Email,
	}))
}

// handleEmailConfirmPost handles "POST /settings/email/confirm".
func (s *Server) handleEmailConfirmPost(w http.ResponseWriter, r *http.Request) {
	noReferrer(w)
	if !s.parseForm(w, r) {
		return
	}
	hash, ok := tokenHash(r.PostForm.Get("token"))
	if !ok {
		s.invalidToken(w, r)
		return
	}
	var newEmail string
	err := s.db.Tx(r.Context(), func(tx *sql.Tx) error {
		q := db.Q(tx)
		t, err := q.ConsumeToken(r.Context(), hash, db.PurposeChangeEmail)
		if err != nil {
			return err
		}
		newEmail = t.Email
		return q.SetEmail(r.Context(), t.UserID.Int64, t.Email)
	})
	switch {
	case errors.Is(err, db.ErrTokenInvalid):
		s.invalidToken(w, r)
	case errors.Is(err, db.ErrEmailTaken):
		s.clientError(w, r, http.StatusConflict, "Address already in use", "Another account started using this address meanwhile.")
	case err != nil:
		s.serverError(w, r, err)
	case s.currentUser(r) != nil:
		s.redirect(w, r, "/settings", "Your email address is now "+newEmail+".")
	default:
		s.redirect(w, r, "/login", "Your email address is now "+newEmail+". Log in with it.")
	}
}

// handleSettingsPassword handles "POST /settings/password": this session
// stays logged in, every other one is signed out.
func (s *Server) handleSettingsPassword(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	u := s.currentUser(r)
	password := r.PostForm.Get("password")
	f := views.Form{Errors: map[string]string{}}
	ok, err := s.checkCurrentPassword(r, u, r.PostForm.Get("current_password"))
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if !ok {
		f.Errors["current_password"] = "Your current password is not correct."
	}
	if msg := passwordProblem(password, u.Email); msg != "" {
		f.Errors["password"] = msg
	}
	if len(f.Errors) > 0 {
		s.renderSettings(w, r, http.StatusUnprocessableEntity, views.Form{}, f)
		return
	}
	hash, err := s.hasher.hash(r.Context(), password)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	var epoch int64
	err = s.db.Tx(r.Context(), func(tx *sql.Tx) error {
		q := db.Q(tx)
		var err error
		if epoch, err = q.SetPassword(r.Context(), u.ID, hash); err != nil {
			return err
		}
		// SetPassword ended every session; this one stays.
		if _, err := q.StartUserSession(r.Context(), state(r).sid, u.ID, deviceName(r.UserAgent()), s.clientIP(r)); err != nil {
			return err
		}
		return queueMail(r.Context(), q, u.Email, passwordChangedMail(s.cfg.Origin()))
	})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.outbox.notify()
	// A privilege change: new token, and the new epoch keeps this session valid.
	if err := s.sessions.RenewToken(r.Context()); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.sessions.Put(r.Context(), sessionAuthEpoch, epoch)
	s.redirect(w, r, "/settings", "Your password has been changed. Your other sessions were signed out.")
}
