-- 0004_identities: accounts at GitHub, Google or an OpenID Connect provider
-- linked to users. A user is found by (provider, provider_user_id), never by
-- email alone.
CREATE TABLE identities (
    id               INTEGER PRIMARY KEY,
    user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider         TEXT    NOT NULL,   -- github, google, oidc
    provider_user_id TEXT    NOT NULL,
    email            TEXT    NOT NULL DEFAULT '',
    created_at       DATETIME NOT NULL,
    UNIQUE (provider, provider_user_id)
);
CREATE INDEX identities_user_idx ON identities (user_id);
