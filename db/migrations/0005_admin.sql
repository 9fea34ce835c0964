-- 0005_admin: what the founder's admin view shows and does.
ALTER TABLE users ADD COLUMN last_login_at DATETIME;
ALTER TABLE users ADD COLUMN disabled_at DATETIME;
CREATE INDEX users_created_idx ON users (created_at);
