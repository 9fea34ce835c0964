package views

import "time"

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
