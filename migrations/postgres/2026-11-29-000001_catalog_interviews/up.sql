-- Keep in step with migrations/sqlite: a test compares the tables and columns both produce.

-- The catalog. Interview types, skills and suggested skills follow questions.toml (seeded on
-- every start); questions come from the same file (source 'bank') or from admins ('admin').
CREATE TABLE interview_types (
    slug TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    position INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE skills (
    slug TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- The skills suggested when someone picks an interview type.
CREATE TABLE interview_type_skills (
    interview_type TEXT NOT NULL REFERENCES interview_types (slug) ON DELETE CASCADE,
    skill TEXT NOT NULL REFERENCES skills (slug) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    PRIMARY KEY (interview_type, skill)
);

-- skills and rubric are JSON arrays of strings.
CREATE TABLE questions (
    id TEXT PRIMARY KEY NOT NULL,
    interview_type TEXT NOT NULL REFERENCES interview_types (slug),
    difficulty TEXT NOT NULL CHECK (difficulty IN ('easy', 'medium', 'hard')),
    text TEXT NOT NULL,
    rubric TEXT NOT NULL,
    skills TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    source TEXT NOT NULL CHECK (source IN ('bank', 'admin')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX questions_interview_type ON questions (interview_type);

-- An interview and the questions planned for it. skills is a JSON array of skill slugs.
CREATE TABLE interviews (
    id TEXT PRIMARY KEY NOT NULL,
    owner_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    interview_type TEXT NOT NULL REFERENCES interview_types (slug),
    skills TEXT NOT NULL,
    difficulty TEXT NOT NULL CHECK (difficulty IN ('easy', 'medium', 'hard')),
    question_count INTEGER NOT NULL,
    time_limit_minutes INTEGER NOT NULL,
    mode TEXT NOT NULL DEFAULT 'practice' CHECK (mode IN ('practice', 'hiring')),
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'in_progress', 'completed', 'abandoned', 'expired')),
    score DOUBLE PRECISION,
    summary TEXT,
    created_at TIMESTAMP NOT NULL,
    started_at TIMESTAMP,
    completed_at TIMESTAMP
);
CREATE INDEX interviews_owner_created ON interviews (owner_id, created_at);

-- What was asked: text and rubric are snapshots, so later edits to the bank do not rewrite
-- an interview that was planned (or held) with the earlier wording.
CREATE TABLE interview_questions (
    interview_id TEXT NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    question_id TEXT NOT NULL REFERENCES questions (id),
    text TEXT NOT NULL,
    rubric TEXT NOT NULL,
    PRIMARY KEY (interview_id, position)
);

-- The conversation, in order (seq). Timings are milliseconds; audio_ms is the length of a
-- spoken answer.
CREATE TABLE messages (
    id TEXT PRIMARY KEY NOT NULL,
    interview_id TEXT NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('interviewer', 'candidate')),
    text TEXT NOT NULL,
    audio_ms BIGINT,
    transcription_ms BIGINT,
    generation_ms BIGINT,
    interrupted BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (interview_id, seq)
);
