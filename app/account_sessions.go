package app

import (
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

// sessionSettings fills in what "Sessions" shows: on the first page this
// session, then a page of the others, the latest sign-in first, and how many
// others there are (to sign them all out).
func (s *Server) sessionSettings(r *http.Request, u *db.User, d *views.Settings) error {
	ctx := r.Context()
	page, err := readPage(r, widePageSize)
	if err != nil {
		return err
	}
	sid := state(r).sid
	this, err := s.db.UserSession(ctx, u.ID, sid)
	listed := err == nil // a session is signed out when its row goes, so normally it is there
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return err
	}
	if listed && page.Before == 0 {
		d.Sessions = append(d.Sessions, sessionView(this, true))
	}
	rows, err := s.db.UserSessionsPage(ctx, u.ID, sid, page.Before, page.fetch())
	if err != nil {
		return err
	}
	rows, next := cut(page, rows, func(s db.ListedSession) int64 { return s.Seq })
	for _, us := range rows {
		d.Sessions = append(d.Sessions, sessionView(us.UserSession, false))
	}
	d.SessionsPager = pager(r, page, next)
	n, err := s.db.CountUserSessions(ctx, u.ID, views.SessionCountCap+1)
	if err != nil {
		return err
	}
	if listed {
		n--
	}
	d.OtherSessions = n
	return nil
}

func sessionView(us db.UserSession, current bool) views.Session {
	return views.Session{ID: us.ID, Device: us.Device, IP: us.IP, CreatedAt: us.CreatedAt, LastSeenAt: us.LastSeenAt, Current: current}
}

// handleSessionRevoke handles "POST /settings/sessions/{id}/revoke": that
// session stops working on its next request.
func (s *Server) handleSessionRevoke(w http.ResponseWriter, r *http.Request) error {
	sid := r.PathValue("id")
	if len(sid) > 64 {
		return db.ErrNotFound
	}
	if err := s.db.RevokeUserSession(r.Context(), s.currentUser(r).ID, sid); err != nil {
		return err // db.ErrNotFound for someone else's
	}
	if sid == state(r).sid {
		if err := s.sessions.Destroy(r.Context()); err != nil {
			return err
		}
		s.redirect(w, r, "/login", "This session was signed out.")
		return nil
	}
	s.redirect(w, r, "/settings/sessions", "That session was signed out.")
	return nil
}

// handleSessionRevokeOthers handles "POST /settings/sessions/revoke-others".
func (s *Server) handleSessionRevokeOthers(w http.ResponseWriter, r *http.Request) error {
	n, err := s.db.RevokeOtherUserSessions(r.Context(), s.currentUser(r).ID, state(r).sid)
	if err != nil {
		return err
	}
	s.redirect(w, r, "/settings/sessions", "Signed out "+views.OtherSessions(n)+".")
	return nil
}
