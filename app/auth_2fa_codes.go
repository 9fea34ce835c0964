package app

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"skiff/db"
	"skiff/views"
)

// Recovery codes are stored as SHA-256 only, so they can be shown only when
// they are made. Enabling two-factor and making new codes redirect to a page
// that shows them (Post/Redirect/Get: a reload changes nothing), with a copy
// button and a text file to download, for a few minutes.

// recoveryCodesShownFor is how long recovery codes just made can be seen
// again, and downloaded, by the session that made them (the pages say "five
// minutes").
const recoveryCodesShownFor = 5 * time.Minute

// The codes just made are kept for their page sealed (AES-256-GCM) in the
// session, under a key that only the browser holds, in a cookie of their own
// that lives as long as the page may show them. The session's row in the
// database (and in every backup and replica) holds ciphertext alone, and
// every instance serving the browser can open it: the page may be served by
// another instance than the one that made the codes.
const (
	sessionFreshCodes = "fresh_codes" // base64 of nonce || sealed freshCodes
	freshCodesCookie  = "codes"       // __Host-codes over https: base64 of the key
)

// freshCodes is what is sealed: the codes, whose they are and when made.
type freshCodes struct {
	User  int64    `json:"user"`
	SID   string   `json:"sid"` // the session that made them: no other sees them
	Made  int64    `json:"made"`
	Codes []string `json:"codes"`
}

func (s *Server) freshCodesCookieName() string {
	if s.cfg.BaseURL.Scheme == "https" {
		return "__Host-" + freshCodesCookie
	}
	return freshCodesCookie
}

// showRecoveryCodes keeps codes just made for their page, and redirects there.
func (s *Server) showRecoveryCodes(w http.ResponseWriter, r *http.Request, userID int64, codes []string, flash string) error {
	key := make([]byte, 32)
	rand.Read(key)
	plain, err := json.Marshal(freshCodes{User: userID, SID: state(r).sid, Made: s.now().Unix(), Codes: codes})
	if err != nil {
		return err
	}
	gcm, err := newGCM(key)
	if err != nil {
		return err
	}
	nonce := make([]byte, gcm.NonceSize())
	rand.Read(nonce)
	s.sessions.Put(r.Context(), sessionFreshCodes, base64.RawStdEncoding.EncodeToString(gcm.Seal(nonce, nonce, plain, nil)))
	http.SetCookie(w, &http.Cookie{
		Name: s.freshCodesCookieName(), Value: base64.RawURLEncoding.EncodeToString(key), Path: "/",
		MaxAge: int(recoveryCodesShownFor / time.Second), HttpOnly: true, Secure: s.cfg.BaseURL.Scheme == "https",
		SameSite: http.SameSiteStrictMode,
	})
	s.redirect(w, r, "/settings/2fa/recovery-codes", flash)
	return nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// freshCodesOf returns the codes this browser's session made in the last
// few minutes, and when they were made, while two-factor is still on.
func (s *Server) freshCodesOf(r *http.Request, u *db.User) ([]string, time.Time, bool) {
	sealed, err := base64.RawStdEncoding.DecodeString(s.sessions.GetString(r.Context(), sessionFreshCodes))
	if err != nil || len(sealed) == 0 {
		return nil, time.Time{}, false
	}
	c, err := r.Cookie(s.freshCodesCookieName())
	if err != nil {
		return nil, time.Time{}, false
	}
	key, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(key) != 32 {
		return nil, time.Time{}, false
	}
	gcm, err := newGCM(key)
	if err != nil || len(sealed) < gcm.NonceSize() {
		return nil, time.Time{}, false
	}
	plain, err := gcm.Open(nil, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], nil)
	if err != nil {
		return nil, time.Time{}, false
	}
	var f freshCodes
	if json.Unmarshal(plain, &f) != nil || f.User != u.ID || f.SID != state(r).sid {
		return nil, time.Time{}, false
	}
	made := time.Unix(f.Made, 0)
	if s.now().Sub(made) >= recoveryCodesShownFor {
		return nil, time.Time{}, false
	}
	// Turned off meanwhile (perhaps from another browser): nothing to save.
	if secret, err := s.db.TOTPSecret(r.Context(), u.ID); err != nil || secret == "" {
		return nil, time.Time{}, false
	}
	return f.Codes, made, true
}

