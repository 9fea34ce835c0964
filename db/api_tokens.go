package db

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"time"
)

// APIToken is a personal token for the JSON API (its secret is never
// stored). It acts for its user in one team, of which they are a member.
type APIToken struct {
	ID         int64
	UserID     int64
	TeamID     int64
	TeamName   string // "Personal" for the user's personal team
	Name       string
	Prefix     string
	ExpiresAt  sql.NullTime
	LastUsedAt sql.NullTime
	CreatedAt  time.Time
}

// CreateAPIToken stores a new token's hash for the scope's member, acting
// in the scope's team, unless the user has max tokens already
// (ErrLimitReached). The count and the insert are one statement, so
// concurrent requests cannot pass the cap together.
func (q Queries) CreateAPIToken(ctx context.Context, sc Scope, name string, hash []byte, prefix string, expires sql.NullTime, max int) (APIToken, error) {
	t := APIToken{UserID: sc.user, TeamID: sc.team, Name: name, Prefix: prefix, ExpiresAt: expires, CreatedAt: now()}
	err := q.writer.QueryRowContext(ctx, `
		INSERT INTO api_tokens (user_id, team_id, name, hash, prefix, expires_at, created_at)
		SELECT ?, ?, ?, ?, ?, ?, ? WHERE (SELECT count(*) FROM api_tokens WHERE user_id = ?) < ?
		RETURNING id`,
		sc.user, sc.team, name, hash, prefix, expires, t.CreatedAt, sc.user, max).Scan(&t.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return APIToken{}, ErrLimitReached
	}
	return t, err
}

// DeleteAPITokens revokes every API token of the user.
func (q Queries) DeleteAPITokens(ctx context.Context, userID int64) error {
	_, err := q.writer.ExecContext(ctx, `DELETE FROM api_tokens WHERE user_id = ?`, userID)
	return err
}

// RevokeAPIToken deletes one of userID's tokens and returns its team and
// name (ErrNotFound if not theirs).
func (q Queries) RevokeAPIToken(ctx context.Context, userID, id int64) (APIToken, error) {
	t := APIToken{ID: id, UserID: userID}
	err := q.writer.QueryRowContext(ctx, `DELETE FROM api_tokens WHERE id = ? AND user_id = ? RETURNING team_id, name`, id, userID).
		Scan(&t.TeamID, &t.Name)
	return t, notFound(err)
}

// APITokenByHash returns the unexpired token with that hash, or ErrNotFound.
// It is read on every API request, so a deleted token fails at once.
func (q Queries) APITokenByHash(ctx context.Context, hash []byte) (APIToken, error) {
	t, err := scanAPIToken(q.reader.QueryRowContext(ctx, `
		SELECT `+apiTokenColumns+`
		WHERE a.hash = ? AND (a.expires_at IS NULL OR a.expires_at > ?)`, hash, now()))
	return t, notFound(err)
}

// TouchAPIToken records that a token was used.
func (q Queries) TouchAPIToken(ctx context.Context, id int64) error {
	_, err := q.writer.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, now(), id)
	return err
}

// APITokensPage returns a page of userID's tokens, the newest first: at
// most limit of those with an id below before (0: from the newest).
func (q Queries) APITokensPage(ctx context.Context, userID, before int64, limit int) ([]APIToken, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := q.reader.QueryContext(ctx, `
		SELECT `+apiTokenColumns+`
		WHERE a.user_id = ? AND a.id < ? ORDER BY a.id DESC LIMIT ?`, userID, before, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []APIToken{}
	for rows.Next() {
		t, err := scanAPIToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

const apiTokenColumns = `a.id, a.user_id, a.team_id, CASE WHEN t.personal = 1 THEN 'Personal' ELSE t.name END,
	a.name, a.prefix, a.expires_at, a.last_used_at, a.created_at
	FROM api_tokens a JOIN teams t ON t.id = a.team_id`

func scanAPIToken(row interface{ Scan(...any) error }) (APIToken, error) {
	var t APIToken
	err := row.Scan(&t.ID, &t.UserID, &t.TeamID, &t.TeamName, &t.Name, &t.Prefix, &t.ExpiresAt, &t.LastUsedAt, &t.CreatedAt)
	return t, err
}
