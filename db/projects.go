package db

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"time"
)

// Project is the example resource: every project belongs to a team, and
// every query below takes the Scope of a member of it, so another team's
// project is ErrNotFound, as a missing one is.
type Project struct {
	ID        int64
	TeamID    int64
	Name      string
	CreatedAt time.Time
}

// CreateProject adds a project to the scope's team.
func (q Queries) CreateProject(ctx context.Context, sc Scope, name string) (Project, error) {
	p := Project{TeamID: sc.team, Name: name, CreatedAt: now()}
	err := q.writer.QueryRowContext(ctx, `
		INSERT INTO projects (team_id, name, created_at) VALUES (?, ?, ?) RETURNING id`,
		p.TeamID, p.Name, p.CreatedAt).Scan(&p.ID)
	return p, err
}

// Project returns the project with that id if it is the scope's team's,
// else ErrNotFound.
func (q Queries) Project(ctx context.Context, sc Scope, id int64) (Project, error) {
	var p Project
	err := q.reader.QueryRowContext(ctx, `
		SELECT id, team_id, name, created_at FROM projects WHERE id = ? AND team_id = ?`,
		id, sc.team).Scan(&p.ID, &p.TeamID, &p.Name, &p.CreatedAt)
	return p, notFound(err)
}

// Projects returns one page of the team's projects, newest first: at most
// limit of those with an id below before (0: from the newest). Paging by
// id, not by offset, keeps every page as cheap as the first, however many
// projects there are. (CAST: see RecentProjects.)
func (q Queries) Projects(ctx context.Context, sc Scope, before int64, limit int) ([]Project, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := q.reader.QueryContext(ctx, `
		SELECT id, team_id, name, created_at FROM projects
		WHERE team_id = CAST(? AS BIGINT) AND id < ? ORDER BY id DESC LIMIT ?`, sc.team, before, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Project{}
	for rows.Next() {
		var p Project
		if err := rows.Scan(&p.ID, &p.TeamID, &p.Name, &p.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// RenameProject sets the name of the project if it is the scope's team's,
// else returns ErrNotFound.
func (q Queries) RenameProject(ctx context.Context, sc Scope, id int64, name string) (Project, error) {
	p := Project{ID: id, TeamID: sc.team, Name: name}
	err := q.writer.QueryRowContext(ctx, `
		UPDATE projects SET name = ? WHERE id = ? AND team_id = ? RETURNING created_at`,
		name, id, sc.team).Scan(&p.CreatedAt)
	return p, notFound(err)
}

// CountProjects returns how many projects the team has, counting no further
// than upTo: a page that shows "100+" costs the same for a team with a
// million.
func (q Queries) CountProjects(ctx context.Context, sc Scope, upTo int) (int, error) {
	var n int
	err := q.reader.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM projects WHERE team_id = ? LIMIT ?) AS capped`, sc.team, upTo).Scan(&n)
	return n, err
}

// DeleteProject deletes the project if it is the scope's team's, else
// returns ErrNotFound.
func (q Queries) DeleteProject(ctx context.Context, sc Scope, id int64) error {
	res, err := q.writer.ExecContext(ctx, `DELETE FROM projects WHERE id = ? AND team_id = ?`, id, sc.team)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// CreateProjectWithin adds a project unless the team already has limit or
// more (limit 0 means no limit). Counting and inserting is one statement on
// the single writer, so concurrent requests cannot overshoot the limit; the
// count stops at the limit, so it costs the same whatever the team has.
func (q Queries) CreateProjectWithin(ctx context.Context, sc Scope, name string, limit int) (Project, error) {
	if limit <= 0 {
		return q.CreateProject(ctx, sc, name)
	}
	p := Project{TeamID: sc.team, Name: name, CreatedAt: now()}
	err := q.writer.QueryRowContext(ctx, `
		INSERT INTO projects (team_id, name, created_at)
		SELECT ?, ?, ? WHERE (SELECT count(*) FROM (SELECT 1 FROM projects WHERE team_id = ? LIMIT ?) AS capped) < ?
		RETURNING id`, p.TeamID, p.Name, p.CreatedAt, sc.team, limit, limit).Scan(&p.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return Project{}, ErrLimitReached
	}
	return p, err
}

// RecentProjects returns the team's newest limit projects and how many it has
// up to countUpTo (see CountProjects), in one query: the dashboard's summary.
//
// CAST keeps the plan the same for every team. Given a bare `team_id = ?`
// before ORDER BY, SQLite's planner reads the value bound to it, and then
// prepares the statement again whenever that value changes, which is on
// nearly every request: the dashboard's read took 10 µs instead of 5.
func (q Queries) RecentProjects(ctx context.Context, sc Scope, limit, countUpTo int) ([]Project, int, error) {
	rows, err := q.reader.QueryContext(ctx, `
		SELECT id, team_id, name, created_at, (SELECT count(*) FROM (SELECT 1 FROM projects WHERE team_id = ? LIMIT ?) AS capped)
		FROM projects WHERE team_id = CAST(? AS BIGINT) ORDER BY id DESC LIMIT ?`, sc.team, countUpTo, sc.team, limit)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []Project
	total := 0
	for rows.Next() {
		var p Project
		if err := rows.Scan(&p.ID, &p.TeamID, &p.Name, &p.CreatedAt, &total); err != nil {
			return nil, 0, err
		}
		out = append(out, p)
	}
	return out, total, rows.Err()
}
