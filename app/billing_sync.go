package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"

	"skiff/db"
)

// syncStripe reconciles every known customer's subscriptions with Stripe, for
// a missed webhook or a restored backup. Stripe's current state wins, except
// that a canceled subscription stays canceled and a later event still wins.
func (s *Server) syncStripe(ctx context.Context) (int, error) {
	if s.stripe == nil {
		return 0, errors.New("billing is not configured (STRIPE_SECRET_KEY)")
	}
	customers, err := s.db.Customers(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	var unknown []string // live subscriptions on a price no plan sells
	for _, customerID := range customers {
		teamID, err := s.db.TeamIDByCustomer(ctx, customerID)
		if err != nil {
			continue // the team was deleted meanwhile
		}
		params := &stripe.SubscriptionListParams{Customer: stripe.String(customerID), Status: stripe.String("all")}
		params.Context = ctx
		it := s.stripe.Subscriptions.List(params)
		for it.Next() {
			sub := it.Subscription()
			// A list is not proof of ownership: a wrong filter, a proxy or
			// stripe-mock (which ignores filters) can hand back another
			// customer's subscription, and storing it would give this team
			// someone else's plan.
			if sub.Customer == nil || sub.Customer.ID != customerID {
				s.log.Warn("stripe sync: skipped a listed subscription of another customer",
					"subscription", sub.ID, "asked_for", customerID, "customer", customerOf(sub))
				continue
			}
			version := sub.Created
			if old, err := s.db.SubscriptionByID(ctx, sub.ID); err == nil {
				version = max(version, old.Version)
			}
			row := s.subscriptionRow(sub, teamID, customerID, version)
			if err := s.db.Tx(ctx, func(q db.Queries) error { _, err := s.applySubscription(ctx, q, row); return err }); err != nil {
				return n, err
			}
			n++
			if row.Plan == PlanUnknown && liveStatus(row.Status) {
				unknown = append(unknown, row.ID+" on "+row.PriceID)
			}
		}
		if err := it.Err(); err != nil {
			return n, fmt.Errorf("list subscriptions of %s: %w", customerID, err)
		}
	}
	if len(unknown) > 0 {
		// Stored all the same (so Checkout is not offered again to someone
		// already billed), but the sync did not succeed: say so.
		return n, fmt.Errorf("%d live subscription(s) on a price no plan sells (%s): %s; /admin lists them",
			len(unknown), strings.Join(unknown[:min(len(unknown), 3)], ", "), unknownPriceFix)
	}
	return n, nil
}

// customerOf returns a subscription's customer id, or "" when it has none.
func customerOf(sub *stripe.Subscription) string {
	if sub.Customer == nil {
		return ""
	}
	return sub.Customer.ID
}

// runNightlySync reconciles billing once a day until ctx ends.
func (s *Server) runNightlySync(ctx context.Context) {
	if s.stripe == nil {
		return
	}
	t := time.NewTicker(24 * time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := s.syncStripe(ctx)
			if err != nil {
				s.log.Error("nightly stripe sync", "err", err, "synced", n)
			} else {
				s.log.Info("nightly stripe sync", "synced", n)
			}
		}
	}
}

// stripeSetup checks the configured prices and creates (or checks) the
// webhook endpoint for BASE_URL/webhooks/stripe, pinned to stripe-go's API
// version with exactly the events Skiff handles.
func stripeSetup(ctx context.Context, cfg Config, s *Server, out io.Writer) error {
	if s.stripe == nil {
		return errors.New("stripe-setup: set STRIPE_SECRET_KEY, STRIPE_PRICE_PRO and STRIPE_PRICE_ENTERPRISE first")
	}
	if err := checkStripePrices(ctx, s, out); err != nil {
		return err
	}
	url := cfg.Origin() + "/webhooks/stripe"
	if !cfg.Secure() {
		fmt.Fprintf(out, "warning: %s is not https; Stripe only delivers to public https URLs (use `stripe listen` locally)\n", url)
	}
	found, err := updateWebhookEndpoint(ctx, s, url, out)
	if err != nil || found {
		return err
	}
	return createWebhookEndpoint(ctx, s, url, out)
}

