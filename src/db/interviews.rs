//! Queries on an interview and what belongs to it: `interviews`, `interview_questions`,
//! `messages`. Deleting an interview deletes its questions and messages (ON DELETE CASCADE).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::schema::{interview_questions, interviews, messages, questions};
use super::{DbConn, DbError};
use crate::db_run;
use crate::domain::{
    Difficulty, InterviewId, InterviewMode, InterviewStatus, MessageId, MessageKind, QuestionId,
    Speaker, UserId,
};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = interviews)]
pub struct InterviewRow {
    pub id: InterviewId,
    pub owner_id: UserId,
    pub interview_type: String,
    /// JSON array of skill slugs.
    pub skills: String,
    pub difficulty: Difficulty,
    pub question_count: i32,
    pub time_limit_minutes: i32,
    pub mode: InterviewMode,
    pub status: InterviewStatus,
    pub score: Option<f64>,
    pub summary: Option<String>,
    pub created_at: NaiveDateTime,
    pub started_at: Option<NaiveDateTime>,
    pub completed_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = interview_questions)]
pub struct InterviewQuestionRow {
    pub interview_id: InterviewId,
    pub position: i32,
    pub question_id: QuestionId,
    /// The question's text when the interview was planned.
    pub text: String,
    /// The rubric (JSON array) when the interview was planned.
    pub rubric: String,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = messages)]
pub struct MessageRow {
    pub id: MessageId,
    pub interview_id: InterviewId,
    pub seq: i32,
    pub role: Speaker,
    pub text: String,
    pub audio_ms: Option<i64>,
    pub transcription_ms: Option<i64>,
    pub generation_ms: Option<i64>,
    pub interrupted: bool,
    pub created_at: NaiveDateTime,
    /// `answer`, or the interviewer's `question`, `follow_up`, `reask`, `clarify`, `closing`.
    pub kind: MessageKind,
    /// The planned question (1-based) the message belongs to.
    pub question_position: Option<i32>,
}

/// Stores a planned interview and its questions together.
pub async fn insert_planned(
    conn: &mut DbConn,
    interview: &InterviewRow,
    questions: &[InterviewQuestionRow],
) -> Result<(), DbError> {
    db_run!(conn, {
        conn.transaction::<_, DbError, _>(async |conn| {
            diesel::insert_into(interviews::table)
                .values(interview)
                .execute(conn)
                .await?;
            for question in questions {
                diesel::insert_into(interview_questions::table)
                    .values(question)
                    .execute(conn)
                    .await?;
            }
            Ok(())
        })
        .await
    })
}

/// The interview when `owner_id` owns it; someone else's is `None`, exactly like a missing one.
pub async fn find_owned(
    conn: &mut DbConn,
    id: &InterviewId,
    owner_id: &UserId,
) -> Result<Option<InterviewRow>, DbError> {
    db_run!(conn, {
        Ok(interviews::table
            .find(id)
            .filter(interviews::owner_id.eq(owner_id))
            .select(InterviewRow::as_select())
            .first(conn)
            .await
            .optional()?)
    })
}

/// The interview whoever owns it (for the live session, which checked access before).
pub async fn find(conn: &mut DbConn, id: &InterviewId) -> Result<Option<InterviewRow>, DbError> {
    db_run!(conn, {
        Ok(interviews::table
            .find(id)
            .select(InterviewRow::as_select())
            .first(conn)
            .await
            .optional()?)
    })
}

