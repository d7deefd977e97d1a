DELETE FROM emails WHERE kind IN ('password_reset', 'verify_email');
ALTER TABLE emails DROP CONSTRAINT emails_kind_check;
ALTER TABLE emails ADD CONSTRAINT emails_kind_check CHECK (kind IN ('invite', 'completed'));
DROP TABLE identities;
DROP TABLE one_time_codes;
ALTER TABLE users DROP COLUMN last_sign_in_at;
ALTER TABLE users DROP COLUMN disabled_at;
ALTER TABLE users DROP COLUMN email_verified_at;
