package app

import (
	"errors"
	"net/http"

	"skiff/db"
	"skiff/views"
)

// handleDevMail handles "GET /dev/mail": the development mailbox, listing
// the newest mails with their links. 404 unless APP_ENV=development.
func (s *Server) handleDevMail(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.Dev() {
		s.notFound(w, r)
		return
	}
	mails, err := s.db.RecentEmails(r.Context(), 50)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	var items []views.DevMail
	for _, m := range mails {
		items = append(items, views.DevMail{Email: m, Links: linkRE.FindAllString(m.Text, -1)})
	}
	s.render(w, r, http.StatusOK, views.DevMailPage(s.page(r, "Development mailbox"), items))
}

// handleDevMailHTML handles "GET /dev/mail/{id}": one mail's HTML part, as a
// mail client would show it (its inline styles allowed, nothing else).
func (s *Server) handleDevMailHTML(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !s.cfg.Dev() || !ok {
		s.notFound(w, r)
		return
	}
	m, err := s.db.EmailByID(r.Context(), id)
	if errors.Is(err, db.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; form-action 'none'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte(m.HTML))
}
