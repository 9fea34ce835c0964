package app

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"skiff/db"
	"skiff/views"
)

// settingsRoutes registers the settings: a page per section
// (views.SettingsSections), each form posting to a route of its own.
// Connecting a provider is with social login (auth_oauth.go). Confirming an
// email change is public: the link may be opened in another browser.
func (s *Server) settingsRoutes(public, user group) {
	user.handle("GET /settings", old(s.handleSettings))
	user.handle("POST /settings/profile", old(s.handleSettingsProfile))
	user.handle("POST /settings/email", old(s.handleSettingsEmail))
	public.handle("GET /settings/email/confirm", old(s.handleEmailConfirmGet))
	public.handle("POST /settings/email/confirm", old(s.handleEmailConfirmPost))
	user.handle("GET /settings/security", old(s.handleSettingsSecurity))
	user.handle("POST /settings/password", old(s.handleSettingsPassword))
	user.handle("GET /settings/2fa", s.handleTwoFactorSettings)
	user.handle("POST /settings/2fa/enable", s.handleTwoFactorEnable)
	user.handle("POST /settings/2fa/disable", s.handleTwoFactorDisable)
	user.handle("GET /settings/2fa/recovery-codes", s.handleRecoveryCodes)
	user.handle("GET /settings/2fa/recovery-codes.txt", s.handleRecoveryCodesDownload)
	user.handle("POST /settings/2fa/recovery-codes", s.handleRecoveryCodesRegenerate)
	user.handle("GET /settings/sessions", old(s.handleSessions))
	user.handle("POST /settings/sessions/{id}/revoke", old(s.handleSessionRevoke))
	user.handle("POST /settings/sessions/revoke-others", old(s.handleSessionRevokeOthers))
	user.handle("GET /settings/tokens", old(s.handleTokens))
	user.handle("POST /settings/tokens", old(s.handleTokenCreate))
	user.handle("POST /settings/tokens/{id}/revoke", old(s.handleTokenRevoke))
	user.handle("GET /settings/data", old(s.handleSettingsData))
	user.handle("GET /settings/export", old(s.handleExport))
	user.handle("POST /settings/delete", old(s.handleDeleteAccount))
}

// The settings are one page per section (views.SettingsSections). Each form
// posts to a route of its own, which redirects to its section's page when it
// worked, or shows that page again with the form's errors (422).

// settingsPage is the layout data of a settings section, whichever route
// renders it: the section is marked in the settings navigation, and its name
// is the page's title and heading.
func (s *Server) settingsPage(r *http.Request, sec views.SettingsSection) views.Page {
	p := s.page(r, sec.Label)
	p.Path = sec.Path
	return p
}

// account is what every settings page shows of u.
func account(u *db.User) views.Account {
	return views.Account{Email: u.Email, Verified: u.EmailVerifiedAt.Valid, HasPassword: u.PasswordHash != ""}
}

// handleSettings handles "GET /settings": the profile and the email address.
func (s *Server) handleSettings(w http.ResponseWriter, r *http.Request) {
	s.renderProfile(w, r, http.StatusOK, views.SettingsProfile{})
}

// renderProfile shows the "Profile and email" page with the forms in d.
func (s *Server) renderProfile(w http.ResponseWriter, r *http.Request, status int, d views.SettingsProfile) {
	u := s.currentUser(r)
	d.Account = account(u)
	if d.ProfileForm.Values == nil {
		d.ProfileForm.Values = map[string]string{"display_name": u.DisplayName}
	}
	s.render(w, r, status, views.SettingsProfilePage(s.settingsPage(r, views.SectionProfile), d))
}

// handleSettingsSecurity handles "GET /settings/security": the password,
// two-factor authentication, the connected accounts.
func (s *Server) handleSettingsSecurity(w http.ResponseWriter, r *http.Request) {
	s.renderSecurity(w, r, http.StatusOK, views.SettingsSecurity{})
}

// renderSecurity shows the "Password and security" page with the forms in d.
func (s *Server) renderSecurity(w http.ResponseWriter, r *http.Request, status int, d views.SettingsSecurity) {
	ctx := r.Context()
	u := s.currentUser(r)
	d.Account = account(u)
	secret, err := s.db.TOTPSecret(ctx, u.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	d.TwoFactorOn = secret != ""
	identities, err := s.db.Identities(ctx, u.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	connected := map[string]bool{}
	for _, i := range identities {
		d.Identities = append(d.Identities, views.ConnectedAccount{ID: i.ID, ProviderName: s.providerName(i.Provider), Email: i.Email})
		connected[i.Provider] = true
	}
	for _, p := range s.providerButtons() {
		if !connected[p.ID] {
			d.Connectable = append(d.Connectable, p)
		}
	}
	s.render(w, r, status, views.SettingsSecurityPage(s.settingsPage(r, views.SectionSecurity), d))
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
		s.renderProfile(w, r, http.StatusUnprocessableEntity, views.SettingsProfile{ProfileForm: f})
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
		s.renderSecurity(w, r, http.StatusUnprocessableEntity, views.SettingsSecurity{PasswordForm: f})
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
	s.redirect(w, r, "/settings/security", "Your password has been changed. Your other sessions were signed out.")
}
