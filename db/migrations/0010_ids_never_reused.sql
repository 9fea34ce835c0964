-- migrate: foreign_keys=off
-- 0010_ids_never_reused: users and projects get AUTOINCREMENT.
--
-- With a plain INTEGER PRIMARY KEY, SQLite gives a new row the largest id in
-- the table plus one, so deleting the newest user frees their id for the next
-- signup. Stripe carries user ids back to us (client_reference_id, metadata),
-- possibly days later: a late event for a deleted user would then land on a
-- stranger. AUTOINCREMENT never hands out an id twice; sqlite_sequence keeps
-- the largest id ever used. (An id deleted before this migration, larger than
-- every id left, cannot be known here and is handed out once more.)
--
-- SQLite cannot add AUTOINCREMENT to an existing table, so each table is
-- rebuilt by its 12-step procedure (lang_altertable.html#otheralter): create
-- the new table, copy every row with its id, drop the old one, rename the new
-- one, recreate the indexes. The marker line above runs this with foreign keys
-- off; with them on, DROP TABLE users would delete every user's projects,
-- tokens, identities, sessions and subscriptions through ON DELETE CASCADE.
-- The columns are those of 0001 plus the ones 0005, 0008 and 0009 added, in
-- the same order, with the same types, constraints and defaults.

CREATE TABLE users_new (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Stored normalised (app/forms.go normalizeEmail); NOCASE makes the unique index case-insensitive as well.
    email             TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    -- PHC string ($argon2id$v=19$m=...); NULL for accounts without a password (e.g. social login).
    password_hash     TEXT,
    email_verified_at DATETIME,
    -- Copied into each session at login; bumping it signs the user out everywhere.
    auth_epoch        INTEGER NOT NULL DEFAULT 1,
    created_at        DATETIME NOT NULL,
    updated_at        DATETIME NOT NULL,
    last_login_at     DATETIME,
    disabled_at       DATETIME,
    totp_secret       TEXT,                        -- NULL: two-factor off
    totp_last_step    INTEGER NOT NULL DEFAULT 0,  -- the last accepted 30 s step: no reuse
    display_name      TEXT    NOT NULL DEFAULT ''
);
INSERT INTO users_new (id, email, password_hash, email_verified_at, auth_epoch, created_at, updated_at,
                       last_login_at, disabled_at, totp_secret, totp_last_step, display_name)
SELECT id, email, password_hash, email_verified_at, auth_epoch, created_at, updated_at,
       last_login_at, disabled_at, totp_secret, totp_last_step, display_name
FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE INDEX users_created_idx ON users (created_at);

CREATE TABLE projects_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    created_at DATETIME NOT NULL
);
INSERT INTO projects_new (id, user_id, name, created_at)
SELECT id, user_id, name, created_at FROM projects;
DROP TABLE projects;
ALTER TABLE projects_new RENAME TO projects;
CREATE INDEX projects_user_idx ON projects (user_id, id);

-- Copying the rows with their ids has set sqlite_sequence to each table's
-- largest id (the rename carried the entries over), so new ids start above it.
