-- 0003_email: the mail outbox and single-use tokens sent by mail.

-- The outbox: a mail is written here in the same transaction as the action
-- that causes it, and a background worker delivers it (with retries).
CREATE TABLE emails (
    id              INTEGER PRIMARY KEY,
    to_addr         TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    text_body       TEXT    NOT NULL,
    html_body       TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending',   -- pending, sent, failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DATETIME NOT NULL,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      DATETIME NOT NULL,
    sent_at         DATETIME
);
CREATE INDEX emails_due_idx ON emails (status, next_attempt_at);

-- Tokens sent by mail. Only the SHA-256 of a token is stored. A token serves
-- one purpose, once, before it expires, and only while the user's auth_epoch
-- is the one it was issued under.
CREATE TABLE tokens (
    hash       BLOB    PRIMARY KEY,
    purpose    TEXT    NOT NULL,     -- verify_email, reset_password, magic_link, change_email
    user_id    INTEGER REFERENCES users (id) ON DELETE CASCADE,  -- NULL: a magic-link sign-up
    email      TEXT    NOT NULL,     -- the address it was sent to
    auth_epoch INTEGER NOT NULL,
    expires_at DATETIME NOT NULL,
    used_at    DATETIME,
    created_at DATETIME NOT NULL
);
CREATE INDEX tokens_user_idx ON tokens (user_id);
