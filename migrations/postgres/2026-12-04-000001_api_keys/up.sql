-- Keep in step with the other backend's migration: a test compares the tables and columns both produce.
-- API keys: a key acts as its owner within its scopes. Only a SHA-256 hash of the whole key is
-- kept (the key is 32 random bytes, so a fast hash is safe, unlike a password); `prefix` is the
-- key's visible start, shown in lists so the owner can tell keys apart.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    -- Space-separated, e.g. 'jobs:read reports:read'.
    scopes TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    -- NULL: never expires.
    expires_at TIMESTAMP,
    last_used_at TIMESTAMP,
    -- NULL: live. A revoked key is kept (with its usage log) until its owner deletes it.
    revoked_at TIMESTAMP
);
CREATE INDEX api_keys_user ON api_keys (user_id);

-- One row per request made with a key: the route (its pattern, never the key or the query
-- string), the status answered and when. Old rows are swept (`api_key_usage_retention`).
CREATE TABLE api_key_usage (
    id TEXT PRIMARY KEY NOT NULL,
    key_id TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    method TEXT NOT NULL,
    route TEXT NOT NULL,
    status INTEGER NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX api_key_usage_key_at ON api_key_usage (key_id, at);
