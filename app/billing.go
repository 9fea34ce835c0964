package app

import (
	"context"
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
//
// A team pays: its billing pages are /t/{team}/billing…, where its admins
// see the plan and only its owner buys or opens the portal (the permission
// table). /billing… is the short form for the user's personal team, which
// they own.
func (s *Server) billingRoutes(public, user group, team teamGroup) {
	public.handle("GET /pricing", s.handlePricing)
	for _, rt := range []struct {
		method, path, action string
		h                    handlerFunc
	}{
		{"GET", "/billing", "billing.view", s.handleBilling},
		{"POST", "/billing/checkout", "billing.manage", s.handleCheckout},
		{"POST", "/billing/portal", "billing.manage", s.handlePortal},
	} {
		team.handle(rt.method+" /t/{team}"+rt.path, rt.action, rt.h)
		user.handle(rt.method+" "+rt.path, rt.h) // the personal team's short form
	}
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

// handleCheckout handles "POST /t/{team}/billing/checkout": send the team's
// owner to a Stripe Checkout page for the chosen plan, on the team's Stripe
// customer, for as many seats as the team has members.
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
	ctx := r.Context()
	team, err := s.currentTeam(r)
	if err != nil {
		return err
	}
	back := views.BillingURL(team.ID)
	if st.sub != nil && liveStatus(st.sub.Status) {
		s.redirect(w, r, back, "This team already has a subscription. Change or cancel it from the billing portal.")
		return nil
	}
	seats, err := s.db.MemberCount(ctx, team.ID)
	if err != nil {
		return err
	}
	customerID, err := s.customerFor(r, team, *st.user)
	if err != nil {
		return err
	}
	// One purchase at a time: a Checkout page left open in another tab
	// is expired first, so a team cannot end up paying twice.
	if err := s.expireOpenCheckouts(r, customerID); err != nil {
		return s.paymentsUnavailable(r, err)
	}
	params := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModeSubscription)),
		Customer:          stripe.String(customerID),
		ClientReferenceID: stripe.String(teamReference(team.ID)),
		LineItems:         []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String(p.PriceID), Quantity: stripe.Int64(max(seats, 1))}},
		SuccessURL:        stripe.String(s.cfg.Origin() + back + "?session_id={CHECKOUT_SESSION_ID}"),
		CancelURL:         stripe.String(s.cfg.Origin() + back),
		SubscriptionData: &stripe.CheckoutSessionSubscriptionDataParams{
			// Which team of which Skiff: a subscription whose team was
			// deleted meanwhile is cancelled by the webhook (orphanOf).
			Metadata: map[string]string{"team_id": strconv.FormatInt(team.ID, 10), "origin": s.cfg.Origin()},
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

// customerFor returns the team's Stripe customer, creating it once, with
// the address of its owner u (who is buying) for Stripe's receipts. The
// idempotency key is fixed per team, so a double submit that races here
// gets the same customer back from Stripe, and the table's unique keys keep
// the first link. Only a customer the database does not have is created: a
// database that fails to answer is an error, never "no customer yet".
func (s *Server) customerFor(r *http.Request, team db.Team, u db.User) (string, error) {
	ctx := r.Context()
	id, err := s.db.CustomerID(ctx, team.ID)
	if err == nil || !errors.Is(err, db.ErrNotFound) {
		return id, err
	}
	params := &stripe.CustomerParams{
		Email:    stripe.String(u.Email),
		Metadata: map[string]string{"team_id": strconv.FormatInt(team.ID, 10)},
	}
	if !team.Personal {
		params.Name = stripe.String(team.Name)
	}
	params.Context = ctx
	params.SetIdempotencyKey(fmt.Sprintf("skiff-customer-team-%d-%d", team.ID, team.CreatedAt.Unix()))
	c, err := s.stripe.Customers.New(params)
	if err != nil {
		return "", s.paymentsUnavailable(r, err)
	}
	return s.db.SaveCustomer(ctx, team.ID, c.ID)
}

// teamReference is how a Checkout session names the team it is for
// (client_reference_id). The return from Checkout checks it; nothing is
// linked on its word alone (a Payment Link lets a buyer set it), only on
// the customer Skiff made for the team.
func teamReference(teamID int64) string { return "team-" + strconv.FormatInt(teamID, 10) }

// expireOpenCheckouts expires the customer's Checkout sessions still open.
func (s *Server) expireOpenCheckouts(r *http.Request, customerID string) error {
	params := &stripe.CheckoutSessionListParams{Customer: stripe.String(customerID), Status: stripe.String("open")}
	params.Context = r.Context()
	it := s.stripe.CheckoutSessions.List(params)
	for it.Next() {
		cs := it.CheckoutSession()
		if cs.Customer == nil || cs.Customer.ID != customerID || cs.Status != stripe.CheckoutSessionStatusOpen {
			continue // a list is not proof (see syncStripe)
		}
		expire := &stripe.CheckoutSessionExpireParams{}
		expire.Context = r.Context()
		if _, err := s.stripe.CheckoutSessions.Expire(cs.ID, expire); err != nil {
			// Another request expired it a moment ago (a double
			// submit), or it just completed: either way it is not
			// open any more. Anything else stops this checkout.
			if se, ok := errors.AsType[*stripe.Error](err); ok && se.HTTPStatusCode == http.StatusBadRequest {
				continue
			}
			return err
		}
	}
	return it.Err()
}

// currentTeam is the team the request acts in, read for the personal
// team's short forms (which load no team row).
func (s *Server) currentTeam(r *http.Request) (db.Team, error) {
	st := state(r)
	if st.teamInfo.ID != 0 {
		return st.teamInfo, nil
	}
	_, t, err := s.db.Membership(r.Context(), st.user.ID, st.team.TeamID())
	return t, err
}

// handleBilling handles "GET /t/{team}/billing". Back from Checkout with a
// session_id, it asks Stripe for that session and applies its subscription
// at once, so the new plan shows before the webhook arrives. This GET
// writes only what Stripe already holds as true; a replay changes nothing.
func (s *Server) handleBilling(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	st := state(r)
	o := s.pageOwner(r)
	team := o.Team.TeamID()
	customerID, err := s.db.CustomerID(ctx, team)
	hasCustomer := err == nil
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return err
	}
	var notice string
	if sid := r.URL.Query().Get("session_id"); sid != "" && s.stripe != nil && !readOnly(r) && hasCustomer && o.Owns {
		notice = s.applyCheckoutReturn(r, team, customerID, sid)
		// The plan as it is now, read past the request's cached state.
		sub, err := s.db.CurrentSubscription(ctx, team)
		switch {
		case err == nil:
			st.sub, st.plan = &sub, entitledPlan(sub.Status, sub.Plan)
		case !errors.Is(err, db.ErrNotFound):
			return err
		}
	}
	members, err := s.db.MemberCount(ctx, team)
	if err != nil {
		return err
	}
	data := views.Billing{BillingEnabled: s.stripe != nil, HasCustomer: hasCustomer, Notice: notice, PlanName: s.planName(st.plan),
		Team: s.teamView(r), CanManage: o.Owns, Members: members}
	if o.Owns && s.stripe != nil {
		for _, p := range s.plans {
			if p.PriceID != "" {
				data.Plans = append(data.Plans, views.PlanCard{ID: p.ID, Name: p.Name, PriceLabel: p.PriceLabel, Description: p.Description})
			}
		}
	}
	if sub := st.sub; sub != nil {
		data.Status = sub.Status
		data.Live = liveStatus(sub.Status)
		data.Seats = sub.Quantity
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
// session if the session belongs to this team (of customerID), and returns
// a notice for the page. Whatever fails here, the webhook applies the same
// subscription soon after: a failure is logged, and the page says the plan
// is being confirmed.
func (s *Server) applyCheckoutReturn(r *http.Request, teamID int64, customerID, sessionID string) string {
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
	if sess.ClientReferenceID != teamReference(teamID) || sess.Customer == nil || sess.Customer.ID != customerID {
		s.log.Warn("checkout return: session of another team", "session", sessionID, "team_id", teamID, "request_id", state(r).id)
		return ""
	}
	sub := sess.Subscription
	if sub == nil || sub.ID == "" || sub.Status == "" {
		return checkoutConfirming
	}
	row := s.subscriptionRow(sub, teamID, customerID, sub.Created)
	if err := s.db.Tx(ctx, func(q db.Queries) error { _, err := s.applySubscription(ctx, q, row); return err }); err != nil {
		s.log.Error("checkout return: apply subscription; the webhook will apply it", "subscription", sub.ID, "err", err, "request_id", state(r).id)
		return checkoutConfirming
	}
	return checkoutDone
}

// applySubscription stores a subscription as Stripe reported it (see
// db.ApplySubscription), inside q's transaction, and when that changes the
// plan its team is entitled to, writes the change in the team's audit log,
// by Stripe. It reports whether the row was applied.
func (s *Server) applySubscription(ctx context.Context, q db.Queries, row db.Subscription) (bool, error) {
	planNow := func() (string, error) {
		sub, err := q.CurrentSubscription(ctx, row.TeamID)
		if errors.Is(err, db.ErrNotFound) {
			return PlanFree, nil
		}
		return entitledPlan(sub.Status, sub.Plan), err
	}
	before, err := planNow()
	if err != nil {
		return false, err
	}
	applied, err := q.ApplySubscription(ctx, row)
	if err != nil || !applied {
		return applied, err
	}
	after, err := planNow()
	if err != nil || after == before {
		return applied, err
	}
	return applied, q.RecordAudit(ctx, db.AuditEntry{TeamID: row.TeamID, Actor: "Stripe", Action: db.AuditPlanChanged,
		Detail: s.planName(before) + " → " + s.planName(after) + " (subscription " + row.Status + ", " + views.SeatsText(row.Quantity) + ")"})
}

// subscriptionRow converts Stripe's subscription into our row. A live one on
// a price no plan sells is logged as an error for the founder.
func (s *Server) subscriptionRow(sub *stripe.Subscription, teamID int64, customerID string, version int64) db.Subscription {
	item := firstItem(sub)
	var priceID string
	if item.Price != nil {
		priceID = item.Price.ID
	}
	plan := s.planForPrice(priceID)
	if plan == PlanUnknown && liveStatus(string(sub.Status)) {
		s.log.Error("stripe subscription on a price no plan sells: it unlocks nothing until you "+unknownPriceFix,
			"subscription", sub.ID, "price", priceID, "customer", customerID, "team_id", teamID)
	}
	return db.Subscription{
		ID:                sub.ID,
		TeamID:            teamID,
		CustomerID:        customerID,
		PriceID:           priceID,
		ItemID:            item.ID,
		Quantity:          max(item.Quantity, 1),
		Plan:              plan,
		Status:            string(sub.Status),
		CurrentPeriodEnd:  db.UnixTime(sub.CurrentPeriodEnd),
		CancelAtPeriodEnd: sub.CancelAtPeriodEnd,
		Version:           version,
	}
}

// handlePortal handles "POST /t/{team}/billing/portal": open Stripe's
// customer portal for the team, where its owner changes plan, card or
// cancels.
func (s *Server) handlePortal(w http.ResponseWriter, r *http.Request) error {
	if s.stripe == nil {
		return errBillingOff
	}
	team := s.pageOwner(r).Team.TeamID()
	customerID, err := s.db.CustomerID(r.Context(), team)
	if errors.Is(err, db.ErrNotFound) {
		s.redirect(w, r, views.BillingURL(team), "This team has no billing account yet. Choose a plan to start.")
		return nil
	}
	if err != nil {
		return err
	}
	params := &stripe.BillingPortalSessionParams{
		Customer:  stripe.String(customerID),
		ReturnURL: stripe.String(s.cfg.Origin() + views.BillingURL(team)),
	}
	params.Context = r.Context()
	ps, err := s.stripe.BillingPortalSessions.New(params)
	if err != nil {
		return s.paymentsUnavailable(r, err)
	}
	return s.redirectToStripe(w, r, ps.URL)
}

// billingOwnerChanged tells Stripe the address of the team's new owner,
// who now pays: its customer's receipts and invoices go there. A team
// without a Stripe customer has nothing to tell.
func (s *Server) billingOwnerChanged(r *http.Request, teamID, ownerID int64) error {
	if s.stripe == nil {
		return nil
	}
	ctx := r.Context()
	customer, err := s.db.CustomerID(ctx, teamID)
	if errors.Is(err, db.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	u, err := s.db.UserByID(ctx, ownerID)
	if err != nil {
		return err
	}
	params := &stripe.CustomerParams{Email: stripe.String(u.Email)}
	params.Context = ctx
	_, err = s.stripe.Customers.Update(customer, params)
	return err
}

// stopTeamBilling stops whatever could still charge for teamID before it is
// deleted: every live subscription is cancelled, and every Checkout page
// still open is expired (one paid later would bill a team that is gone; the
// webhook cancels it too, see orphanOf).
func (s *Server) stopTeamBilling(r *http.Request, teamID int64) error {
	if s.stripe == nil {
		return nil
	}
	subs, err := s.db.LiveSubscriptionsOf(r.Context(), teamID)
	if err != nil {
		return err
	}
	if err := s.cancelBilling(r, subs); err != nil {
		return err
	}
	customer, err := s.db.CustomerID(r.Context(), teamID)
	if errors.Is(err, db.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.expireOpenCheckouts(r, customer); err != nil {
		return s.paymentsUnavailable(r, err)
	}
	return nil
}

// cancelBilling cancels at once each subscription of subs that Stripe still
// bills, before the team it pays for is deleted: nobody goes on paying for
// a team that is gone. A failure stops the deletion (503, nothing deleted).
func (s *Server) cancelBilling(r *http.Request, subs []db.Subscription) error {
	if s.stripe == nil {
		return nil
	}
	for _, sub := range subs {
		if !liveStatus(sub.Status) {
			continue
		}
		params := &stripe.SubscriptionCancelParams{}
		params.Context = r.Context()
		if _, err := s.stripe.Subscriptions.Cancel(sub.ID, params); err != nil {
			return s.paymentsUnavailable(r, err)
		}
		s.log.Info("subscription cancelled: its team is being deleted", "subscription", sub.ID, "team_id", sub.TeamID, "request_id", state(r).id)
	}
	return nil
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
