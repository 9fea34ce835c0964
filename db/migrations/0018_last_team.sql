-- 0018_last_team: the team /dashboard opens in, and the admin's list of teams.
--
-- users.last_team_id is the team whose pages the user visited last. It has
-- no foreign key (no index or cascade on every user row): it is only read
-- joined with the user's membership of that team, so a team left or deleted
-- since falls back to the personal one.
ALTER TABLE users ADD COLUMN last_team_id INTEGER;

-- The teams people share (not the one personal team per user), newest
-- first, for the admin's list: a page reads this index, not every user's
-- personal team.
CREATE INDEX teams_shared_idx ON teams (id) WHERE NOT personal;
