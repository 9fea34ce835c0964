package app

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"skiff/db"
	"skiff/views"
)

// adminRoutes registers the founder's admin (ADMIN_EMAILS); admin is
// behind requireAdmin, so everyone else gets a 404.
func (s *Server) adminRoutes(admin group) {
	admin.handle("GET /admin", s.handleAdminPage)
	admin.handle("GET /admin/teams", s.handleAdminTeams)
	admin.handle("POST /admin/users/{id}/disable", s.handleAdminUserDisable)
	admin.handle("POST /admin/users/{id}/enable", s.handleAdminUserEnable)
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

// Every part of the admin page reads through an index and stops at a
// limit, so it costs the same with 200 users or 200,000: the user list is a
// page at a time, a search finds addresses by their beginning (the email's
// index) or a user by id, and the figures come from counts that triggers
// keep (migration 0012).

const (
	adminSignupDays = 14 // the signups table covers this many days
	// adminUnknownPriceRows caps the admin's list of subscriptions on an
	// unknown price; one wrong setting can affect every subscriber.
	adminUnknownPriceRows = 50
	maxAdminSearch        = 254 // the longest address there can be
)

// handleAdminPage handles "GET /admin" (`q` a search, `cursor` and `limit`
// the page): a page of users, signups per day, active subscriptions by plan
// and monthly recurring revenue.
func (s *Server) handleAdminPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	page, err := readPage(r, widePageSize)
	if err != nil {
		return err
	}
	search := adminSearch(r.URL.Query().Get("q"))
	users, next, err := s.adminUsers(ctx, search, page)
	if err != nil {
		return err
	}
	data := views.Admin{Self: s.currentUser(r).ID, Search: search, Users: users, Pager: pager(r, page, next),
		Cursor: r.URL.Query().Get("cursor")}
	if err := s.adminFigures(ctx, &data); err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, views.AdminPage(s.page(r, "Admin"), data))
	return nil
}

// handleAdminTeams handles "GET /admin/teams" (cursor): the teams people
// share, the newest first, with their owner, members, plan, seats and
// monthly revenue.
func (s *Server) handleAdminTeams(w http.ResponseWriter, r *http.Request) error {
	page, err := readPage(r, widePageSize)
	if err != nil {
		return err
	}
	rows, err := s.db.AdminTeams(r.Context(), page.Before, page.fetch())
	if err != nil {
		return err
	}
	rows, next := cut(page, rows, func(t db.AdminTeam) int64 { return t.ID })
	data := views.AdminTeams{Pager: pager(r, page, next)}
	for _, t := range rows {
		plan := entitledPlan(t.Status, t.Plan)
		v := views.AdminTeam{ID: t.ID, Name: t.Name, OwnerEmail: t.OwnerEmail, Members: t.Members,
			MembersCapped: t.Members >= db.AdminMemberCountCap, Plan: s.planName(plan), Status: t.Status, CreatedAt: t.CreatedAt}
		if plan != PlanFree {
			v.Seats = t.Seats
			v.MRRCents = int(t.Seats) * s.plan(plan).MonthlyCents
		}
		data.Teams = append(data.Teams, v)
	}
	s.render(w, r, http.StatusOK, views.AdminTeamsPage(s.page(r, "Teams · Admin"), data))
	return nil
}

// adminSearch is the search as it is matched: lower case (as addresses are
// stored), without surrounding spaces, no longer than an address.
func adminSearch(q string) string {
	q = strings.ToLower(strings.TrimSpace(q))
	if len(q) > maxAdminSearch {
		q = q[:maxAdminSearch]
	}
	return q
}

// adminUsers returns a page of the user list and the cursor of the next
// page. Without a search: every user, the newest first. With one: the users
// whose address starts with it, in the order of the addresses, after the
// user whose id it is (on the first page), if any.
func (s *Server) adminUsers(ctx context.Context, search string, page pageRequest) ([]views.AdminUser, string, error) {
	if search == "" {
		rows, err := s.db.AdminUsersNewest(ctx, page.Before, page.fetch())
		if err != nil {
			return nil, "", err
		}
		rows, next := cut(page, rows, func(u db.AdminUser) int64 { return u.ID })
		return s.adminUserViews(rows), next, nil
	}
	// A search's page goes on from the address of the cursor's user.
	var after string
	if page.Before != 0 {
		u, err := s.db.UserByID(ctx, page.Before)
		if errors.Is(err, db.ErrNotFound) {
			return nil, "", badRequest("bad_cursor", "This page of the search is gone: the user it went on from was deleted. Start again from the first page.")
		}
		if err != nil {
			return nil, "", err
		}
		after = u.Email
	}
	rows, err := s.db.AdminUsersByEmail(ctx, search, after, page.fetch())
	if err != nil {
		return nil, "", err
	}
	rows, next := cut(page, rows, func(u db.AdminUser) int64 { return u.ID })
	if id, err := strconv.ParseInt(search, 10, 64); err == nil && id > 0 && page.Before == 0 {
		byID, err := s.db.AdminUserByID(ctx, id)
		switch {
		case err == nil && !strings.HasPrefix(byID.Email, search): // else it is in rows already
			rows = append([]db.AdminUser{byID}, rows...)
		case err != nil && !errors.Is(err, db.ErrNotFound):
			return nil, "", err
		}
	}
	return s.adminUserViews(rows), next, nil
}

