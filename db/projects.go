package db

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"time"
)

// Project is the example resource: every project has an owner, and every
// query below is scoped by that owner.
type Project struct {
	ID        int64
	UserID    int64
	Name      string
	CreatedAt time.Time
}

// CreateProject adds a project owned by userID.
func (q Queries) CreateProject(ctx context.Context, userID int64, name string) (Project, error) {
	p := Project{UserID: userID, Name: name, CreatedAt: now()}
	err := q.writer.QueryRowContext(ctx, `
		INSERT INTO projects (user_id, name, created_at) VALUES (?, ?, ?) RETURNING id`,
		p.UserID, p.Name, p.CreatedAt).Scan(&p.ID)
	return p, err
}

// Project returns the project with that id if userID owns it, else ErrNotFound.
func (q Queries) Project(ctx context.Context, userID, id int64) (Project, error) {
	var p Project
	err := q.reader.QueryRowContext(ctx, `
		SELECT id, user_id, name, created_at FROM projects WHERE id = ? AND user_id = ?`,
		id, userID).Scan(&p.ID, &p.UserID, &p.Name, &p.CreatedAt)
	return p, notFound(err)
}

// Projects returns one page of userID's projects, newest first: at most
// limit of those with an id below before (0: from the newest). Paging by
// id, not by offset, keeps every page as cheap as the first, however many
// projects there are. (CAST: see RecentProjects.)
func (q Queries) Projects(ctx context.Context, userID, before int64, limit int) ([]Project, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := q.reader.QueryContext(ctx, `
		SELECT id, user_id, name, created_at FROM projects
		WHERE user_id = CAST(? AS INTEGER) AND id < ? ORDER BY id DESC LIMIT ?`, userID, before, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Project{}
	for rows.Next() {
		var p Project
		if err := rows.Scan(&p.ID, &p.UserID, &p.Name, &p.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// RenameProject sets the name of the project if userID owns it, else
// returns ErrNotFound.
func (q Queries) RenameProject(ctx context.Context, userID, id int64, name string) (Project, error) {
	p := Project{ID: id, UserID: userID, Name: name}
	err := q.writer.QueryRowContext(ctx, `
		UPDATE projects SET name = ? WHERE id = ? AND user_id = ? RETURNING created_at`,
		name, id, userID).Scan(&p.CreatedAt)
	return p, notFound(err)
}

// CountProjects returns how many projects userID owns, counting no further
// than upTo: a page that shows "100+" costs the same for an owner of a
// million.
func (q Queries) CountProjects(ctx context.Context, userID int64, upTo int) (int, error) {
	var n int
	err := q.reader.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM projects WHERE user_id = ? LIMIT ?)`, userID, upTo).Scan(&n)
	return n, err
}

// DeleteProject deletes the project if userID owns it, else returns ErrNotFound.
func (q Queries) DeleteProject(ctx context.Context, userID, id int64) error {
	res, err := q.writer.ExecContext(ctx, `DELETE FROM projects WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// CreateProjectWithin adds a project unless userID already owns limit or
// more (limit 0 means no limit). Counting and inserting is one statement on
// the single writer, so concurrent requests cannot overshoot the limit; the
// count stops at the limit, so it costs the same whatever they own.
func (q Queries) CreateProjectWithin(ctx context.Context, userID int64, name string, limit int) (Project, error) {
	if limit <= 0 {
		return q.CreateProject(ctx, userID, name)
	}
	p := Project{UserID: userID, Name: name, CreatedAt: now()}
	err := q.writer.QueryRowContext(ctx, `
		INSERT INTO projects (user_id, name, created_at)
		SELECT ?, ?, ? WHERE (SELECT count(*) FROM (SELECT 1 FROM projects WHERE user_id = ? LIMIT ?)) < ?
		RETURNING id`, p.UserID, p.Name, p.CreatedAt, userID, limit, limit).Scan(&p.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return Project{}, ErrLimitReached
	}
	return p, err
}

// RecentProjects returns userID's newest limit projects and how many they own
// up to countUpTo (see CountProjects), in one query: the dashboard's summary.
//
// CAST keeps the plan the same for every user. Given a bare `user_id = ?`
// before ORDER BY, SQLite's planner reads the value bound to it, and then
// prepares the statement again whenever that value changes, which is on
// nearly every request: the dashboard's read took 10 µs instead of 5.
func (q Queries) RecentProjects(ctx context.Context, userID int64, limit, countUpTo int) ([]Project, int, error) {
	rows, err := q.reader.QueryContext(ctx, `
		SELECT id, user_id, name, created_at, (SELECT count(*) FROM (SELECT 1 FROM projects WHERE user_id = ? LIMIT ?))
		FROM projects WHERE user_id = CAST(? AS INTEGER) ORDER BY id DESC LIMIT ?`, userID, countUpTo, userID, limit)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []Project
	total := 0
	for rows.Next() {
		var p Project
		if err := rows.Scan(&p.ID, &p.UserID, &p.Name, &p.CreatedAt, &total); err != nil {
			return nil, 0, err
		}
		out = append(out, p)
	}
	return out, total, rows.Err()
}