// recoveryCodesGone is what a browser is told once the codes' few minutes are up.
const recoveryCodesGone = "Recovery codes are shown only in the five minutes after they are made, in the browser that made them. If you did not save yours, make new ones."

// handleRecoveryCodes handles "GET /settings/2fa/recovery-codes": the codes
// just made, as often as the page is reloaded, until their time is up.
func (s *Server) handleRecoveryCodes(w http.ResponseWriter, r *http.Request) error {
	codes, made, ok := s.freshCodesOf(r, s.currentUser(r))
	if !ok {
		s.redirect(w, r, "/settings/2fa", recoveryCodesGone)
		return nil
	}
	p := s.settingsPage(r, views.SectionTwoFactor)
	p.Title = "Save your recovery codes"
	s.render(w, r, http.StatusOK, views.RecoveryCodesPage(p, views.RecoveryCodes{Codes: codes, Until: made.Add(recoveryCodesShownFor)}))
	return nil
}

// handleRecoveryCodesDownload handles "GET /settings/2fa/recovery-codes.txt":
// the same codes as a text file, in the same few minutes; 410 after.
func (s *Server) handleRecoveryCodesDownload(w http.ResponseWriter, r *http.Request) error {
	u := s.currentUser(r)
	codes, made, ok := s.freshCodesOf(r, u)
	if !ok {
		return &clientError{Status: http.StatusGone, Code: "gone", Title: "These recovery codes can no longer be downloaded",
			Message: recoveryCodesGone}
	}
	text := "Skiff recovery codes for " + u.Email + ", made " + made.UTC().Format("2 Jan 2006 15:04 UTC") + ".\n" +
		"Each code logs you in once, in place of a code from your authenticator app.\n" +
		"Making new codes in Settings replaces all of these.\n\n" + strings.Join(codes, "\n") + "\n"
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="skiff-recovery-codes.txt"`)
	h.Set("Cache-Control", "no-store")
	_, err := w.Write([]byte(text))
	return err // the response has begun: the adapter can only log it
}

// handleRecoveryCodesRegenerate handles "POST /settings/2fa/recovery-codes"
// (`current_password`): ten new codes replace the old ones, which stop
// working at once. Like every change to the ways in, it needs
// re-authentication, and the address is told.
func (s *Server) handleRecoveryCodesRegenerate(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(r); err != nil {
		return err
	}
	ctx := r.Context()
	u := s.currentUser(r)
	var f views.Form
	if err := s.reauthenticateInto(r, u, &f); err != nil {
		return err
	}
	if len(f.Errors) > 0 {
		return s.renderTwoFactor(w, r, http.StatusUnprocessableEntity, views.TwoFactor{RegenerateForm: f})
	}
	codes, hashes := newRecoveryCodes()
	err := s.userTx(r, func(q db.Queries) error {
		if err := q.ReplaceRecoveryCodes(ctx, u.ID, hashes); err != nil {
			return err
		}
		return s.onWayInChanged(ctx, q, *u, "New recovery codes were made",
			"New recovery codes were made for your Skiff account. The old ones no longer work.")
	})
	if errors.Is(err, db.ErrNotFound) {
		s.redirect(w, r, "/settings/2fa", "Two-factor authentication is off, so there are no recovery codes to replace.")
		return nil
	}
	if err != nil {
		return s.userTxFailed(w, r, err)
	}
	s.outbox.notify()
	return s.showRecoveryCodes(w, r, u.ID, codes, "New recovery codes were made. The old ones no longer work.")
}
