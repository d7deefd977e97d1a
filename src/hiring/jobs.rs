//! Jobs: a recruiter's openings, each with the interview its candidates get. Only the owner
//! (or an admin) sees or changes one; anyone else gets "not found".

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{may_manage, HiringError};
use crate::auth::User;
use crate::db::jobs::JobRow;
use crate::db::{self, DbConn, DbError, DbPool};
use crate::domain::{Difficulty, Invalid, JobId, JobStatus, UserId};
use crate::interview::catalog::{json_strings, to_json};
use crate::interview::plan::RawRequest;

const MAX_TITLE: usize = 200;
const MAX_DESCRIPTION: usize = 10_000;
const MAX_LOCATION: usize = 200;

/// A job as the API takes it when creating one.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewJob {
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub skills: Vec<String>,
    pub interview_type: String,
    #[serde(default = "default_difficulty")]
    pub difficulty: String,
    pub question_count: i64,
    pub time_limit_minutes: i64,
    #[serde(default)]
    pub show_scores: bool,
}

fn default_difficulty() -> String {
    "medium".into()
}

/// A change to a job: the fields given are replaced.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobChange {
    pub title: Option<String>,
    pub description: Option<String>,
    pub location: Option<String>,
    pub skills: Option<Vec<String>>,
    pub interview_type: Option<String>,
    pub difficulty: Option<String>,
    pub question_count: Option<i64>,
    pub time_limit_minutes: Option<i64>,
    pub show_scores: Option<bool>,
    /// `open` or `closed`.
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Job {
    pub id: JobId,
    pub owner_id: UserId,
    pub title: String,
    pub description: String,
    pub location: String,
    pub skills: Vec<String>,
    pub interview_type: String,
    pub difficulty: Difficulty,
    pub question_count: i32,
    pub time_limit_minutes: i32,
    /// Whether candidates see their scores and feedback.
    pub show_scores: bool,
    pub status: JobStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl From<JobRow> for Job {
    fn from(row: JobRow) -> Self {
        Self {
            skills: json_strings("jobs.skills", &row.skills),
            id: row.id,
            owner_id: row.owner_id,
            title: row.title,
            description: row.description,
            location: row.location,
            interview_type: row.interview_type,
            difficulty: row.difficulty,
            question_count: row.question_count,
            time_limit_minutes: row.time_limit_minutes,
            show_scores: row.show_scores,
            status: row.status,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
            closed_at: row.closed_at.map(|t| t.and_utc()),
        }
    }
}

/// The interview every candidate of `job` is planned with.
pub fn interview_request(job: &JobRow) -> RawRequest {
    RawRequest {
        interview_type: job.interview_type.clone(),
        skills: json_strings("jobs.skills", &job.skills),
        difficulty: job.difficulty.as_str().to_owned(),
        question_count: i64::from(job.question_count),
        time_limit_minutes: i64::from(job.time_limit_minutes),
    }
}

pub async fn create(pool: &DbPool, user: &User, new: NewJob) -> Result<Job, HiringError> {
    let mut conn = pool.get().await?;
    let now = db::now();
    let mut row = JobRow {
        id: JobId::random(),
        owner_id: user.id.clone(),
        title: String::new(),
        description: String::new(),
        location: String::new(),
        skills: String::new(),
        interview_type: String::new(),
        difficulty: Difficulty::Medium,
        question_count: 0,
        time_limit_minutes: 0,
        show_scores: new.show_scores,
        status: JobStatus::Open,
        created_at: now,
        updated_at: now,
        closed_at: None,
    };
    apply_texts(
        &mut row,
        Some(new.title),
        Some(new.description),
        Some(new.location),
    )?;
    let request = RawRequest {
        interview_type: new.interview_type,
        skills: new.skills,
        difficulty: new.difficulty,
        question_count: new.question_count,
        time_limit_minutes: new.time_limit_minutes,
    };
    apply_interview(&mut conn, &mut row, &request).await?;
    db::jobs::insert(&mut conn, &row).await?;
    tracing::info!(job_id = %row.id, "job created");
    Ok(row.into())
}

/// My jobs (everyone's for an admin), newest first.
pub async fn list(pool: &DbPool, user: &User) -> Result<Vec<Job>, HiringError> {
    let mut conn = pool.get().await?;
    let owner = (user.role != crate::domain::Role::Admin).then_some(&user.id);
    Ok(db::jobs::list(&mut conn, owner)
        .await?
        .into_iter()
        .map(Job::from)
        .collect())
}

pub async fn get(pool: &DbPool, user: &User, id: &JobId) -> Result<Job, HiringError> {
    let mut conn = pool.get().await?;
    Ok(managed(&mut conn, user, id).await?.into())
}

/// The job `id` when `user` may manage it; otherwise not found (as if it did not exist).
pub async fn managed(conn: &mut DbConn, user: &User, id: &JobId) -> Result<JobRow, HiringError> {
    match db::jobs::find(conn, id).await? {
        Some(job) if may_manage(user, &job.owner_id) => Ok(job),
        _ => Err(DbError::NotFound.into()),
    }
}

pub async fn update(
    pool: &DbPool,
    user: &User,
    id: &JobId,
    change: JobChange,
) -> Result<Job, HiringError> {
    let mut conn = pool.get().await?;
    let mut row = managed(&mut conn, user, id).await?;
    apply_texts(&mut row, change.title, change.description, change.location)?;
    let touches_interview = change.skills.is_some()
        || change.interview_type.is_some()
        || change.difficulty.is_some()
        || change.question_count.is_some()
        || change.time_limit_minutes.is_some();
    if touches_interview {
        let current = interview_request(&row);
        let request = RawRequest {
            interview_type: change.interview_type.unwrap_or(current.interview_type),
            skills: change.skills.unwrap_or(current.skills),
            difficulty: change.difficulty.unwrap_or(current.difficulty),
            question_count: change.question_count.unwrap_or(current.question_count),
            time_limit_minutes: change
                .time_limit_minutes
                .unwrap_or(current.time_limit_minutes),
        };
        apply_interview(&mut conn, &mut row, &request).await?;
    }
    if let Some(show) = change.show_scores {
        row.show_scores = show;
    }
    let now = db::now();
    let status = change.status.as_deref().map(JobStatus::parse).transpose()?;
    match status {
        None => {}
        Some(JobStatus::Open) => {
            row.status = JobStatus::Open;
            row.closed_at = None;
        }
        Some(JobStatus::Closed) => {
            if row.status != JobStatus::Closed {
                row.closed_at = Some(now);
            }
            row.status = JobStatus::Closed;
        }
    }
    row.updated_at = now;
    db::jobs::update(&mut conn, &row).await?;
    tracing::info!(job_id = %row.id, status = %row.status, "job updated");
    Ok(row.into())
}

fn apply_texts(
    row: &mut JobRow,
    title: Option<String>,
    description: Option<String>,
    location: Option<String>,
) -> Result<(), Invalid> {
    if let Some(title) = title {
        row.title = checked_text("title", &title, 1, MAX_TITLE)?;
    }
    if let Some(description) = description {
        row.description = checked_text("description", &description, 0, MAX_DESCRIPTION)?;
    }
    if let Some(location) = location {
        row.location = checked_text("location", &location, 0, MAX_LOCATION)?;
    }
    Ok(())
}

fn checked_text(field: &str, text: &str, min: usize, max: usize) -> Result<String, Invalid> {
    let text = text.trim();
    let chars = text.chars().count();
    if chars < min || chars > max {
        return Err(Invalid(format!(
            "{field}: must be {min} to {max} characters, got {chars}"
        )));
    }
    Ok(text.to_owned())
}

/// Checks the interview settings the way a planned interview is checked, including that the
/// bank has the questions (so adding a candidate cannot fail on them later).
async fn apply_interview(
    conn: &mut DbConn,
    row: &mut JobRow,
    request: &RawRequest,
) -> Result<(), HiringError> {
    let (checked, _) = crate::interview::interviews::plan_from_bank(conn, request).await?;
    row.interview_type = checked.interview_type;
    row.skills = to_json(&checked.skills);
    row.difficulty = checked.difficulty;
    row.question_count = i32::try_from(checked.question_count).unwrap_or(i32::MAX);
    row.time_limit_minutes = i32::try_from(checked.time_limit_minutes).unwrap_or(i32::MAX);
    Ok(())
}
