package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"
)

// Roles in a team, from the least to the most. The owner is the one user in
// teams.owner_id; their membership row says admin.
const (
	RoleMember = "member"
	RoleAdmin  = "admin"
	RoleOwner  = "owner"
)

var (
	// ErrOwnerStays means the change would leave the team without its owner
	// (removing them, changing their role): ownership is transferred first.
	ErrOwnerStays = errors.New("db: the team's owner cannot be removed or demoted; transfer the team first")
	// ErrPersonalTeam means the change is refused for a personal team: it is
	// its owner's alone (no other member, no transfer, deleted with them).
	ErrPersonalTeam = errors.New("db: a personal team is its owner's alone")
	// ErrAlreadyMember means the user is already in the team.
	ErrAlreadyMember = errors.New("db: already a member of the team")
	// ErrOwnsSharedTeam means the account owns a team with other members:
	// deleting it would delete their team. DeleteUser refuses it.
	ErrOwnsSharedTeam = errors.New("db: the user owns a team with other members")
)

// Scope is a user acting in one team: what every team-scoped query takes
// (projects, and each resource added the same way). Its fields are
// unexported, so only a query that found the membership can make one: no
// caller can scope a query by an id it was handed, and the zero Scope
// matches no row.
type Scope struct {
	team, user int64
}

// TeamID is the team the scope acts in.
func (s Scope) TeamID() int64 { return s.team }

// UserID is the member acting.
func (s Scope) UserID() int64 { return s.user }

// Team is a team the user belongs to, with their role in it.
type Team struct {
	ID        int64
	Name      string
	Personal  bool
	OwnerID   int64
	Role      string // "owner", "admin" or "member"
	CreatedAt time.Time
}

// PersonalScope is userID in their personal team, the one made at signup.
func (q Queries) PersonalScope(ctx context.Context, userID int64) (Scope, error) {
	var s Scope
	err := q.reader.QueryRowContext(ctx, `
		SELECT t.id, m.user_id FROM teams t JOIN memberships m ON m.team_id = t.id AND m.user_id = t.owner_id
		WHERE t.owner_id = ? AND t.personal = 1`, userID).Scan(&s.team, &s.user)
	return s, notFound(err)
}

// teamColumns is a team as a membership m sees it, the role included (the
// owner is teams.owner_id; their row says admin).
const teamColumns = `t.id, t.name, t.personal, t.owner_id, CASE WHEN t.owner_id = m.user_id THEN 'owner' ELSE m.role END, t.created_at
	FROM memberships m JOIN teams t ON t.id = m.team_id`

func scanTeam(row interface{ Scan(...any) error }) (Team, error) {
	var t Team
	err := row.Scan(&t.ID, &t.Name, &t.Personal, &t.OwnerID, &t.Role, &t.CreatedAt)
	return t, err
}