// checkStripePrices checks that every plan's price exists, is active and
// recurring, and prints what each costs.
func checkStripePrices(ctx context.Context, s *Server, out io.Writer) error {
	for _, p := range s.plans {
		if p.PriceID == "" {
			continue
		}
		params := &stripe.PriceParams{}
		params.Context = ctx
		price, err := s.stripe.Prices.Get(p.PriceID, params)
		if err != nil {
			return fmt.Errorf("stripe-setup: price %s of plan %s: %w", p.PriceID, p.ID, err)
		}
		if price.Recurring == nil || !price.Active {
			return fmt.Errorf("stripe-setup: price %s of plan %s must be active and recurring", p.PriceID, p.ID)
		}
		fmt.Fprintf(out, "ok  price %s (%s): %d %s every %s\n", price.ID, p.Name, price.UnitAmount, strings.ToUpper(string(price.Currency)), price.Recurring.Interval)
	}
	return nil
}

// updateWebhookEndpoint looks for an endpoint at url. When there is one on
// stripe-go's API version, it sets its events and reports found; one on
// another version is an error, since every delivery to it would fail.
func updateWebhookEndpoint(ctx context.Context, s *Server, url string, out io.Writer) (found bool, err error) {
	listParams := &stripe.WebhookEndpointListParams{}
	listParams.Context = ctx
	it := s.stripe.WebhookEndpoints.List(listParams)
	for it.Next() {
		ep := it.WebhookEndpoint()
		if ep.URL != url {
			continue
		}
		if ep.APIVersion != stripe.APIVersion {
			return true, fmt.Errorf("stripe-setup: endpoint %s for %s uses API version %q, but this build reads %s: delete it in the Dashboard and run stripe-setup again",
				ep.ID, url, ep.APIVersion, stripe.APIVersion)
		}
		upd := &stripe.WebhookEndpointParams{EnabledEvents: stripe.StringSlice(webhookEvents)}
		upd.Context = ctx
		if _, err := s.stripe.WebhookEndpoints.Update(ep.ID, upd); err != nil {
			return true, fmt.Errorf("stripe-setup: update endpoint %s: %w", ep.ID, err)
		}
		fmt.Fprintf(out, "ok  webhook endpoint %s for %s exists (events updated).\n", ep.ID, url)
		fmt.Fprintln(out, "    Its signing secret is shown in the Dashboard (Developers > Webhooks); put it in STRIPE_WEBHOOK_SECRET.")
		return true, nil
	}
	if err := it.Err(); err != nil {
		return false, fmt.Errorf("stripe-setup: list webhook endpoints: %w", err)
	}
	return false, nil
}

// createWebhookEndpoint creates the endpoint at url, pinned to stripe-go's
// API version, and prints its signing secret for STRIPE_WEBHOOK_SECRET.
func createWebhookEndpoint(ctx context.Context, s *Server, url string, out io.Writer) error {
	params := &stripe.WebhookEndpointParams{
		URL:           stripe.String(url),
		APIVersion:    stripe.String(stripe.APIVersion),
		EnabledEvents: stripe.StringSlice(webhookEvents),
		Description:   stripe.String("Skiff"),
	}
	params.Context = ctx
	ep, err := s.stripe.WebhookEndpoints.New(params)
	if err != nil {
		return fmt.Errorf("stripe-setup: create webhook endpoint: %w", err)
	}
	fmt.Fprintf(out, "ok  created webhook endpoint %s for %s (API version %s)\n", ep.ID, url, stripe.APIVersion)
	if ep.Secret == "" {
		// Stripe sends the secret only in the answer that creates the
		// endpoint (stripe-mock sends none). An empty assignment pasted
		// into .env would leave every webhook refused with 503.
		return fmt.Errorf("stripe-setup: Stripe returned no signing secret for endpoint %s; "+
			"copy it from the Dashboard (Developers > Webhooks > %s > Signing secret) into STRIPE_WEBHOOK_SECRET", ep.ID, ep.ID)
	}
	fmt.Fprintf(out, "\nSTRIPE_WEBHOOK_SECRET=%s\n", ep.Secret)
	return nil
}
