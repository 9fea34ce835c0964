package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	stripeclient "github.com/stripe/stripe-go/v76/client"

	"skiff/db"
	"skiff/views"
)

// billingRoutes registers pricing, Stripe Checkout and the customer portal,
// and an example page of a paid plan. The webhook is in routes.go: it takes
// no session and no cross-origin check (its signature is the check).
func (s *Server) billingRoutes(public, user group) {
	public.handle("GET /pricing", s.handlePricing)
	user.handle("GET /billing", s.handleBilling)
	user.handle("POST /billing/checkout", s.handleCheckout)
	user.handle("POST /billing/portal", s.handlePortal)
	user.with(s.requirePlan(PlanPro)).handle("GET /reports", s.handleReports)
}

// newStripeClient returns a Stripe API client, or nil when billing is off.
// STRIPE_API_BASE points it at another server (stripe-mock, a test fake).
func newStripeClient(st StripeConfig, logger *slog.Logger) *stripeclient.API {
	if !st.Enabled() {
		return nil
	}
	cfg := &stripe.BackendConfig{
		HTTPClient:        &http.Client{Timeout: 20 * time.Second},
		LeveledLogger:     stripeLogger{logger},
		MaxNetworkRetries: stripe.Int64(2),
	}
	if st.APIBase != "" {
		cfg.URL = stripe.String(strings.TrimSuffix(st.APIBase, "/"))
	}
	sc := &stripeclient.API{}
	sc.Init(st.SecretKey, stripe.NewBackendsWithConfig(cfg))
	return sc
}

// stripeLogger sends stripe-go's log lines to slog; its info lines (one per
// request) become debug lines.
type stripeLogger struct{ l *slog.Logger }

func (s stripeLogger) Debugf(format string, v ...any) {
	s.l.Debug("stripe: " + fmt.Sprintf(format, v...))
}
func (s stripeLogger) Infof(format string, v ...any) {
	s.l.Debug("stripe: " + fmt.Sprintf(format, v...))
}
func (s stripeLogger) Warnf(format string, v ...any) {
	s.l.Warn("stripe: " + fmt.Sprintf(format, v...))
}
func (s stripeLogger) Errorf(format string, v ...any) {
	s.l.Error("stripe: " + fmt.Sprintf(format, v...))
}

// liveStatus reports whether a subscription status still bills the customer:
// while one is live, checkout is not offered again, so nobody pays twice.
func liveStatus(status string) bool {
	switch status {
	case "active", "trialing", "past_due", "incomplete", "unpaid", "paused":
		return true
	}
	return false
}

// handlePricing handles "GET /pricing".
func (s *Server) handlePricing(w http.ResponseWriter, r *http.Request) error {
	st := state(r)
	data := views.Pricing{BillingEnabled: s.stripe != nil, LoggedIn: st.user != nil}
	hasLive := st.sub != nil && liveStatus(st.sub.Status)
	for _, p := range s.plans {
		card := views.PlanCard{ID: p.ID, Name: p.Name, PriceLabel: p.PriceLabel, Description: p.Description,
			Features: p.Features, Current: st.user != nil && p.ID == st.plan}
		switch {
		case card.Current || p.PriceID == "" && p.ID != PlanFree:
		case p.ID == PlanFree:
			if st.user == nil {
				card.Action = views.ActionSignup
			}
		case st.user == nil:
			card.Action = views.ActionSignup
		case hasLive:
			card.Action = views.ActionManage
		case s.stripe != nil:
			card.Action = views.ActionCheckout
		}
		card.ComingSoon = card.Action == views.ActionNone && !card.Current && p.ID != PlanFree
		data.Plans = append(data.Plans, card)
	}
	s.render(w, r, http.StatusOK, views.PricingPage(s.page(r, "Pricing"), data))
	return nil
}

