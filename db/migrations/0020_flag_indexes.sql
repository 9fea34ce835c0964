-- 0020_flag_indexes: the partial indexes on teams.personal say `personal = 1`
-- and `personal = 0` rather than `personal` and `NOT personal`.
--
-- The queries now compare the flag with 1 or 0, which both SQLite and
-- PostgreSQL read (Postgres takes no integer as a condition). SQLite uses a
-- partial index only for a query whose WHERE has the index's own condition,
-- so the indexes are made again with the queries' spelling.
DROP INDEX teams_personal_idx;
CREATE UNIQUE INDEX teams_personal_idx ON teams (owner_id) WHERE personal = 1;
DROP INDEX teams_shared_idx;
CREATE INDEX teams_shared_idx ON teams (id) WHERE personal = 0;
