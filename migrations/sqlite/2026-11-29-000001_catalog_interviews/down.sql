DROP TABLE messages;
DROP TABLE interview_questions;
DROP TABLE interviews;
DROP TABLE questions;
DROP TABLE interview_type_skills;
DROP TABLE skills;
DROP TABLE interview_types;
