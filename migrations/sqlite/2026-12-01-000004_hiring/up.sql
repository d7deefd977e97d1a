-- Keep in step with migrations/postgres: a test compares the tables and columns both produce.

-- A recruiter's opening. skills is a JSON array of skill slugs; the interview settings are
-- what each candidate's interview is planned with.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY NOT NULL,
    owner_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    location TEXT NOT NULL,
    skills TEXT NOT NULL,
    interview_type TEXT NOT NULL REFERENCES interview_types (slug),
    difficulty TEXT NOT NULL CHECK (difficulty IN ('easy', 'medium', 'hard')),
    question_count INTEGER NOT NULL,
    time_limit_minutes INTEGER NOT NULL,
    show_scores BOOLEAN NOT NULL DEFAULT FALSE,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP
);
CREATE INDEX jobs_owner_created ON jobs (owner_id, created_at);

-- A person invited to interview for a job: their hiring interview (owned by the recruiter).
CREATE TABLE candidates (
    id TEXT PRIMARY KEY NOT NULL,
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    interview_id TEXT NOT NULL UNIQUE REFERENCES interviews (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX candidates_job ON candidates (job_id, created_at);

-- A link a candidate opens: only the SHA-256 of its token is kept.
CREATE TABLE invites (
    id TEXT PRIMARY KEY NOT NULL,
    interview_id TEXT NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    access_count INTEGER NOT NULL DEFAULT 0,
    last_access_at TIMESTAMP
);
CREATE INDEX invites_interview ON invites (interview_id);

-- An uploaded file (a candidate's resume), stored under the data directory by its id; the
-- name it came with is kept only for display. text is what could be extracted from it.
CREATE TABLE files (
    id TEXT PRIMARY KEY NOT NULL,
    interview_id TEXT NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('resume')),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX files_interview ON files (interview_id);

-- Every email the server tried to send, with how it went.
CREATE TABLE emails (
    id TEXT PRIMARY KEY NOT NULL,
    interview_id TEXT REFERENCES interviews (id) ON DELETE SET NULL,
    kind TEXT NOT NULL CHECK (kind IN ('invite', 'completed')),
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('sent', 'failed', 'not_configured')),
    error TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX emails_interview ON emails (interview_id);
