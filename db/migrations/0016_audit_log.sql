-- 0016_audit_log: who did what in a team, and when.
--
-- A line is written in the same transaction as the change it records (see
-- db/audit.go), so the log never shows what did not happen nor misses what
-- did. It names people as they read at the time (actor, subject) and by id
-- (actor_id, subject_id, without a foreign key: ids are never reused, and
-- the line outlives the account). Deleting an account replaces its names in
-- every team's log with "a deleted account"; deleting the team deletes its log.
CREATE TABLE audit_log (
    id         INTEGER  PRIMARY KEY AUTOINCREMENT,
    team_id    INTEGER  NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    actor_id   INTEGER,                        -- the member who acted; NULL for Stripe
    actor      TEXT     NOT NULL,              -- their name or address then, or "Stripe"
    action     TEXT     NOT NULL,              -- member.invited, project.created, ... (db/audit.go)
    subject_id INTEGER,                        -- the person it was about, if any
    subject    TEXT     NOT NULL DEFAULT '',   -- what it was about: an address, a project's name
    detail     TEXT     NOT NULL DEFAULT '',   -- what changed: "member → admin", "Free → Pro"
    created_at DATETIME NOT NULL
);
CREATE INDEX audit_log_team_idx ON audit_log (team_id, id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_log_subject_idx ON audit_log (subject_id) WHERE subject_id IS NOT NULL;
