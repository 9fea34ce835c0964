-- 0019_passkeys: WebAuthn credentials (passkeys) as a way to log in.
--
-- A passkey is a key pair on the user's device; only its public key and id
-- are kept here, never anything secret. users.webauthn_handle is the opaque
-- user handle the authenticator stores with a discoverable credential (64
-- random bytes, made at the first passkey): a passkey login finds the
-- account by it, and it tells nothing about the user.
ALTER TABLE users ADD COLUMN webauthn_handle BLOB;
CREATE UNIQUE INDEX users_webauthn_handle_idx ON users (webauthn_handle) WHERE webauthn_handle IS NOT NULL;

CREATE TABLE passkeys (
    id              INTEGER  PRIMARY KEY AUTOINCREMENT,
    user_id         INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id   BLOB     NOT NULL UNIQUE,
    public_key      BLOB     NOT NULL,              -- COSE-encoded
    attestation_type TEXT    NOT NULL DEFAULT '',
    aaguid          BLOB,                           -- the authenticator's model, when it says
    transports      TEXT     NOT NULL DEFAULT '',   -- comma-separated hints: internal, hybrid, usb, ...
    sign_count      INTEGER  NOT NULL DEFAULT 0,    -- a counter that goes backwards means a cloned key
    backup_eligible INTEGER  NOT NULL DEFAULT 0,    -- synced (a passkey manager) or device-bound, fixed at creation
    backup_state    INTEGER  NOT NULL DEFAULT 0,
    name            TEXT     NOT NULL,              -- "MacBook Touch ID", the user's own
    created_at      DATETIME NOT NULL,
    last_used_at    DATETIME
);
CREATE INDEX passkeys_user_idx ON passkeys (user_id);
