package app

import (
	"errors"
	"net/http"
	"strings"
	"sync"
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

// freshCodes keeps the recovery codes just made, in memory only: not in the
// session, whose row in the database (and in every backup and replica) would
// hold them in clear. A restart forgets them; the user can make new ones.
// The zero value is ready to use.
type freshCodes struct {
	mu sync.Mutex
	m  map[int64]freshCodesEntry // by user: newer codes replace older ones
}

type freshCodesEntry struct {
	sid   string // the session that made them: no other sees them
	codes []string
	made  time.Time
}

// put keeps the codes userID's session sid just made, and drops those whose
// time is up, so the map holds at most the codes of the last few minutes.
func (f *freshCodes) put(userID int64, sid string, codes []string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[int64]freshCodesEntry{}
	}
	for id, e := range f.m {
		if now.Sub(e.made) >= recoveryCodesShownFor {
			delete(f.m, id)
		}
	}
	f.m[userID] = freshCodesEntry{sid: sid, codes: codes, made: now}
}

// get returns a copy of the codes userID's session sid made in the last few
// minutes, and when they were made.
func (f *freshCodes) get(userID int64, sid string, now time.Time) ([]string, time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.m[userID]
	if !ok || e.sid != sid || now.Sub(e.made) >= recoveryCodesShownFor {
		return nil, time.Time{}, false
	}
	return append([]string(nil), e.codes...), e.made, true
}

// forget drops userID's codes (two-factor was turned off).
func (f *freshCodes) forget(userID int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, userID)
}

// showRecoveryCodes keeps codes just made for their page, and redirects there.
func (s *Server) showRecoveryCodes(w http.ResponseWriter, r *http.Request, userID int64, codes []string, flash string) {
	s.freshCodes.put(userID, state(r).sid, codes, s.now())
	s.redirect(w, r, "/settings/2fa/recovery-codes", flash)
}

// recoveryCodesGone is what a browser is told once the codes' few minutes are up.
const recoveryCodesGone = "Recovery codes are shown only in the five minutes after they are made, in the browser that made them. If you did not save yours, make new ones."

// handleRecoveryCodes handles "GET /settings/2fa/recovery-codes": the codes
// just made, as often as the page is reloaded, until their time is up.
func (s *Server) handleRecoveryCodes(w http.ResponseWriter, r *http.Request) error {
	codes, made, ok := s.freshCodes.get(s.currentUser(r).ID, state(r).sid, s.now())
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
	codes, made, ok := s.freshCodes.get(u.ID, state(r).sid, s.now())
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
	s.showRecoveryCodes(w, r, u.ID, codes, "New recovery codes were made. The old ones no longer work.")
	return nil
}
