package db

import (
	"context"
	"math"
	"strconv"
	"time"
)

// UserSession is one signed-in device of a user.
type UserSession struct {
	ID         string
	UserID     int64
	Device     string
	IP         string
	CreatedAt  time.Time
	LastSeenAt time.Time
}

// StartUserSession records a new session of userID. newDevice is true when
// the user has signed in before, but never from this device.
func (q Queries) StartUserSession(ctx context.Context, sid string, userID int64, device, ip string) (newDevice bool, err error) {
	err = q.atomic(ctx, func(q Queries) error {
		t := now()
		if _, err := q.writer.ExecContext(ctx, `
			INSERT INTO user_sessions (id, user_id, device, ip, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)`,
			sid, userID, device, ip, t, t); err != nil {
			return err
		}
		var known int
		if err := q.reader.QueryRowContext(ctx, `SELECT count(*) FROM known_devices WHERE user_id = ?`, userID).Scan(&known); err != nil {
			return err
		}
		res, err := q.writer.ExecContext(ctx, `
			INSERT INTO known_devices (user_id, device, first_seen_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, userID, device, t)
		if err != nil {
			return err
		}
		added, _ := res.RowsAffected()
		newDevice = known > 0 && added == 1
		return nil
	})
	return newDevice, err
}

// UserSessions lists userID's sessions, most recently seen first.
func (q Queries) UserSessions(ctx context.Context, userID int64) ([]UserSession, error) {
	rows, err := q.reader.QueryContext(ctx, `
		SELECT id, user_id, device, ip, created_at, last_seen_at FROM user_sessions
		WHERE user_id = ? ORDER BY last_seen_at DESC`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []UserSession
	for rows.Next() {
		var s UserSession
		if err := rows.Scan(&s.ID, &s.UserID, &s.Device, &s.IP, &s.CreatedAt, &s.LastSeenAt); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// TouchUserSession refreshes a session's last-seen time.
func (q Queries) TouchUserSession(ctx context.Context, sid string) error {
	_, err := q.writer.ExecContext(ctx, `UPDATE user_sessions SET last_seen_at = ? WHERE id = ?`, now(), sid)
	return err
}

// RevokeUserSession ends one of userID's sessions (ErrNotFound if it is not theirs).
func (q Queries) RevokeUserSession(ctx context.Context, userID int64, sid string) error {
	return q.atomic(ctx, func(q Queries) error {
		res, err := q.writer.ExecContext(ctx, `DELETE FROM user_sessions WHERE id = ? AND user_id = ?`, sid, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		_, err = q.writer.ExecContext(ctx, `DELETE FROM sessions WHERE `+q.sessionField("sid")+` = ?`, sid)
		return err
	})
}

// RevokeOtherUserSessions ends every session of userID but keep ("" for all).
func (q Queries) RevokeOtherUserSessions(ctx context.Context, userID int64, keep string) (int, error) {
	var n int64
	err := q.atomic(ctx, func(q Queries) error {
		res, err := q.writer.ExecContext(ctx, `DELETE FROM user_sessions WHERE user_id = ? AND id <> ?`, userID, keep)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		_, err = q.writer.ExecContext(ctx, `
			DELETE FROM sessions WHERE `+q.sessionField("user_id")+` = ? AND coalesce(`+q.sessionField("sid")+`, '') <> ?`, strconv.FormatInt(userID, 10), keep)
		return err
	})
	return int(n), err
}

// SessionValid reports whether the session sid of userID still stands: its
// row exists, the user's auth_epoch is the one it carries, and the account is
// not disabled. Run first in a transaction (BEGIN IMMEDIATE holds the write
// lock), it makes a change that ended the session (a reset, a first proof)
// and a write made by that session one after the other, never interleaved.
func (q Queries) SessionValid(ctx context.Context, userID, epoch int64, sid string) (bool, error) {
	var ok bool
	err := q.reader.QueryRowContext(ctx, `
		SELECT count(*) = 1 FROM users u JOIN user_sessions us ON us.id = ? AND us.user_id = u.id
		WHERE u.id = ? AND u.auth_epoch = ? AND u.disabled_at IS NULL`, sid, userID, epoch).Scan(&ok)
	return ok, err
}

// EndSessions signs the user out of every session but keep ("" for all) at
// their next request: it bumps auth_epoch, which also voids a login under way
// and every mailed link, deletes the sessions' rows, and drops half-done
// logins waiting for the second factor. It returns the new epoch, which the
// kept session must carry from now on.
func (q Queries) EndSessions(ctx context.Context, userID int64, keep string) (int64, error) {
	var epoch int64
	err := q.atomic(ctx, func(q Queries) error {
		err := q.writer.QueryRowContext(ctx, `
			UPDATE users SET auth_epoch = auth_epoch + 1, updated_at = ? WHERE id = ?
			RETURNING auth_epoch`, now(), userID).Scan(&epoch)
		if err != nil {
			return notFound(err)
		}
		if _, err := q.RevokeOtherUserSessions(ctx, userID, keep); err != nil {
			return err
		}
		_, err = q.writer.ExecContext(ctx, `DELETE FROM sessions WHERE `+q.sessionField("mfa_user_id")+` = ?`, strconv.FormatInt(userID, 10))
		return err
	})
	if err != nil {
		return 0, err
	}
	return epoch, nil
}

// SignOutEverywhere ends every session of the user (EndSessions), for an
// operator or a test.
func (q Queries) SignOutEverywhere(ctx context.Context, userID int64) error {
	_, err := q.EndSessions(ctx, userID, "")
	return err
}

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
func (q Queries) UserSessionsPage(ctx context.Context, userID int64, skip string, before int64, limit int) ([]ListedSession, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	seq := q.userSessionSeq()
	rows, err := q.reader.QueryContext(ctx, `
		SELECT `+seq+`, id, user_id, device, ip, created_at, last_seen_at FROM user_sessions
		WHERE user_id = ? AND `+seq+` < ? AND id <> ? ORDER BY `+seq+` DESC LIMIT ?`, userID, before, skip, limit)
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
func (q Queries) UserSession(ctx context.Context, userID int64, sid string) (UserSession, error) {
	var s UserSession
	err := q.reader.QueryRowContext(ctx, `
		SELECT id, user_id, device, ip, created_at, last_seen_at FROM user_sessions WHERE id = ? AND user_id = ?`,
		sid, userID).Scan(&s.ID, &s.UserID, &s.Device, &s.IP, &s.CreatedAt, &s.LastSeenAt)
	return s, notFound(err)
}

// CountUserSessions counts userID's sessions, no further than upTo.
func (q Queries) CountUserSessions(ctx context.Context, userID int64, upTo int) (int, error) {
	var n int
	err := q.reader.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM user_sessions WHERE user_id = ? LIMIT ?) AS capped`, userID, upTo).Scan(&n)
	return n, err
}
