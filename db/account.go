package db

import (
	"context"
	"errors"
	"strconv"
)

// Export is everything Skiff keeps about one user, for GET /settings/export.
type Export struct {
	Account struct {
		ID          int64  `json:"id"`
		Email       string `json:"email"`
		DisplayName string `json:"display_name"`
		Verified    bool   `json:"email_verified"`
		CreatedAt   string `json:"created_at"`
	} `json:"account"`
	Identities     []ExportIdentity     `json:"connected_accounts"`
	Passkeys       []ExportPasskey      `json:"passkeys"`
	Teams          []ExportTeam         `json:"teams"`
	Projects       []ExportProject      `json:"projects"`      // the personal team's
	Subscriptions  []ExportSubscription `json:"subscriptions"` // the personal team's
	StripeCustomer string               `json:"stripe_customer,omitempty"`
}

// ExportIdentity is a linked provider account in an export.
type ExportIdentity struct {
	Provider  string `json:"provider"`
	Email     string `json:"email"`
	CreatedAt string `json:"connected_at"`
}

// ExportPasskey is a passkey in an export: its name and dates, no key.
type ExportPasskey struct {
	Name       string `json:"name"`
	Synced     bool   `json:"synced"`
	CreatedAt  string `json:"created_at"`
	LastUsedAt string `json:"last_used_at,omitempty"`
}

// ExportTeam is a team the user belongs to, in an export.
type ExportTeam struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Personal  bool   `json:"personal"`
	Role      string `json:"role"`
	CreatedAt string `json:"created_at"`
}

// ExportProject is a project in an export.
type ExportProject struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	CreatedAt string `json:"created_at"`
}

// ExportSubscription is a subscription in an export.
type ExportSubscription struct {
	ID                string `json:"id"`
	Plan              string `json:"plan"`
	Status            string `json:"status"`
	Seats             int64  `json:"seats"`
	CurrentPeriodEnd  string `json:"current_period_end,omitempty"`
	CancelAtPeriodEnd bool   `json:"cancel_at_period_end"`
}

const exportTime = "2006-01-02T15:04:05Z07:00"

// ExportUser gathers the user's data; every query is scoped to userID.
func (q Queries) ExportUser(ctx context.Context, userID int64) (Export, error) {
	var e Export
	u, err := q.UserByID(ctx, userID)
	if err != nil {
		return e, err
	}
	e.Account.ID, e.Account.Email, e.Account.Verified, e.Account.DisplayName = u.ID, u.Email, u.EmailVerifiedAt.Valid, u.DisplayName
	e.Account.CreatedAt = u.CreatedAt.UTC().Format(exportTime)
	e.Identities, e.Projects, e.Subscriptions = []ExportIdentity{}, []ExportProject{}, []ExportSubscription{}
	ids, err := q.Identities(ctx, userID)
	if err != nil {
		return e, err
	}
	for _, i := range ids {
		e.Identities = append(e.Identities, ExportIdentity{Provider: i.Provider, Email: i.Email, CreatedAt: i.CreatedAt.UTC().Format(exportTime)})
	}
	keys, err := q.Passkeys(ctx, userID)
	if err != nil {
		return e, err
	}
	e.Passkeys = []ExportPasskey{}
	for _, k := range keys {
		ep := ExportPasskey{Name: k.Name, Synced: k.BackupEligible, CreatedAt: k.CreatedAt.UTC().Format(exportTime)}
		if k.LastUsedAt.Valid {
			ep.LastUsedAt = k.LastUsedAt.Time.UTC().Format(exportTime)
		}
		e.Passkeys = append(e.Passkeys, ep)
	}
	e.Teams = []ExportTeam{}
	for before := int64(0); ; { // every team, a page at a time
		teams, err := q.Teams(ctx, userID, before, 1000)
		if err != nil {
			return e, err
		}
		for _, t := range teams {
			e.Teams = append(e.Teams, ExportTeam{ID: t.ID, Name: t.Name, Personal: t.Personal, Role: t.Role, CreatedAt: t.CreatedAt.UTC().Format(exportTime)})
		}
		if len(teams) < 1000 {
			break
		}
		before = teams[len(teams)-1].ID
	}
	// The personal team's projects and billing (a shared team's are in
	// its own export).
	personal, err := q.PersonalScope(ctx, userID)
	if err != nil {
		return e, err
	}
	if e.Projects, err = q.exportProjects(ctx, personal); err != nil {
		return e, err
	}
	e.Subscriptions, e.StripeCustomer, err = q.exportBilling(ctx, personal.team)
	return e, err
}

