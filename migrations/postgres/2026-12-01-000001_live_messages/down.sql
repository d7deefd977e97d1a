ALTER TABLE messages DROP COLUMN question_position;
ALTER TABLE messages DROP COLUMN kind;
