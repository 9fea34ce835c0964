package app

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/a-h/templ"

	"skiff/db"
	"skiff/views"
)

// settingsRoutes registers the settings: a page per section
// (views.SettingsSections), each form posting to a route of its own.
// Connecting a provider is with social login (auth_oauth.go). Confirming an
// email change is public: the link may be opened in another browser.
func (s *Server) settingsRoutes(public, user group) {
	user.handle("GET /settings", s.handleSettingsSection(views.SectionProfile))
	user.handle("POST /settings/profile", s.handleProfileUpdate)
	user.handle("POST /settings/email", s.handleEmailChangeRequest)
	public.handle("GET /settings/email/confirm", s.handleEmailChangeConfirmPage)
	public.handle("POST /settings/email/confirm", s.handleEmailChangeConfirm)
	user.handle("GET /settings/security", s.handleSettingsSection(views.SectionSecurity))
	user.handle("POST /settings/password", s.handlePasswordChange)
	user.handle("GET /settings/2fa", s.handleTwoFactorSettings)
	user.handle("POST /settings/2fa/enable", s.handleTwoFactorEnable)
	user.handle("POST /settings/2fa/disable", s.handleTwoFactorDisable)
	user.handle("GET /settings/2fa/recovery-codes", s.handleRecoveryCodes)
	user.handle("GET /settings/2fa/recovery-codes.txt", s.handleRecoveryCodesDownload)
	user.handle("POST /settings/2fa/recovery-codes", s.handleRecoveryCodesRegenerate)
	user.handle("GET /settings/sessions", s.handleSettingsSection(views.SectionSessions))
	user.handle("POST /settings/sessions/{id}/revoke", s.handleSessionRevoke)
	user.handle("POST /settings/sessions/revoke-others", s.handleSessionRevokeOthers)
	user.handle("GET /settings/tokens", s.handleSettingsSection(views.SectionTokens))
	user.handle("POST /settings/tokens", s.handleTokenCreate)
	user.handle("POST /settings/tokens/{id}/revoke", s.handleTokenRevoke)
	user.handle("GET /settings/data", s.handleSettingsSection(views.SectionData))
	user.handle("GET /settings/export", s.handleDataExport)
	user.handle("POST /settings/delete", s.handleAccountDelete)
}

// The settings are one page per section (views.SettingsSections). Each form
// posts to a route of its own, which redirects to its section's page when it
// worked, or shows that page again with the form's errors (422). One
// renderer, renderSettings, draws every section (but two-factor's,
// auth_2fa.go), whichever route asks.

// handleSettingsSection handles the GET of a settings section ("GET
// /settings", "/settings/security", "/settings/sessions", "/settings/tokens",
// "/settings/data"): the page with its forms empty.
func (s *Server) handleSettingsSection(sec views.SettingsSection) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		return s.renderSettings(w, r, http.StatusOK, sec, views.Settings{})
	}
}

// renderSettings shows the settings section sec with the forms in d (each
// empty but the one that failed, or the new token): it fills in the account
// and what the section lists, and renders it with status.
func (s *Server) renderSettings(w http.ResponseWriter, r *http.Request, status int, sec views.SettingsSection, d views.Settings) error {
	u := s.currentUser(r)
	d.Account = account(u)
	var page func(views.Page, views.Settings) templ.Component
	switch sec {
	case views.SectionProfile:
		if d.ProfileForm.Values == nil {
			d.ProfileForm.Values = map[string]string{"display_name": u.DisplayName}
		}
		page = views.SettingsProfilePage
	case views.SectionSecurity:
		if err := s.securitySettings(r.Context(), u, &d); err != nil {
			return err
		}
		page = views.SettingsSecurityPage
	case views.SectionSessions:
		if err := s.sessionSettings(r, u, &d); err != nil {
			return err
		}
		page = views.SettingsSessionsPage
	case views.SectionTokens:
		if err := s.tokenSettings(r, u, &d); err != nil {
			return err
		}
		page = views.SettingsTokensPage
	case views.SectionData:
		page = views.SettingsDataPage
	default:
		return errors.New("renderSettings: no page for section " + sec.Path)
	}
	s.render(w, r, status, page(s.settingsPage(r, sec), d))
	return nil
}

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

// securitySettings fills in what "Password and security" shows: whether
// two-factor authentication is on, the connected accounts, and the
// providers that could be connected.
func (s *Server) securitySettings(ctx context.Context, u *db.User, d *views.Settings) error {
	secret, err := s.db.TOTPSecret(ctx, u.ID)
	if err != nil {
		return err
	}
	d.TwoFactorOn = secret != ""
	identities, err := s.db.Identities(ctx, u.ID)
	if err != nil {
		return err
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
	keys, err := s.db.Passkeys(ctx, u.ID)
	if err != nil {
		return err
	}
	for _, k := range keys {
		d.Passkeys = append(d.Passkeys, views.Passkey{ID: k.ID, Name: k.Name, Synced: k.BackupEligible, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt.Time})
	}
	return nil
}

// handleProfileUpdate handles "POST /settings/profile" (`display_name`).
func (s *Server) handleProfileUpdate(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(r); err != nil {
		return err
	}
	name := strings.TrimSpace(r.PostForm.Get("display_name"))
	if msg := displayNameProblem(name); msg != "" {
		f := views.Form{Values: map[string]string{"display_name": name}, Errors: map[string]string{"display_name": msg}}
		return s.renderSettings(w, r, http.StatusUnprocessableEntity, views.SectionProfile, views.Settings{ProfileForm: f})
	}
	if err := s.db.SetDisplayName(r.Context(), s.currentUser(r).ID, name); err != nil {
		return err
	}
	s.redirect(w, r, "/settings", "Profile saved.")
	return nil
}

// handlePasswordChange handles "POST /settings/password": this session
// stays logged in, every other one is signed out.
func (s *Server) handlePasswordChange(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(r); err != nil {
		return err
	}
	ctx := r.Context()
	u := s.currentUser(r)
	// Whoever registered an address first must not be able to keep voiding
	// its owner's links (a password change ends them): before the address is
	// proven, a password is changed through "Forgot your password?".
	if err := requireVerifiedAddress(u, "change your password (or use \"Forgot your password?\")"); err != nil {
		return err
	}
	password := r.PostForm.Get("password")
	f := views.Form{Errors: map[string]string{}}
	match, err := s.passwordMatches(ctx, *u, r.PostForm.Get("current_password"))
	if err != nil {
		return err
	}
	if !match {
		f.Errors["current_password"] = "Your current password is not correct."
	}
	if msg := passwordProblem(password, u.Email); msg != "" {
		f.Errors["password"] = msg
	}
	if len(f.Errors) > 0 {
		return s.renderSettings(w, r, http.StatusUnprocessableEntity, views.SectionSecurity, views.Settings{PasswordForm: f})
	}
	hash, err := s.hasher.hash(ctx, password)
	if err != nil {
		return err
	}
	var epoch int64
	err = s.userTx(r, func(q db.Queries) error {
		var err error
		epoch, err = s.onPasswordChanged(ctx, q, *u, hash, state(r).sid)
		return err
	})
	if err != nil {
		return s.userTxFailed(w, r, err)
	}
	s.outbox.notify()
	if err := s.keepSession(ctx, epoch); err != nil {
		return err
	}
	s.redirect(w, r, "/settings/security", "Your password has been changed. Your other sessions were signed out.")
	return nil
}