// teamExportCoverage names every table with a team_id column, a team's
// resources: the key of the team's export (TeamExport) its rows appear
// under, or why they are left out. TestEveryTeamTableIsExported checks it
// as TestEveryOwnedTableIsExported checks exportCoverage, and that deleting
// a team takes the rows along.
var teamExportCoverage = map[string]string{
	"projects":          "projects",
	"memberships":       "members",
	"subscriptions":     "subscriptions",
	"billing_customers": "stripe_customer",
	"audit_log":         "audit_log",
	"api_tokens":        "not exported: token hashes, listed with names and dates on their maker's Settings → API tokens",
	"invitations":       "not exported: a team's pending invitations (addresses of people not in it), listed on its members page",
}

// TeamExport is everything Skiff keeps about one team, for its owner and
// admins (GET /t/{team}/export).
type TeamExport struct {
	Team struct {
		ID        int64  `json:"id"`
		Name      string `json:"name"`
		Personal  bool   `json:"personal"`
		CreatedAt string `json:"created_at"`
	} `json:"team"`
	Members        []ExportMember       `json:"members"`
	Projects       []ExportProject      `json:"projects"`
	Subscriptions  []ExportSubscription `json:"subscriptions"`
	StripeCustomer string               `json:"stripe_customer,omitempty"`
	AuditLog       []ExportAuditEntry   `json:"audit_log"`
}

// ExportMember is a member in a team's export.
type ExportMember struct {
	UserID   int64  `json:"user_id"`
	Email    string `json:"email"`
	Name     string `json:"display_name"`
	Role     string `json:"role"`
	JoinedAt string `json:"joined_at"`
}

