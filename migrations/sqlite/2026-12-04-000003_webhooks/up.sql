-- Keep in step with migrations/postgres: a test compares the tables and columns both produce.
-- Signed webhooks: the endpoints recruiters register, the outbox of messages to deliver, and
-- every delivery attempt.

-- A URL a recruiter (or admin) receives events at. events is a JSON array of event types.
-- secret signs every message (whsec_ + base64); after a rotation the previous secret also
-- signs until previous_secret_until.
CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY NOT NULL,
    owner_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    description TEXT NOT NULL,
    events TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_endpoints_owner ON webhook_endpoints (owner_id, created_at);

-- The outbox: one event for one endpoint, written where the event happens and delivered by
-- the worker. id is the message's webhook-id. failures counts the failed attempts since it
-- was (re)queued; leased_until is set while a worker holds it (a crashed worker's lease runs
-- out and the message is due again). dedupe_key makes once-only events (an interview's start
-- and completion) land once per endpoint.
CREATE TABLE webhook_messages (
    id TEXT PRIMARY KEY NOT NULL,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL CHECK (event_type IN ('candidate.invited', 'interview.started', 'interview.completed', 'invite.expired', 'ping')),
    payload TEXT NOT NULL,
    dedupe_key TEXT,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    failures INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    leased_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (endpoint_id, dedupe_key)
);
CREATE INDEX webhook_messages_due ON webhook_messages (status, next_attempt_at);
CREATE INDEX webhook_messages_endpoint ON webhook_messages (endpoint_id, created_at);

-- Every attempt to deliver a message: the HTTP status that came back, or why none did.
CREATE TABLE webhook_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    message_id TEXT NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    status_code INTEGER,
    error TEXT,
    started_at TIMESTAMP NOT NULL,
    duration_ms BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_message ON webhook_attempts (message_id, attempt);
