package db

import (
	"context"
	"testing"
	"time"
)

// TestNextEmailDue: the outbox sleeps until the time this returns, so a
// failed mail is retried on its schedule. It must read the earliest pending
// time without error (min() came back as text and failed to scan).
func TestNextEmailDue(t *testing.T) {
	ctx := context.Background()
	d, _ := openTestDB(t)
	if _, ok, err := d.NextEmailDue(ctx); err != nil || ok {
		t.Fatalf("empty outbox: ok %v, err %v", ok, err)
	}
	var ids []int64
	for _, to := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		tx, err := d.Write.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		id, err := d.bound(tx).EnqueueEmail(ctx, Email{To: to, Subject: "s", Text: "t", HTML: "h"})
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	soon := time.Now().Add(5 * time.Second).Truncate(time.Millisecond)
	for i, next := range []time.Time{soon.Add(time.Minute), soon, soon.Add(time.Hour)} {
		if err := d.MarkEmailRetry(ctx, ids[i], "refused", next, false); err != nil {
			t.Fatal(err)
		}
	}
	next, ok, err := d.NextEmailDue(ctx)
	if err != nil || !ok || !next.Equal(soon) {
		t.Fatalf("NextEmailDue = %v, %v, %v; want %v", next, ok, err, soon)
	}
	// Sent and failed mail is not waited for.
	if err := d.MarkEmailSent(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	if err := d.MarkEmailRetry(ctx, ids[0], "refused", soon, true); err != nil {
		t.Fatal(err)
	}
	if next, ok, err := d.NextEmailDue(ctx); err != nil || !ok || !next.Equal(soon.Add(time.Hour)) {
		t.Fatalf("after sent and failed: %v, %v, %v; want %v", next, ok, err, soon.Add(time.Hour))
	}
}
