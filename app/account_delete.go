package app

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"skiff/db"
	"skiff/views"
)

// handleDataExport handles "GET /settings/export": the user's data as JSON.
func (s *Server) handleDataExport(w http.ResponseWriter, r *http.Request) error {
	e, err := s.db.ExportUser(r.Context(), s.currentUser(r).ID)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(struct {
		ExportedAt string `json:"exported_at"`
		db.Export
	}{time.Now().UTC().Format(time.RFC3339), e}, "", "  ")
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="skiff-export.json"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(append(b, '\n'))
	return nil
}

// handleAccountDelete handles "POST /settings/delete" (`delete_password`,
// or a login in the last ten minutes for accounts without a password): cancel
// any Stripe subscription, delete every row of the user, end every session,
// mail a goodbye, and log out.
func (s *Server) handleAccountDelete(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(r); err != nil {
		return err
	}
	ctx := r.Context()
	u := s.currentUser(r)
	msg, err := s.reauthenticate(r, u, r.PostForm.Get("delete_password"))
	if err != nil {
		return err
	}
	if msg != "" {
		if u.PasswordHash == "" {
			return &clientError{Status: http.StatusForbidden, Code: "reauthenticate", Title: "Please log in again", Message: msg}
		}
		return s.renderSettings(w, r, http.StatusUnprocessableEntity, views.SectionData,
			views.Settings{DeleteForm: views.Form{Errors: map[string]string{"delete_password": msg}}})
	}
	// A team with other members would go with its owner: it is handed over
	// (or its members removed) first. Checked again as the account is deleted.
	shared, err := s.db.SharedTeamsOwned(ctx, u.ID)
	if err != nil {
		return err
	}
	if len(shared) > 0 {
		return s.refuseDeletion(w, r, shared)
	}
	// Stop the billing of every team that goes with the account (their
	// personal team, and teams they own alone) first: never delete a
	// team that would go on paying.
	owned, err := s.db.OwnedTeamIDs(ctx, u.ID)
	if err != nil {
		return err
	}
	for _, team := range owned {
		if err := s.stopTeamBilling(r, team); err != nil {
			return err
		}
	}
	// The paying teams they are a member of bill one seat fewer.
	paying, err := s.db.PayingTeamsOf(ctx, u.ID)
	if err != nil {
		return err
	}
	err = s.userTx(r, func(q db.Queries) error { return s.onDeleted(ctx, q, *u) })
	if errors.Is(err, db.ErrOwnsSharedTeam) {
		shared, _ = s.db.SharedTeamsOwned(ctx, u.ID)
		return s.refuseDeletion(w, r, shared)
	}
	if err != nil {
		return s.userTxFailed(w, r, err)
	}
	s.outbox.notify()
	s.seatsChanged(paying...)
	if err := s.sessions.Destroy(ctx); err != nil {
		return err
	}
	s.redirect(w, r, "/", "Your account and its data have been deleted. Goodbye!")
	return nil
}

// refuseDeletion shows the data page again, saying which teams stand in the
// way: 409, the account as it was.
func (s *Server) refuseDeletion(w http.ResponseWriter, r *http.Request, teams []string) error {
	msg := "You own teams with other members: " + strings.Join(teams, ", ") +
		". Transfer each to one of its members, or remove them, before you delete your account. Nothing was deleted."
	if len(teams) == 1 {
		msg = "You own the team " + teams[0] + ", which has other members. Transfer it to one of them, or remove them, " +
			"before you delete your account. Nothing was deleted."
	}
	return s.renderSettings(w, r, http.StatusConflict, views.SectionData, views.Settings{DeleteForm: views.Form{Error: msg}})
}
