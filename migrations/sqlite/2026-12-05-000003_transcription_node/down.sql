DROP INDEX transcriptions_node;
ALTER TABLE transcriptions DROP COLUMN node;
