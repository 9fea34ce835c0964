package db

import (
	"context"
	"math"
)

// APITokensPage returns a page of userID's tokens, the newest first: at
// most limit of those with an id below before (0: from the newest).
func (d *DB) APITokensPage(ctx context.Context, userID, before int64, limit int) ([]APIToken, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := d.query(ctx, `
		SELECT id, user_id, name, prefix, expires_at, last_used_at, created_at FROM api_tokens
		WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?`, userID, before, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []APIToken{}
	for rows.Next() {
		var t APIToken
		if err := rows.Scan(&t.ID, &t.UserID, &t.Name, &t.Prefix, &t.ExpiresAt, &t.LastUsedAt, &t.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
