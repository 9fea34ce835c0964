package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"image/png"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"skiff/db"
	"skiff/views"
)

// Two-factor authentication with TOTP (RFC 6238, github.com/pquerna/otp):
// 30-second steps, one step of clock skew either way, a code accepted once.

const totpPeriod = 30

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Skew: 0, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// matchTOTP returns the time step whose code equals code (within one step of
// now), or 0.
func (s *Server) matchTOTP(secret, code string) int64 {
	if len(code) != 6 {
		return 0
	}
	now := s.now().Unix() / totpPeriod
	for _, step := range []int64{now, now - 1, now + 1} {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step
		}
	}
	return 0
}

// checkSecondFactor accepts a current TOTP code (once) or an unused recovery
// code of userID. The per-account limit's token is taken before the check, so
// concurrent guesses get at most the limit's worth of checks (more are a
// 429); a valid code gives the account its tokens back.
func (s *Server) checkSecondFactor(ctx context.Context, userID int64, code string) (bool, error) {
	key := strconv.FormatInt(userID, 10)
	if ok, wait := s.twoFactorLimiter.allow(key); !ok {
		return false, tooMany(wait)
	}
	match, err := s.matchSecondFactor(ctx, userID, code)
	if match {
		s.twoFactorLimiter.reset(key)
	}
	return match, err
}

func (s *Server) matchSecondFactor(ctx context.Context, userID int64, code string) (bool, error) {
	code = strings.ToLower(strings.NewReplacer(" ", "", "-", "").Replace(code))
	if len(code) == 6 && strings.Trim(code, "0123456789") == "" {
		secret, err := s.db.TOTPSecret(ctx, userID)
		if err != nil || secret == "" {
			return false, err
		}
		step := s.matchTOTP(secret, code)
		if step == 0 {
			return false, nil
		}
		return s.db.UseTOTPStep(ctx, userID, step)
	}
	if len(code) != recoveryCodeLen {
		return false, nil
	}
	sum := sha256.Sum256([]byte(code))
	return s.db.UseRecoveryCode(ctx, userID, sum[:])
}

const recoveryCodeLen = 10

// wrongSecondFactor is the answer to a wrong code wherever a TOTP code or a
// recovery code is asked for (the login's second step, turning it off).
const wrongSecondFactor = "That code is not valid. Use the current code from your authenticator app, or an unused recovery code."

// newRecoveryCodes returns 10 codes to show ("abcde-fghij") and their hashes.
func newRecoveryCodes() ([]string, [][]byte) {
	var shown []string
	var hashes [][]byte
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	for range 10 {
		c := strings.ToLower(enc.EncodeToString(randomBytes(7)))[:recoveryCodeLen]
		sum := sha256.Sum256([]byte(c))
		shown = append(shown, c[:5]+"-"+c[5:])
		hashes = append(hashes, sum[:])
	}
	return shown, hashes
}

// handleTwoFactorLoginGet handles "GET /login/2fa".
func (s *Server) handleTwoFactorLoginGet(w http.ResponseWriter, r *http.Request) error {
	if _, ok := s.pendingSecondFactor(r); !ok {
		s.redirect(w, r, "/login", logInAgain)
		return nil
	}
	s.renderTwoFactorLogin(w, r, http.StatusOK, views.Form{})
	return nil
}

func (s *Server) renderTwoFactorLogin(w http.ResponseWriter, r *http.Request, status int, f views.Form) {
	// A passkey of the account may stand in for the code.
	passkey := false
	if id, ok := s.pendingSecondFactor(r); ok && s.webauthn != nil {
		keys, err := s.db.Passkeys(r.Context(), id)
		passkey = err == nil && len(keys) > 0
	}
	s.render(w, r, status, views.TwoFactorLoginPage(s.page(r, "Two-factor authentication"), f, passkey))
}

// logInAgain sends back to the login a browser whose half-done login is gone.
const logInAgain = "Please log in again."

func (s *Server) pendingSecondFactor(r *http.Request) (int64, bool) {
	ctx := r.Context()
	id := s.sessions.GetInt64(ctx, sessionMFAUser)
	return id, id != 0 && time.Now().Unix() < s.sessions.GetInt64(ctx, sessionMFAUntil)
}

// handleTwoFactorLoginPost handles "POST /login/2fa" (`code`): a TOTP code or
// a recovery code completes the login, with a new session token.
func (s *Server) handleTwoFactorLoginPost(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(r); err != nil {
		return err
	}
	ctx := r.Context()
	id, ok := s.pendingSecondFactor(r)
	if !ok {
		s.redirect(w, r, "/login", "That took too long. "+logInAgain)
		return nil
	}
	u, err := s.db.UserByID(ctx, id)
	if errors.Is(err, db.ErrNotFound) || (err == nil && u.AuthEpoch != s.sessions.GetInt64(ctx, sessionMFAEpoch)) {
		// The account is gone, or a reset or a first proof happened since
		// the password was typed.
		s.redirect(w, r, "/login", logInAgain)
		return nil
	}
	if err != nil {
		return err
	}
	match, err := s.checkSecondFactor(ctx, id, r.PostForm.Get("code"))
	if err != nil {
		return err
	}
	if !match {
		s.renderTwoFactorLogin(w, r, http.StatusUnauthorized, views.Form{Errors: map[string]string{"code": wrongSecondFactor}})
		return nil
	}
	if err := s.completeSession(r, u, s.sessions.GetBool(ctx, sessionMFARemember)); err != nil {
		return err
	}
	http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
	return nil
}

// handleTwoFactorSettings handles "GET /settings/2fa": the enrolment (a QR
// code and the secret for manual entry), or, once on, how many recovery
// codes are left, making new ones, and turning it off.
func (s *Server) handleTwoFactorSettings(w http.ResponseWriter, r *http.Request) error {
	return s.renderTwoFactor(w, r, http.StatusOK, views.TwoFactor{})
}

