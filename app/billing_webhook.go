package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"skiff/db"
)

// maxWebhookBytes caps a webhook body; Stripe's events are far smaller.
const maxWebhookBytes = 64 << 10

// webhookEvents are the event types Skiff acts on; `skiff stripe-setup`
// subscribes the endpoint to exactly these. Others are recorded and ignored.
var webhookEvents = []string{
	"customer.subscription.created",
	"customer.subscription.updated",
	"customer.subscription.deleted",
	"invoice.paid",
	"invoice.payment_failed",
}

// handleStripeWebhook handles "POST /webhooks/stripe". The signature is the
// authentication (the route skips cookies and cross-origin checks). Each
// event is recorded by id in the same transaction as its effects, and the
// 200 goes out only after the commit: a redelivery changes nothing, and a
// failure makes Stripe retry.
//
// Stripe is the only reader of these answers, so they are plain: this is the
// webhook's adapter, turning the error of receiveStripeEvent into its status
// (a *clientError its own, anything else a logged 500 that Stripe retries).
func (s *Server) handleStripeWebhook(w http.ResponseWriter, r *http.Request) {
	err := s.receiveStripeEvent(w, r)
	if err == nil {
		return
	}
	if ce, ok := errors.AsType[*clientError](err); ok {
		http.Error(w, ce.Message, ce.Status)
		return
	}
	s.log.Error("stripe webhook", "err", err, "request_id", state(r).id)
	http.Error(w, `{"error":"could not process the event; retry"}`, http.StatusInternalServerError)
}

// receiveStripeEvent checks, records and applies one webhook event.
func (s *Server) receiveStripeEvent(w http.ResponseWriter, r *http.Request) error {
	if s.stripe == nil {
		// Billing is off: there is no webhook.
		return &clientError{Status: http.StatusNotFound, Message: "404 page not found"}
	}
	secret := s.cfg.Stripe.WebhookSecret
	if secret == "" {
		return &clientError{Status: http.StatusServiceUnavailable, Message: "webhooks are not configured (STRIPE_WEBHOOK_SECRET)"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBytes))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return &clientError{Status: http.StatusRequestEntityTooLarge, Message: "payload too large"}
	}
	if err != nil {
		return &clientError{Status: http.StatusBadRequest, Message: "could not read the payload"}
	}
	// Rejects a bad signature, a timestamp older than five minutes, and an
	// event of another API version than stripe-go's (2023-10-16).
	event, err := webhook.ConstructEvent(body, r.Header.Get("Stripe-Signature"), secret)
	if err != nil {
		s.log.Warn("stripe webhook refused", "err", err, "request_id", state(r).id)
		return &clientError{Status: http.StatusBadRequest, Message: "invalid webhook: " + webhookErrorReason(err)}
	}
	ctx := r.Context()
	// The event and all its effects commit together, or not at all.
	var effect eventEffect
	err = s.db.Tx(ctx, func(btx db.Queries) error {
		effect = eventEffect{} // the function may run again (db.Tx)
		if err := btx.RecordEvent(ctx, event.ID, string(event.Type), event.Created, body); err != nil {
			return err
		}
		effect, err = s.applyStripeEvent(ctx, btx, event)
		return err
	})
	answer := `{"received":true}`
	switch {
	case errors.Is(err, db.ErrDuplicateEvent):
		answer = `{"received":true,"duplicate":true}`
	case err != nil:
		return fmt.Errorf("event %s (%s): %w", event.ID, event.Type, err)
	}
	if effect.team != 0 {
		// A subscription just bought or changed bills the seats of its
		// moment: members may have come or gone meanwhile.
		s.seatsChanged(effect.team)
	}
	if effect.orphan != "" {
		s.cancelOrphan(r, effect.orphan)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(answer))
	return nil
}

func webhookErrorReason(err error) string {
	switch {
	case errors.Is(err, webhook.ErrNotSigned), errors.Is(err, webhook.ErrInvalidHeader):
		return "missing or malformed Stripe-Signature header"
	case errors.Is(err, webhook.ErrTooOld):
		return "timestamp too old"
	case errors.Is(err, webhook.ErrNoValidSignature):
		return "no valid signature"
	}
	return "unreadable event (is the endpoint pinned to API version " + stripe.APIVersion + "?)"
}

