package app

import (
	"context"
	"strings"

	"skiff/db"
)

// The account lifecycle in one place: for each event that changes who can get
// into an account, what it revokes and who is told. Every path that causes an
// event calls its function here, inside the transaction of the change, so no
// handler decides on its own (the README's "Account lifecycle" table is this
// file in words).
//
//	event                        revokes                                         tells
//	first proof of the address   other sessions, provider accounts, API tokens,
//	                             passkeys, two-factor, mailed links, the
//	                             password (the prover keeps what they showed
//	                             they hold)                                      -
//	password reset               every session, API token, passkey and mailed    the address, listing providers
//	                             link                                            and the passkeys removed
//	password change              other sessions, every mailed link               the address
//	email change requested       older pending change links                      the current address
//	email change confirmed       every older mailed link (the session stays)     -
//	provider connected, token    nothing (each needs re-authentication, and      the address
//	or passkey created,          a proven address to add a way in; new
//	two-factor on/off,
//	new recovery codes           recovery codes void the old ones)
//	account disabled             every session and mailed link; tokens refused   -
//	account deleted              everything                                      the address
//
// A first proof happens through the verification link, a password reset, a
// magic link, an email change's confirmation, or a provider that vouches for
// the address taking over an unverified account.

// holder is what the person proving an address showed they hold; they keep
// it, everything else attached before the proof goes.
type holder struct {
	sid string // their browser's session of the account, which stays
	// password keeps the password: they typed it, or their session is the
	// account's own (made with it).
	password bool
	// identities keeps the linked provider accounts: their session is the
	// account's own and came from one (an account without a password, created
	// by a provider login; while unproven, nothing else can link one).
	identities bool
	// passkeys keeps the passkey an account without a password was created
	// with (PASSKEY_SIGNUP), proven from that account's own session; while
	// unproven, no other passkey can be added.
	passkeys bool
}

// proven is what onAddressProven did.
type proven struct {
	first           bool  // this was the first proof: the wipe happened
	epoch           int64 // the account's new auth_epoch (after a first proof)
	passwordRemoved bool
}

// onAddressProven applies the first-proof rule: whoever held the account
// before its address was proven may have planted a way back in, so all of it
// goes but what the prover holds. An address proven before changes nothing.
func (s *Server) onAddressProven(ctx context.Context, q db.Queries, u db.User, h holder) (proven, error) {
	first, err := q.MarkEmailVerifiedFirst(ctx, u.ID)
	if err != nil || !first {
		return proven{}, err
	}
	p := proven{first: true}
	if p.epoch, err = q.EndSessions(ctx, u.ID, h.sid); err != nil {
		return p, err
	}
	if !h.identities {
		if err := q.DeleteIdentities(ctx, u.ID); err != nil {
			return p, err
		}
	}
	if err := q.DeleteAPITokens(ctx, u.ID); err != nil {
		return p, err
	}
	if !h.passkeys {
		if err := q.DeletePasskeys(ctx, u.ID); err != nil {
			return p, err
		}
	}
	if err := q.DisableTOTP(ctx, u.ID); err != nil {
		return p, err
	}
	if err := q.VoidMailedTokens(ctx, u.ID, ""); err != nil {
		return p, err
	}
	if !h.password && u.PasswordHash != "" {
		p.passwordRemoved = true
		if err := q.ClearPassword(ctx, u.ID); err != nil {
			return p, err
		}
	}
	return p, nil
}

