ALTER TABLE turn_feedback DROP COLUMN flag;
