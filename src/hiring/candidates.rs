//! Candidates: a person invited to a job, with their hiring interview (owned by the job's
//! recruiter), their invite, and their resume.

use std::path::{Path, PathBuf};

use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::invites::{self, InviteView};
use super::jobs;
use super::resume::{self, ResumeKind};
use super::{HiringError, Mailer};
use crate::auth::User;
use crate::db::candidates::CandidateRow;
use crate::db::files::FileRow;
use crate::db::interviews::InterviewRow;
use crate::db::{self, DbConn, DbError, DbPool};
use crate::domain::{Email, Invalid};
use crate::interview::interviews::{self, Mode};

const MAX_NAME: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCandidate {
    pub name: String,
    pub email: String,
    pub resume: Option<ResumeUpload>,
}

/// A resume sent inside the JSON body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumeUpload {
    pub filename: String,
    /// The file's bytes, base64.
    pub content_base64: String,
}

/// What adding a candidate, or hiring settings, need besides the database.
pub struct HiringContext<'a> {
    pub pool: &'a DbPool,
    pub mailer: &'a Mailer,
    pub public_url: &'a str,
    pub data_dir: &'a Path,
    pub invite_ttl: std::time::Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub id: String,
    pub job_id: String,
    pub name: String,
    pub email: String,
    pub interview_id: String,
    pub status: String,
    pub score: Option<f64>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The newest invite.
    pub invite: Option<InviteView>,
    pub resume: Option<ResumeInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResumeInfo {
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    /// The phrases the interview was tailored with.
    pub highlights: Vec<String>,
}

