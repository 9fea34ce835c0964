-- 0002_billing: Stripe customers, subscriptions and the log of webhook events.

-- One Stripe customer per user, created on the first checkout and reused.
CREATE TABLE billing_customers (
    user_id     INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    customer_id TEXT    NOT NULL UNIQUE,
    created_at  DATETIME NOT NULL
);

-- The state of each Stripe subscription as last reported by Stripe.
CREATE TABLE subscriptions (
    id                   TEXT    PRIMARY KEY,            -- sub_...
    user_id              INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    customer_id          TEXT    NOT NULL,
    price_id             TEXT    NOT NULL,
    plan                 TEXT    NOT NULL,               -- free, pro or enterprise (free for an unknown price)
    status               TEXT    NOT NULL,               -- active, trialing, past_due, canceled, ...
    current_period_end   DATETIME,
    cancel_at_period_end INTEGER NOT NULL DEFAULT 0,
    last_invoice_status  TEXT    NOT NULL DEFAULT '',     -- paid or payment_failed
    -- Unix time of the Stripe event (or object) that last changed this row.
    -- An older event never overwrites newer state: deliveries are unordered.
    version              INTEGER NOT NULL,
    invoice_version      INTEGER NOT NULL DEFAULT 0,
    updated_at           DATETIME NOT NULL
);
CREATE INDEX subscriptions_user_idx ON subscriptions (user_id, status);

-- Every webhook event, recorded in the same transaction as its effects; its id
-- makes a redelivery a no-op. Kept when a user is deleted (no foreign key).
CREATE TABLE stripe_events (
    id          TEXT    PRIMARY KEY,                     -- evt_...
    type        TEXT    NOT NULL,
    created     INTEGER NOT NULL,
    received_at DATETIME NOT NULL,
    payload     BLOB    NOT NULL
);
