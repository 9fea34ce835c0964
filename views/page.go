// Package views holds every HTML page and component, written in templ.
// Components take plain structs, never *http.Request.
package views

import (
	"fmt"
	"net/url"
	"strconv"
	"time"

	"skiff/db"
)

// Page is what the layout needs on every page.
type Page struct {
	Title       string   // the page's h1; the home page's is ProductTagline
	Description string   // the meta description; empty: ProductDescription
	User        *db.User // nil when nobody is logged in
	Flash       string   // one-time message carried across a redirect
	Path        string   // the current path, to mark the active navigation link
	Plan        string   // the name of the user's plan ("Free", "Pro"...)
	Admin       bool     // the user may see /admin
	Billing     bool     // billing is configured, so the menu offers it
	BaseURL     string   // BASE_URL, for the canonical link; empty on the bare 500 page
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

// Link is a labelled local link: a breadcrumb, a next step.
type Link struct {
	URL, Label string
}

// Form is a submitted form as a page shows it again: the values the user typed
// (never passwords) and the messages about them.
type Form struct {
	Values map[string]string
	Errors map[string]string // field name -> message
	Error  string            // a message about the whole form
}

// Value returns the submitted value of a field.
func (f Form) Value(name string) string { return f.Values[name] }

// Err returns the message for a field, or "".
func (f Form) Err(name string) string { return f.Errors[name] }

// EmailTaken is the signup form's message for an address that already has
// an account; the page follows it with a link to log in with that address.
const EmailTaken = "An account with this email already exists."

// focusPassword reports whether a login or signup form should put the cursor
// in the password: the address is filled in and nothing is wrong with it
// (only the password was wrong, or the address came along from signup).
func focusPassword(f Form) bool { return f.Value("email") != "" && f.Err("email") == "" }

// loginURL is the login page with email filled in.
func loginURL(email string) string { return "/login?email=" + urlQueryEscape(email) }

// Field describes one labelled input.
type Field struct {
	ID           string // the element id, when Name is used by two forms of a page
	Name         string
	Label        string
	Type         string // text, email, password...
	Autocomplete string
	Hint         string // shown under the input when there is no error
	Required     bool
	MinLength    int
	MaxLength    int
	Autofocus    bool
}

// Dashboard is the data of the dashboard page.
type Dashboard struct {
	Verified bool // the user's email address is confirmed
	Quota    ProjectQuota
	Recent   []Project
}

// ErrorInfo is the data of an error page.
type ErrorInfo struct {
	Status  int
	Title   string
	Message string
	// Next is the way on, offered first ("Send a new link"); empty: none.
	// With NextPost it is a button that POSTs to Next.URL.
	Next     Link
	NextPost bool
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func date(t time.Time) string { return t.Format("2 Jan 2006") }

func dateTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func dateMinute(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") }

// Pricing is the data of the pricing page.
type Pricing struct {
	Plans          []PlanCard
	BillingEnabled bool
	LoggedIn       bool
}

// What the button of a plan card does.
const (
	ActionNone     = ""
	ActionSignup   = "signup"   // anonymous: create an account first
	ActionCheckout = "checkout" // POST /billing/checkout
	ActionManage   = "manage"   // already subscribed: go to /billing
)

// PlanCard is one plan on the pricing page.
type PlanCard struct {
	ID, Name, PriceLabel, Description string
	Features                          []string
	Current                           bool
	Action                            string
	ComingSoon                        bool // a paid plan this site does not sell yet
}

// Billing is the data of the billing page.
type Billing struct {
	BillingEnabled    bool
	HasCustomer       bool
	Notice            string
	PlanName          string
	Status            string
	Live              bool
	PastDue           bool
	CancelAtPeriodEnd bool
	PeriodEnd         time.Time // zero when Stripe sent none
	UnknownPrice      bool      // live, but on a price no plan sells
}

// Upgrade is the data of the page shown when a plan is too small.
type Upgrade struct {
	Title, Message, PlanName string
	BillingEnabled           bool
}

// Message is the data of a simple page that tells the user something.
type Message struct {
	Title, Text        string
	LinkURL, LinkLabel string // an optional next step
}

// MailSent is the page after a mail with a link was asked for.
type MailSent struct {
	Title, Text string
	Email       string // the address it went to, sent again by "Send it again"
	Action      string // the form that asks for it: POST sends again, GET asks anew
}

// Proof is the page that confirms an address never proven before, in a
// browser not logged in to the account (see ProofPage).
type Proof struct {
	Title         string
	Email         string
	Action, Token string
	HasPassword   bool
	Form          Form // the password's error
}

// Confirm is a page with one button that POSTs a token (a GET must not use it).
type Confirm struct {
	Title, Text, Action, Token, Button string
}

// Provider is a social login button.
type Provider struct{ ID, Name string }

func providerURL(p Provider, next string) string {
	u := "/auth/" + p.ID
	if next != "" {
		u += "?next=" + urlQueryEscape(next)
	}
	return u
}

// DevMail is one mail in the development mailbox, with the links of its
// text part.
type DevMail struct {
	ID      int64
	To      string
	Subject string
	Text    string
	SentAt  time.Time
	Links   []string
}

func devMailURL(m DevMail) string { return "/dev/mail/" + itoa(m.ID) }

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// Admin is the data of the admin page.
type Admin struct {
	Self       int64 // the admin viewing the page, who cannot disable themselves
	Query      string
	Users      []db.AdminUser
	Signups    []db.DayCount
	TotalUsers int
	Plans      []AdminPlan
	MRRCents   int
	// UnknownPrices are live subscriptions on a price no plan sells, the
	// most recently changed first; MoreUnknownPrices when the list is cut.
	UnknownPrices     []db.AdminSubscription
	MoreUnknownPrices bool
}

// AdminPlan is the count of live subscriptions of one plan.
type AdminPlan struct {
	Name   string
	Active int
}

func money(cents int) string {
	return "$" + strconv.Itoa(cents/100) + "." + fmt.Sprintf("%02d", cents%100)
}

func adminUserURL(u db.AdminUser, action string) string {
	return "/admin/users/" + itoa(u.ID) + "/" + action
}

func fieldID(fd Field) string {
	if fd.ID != "" {
		return fd.ID
	}
	return fd.Name
}
