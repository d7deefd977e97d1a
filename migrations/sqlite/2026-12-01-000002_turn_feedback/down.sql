DROP TABLE turn_feedback;
