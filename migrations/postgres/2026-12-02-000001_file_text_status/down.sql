ALTER TABLE files DROP COLUMN text_status;
