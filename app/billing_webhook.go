package app

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"skiff/db"
)

// maxWebhookBytes caps a webhook body; Stripe's events are far smaller.
const maxWebhookBytes = 64 << 10

// webhookEvents are the event types Skiff acts on; `skiff stripe-setup`
// subscribes the endpoint to exactly these. Others are recorded and ignored.
var webhookEvents = []string{
	"checkout.session.completed",
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
	var team int64
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		btx := db.Q(tx)
		if err := btx.RecordEvent(ctx, event.ID, string(event.Type), event.Created, body); err != nil {
			return err
		}
		team, err = s.applyStripeEvent(ctx, btx, event)
		return err
	})
	answer := `{"received":true}`
	switch {
	case errors.Is(err, db.ErrDuplicateEvent):
		answer = `{"received":true,"duplicate":true}`
	case err != nil:
		return fmt.Errorf("event %s (%s): %w", event.ID, event.Type, err)
	}
	if team != 0 {
		// A subscription just bought or changed bills the seats of its
		// moment: members may have come or gone meanwhile.
		s.seatsChanged(team)
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

// applyStripeEvent makes an event's effects inside the event's transaction,
// and returns the team whose subscription it changed (0 for none). Events
// for customers Skiff does not know are recorded and ignored.
func (s *Server) applyStripeEvent(ctx context.Context, btx db.Queries, event stripe.Event) (int64, error) {
	switch event.Type {
	case "checkout.session.completed":
		var cs stripe.CheckoutSession
		if !s.decodeEvent(event, &cs) {
			return 0, nil
		}
		if cs.Customer == nil || cs.Mode != stripe.CheckoutSessionModeSubscription {
			return 0, nil // not one of ours
		}
		team, ok, err := teamOfReference(ctx, btx, cs.ClientReferenceID)
		if err != nil || !ok {
			return 0, err
		}
		// Normally linked already at checkout; this covers a lost local write.
		return 0, btx.LinkCustomer(ctx, team, cs.Customer.ID)

	case "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted":
		var sub stripe.Subscription
		if !s.decodeEvent(event, &sub) {
			return 0, nil
		}
		if sub.Customer == nil {
			return 0, nil
		}
		team, err := btx.TeamIDByCustomer(ctx, sub.Customer.ID)
		if errors.Is(err, db.ErrNotFound) {
			s.log.Warn("stripe event for an unknown customer", "event", event.ID, "customer", sub.Customer.ID)
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		if event.Type == "customer.subscription.deleted" {
			sub.Status = stripe.SubscriptionStatusCanceled
		}
		_, err = s.applySubscription(ctx, btx, s.subscriptionRow(&sub, team, sub.Customer.ID, event.Created))
		return team, err

	case "invoice.paid", "invoice.payment_failed":
		var inv stripe.Invoice
		if !s.decodeEvent(event, &inv) {
			return 0, nil
		}
		if inv.Subscription == nil {
			return 0, nil
		}
		status := "paid"
		if event.Type == "invoice.payment_failed" {
			status = "payment_failed"
		}
		return 0, btx.SetInvoiceStatus(ctx, inv.Subscription.ID, status, event.Created)
	}
	return 0, nil
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