/// Stores one message of the conversation. A second message with the same `seq` is a
/// [`DbError::UniqueViolation`] (two sessions writing one interview).
pub async fn insert_message(conn: &mut DbConn, message: &MessageRow) -> Result<(), DbError> {
    db_run!(conn, {
        diesel::insert_into(messages::table)
            .values(message)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// `pending` → `in_progress` with its start time; returns whether it changed anything.
pub async fn mark_started(
    conn: &mut DbConn,
    id: &InterviewId,
    at: NaiveDateTime,
) -> Result<bool, DbError> {
    let changed = db_run!(conn, {
        diesel::update(
            interviews::table
                .find(id)
                .filter(interviews::status.eq(InterviewStatus::Pending)),
        )
        .set((
            interviews::status.eq(InterviewStatus::InProgress),
            interviews::started_at.eq(Some(at)),
        ))
        .execute(conn)
        .await?
    });
    Ok(changed == 1)
}

/// `pending` or `in_progress` → `status` (`completed` or `abandoned`) with its end time.
pub async fn mark_ended(
    conn: &mut DbConn,
    id: &InterviewId,
    status: InterviewStatus,
    at: NaiveDateTime,
) -> Result<bool, DbError> {
    let changed = db_run!(conn, {
        diesel::update(interviews::table.find(id).filter(
            interviews::status.eq_any([InterviewStatus::Pending, InterviewStatus::InProgress]),
        ))
        .set((
            interviews::status.eq(status),
            interviews::completed_at.eq(Some(at)),
        ))
        .execute(conn)
        .await?
    });
    Ok(changed == 1)
}

/// Moves the interview from status `from` to `to`; `false` when it was not in `from`.
pub async fn set_status(
    conn: &mut DbConn,
    id: &InterviewId,
    from: InterviewStatus,
    to: InterviewStatus,
) -> Result<bool, DbError> {
    let changed = db_run!(conn, {
        diesel::update(
            interviews::table
                .find(id)
                .filter(interviews::status.eq(from)),
        )
        .set(interviews::status.eq(to))
        .execute(conn)
        .await?
    });
    Ok(changed == 1)
}

/// Records the interview's overall score (0–100) and summary sentence.
pub async fn set_result(
    conn: &mut DbConn,
    id: &InterviewId,
    score: Option<f64>,
    summary: &str,
) -> Result<(), DbError> {
    db_run!(conn, {
        diesel::update(interviews::table.find(id))
            .set((
                interviews::score.eq(score),
                interviews::summary.eq(Some(summary)),
            ))
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Interviews in progress with when they started and their time limit in minutes.
pub async fn in_progress(
    conn: &mut DbConn,
) -> Result<Vec<(InterviewId, Option<NaiveDateTime>, i32)>, DbError> {
    db_run!(conn, {
        Ok(interviews::table
            .filter(interviews::status.eq(InterviewStatus::InProgress))
            .select((
                interviews::id,
                interviews::started_at,
                interviews::time_limit_minutes,
            ))
            .load(conn)
            .await?)
    })
}

/// One page of the owner's practice interviews (hiring ones are listed by job), newest
/// first, and how many there are in all.
pub async fn list_owned(
    conn: &mut DbConn,
    owner_id: &UserId,
    limit: i64,
    offset: i64,
) -> Result<(Vec<InterviewRow>, i64), DbError> {
    db_run!(conn, {
        let rows = interviews::table
            .filter(interviews::owner_id.eq(owner_id))
            .filter(interviews::mode.eq(InterviewMode::Practice))
            .order((interviews::created_at.desc(), interviews::id.desc()))
            .limit(limit)
            .offset(offset)
            .select(InterviewRow::as_select())
            .load(conn)
            .await?;
        let total = interviews::table
            .filter(interviews::owner_id.eq(owner_id))
            .filter(interviews::mode.eq(InterviewMode::Practice))
            .count()
            .get_result(conn)
            .await?;
        Ok((rows, total))
    })
}

/// The owner's completed practice interviews, most recent first, at most `limit`.
pub async fn completed_owned(
    conn: &mut DbConn,
    owner_id: &UserId,
    limit: i64,
) -> Result<Vec<InterviewRow>, DbError> {
    db_run!(conn, {
        Ok(interviews::table
            .filter(interviews::owner_id.eq(owner_id))
            .filter(interviews::mode.eq(InterviewMode::Practice))
            .filter(interviews::status.eq(InterviewStatus::Completed))
            .filter(interviews::completed_at.is_not_null())
            .order((interviews::completed_at.desc(), interviews::id.desc()))
            .limit(limit)
            .select(InterviewRow::as_select())
            .load(conn)
            .await?)
    })
}

/// Whether the bank question was planned in one of the owner's interviews.
pub async fn was_asked(
    conn: &mut DbConn,
    owner_id: &UserId,
    question_id: &QuestionId,
) -> Result<bool, DbError> {
    db_run!(conn, {
        let found: i64 = interview_questions::table
            .inner_join(interviews::table)
            .filter(interviews::owner_id.eq(owner_id))
            .filter(interview_questions::question_id.eq(question_id))
            .count()
            .get_result(conn)
            .await?;
        Ok(found > 0)
    })
}

/// Rewrites the first planned question as the bank has it, opened by `lead_in`.
pub async fn retailor_first_question(
    conn: &mut DbConn,
    interview_id: &InterviewId,
    lead_in: Option<&str>,
) -> Result<(), DbError> {
    db_run!(conn, {
        let bank_text: Option<String> = interview_questions::table
            .inner_join(questions::table)
            .filter(interview_questions::interview_id.eq(interview_id))
            .filter(interview_questions::position.eq(1))
            .select(questions::text)
            .first(conn)
            .await
            .optional()?;
        let Some(bank_text) = bank_text else {
            return Ok(());
        };
        let text = match lead_in {
            Some(lead) => format!("{lead} {bank_text}"),
            None => bank_text,
        };
        diesel::update(interview_questions::table.find((interview_id, 1)))
            .set(interview_questions::text.eq(text))
            .execute(conn)
            .await?;
        Ok(())
    })
}

pub async fn questions_of(
    conn: &mut DbConn,
    interview_id: &InterviewId,
) -> Result<Vec<InterviewQuestionRow>, DbError> {
    db_run!(conn, {
        Ok(interview_questions::table
            .filter(interview_questions::interview_id.eq(interview_id))
            .order(interview_questions::position)
            .select(InterviewQuestionRow::as_select())
            .load(conn)
            .await?)
    })
}

pub async fn messages_of(
    conn: &mut DbConn,
    interview_id: &InterviewId,
) -> Result<Vec<MessageRow>, DbError> {
    db_run!(conn, {
        Ok(messages::table
            .filter(messages::interview_id.eq(interview_id))
            .order(messages::seq)
            .select(MessageRow::as_select())
            .load(conn)
            .await?)
    })
}

/// Each planned question's position and the skills (JSON array) its bank question practises.
pub async fn question_skills(
    conn: &mut DbConn,
    interview_id: &InterviewId,
) -> Result<Vec<(i32, String)>, DbError> {
    db_run!(conn, {
        Ok(interview_questions::table
            .inner_join(questions::table)
            .filter(interview_questions::interview_id.eq(interview_id))
            .order(interview_questions::position)
            .select((interview_questions::position, questions::skills))
            .load(conn)
            .await?)
    })
}

/// Deletes the interview (with its questions and messages) when `owner_id` owns it; returns
/// whether it did.
pub async fn delete_owned(
    conn: &mut DbConn,
    id: &InterviewId,
    owner_id: &UserId,
) -> Result<bool, DbError> {
    let deleted = db_run!(conn, {
        diesel::delete(
            interviews::table
                .find(id)
                .filter(interviews::owner_id.eq(owner_id)),
        )
        .execute(conn)
        .await?
    });
    Ok(deleted == 1)
}
