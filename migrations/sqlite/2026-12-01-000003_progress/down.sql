DROP TABLE bookmarks;
ALTER TABLE users DROP COLUMN leaderboard_opt_in;
