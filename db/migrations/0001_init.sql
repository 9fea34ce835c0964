-- 0001_init: accounts, sessions and the example "projects" resource.
-- Timestamps are UTC text written by Go ("YYYY-MM-DD HH:MM:SS.fff+00:00"), so they sort in time order.

CREATE TABLE users (
    id                INTEGER PRIMARY KEY,
    -- Stored lower-cased; NOCASE makes the unique index case-insensitive as well.
    email             TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    -- PHC string ($argon2id$v=19$m=...); NULL for accounts without a password (e.g. social login).
    password_hash     TEXT,
    email_verified_at DATETIME,
    -- Copied into each session at login; bumping it signs the user out everywhere.
    auth_epoch        INTEGER NOT NULL DEFAULT 1,
    created_at        DATETIME NOT NULL,
    updated_at        DATETIME NOT NULL
);

-- The schema scs/sqlite3store expects. Tokens are stored hashed (HashTokenInStore).
CREATE TABLE sessions (
    token  TEXT PRIMARY KEY,
    data   BLOB NOT NULL,
    expiry REAL NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);

CREATE TABLE projects (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    created_at DATETIME NOT NULL
);
CREATE INDEX projects_user_idx ON projects (user_id, id);
