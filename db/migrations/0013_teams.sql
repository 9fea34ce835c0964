-- migrate: foreign_keys=off
-- 0013_teams: teams and their members; projects belong to a team.
--
-- Every user gets a personal team (they own it, alone), and every project
-- moves into its owner's personal team, keeping its id, name and date. From
-- here on a resource is scoped by team, not by user: db.Scope, which only a
-- membership can give, is what every project query takes.
--
-- The owner of a team is teams.owner_id, one column, so a team has exactly
-- one owner; the owner's membership row says 'admin' (the role below owner).
-- Team ids start above 100000, far from user ids, so that a user id passed
-- where a team id belongs matches nothing, in tests as in production.
--
-- projects loses user_id for team_id, which SQLite cannot change in place:
-- the table is rebuilt by its 12-step procedure (see 0010), with foreign keys
-- off (the marker line). A rebuilt AUTOINCREMENT table would restart from its
-- largest id left, handing out again the id of a deleted newest project, so
-- its sqlite_sequence value is carried over.

CREATE TABLE teams (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT     NOT NULL,
    -- Deleting the owner's account deletes the team (the app refuses that
    -- while a team has other members).
    owner_id   INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- 1 for the team made at signup: its owner's own space, never shared.
    personal   INTEGER  NOT NULL DEFAULT 0 CHECK (personal IN (0, 1)),
    created_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX teams_personal_idx ON teams (owner_id) WHERE personal;
CREATE INDEX teams_owner_idx ON teams (owner_id);
INSERT INTO sqlite_sequence (name, seq) VALUES ('teams', 100000);

CREATE TABLE memberships (
    team_id    INTEGER  NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id    INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT     NOT NULL CHECK (role IN ('admin', 'member')),
    created_at DATETIME NOT NULL,
    PRIMARY KEY (team_id, user_id)
) WITHOUT ROWID;
CREATE INDEX memberships_user_idx ON memberships (user_id, team_id);

INSERT INTO teams (name, owner_id, personal, created_at)
SELECT 'Personal', id, 1, created_at FROM users ORDER BY id;
INSERT INTO memberships (team_id, user_id, role, created_at)
SELECT id, owner_id, 'admin', created_at FROM teams;

CREATE TABLE projects_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id    INTEGER  NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name       TEXT     NOT NULL,
    created_at DATETIME NOT NULL
);
INSERT INTO projects_new (id, team_id, name, created_at)
SELECT p.id, t.id, p.name, p.created_at
FROM projects p JOIN teams t ON t.owner_id = p.user_id AND t.personal;
-- The largest project id ever handed out, not only the largest left.
INSERT INTO sqlite_sequence (name, seq)
SELECT 'projects_new', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'projects_new');
UPDATE sqlite_sequence
SET seq = max(seq, coalesce((SELECT max(seq) FROM sqlite_sequence WHERE name = 'projects'), 0))
WHERE name = 'projects_new';
DROP TABLE projects;
ALTER TABLE projects_new RENAME TO projects;
CREATE INDEX projects_team_idx ON projects (team_id, id);
