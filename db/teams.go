package db

import (
	"context"
	"time"
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
	Role      string // "owner", "admin" or "member"
	CreatedAt time.Time
}

// PersonalScope is userID in their personal team, the one made at signup.
func (q Queries) PersonalScope(ctx context.Context, userID int64) (Scope, error) {
	var s Scope
	err := q.reader.QueryRowContext(ctx, `
		SELECT t.id, m.user_id FROM teams t JOIN memberships m ON m.team_id = t.id AND m.user_id = t.owner_id
		WHERE t.owner_id = ? AND t.personal`, userID).Scan(&s.team, &s.user)
	return s, notFound(err)
}

// Teams lists the teams userID belongs to, their personal team first.
func (q Queries) Teams(ctx context.Context, userID int64) ([]Team, error) {
	rows, err := q.reader.QueryContext(ctx, `
		SELECT t.id, t.name, t.personal, CASE WHEN t.owner_id = m.user_id THEN 'owner' ELSE m.role END, t.created_at
		FROM memberships m JOIN teams t ON t.id = m.team_id
		WHERE m.user_id = ? ORDER BY t.personal DESC, t.id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Team{}
	for rows.Next() {
		var t Team
		if err := rows.Scan(&t.ID, &t.Name, &t.Personal, &t.Role, &t.CreatedAt); err != nil {
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
