package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"net/url"
	"time"

	"skiff/db"
)

// How long each kind of mailed token is valid.
var tokenTTL = map[string]time.Duration{
	db.PurposeMagicLink:     15 * time.Minute,
	db.PurposeResetPassword: time.Hour,
	db.PurposeVerifyEmail:   48 * time.Hour,
	db.PurposeChangeEmail:   24 * time.Hour,
}

// tokenPath is the page each kind of token opens.
var tokenPath = map[string]string{
	db.PurposeMagicLink:     "/login/magic/confirm",
	db.PurposeResetPassword: "/reset-password",
	db.PurposeVerifyEmail:   "/verify-email",
	db.PurposeChangeEmail:   "/settings/email/confirm",
}

const tokenLen = 43 // 32 random bytes, unpadded base64url

// issueToken stores a new token (only its hash) and returns the link to
// mail. Links are built from BASE_URL, never from the request's Host header.
// u is nil for a magic-link sign-up.
func (s *Server) issueToken(ctx context.Context, q db.Queries, purpose string, u *db.User, email string) (string, error) {
	secret, err := newMailedToken(ctx, q, purpose, u, email)
	if err != nil {
		return "", err
	}
	return s.cfg.Origin() + tokenPath[purpose] + "?token=" + url.QueryEscape(secret), nil
}

// issueSecret stores a new token for u's address and returns the secret
// itself, for a form on the page being rendered rather than a mail. u must
// carry the account's current epoch (after a first proof, the new one).
func (s *Server) issueSecret(ctx context.Context, q db.Queries, purpose string, u db.User) (string, error) {
	return newMailedToken(ctx, q, purpose, &u, u.Email)
}

func newMailedToken(ctx context.Context, q db.Queries, purpose string, u *db.User, email string) (string, error) {
	secret, hash := newSecret()
	t := db.Token{Hash: hash, Purpose: purpose, Email: email, ExpiresAt: time.Now().Add(tokenTTL[purpose])}
	if u != nil {
		// The epoch the caller knows, never one read now: a link asked for
		// by a session that a reset ended meanwhile must be born void.
		t.UserID = sql.NullInt64{Int64: u.ID, Valid: true}
		t.AuthEpoch = u.AuthEpoch
	}
	return secret, q.InsertToken(ctx, t)
}

// newSecret returns a new link secret (32 random bytes, base64url: tokenLen
// characters) and its SHA-256, the only form stored.
func newSecret() (string, []byte) {
	secret := base64.RawURLEncoding.EncodeToString(randomBytes(32))
	sum := sha256.Sum256([]byte(secret))
	return secret, sum[:]
}

// randomBytes returns n bytes from crypto/rand. Its Read has no error to
// check: since Go 1.24 it never returns one, and crashes the program rather
// than hand out predictable bytes.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// tokenHash checks a token's shape and returns its hash; forged or mangled
// tokens are refused before any query.
func tokenHash(secret string) ([]byte, bool) {
	if len(secret) != tokenLen {
		return nil, false
	}
	if _, err := base64.RawURLEncoding.DecodeString(secret); err != nil {
		return nil, false
	}
	sum := sha256.Sum256([]byte(secret))
	return sum[:], true
}
