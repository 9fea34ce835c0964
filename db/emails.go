package db

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Email is one mail in the outbox.
type Email struct {
	ID        int64
	To        string
	Subject   string
	Text      string
	HTML      string
	Status    string // pending, sent, failed
	Attempts  int
	LastError string
	CreatedAt time.Time
	SentAt    sql.NullTime
}

// EnqueueEmail puts a mail in the outbox, due now.
func (q Queries) EnqueueEmail(ctx context.Context, e Email) (int64, error) {
	t := now()
	var id int64
	err := q.writer.QueryRowContext(ctx, `
		INSERT INTO emails (to_addr, subject, text_body, html_body, next_attempt_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, e.To, e.Subject, e.Text, e.HTML, t, t).Scan(&id)
	return id, err
}

// DueEmails returns up to limit pending mails whose next attempt is due at
// time at (the outbox's clock, so tests can move it).
func (q Queries) DueEmails(ctx context.Context, at time.Time, limit int) ([]Email, error) {
	return q.emails(ctx, `WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?`, at.UTC(), limit)
}

// PendingEmail returns the mail id if it is still to be sent, else
// ErrNotFound (sent, given up, or gone with its account).
func (q Queries) PendingEmail(ctx context.Context, id int64) (Email, error) {
	list, err := q.emails(ctx, `WHERE id = ? AND status = 'pending'`, id)
	if err != nil {
		return Email{}, err
	}
	if len(list) == 0 {
		return Email{}, ErrNotFound
	}
	return list[0], nil
}

// RecentEmails returns the newest mails in the outbox. Only pending mail
// still has its body: it is emptied once the mail is sent or given up.
func (q Queries) RecentEmails(ctx context.Context, limit int) ([]Email, error) {
	return q.emails(ctx, `ORDER BY id DESC LIMIT ?`, limit)
}

func (q Queries) emails(ctx context.Context, where string, args ...any) ([]Email, error) {
	rows, err := q.reader.QueryContext(ctx, `
		SELECT id, to_addr, subject, text_body, html_body, status, attempts, last_error, created_at, sent_at
		FROM emails `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Email
	for rows.Next() {
		var e Email
		if err := rows.Scan(&e.ID, &e.To, &e.Subject, &e.Text, &e.HTML, &e.Status, &e.Attempts, &e.LastError, &e.CreatedAt, &e.SentAt); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// MarkEmailSent records a delivery and empties the mail's body in the same
// statement: the body holds live links (tokens are stored hashed, but the
// mailed link is the token itself), and once the mail is out nothing needs
// them, least of all the database file and every backup taken from then on.
// The address, subject and dates stay, to show what was sent.
func (q Queries) MarkEmailSent(ctx context.Context, id int64) error {
	_, err := q.writer.ExecContext(ctx, `
		UPDATE emails SET status = 'sent', sent_at = ?, attempts = attempts + 1, last_error = '',
			text_body = '', html_body = ''
		WHERE id = ?`, now(), id)
	return err
}

// MarkEmailRetry records a failed attempt and when to try again. With giveUp
// the mail is marked failed for good and its body (its live links) emptied,
// as for a sent mail; the error stays for the operator.
func (q Queries) MarkEmailRetry(ctx context.Context, id int64, errText string, next time.Time, giveUp bool) error {
	if giveUp {
		_, err := q.writer.ExecContext(ctx, `
			UPDATE emails SET status = 'failed', attempts = attempts + 1, last_error = ?, next_attempt_at = ?,
				text_body = '', html_body = ''
			WHERE id = ?`, errText, next.UTC(), id)
		return err
	}
	_, err := q.writer.ExecContext(ctx, `
		UPDATE emails SET status = 'pending', attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?`,
		errText, next.UTC(), id)
	return err
}

// NextEmailDue returns when the earliest pending mail is due, if any is pending.
// Not min(next_attempt_at): an aggregate loses the column's DATETIME type, the
// driver hands back text, and scanning text into a time fails. Reading the
// column itself keeps its type (and walks the (status, next_attempt_at) index).
func (q Queries) NextEmailDue(ctx context.Context) (time.Time, bool, error) {
	var t time.Time
	err := q.reader.QueryRowContext(ctx, `
		SELECT next_attempt_at FROM emails WHERE status = 'pending' ORDER BY next_attempt_at LIMIT 1`).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	return t, err == nil, err
}
