-- Keep in step with the other backend's migration: a test compares the tables and columns both produce.
-- The account life cycle: verified emails, disabled accounts, the last sign-in, one-time codes
-- (password reset, email verification) and identities at OpenID Connect providers.

-- NULL: not verified (accounts made before this migration included).
ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMP;
-- NULL: enabled. A disabled account cannot sign in; its sessions ended when it was disabled.
ALTER TABLE users ADD COLUMN disabled_at TIMESTAMP;
ALTER TABLE users ADD COLUMN last_sign_in_at TIMESTAMP;

-- At most one live code per account and purpose; only a hash of the code is kept.
CREATE TABLE one_time_codes (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('password_reset', 'verify_email')),
    code_hash TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, purpose)
);

-- A sign-in at an OpenID Connect provider linked to an account: (issuer, subject) names the
-- person at the provider.
CREATE TABLE identities (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    email TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    UNIQUE (issuer, subject)
);
CREATE INDEX identities_user ON identities (user_id);

-- Emails now also carry password-reset and verification codes (SQLite cannot change a CHECK:
-- the table is rebuilt).
CREATE TABLE emails_new (
    id TEXT PRIMARY KEY NOT NULL,
    interview_id TEXT REFERENCES interviews (id) ON DELETE SET NULL,
    kind TEXT NOT NULL CHECK (kind IN ('invite', 'completed', 'password_reset', 'verify_email')),
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('sent', 'failed', 'not_configured')),
    error TEXT,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO emails_new SELECT id, interview_id, kind, recipient, subject, status, error, created_at FROM emails;
DROP TABLE emails;
ALTER TABLE emails_new RENAME TO emails;
CREATE INDEX emails_interview ON emails (interview_id);
