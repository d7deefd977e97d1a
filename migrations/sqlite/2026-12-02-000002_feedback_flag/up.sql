-- Why an answer got no credit for its wording: addresses_grader, pasted_rubric or off_topic.
ALTER TABLE turn_feedback ADD COLUMN flag TEXT;
