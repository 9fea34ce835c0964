-- migrate: foreign_keys=off
-- 0015_team_billing: a team pays, per seat.
--
-- The Stripe customer and its subscriptions belong to a team, not a user:
-- billing_customers and subscriptions trade user_id for team_id, and every
-- existing row moves to its user's personal team (made by 0013), so a plan
-- bought before teams existed is that personal team's plan. A paid plan is
-- sold per seat: a subscription's quantity is the number of members Stripe
-- bills for, kept equal to the team's members by app/billing_seats.go, and
-- item_id (si_…) is the subscription item whose quantity that is.
--
-- Both tables are rebuilt by SQLite's 12-step procedure (see 0010 and 0013),
-- with foreign keys off (the marker line). Dropping subscriptions drops the
-- triggers of 0012 with it: they are made again below, now also summing the
-- seats the admin's revenue figure multiplies by.

CREATE TABLE billing_customers_new (
    team_id     INTEGER  PRIMARY KEY REFERENCES teams (id) ON DELETE CASCADE,
    customer_id TEXT     NOT NULL UNIQUE,
    created_at  DATETIME NOT NULL
);
INSERT INTO billing_customers_new (team_id, customer_id, created_at)
SELECT t.id, c.customer_id, c.created_at
FROM billing_customers c JOIN teams t ON t.owner_id = c.user_id AND t.personal;
DROP TABLE billing_customers;
ALTER TABLE billing_customers_new RENAME TO billing_customers;

CREATE TABLE subscriptions_new (
    id                   TEXT     PRIMARY KEY,            -- sub_...
    team_id              INTEGER  NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    customer_id          TEXT     NOT NULL,
    price_id             TEXT     NOT NULL,
    item_id              TEXT     NOT NULL DEFAULT '',    -- si_...: the item whose quantity is the seats; '' until Stripe says
    quantity             INTEGER  NOT NULL DEFAULT 1,     -- the seats Stripe bills for
    plan                 TEXT     NOT NULL,               -- free, pro or enterprise, or unknown (see app/billing_plans.go)
    status               TEXT     NOT NULL,               -- active, trialing, past_due, canceled, ...
    current_period_end   DATETIME,
    cancel_at_period_end INTEGER  NOT NULL DEFAULT 0,
    last_invoice_status  TEXT     NOT NULL DEFAULT '',    -- paid or payment_failed
    -- Unix time of the Stripe event (or object) that last changed this row.
    -- An older event never overwrites newer state: deliveries are unordered.
    version              INTEGER  NOT NULL,
    invoice_version      INTEGER  NOT NULL DEFAULT 0,
    updated_at           DATETIME NOT NULL
);
-- Bought before seats: one seat, the personal team's one member.
INSERT INTO subscriptions_new (id, team_id, customer_id, price_id, plan, status, current_period_end,
                               cancel_at_period_end, last_invoice_status, version, invoice_version, updated_at)
SELECT s.id, t.id, s.customer_id, s.price_id, s.plan, s.status, s.current_period_end,
       s.cancel_at_period_end, s.last_invoice_status, s.version, s.invoice_version, s.updated_at
FROM subscriptions s JOIN teams t ON t.owner_id = s.user_id AND t.personal;
DROP TABLE subscriptions;
ALTER TABLE subscriptions_new RENAME TO subscriptions;
CREATE INDEX subscriptions_team_idx ON subscriptions (team_id, status);
CREATE INDEX subscriptions_plan_idx ON subscriptions (plan, updated_at);

-- The entitled subscriptions by plan (0012), and now their seats.
ALTER TABLE entitled_subscriptions ADD COLUMN seats INTEGER NOT NULL DEFAULT 0;
DELETE FROM entitled_subscriptions;
INSERT INTO entitled_subscriptions (plan, subscriptions, seats)
SELECT plan, count(*), sum(quantity) FROM subscriptions WHERE status IN ('active', 'trialing', 'past_due') GROUP BY plan;

CREATE TRIGGER subscriptions_entitled_insert AFTER INSERT ON subscriptions
WHEN new.status IN ('active', 'trialing', 'past_due') BEGIN
    INSERT INTO entitled_subscriptions (plan, subscriptions, seats) VALUES (new.plan, 1, new.quantity)
    ON CONFLICT (plan) DO UPDATE SET subscriptions = subscriptions + 1, seats = seats + new.quantity;
END;
CREATE TRIGGER subscriptions_entitled_delete AFTER DELETE ON subscriptions
WHEN old.status IN ('active', 'trialing', 'past_due') BEGIN
    UPDATE entitled_subscriptions SET subscriptions = subscriptions - 1, seats = seats - old.quantity WHERE plan = old.plan;
END;
CREATE TRIGGER subscriptions_entitled_update AFTER UPDATE OF status, plan, quantity ON subscriptions BEGIN
    UPDATE entitled_subscriptions SET subscriptions = subscriptions - 1, seats = seats - old.quantity
    WHERE plan = old.plan AND old.status IN ('active', 'trialing', 'past_due');
    INSERT INTO entitled_subscriptions (plan, subscriptions, seats)
    SELECT new.plan, 1, new.quantity WHERE new.status IN ('active', 'trialing', 'past_due')
    ON CONFLICT (plan) DO UPDATE SET subscriptions = subscriptions + 1, seats = seats + new.quantity;
END;
