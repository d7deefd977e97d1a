//! Queries on `turn_feedback`: the feedback on each answer of an interview.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::turn_feedback;
use super::{DbConn, DbError};
use crate::db_run;
use crate::domain::{FeedbackSource, Flag, InterviewId, MessageId};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = turn_feedback)]
pub struct FeedbackRow {
    pub id: String,
    pub interview_id: InterviewId,
    /// The candidate message the feedback is about.
    pub message_id: MessageId,
    pub question_position: i32,
    pub score: i32,
    /// JSON array of booleans, one per rubric point.
    pub covered: String,
    pub strength: String,
    pub improvement: String,
    /// `model` or `fallback`.
    pub source: FeedbackSource,
    pub fallback_reason: Option<String>,
    pub words_per_minute: Option<f64>,
    pub filler_count: i32,
    /// JSON of the delivery metrics.
    pub delivery: String,
    pub created_at: NaiveDateTime,
    /// Why the answer got no credit for its wording: `addresses_grader`, `pasted_rubric` or
    /// `off_topic`.
    pub flag: Option<Flag>,
}

pub async fn insert(conn: &mut DbConn, row: &FeedbackRow) -> Result<(), DbError> {
    db_run!(conn, {
        diesel::insert_into(turn_feedback::table)
            .values(row)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// The interview's feedback in the order of its answers.
pub async fn of_interview(
    conn: &mut DbConn,
    interview_id: &InterviewId,
) -> Result<Vec<FeedbackRow>, DbError> {
    db_run!(conn, {
        Ok(turn_feedback::table
            .filter(turn_feedback::interview_id.eq(interview_id))
            .order((turn_feedback::question_position, turn_feedback::created_at))
            .select(FeedbackRow::as_select())
            .load(conn)
            .await?)
    })
}
