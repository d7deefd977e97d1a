-- Keep in step with the other backend's migration: a test compares the tables and columns both produce.
-- Batch transcription tasks (POST /api/v1/transcriptions). The upload's bytes lie privately under
-- the data directory (files/transcriptions/<id>) while the task is queued or running, and are
-- deleted when it ends; the row itself is deleted by the retention sweep.
CREATE TABLE transcriptions (
    id TEXT PRIMARY KEY NOT NULL,
    owner_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    -- The name the client gave, cleaned, for display only.
    filename TEXT NOT NULL,
    -- Sniffed from the bytes.
    format TEXT NOT NULL CHECK (format IN ('wav', 'flac', 'mp3', 'ogg_vorbis', 'ogg_opus', 'webm')),
    size_bytes BIGINT NOT NULL,
    -- Length of the decoded audio.
    duration_ms BIGINT NOT NULL,
    -- Pieces the audio was cut into at its silences (NULL until it runs), and those done.
    segments_total INTEGER,
    segments_done INTEGER NOT NULL DEFAULT 0,
    -- The whole text and the timestamped segments (JSON [{start, end, text}]), once done.
    text TEXT,
    segments TEXT,
    -- Why it failed.
    error TEXT,
    created_at TIMESTAMP NOT NULL,
    started_at TIMESTAMP,
    finished_at TIMESTAMP
);
CREATE INDEX transcriptions_owner ON transcriptions (owner_id, created_at);
CREATE INDEX transcriptions_status ON transcriptions (status, created_at);
