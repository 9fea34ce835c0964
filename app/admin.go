package app

import (
	"database/sql"
	"errors"
	"net/http"
	"net/url"

	"skiff/db"
	"skiff/views"
)

// adminRoutes registers the founder's admin (ADMIN_EMAILS); admin is
// behind requireAdmin, so everyone else gets a 404.
func (s *Server) adminRoutes(admin group) {
	admin.handle("GET /admin", old(s.handleAdmin))
	admin.handle("POST /admin/users/{id}/disable", old(s.handleAdminDisable(true)))
	admin.handle("POST /admin/users/{id}/enable", old(s.handleAdminDisable(false)))
}

// requireAdmin lets through only users listed in ADMIN_EMAILS whose address
// is verified (else anyone could sign up with a founder's address first).
// Everyone else gets the 404 page: the admin does not exist for them.
func (s *Server) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := s.currentUser(r)
		if u == nil || !u.EmailVerifiedAt.Valid || !s.cfg.AdminEmails[normalizeAdminEmail(u.Email)] {
			s.notFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// handleAdmin handles "GET /admin": users (with search), signups per day,
// active subscriptions by plan and monthly recurring revenue.
func (s *Server) handleAdmin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query().Get("q")
	if len(q) > 254 {
		q = q[:254]
	}
	users, err := s.db.AdminUsers(ctx, q, 200)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	signups, err := s.db.SignupsPerDay(ctx, 14)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	byPlan, err := s.db.ActiveSubscriptionsByPlan(ctx)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	total, err := s.db.CountUsers(ctx)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	data := views.Admin{Self: s.currentUser(r).ID, Query: q, Users: users, Signups: signups, TotalUsers: total}
	for _, p := range s.plans {
		if p.PriceID == "" {
			continue
		}
		n := byPlan[p.ID]
		data.Plans = append(data.Plans, views.AdminPlan{Name: p.Name, Active: n})
		data.MRRCents += n * p.MonthlyCents
	}
	for i := range data.Users {
		data.Users[i].Plan = s.planName(entitledPlan(data.Users[i].SubStatus, data.Users[i].Plan))
	}
	// Customers Stripe bills on a price no plan sells: they get nothing
	// they paid for until the founder acts, so they head the page.
	unknown, err := s.db.LiveSubscriptionsOfPlan(ctx, PlanUnknown, adminUnknownPriceRows+1)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	data.MoreUnknownPrices = len(unknown) > adminUnknownPriceRows
	data.UnknownPrices = unknown[:min(len(unknown), adminUnknownPriceRows)]
	s.render(w, r, http.StatusOK, views.AdminPage(s.page(r, "Admin"), data))
}

// adminUnknownPriceRows caps the admin's list of subscriptions on an unknown
// price; one wrong setting can affect every subscriber.
const adminUnknownPriceRows = 50

// handleAdminDisable handles "POST /admin/users/{id}/disable" and
// "POST /admin/users/{id}/enable" (`q`, the search to go back to). Both end
// the user's sessions. The page offers no Disable on the admin's own row.
func (s *Server) handleAdminDisable(disable bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(r)
		if !ok {
			s.notFound(w, r)
			return
		}
		if !s.parseForm(w, r) {
			return
		}
		if id == s.currentUser(r).ID {
			s.clientError(w, r, http.StatusConflict, "Not your own account", "Ask another admin to disable your account.")
			return
		}
		var email string
		err := s.db.Tx(r.Context(), func(tx *sql.Tx) error {
			q := db.Q(tx)
			u, err := q.UserByID(r.Context(), id)
			if err != nil {
				return err
			}
			email = u.Email
			return s.onDisabled(r.Context(), q, id, disable)
		})
		if errors.Is(err, db.ErrNotFound) {
			s.notFound(w, r)
			return
		}
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		msg := email + " enabled."
		if disable {
			msg = email + " disabled and signed out."
		}
		back := "/admin"
		if q := r.PostForm.Get("q"); q != "" {
			back += "?q=" + url.QueryEscape(q)
		}
		s.redirect(w, r, back, msg)
	}
}
