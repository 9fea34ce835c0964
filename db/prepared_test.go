package db

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestReadContext: a read outside a transaction runs to the end when its
// request's context is cancelled (watching it cost more than the read), but a
// deadline the caller set still stops it.
func TestReadContext(t *testing.T) {
	d, _ := openTestDB(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.CountUsers(cancelled); err != nil {
		t.Fatalf("read with a cancelled request context: %v", err)
	}
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if _, err := d.CountUsers(expired); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read past its deadline: err %v, want DeadlineExceeded", err)
	}
}
