-- 0009_profile: the name a user wants to be called by.
ALTER TABLE users ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