func (s *Server) adminUserViews(rows []db.AdminUser) []views.AdminUser {
	out := make([]views.AdminUser, len(rows))
	for i, u := range rows {
		out[i] = views.AdminUser{ID: u.ID, Email: u.Email, CreatedAt: u.CreatedAt, Verified: u.Verified,
			LastSeen: u.LastSeen.Time, Disabled: u.Disabled, Plan: s.planName(entitledPlan(u.SubStatus, u.Plan))}
	}
	return out
}

// adminFigures fills in the admin's figures: users, signups per day,
// subscriptions by plan, the monthly revenue, and the subscriptions on a
// price no plan sells.
func (s *Server) adminFigures(ctx context.Context, data *views.Admin) error {
	total, err := s.db.TotalUsers(ctx)
	if err != nil {
		return err
	}
	data.TotalUsers = total
	signups, err := s.db.SignupsSince(ctx, time.Now().AddDate(0, 0, -adminSignupDays))
	if err != nil {
		return err
	}
	for _, d := range signups {
		data.Signups = append(data.Signups, views.DayCount{Day: d.Day, Count: d.Count})
	}
	byPlan, err := s.db.EntitledSubscriptionsByPlan(ctx)
	if err != nil {
		return err
	}
	for _, p := range s.plans {
		if p.PriceID == "" {
			continue
		}
		n := byPlan[p.ID]
		data.Plans = append(data.Plans, views.AdminPlan{Name: p.Name, Active: n.Subscriptions, Seats: n.Seats})
		data.MRRCents += n.Seats * p.MonthlyCents // per seat
	}
	// Customers Stripe bills on a price no plan sells: they get nothing
	// they paid for until the founder acts, so they head the page.
	unknown, err := s.db.LiveSubscriptionsOfPlan(ctx, PlanUnknown, adminUnknownPriceRows+1)
	if err != nil {
		return err
	}
	data.MoreUnknownPrices = len(unknown) > adminUnknownPriceRows
	for _, u := range unknown[:min(len(unknown), adminUnknownPriceRows)] {
		data.UnknownPrices = append(data.UnknownPrices, views.AdminSubscription{ID: u.ID, Email: u.Email,
			PriceID: u.PriceID, Status: u.Status, UpdatedAt: u.UpdatedAt})
	}
	return nil
}

// handleAdminUserDisable handles "POST /admin/users/{id}/disable": the user
// is signed out everywhere and cannot log in until enabled again.
func (s *Server) handleAdminUserDisable(w http.ResponseWriter, r *http.Request) error {
	return s.setUserDisabled(w, r, true)
}

// handleAdminUserEnable handles "POST /admin/users/{id}/enable".
func (s *Server) handleAdminUserEnable(w http.ResponseWriter, r *http.Request) error {
	return s.setUserDisabled(w, r, false)
}

// setUserDisabled disables or enables the user of the path, ending their
// sessions either way, and goes back to the admin's page of the form
// (`q`, `cursor`). The page offers no Disable on the admin's own row.
func (s *Server) setUserDisabled(w http.ResponseWriter, r *http.Request, disabled bool) error {
	id, err := idParam(r)
	if err != nil {
		return err
	}
	if err := readForm(r); err != nil {
		return err
	}
	if id == s.currentUser(r).ID {
		return &clientError{Status: http.StatusConflict, Code: "own_account", Title: "Not your own account",
			Message: "Ask another admin to disable your account."}
	}
	var email string
	err = s.db.Tx(r.Context(), func(q db.Queries) error {
		u, err := q.UserByID(r.Context(), id)
		if err != nil {
			return err
		}
		email = u.Email
		return s.onDisabled(r.Context(), q, id, disabled)
	})
	if err != nil {
		return err // db.ErrNotFound: no such user
	}
	msg := email + " enabled."
	if disabled {
		msg = email + " disabled and signed out."
	}
	s.redirect(w, r, adminBack(r.PostForm.Get("q"), r.PostForm.Get("cursor")), msg)
	return nil
}

// adminBack is the admin's page of a search and a cursor.
func adminBack(search, cursor string) string {
	q := url.Values{}
	if search = adminSearch(search); search != "" {
		q.Set("q", search)
	}
	if n, err := strconv.ParseInt(cursor, 10, 64); err == nil && n > 0 {
		q.Set("cursor", cursor)
	}
	if len(q) == 0 {
		return "/admin"
	}
	return "/admin?" + q.Encode()
}
