CREATE TABLE emails_old (
    id TEXT PRIMARY KEY NOT NULL,
    interview_id TEXT REFERENCES interviews (id) ON DELETE SET NULL,
    kind TEXT NOT NULL CHECK (kind IN ('invite', 'completed')),
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('sent', 'failed', 'not_configured')),
    error TEXT,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO emails_old SELECT id, interview_id, kind, recipient, subject, status, error, created_at
    FROM emails WHERE kind IN ('invite', 'completed');
DROP TABLE emails;
ALTER TABLE emails_old RENAME TO emails;
CREATE INDEX emails_interview ON emails (interview_id);
DROP TABLE identities;
DROP TABLE one_time_codes;
ALTER TABLE users DROP COLUMN last_sign_in_at;
ALTER TABLE users DROP COLUMN disabled_at;
ALTER TABLE users DROP COLUMN email_verified_at;
