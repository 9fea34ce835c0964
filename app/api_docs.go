package app

import (
	"net/http"
	"time"

	"skiff/views"
)

// handleAPIDocs handles "GET /api": the JSON API's documentation, a page for
// people (the API itself answers a browser with a 401 in JSON). Its numbers
// are the server's own limits.
func (s *Server) handleAPIDocs(w http.ResponseWriter, r *http.Request) error {
	perMin := s.cfg.Limits.APIPerUser.N * int(time.Minute) / int(s.cfg.Limits.APIPerUser.Per)
	s.render(w, r, http.StatusOK, views.APIDocsPage(s.page(r, "JSON API"), views.APIDocs{
		Origin: s.cfg.Origin(), RequestsPerMin: perMin,
		MaxTokens: s.cfg.Limits.MaxAPITokens, MaxBodyKiB: s.cfg.Limits.MaxFormBytes >> 10,
	}))
	return nil
}
