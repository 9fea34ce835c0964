-- 0014_invitations: invitations to join a team, by mail.
--
-- The mailed link carries a secret; only its SHA-256 is kept (token_hash),
-- and accepting spends it in one UPDATE (accepted_at), so a link works once.
-- An invitation is bound to the address it was sent to: only an account with
-- that address, proven, can accept it. A pending invitation (neither accepted
-- nor revoked) is unique per team and address; sending it again replaces the
-- hash and the expiry on the same row.
CREATE TABLE invitations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id     INTEGER  NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    -- Stored normalised, as users.email is.
    email       TEXT     NOT NULL COLLATE NOCASE,
    role        TEXT     NOT NULL CHECK (role IN ('admin', 'member')),
    token_hash  BLOB     NOT NULL UNIQUE,
    invited_by  INTEGER  REFERENCES users (id) ON DELETE SET NULL,
    created_at  DATETIME NOT NULL,
    expires_at  DATETIME NOT NULL,
    accepted_at DATETIME,
    accepted_by INTEGER  REFERENCES users (id) ON DELETE SET NULL,
    revoked_at  DATETIME
);
CREATE UNIQUE INDEX invitations_pending_idx ON invitations (team_id, email)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
CREATE INDEX invitations_inviter_idx ON invitations (invited_by);
CREATE INDEX invitations_accepter_idx ON invitations (accepted_by);
