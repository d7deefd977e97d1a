-- Keep in step with migrations/sqlite: a test compares the tables and columns both produce.

-- Feedback on one answer (a candidate message): the content assessment against its question's
-- rubric (by the model, or the keyword fallback with the reason), and delivery metrics computed
-- from the audio and transcript. covered is a JSON array of booleans, one per rubric point;
-- delivery is the JSON of all delivery metrics (words per minute and fillers are also columns,
-- for reports across interviews).
CREATE TABLE turn_feedback (
    id TEXT PRIMARY KEY NOT NULL,
    interview_id TEXT NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
    message_id TEXT NOT NULL UNIQUE REFERENCES messages (id) ON DELETE CASCADE,
    question_position INTEGER NOT NULL,
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    covered TEXT NOT NULL,
    strength TEXT NOT NULL,
    improvement TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('model', 'fallback')),
    fallback_reason TEXT,
    words_per_minute DOUBLE PRECISION,
    filler_count INTEGER NOT NULL,
    delivery TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX turn_feedback_interview ON turn_feedback (interview_id);
