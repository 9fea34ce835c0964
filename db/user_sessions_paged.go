package db

import (
	"context"
	"math"
)

// ListedSession is a session in a page of UserSessionsPage, with Seq, its
// place in the list (the cursor of the page after it).
type ListedSession struct {
	UserSession
	Seq int64
}

// UserSessionsPage returns a page of userID's sessions other than skip (the
// one showing the page), the latest sign-in first: at most limit of those
// with a Seq below before (0: from the latest). Paging by the row's place,
// not by "last seen", keeps a page still while its sessions are used.
func (d *DB) UserSessionsPage(ctx context.Context, userID int64, skip string, before int64, limit int) ([]ListedSession, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := d.query(ctx, `
		SELECT rowid, id, user_id, device, ip, created_at, last_seen_at FROM user_sessions
		WHERE user_id = ? AND rowid < ? AND id <> ? ORDER BY rowid DESC LIMIT ?`, userID, before, skip, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ListedSession{}
	for rows.Next() {
		var s ListedSession
		if err := rows.Scan(&s.Seq, &s.ID, &s.UserID, &s.Device, &s.IP, &s.CreatedAt, &s.LastSeenAt); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// UserSession returns the session sid of userID, or ErrNotFound (someone
// else's too).
func (d *DB) UserSession(ctx context.Context, userID int64, sid string) (UserSession, error) {
	var s UserSession
	err := d.queryRow(ctx, `
		SELECT id, user_id, device, ip, created_at, last_seen_at FROM user_sessions WHERE id = ? AND user_id = ?`,
		sid, userID).Scan(&s.ID, &s.UserID, &s.Device, &s.IP, &s.CreatedAt, &s.LastSeenAt)
	return s, notFound(err)
}

// CountUserSessions counts userID's sessions, no further than upTo.
func (d *DB) CountUserSessions(ctx context.Context, userID int64, upTo int) (int, error) {
	var n int
	err := d.queryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM user_sessions WHERE user_id = ? LIMIT ?)`, userID, upTo).Scan(&n)
	return n, err
}