impl ResumeInfo {
    fn of(file: &FileRow) -> Self {
        Self {
            filename: file.filename.clone(),
            content_type: file.content_type.clone(),
            size_bytes: file.size_bytes,
            highlights: resume::highlights(&file.text),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Created {
    pub candidate: Candidate,
    /// The candidate's link, shown this once (only its hash is stored).
    pub invite_url: String,
    /// How the invite email went: `sent`, `failed` or `not_configured`.
    pub email_status: &'static str,
}

/// A resume checked and read, not yet stored.
struct ReadResume {
    kind: ResumeKind,
    bytes: Vec<u8>,
    filename: String,
    text: String,
}

/// Sniffs and reads a resume off the async threads (PDF parsing is CPU work).
async fn read_resume(filename: &str, bytes: Vec<u8>) -> Result<ReadResume, HiringError> {
    let kind = resume::sniff(&bytes)?;
    let filename = resume::clean_filename(filename, kind);
    let (bytes, text) = actix_web::rt::task::spawn_blocking(move || {
        let text = resume::extract_text(kind, &bytes);
        (bytes, text)
    })
    .await
    .map_err(|_| std::io::Error::other("resume reader stopped"))?;
    Ok(ReadResume {
        kind,
        bytes,
        filename,
        text,
    })
}

/// The interview's opening line about the resume, when it names something.
fn lead_in(resume: Option<&ReadResume>) -> Option<String> {
    let highlight = resume.and_then(|r| resume::highlights(&r.text).into_iter().next())?;
    Some(format!(
        "Your resume mentions {highlight}; draw on it if it fits."
    ))
}

pub async fn add(
    ctx: &HiringContext<'_>,
    user: &User,
    job_id: &str,
    new: NewCandidate,
) -> Result<Created, HiringError> {
    let mut conn = ctx.pool.get().await?;
    let job = jobs::managed(&mut conn, user, job_id).await?;
    if job.status != "open" {
        return Err(HiringError::JobClosed);
    }
    drop(conn);
    let name = new.name.trim().to_owned();
    let count = name.chars().count();
    if count == 0 || count > MAX_NAME {
        return Err(Invalid(format!(
            "name: must be 1 to {MAX_NAME} characters, got {count}"
        ))
        .into());
    }
    let email = Email::parse(&new.email).map_err(|e| Invalid(format!("email: {e}")))?;
    let resume = match new.resume {
        Some(upload) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(upload.content_base64.trim())
                .map_err(|e| Invalid(format!("resume.content_base64: {e}")))?;
            Some(read_resume(&upload.filename, bytes).await?)
        }
        None => None,
    };

    let request = jobs::interview_request(&job);
    let lead = lead_in(resume.as_ref());
    let interview = interviews::create_with(
        ctx.pool,
        &job.owner_id,
        &request,
        Mode::Hiring,
        lead.as_deref(),
    )
    .await?;
    let interview_id = interview.interview.id.clone();
    let mut conn = ctx.pool.get().await?;
    let row = CandidateRow {
        id: uuid::Uuid::new_v4().to_string(),
        job_id: job.id.clone(),
        interview_id: interview_id.clone(),
        name,
        email: email.as_str().to_owned(),
        created_at: db::now(),
    };
    db::candidates::insert(&mut conn, &row).await?;
    if let Some(resume) = resume {
        store_resume(&mut conn, ctx.data_dir, &interview_id, resume).await?;
    }
    let issued = invites::issue(&mut conn, &interview_id, ctx.invite_ttl).await?;
    drop(conn);
    let invite_url = invites::invite_url(ctx.public_url, &issued.token);
    tracing::info!(job_id = %job.id, candidate_id = %row.id, %interview_id, "candidate invited");

    let email_status = ctx
        .mailer
        .send(
            ctx.pool,
            super::email::Email {
                kind: "invite",
                interview_id: Some(&interview_id),
                to: &row.email,
                subject: format!("Your interview for {}", job.title),
                body: invite_body(&row.name, &job.title, &invite_url, issued.invite.expires_at),
            },
        )
        .await;
    let mut conn = ctx.pool.get().await?;
    let candidate = view(&mut conn, row, None).await?;
    Ok(Created {
        candidate,
        invite_url,
        email_status,
    })
}

fn invite_body(name: &str, job: &str, url: &str, expires: DateTime<Utc>) -> String {
    format!(
        "Hello {name},\n\n\
         You are invited to a recorded voice interview for {job}. It takes place in your \
         browser: open the link below, allow the microphone, and answer the interviewer's \
         questions in your own words. You need no account.\n\n\
         {url}\n\n\
         The link works until {} (UTC) and is for you alone.\n\n\
         Good luck!\n",
        expires.format("%Y-%m-%d %H:%M")
    )
}

/// Writes the file under `data_dir/files/` by its id and records it.
async fn store_resume(
    conn: &mut DbConn,
    data_dir: &Path,
    interview_id: &str,
    resume: ReadResume,
) -> Result<FileRow, HiringError> {
    let id = uuid::Uuid::new_v4().to_string();
    let path = file_path(data_dir, &id);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&path, &resume.bytes)?;
    let row = FileRow {
        id,
        interview_id: interview_id.to_owned(),
        kind: "resume".into(),
        filename: resume.filename,
        content_type: resume.kind.content_type().to_owned(),
        size_bytes: i64::try_from(resume.bytes.len()).unwrap_or(i64::MAX),
        sha256: hex::encode(Sha256::digest(&resume.bytes)),
        text: resume.text,
        created_at: db::now(),
    };
    db::files::insert(conn, &row).await?;
    Ok(row)
}

/// Where file `id` lives. Ids are UUIDs made here, never names from a request.
pub fn file_path(data_dir: &Path, id: &str) -> PathBuf {
    data_dir.join("files").join(id)
}

/// Replaces the interview's resume (before the interview starts, the first question is
/// tailored again).
pub async fn upload_resume(
    ctx: &HiringContext<'_>,
    interview_id: &str,
    filename: &str,
    bytes: Vec<u8>,
) -> Result<ResumeInfo, HiringError> {
    let resume = read_resume(filename, bytes).await?;
    let lead = lead_in(Some(&resume));
    let mut conn = ctx.pool.get().await?;
    let interview = db::interviews::find(&mut conn, interview_id)
        .await?
        .ok_or(DbError::NotFound)?;
    if interview.status == "pending" {
        db::interviews::retailor_first_question(&mut conn, interview_id, lead.as_deref()).await?;
    }
    let file = store_resume(&mut conn, ctx.data_dir, interview_id, resume).await?;
    Ok(ResumeInfo::of(&file))
}

/// Deletes the interview (see [`interviews::delete`]) and the bytes of its files on disk.
pub async fn delete_interview(
    pool: &DbPool,
    data_dir: &Path,
    owner_id: &str,
    interview_id: &str,
) -> Result<(), HiringError> {
    let mut conn = pool.get().await?;
    let files = db::files::ids_of(&mut conn, interview_id).await?;
    drop(conn);
    interviews::delete(pool, owner_id, interview_id).await?;
    for id in files {
        if let Err(e) = std::fs::remove_file(file_path(data_dir, &id)) {
            tracing::warn!(file_id = %id, error = %e, "could not remove a deleted interview's file");
        }
    }
    Ok(())
}

/// The interview's latest resume and where its bytes are.
pub async fn resume_file(
    pool: &DbPool,
    data_dir: &Path,
    interview_id: &str,
) -> Result<(FileRow, PathBuf), HiringError> {
    let mut conn = pool.get().await?;
    let file = db::files::latest_of(&mut conn, interview_id, "resume")
        .await?
        .ok_or(DbError::NotFound)?;
    let path = file_path(data_dir, &file.id);
    Ok((file, path))
}

/// Whether the candidate of a hiring interview sees scores and feedback (their job says so).
pub async fn sees_scores(pool: &DbPool, interview_id: &str) -> Result<bool, HiringError> {
    let mut conn = pool.get().await?;
    let Some(candidate) = db::candidates::of_interview(&mut conn, interview_id).await? else {
        return Ok(false);
    };
    Ok(db::jobs::find(&mut conn, &candidate.job_id)
        .await?
        .is_some_and(|job| job.show_scores))
}

/// The job's candidates, oldest first.
pub async fn list(pool: &DbPool, user: &User, job_id: &str) -> Result<Vec<Candidate>, HiringError> {
    let mut conn = pool.get().await?;
    jobs::managed(&mut conn, user, job_id).await?;
    let rows = db::candidates::of_job(&mut conn, job_id).await?;
    let mut out = Vec::with_capacity(rows.len());
    for (candidate, interview) in rows {
        out.push(view(&mut conn, candidate, Some(interview)).await?);
    }
    Ok(out)
}

/// One candidate of a job, found by their interview (for the live page's updates).
pub async fn by_interview(
    pool: &DbPool,
    job_id: &str,
    interview_id: &str,
) -> Result<Option<Candidate>, HiringError> {
    let mut conn = pool.get().await?;
    match db::candidates::of_interview(&mut conn, interview_id).await? {
        Some(row) if row.job_id == job_id => Ok(Some(view(&mut conn, row, None).await?)),
        _ => Ok(None),
    }
}

async fn view(
    conn: &mut DbConn,
    row: CandidateRow,
    interview: Option<InterviewRow>,
) -> Result<Candidate, HiringError> {
    let interview = match interview {
        Some(i) => i,
        None => db::interviews::find(conn, &row.interview_id)
            .await?
            .ok_or(DbError::NotFound)?,
    };
    let now = db::now();
    let invite = db::invites::of_interview(conn, &row.interview_id)
        .await?
        .last()
        .map(|i| InviteView::of(i, now));
    let resume = db::files::latest_of(conn, &row.interview_id, "resume")
        .await?
        .map(|f| ResumeInfo::of(&f));
    Ok(Candidate {
        id: row.id,
        job_id: row.job_id,
        name: row.name,
        email: row.email,
        interview_id: row.interview_id,
        status: interview.status,
        score: interview.score,
        created_at: row.created_at.and_utc(),
        started_at: interview.started_at.map(|t| t.and_utc()),
        completed_at: interview.completed_at.map(|t| t.and_utc()),
        invite,
        resume,
    })
}

/// The job's candidates as CSV (RFC 4180), for a spreadsheet.
pub fn to_csv(candidates: &[Candidate]) -> String {
    let mut out =
        String::from("name,email,status,score,invited_at,started_at,completed_at,interview_id\r\n");
    let time = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    for c in candidates {
        let fields = [
            c.name.clone(),
            c.email.clone(),
            c.status.clone(),
            c.score.map(|s| format!("{s:.0}")).unwrap_or_default(),
            c.created_at.to_rfc3339(),
            time(c.started_at),
            time(c.completed_at),
            c.interview_id.clone(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// Quotes a field when needed; a leading `=`, `+`, `-` or `@` is defused so a spreadsheet does
/// not run it as a formula.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_field("Ada"), "Ada");
        assert_eq!(csv_field("Doe, Jane"), "\"Doe, Jane\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-1"), "'-1");
    }

    #[test]
    fn the_lead_in_names_the_first_highlight() {
        let resume = ReadResume {
            kind: ResumeKind::Text,
            bytes: Vec::new(),
            filename: "cv.txt".into(),
            text: "Led the Payments Gateway rewrite.".into(),
        };
        assert_eq!(
            lead_in(Some(&resume)).as_deref(),
            Some("Your resume mentions the Payments Gateway rewrite; draw on it if it fits.")
        );
        assert_eq!(lead_in(None), None);
    }
}