// onPasswordReset applies "a reset means I lost control": it is a proof of
// the address too (the new password is the prover's), then every session and
// API token ends, older links die, and the address is told which providers
// can still log in.
func (s *Server) onPasswordReset(ctx context.Context, q db.Queries, u db.User, newHash string) error {
	if _, err := s.onAddressProven(ctx, q, u, holder{password: true}); err != nil {
		return err
	}
	// A first proof did some of what follows already; each step is
	// idempotent, and a reset of a proven account needs all of them.
	if err := q.SetPasswordHash(ctx, u.ID, newHash); err != nil {
		return err
	}
	if _, err := q.EndSessions(ctx, u.ID, ""); err != nil {
		return err
	}
	if err := q.DeleteAPITokens(ctx, u.ID); err != nil {
		return err
	}
	keys, err := q.Passkeys(ctx, u.ID)
	if err != nil {
		return err
	}
	var removed []string
	for _, k := range keys {
		removed = append(removed, k.Name)
	}
	if err := q.DeletePasskeys(ctx, u.ID); err != nil {
		return err
	}
	if err := q.VoidMailedTokens(ctx, u.ID, ""); err != nil {
		return err
	}
	ids, err := q.Identities(ctx, u.ID)
	if err != nil {
		return err
	}
	var providers []string
	for _, i := range ids {
		providers = append(providers, s.providerName(i.Provider)+" ("+i.Email+")")
	}
	return s.queueMail(ctx, q, u.Email, passwordResetMail(providers, removed, s.cfg.Origin()))
}

// onPasswordChanged applies a change made in settings with the current
// password: this session stays (it returns the epoch it must carry), the
// others end, older links die, and the address is told.
func (s *Server) onPasswordChanged(ctx context.Context, q db.Queries, u db.User, newHash, keepSID string) (int64, error) {
	if err := q.SetPasswordHash(ctx, u.ID, newHash); err != nil {
		return 0, err
	}
	epoch, err := q.EndSessions(ctx, u.ID, keepSID)
	if err != nil {
		return 0, err
	}
	if err := q.VoidMailedTokens(ctx, u.ID, ""); err != nil {
		return 0, err
	}
	return epoch, s.queueMail(ctx, q, u.Email, passwordChangedMail(s.cfg.Origin()))
}

// onEmailChangeRequested is a change asked for in settings: a newer request
// supersedes older ones, and the current address is told.
func (s *Server) onEmailChangeRequested(ctx context.Context, q db.Queries, u db.User, newEmail string) error {
	if err := q.VoidMailedTokens(ctx, u.ID, db.PurposeChangeEmail); err != nil {
		return err
	}
	return s.queueMail(ctx, q, u.Email, changeEmailNoticeMail(newEmail, s.cfg.Origin()))
}

// onEmailChanged applies a confirmed change: the new address is the account's,
// and every link mailed before (a reset or magic link to the old address,
// verification, other pending changes) stops working.
func (s *Server) onEmailChanged(ctx context.Context, q db.Queries, u db.User, newEmail string) error {
	if err := q.SetEmail(ctx, u.ID, newEmail); err != nil {
		return err
	}
	return q.VoidMailedTokens(ctx, u.ID, "")
}

// onWayInChanged tells the account's address that a way in changed (a
// provider connected, an API token created, two-factor turned on or off, new
// recovery codes made), so that a stranger's doing cannot go unnoticed.
func (s *Server) onWayInChanged(ctx context.Context, q db.Queries, u db.User, title, what string) error {
	return s.queueMail(ctx, q, u.Email, wayInMail(title, what, s.cfg.Origin()))
}

// onDisabled applies an admin's decision: every session ends now; API tokens
// are kept (re-enabling brings them back) but refused while disabled, and
// every way in checks the flag (startSession, apiAuth, the mailed links).
func (s *Server) onDisabled(ctx context.Context, q db.Queries, id int64, disabled bool) error {
	if err := q.SetDisabled(ctx, id, disabled); err != nil {
		return err
	}
	_, err := q.EndSessions(ctx, id, "")
	return err
}

// onDeleted removes the account and everything of it (foreign keys cascade),
// after queuing a goodbye to its address.
func (s *Server) onDeleted(ctx context.Context, q db.Queries, u db.User) error {
	if err := s.queueMail(ctx, q, u.Email, goodbyeMail()); err != nil {
		return err
	}
	// The teams they were a member of keep the line of their leaving
	// (named "a deleted account" by DeleteUser, as all their lines).
	if err := q.LeaveTeamsOnDeletion(ctx, u.ID, actorName(u)); err != nil {
		return err
	}
	return q.DeleteUser(ctx, u.ID, u.Email)
}

// providerName is the display name of a provider id ("github" -> "GitHub").
func (s *Server) providerName(id string) string {
	if op := s.oauthProvider(id); op != nil {
		return op.Name
	}
	return strings.ToUpper(id[:1]) + id[1:]
}
