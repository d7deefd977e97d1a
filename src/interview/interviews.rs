//! Interviews as their owners see them: plan and store a new one, list mine, read one with its
//! questions and messages, delete one. Another user's interview behaves exactly like a missing
//! one ([`DbError::NotFound`]), so ids of other people's interviews cannot be probed.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::catalog::{json_strings, to_json};
use super::feedback::{self, TurnFeedback};
use super::plan::{plan, Candidate, InterviewRequest, PlanError, RawRequest};
use crate::db::catalog::QuestionRow;
use crate::db::feedback::FeedbackRow;
use crate::db::interviews::{InterviewQuestionRow, InterviewRow, MessageRow};
use crate::db::{self, DbError, DbPool};
use crate::domain::{
    Difficulty, InterviewId, InterviewMode, InterviewStatus, Invalid, MessageId, MessageKind,
    QuestionId, Role, Speaker, UserId, WebhookEvent,
};

pub const DEFAULT_PER_PAGE: i64 = 20;
pub const MAX_PER_PAGE: i64 = 100;

#[derive(Debug, thiserror::Error)]
pub enum InterviewError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A stored row holds a value the code does not know (a bug, or a newer schema).
    #[error("stored interview data is invalid: {0}")]
    StoredData(#[from] Invalid),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// An interview without its questions and messages (list entries).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Interview {
    pub id: InterviewId,
    pub interview_type: String,
    pub skills: Vec<String>,
    pub difficulty: Difficulty,
    pub question_count: i32,
    pub time_limit_minutes: i32,
    pub mode: InterviewMode,
    pub status: InterviewStatus,
    pub score: Option<f64>,
    pub summary: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl From<InterviewRow> for Interview {
    fn from(row: InterviewRow) -> Self {
        Self {
            skills: json_strings("interviews.skills", &row.skills),
            difficulty: row.difficulty,
            mode: row.mode,
            status: row.status,
            id: row.id,
            interview_type: row.interview_type,
            question_count: row.question_count,
            time_limit_minutes: row.time_limit_minutes,
            score: row.score,
            summary: row.summary,
            created_at: row.created_at.and_utc(),
            started_at: row.started_at.map(|t| t.and_utc()),
            completed_at: row.completed_at.map(|t| t.and_utc()),
        }
    }
}

/// A planned question as the candidate sees it: no rubric.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PlannedQuestion {
    pub position: i32,
    pub question_id: QuestionId,
    pub text: String,
}

