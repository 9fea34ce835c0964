-- 0008_two_factor: TOTP second factor and single-use recovery codes.
ALTER TABLE users ADD COLUMN totp_secret TEXT;                       -- NULL: two-factor off
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0; -- the last accepted 30 s step: no reuse
CREATE TABLE recovery_codes (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash    BLOB    NOT NULL,     -- SHA-256 of the code
    used_at DATETIME,
    PRIMARY KEY (user_id, hash)
);
