-- Keep in step with migrations/postgres: a test compares the tables and columns both produce.

-- Questions a user saved to practise.
CREATE TABLE bookmarks (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    question_id TEXT NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, question_id)
);

-- Whether the user appears on the leaderboard (display name, best score per interview type).
-- Off unless the user turns it on.
ALTER TABLE users ADD COLUMN leaderboard_opt_in BOOLEAN NOT NULL DEFAULT FALSE;
