-- Keep in step with the other backend's migration: a test compares the tables and columns both produce.
-- The node that received a batch transcription's upload: it holds the recording on its own disk,
-- so it alone runs the task (nodes sharing one PostgreSQL each work through their own queue).
-- NULL: queued before nodes were named, by the one node there was; a starting node takes such a
-- task over when it holds the recording.
ALTER TABLE transcriptions ADD COLUMN node TEXT;
CREATE INDEX transcriptions_node ON transcriptions (node, status, created_at);
