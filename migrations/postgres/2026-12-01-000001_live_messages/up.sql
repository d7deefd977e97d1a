-- Keep in step with migrations/sqlite: a test compares the tables and columns both produce.

-- What each message is in the interview, so a live session can be rebuilt from the stored
-- conversation alone (after a reconnect, a restart, or on another node): which planned question
-- it belongs to (1-based), and its kind: 'answer' for the candidate; 'question' (a planned
-- question, the greeting included), 'follow_up', 'reask', 'clarify' or 'closing' for the
-- interviewer.
ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'answer';
ALTER TABLE messages ADD COLUMN question_position INTEGER;