impl From<InterviewQuestionRow> for PlannedQuestion {
    fn from(row: InterviewQuestionRow) -> Self {
        Self {
            position: row.position,
            question_id: row.question_id,
            text: row.text,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Message {
    pub id: MessageId,
    pub seq: i32,
    pub role: Speaker,
    pub text: String,
    pub audio_ms: Option<i64>,
    pub transcription_ms: Option<i64>,
    pub generation_ms: Option<i64>,
    pub interrupted: bool,
    pub created_at: DateTime<Utc>,
    pub kind: MessageKind,
    pub question_position: Option<i32>,
}

impl From<MessageRow> for Message {
    fn from(row: MessageRow) -> Self {
        Self {
            id: row.id,
            seq: row.seq,
            role: row.role,
            text: row.text,
            audio_ms: row.audio_ms,
            transcription_ms: row.transcription_ms,
            generation_ms: row.generation_ms,
            interrupted: row.interrupted,
            created_at: row.created_at.and_utc(),
            kind: row.kind,
            question_position: row.question_position,
        }
    }
}

/// An interview with its planned questions and its conversation so far.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct InterviewDetail {
    #[serde(flatten)]
    pub interview: Interview,
    pub questions: Vec<PlannedQuestion>,
    pub messages: Vec<Message>,
    /// Feedback on the answers so far, in the order of the questions.
    pub feedback: Vec<TurnFeedback>,
}

impl InterviewDetail {
    /// What a candidate invited by link sees: the planned questions only once asked.
    pub fn hide_unasked_questions(&mut self) {
        let asked = self
            .messages
            .iter()
            .filter(|m| m.role == Speaker::Interviewer)
            .filter_map(|m| m.question_position)
            .max()
            .unwrap_or(0);
        self.questions.retain(|q| q.position <= asked);
    }

    /// Without scores: no feedback, score or summary.
    pub fn hide_scores(&mut self) {
        self.feedback.clear();
        self.interview.score = None;
        self.interview.summary = None;
    }
}

/// Stored feedback as shown, each with its question's rubric.
pub fn feedback_shown(
    rows: Vec<FeedbackRow>,
    questions: &[InterviewQuestionRow],
) -> Result<Vec<TurnFeedback>, Invalid> {
    rows.into_iter()
        .map(|row| {
            let rubric = questions
                .iter()
                .find(|q| q.position == row.question_position)
                .map(|q| json_strings("interview_questions.rubric", &q.rubric))
                .unwrap_or_default();
            feedback::record::from_row(row, &rubric)
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

/// Page numbers from a query string: `page` from 1, `per_page` from 1 to [`MAX_PER_PAGE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: i64,
    pub per_page: i64,
}

impl PageRequest {
    pub fn parse(page: Option<&str>, per_page: Option<&str>) -> Result<Self, Invalid> {
        let number = |name: &str, raw: Option<&str>, default: i64, max: i64| match raw {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    Invalid(format!(
                        "{name}: must be a whole number from 1 to {max}, got `{raw}`"
                    ))
                }),
        };
        Ok(Self {
            page: number("page", page, 1, 1_000_000)?,
            per_page: number("per_page", per_page, DEFAULT_PER_PAGE, MAX_PER_PAGE)?,
        })
    }

    pub fn offset(self) -> i64 {
        (self.page - 1).saturating_mul(self.per_page)
    }
}

/// Plans an interview from the enabled bank questions and stores it, pending.
#[tracing::instrument(skip(pool, raw), fields(interview_type = %raw.interview_type))]
pub async fn create(
    pool: &DbPool,
    owner_id: &UserId,
    raw: &RawRequest,
) -> Result<InterviewDetail, InterviewError> {
    create_with(pool, owner_id, raw, InterviewMode::Practice, None).await
}

/// Checks `raw` and picks its questions from the bank: the request and the bank rows picked.
pub async fn plan_from_bank(
    conn: &mut db::DbConn,
    raw: &RawRequest,
) -> Result<(InterviewRequest, Vec<QuestionRow>), InterviewError> {
    let types: HashSet<String> = db::catalog::list_interview_types(conn)
        .await?
        .into_iter()
        .map(|t| t.slug)
        .collect();
    let skills: HashSet<String> = db::catalog::list_skills(conn)
        .await?
        .into_iter()
        .map(|s| s.slug)
        .collect();
    let request = InterviewRequest::parse(raw, |t| types.contains(t), |s| skills.contains(s))?;
    let mut bank = db::catalog::list_questions(conn, Some(&request.interview_type), true).await?;
    let candidates: Vec<Candidate> = bank
        .iter()
        .map(|q| Candidate {
            id: q.id.clone(),
            difficulty: q.difficulty,
            skills: json_strings("questions.skills", &q.skills),
        })
        .collect();
    let picked = plan(&request, &candidates, &mut rand::thread_rng())?;
    let mut chosen: Vec<Option<QuestionRow>> = bank.drain(..).map(Some).collect();
    let questions = picked.iter().filter_map(|&i| chosen[i].take()).collect();
    Ok((request, questions))
}

/// Plans an interview of `mode` for `owner_id`. `lead_in`, when given, opens the first
/// question (a hiring interview's line about the candidate's resume).
pub async fn create_with(
    pool: &DbPool,
    owner_id: &UserId,
    raw: &RawRequest,
    mode: InterviewMode,
    lead_in: Option<&str>,
) -> Result<InterviewDetail, InterviewError> {
    let mut conn = pool.get().await?;
    let (request, picked) = plan_from_bank(&mut conn, raw).await?;

    let now = crate::db::now();
    let id = InterviewId::random();
    let row = InterviewRow {
        id: id.clone(),
        owner_id: owner_id.to_owned(),
        interview_type: request.interview_type.clone(),
        skills: to_json(&request.skills),
        difficulty: request.difficulty,
        question_count: i32::try_from(picked.len()).unwrap_or(i32::MAX),
        time_limit_minutes: i32::try_from(request.time_limit_minutes).unwrap_or(i32::MAX),
        mode,
        status: InterviewStatus::Pending,
        score: None,
        summary: None,
        created_at: now,
        started_at: None,
        completed_at: None,
    };
    let questions: Vec<InterviewQuestionRow> = picked
        .into_iter()
        .zip(1..)
        .map(|(q, position)| InterviewQuestionRow {
            interview_id: id.clone(),
            position,
            question_id: q.id,
            text: match lead_in {
                Some(lead) if position == 1 => format!("{lead} {}", q.text),
                _ => q.text,
            },
            rubric: q.rubric,
        })
        .collect();
    db::interviews::insert_planned(&mut conn, &row, &questions).await?;
    tracing::info!(interview_id = %id, questions = questions.len(), "interview planned");
    Ok(InterviewDetail {
        interview: row.into(),
        questions: questions.into_iter().map(PlannedQuestion::from).collect(),
        messages: Vec::new(),
        feedback: Vec::new(),
    })
}

/// The owner's interviews, newest first.
pub async fn list(
    pool: &DbPool,
    owner_id: &UserId,
    page: PageRequest,
) -> Result<Page<Interview>, InterviewError> {
    let mut conn = pool.get().await?;
    let (rows, total) =
        db::interviews::list_owned(&mut conn, owner_id, page.per_page, page.offset()).await?;
    Ok(Page {
        items: rows.into_iter().map(Interview::from).collect(),
        page: page.page,
        per_page: page.per_page,
        total,
    })
}

/// One of the owner's interviews with its questions and messages.
pub async fn get(
    pool: &DbPool,
    owner_id: &UserId,
    id: &InterviewId,
) -> Result<InterviewDetail, InterviewError> {
    let mut conn = pool.get().await?;
    let row = db::interviews::find_owned(&mut conn, id, owner_id)
        .await?
        .ok_or(DbError::NotFound)?;
    let questions = db::interviews::questions_of(&mut conn, id).await?;
    let messages = db::interviews::messages_of(&mut conn, id).await?;
    let feedback = db::feedback::of_interview(&mut conn, id).await?;
    Ok(InterviewDetail {
        interview: row.into(),
        feedback: feedback_shown(feedback, &questions)?,
        questions: questions.into_iter().map(PlannedQuestion::from).collect(),
        messages: messages.into_iter().map(Message::from).collect(),
    })
}

/// The report of one of the owner's interviews (partial while it is in progress).
pub async fn report(
    pool: &DbPool,
    owner_id: &UserId,
    id: &InterviewId,
) -> Result<super::report::Report, InterviewError> {
    let mut conn = pool.get().await?;
    db::interviews::find_owned(&mut conn, id, owner_id)
        .await?
        .ok_or(DbError::NotFound)?;
    report_of(&mut conn, id).await
}

/// Whose interview the viewer (`viewer_id`, with `viewer_role`) may read as: their own, or —
/// for an admin — any hiring interview (admins manage every job). Anything else is not found.
pub async fn readable_as(
    pool: &DbPool,
    (viewer_id, viewer_role): (&UserId, Role),
    id: &InterviewId,
) -> Result<UserId, InterviewError> {
    let mut conn = pool.get().await?;
    match db::interviews::find(&mut conn, id).await? {
        Some(row) if row.owner_id == *viewer_id => Ok(row.owner_id),
        Some(row) if viewer_role == Role::Admin && row.mode == InterviewMode::Hiring => {
            Ok(row.owner_id)
        }
        _ => Err(DbError::NotFound.into()),
    }
}

/// The report as a PDF, with the transcript and the feedback on each answer.
#[tracing::instrument(skip(pool))]
pub async fn report_pdf(
    pool: &DbPool,
    owner_id: &UserId,
    id: &InterviewId,
) -> Result<Vec<u8>, InterviewError> {
    let detail = get(pool, owner_id, id).await?;
    let mut conn = pool.get().await?;
    let report = report_of(&mut conn, id).await?;
    let type_name = db::catalog::list_interview_types(&mut conn)
        .await?
        .into_iter()
        .find(|t| t.slug == detail.interview.interview_type)
        .map_or_else(|| detail.interview.interview_type.clone(), |t| t.name);
    drop(conn);
    let interview = &detail.interview;
    let day = interview
        .completed_at
        .or(interview.started_at)
        .unwrap_or(interview.created_at)
        .format("%Y-%m-%d");
    let subtitle = format!(
        "{type_name} interview \u{b7} {} \u{b7} {} \u{b7} {day}",
        interview.difficulty.as_str(),
        interview.status.as_str().replace('_', " "),
    );
    let transcript = detail
        .messages
        .iter()
        .map(|m| super::report::pdf::TranscriptEntry {
            speaker: if m.role == Speaker::Candidate {
                "You"
            } else {
                "Interviewer"
            },
            text: &m.text,
            feedback: detail.feedback.iter().find(|f| f.message_id == m.id),
        })
        .collect();
    Ok(super::report::pdf::render(&super::report::pdf::ReportPdf {
        title: "viva interview report",
        subtitle: &subtitle,
        report: &report,
        transcript,
    }))
}

/// The interview's report, and its overall score and summary written to the interview (done
/// when it ends, so lists can show them).
pub async fn settle_report(
    pool: &DbPool,
    id: &InterviewId,
) -> Result<super::report::Report, InterviewError> {
    let mut conn = pool.get().await?;
    let report = report_of(&mut conn, id).await?;
    let score = report.overall.map(f64::from);
    db::interviews::set_result(&mut conn, id, score, &report.summary).await?;
    announce_completion(&mut conn, id, &report).await;
    Ok(report)
}

/// Queues `interview.completed`, with the report, for a completed hiring interview's
/// recruiter (once per endpoint, however often the report is settled).
async fn announce_completion(
    conn: &mut db::DbConn,
    id: &InterviewId,
    report: &super::report::Report,
) {
    let interview = match db::interviews::find(conn, id).await {
        Ok(Some(row)) if row.status == InterviewStatus::Completed => row,
        Ok(_) => return,
        Err(e) => {
            tracing::error!(interview_id = %id, error = %e, "could not queue a webhook message");
            return;
        }
    };
    let mut extra = serde_json::Map::new();
    extra.insert(
        "completed_at".into(),
        serde_json::json!(interview.completed_at.map(|t| t.and_utc())),
    );
    extra.insert("score".into(), serde_json::json!(report.overall));
    extra.insert("report".into(), serde_json::json!(report));
    let event = WebhookEvent::InterviewCompleted;
    crate::webhooks::outbox::announce(conn, id, event, extra, true).await;
}

pub(super) async fn report_of(
    conn: &mut db::DbConn,
    id: &InterviewId,
) -> Result<super::report::Report, InterviewError> {
    let names = skill_names(conn).await?;
    report_with_names(conn, id, &names).await
}

/// Skills' display names by slug.
pub(super) async fn skill_names(
    conn: &mut db::DbConn,
) -> Result<std::collections::HashMap<String, String>, DbError> {
    Ok(db::catalog::list_skills(conn)
        .await?
        .into_iter()
        .map(|s| (s.slug, s.name))
        .collect())
}

/// [`report_of`] with the skill names already loaded (for many reports in a row).
pub(super) async fn report_with_names(
    conn: &mut db::DbConn,
    id: &InterviewId,
    skill_names: &std::collections::HashMap<String, String>,
) -> Result<super::report::Report, InterviewError> {
    let questions = db::interviews::questions_of(conn, id).await?;
    let skills = db::interviews::question_skills(conn, id).await?;
    let feedback = feedback_shown(db::feedback::of_interview(conn, id).await?, &questions)?;
    let questions: Vec<super::report::ReportQuestion> = questions
        .into_iter()
        .map(|q| super::report::ReportQuestion {
            skills: skills
                .iter()
                .find(|(position, _)| *position == q.position)
                .map(|(_, raw)| json_strings("questions.skills", raw))
                .unwrap_or_default(),
            position: q.position,
            text: q.text,
        })
        .collect();
    Ok(super::report::build(&questions, &feedback, skill_names))
}

/// Deletes one of the owner's interviews with everything stored for it.
#[tracing::instrument(skip(pool))]
pub async fn delete(
    pool: &DbPool,
    owner_id: &UserId,
    id: &InterviewId,
) -> Result<(), InterviewError> {
    let mut conn = pool.get().await?;
    if db::interviews::delete_owned(&mut conn, id, owner_id).await? {
        tracing::info!("interview deleted");
        Ok(())
    } else {
        Err(DbError::NotFound.into())
    }
}

/// An interview still in progress this long after its time limit ran out was left: nobody
/// came back to finish it.
pub const ABANDONED_AFTER: chrono::Duration = chrono::Duration::hours(1);

/// Whether an interview in progress since `started_at` with a limit of `limit_minutes` was
/// abandoned by `now`.
pub fn is_abandoned(
    started_at: Option<chrono::NaiveDateTime>,
    limit_minutes: i32,
    now: chrono::NaiveDateTime,
) -> bool {
    started_at.is_some_and(|started| {
        started + chrono::Duration::minutes(i64::from(limit_minutes)) + ABANDONED_AFTER < now
    })
}

/// Marks interviews left in progress long past their time limit `abandoned`; returns how many.
pub async fn abandon_stale(pool: &DbPool, now: chrono::NaiveDateTime) -> Result<usize, DbError> {
    let mut conn = pool.get().await?;
    let mut abandoned = 0;
    for (id, started_at, limit) in db::interviews::in_progress(&mut conn).await? {
        if is_abandoned(started_at, limit, now)
            && db::interviews::mark_ended(&mut conn, &id, InterviewStatus::Abandoned, now).await?
        {
            abandoned += 1;
        }
    }
    Ok(abandoned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interview_is_abandoned_an_hour_after_its_time_limit() {
        let start = chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
            .and_then(|d| d.and_hms_opt(9, 0, 0))
            .expect("a date");
        let at = |minutes: i64| start + chrono::Duration::minutes(minutes);
        assert!(!is_abandoned(Some(start), 30, at(89)));
        assert!(is_abandoned(Some(start), 30, at(91)));
        assert!(!is_abandoned(None, 30, at(10_000)), "never started");
    }

    #[test]
    fn page_requests_default_and_check_their_range() {
        assert_eq!(
            PageRequest::parse(None, None).expect("defaults"),
            PageRequest {
                page: 1,
                per_page: DEFAULT_PER_PAGE
            }
        );
        let p = PageRequest::parse(Some("3"), Some("10")).expect("valid");
        assert_eq!(p.offset(), 20);
        for (page, per_page) in [
            ("0", "10"),
            ("x", "10"),
            ("1", "0"),
            ("1", "101"),
            ("-1", "5"),
        ] {
            let e = PageRequest::parse(Some(page), Some(per_page)).expect_err("invalid");
            assert!(e.0.contains("must be a whole number"), "{e}");
        }
    }
}
