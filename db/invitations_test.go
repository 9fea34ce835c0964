package db

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
	"time"
)

func hashOf(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

// TestInvitations: an invitation is single-use, bound to its address, can be
// revoked or sent again (the old link dies), expires, and respects the seat
// limit at sending and at accepting. Twenty acceptances of one link at once
// make exactly one member.
func TestInvitations(t *testing.T) {
	ctx := context.Background()
	d, _ := openTestDB(t)
	ids := map[string]int64{}
	for _, name := range []string{"ada", "bob", "cyd", "dan"} {
		u, err := d.CreateUser(ctx, name+"@example.com", "", true)
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = u.ID
	}
	team, _ := d.CreateTeam(ctx, ids["ada"], "Acme")
	week := time.Now().Add(7 * 24 * time.Hour)
	limit := func(n int) func(int64) (int, error) { return func(int64) (int, error) { return n, nil } }
	want := func(what string, got, want error) {
		t.Helper()
		if got != want {
			t.Fatalf("%s: %v, want %v", what, got, want)
		}
	}

	inv, err := d.CreateInvitation(ctx, team, "bob@example.com", RoleMember, hashOf("bob-1"), week, 3)
	if err != nil || inv.TeamName != "Acme" || inv.InvitedBy != "ada@example.com" {
		t.Fatalf("invitation: %+v, %v", inv, err)
	}
	_, err = d.CreateInvitation(ctx, team, "bob@example.com", RoleMember, hashOf("bob-2"), week, 3)
	want("invite bob twice", err, ErrAlreadyInvited)
	_, err = d.CreateInvitation(ctx, team, "ada@example.com", RoleMember, hashOf("ada"), week, 3)
	want("invite a member", err, ErrAlreadyMember)
	personal, _ := d.PersonalScope(ctx, ids["ada"])
	_, err = d.CreateInvitation(ctx, personal, "bob@example.com", RoleMember, hashOf("p"), week, 3)
	want("invite to a personal team", err, ErrPersonalTeam)
	_, err = d.CreateInvitation(ctx, team, "cyd@example.com", RoleMember, hashOf("cyd-1"), week, 2)
	want("a seat past the limit (ada and bob's invitation hold 2)", err, ErrLimitReached)

	// Bound to its address; spent once.
	_, _, err = d.AcceptInvitation(ctx, hashOf("bob-1"), ids["cyd"], "cyd@example.com", limit(3))
	want("cyd accepts bob's invitation", err, ErrNotInvited)
	sc, got, err := d.AcceptInvitation(ctx, hashOf("bob-1"), ids["bob"], "bob@example.com", limit(3))
	if err != nil || sc.TeamID() != team.TeamID() || got.Role != RoleMember {
		t.Fatalf("bob accepts: %+v %+v %v", sc, got, err)
	}
	_, _, err = d.AcceptInvitation(ctx, hashOf("bob-1"), ids["bob"], "bob@example.com", limit(3))
	want("the link again", err, ErrNotFound)
	if _, _, err := d.Membership(ctx, ids["bob"], team.TeamID()); err != nil {
		t.Fatalf("bob is not a member: %v", err)
	}

	// Revoked, renewed (the old link dies), expired.
	cyd, _ := d.CreateInvitation(ctx, team, "cyd@example.com", RoleAdmin, hashOf("cyd-1"), week, 0)
	if _, err := d.RenewInvitation(ctx, team, cyd.ID, hashOf("cyd-2"), week); err != nil {
		t.Fatal(err)
	}
	_, err = d.PendingInvitation(ctx, hashOf("cyd-1"))
	want("the link sent before the renewal", err, ErrNotFound)
	if _, err := d.PendingInvitation(ctx, hashOf("cyd-2")); err != nil {
		t.Fatalf("the renewed link: %v", err)
	}
	if _, err := d.RevokeInvitation(ctx, team, cyd.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = d.AcceptInvitation(ctx, hashOf("cyd-2"), ids["cyd"], "cyd@example.com", limit(0))
	want("a revoked invitation", err, ErrNotFound)
	_, err = d.RevokeInvitation(ctx, team, cyd.ID)
	want("revoking twice", err, ErrNotFound)
	if _, err := d.CreateInvitation(ctx, team, "dan@example.com", RoleMember, hashOf("dan-old"), time.Now().Add(-time.Minute), 0); err != nil {
		t.Fatal(err)
	}
	_, _, err = d.AcceptInvitation(ctx, hashOf("dan-old"), ids["dan"], "dan@example.com", limit(0))
	want("an expired invitation", err, ErrNotFound)
	// An expired one does not block a new one.
	if _, err := d.CreateInvitation(ctx, team, "dan@example.com", RoleMember, hashOf("dan-new"), week, 0); err != nil {
		t.Fatalf("inviting again after expiry: %v", err)
	}
	// Full at acceptance: nobody joins, the link stays good.
	_, _, err = d.AcceptInvitation(ctx, hashOf("dan-new"), ids["dan"], "dan@example.com", limit(2))
	want("accepting into a full team", err, ErrLimitReached)
	if _, err := d.PendingInvitation(ctx, hashOf("dan-new")); err != nil {
		t.Fatalf("a refused acceptance spent the link: %v", err)
	}

	// Twenty at once: one joins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	joined, refused := 0, 0
	for range 20 {
		wg.Go(func() {
			_, _, err := d.AcceptInvitation(ctx, hashOf("dan-new"), ids["dan"], "dan@example.com", limit(0))
			mu.Lock()
			defer mu.Unlock()
			switch err {
			case nil:
				joined++
			case ErrNotFound, ErrAlreadyMember:
				refused++
			default:
				t.Errorf("concurrent acceptance: %v", err)
			}
		})
	}
	wg.Wait()
	if joined != 1 || refused != 19 {
		t.Fatalf("20 acceptances at once: %d joined, %d refused; want 1 and 19", joined, refused)
	}
	if n := count(t, d, `SELECT count(*) FROM memberships WHERE team_id = ? AND user_id = ?`, team.TeamID(), ids["dan"]); n != 1 {
		t.Fatalf("dan has %d memberships", n)
	}
}

// TestPendingInvitationsAreBounded: a team has at most MaxPendingInvitations
// pending (expired ones count until revoked), so its members page lists them
// all; revoking one makes room.
func TestPendingInvitationsAreBounded(t *testing.T) {
	ctx := context.Background()
	d, _ := openTestDB(t)
	u, _ := d.CreateUser(ctx, "ada@example.com", "", true)
	team, _ := d.CreateTeam(ctx, u.ID, "Acme")
	var last Invitation
	for i := range MaxPendingInvitations {
		expires := time.Now().Add(time.Hour)
		if i%2 == 0 {
			expires = time.Now().Add(-time.Hour) // expired, still listed
		}
		inv, err := d.CreateInvitation(ctx, team, fmt.Sprintf("guest%d@example.com", i), RoleMember, hashOf(fmt.Sprint(i)), expires, 0)
		if err != nil {
			t.Fatal(err)
		}
		last = inv
	}
	if _, err := d.CreateInvitation(ctx, team, "one.more@example.com", RoleMember, hashOf("more"), time.Now().Add(time.Hour), 0); err != ErrTooManyInvitations {
		t.Fatalf("invitation %d: %v, want ErrTooManyInvitations", MaxPendingInvitations+1, err)
	}
	if list, err := d.Invitations(ctx, team); err != nil || len(list) != MaxPendingInvitations {
		t.Fatalf("the list shows %d of %d pending, %v", len(list), MaxPendingInvitations, err)
	}
	if _, err := d.RevokeInvitation(ctx, team, last.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateInvitation(ctx, team, "one.more@example.com", RoleMember, hashOf("more"), time.Now().Add(time.Hour), 0); err != nil {
		t.Fatalf("after a revocation: %v", err)
	}
}
