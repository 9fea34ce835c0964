package app

import (
	"database/sql"
	"errors"
	"net/http"
	"strings"
	"time"

	"skiff/db"
	"skiff/views"
)

// lastSeenEvery is how stale a session's "last seen" may get before a request refreshes it.
const lastSeenEvery = 5 * time.Minute

// deviceName turns a User-Agent into "Browser on OS", good enough to
// recognise one's own devices in a list.
func deviceName(ua string) string {
	browser := "Unknown browser"
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"Chrome/", "Chrome"},
		{"Safari/", "Safari"}, {"curl/", "curl"}, {"Go-http-client", "Go HTTP client"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	os := "unknown system"
	for _, o := range []struct{ token, name string }{
		{"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Android", "Android"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			os = o.name
			break
		}
	}
	return browser + " on " + os
}

// handleSessions handles "GET /settings/sessions": every session of the
// account, this one marked.
func (s *Server) handleSessions(w http.ResponseWriter, r *http.Request) {
	sessions, err := s.db.UserSessions(r.Context(), s.currentUser(r).ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	var d views.SettingsSessions
	for _, us := range sessions {
		d.Sessions = append(d.Sessions, views.SessionRow{UserSession: us, Current: us.ID == state(r).sid})
	}
	s.render(w, r, http.StatusOK, views.SettingsSessionsPage(s.settingsPage(r, views.SectionSessions), d))
}

// handleSessionRevoke handles "POST /settings/sessions/{id}/revoke": that
// session stops working on its next request.
func (s *Server) handleSessionRevoke(w http.ResponseWriter, r *http.Request) {
	sid := r.PathValue("id")
	if len(sid) > 64 {
		s.notFound(w, r)
		return
	}
	err := s.db.RevokeUserSession(r.Context(), s.currentUser(r).ID, sid)
	if errors.Is(err, db.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if sid == state(r).sid {
		s.sessions.Destroy(r.Context())
		s.redirect(w, r, "/login", "This session was signed out.")
		return
	}
	s.redirect(w, r, "/settings/sessions", "That session was signed out.")
}

// handleSessionRevokeOthers handles "POST /settings/sessions/revoke-others".
func (s *Server) handleSessionRevokeOthers(w http.ResponseWriter, r *http.Request) {
	var n int
	err := s.db.Tx(r.Context(), func(tx *sql.Tx) error {
		var err error
		n, err = db.Q(tx).RevokeOtherUserSessions(r.Context(), s.currentUser(r).ID, state(r).sid)
		return err
	})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.redirect(w, r, "/settings/sessions", "Signed out "+views.OtherSessions(n)+".")
}
