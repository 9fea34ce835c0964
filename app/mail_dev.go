package app

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"skiff/db"
	"skiff/views"
)

// devMailRoutes registers the dev mailbox (only answers in development).
func (s *Server) devMailRoutes(public group) {
	public.handle("GET /dev/mail", s.handleDevMail)
	public.handle("GET /dev/mail/{id}", s.handleDevMailHTML)
}

// devMailboxOpen reports whether this request may see the development
// mailbox. Its mail holds live links (a password reset, a magic link), so it
// answers only when all of these hold: APP_ENV=development; no SMTP_URL, so
// the development mailbox is the mailer; the TCP peer is on this machine; and
// the request carries no header a reverse proxy adds; and it names this
// machine (Host is localhost, a loopback address or BASE_URL's host). A proxy
// on the same machine connects from loopback for every visitor: its headers
// are the only way to tell. A web page on another name that resolves to
// 127.0.0.1 (DNS rebinding) reaches it from the developer's own browser: its
// Host gives it away. Anyone else gets the 404 of a route that does not exist.
func (s *Server) devMailboxOpen(r *http.Request) bool {
	if !s.cfg.Dev() || s.cfg.SMTPURL != nil || s.devMail == nil {
		return false
	}
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip", "X-Forwarded-Host", "X-Forwarded-Proto", "Via"} {
		if len(r.Header.Values(h)) > 0 {
			return false
		}
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	local := strings.EqualFold(host, "localhost") || (err == nil && ip.IsLoopback()) || strings.EqualFold(host, s.cfg.BaseURL.Hostname())
	return local && isLoopback(r.RemoteAddr)
}

// handleDevMail handles "GET /dev/mail": the development mailbox, listing
// the newest mails with their links.
func (s *Server) handleDevMail(w http.ResponseWriter, r *http.Request) error {
	if !s.devMailboxOpen(r) {
		return db.ErrNotFound
	}
	var items []views.DevMail
	for _, m := range s.devMail.recent() {
		items = append(items, views.DevMail{
			ID: m.ID, To: m.To, Subject: m.Subject, Text: m.Text, SentAt: m.SentAt,
			Links: linkRE.FindAllString(m.Text, -1),
		})
	}
	s.render(w, r, http.StatusOK, views.DevMailPage(s.page(r, "Development mailbox"), items))
	return nil
}

// handleDevMailHTML handles "GET /dev/mail/{id}": one mail's HTML part, as a
// mail client would show it (its inline styles allowed, nothing else).
func (s *Server) handleDevMailHTML(w http.ResponseWriter, r *http.Request) error {
	if !s.devMailboxOpen(r) {
		return db.ErrNotFound
	}
	id, err := idParam(r)
	if err != nil {
		return err
	}
	m, ok := s.devMail.byID(id)
	if !ok {
		return db.ErrNotFound
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; form-action 'none'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write([]byte(m.HTML))
	return err // the response has begun: the adapter can only log it
}
