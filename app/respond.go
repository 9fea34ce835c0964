package app

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/a-h/templ"

	"skiff/db"
	"skiff/views"
)

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render writes component c as a complete HTML response with status. It
// renders into a buffer first, so a failing template gives a clean error page
// instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := c.Render(r.Context(), buf); err != nil {
		s.serverError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// page returns the layout data for this request: the user, the path, the
// site's address, whether billing is on, and the flash message (removed from
// the session as it is shown).
func (s *Server) page(r *http.Request, title string) views.Page {
	p := views.Page{Title: title, Path: r.URL.Path, BaseURL: s.cfg.Origin(), Billing: s.stripe != nil, Passkeys: s.webauthn != nil}
	st := state(r)
	if st.sessionLoaded {
		p.User = userView(st.user)
		if st.user != nil {
			p.Plan = s.plan(st.plan).Name
			p.Admin = st.user.EmailVerifiedAt.Valid && s.cfg.AdminEmails[normalizeAdminEmail(st.user.Email)]
			p.Team = s.teamView(r)
			// The menu's Billing: the team's, for those the permission
			// table lets see it, else the user's own.
			p.BillingURL = "/billing"
			if !p.Team.Personal && allowed(p.Team.Role, "billing.view") {
				p.BillingURL = views.BillingURL(p.Team.ID)
			}
		}
		p.Flash = s.sessions.PopString(r.Context(), sessionFlash)
	}
	return p
}

// userView is the user as the pages show them; nil for nobody.
func userView(u *db.User) *views.User {
	if u == nil {
		return nil
	}
	return &views.User{ID: u.ID, Email: u.Email, DisplayName: u.DisplayName,
		Verified: u.EmailVerifiedAt.Valid, CreatedAt: u.CreatedAt}
}

// redirect answers 303 See Other to a local path, leaving flash (when not
// empty) for the next page to show.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, path, flash string) {
	if flash != "" {
		s.sessions.Put(r.Context(), sessionFlash, flash)
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// errorPage renders the friendly page for status with the standard wording.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int) {
	title, msg := errorText(status)
	s.clientError(w, r, status, title, msg)
}

// clientError renders a 4xx page with a specific title and message.
func (s *Server) clientError(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	s.render(w, r, status, views.ErrorPage(s.page(r, title), views.ErrorInfo{Status: status, Title: title, Message: msg}))
}

// notFound renders the 404 page. Another user's records get it too, so their
// existence is not revealed.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.errorPage(w, r, http.StatusNotFound)
}

// tooManyRequests renders the 429 page with Retry-After.
func (s *Server) tooManyRequests(w http.ResponseWriter, r *http.Request, retryAfter time.Duration) {
	secs := retryAfterSeconds(retryAfter)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	wait := "a minute"
	if secs > 90 {
		wait = strconv.Itoa((secs+59)/60) + " minutes"
	} else if secs < 50 {
		wait = strconv.Itoa(secs) + " seconds"
	}
	s.clientError(w, r, http.StatusTooManyRequests, "Too many attempts",
		"For your security we limit how often this can be tried. Please wait "+wait+" and try again.")
}

// serverError logs err with the request id and route and shows a friendly
// 500 page. The user never sees err itself.
func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("server error", "err", err, "request_id", state(r).id, "method", r.Method, "path", r.URL.Path, "route", r.Pattern)
	title, msg := errorText(http.StatusInternalServerError)
	p := views.Page{Title: title, User: userView(state(r).user)}
	buf := new(bytes.Buffer)
	if rerr := views.ErrorPage(p, views.ErrorInfo{Status: 500, Title: title, Message: msg}).Render(r.Context(), buf); rerr != nil {
		http.Error(w, msg, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusInternalServerError)
	w.Write(buf.Bytes())
}

func errorText(status int) (title, message string) {
	switch status {
	case http.StatusBadRequest:
		return "Bad request", "We could not understand that request. Please go back and try again."
	case http.StatusForbidden:
		return "Forbidden", "This request was refused. If you submitted a form from another site, open " + views.ProductName + " directly and try again."
	case http.StatusNotFound:
		return "Page not found", "There is nothing here. The link may be broken, or the page may have been removed."
	case http.StatusMethodNotAllowed:
		return "Method not allowed", "This address does not accept that kind of request."
	case http.StatusRequestEntityTooLarge:
		return "Request too large", "What you sent is larger than we accept. Please send something smaller."
	case http.StatusInternalServerError:
		return "Something went wrong", "We hit an unexpected error and have logged it. Please try again in a moment."
	}
	return http.StatusText(status), "The request could not be completed."
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
