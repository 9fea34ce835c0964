package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"skiff/assets"
	"skiff/db"
	"skiff/views"
)

// pageRoutes registers the public pages and the dashboard.
func (s *Server) pageRoutes(public, user group) {
	public.handle("GET /{$}", s.handleHome)
	public.handle("GET /api", s.handleAPIDocs)
	public.handle("GET /privacy", s.handlePrivacy)
	public.handle("GET /terms", s.handleTerms)
	user.handle("GET /dashboard", s.handleDashboard)
}

// handleHome handles "GET /{$}", the landing page; its pricing teaser shows
// the plans of billing_plans.go.
func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) error {
	plans := make([]views.PlanCard, 0, len(s.plans))
	for _, p := range s.plans {
		plans = append(plans, views.PlanCard{ID: p.ID, Name: p.Name, PriceLabel: p.PriceLabel, Description: p.Description})
	}
	s.render(w, r, http.StatusOK, views.HomePage(s.page(r, views.ProductTagline), plans))
	return nil
}

// handlePrivacy handles "GET /privacy", a placeholder to replace.
func (s *Server) handlePrivacy(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, views.PrivacyPage(s.page(r, "Privacy policy")))
	return nil
}

// handleTerms handles "GET /terms", a placeholder to replace.
func (s *Server) handleTerms(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, views.TermsPage(s.page(r, "Terms of service")))
	return nil
}

// webManifest is what a phone uses when the site is added to its home screen.
type webManifest struct {
	Name            string         `json:"name"`
	Description     string         `json:"description"`
	StartURL        string         `json:"start_url"`
	Display         string         `json:"display"`
	ThemeColor      string         `json:"theme_color"`
	BackgroundColor string         `json:"background_color"`
	Icons           []manifestIcon `json:"icons"`
}

type manifestIcon struct {
	Src   string `json:"src"`
	Sizes string `json:"sizes"`
	Type  string `json:"type"`
}

// handleManifest handles "GET /manifest.webmanifest": built here rather than
// kept as a file, so the name is views.ProductName and the icons' addresses
// carry their content hashes.
func (s *Server) handleManifest(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/manifest+json")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	err := json.NewEncoder(w).Encode(webManifest{
		Name: views.ProductName, Description: views.ProductDescription, StartURL: "/", Display: "standalone",
		ThemeColor: views.ThemeColor, BackgroundColor: "#ffffff",
		Icons: []manifestIcon{
			{Src: assets.URL("icon-192.png"), Sizes: "192x192", Type: "image/png"},
			{Src: assets.URL("icon-512.png"), Sizes: "512x512", Type: "image/png"},
		},
	})
	if err != nil {
		// Logged only: the response has begun (the client went away).
		s.log.Debug("manifest not sent", "err", err, "request_id", state(r).id)
	}
}

// handleDashboard handles "GET /dashboard".
func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request) error {
	// It opens in the team whose pages the user visited last.
	if st := state(r); st.lastTeam != 0 && st.lastTeam != st.team.TeamID() {
		if err := s.actIn(r, st.lastTeam); err != nil && !errors.Is(err, db.ErrNotFound) {
			return err
		}
	}
	u, o := s.currentUser(r), s.pageOwner(r)
	recent, used, err := s.db.RecentProjects(r.Context(), o.Team, 5, views.ProjectCountCap)
	if err != nil {
		return err
	}
	d := views.Dashboard{Verified: u.EmailVerifiedAt.Valid, Quota: s.quotaView(o, used), Recent: projectViews(recent)}
	s.render(w, r, http.StatusOK, views.DashboardPage(s.page(r, "Dashboard"), d))
	return nil
}

// handleReadyz handles "GET /readyz": 200 when the database takes writes and
// every migration is applied, else 503 (for load balancers and deploy
// scripts); 503 "draining" too once the server is stopping (DRAIN_DELAY).
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		s.probeAnswer(w, r, http.StatusServiceUnavailable, "draining")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	pending, err := s.db.PendingMigrations(ctx)
	if err == nil && len(pending) > 0 {
		err = fmt.Errorf("%d migration(s) pending", len(pending))
	}
	if err == nil {
		err = s.db.CheckWritable(ctx)
	}
	if err != nil {
		s.log.Error("readiness check", "err", err, "request_id", state(r).id)
		s.probeAnswer(w, r, http.StatusServiceUnavailable, "not ready")
		return
	}
	s.probeAnswer(w, r, http.StatusOK, "ready")
}

// handleHealthz handles "GET /healthz": 200 when the database answers, 503 when not.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		s.log.Error("health check", "err", err, "request_id", state(r).id)
		s.probeAnswer(w, r, http.StatusServiceUnavailable, "unavailable")
		return
	}
	s.probeAnswer(w, r, http.StatusOK, "ok")
}

// probeAnswer writes a probe's answer, {"status": status}.
func (s *Server) probeAnswer(w http.ResponseWriter, r *http.Request, code int, status string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if _, err := io.WriteString(w, `{"status":"`+status+`"}`+"\n"); err != nil {
		// Logged only: the status line is out, and a prober that missed
		// the body counts the check as failed on its own.
		s.log.Debug("probe answer not sent", "err", err, "request_id", state(r).id)
	}
}
