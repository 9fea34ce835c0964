package db

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

var (
	// ErrAlreadyInvited means a pending invitation to that address exists:
	// it is sent again rather than twice.
	ErrAlreadyInvited = errors.New("db: that address has a pending invitation to the team")
	// ErrNotInvited means the invitation was sent to another address than
	// the account accepting it.
	ErrNotInvited = errors.New("db: the invitation is for another address")
	// ErrTooManyInvitations means the team has MaxPendingInvitations
	// pending already.
	ErrTooManyInvitations = errors.New("db: the team has as many pending invitations as it may")
)

// MaxPendingInvitations is how many invitations a team may have pending at
// once, whatever its plan: its members page lists them all.
const MaxPendingInvitations = 100

// Invitation is a pending invitation to join a team.
type Invitation struct {
	ID        int64
	TeamID    int64
	TeamName  string
	OwnerID   int64 // the team's owner
	Email     string
	Role      string
	InvitedBy string // the inviter's name or address; empty once their account is gone
	CreatedAt time.Time
	ExpiresAt time.Time
}

const invitationColumns = `i.id, i.team_id, t.name, t.owner_id, i.email, i.role,
	coalesce(nullif(u.display_name, ''), u.email, ''), i.created_at, i.expires_at`

const invitationJoins = ` FROM invitations i JOIN teams t ON t.id = i.team_id LEFT JOIN users u ON u.id = i.invited_by `

func scanInvitation(row interface{ Scan(...any) error }) (Invitation, error) {
	var i Invitation
	err := row.Scan(&i.ID, &i.TeamID, &i.TeamName, &i.OwnerID, &i.Email, &i.Role, &i.InvitedBy, &i.CreatedAt, &i.ExpiresAt)
	return i, notFound(err)
}

