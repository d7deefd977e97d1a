DROP TABLE transcriptions;
