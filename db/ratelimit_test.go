package db

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"skiff/db/dbtest"
)

// TestSharedRateLimits: the buckets every instance shares on Postgres give
// the limit's worth however many ask at once, refill with time, and are
// forgotten on a reset or once full again.
func TestSharedRateLimits(t *testing.T) {
	if !dbtest.Postgres() {
		t.Skip("Postgres' shared buckets (SQLite's are in memory: app/ratelimit_test.go)")
	}
	ctx := context.Background()
	d, _ := openTestDB(t)
	// Two instances on the database.
	other, err := Open(ctx, d.target)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	var ok atomic.Int64
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			inst := d
			if i%2 == 1 {
				inst = other
			}
			got, wait, err := inst.TakeToken(ctx, "login_ip:192.0.2.1", time.Hour, 5)
			if err != nil {
				t.Error(err)
			}
			if got {
				ok.Add(1)
			} else if wait <= 0 || wait > time.Hour {
				t.Errorf("refused with a wait of %v", wait)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 5 {
		t.Fatalf("%d of 60 took a token, want 5", ok.Load())
	}
	// Another key has its own bucket.
	if got, _, _ := other.TakeToken(ctx, "login_ip:192.0.2.2", time.Hour, 5); !got {
		t.Fatal("another key was refused")
	}
	// A token every 50 ms: one is back soon.
	if got, _, _ := d.TakeToken(ctx, "fast", 50*time.Millisecond, 1); !got {
		t.Fatal("a new bucket was refused")
	}
	if got, wait, _ := d.TakeToken(ctx, "fast", 50*time.Millisecond, 1); got || wait > 50*time.Millisecond {
		t.Fatalf("an empty bucket: took %v, wait %v", got, wait)
	}
	time.Sleep(60 * time.Millisecond)
	if got, _, _ := d.TakeToken(ctx, "fast", 50*time.Millisecond, 1); !got {
		t.Fatal("the bucket did not refill")
	}
	// A reset refills at once.
	if err := other.ForgetTokens(ctx, "login_ip:192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := d.TakeToken(ctx, "login_ip:192.0.2.1", time.Hour, 5); !got {
		t.Fatal("refused after a reset")
	}
	// The clean-up deletes full buckets only.
	time.Sleep(60 * time.Millisecond)
	if err := d.DeleteFullBuckets(ctx); err != nil {
		t.Fatal(err)
	}
	var keys []string
	rows, err := d.Read.QueryContext(ctx, `SELECT key FROM rate_limits ORDER BY key`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		rows.Scan(&k)
		keys = append(keys, k)
	}
	rows.Close()
	if len(keys) != 2 || keys[0] != "login_ip:192.0.2.1" || keys[1] != "login_ip:192.0.2.2" {
		t.Fatalf("buckets left after the clean-up: %v, want the two login_ip ones", keys)
	}
}
