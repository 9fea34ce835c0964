package app

import (
	"net/http"

	"skiff/views"
)

// handleDevMail handles "GET /dev/mail": the development mailbox, listing
// the newest mails with their links. 404 unless APP_ENV=development and the
// development mailbox is the mailer.
func (s *Server) handleDevMail(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.Dev() || s.devMail == nil {
		s.notFound(w, r)
		return
	}
	var items []views.DevMail
	for _, m := range s.devMail.recent() {
		items = append(items, views.DevMail{
			ID: m.ID, To: m.To, Subject: m.Subject, Text: m.Text, SentAt: m.SentAt,
			Links: linkRE.FindAllString(m.Text, -1),
		})
	}
	s.render(w, r, http.StatusOK, views.DevMailPage(s.page(r, "Development mailbox"), items))
}

// handleDevMailHTML handles "GET /dev/mail/{id}": one mail's HTML part, as a
// mail client would show it (its inline styles allowed, nothing else).
func (s *Server) handleDevMailHTML(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !s.cfg.Dev() || s.devMail == nil || !ok {
		s.notFound(w, r)
		return
	}
	m, ok := s.devMail.byID(id)
	if !ok {
		s.notFound(w, r)
		return
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; form-action 'none'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte(m.HTML))
}
