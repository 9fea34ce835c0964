package views

import "time"

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

// Settings is the data of a settings page (but two-factor's, TwoFactor):
// the account, the forms of the section, and what the section lists. A form
// that failed comes back with what was typed and its messages; the others
// are empty. Only the fields of the section shown are filled in.
type Settings struct {
	Account

	// Profile and email.
	ProfileForm, EmailForm Form

	// Password and security.
	PasswordForm Form
	TwoFactorOn  bool
	ConnectForm  Form // the password that connecting a provider asks
	Identities   []ConnectedAccount
	Connectable  []Provider // configured providers not connected yet

	// Sessions: this one first (on the first page), then a page of the
	// others, the most recent sign-in first.
	Sessions      []Session
	SessionsPager Pager
	OtherSessions int // the sessions besides this one, counted up to SessionCountCap

	// API tokens: a page of them, the newest first.
	Passkeys    []Passkey
	TokenForm   Form
	TokenTeams  []Team // the teams a new token may act in, the personal one first
	Tokens      []APIToken
	TokensPager Pager
	NewToken    string // shown once, at the top, in the answer to the form that made it

	// Data and deletion.
	DeleteForm Form
}

// ConnectedAccount is a linked provider account.
type ConnectedAccount struct {
	ID                  int64
	ProviderName, Email string
}

func identityDeleteURL(a ConnectedAccount) string {
	return "/settings/identities/" + itoa(a.ID) + "/delete"
}

// Session is one signed-in browser or device.
type Session struct {
	ID         string
	Device     string // "Firefox on Linux"
	IP         string
	CreatedAt  time.Time // signed in
	LastSeenAt time.Time
	Current    bool // the device showing the page
}

func sessionRevokeURL(s Session) string { return "/settings/sessions/" + s.ID + "/revoke" }

// Passkey is a passkey as the security page lists it.
type Passkey struct {
	ID         int64
	Name       string
	Synced     bool // in a passkey manager that syncs it to the user's devices (backup eligible)
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never used
}

func passkeyURL(k Passkey, action string) string {
	return "/settings/passkeys/" + itoa(k.ID) + "/" + action
}

func passkeyRemoveText(k Passkey) string {
	return "\"" + k.Name + "\" will no longer log you in. Remove it from your device's passkey list too."
}

// APIToken is a personal API token as its page lists it: never the token.
type APIToken struct {
	ID         int64
	TeamName   string // the team it acts in
	Name       string
	Prefix     string // the token's first characters, to recognise it
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: never
	LastUsedAt time.Time // zero: never used
}

func tokenRevokeURL(t APIToken) string { return "/settings/tokens/" + itoa(t.ID) + "/revoke" }

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

// SessionCountCap is as far as the sessions page counts the other sessions:
// past it, it says "100+", and counting walks no more index entries for an
// account that a script logs in to every day (as ProjectCountCap).
const SessionCountCap = 100

// OtherSessions counts the sessions besides this one: "1 other session",
// "3 other sessions", "100+ other sessions" from SessionCountCap on.
func OtherSessions(n int) string {
	switch {
	case n == 1:
		return "1 other session"
	case n >= SessionCountCap:
		return itoa(SessionCountCap) + "+ other sessions"
	}
	return itoa(int64(n)) + " other sessions"
}
