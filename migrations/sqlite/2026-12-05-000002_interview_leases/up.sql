-- Keep in step with migrations/postgres: a test compares the tables and columns both produce.
-- Which node runs each live interview (several nodes on one PostgreSQL; one SQLite node never
-- writes here). node is the owner's node name, session its live session there; the owner
-- renews expires_at while the session lives, and another node may take the interview once it
-- has passed.
CREATE TABLE interview_leases (
    interview_id TEXT PRIMARY KEY NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
    node TEXT NOT NULL,
    session BIGINT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
