package db

import (
	"context"
	"math"
	"time"
)

// The audit log of a team: who did what, and when. Each line is written by
// the transaction that makes the change (RecordAudit on that transaction's
// Queries), so a change and its line commit together or not at all.

// Audit actions. A new one needs its words in app/team_audit.go too.
const (
	AuditTeamCreated       = "team.created"
	AuditTeamRenamed       = "team.renamed"
	AuditTeamTransferred   = "team.transferred"
	AuditMemberInvited     = "member.invited"
	AuditInvitationResent  = "invitation.resent"
	AuditInvitationRevoked = "invitation.revoked"
	AuditMemberJoined      = "member.joined"
	AuditMemberRemoved     = "member.removed"
	AuditMemberLeft        = "member.left"
	AuditRoleChanged       = "member.role_changed"
	AuditPlanChanged       = "plan.changed"
	AuditProjectCreated    = "project.created"
	AuditProjectRenamed    = "project.renamed"
	AuditProjectDeleted    = "project.deleted"
	AuditTokenCreated      = "token.created"
	AuditTokenRevoked      = "token.revoked"
	AuditSeatsChanged      = "seats.changed"
)

// DeletedAccount is how the log names a person whose account is gone.
const DeletedAccount = "a deleted account"

// AuditEntry is one line of a team's audit log.
type AuditEntry struct {
	ID        int64
	TeamID    int64
	ActorID   int64  // the member who acted; 0 for Stripe
	Actor     string // their name or address at the time, or "Stripe"
	Action    string // one of the Audit… constants
	SubjectID int64  // the person it was about, or 0
	Subject   string // what it was about, as it read at the time
	Detail    string // what changed
	CreatedAt time.Time
}

// RecordAudit writes e to its team's log. Call it on the Queries of the
// transaction that makes the change.
func (q Queries) RecordAudit(ctx context.Context, e AuditEntry) error {
	_, err := q.writer.ExecContext(ctx, `
		INSERT INTO audit_log (team_id, actor_id, actor, action, subject_id, subject, detail, created_at)
		VALUES (?, nullif(?, 0), ?, ?, nullif(?, 0), ?, ?, ?)`,
		e.TeamID, e.ActorID, e.Actor, e.Action, e.SubjectID, e.Subject, e.Detail, now())
	return err
}

// AuditLog returns one page of the scope's team's log, the newest first: at
// most limit lines with an id below before (0: from the newest), read
// through the (team_id, id) index, so a page costs the same however long
// the log.
func (q Queries) AuditLog(ctx context.Context, sc Scope, before int64, limit int) ([]AuditEntry, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := q.reader.QueryContext(ctx, `
		SELECT id, team_id, coalesce(actor_id, 0), actor, action, coalesce(subject_id, 0), subject, detail, created_at
		FROM audit_log WHERE team_id = ? AND id < ? ORDER BY id DESC LIMIT ?`, sc.team, before, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		if err := rows.Scan(&e.ID, &e.TeamID, &e.ActorID, &e.Actor, &e.Action, &e.SubjectID, &e.Subject, &e.Detail, &e.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// forgetInAuditLogs replaces the names of the user with that id and address
// with DeletedAccount in every team's log: the lines they wrote, those about
// them, and those about invitations to their address in the teams they are
// in or joined once. DeleteUser runs it in the deleting transaction, before their
// memberships go. (An address invited to a team it never joined stays in
// that team's log: it is the inviter's record, not the account's.)
func (q Queries) forgetInAuditLogs(ctx context.Context, userID int64, email string) error {
	if _, err := q.writer.ExecContext(ctx, `UPDATE audit_log SET actor = ? WHERE actor_id = ?`, DeletedAccount, userID); err != nil {
		return err
	}
	if _, err := q.writer.ExecContext(ctx, `UPDATE audit_log SET subject = ? WHERE subject_id = ?`, DeletedAccount, userID); err != nil {
		return err
	}
	_, err := q.writer.ExecContext(ctx, `
		UPDATE audit_log SET subject = ?1
		WHERE team_id IN (SELECT team_id FROM memberships WHERE user_id = ?2
		                  UNION SELECT team_id FROM audit_log WHERE actor_id = ?2 AND action = '`+AuditMemberJoined+`')
		  AND `+q.equalFold("subject", "?3")+`
		  AND action IN ('`+AuditMemberInvited+`', '`+AuditInvitationResent+`', '`+AuditInvitationRevoked+`')`,
		DeletedAccount, userID, email)
	return err
}

// LeaveTeamsOnDeletion writes, in each shared team userID is a member of,
// that they left with their account: the deleting transaction calls it
// before their memberships go.
func (q Queries) LeaveTeamsOnDeletion(ctx context.Context, userID int64, actor string) error {
	_, err := q.writer.ExecContext(ctx, `
		INSERT INTO audit_log (team_id, actor_id, actor, action, subject, detail, created_at)
		SELECT m.team_id, m.user_id, ?, '`+AuditMemberLeft+`', '', 'their account was deleted', ?
		FROM memberships m JOIN teams t ON t.id = m.team_id
		WHERE m.user_id = ? AND t.owner_id <> m.user_id`, actor, now(), userID)
	return err
}
