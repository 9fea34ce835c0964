-- 0006_user_sessions: an index of each user's sessions (scs cannot list them),
-- for "active sessions", revoking one, and "sign out everywhere else". Each
-- scs session carries its row's id as "sid"; a session whose row is gone is
-- signed out on its next request.
CREATE TABLE user_sessions (
    id           TEXT    PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device       TEXT    NOT NULL,   -- "Firefox on Linux", from the User-Agent
    ip           TEXT    NOT NULL,
    created_at   DATETIME NOT NULL,
    last_seen_at DATETIME NOT NULL   -- refreshed at most every few minutes
);
CREATE INDEX user_sessions_user_idx ON user_sessions (user_id);

-- Devices a user has signed in from, to mail them about a new one.
CREATE TABLE known_devices (
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device        TEXT    NOT NULL,
    first_seen_at DATETIME NOT NULL,
    PRIMARY KEY (user_id, device)
);