// Teams returns one page of the teams userID belongs to, the newest first:
// at most limit of those with an id below before (0: from the newest), so a
// page costs the same however many teams they are in.
func (q Queries) Teams(ctx context.Context, userID, before int64, limit int) ([]Team, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := q.reader.QueryContext(ctx, `SELECT `+teamColumns+`
		WHERE m.user_id = CAST(? AS BIGINT) AND m.team_id < ? ORDER BY m.team_id DESC LIMIT ?`, userID, before, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Team{}
	for rows.Next() {
		t, err := scanTeam(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// createPersonalTeam makes userID's personal team and their membership in
// it; CreateUser runs it in the user's own transaction.
func (q Queries) createPersonalTeam(ctx context.Context, userID int64, at time.Time) error {
	var team int64
	if err := q.writer.QueryRowContext(ctx, `
		INSERT INTO teams (name, owner_id, personal, created_at) VALUES ('Personal', ?, 1, ?) RETURNING id`,
		userID, at).Scan(&team); err != nil {
		return err
	}
	_, err := q.writer.ExecContext(ctx, `
		INSERT INTO memberships (team_id, user_id, role, created_at) VALUES (?, ?, 'admin', ?)`, team, userID, at)
	return err
}

// Membership is userID's membership of teamID: their Scope in it, their role
// and the team. ErrNotFound when they are not a member, which a page shows
// as the same 404 as a team that does not exist.
func (q Queries) Membership(ctx context.Context, userID, teamID int64) (Scope, Team, error) {
	t, err := scanTeam(q.reader.QueryRowContext(ctx, `SELECT `+teamColumns+`
		WHERE m.user_id = ? AND m.team_id = ?`, userID, teamID))
	if err != nil {
		return Scope{}, Team{}, notFound(err)
	}
	return Scope{team: t.ID, user: userID}, t, nil
}

// CreateTeam makes a team that ownerID owns, with them as its first member.
func (q Queries) CreateTeam(ctx context.Context, ownerID int64, name string) (Scope, error) {
	sc := Scope{user: ownerID}
	err := q.atomic(ctx, func(q Queries) error {
		at := now()
		if err := q.writer.QueryRowContext(ctx, `
			INSERT INTO teams (name, owner_id, personal, created_at) VALUES (?, ?, 0, ?) RETURNING id`,
			name, ownerID, at).Scan(&sc.team); err != nil {
			return err
		}
		_, err := q.writer.ExecContext(ctx, `
			INSERT INTO memberships (team_id, user_id, role, created_at) VALUES (?, ?, 'admin', ?)`, sc.team, ownerID, at)
		return err
	})
	return sc, err
}

// Member is a member of a team, as its members list shows them.
type Member struct {
	UserID      int64
	Email       string
	DisplayName string
	Role        string
	JoinedAt    time.Time
}

// Members returns one page of the scope's team's members by user id, the
// newest accounts first: at most limit of those with a user id below before
// (0: from the newest). Paged by a key, not an offset, so a page costs the
// same for a team of five or five thousand.
func (q Queries) Members(ctx context.Context, sc Scope, before int64, limit int) ([]Member, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := q.reader.QueryContext(ctx, `
		SELECT u.id, u.email, u.display_name, CASE WHEN t.owner_id = u.id THEN 'owner' ELSE m.role END, m.created_at
		FROM memberships m JOIN teams t ON t.id = m.team_id JOIN users u ON u.id = m.user_id
		WHERE m.team_id = ? AND m.user_id < ? ORDER BY m.user_id DESC LIMIT ?`, sc.team, before, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Member{}
	for rows.Next() {
		var m Member
		if err := rows.Scan(&m.UserID, &m.Email, &m.DisplayName, &m.Role, &m.JoinedAt); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// AddMember adds userID to the scope's team with role (admin or member).
// ErrAlreadyMember when they are in it; ErrPersonalTeam for a personal team.
func (q Queries) AddMember(ctx context.Context, sc Scope, userID int64, role string) error {
	if role != RoleAdmin && role != RoleMember {
		return fmt.Errorf("db: a member's role is admin or member, not %q", role)
	}
	res, err := q.writer.ExecContext(ctx, `
		INSERT INTO memberships (team_id, user_id, role, created_at)
		SELECT id, ?, ?, ? FROM teams WHERE id = ? AND personal = 0`, userID, role, now(), sc.team)
	switch {
	case isUniqueViolation(err):
		return ErrAlreadyMember
	case err != nil:
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return q.whyNot(ctx, sc)
	}
	return nil
}

// SetRole changes a member's role (admin or member). The owner's role is
// theirs until they transfer the team: ErrOwnerStays.
func (q Queries) SetRole(ctx context.Context, sc Scope, userID int64, role string) error {
	if role != RoleAdmin && role != RoleMember {
		return fmt.Errorf("db: a member's role is admin or member, not %q", role)
	}
	return q.changeMember(ctx, sc, userID, `UPDATE memberships SET role = ? WHERE team_id = ? AND user_id = ?`, role, sc.team, userID)
}

// RemoveMember takes userID out of the scope's team (leaving is removing
// oneself). The owner cannot be removed: ErrOwnerStays.
func (q Queries) RemoveMember(ctx context.Context, sc Scope, userID int64) error {
	return q.changeMember(ctx, sc, userID, `DELETE FROM memberships WHERE team_id = ? AND user_id = ?`, sc.team, userID)
}

// changeMember runs a change of one member's row, refused for the owner,
// and ErrNotFound when userID is not a member.
func (q Queries) changeMember(ctx context.Context, sc Scope, userID int64, query string, args ...any) error {
	return q.atomic(ctx, func(q Queries) error {
		var owner int64
		if err := q.writer.QueryRowContext(ctx, `SELECT owner_id FROM teams WHERE id = ?`, sc.team).Scan(&owner); err != nil {
			return notFound(err)
		}
		if owner == userID {
			return ErrOwnerStays
		}
		res, err := q.writer.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// TransferTeam makes newOwnerID, already a member, the owner of the scope's
// team; the former owner stays, as an admin. A team has one owner at every
// moment: owner_id is one column, changed in one statement that also
// checks the new owner is a member.
func (q Queries) TransferTeam(ctx context.Context, sc Scope, newOwnerID int64) error {
	res, err := q.writer.ExecContext(ctx, `
		UPDATE teams SET owner_id = ?1
		WHERE id = ?2 AND personal = 0 AND EXISTS (SELECT 1 FROM memberships WHERE team_id = ?2 AND user_id = ?1)`,
		newOwnerID, sc.team)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return q.whyNot(ctx, sc) // or ErrNotFound: not a member
	}
	return nil
}

// DeleteTeam deletes the scope's team and, through foreign keys, its
// projects and memberships. A personal team goes only with its owner's
// account: ErrPersonalTeam.
func (q Queries) DeleteTeam(ctx context.Context, sc Scope) error {
	res, err := q.writer.ExecContext(ctx, `DELETE FROM teams WHERE id = ? AND personal = 0`, sc.team)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return q.whyNot(ctx, sc)
	}
	return nil
}

// whyNot tells why a change to a team matched no row: ErrPersonalTeam for a
// personal team, else ErrNotFound (no such team, or no such member). It
// never returns nil.
func (q Queries) whyNot(ctx context.Context, sc Scope) error {
	var personal bool
	err := q.writer.QueryRowContext(ctx, `SELECT personal FROM teams WHERE id = ?`, sc.team).Scan(&personal)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case err != nil:
		return err
	case personal:
		return ErrPersonalTeam
	}
	return ErrNotFound
}

// CountOwnedTeams returns how many teams ownerID owns besides their personal
// one, counting no further than upTo.
func (q Queries) CountOwnedTeams(ctx context.Context, ownerID int64, upTo int) (int, error) {
	var n int
	err := q.reader.QueryRowContext(ctx, `
		SELECT count(*) FROM (SELECT 1 FROM teams WHERE owner_id = ? AND personal = 0 LIMIT ?) AS capped`, ownerID, upTo).Scan(&n)
	return n, err
}

// SharedTeamsOwned names the teams ownerID owns that have other members. An
// account that owns one is not deleted (the team would go with it, and its
// members' projects): the team is transferred, or its members removed, first.
func (q Queries) SharedTeamsOwned(ctx context.Context, ownerID int64) ([]string, error) {
	rows, err := q.reader.QueryContext(ctx, `
		SELECT t.name FROM teams t WHERE t.owner_id = ?1
		AND EXISTS (SELECT 1 FROM memberships m WHERE m.team_id = t.id AND m.user_id <> ?1) ORDER BY t.id`, ownerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// RenameTeam sets the scope's team's name. A personal team keeps its name:
// ErrPersonalTeam.
func (q Queries) RenameTeam(ctx context.Context, sc Scope, name string) error {
	res, err := q.writer.ExecContext(ctx, `UPDATE teams SET name = ? WHERE id = ? AND personal = 0`, name, sc.team)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return q.whyNot(ctx, sc)
	}
	return nil
}

// SetLastTeam remembers teamID as the team userID visited last, writing
// only when it changes (a page of the same team writes nothing).
func (q Queries) SetLastTeam(ctx context.Context, userID, teamID int64) error {
	_, err := q.writer.ExecContext(ctx, `UPDATE users SET last_team_id = ?2 WHERE id = ?1 AND last_team_id IS DISTINCT FROM ?2`, userID, teamID)
	return err
}

// AdminTeam is a shared team as the admin's list shows it.
type AdminTeam struct {
	ID         int64
	Name       string
	OwnerEmail string
	Members    int // counted up to AdminMemberCountCap
	Plan       string
	Status     string // of the subscription deciding the plan; "" for none
	Seats      int64  // the seats it bills; 0 for none
	CreatedAt  time.Time
}

// AdminMemberCountCap is where the admin's count of a team's members stops.
const AdminMemberCountCap = 10000

// AdminTeams returns a page of the shared teams (personal ones left out),
// the newest first: at most limit of those with an id below before (0: from
// the newest). It reads the teams_shared_idx index, so a page costs the same
// with ten shared teams among 200,000 personal ones or 200,000 shared.
func (q Queries) AdminTeams(ctx context.Context, before int64, limit int) ([]AdminTeam, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := q.reader.QueryContext(ctx, `
		SELECT t.id, t.name, u.email,
		       (SELECT count(*) FROM (SELECT 1 FROM memberships WHERE team_id = t.id LIMIT ?) AS capped),
		       coalesce(s.plan, 'free'), coalesce(s.status, ''), coalesce(s.quantity, 0), t.created_at
		FROM teams t`+q.indexedBy("teams_shared_idx")+` JOIN users u ON u.id = t.owner_id
		LEFT JOIN subscriptions s ON s.id = (`+fmt.Sprintf(currentSubscriptionOf, "t.id")+`)
		WHERE t.personal = 0 AND t.id < ? ORDER BY t.id DESC LIMIT ?`, AdminMemberCountCap, before, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []AdminTeam{}
	for rows.Next() {
		var a AdminTeam
		if err := rows.Scan(&a.ID, &a.Name, &a.OwnerEmail, &a.Members, &a.Plan, &a.Status, &a.Seats, &a.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// TeamExists reports whether a team with that id exists.
func (q Queries) TeamExists(ctx context.Context, teamID int64) (bool, error) {
	var ok bool
	err := q.reader.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM teams WHERE id = ?)`, teamID).Scan(&ok)
	return ok, err
}

// OwnedTeamIDs returns the ids of the teams ownerID owns, their personal
// one included: the teams that go with their account.
func (q Queries) OwnedTeamIDs(ctx context.Context, ownerID int64) ([]int64, error) {
	return scanIDs(q.reader.QueryContext(ctx, `SELECT id FROM teams WHERE owner_id = ? ORDER BY id`, ownerID))
}