// renderTwoFactor shows the two-factor page with the forms in d.
func (s *Server) renderTwoFactor(w http.ResponseWriter, r *http.Request, status int, d views.TwoFactor) error {
	ctx := r.Context()
	u := s.currentUser(r)
	secret, err := s.db.TOTPSecret(ctx, u.ID)
	if err != nil {
		return err
	}
	d.Account, d.Enabled = account(u), secret != ""
	if d.Enabled {
		if d.CodesLeft, err = s.db.RecoveryCodesLeft(ctx, u.ID); err != nil {
			return err
		}
	} else if d.Verified {
		if d.QR, d.Secret, err = s.enrolment(ctx, u); err != nil {
			return err
		}
	}
	s.render(w, r, status, views.TwoFactorPage(s.settingsPage(r, views.SectionTwoFactor), d))
	return nil
}

// enrolment returns the QR code (a data: URL) and the secret of the key
// being enrolled.
func (s *Server) enrolment(ctx context.Context, u *db.User) (qr, secret string, err error) {
	key, err := s.pendingTOTPKey(ctx, u)
	if err != nil {
		return "", "", err
	}
	img, err := key.Image(220, 220)
	if err != nil {
		return "", "", err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), key.Secret(), nil
}

// pendingTOTPKey returns the enrolment key kept in the session, making one
// (also when the kept one is unreadable: the user just scans the new one).
func (s *Server) pendingTOTPKey(ctx context.Context, u *db.User) (*otp.Key, error) {
	if raw := s.sessions.GetString(ctx, sessionTOTPPending); raw != "" {
		if key, err := otp.NewKeyFromURL(raw); err == nil {
			return key, nil
		}
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "Skiff", AccountName: u.Email, Period: totpPeriod})
	if err != nil {
		return nil, err
	}
	s.sessions.Put(ctx, sessionTOTPPending, key.URL())
	return key, nil
}

// handleTwoFactorEnable handles "POST /settings/2fa/enable" (`code`,
// `current_password`): a code from the app proves the enrolment; the recovery
// codes are shown next, on a page of their own. Like every change to the ways in, it needs a proven
// address and re-authentication, and the address is told.
func (s *Server) handleTwoFactorEnable(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(r); err != nil {
		return err
	}
	ctx := r.Context()
	u := s.currentUser(r)
	if err := requireVerifiedAddress(u, "turn on two-factor authentication"); err != nil {
		return err
	}
	raw := s.sessions.GetString(ctx, sessionTOTPPending)
	key, err := otp.NewKeyFromURL(raw)
	if raw == "" || err != nil {
		s.redirect(w, r, "/settings/2fa", "Scan the code again, then enter the code it shows.")
		return nil
	}
	f := views.Form{Errors: map[string]string{}}
	if err := s.reauthenticateInto(r, u, &f); err != nil {
		return err
	}
	step := s.matchTOTP(key.Secret(), strings.TrimSpace(r.PostForm.Get("code")))
	if step == 0 {
		f.Errors["code"] = "That code does not match. Check your phone's clock and try the current code."
	}
	if len(f.Errors) > 0 {
		return s.renderTwoFactor(w, r, http.StatusUnprocessableEntity, views.TwoFactor{Form: f})
	}
	codes, hashes := newRecoveryCodes()
	err = s.userTx(r, func(q db.Queries) error {
		if err := q.EnableTOTP(ctx, u.ID, key.Secret(), hashes); err != nil {
			return err
		}
		return s.onWayInChanged(ctx, q, *u, "Two-factor authentication was turned on",
			"Two-factor authentication was turned on for your Skiff account: every login now also asks for a code from an authenticator app.")
	})
	if err != nil {
		return s.userTxFailed(w, r, err)
	}
	s.outbox.notify()
	if _, err := s.db.UseTOTPStep(ctx, u.ID, step); err != nil {
		return err
	}
	s.sessions.Remove(ctx, sessionTOTPPending)
	if err := s.renewToken(ctx); err != nil {
		return err
	}
	return s.showRecoveryCodes(w, r, u.ID, codes, "Two-factor authentication is on.")
}

// handleTwoFactorDisable handles "POST /settings/2fa/disable" (`code`,
// `current_password`): re-authentication and a current code or a recovery
// code are needed, and the address is told.
func (s *Server) handleTwoFactorDisable(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(r); err != nil {
		return err
	}
	ctx := r.Context()
	u := s.currentUser(r)
	var f views.Form
	if err := s.reauthenticateInto(r, u, &f); err != nil {
		return err
	}
	if len(f.Errors) == 0 {
		match, err := s.checkSecondFactor(ctx, u.ID, r.PostForm.Get("code"))
		if err != nil {
			return err
		}
		if !match {
			f.Errors = map[string]string{"code": wrongSecondFactor}
		}
	}
	if len(f.Errors) > 0 {
		return s.renderTwoFactor(w, r, http.StatusUnprocessableEntity, views.TwoFactor{Form: f})
	}
	err := s.userTx(r, func(q db.Queries) error {
		if err := q.DisableTOTP(ctx, u.ID); err != nil {
			return err
		}
		return s.onWayInChanged(ctx, q, *u, "Two-factor authentication was turned off",
			"Two-factor authentication was turned off for your Skiff account: logging in needs only the password or a login link again.")
	})
	if err != nil {
		return s.userTxFailed(w, r, err)
	}
	s.outbox.notify()
	s.sessions.Remove(ctx, sessionFreshCodes)
	s.redirect(w, r, "/settings/2fa", "Two-factor authentication is off.")
	return nil
}