// handleCheckout handles "POST /billing/checkout": send the user to a Stripe
// Checkout page for the chosen plan, on their own Stripe customer.
func (s *Server) handleCheckout(w http.ResponseWriter, r *http.Request) error {
	if s.stripe == nil {
		return errBillingOff
	}
	if err := readForm(r); err != nil {
		return err
	}
	p := s.plan(r.PostForm.Get("plan"))
	if p.PriceID == "" || p.ID != r.PostForm.Get("plan") {
		return &clientError{Status: http.StatusUnprocessableEntity, Code: "unknown_plan", Title: "Unknown plan",
			Message: "Please choose one of the plans on the pricing page."}
	}
	st := state(r)
	if st.sub != nil && liveStatus(st.sub.Status) {
		s.redirect(w, r, "/billing", "You already have a subscription. Change or cancel it from the billing portal.")
		return nil
	}
	ctx := r.Context()
	customerID, err := s.customerFor(r, *st.user)
	if err != nil {
		return err
	}
	params := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModeSubscription)),
		Customer:          stripe.String(customerID),
		ClientReferenceID: stripe.String(strconv.FormatInt(st.user.ID, 10)),
		LineItems:         []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String(p.PriceID), Quantity: stripe.Int64(1)}},
		SuccessURL:        stripe.String(s.cfg.Origin() + "/billing?session_id={CHECKOUT_SESSION_ID}"),
		CancelURL:         stripe.String(s.cfg.Origin() + "/pricing"),
		SubscriptionData: &stripe.CheckoutSessionSubscriptionDataParams{
			Metadata: map[string]string{"user_id": strconv.FormatInt(st.user.ID, 10)},
		},
	}
	if days := s.cfg.Stripe.TrialDays; days > 0 {
		params.SubscriptionData.TrialPeriodDays = stripe.Int64(days)
	}
	params.Context = ctx
	sess, err := s.stripe.CheckoutSessions.New(params)
	if err != nil {
		return s.paymentsUnavailable(r, err)
	}
	return s.redirectToStripe(w, r, sess.URL)
}

// redirectToStripe answers a form with a 303 to a page Stripe made for this
// user (Checkout, the portal). The CSP's form-action also governs where a
// form's redirect may lead, and the browser silently refuses an origin it
// does not list (a custom domain set up in Stripe but not in
// STRIPE_REDIRECT_ORIGINS): then the user gets a page with a link instead,
// and the founder a warning naming the setting.
func (s *Server) redirectToStripe(w http.ResponseWriter, r *http.Request, target string) error {
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return s.paymentsUnavailable(r, fmt.Errorf("stripe returned a page address that is not https: %q", target))
	}
	if origin := "https://" + strings.ToLower(u.Host); !slices.Contains(s.cfg.Stripe.RedirectOrigins, origin) {
		s.log.Warn("Stripe's page is on an origin the CSP's form-action does not list, so the user got a link instead of a redirect: add it to STRIPE_REDIRECT_ORIGINS",
			"origin", origin, "path", r.URL.Path, "request_id", state(r).id)
		s.render(w, r, http.StatusOK, views.MessagePage(s.page(r, "Continue to Stripe"), views.Message{
			Title: "Continue to Stripe", Text: "Your secure Stripe page is ready on " + u.Host + ".",
			LinkURL: target, LinkLabel: "Continue to Stripe",
		}))
		return nil
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// customerFor returns the user's Stripe customer, creating it once. The
// idempotency key is fixed per account, so a double submit that races here
// gets the same customer back from Stripe, and the table's unique keys keep
// the first link. Only a customer the database does not have is created: a
// database that fails to answer is an error, never "no customer yet".
func (s *Server) customerFor(r *http.Request, u db.User) (string, error) {
	ctx := r.Context()
	id, err := s.db.CustomerID(ctx, u.ID)
	if err == nil || !errors.Is(err, db.ErrNotFound) {
		return id, err
	}
	params := &stripe.CustomerParams{
		Email:    stripe.String(u.Email),
		Metadata: map[string]string{"user_id": strconv.FormatInt(u.ID, 10)},
	}
	params.Context = ctx
	params.SetIdempotencyKey(fmt.Sprintf("skiff-customer-%d-%d", u.ID, u.CreatedAt.Unix()))
	c, err := s.stripe.Customers.New(params)
	if err != nil {
		return "", s.paymentsUnavailable(r, err)
	}
	return s.db.SaveCustomer(ctx, u.ID, c.ID)
}

// handleBilling handles "GET /billing". Back from Checkout with a session_id,
// it asks Stripe for that session and applies its subscription at once, so
// the new plan shows before the webhook arrives. This GET writes only what
// Stripe already holds as true; a replay changes nothing.
func (s *Server) handleBilling(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	st := state(r)
	customerID, err := s.db.CustomerID(ctx, st.user.ID)
	hasCustomer := err == nil
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return err
	}
	var notice string
	if sid := r.URL.Query().Get("session_id"); sid != "" && s.stripe != nil && !readOnly(r) && hasCustomer {
		notice = s.applyCheckoutReturn(r, *st.user, customerID, sid)
		// The plan as it is now, read past the request's cached state.
		sub, err := s.db.CurrentSubscription(ctx, st.user.ID)
		switch {
		case err == nil:
			st.sub, st.plan = &sub, entitledPlan(sub.Status, sub.Plan)
		case !errors.Is(err, db.ErrNotFound):
			return err
		}
	}
	data := views.Billing{BillingEnabled: s.stripe != nil, HasCustomer: hasCustomer, Notice: notice, PlanName: s.planName(st.plan)}
	if sub := st.sub; sub != nil {
		data.Status = sub.Status
		data.Live = liveStatus(sub.Status)
		data.UnknownPrice = data.Live && sub.Plan == PlanUnknown
		data.CancelAtPeriodEnd = sub.CancelAtPeriodEnd
		data.PastDue = sub.Status == "past_due" || sub.Status == "unpaid" || sub.LastInvoiceStatus == "payment_failed" && data.Live
		if sub.CurrentPeriodEnd.Valid {
			data.PeriodEnd = sub.CurrentPeriodEnd.Time
		}
	}
	s.render(w, r, http.StatusOK, views.BillingPage(s.page(r, "Billing"), data))
	return nil
}