// ExportAuditEntry is a line of the audit log in a team's export.
type ExportAuditEntry struct {
	At      string `json:"at"`
	ActorID int64  `json:"actor_id,omitempty"`
	Actor   string `json:"actor"`
	Action  string `json:"action"`
	Subject string `json:"subject,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// ExportTeam gathers the scope's team's data, every list read a page at a
// time. Every query is scoped to the team.
func (q Queries) ExportTeam(ctx context.Context, sc Scope) (TeamExport, error) {
	var e TeamExport
	_, t, err := q.Membership(ctx, sc.user, sc.team)
	if err != nil {
		return e, err
	}
	e.Team.ID, e.Team.Name, e.Team.Personal, e.Team.CreatedAt = t.ID, t.Name, t.Personal, t.CreatedAt.UTC().Format(exportTime)
	e.Members, e.Projects, e.Subscriptions, e.AuditLog = []ExportMember{}, []ExportProject{}, []ExportSubscription{}, []ExportAuditEntry{}
	const page = 1000
	for before := int64(0); ; {
		members, err := q.Members(ctx, sc, before, page)
		if err != nil {
			return e, err
		}
		for _, m := range members {
			e.Members = append(e.Members, ExportMember{UserID: m.UserID, Email: m.Email, Name: m.DisplayName, Role: m.Role,
				JoinedAt: m.JoinedAt.UTC().Format(exportTime)})
		}
		if len(members) < page {
			break
		}
		before = members[len(members)-1].UserID
	}
	if e.Projects, err = q.exportProjects(ctx, sc); err != nil {
		return e, err
	}
	if e.Subscriptions, e.StripeCustomer, err = q.exportBilling(ctx, sc.team); err != nil {
		return e, err
	}
	for before := int64(0); ; {
		lines, err := q.AuditLog(ctx, sc, before, page)
		if err != nil {
			return e, err
		}
		for _, l := range lines {
			e.AuditLog = append(e.AuditLog, ExportAuditEntry{At: l.CreatedAt.UTC().Format(exportTime), ActorID: l.ActorID,
				Actor: l.Actor, Action: l.Action, Subject: l.Subject, Detail: l.Detail})
		}
		if len(lines) < page {
			break
		}
		before = lines[len(lines)-1].ID
	}
	return e, nil
}

// exportProjects is every project of the scope's team, a page at a time.
func (q Queries) exportProjects(ctx context.Context, sc Scope) ([]ExportProject, error) {
	out := []ExportProject{}
	for before := int64(0); ; {
		projects, err := q.Projects(ctx, sc, before, 1000)
		if err != nil {
			return nil, err
		}
		for _, p := range projects {
			out = append(out, ExportProject{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt.UTC().Format(exportTime)})
		}
		if len(projects) < 1000 {
			return out, nil
		}
		before = projects[len(projects)-1].ID
	}
}

// exportBilling is teamID's subscriptions and Stripe customer ("" for none).
func (q Queries) exportBilling(ctx context.Context, teamID int64) ([]ExportSubscription, string, error) {
	subs, err := q.Subscriptions(ctx, teamID)
	if err != nil {
		return nil, "", err
	}
	out := []ExportSubscription{}
	for _, s := range subs {
		es := ExportSubscription{ID: s.ID, Plan: s.Plan, Status: s.Status, Seats: s.Quantity, CancelAtPeriodEnd: s.CancelAtPeriodEnd}
		if s.CurrentPeriodEnd.Valid {
			es.CurrentPeriodEnd = s.CurrentPeriodEnd.Time.UTC().Format(exportTime)
		}
		out = append(out, es)
	}
	customer, err := q.CustomerID(ctx, teamID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, "", err
	}
	return out, customer, nil
}

// exportCoverage names every table with a user_id column: the key of the
// export its rows appear under, or why they are left out. A table added
// without a line here fails TestEveryOwnedTableIsExported: a new resource
// must decide, and the data export is the easy one to forget.
var exportCoverage = map[string]string{
	"memberships":    "teams",
	"identities":     "connected_accounts",
	"passkeys":       "passkeys",
	"user_sessions":  "not exported: the devices and addresses of logins, shown on Settings → Sessions",
	"known_devices":  "not exported: hashes that tell a new device from a known one, meaningless to read",
	"api_tokens":     "not exported: token hashes, listed with names and dates on Settings → API tokens",
	"recovery_codes": "not exported: hashes of two-factor recovery codes, secrets",
	"tokens":         "not exported: hashes of mailed links, secrets that expire within days",
}

// DeleteUser removes the user and, through foreign keys, the teams they own
// with their projects, their memberships,
// tokens, identities, Stripe customer link and subscriptions; their sessions
// (found by the user id inside the session data) and the mail already sent to
// them, half-done two-factor logins included. Stripe's event log is kept.
// All of it commits together. An account that owns a team with other
// members is not deleted: ErrOwnsSharedTeam.
func (q Queries) DeleteUser(ctx context.Context, id int64, email string) error {
	return q.atomic(ctx, func(q Queries) error {
		// Checked in the deleting transaction: a member who joined a
		// moment ago is not deleted along with the owner's team.
		if shared, err := q.SharedTeamsOwned(ctx, id); err != nil {
			return err
		} else if len(shared) > 0 {
			return ErrOwnsSharedTeam
		}
		if _, err := q.writer.ExecContext(ctx, `
			DELETE FROM sessions WHERE `+q.sessionField("user_id")+` = ?1 OR `+q.sessionField("mfa_user_id")+` = ?1`, strconv.FormatInt(id, 10)); err != nil {
			return err
		}
		if _, err := q.writer.ExecContext(ctx, `DELETE FROM emails WHERE to_addr = ? AND status <> 'pending'`, email); err != nil {
			return err
		}
		if err := q.forgetInAuditLogs(ctx, id, email); err != nil {
			return err
		}
		res, err := q.writer.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}
