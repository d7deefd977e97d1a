DROP TABLE emails;
DROP TABLE files;
DROP TABLE invites;
DROP TABLE candidates;
DROP TABLE jobs;
