-- migrate: foreign_keys=off
-- 0017_api_token_teams: an API token acts for its user in one team.
--
-- The team is chosen when the token is made; every existing token acts in
-- its user's personal team, as it did. The token references the user's
-- membership of that team (team_id, user_id), ON DELETE CASCADE: leaving the
-- team, being removed from it, the team's deletion and the account's all
-- delete the token in the same commit, so a token never outlives the access
-- it was made with. The table is rebuilt (SQLite adds no foreign key in
-- place), keeping ids, hashes and dates, with AUTOINCREMENT so that the id
-- of a revoked token is never handed out again.
CREATE TABLE api_tokens_new (
    id           INTEGER  PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    team_id      INTEGER  NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name         TEXT     NOT NULL,
    hash         BLOB     NOT NULL UNIQUE,
    prefix       TEXT     NOT NULL,
    expires_at   DATETIME,
    last_used_at DATETIME,
    created_at   DATETIME NOT NULL,
    FOREIGN KEY (team_id, user_id) REFERENCES memberships (team_id, user_id) ON DELETE CASCADE
);
INSERT INTO api_tokens_new (id, user_id, team_id, name, hash, prefix, expires_at, last_used_at, created_at)
SELECT a.id, a.user_id, t.id, a.name, a.hash, a.prefix, a.expires_at, a.last_used_at, a.created_at
FROM api_tokens a JOIN teams t ON t.owner_id = a.user_id AND t.personal;
-- Copying the rows with their ids made the new table's sqlite_sequence row
-- already when there was one; it starts from the largest id either way.
INSERT INTO sqlite_sequence (name, seq)
SELECT 'api_tokens_new', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'api_tokens_new');
UPDATE sqlite_sequence SET seq = max(seq, coalesce((SELECT max(id) FROM api_tokens), 0)) WHERE name = 'api_tokens_new';
DROP TABLE api_tokens;
ALTER TABLE api_tokens_new RENAME TO api_tokens;
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);
CREATE INDEX api_tokens_membership_idx ON api_tokens (team_id, user_id);