// CreateInvitation records an invitation of email (normalised) to the
// scope's team with role, sent by the scope's member, valid until expires,
// whose link's secret hashes to hash. It refuses a personal team
// (ErrPersonalTeam), an address that is a member already (ErrAlreadyMember)
// or invited already (ErrAlreadyInvited), and a team whose members and
// pending invitations already fill maxMembers (ErrLimitReached; 0: no
// limit). The checks and the insert are one transaction on the single
// writer, so two invitations sent at once cannot both take the last seat.
func (q Queries) CreateInvitation(ctx context.Context, sc Scope, email, role string, hash []byte, expires time.Time, maxMembers int) (Invitation, error) {
	var inv Invitation
	err := q.atomic(ctx, func(q Queries) error {
		var personal bool
		var members, live, pending int // pending: expired ones too, until replaced or revoked
		err := q.writer.QueryRowContext(ctx, `
			SELECT personal, (SELECT count(*) FROM memberships WHERE team_id = ?1),
			       (SELECT count(*) FROM invitations WHERE team_id = ?1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?2),
			       (SELECT count(*) FROM invitations WHERE team_id = ?1 AND accepted_at IS NULL AND revoked_at IS NULL)
			FROM teams WHERE id = ?1`, sc.team, now()).Scan(&personal, &members, &live, &pending)
		seats := members + live
		switch {
		case err != nil:
			return notFound(err)
		case personal:
			return ErrPersonalTeam
		case pending >= MaxPendingInvitations:
			return ErrTooManyInvitations
		}
		var member bool
		if err := q.writer.QueryRowContext(ctx, `
			SELECT EXISTS (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.team_id = ? AND u.email = ?)`,
			sc.team, email).Scan(&member); err != nil {
			return err
		}
		if member {
			return ErrAlreadyMember
		}
		if maxMembers > 0 && seats >= maxMembers {
			return ErrLimitReached
		}
		// A pending invitation that has expired is replaced, not kept.
		if _, err := q.writer.ExecContext(ctx, `
			UPDATE invitations SET revoked_at = ?1 WHERE team_id = ?2 AND email = ?3
			AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at <= ?1`, now(), sc.team, email); err != nil {
			return err
		}
		var id int64
		err = q.writer.QueryRowContext(ctx, `
			INSERT INTO invitations (team_id, email, role, token_hash, invited_by, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, sc.team, email, role, hash, sc.user, now(), expires).Scan(&id)
		if isUniqueViolation(err) {
			return ErrAlreadyInvited
		}
		if err != nil {
			return err
		}
		inv, err = scanInvitation(q.writer.QueryRowContext(ctx, `SELECT `+invitationColumns+invitationJoins+`WHERE i.id = ?`, id))
		return err
	})
	return inv, err
}

// Invitations lists the scope's team's pending invitations, the newest
// first: all of them, as CreateInvitation keeps them to
// MaxPendingInvitations (expired ones included, until sent again, revoked or
// replaced).
func (q Queries) Invitations(ctx context.Context, sc Scope) ([]Invitation, error) {
	rows, err := q.reader.QueryContext(ctx, `SELECT `+invitationColumns+invitationJoins+`
		WHERE i.team_id = ? AND i.accepted_at IS NULL AND i.revoked_at IS NULL ORDER BY i.id DESC LIMIT ?`, sc.team, MaxPendingInvitations)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Invitation{}
	for rows.Next() {
		inv, err := scanInvitation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, inv)
	}
	return out, rows.Err()
}

// RenewInvitation gives a pending invitation of the scope's team a new link
// (hash) and expiry, for sending it again: the old link stops working.
func (q Queries) RenewInvitation(ctx context.Context, sc Scope, id int64, hash []byte, expires time.Time) (Invitation, error) {
	return q.changePendingInvitation(ctx, sc, id, `token_hash = ?, expires_at = ?, invited_by = ?`, hash, expires, sc.user)
}

// RevokeInvitation withdraws a pending invitation of the scope's team: its
// link stops working. ErrNotFound when there is no such pending one.
func (q Queries) RevokeInvitation(ctx context.Context, sc Scope, id int64) (Invitation, error) {
	return q.changePendingInvitation(ctx, sc, id, `revoked_at = ?`, now())
}

// changePendingInvitation sets columns (an UPDATE's SET list, with args) on
// a pending invitation of the scope's team and returns it as it is then;
// ErrNotFound when there is no such pending one.
func (q Queries) changePendingInvitation(ctx context.Context, sc Scope, id int64, set string, args ...any) (Invitation, error) {
	var inv Invitation
	err := q.atomic(ctx, func(q Queries) error {
		res, err := q.writer.ExecContext(ctx, `UPDATE invitations SET `+set+`
			WHERE id = ? AND team_id = ? AND accepted_at IS NULL AND revoked_at IS NULL`, append(args, id, sc.team)...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		inv, err = scanInvitation(q.writer.QueryRowContext(ctx, `SELECT `+invitationColumns+invitationJoins+`WHERE i.id = ?`, id))
		return err
	})
	return inv, err
}

// PendingInvitation is the invitation whose link's secret hashes to hash,
// if it can still be accepted (neither accepted, revoked nor expired), for
// the page the link opens. It spends nothing.
func (q Queries) PendingInvitation(ctx context.Context, hash []byte) (Invitation, error) {
	return scanInvitation(q.reader.QueryRowContext(ctx, `SELECT `+invitationColumns+invitationJoins+`
		WHERE i.token_hash = ? AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > ?`, hash, now()))
}

// AcceptInvitation spends the invitation whose secret hashes to hash and
// makes the user with that id and email a member of its team, with its role;
// both commit together or not at all. The invitation must still be
// pending (else ErrNotFound) and be for email (else ErrNotInvited); the user
// must not be a member already (ErrAlreadyMember); and the team's members
// must not fill maxMembers of its plan (ErrLimitReached; 0: no limit). Spending is one
// UPDATE on the single writer: of two acceptances of one link at once,
// exactly one joins.
func (q Queries) AcceptInvitation(ctx context.Context, hash []byte, userID int64, email string, maxMembers func(teamID int64) (int, error)) (Scope, Invitation, error) {
	var sc Scope
	var inv Invitation
	err := q.atomic(ctx, func(q Queries) error {
		var err error
		inv, err = scanInvitation(q.writer.QueryRowContext(ctx, `SELECT `+invitationColumns+invitationJoins+`
			WHERE i.token_hash = ? AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > ?`, hash, now()))
		if err != nil {
			return err
		}
		if inv.Email != email {
			return ErrNotInvited
		}
		limit, err := maxMembers(inv.TeamID)
		if err != nil {
			return err
		}
		var members int
		var member bool
		if err := q.writer.QueryRowContext(ctx, `
			SELECT count(*), coalesce(max(CASE WHEN user_id = ? THEN 1 ELSE 0 END), 0) FROM memberships WHERE team_id = ?`, userID, inv.TeamID).Scan(&members, &member); err != nil {
			return err
		}
		if member {
			return ErrAlreadyMember
		}
		if limit > 0 && members >= limit {
			return ErrLimitReached
		}
		res, err := q.writer.ExecContext(ctx, `
			UPDATE invitations SET accepted_at = ?, accepted_by = ? WHERE id = ? AND accepted_at IS NULL AND revoked_at IS NULL`,
			now(), userID, inv.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if _, err := q.writer.ExecContext(ctx, `
			INSERT INTO memberships (team_id, user_id, role, created_at) VALUES (?, ?, ?, ?)`,
			inv.TeamID, userID, inv.Role, now()); err != nil {
			return err
		}
		sc = Scope{team: inv.TeamID, user: userID}
		return nil
	})
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	return sc, inv, err
}

// Seats counts the people the scope's team holds or has invited: its
// members and its pending invitations that have not expired.
func (q Queries) Seats(ctx context.Context, sc Scope) (int, error) {
	var n int
	err := q.reader.QueryRowContext(ctx, `
		SELECT (SELECT count(*) FROM memberships WHERE team_id = ?1)
		     + (SELECT count(*) FROM invitations WHERE team_id = ?1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?2)`,
		sc.team, now()).Scan(&n)
	return n, err
}
