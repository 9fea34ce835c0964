package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v76"

	"skiff/db"
	"skiff/views"
)

// Seats: a paid plan is sold per member. The quantity of a team's live
// subscription is kept equal to its members, with Stripe's prorations, by
// comparing the two (db.SeatsOutOfStep) rather than by replaying each
// change: a join and a leave a moment apart, a failed call to Stripe, a
// restart in between or a quantity changed in Stripe's Dashboard all end in
// the same place, the number of members now.
//
// A change of membership (joining, leaving, removal, a deleted account)
// calls seatsChanged after its commit, and the seat worker tells Stripe at
// once; a pass over every paying team at start-up, every seatSyncEvery and
// in `skiff stripe-sync` catches whatever that missed.

// seatSyncEvery is how often the seat worker compares every paying team.
const seatSyncEvery = 10 * time.Minute

// seatsChanged asks for teamIDs' subscriptions to be brought to their
// members (the seat worker, or a River job: jobs.go). It never blocks a
// request: what it cannot queue, the next pass over every team does.
func (s *Server) seatsChanged(teamIDs ...int64) { s.jobs.seatsChanged(teamIDs...) }

func (s *Server) syncAllSeatsLogged(ctx context.Context) {
	if n, err := s.syncAllSeats(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("seats: a pass over the paying teams", "err", err, "updated", n)
	} else if n > 0 {
		s.log.Info("seats: subscriptions brought to their teams' members", "updated", n)
	}
}

// syncAllSeats syncs every team whose subscription bills another number of
// seats than it has members, and returns how many it updated. One team's
// failure does not stop the others.
func (s *Server) syncAllSeats(ctx context.Context) (int, error) {
	teams, err := s.db.SeatsOutOfStep(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, id := range teams {
		changed, err := s.syncSeats(ctx, id)
		if err != nil {
			errs = append(errs, fmt.Errorf("team %d: %w", id, err))
		}
		if changed {
			n++
		}
	}
	return n, errors.Join(errs...)
}

// syncSeats sets the quantity of teamID's entitled subscription to its
// members in Stripe, prorated, and stores what Stripe answers. It reports
// whether it changed anything; a team without an entitled subscription, or
// one already right, is left alone. Setting a quantity is idempotent, so a
// retry or two workers doing it at once bill nobody twice.
func (s *Server) syncSeats(ctx context.Context, teamID int64) (bool, error) {
	sub, err := s.db.CurrentSubscription(ctx, teamID)
	if errors.Is(err, db.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if entitledPlan(sub.Status, sub.Plan) == PlanFree {
		return false, nil // nothing billed, or a price no plan sells: left as Stripe has it
	}
	members, err := s.db.MemberCount(ctx, teamID)
	if err != nil || members == sub.Quantity || members == 0 {
		return false, err
	}
	item := sub.ItemID
	if item == "" { // a row from before seats (migration 0015): ask Stripe for its item
		params := &stripe.SubscriptionParams{}
		params.Context = ctx
		current, err := s.stripe.Subscriptions.Get(sub.ID, params)
		if err != nil {
			return false, err
		}
		if item = firstItem(current).ID; item == "" {
			return false, fmt.Errorf("subscription %s has no item to set the seats on", sub.ID)
		}
	}
	params := &stripe.SubscriptionParams{
		Items:             []*stripe.SubscriptionItemsParams{{ID: stripe.String(item), Quantity: stripe.Int64(members)}},
		ProrationBehavior: stripe.String("create_prorations"), // Stripe's default, said out loud: a seat is charged for the rest of the period
	}
	params.Context = ctx
	updated, err := s.stripe.Subscriptions.Update(sub.ID, params)
	if err != nil {
		return false, err
	}
	// Stored at the version already held: the webhook of this very change
	// (created now) still applies, and an older event delivered late that
	// carries the old quantity is corrected by the next pass.
	row := s.subscriptionRow(updated, teamID, sub.CustomerID, sub.Version)
	err = s.db.Tx(ctx, func(q db.Queries) error {
		if _, err := q.ApplySubscription(ctx, row); err != nil {
			return err
		}
		return q.RecordAudit(ctx, db.AuditEntry{TeamID: teamID, Actor: views.ProductName, Action: db.AuditSeatsChanged,
			Detail: views.SeatsText(sub.Quantity) + " → " + views.SeatsText(row.Quantity) + ", prorated"})
	})
	if err != nil {
		return true, err
	}
	s.log.Info("seats: subscription updated", "team_id", teamID, "subscription", sub.ID, "from", sub.Quantity, "to", row.Quantity)
	return true, nil
}

// firstItem is the subscription's item whose quantity is the seats (Skiff
// sells one price per subscription); the zero item when Stripe sent none.
func firstItem(sub *stripe.Subscription) stripe.SubscriptionItem {
	if sub == nil || sub.Items == nil || len(sub.Items.Data) == 0 || sub.Items.Data[0] == nil {
		return stripe.SubscriptionItem{}
	}
	return *sub.Items.Data[0]
}
