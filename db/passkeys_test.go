package db

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// TestPasskeys: the user handle is made once and finds its user; a passkey
// is the account's alone (a credential id registers once), at most
// MaxPasskeys; the counter never goes back; and the last way to log in is
// not removed, whether it is a passkey or a provider account.
func TestPasskeys(t *testing.T) {
	ctx := context.Background()
	d, _ := openTestDB(t)
	ada, err := d.CreateUser(ctx, "ada@example.com", "", true) // no password: a provider or a passkey is the way in
	if err != nil {
		t.Fatal(err)
	}
	h1, err := d.WebAuthnHandle(ctx, ada.ID)
	if err != nil || len(h1) != 64 {
		t.Fatalf("handle %x, %v", h1, err)
	}
	if h2, _ := d.WebAuthnHandle(ctx, ada.ID); !bytes.Equal(h1, h2) {
		t.Fatal("the handle changed on a second read")
	}
	if id, err := d.UserIDByWebAuthnHandle(ctx, h1); err != nil || id != ada.ID {
		t.Fatalf("user of the handle: %d, %v", id, err)
	}
	if _, err := d.UserIDByWebAuthnHandle(ctx, []byte("nobody")); err != ErrNotFound {
		t.Fatalf("an unknown handle: %v", err)
	}

	k1, err := d.AddPasskey(ctx, Passkey{UserID: ada.ID, CredentialID: []byte("cred-1"), PublicKey: []byte("pk"), Name: "Laptop", Transports: []string{"internal", "hybrid"}})
	if err != nil {
		t.Fatal(err)
	}
	bob, _ := d.CreateUser(ctx, "bob@example.com", "hash", true)
	if _, err := d.AddPasskey(ctx, Passkey{UserID: bob.ID, CredentialID: []byte("cred-1"), PublicKey: []byte("pk"), Name: "Stolen"}); err != ErrCredentialTaken {
		t.Fatalf("a credential id registered twice: %v", err)
	}
	got, err := d.PasskeyByCredentialID(ctx, []byte("cred-1"))
	if err != nil || got.UserID != ada.ID || len(got.Transports) != 2 || got.Name != "Laptop" {
		t.Fatalf("the passkey: %+v, %v", got, err)
	}
	if err := d.UsePasskey(ctx, k1.ID, 7, true); err != nil {
		t.Fatal(err)
	}
	d.UsePasskey(ctx, k1.ID, 3, true) // the caller refuses a counter going back; the row never moves back either
	if got, _ := d.PasskeyByCredentialID(ctx, []byte("cred-1")); got.SignCount != 7 || !got.LastUsedAt.Valid || !got.BackupState {
		t.Fatalf("after use: %+v", got)
	}

	// Her only way in: refused. With a provider account too: allowed, and
	// then the provider account is the last one.
	if _, err := d.DeletePasskey(ctx, ada.ID, k1.ID); err != ErrLastLoginMethod {
		t.Fatalf("removing the last way in: %v", err)
	}
	if _, err := d.DeletePasskey(ctx, bob.ID, k1.ID); err != ErrNotFound {
		t.Fatalf("bob removing ada's passkey: %v", err)
	}
	mustExec(t, d, `INSERT INTO identities (user_id, provider, provider_user_id, email, created_at) VALUES (?, 'github', '1', 'ada@example.com', ?)`, ada.ID, time.Now())
	idents, _ := d.Identities(ctx, ada.ID)
	if _, err := d.DeletePasskey(ctx, ada.ID, k1.ID); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteIdentity(ctx, ada.ID, idents[0].ID); err != ErrLastLoginMethod {
		t.Fatalf("removing the last provider account: %v", err)
	}
	// A passkey makes the provider account removable.
	if _, err := d.AddPasskey(ctx, Passkey{UserID: ada.ID, CredentialID: []byte("cred-2"), PublicKey: []byte("pk"), Name: "Phone"}); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteIdentity(ctx, ada.ID, idents[0].ID); err != nil {
		t.Fatalf("removing a provider account beside a passkey: %v", err)
	}

	for i := range MaxPasskeys {
		_, err = d.AddPasskey(ctx, Passkey{UserID: bob.ID, CredentialID: []byte{byte(i), 'b'}, PublicKey: []byte("pk"), Name: "k"})
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.AddPasskey(ctx, Passkey{UserID: bob.ID, CredentialID: []byte("one-more"), PublicKey: []byte("pk"), Name: "k"}); err != ErrLimitReached {
		t.Fatalf("passkey %d: %v", MaxPasskeys+1, err)
	}
	if err := d.DeletePasskeys(ctx, bob.ID); err != nil {
		t.Fatal(err)
	}
	if keys, _ := d.Passkeys(ctx, bob.ID); len(keys) != 0 {
		t.Fatalf("%d passkeys left", len(keys))
	}
}