// Notices of the billing page back from Checkout.
const (
	checkoutConfirming = "We are confirming your payment with Stripe. Your plan will update in a moment."
	checkoutDone       = "Thank you! Your subscription is active."
)

// applyCheckoutReturn applies the subscription of a finished Checkout
// session if the session belongs to this user (of customerID), and returns a
// notice for the page. Whatever fails here, the webhook applies the same
// subscription soon after: a failure is logged, and the page says the plan
// is being confirmed.
func (s *Server) applyCheckoutReturn(r *http.Request, u db.User, customerID, sessionID string) string {
	if !validStripeID(sessionID, "cs_") {
		return ""
	}
	ctx := r.Context()
	params := &stripe.CheckoutSessionParams{}
	params.Context = ctx
	params.AddExpand("subscription")
	sess, err := s.stripe.CheckoutSessions.Get(sessionID, params)
	if err != nil {
		s.log.Warn("checkout return: retrieve session; the webhook will apply it", "session", sessionID, "err", err, "request_id", state(r).id)
		return checkoutConfirming
	}
	if sess.ClientReferenceID != strconv.FormatInt(u.ID, 10) || sess.Customer == nil || sess.Customer.ID != customerID {
		s.log.Warn("checkout return: session of another user", "session", sessionID, "user_id", u.ID, "request_id", state(r).id)
		return ""
	}
	sub := sess.Subscription
	if sub == nil || sub.ID == "" || sub.Status == "" {
		return checkoutConfirming
	}
	if _, err := s.db.ApplySubscription(ctx, s.subscriptionRow(sub, u.ID, customerID, sub.Created)); err != nil {
		s.log.Error("checkout return: apply subscription; the webhook will apply it", "subscription", sub.ID, "err", err, "request_id", state(r).id)
		return checkoutConfirming
	}
	return checkoutDone
}

