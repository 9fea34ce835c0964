package app

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"

	"skiff/db"
	"skiff/views"
)

// reauthWindow is how recent a login must be to delete an account without
// typing a password (for accounts that have none).
const reauthWindow = 10 * time.Minute

// handleSettingsData handles "GET /settings/data": downloading your data,
// and deleting the account.
func (s *Server) handleSettingsData(w http.ResponseWriter, r *http.Request) {
	s.renderData(w, r, http.StatusOK, views.SettingsData{})
}

// renderData shows the "Data and deletion" page with the deletion form in d.
func (s *Server) renderData(w http.ResponseWriter, r *http.Request, status int, d views.SettingsData) {
	d.Account = account(s.currentUser(r))
	s.render(w, r, status, views.SettingsDataPage(s.settingsPage(r, views.SectionData), d))
}

// handleExport handles "GET /settings/export": the user's data as JSON.
func (s *Server) handleExport(w http.ResponseWriter, r *http.Request) {
	e, err := s.db.ExportUser(r.Context(), s.currentUser(r).ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	b, err := json.MarshalIndent(struct {
		ExportedAt string `json:"exported_at"`
		db.Export
	}{time.Now().UTC().Format(time.RFC3339), e}, "", "  ")
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="skiff-export.json"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(append(b, '\n'))
}

// handleDeleteAccount handles "POST /settings/delete" (`delete_password`,
// or a login in the last ten minutes for accounts without a password): cancel
// any Stripe subscription, delete every row of the user, end every session,
// mail a goodbye, and log out.
func (s *Server) handleDeleteAccount(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	u := s.currentUser(r)
	msg, ok := s.reauthenticate(w, r, u, r.PostForm.Get("delete_password"))
	if !ok {
		return
	}
	if msg != "" {
		if u.PasswordHash == "" {
			s.clientError(w, r, http.StatusForbidden, "Please log in again", msg)
			return
		}
		s.renderData(w, r, http.StatusUnprocessableEntity, views.SettingsData{DeleteForm: views.Form{Errors: map[string]string{"delete_password": msg}}})
		return
	}
	// Stop the billing first: never delete someone who would go on paying.
	if sub := state(r).sub; sub != nil && liveStatus(sub.Status) && s.stripe != nil {
		params := &stripe.SubscriptionCancelParams{}
		params.Context = ctx
		if _, err := s.stripe.Subscriptions.Cancel(sub.ID, params); err != nil {
			s.paymentProviderError(w, r, err)
			return
		}
	}
	err := s.userTx(r, func(q db.Queries) error { return s.onDeleted(ctx, q, *u) })
	if err != nil {
		s.userTxError(w, r, err)
		return
	}
	s.outbox.notify()
	if err := s.sessions.Destroy(ctx); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.redirect(w, r, "/", "Your account and its data have been deleted. Goodbye!")
}
