DROP TABLE auth_sessions;
DROP TABLE users;
