package app

import (
	"context"
	"log/slog"
	"time"

	"skiff/db"
)

// outbox delivers the mails queued in the emails table. Queuing happens in
// the transaction of the action that causes the mail, so a mail is never
// promised without being stored, and it survives a crash or a restart. A
// mail is marked sent right after the server accepts it; a crash between the
// two would send it again on restart, the only way it can go twice.
type outbox struct {
	db     *db.DB
	mailer Mailer
	log    *slog.Logger
	wake   chan struct{}
	done   chan struct{}

	firstRetry  time.Duration // the first retry waits this long, doubling each time
	maxRetry    time.Duration // ... up to this
	giveUpAfter time.Duration // a mail still failing after this is marked failed
	idlePoll    time.Duration // look for due mail at least this often

	// The worker's clock: what time it is, and a wait. time.Now and
	// time.After, except in the test that moves a fake clock through the
	// retry schedule in milliseconds instead of minutes.
	now   func() time.Time
	after func(time.Duration) <-chan time.Time
}

func newOutbox(database *db.DB, mailer Mailer, logger *slog.Logger) *outbox {
	return &outbox{
		db: database, mailer: mailer, log: logger,
		wake: make(chan struct{}, 1), done: make(chan struct{}),
		firstRetry: 5 * time.Second, maxRetry: time.Hour, giveUpAfter: 72 * time.Hour, idlePoll: 30 * time.Second,
		now: time.Now, after: time.After,
	}
}

// notify wakes the worker after a commit that queued mail; it never blocks.
func (o *outbox) notify() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// run delivers due mail until ctx ends, finishing the mail it is sending.
func (o *outbox) run(ctx context.Context) {
	defer close(o.done)
	for {
		o.deliverDue(ctx)
		// Sleep until the next retry is due, or idlePoll at most. If the
		// next retry cannot be read, retries wait for idlePoll: say so.
		wait := o.idlePoll
		next, ok, err := o.db.NextEmailDue(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			o.log.Error("outbox: find the next retry", "err", err)
		case ok:
			wait = min(wait, max(next.Sub(o.now()), 10*time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return
		case <-o.wake:
		case <-o.after(wait): // an abandoned timer is garbage collected (Go 1.23+)
		}
	}
}

// deliverDue sends every mail that is due now.
func (o *outbox) deliverDue(ctx context.Context) {
	for ctx.Err() == nil {
		due, err := o.db.DueEmails(ctx, o.now(), 20)
		if err != nil {
			if ctx.Err() == nil {
				o.log.Error("outbox: load due mail", "err", err)
			}
			return
		}
		for _, e := range due {
			o.deliver(e)
		}
		if len(due) < 20 {
			return
		}
	}
}

// deliver sends e and records the outcome. After a failure it returns when
// to try again; retry is zero when the mail is sent or given up.
func (o *outbox) deliver(e db.Email) (retry time.Duration) {
	// Not the worker's context: a send under way finishes during shutdown.
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	err := o.mailer.Send(ctx, Message{To: e.To, Subject: e.Subject, Text: e.Text, HTML: e.HTML})
	if err == nil {
		if err := o.db.MarkEmailSent(ctx, e.ID); err != nil {
			o.log.Error("outbox: mark sent", "email_id", e.ID, "err", err)
		}
		return 0
	}
	attempts := e.Attempts + 1
	delay := o.firstRetry << min(attempts-1, 20)
	if delay <= 0 || delay > o.maxRetry {
		delay = o.maxRetry
	}
	giveUp := o.now().Sub(e.CreatedAt) > o.giveUpAfter
	if giveUp {
		o.log.Error("outbox: giving up on a mail", "email_id", e.ID, "to", e.To, "subject", e.Subject, "attempts", attempts, "err", err)
	} else {
		o.log.Warn("outbox: send failed, will retry", "email_id", e.ID, "attempts", attempts, "retry_in", delay.String(), "err", err)
	}
	if err := o.db.MarkEmailRetry(ctx, e.ID, err.Error(), o.now().Add(delay), giveUp); err != nil {
		o.log.Error("outbox: mark retry", "email_id", e.ID, "err", err)
	}
	if giveUp {
		return 0
	}
	return delay
}
