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

// BillingURL is a team's billing page.
func BillingURL(team int64) string { return TeamURL(team) + "/billing" }

// Billing is the data of a team's billing page.
type Billing struct {
	Team              Team
	CanManage         bool       // the owner: buys, and opens the portal
	Plans             []PlanCard // the paid plans the owner may choose, when buying is possible
	Members           int64      // the seats a purchase now would bill
	Seats             int64      // the seats the subscription bills (0: none)
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
