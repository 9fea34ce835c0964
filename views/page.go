// Package views holds every HTML page and component, written in templ.
// Components take plain structs of this package, never *http.Request nor a
// database row: app/ converts what it reads into these types.
package views

import "time"

// Page is what the layout needs on every page.
type Page struct {
	Title       string // the page's h1; the home page's is ProductTagline
	Description string // the meta description; empty: ProductDescription
	User        *User  // nil when nobody is logged in
	Flash       string // one-time message carried across a redirect
	Path        string // the current path, to mark the active navigation link
	Plan        string // the name of the user's plan ("Free", "Pro"...)
	Admin       bool   // the user may see /admin
	Billing     bool   // billing is configured, so the menu offers it
	BillingURL  string // where the menu's Billing leads
	Passkeys    bool   // passkeys work on this site (BASE_URL is a domain name)
	BaseURL     string // BASE_URL, for the canonical link; empty on the bare 500 page
	Team        Team   // the team the page acts in (the user's personal team outside /t/…)
}

// User is the logged-in user as the pages show them: what the layout and
// the pages say about the account, and nothing else (no password hash, no
// session secret).
type User struct {
	ID          int64
	Email       string
	DisplayName string // empty: the pages use the email
	Verified    bool   // the address is confirmed
	CreatedAt   time.Time
}

// Name is what to call the user: the display name, else the email.
func (u User) Name() string {
	if u.DisplayName != "" {
		return u.DisplayName
	}
	return u.Email
}

// LoggedIn reports whether a user is logged in.
func (p Page) LoggedIn() bool { return p.User != nil }

// FullTitle is the page's <title>: its heading, then the product's name.
func (p Page) FullTitle() string {
	if p.Title == "" {
		return ProductName
	}
	return p.Title + " · " + ProductName
}

// MetaDescription is what search results and link previews show under the title.
func (p Page) MetaDescription() string {
	if p.Description != "" {
		return p.Description
	}
	return ProductDescription
}

// URL is the page's public address without its query (which may hold a
// mailed token), for the canonical link and link previews; "" without BaseURL.
func (p Page) URL() string {
	if p.BaseURL == "" {
		return ""
	}
	return p.BaseURL + p.Path
}