// eventEffect is what an applied event asks for after its commit.
type eventEffect struct {
	team   int64  // the team whose subscription changed: its seats are checked
	orphan string // a live subscription of a team deleted here: cancel it
}

// applyStripeEvent makes an event's effects inside the event's transaction.
// Events for customers Skiff does not know are recorded and ignored, but
// for the subscriptions Skiff sold to a team since deleted (orphanOf).
func (s *Server) applyStripeEvent(ctx context.Context, btx db.Queries, event stripe.Event) (eventEffect, error) {
	switch event.Type {
	case "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted":
		var sub stripe.Subscription
		if !s.decodeEvent(event, &sub) {
			return eventEffect{}, nil
		}
		if sub.Customer == nil {
			return eventEffect{}, nil
		}
		team, err := btx.TeamIDByCustomer(ctx, sub.Customer.ID)
		if errors.Is(err, db.ErrNotFound) {
			orphan, err := s.orphanOf(ctx, btx, &sub, event.Type)
			if orphan == "" && err == nil {
				s.log.Warn("stripe event for an unknown customer", "event", event.ID, "customer", sub.Customer.ID)
			}
			return eventEffect{orphan: orphan}, err
		}
		if err != nil {
			return eventEffect{}, err
		}
		if event.Type == "customer.subscription.deleted" {
			sub.Status = stripe.SubscriptionStatusCanceled
		}
		_, err = s.applySubscription(ctx, btx, s.subscriptionRow(&sub, team, sub.Customer.ID, event.Created))
		return eventEffect{team: team}, err

	case "invoice.paid", "invoice.payment_failed":
		var inv stripe.Invoice
		if !s.decodeEvent(event, &inv) {
			return eventEffect{}, nil
		}
		if inv.Subscription == nil {
			return eventEffect{}, nil
		}
		status := "paid"
		if event.Type == "invoice.payment_failed" {
			status = "payment_failed"
		}
		return eventEffect{}, btx.SetInvoiceStatus(ctx, inv.Subscription.ID, status, event.Created)
	}
	return eventEffect{}, nil
}

// orphanOf returns the id of sub when it is a live subscription this Skiff
// sold (its metadata names this BASE_URL's origin) to a team that no longer
// exists: a Checkout finished after its team was deleted, say. Nobody could
// reach it to cancel it, so the webhook does. "" for anything else (another
// app's, or another Skiff's, on the same Stripe account).
func (s *Server) orphanOf(ctx context.Context, q db.Queries, sub *stripe.Subscription, typ stripe.EventType) (string, error) {
	if typ == "customer.subscription.deleted" || !liveStatus(string(sub.Status)) || sub.Metadata["origin"] != s.cfg.Origin() {
		return "", nil
	}
	team, err := strconv.ParseInt(sub.Metadata["team_id"], 10, 64)
	if err != nil || team <= 0 {
		return "", nil
	}
	exists, err := q.TeamExists(ctx, team)
	if err != nil || exists {
		return "", err
	}
	return sub.ID, nil
}

// cancelOrphan cancels a subscription orphanOf found. A failure is logged
// for the founder, with the subscription to cancel by hand.
func (s *Server) cancelOrphan(r *http.Request, id string) {
	params := &stripe.SubscriptionCancelParams{}
	params.Context = r.Context()
	if _, err := s.stripe.Subscriptions.Cancel(id, params); err != nil {
		s.log.Error("stripe: could not cancel the subscription of a deleted team; cancel it in the Dashboard", "subscription", id, "err", err, "request_id", state(r).id)
		return
	}
	s.log.Warn("stripe: cancelled the subscription of a team that was deleted", "subscription", id, "request_id", state(r).id)
}

// decodeEvent reads an event's object. A signed event that does not decode
// will not decode on a retry either: it is kept (recorded with its payload)
// and logged for the operator, and Stripe gets its 200.
func (s *Server) decodeEvent(event stripe.Event, v any) bool {
	if event.Data == nil {
		s.log.Error("stripe event without data", "event", event.ID, "type", event.Type)
		return false
	}
	if err := json.Unmarshal(event.Data.Raw, v); err != nil {
		s.log.Error("stripe event does not decode; recorded, not applied", "event", event.ID, "type", event.Type, "err", err)
		return false
	}
	return true
}
