package app

// Plan is what a customer can buy. Plans are defined here and only here;
// Stripe knows them by their price ids (STRIPE_PRICE_PRO, ...).
type Plan struct {
	ID           string // free, pro, enterprise: stored in subscriptions.plan
	Name         string
	PriceLabel   string // shown on the pricing page; the real price lives in Stripe
	MonthlyCents int    // the same price in cents a month per seat, for the admin's revenue estimate
	Description  string
	Features     []string
	MaxProjects  int    // 0 means unlimited
	MaxMembers   int    // people in a team of this plan's owner, pending invitations included; 0 means unlimited
	Rank         int    // a higher rank includes everything of a lower one
	PriceID      string // the Stripe price; empty for the free plan
}

// Plan ids.
const (
	PlanFree       = "free"
	PlanPro        = "pro"
	PlanEnterprise = "enterprise"
	// PlanUnknown is stored for a subscription on a Stripe price that no
	// plan sells (a price added in Stripe but not to STRIPE_PRICE_*). It is
	// never quietly turned into Free: it is logged, listed on /admin and
	// explained on /billing. Until the founder fixes it, it unlocks only
	// Free's features (plan falls back to Free): Skiff cannot tell what
	// was sold.
	PlanUnknown = "unknown"
)

// unknownPriceFix tells the founder what to do about PlanUnknown.
const unknownPriceFix = "set STRIPE_PRICE_PRO or STRIPE_PRICE_ENTERPRISE to that price (or move the subscription " +
	"to a known price in Stripe), restart, then run `skiff stripe-sync`"

// newPlans returns the plans, cheapest first, with their Stripe prices.
func newPlans(st StripeConfig) []Plan {
	return []Plan{
		{
			ID: PlanFree, Name: "Free", PriceLabel: "$0", Rank: 0, MaxProjects: 3, MaxMembers: 3,
			Description: "For trying things out.",
			Features:    []string{"Up to 3 projects", "Teams of up to 3 people", "Email and password login", "Community support"},
		},
		{
			ID: PlanPro, Name: "Pro", PriceLabel: "$19 per member / month", MonthlyCents: 1900, Rank: 1, PriceID: st.PricePro,
			Description: "For professionals shipping real work.",
			Features:    []string{"Unlimited projects", "Teams of any size, billed per member", "Reports", "Priority email support"},
		},
		{
			ID: PlanEnterprise, Name: "Enterprise", PriceLabel: "$99 per member / month", MonthlyCents: 9900, Rank: 2, PriceID: st.PriceEnterprise,
			Description: "For teams that need more.",
			Features:    []string{"Everything in Pro", "Unlimited projects", "A named contact and an SLA"},
		},
	}
}

// plan returns the plan with that id; unknown ids get the free plan.
func (s *Server) plan(id string) Plan {
	for _, p := range s.plans {
		if p.ID == id {
			return p
		}
	}
	return s.plans[0]
}

// planForPrice returns the id of the plan sold at a Stripe price id, or
// PlanUnknown when no plan is.
func (s *Server) planForPrice(priceID string) string {
	for _, p := range s.plans {
		if p.PriceID != "" && p.PriceID == priceID {
			return p.ID
		}
	}
	return PlanUnknown
}

// planName is how a plan id reads on a page.
func (s *Server) planName(id string) string {
	if id == PlanUnknown {
		return "Unknown price"
	}
	return s.plan(id).Name
}

// entitledPlan turns a subscription status into the plan it grants: active
// and trialing subscriptions give their plan, past_due keeps access (with a
// warning) while Stripe retries the card, anything else gives free.
func entitledPlan(status, plan string) string {
	switch status {
	case "active", "trialing", "past_due":
		return plan
	}
	return PlanFree
}
