package views

import (
	"time"

	"skiff/db"
)

// SettingsSection is one page of the account settings.
type SettingsSection struct {
	Path  string
	Label string // the page's title and heading, and its link in the settings navigation
}

// The settings pages, one per concern. Each form posts to a route of its own
// and, when it fails, is shown again on its section's page.
var (
	SectionProfile   = SettingsSection{"/settings", "Profile and email"}
	SectionSecurity  = SettingsSection{"/settings/security", "Password and security"}
	SectionTwoFactor = SettingsSection{"/settings/2fa", "Two-factor authentication"}
	SectionSessions  = SettingsSection{"/settings/sessions", "Sessions"}
	SectionTokens    = SettingsSection{"/settings/tokens", "API tokens"}
	SectionData      = SettingsSection{"/settings/data", "Data and deletion"}
)

// SettingsSections are the settings pages in the order of their navigation.
var SettingsSections = []SettingsSection{SectionProfile, SectionSecurity, SectionTwoFactor, SectionSessions, SectionTokens, SectionData}

// Account is what every settings page knows of the account.
type Account struct {
	Email       string
	Verified    bool // the address is confirmed: only then can a way in be added
	HasPassword bool // re-authentication asks for it; without one, for a recent login
}

// SettingsProfile is the data of the "Profile and email" page.
type SettingsProfile struct {
	Account
	ProfileForm, EmailForm Form
}

// SettingsSecurity is the data of the "Password and security" page.
type SettingsSecurity struct {
	Account
	PasswordForm Form
	TwoFactorOn  bool
	ConnectForm  Form // the password that connecting a provider asks
	Identities   []ConnectedAccount
	Connectable  []Provider // configured providers not connected yet
}

// ConnectedAccount is a linked provider account.
type ConnectedAccount struct {
	ID                  int64
	ProviderName, Email string
}

func identityDeleteURL(a ConnectedAccount) string {
	return "/settings/identities/" + itoa(a.ID) + "/delete"
}

// SettingsSessions is the data of the "Sessions" page.
type SettingsSessions struct {
	Sessions []SessionRow
}

// SessionRow is one signed-in device.
type SessionRow struct {
	db.UserSession
	Current bool // the device showing the page
}

func sessionRevokeURL(r SessionRow) string { return "/settings/sessions/" + r.ID + "/revoke" }

// SettingsTokens is the data of the "API tokens" page.
type SettingsTokens struct {
	Account
	Form     Form
	Tokens   []db.APIToken
	NewToken string // shown once, at the top, in the answer to the form that made it
}

func tokenRevokeURL(t db.APIToken) string { return "/settings/tokens/" + itoa(t.ID) + "/revoke" }

// SettingsData is the data of the "Data and deletion" page.
type SettingsData struct {
	Account
	DeleteForm Form
}

// TwoFactor is the data of the "Two-factor authentication" page.
type TwoFactor struct {
	Account
	Enabled        bool
	QR             string // a data: URL of the enrolment QR code
	Secret         string // the same key, for manual entry
	CodesLeft      int
	Form           Form // turning it on, or off
	RegenerateForm Form // making new recovery codes
}

// RecoveryCodes is the data of the page that shows recovery codes just made.
type RecoveryCodes struct {
	Codes []string
	Until time.Time // the page and the download work until then
}

// OtherSessions counts the sessions besides this one: "1 other session",
// "3 other sessions".
func OtherSessions(n int) string {
	if n == 1 {
		return "1 other session"
	}
	return itoa(int64(n)) + " other sessions"
}
