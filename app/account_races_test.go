package app

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"skiff/db"
)

// Requests under way when the account changes under them. A request
// authenticates when it starts, then spends most of its time in argon2id: a
// reset or a first proof that commits meanwhile must not be undone by what
// the request writes after it (userTx checks the session inside its
// transaction; links carry the epoch and the address they were issued for).

// pauseArgon fills the hasher's semaphore, so every argon2id derivation
// waits until release is called: a request stays inside its password check
// while another one commits.
func pauseArgon(ts *testServer) (release func()) {
	sem := ts.srv.hasher.sem
	for range cap(sem) {
		sem <- struct{}{}
	}
	return func() {
		for range cap(sem) {
			<-sem
		}
	}
}

// underWay starts f and returns its answer's channel once f is blocked.
func underWay(f func() response) chan response {
	ch := make(chan response, 1)
	go func() { ch <- f() }()
	time.Sleep(300 * time.Millisecond)
	return ch
}

// hashFor hashes password, before pauseArgon stops the hasher.
func hashFor(t *testing.T, ts *testServer, password string) string {
	t.Helper()
	h, err := ts.srv.hasher.hash(context.Background(), password)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// ownerResets commits exactly what POST /reset-password commits, with newHash.
func ownerResets(t *testing.T, ts *testServer, email, newHash string) {
	t.Helper()
	ctx := context.Background()
	u, err := ts.db.UserByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.db.Tx(ctx, func(q db.Queries) error { return ts.srv.onPasswordReset(ctx, q, u, newHash) }); err != nil {
		t.Fatal(err)
	}
}

// TestWaysInAskedDuringAResetDieWithIt: a thief with a stolen session and the
// password asks for an API token, a new password or an email change just as
// the owner resets the password. None of it survives the reset.
func TestWaysInAskedDuringAResetDieWithIt(t *testing.T) {
	for name, ask := range map[string]func(thief *client) response{
		"api token": func(thief *client) response {
			return thief.post("/settings/tokens", url.Values{"name": {"backdoor"}, "current_password": {testPassword}})
		},
		"password change": func(thief *client) response {
			return thief.post("/settings/password", url.Values{"current_password": {testPassword}, "password": {"the thief's passphrase"}})
		},
		"email change": func(thief *client) response {
			return thief.post("/settings/email", url.Values{"email": {"thief@evil.example"}, "current_password": {testPassword}})
		},
	} {
		t.Run(name, func(t *testing.T) {
			ts := newTestServer(t)
			owner := ts.newClient()
			owner.signupVerified("v@example.com")
			thief := owner.steal()
			newHash := hashFor(t, ts, ownerPassword)

			release := pauseArgon(ts)
			answer := underWay(func() response { return ask(thief) })
			ownerResets(t, ts, "v@example.com", newHash)
			release()
			res := <-answer
			wantRedirect(t, res, "/login")

			if n := ts.count(`SELECT count(*) FROM api_tokens`); n != 0 {
				t.Fatal("an API token was created after the reset")
			}
			wantStatus(t, ts.newClient().login("v@example.com", "the thief's passphrase", false), http.StatusUnauthorized)
			wantRedirect(t, ts.newClient().login("v@example.com", ownerPassword, false), "/dashboard")
			if n := ts.count(`SELECT count(*) FROM tokens WHERE email = 'thief@evil.example'`); n != 0 {
				t.Fatal("a change link to the thief's address was issued after the reset")
			}
		})
	}
}

// TestRequestUnderWayWhenTheOwnerProvesTheAddress: whoever registered the
// victim's address asks to move the account to their own mailbox just as the
// victim proves the address with a magic link: no change link comes of it.
func TestRequestUnderWayWhenTheOwnerProvesTheAddress(t *testing.T) {
	ts := newTestServer(t)
	attacker := ts.newClient()
	attacker.signup("victim@example.com")
	victim := ts.newClient()
	victim.post("/login/magic", url.Values{"email": {"victim@example.com"}})
	link := ts.smtp.latest("victim@example.com", "Your login link").link(t, ts.URL)

	release := pauseArgon(ts)
	answer := underWay(func() response {
		return attacker.post("/settings/email", url.Values{"email": {"attacker@evil.example"}, "current_password": {testPassword}})
	})
	wantRedirect(t, victim.post("/login/magic/confirm", url.Values{"token": {tokenOf(t, link)}}), "/dashboard")
	release()
	wantRedirect(t, <-answer, "/login")
	if n := ts.count(`SELECT count(*) FROM tokens WHERE email = 'attacker@evil.example'`); n != 0 {
		t.Fatal("a change link to the attacker's address was issued after the owner's proof")
	}
	wantStatus(t, victim.get("/dashboard"), http.StatusOK)
}

// TestPreHijackerCannotKeepVoidingTheOwnersLinks: a password change ends
// every mailed link, so before the address is proven it is refused (a reset
// does it); else whoever registered the address first could void each link
// its owner receives.
func TestPreHijackerCannotKeepVoidingTheOwnersLinks(t *testing.T) {
	ts := newTestServer(t)
	attacker := ts.newClient()
	attacker.signup("victim@example.com")
	owner := ts.newClient()
	owner.post("/forgot-password", url.Values{"email": {"victim@example.com"}})
	link := ts.smtp.latest("victim@example.com", "Reset your password").link(t, ts.URL)

	res := attacker.post("/settings/password", url.Values{"current_password": {testPassword}, "password": {"attacker passphrase 2"}})
	wantStatus(t, res, http.StatusForbidden)
	wantBody(t, res, "Confirm your email address first")
	wantRedirect(t, owner.post("/reset-password", url.Values{"token": {tokenOf(t, link)}, "password": {ownerPassword}}), "/login")
}

// TestLoginRehashCannotUndoAReset: the first login on a hash with older
// parameters upgrades it; if the owner resets the password meanwhile, that
// upgrade must not write the old password back.
func TestLoginRehashCannotUndoAReset(t *testing.T) {
	ts := newTestServer(t)
	ts.newClient().signupVerified("v@example.com")
	old := newPasswordHasher(argonParams{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	oldHash, err := old.hash(context.Background(), testPassword)
	if err != nil {
		t.Fatal(err)
	}
	ts.db.Write.Exec(`UPDATE users SET password_hash = ?`, oldHash)
	newHash := hashFor(t, ts, ownerPassword)

	release := pauseArgon(ts)
	answer := underWay(func() response { return ts.newClient().login("v@example.com", testPassword, false) })
	ownerResets(t, ts, "v@example.com", newHash)
	release()
	<-answer
	wantStatus(t, ts.newClient().login("v@example.com", testPassword, false), http.StatusUnauthorized)
	wantRedirect(t, ts.newClient().login("v@example.com", ownerPassword, false), "/dashboard")
}

// TestResetLinkToTheOldAddressAfterAChangeIsVoid: a reset asked for the old
// address while the change to a new one commits reaches the old mailbox (a
// shared or lost one); it must not reset the account at its new address.
func TestResetLinkToTheOldAddressAfterAChangeIsVoid(t *testing.T) {
	ts := newTestServer(t)
	ts.newClient().signupVerified("old@example.com")
	ctx := context.Background()
	u, _ := ts.db.UserByEmail(ctx, "old@example.com")

	// The change's transaction is under way, as its POST's is, when the
	// old mailbox asks for a reset.
	changed, commit, committed := make(chan struct{}, 1), make(chan struct{}), make(chan error)
	go func() {
		committed <- ts.db.Tx(ctx, func(q db.Queries) error {
			if err := ts.srv.onEmailChanged(ctx, q, u, "new@example.com"); err != nil {
				return err
			}
			select {
			case changed <- struct{}{}:
				<-commit
			default: // run again after a conflict (Postgres): no wait
			}
			return nil
		})
	}()
	<-changed
	oldMailbox := ts.newClient()
	answer := underWay(func() response { return oldMailbox.post("/forgot-password", url.Values{"email": {"old@example.com"}}) })
	close(commit)
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
	<-answer
	link := ts.smtp.latest("old@example.com", "Reset your password").link(t, ts.URL)
	wantStatus(t, oldMailbox.post("/reset-password", url.Values{"token": {tokenOf(t, link)}, "password": {"old mailbox owner pw"}}), http.StatusBadRequest)
	wantStatus(t, ts.newClient().login("new@example.com", "old mailbox owner pw", false), http.StatusUnauthorized)
}

// TestAdoptingAnotherAccountByEmailChange: someone asks to move their account
// (with their own ways in) to the victim's address; one click by the victim
// must not make it theirs. Only the account that asked confirms it.
func TestAdoptingAnotherAccountByEmailChange(t *testing.T) {
	ts := newTestServer(t)
	attacker := ts.newClient()
	attacker.signupVerified("attacker@evil.example")
	wantRedirect(t, attacker.post("/settings/email", url.Values{"email": {"victim@example.com"}, "current_password": {testPassword}}), "/settings")
	link := ts.smtp.latest("victim@example.com", "Confirm your new email address").link(t, ts.URL)

	victim := ts.newClient()
	wantRedirect(t, victim.get(ts.path(link)), "/login?next="+url.QueryEscape(ts.path(link)))
	wantRedirect(t, victim.post("/settings/email/confirm", url.Values{"token": {tokenOf(t, link)}}), "/login")
	bystander := ts.newClient()
	bystander.signupVerified("someone@example.com")
	res := bystander.post("/settings/email/confirm", url.Values{"token": {tokenOf(t, link)}})
	wantStatus(t, res, http.StatusForbidden)
	wantBody(t, res, "This link is for another account")
	if n := ts.count(`SELECT count(*) FROM users WHERE email = 'victim@example.com'`); n != 0 {
		t.Fatal("the attacker's account moved to the victim's address")
	}
	// The account that asked confirms it, after logging in from the link.
	wantRedirect(t, attacker.post("/settings/email/confirm", url.Values{"token": {tokenOf(t, link)}}), "/settings")
	if n := ts.count(`SELECT count(*) FROM users WHERE email = 'victim@example.com'`); n != 1 {
		t.Fatal("the owner's own confirmation did not apply")
	}
}

// TestHalfDoneTwoFactorLoginOfADeletedAccount: the account is deleted while
// someone is at the second step; their code is not a server error.
func TestHalfDoneTwoFactorLoginOfADeletedAccount(t *testing.T) {
	ts := newTestServer(t)
	ada := ts.newClient()
	ada.signupVerified("v@example.com")
	ts.db.Write.Exec(`UPDATE users SET totp_secret = 'JBSWY3DPEHPK3PXP'`)
	pending := ts.newClient()
	wantRedirect(t, pending.login("v@example.com", testPassword, false), "/login/2fa")
	wantRedirect(t, ada.post("/settings/delete", url.Values{"delete_password": {testPassword}}), "/")
	if n := ts.count(`SELECT count(*) FROM sessions WHERE ` + ts.db.SessionField("mfa_user_id") + ` IS NOT NULL`); n != 0 {
		t.Fatal("the half-done login outlived the account")
	}
	wantRedirect(t, pending.post("/login/2fa", url.Values{"code": {"123456"}}), "/login")
}

// TestTwoSpellingsOfOneAddress: "J" + combining caron lower-cases to a
// spelling whose normal form is "ǰ"; both must be one account.
func TestTwoSpellingsOfOneAddress(t *testing.T) {
	ts := newTestServer(t)
	wantRedirect(t, ts.newClient().post("/signup", url.Values{"email": {"J\u030Cohn@example.com"}, "password": {testPassword}}), "/dashboard")
	res := ts.newClient().post("/signup", url.Values{"email": {"\u01F0ohn@example.com"}, "password": {testPassword}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantBody(t, res, "already exists")
	if got := regexp.MustCompile(`value="([^"]*@example.com)"`).FindStringSubmatch(res.body); got == nil || !strings.HasPrefix(got[1], "\u01F0") {
		t.Fatalf("the address is not shown in its normal form: %v", got)
	}
}
