-- How reading an upload's text went: ok, unreadable or too_complex.
ALTER TABLE files ADD COLUMN text_status TEXT NOT NULL DEFAULT 'ok';
