-- Keep in step with the other backend's migration: a test compares the tables and columns both produce.
-- Rate-limit windows shared by every node of a deployment. Only PostgreSQL deployments count
-- here (a SQLite deployment is one node and counts in memory); SQLite gets the table so that
-- both backends keep one schema. One row per limiter and key: the key (a client address, an
-- email, a user or API key id) is kept only as a SHA-256 hex hash. Rows whose window has
-- ended are swept.
CREATE TABLE rate_limits (
    -- The limiter's name, e.g. 'login_failures_per_ip'.
    limiter TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    -- When the current fixed window ends (the database's clock, UTC).
    window_ends_at TIMESTAMP NOT NULL,
    -- Events counted in the window; never above the limit (refused events are not counted).
    count INTEGER NOT NULL,
    -- Whether the latest hit was let through: written and read back by that hit's own
    -- statement, so the answer comes from the same atomic step as the count.
    last_allowed BOOLEAN NOT NULL,
    PRIMARY KEY (limiter, key_hash)
);
CREATE INDEX rate_limits_window_ends_at ON rate_limits (window_ends_at);
