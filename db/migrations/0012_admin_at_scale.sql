-- 0012_admin_at_scale: the admin page costs the same with 200 users or 200,000.
--
-- Its figures were counts over whole tables: the users (count(*)), the
-- signups of the last 14 days (every user row of those days) and the
-- subscriptions by plan (a scan of the table). Each now reads a few rows of a
-- small table that triggers keep up to date in the transaction of every
-- change, so a figure is never off. A migration that rebuilds users or
-- subscriptions (as 0010 did) drops their triggers with the old table: it
-- must create them again, as this file does.

-- The accounts that exist, by the day (UTC) they signed up: the signups per
-- day, and their sum is the number of users. A deleted account leaves its day.
CREATE TABLE signups_by_day (
    day   TEXT    PRIMARY KEY,   -- YYYY-MM-DD: the first ten characters of users.created_at
    users INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO signups_by_day (day, users) SELECT substr(created_at, 1, 10), count(*) FROM users GROUP BY 1;

CREATE TRIGGER users_signups_insert AFTER INSERT ON users BEGIN
    INSERT INTO signups_by_day (day, users) VALUES (substr(new.created_at, 1, 10), 1)
    ON CONFLICT (day) DO UPDATE SET users = users + 1;
END;
CREATE TRIGGER users_signups_delete AFTER DELETE ON users BEGIN
    UPDATE signups_by_day SET users = users - 1 WHERE day = substr(old.created_at, 1, 10);
END;
CREATE TRIGGER users_signups_update AFTER UPDATE OF created_at ON users BEGIN
    UPDATE signups_by_day SET users = users - 1 WHERE day = substr(old.created_at, 1, 10);
    INSERT INTO signups_by_day (day, users) VALUES (substr(new.created_at, 1, 10), 1)
    ON CONFLICT (day) DO UPDATE SET users = users + 1;
END;

-- The subscriptions that grant their plan (status active, trialing or
-- past_due, as app/billing_plans.go's entitledPlan), by plan: the admin's
-- counts and monthly revenue.
CREATE TABLE entitled_subscriptions (
    plan          TEXT    PRIMARY KEY,
    subscriptions INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO entitled_subscriptions (plan, subscriptions)
SELECT plan, count(*) FROM subscriptions WHERE status IN ('active', 'trialing', 'past_due') GROUP BY plan;

CREATE TRIGGER subscriptions_entitled_insert AFTER INSERT ON subscriptions
WHEN new.status IN ('active', 'trialing', 'past_due') BEGIN
    INSERT INTO entitled_subscriptions (plan, subscriptions) VALUES (new.plan, 1)
    ON CONFLICT (plan) DO UPDATE SET subscriptions = subscriptions + 1;
END;
CREATE TRIGGER subscriptions_entitled_delete AFTER DELETE ON subscriptions
WHEN old.status IN ('active', 'trialing', 'past_due') BEGIN
    UPDATE entitled_subscriptions SET subscriptions = subscriptions - 1 WHERE plan = old.plan;
END;
CREATE TRIGGER subscriptions_entitled_update AFTER UPDATE OF status, plan ON subscriptions BEGIN
    UPDATE entitled_subscriptions SET subscriptions = subscriptions - 1
    WHERE plan = old.plan AND old.status IN ('active', 'trialing', 'past_due');
    INSERT INTO entitled_subscriptions (plan, subscriptions)
    SELECT new.plan, 1 WHERE new.status IN ('active', 'trialing', 'past_due')
    ON CONFLICT (plan) DO UPDATE SET subscriptions = subscriptions + 1;
END;

-- Subscriptions on a price no plan sells (plan 'unknown'), the most recently
-- changed first, without scanning the others.
CREATE INDEX subscriptions_plan_idx ON subscriptions (plan, updated_at);

-- "Last seen" on the admin's list: the latest activity of a user's sessions,
-- one step into the index however many sessions the user has.
CREATE INDEX user_sessions_seen_idx ON user_sessions (user_id, last_seen_at);