// subscriptionRow converts Stripe's subscription into our row. A live one on
// a price no plan sells is logged as an error for the founder.
func (s *Server) subscriptionRow(sub *stripe.Subscription, userID int64, customerID string, version int64) db.Subscription {
	var priceID string
	if sub.Items != nil && len(sub.Items.Data) > 0 && sub.Items.Data[0].Price != nil {
		priceID = sub.Items.Data[0].Price.ID
	}
	plan := s.planForPrice(priceID)
	if plan == PlanUnknown && liveStatus(string(sub.Status)) {
		s.log.Error("stripe subscription on a price no plan sells: it unlocks nothing until you "+unknownPriceFix,
			"subscription", sub.ID, "price", priceID, "customer", customerID, "user_id", userID)
	}
	return db.Subscription{
		ID:                sub.ID,
		UserID:            userID,
		CustomerID:        customerID,
		PriceID:           priceID,
		Plan:              plan,
		Status:            string(sub.Status),
		CurrentPeriodEnd:  db.UnixTime(sub.CurrentPeriodEnd),
		CancelAtPeriodEnd: sub.CancelAtPeriodEnd,
		Version:           version,
	}
}

// handlePortal handles "POST /billing/portal": open Stripe's customer portal,
// where the user changes plan, card or cancels.
func (s *Server) handlePortal(w http.ResponseWriter, r *http.Request) error {
	if s.stripe == nil {
		return errBillingOff
	}
	customerID, err := s.db.CustomerID(r.Context(), s.currentUser(r).ID)
	if errors.Is(err, db.ErrNotFound) {
		s.redirect(w, r, "/pricing", "You have no billing account yet. Choose a plan to start.")
		return nil
	}
	if err != nil {
		return err
	}
	params := &stripe.BillingPortalSessionParams{
		Customer:  stripe.String(customerID),
		ReturnURL: stripe.String(s.cfg.Origin() + "/billing"),
	}
	params.Context = r.Context()
	ps, err := s.stripe.BillingPortalSessions.New(params)
	if err != nil {
		return s.paymentsUnavailable(r, err)
	}
	return s.redirectToStripe(w, r, ps.URL)
}

// requirePlan shows users below the plan an upgrade page (403), not an error.
func (s *Server) requirePlan(planID string) func(http.Handler) http.Handler {
	need := s.plan(planID)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if s.plan(state(r).plan).Rank < need.Rank {
				s.upgradeRequired(w, r, need, need.Name+" feature", "This page is part of the "+need.Name+" plan.")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func (s *Server) upgradeRequired(w http.ResponseWriter, r *http.Request, need Plan, title, msg string) {
	s.render(w, r, http.StatusForbidden, views.UpgradePage(s.page(r, title), views.Upgrade{
		Title: title, Message: msg, PlanName: need.Name, BillingEnabled: s.stripe != nil,
	}))
}

// handleReports handles "GET /reports", an example of a Pro-only page.
func (s *Server) handleReports(w http.ResponseWriter, r *http.Request) error {
	quota, err := s.projectQuota(r.Context(), s.pageOwner(r))
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, views.ReportsPage(s.page(r, "Reports"), quota))
	return nil
}

// errBillingOff answers a billing action while Stripe is not set up. It
// speaks to the visitor; how to set Stripe up is the README's business.
var errBillingOff = &clientError{Status: http.StatusNotFound, Code: "billing_off", Title: "Paid plans are coming soon",
	Message: "This site does not take payments yet, so there is nothing to buy or manage. Everything in the Free plan is yours to use."}

// paymentsUnavailable logs a failed call to Stripe (the founder needs its
// reason) and returns what the visitor is told: a 503, nothing charged.
func (s *Server) paymentsUnavailable(r *http.Request, err error) error {
	s.log.Error("stripe", "err", err, "request_id", state(r).id, "path", r.URL.Path)
	return &clientError{Status: http.StatusServiceUnavailable, Code: "payments_unavailable", Title: "Payments are unavailable",
		Message: "We could not reach our payment provider. Nothing was charged. Please try again in a few minutes."}
}

// validStripeID checks the shape of an id from a URL before sending it to Stripe.
func validStripeID(id, prefix string) bool {
	if !strings.HasPrefix(id, prefix) || len(id) > 255 {
		return false
	}
	for _, c := range id {
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
