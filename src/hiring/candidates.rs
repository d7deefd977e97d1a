//! Candidates: a person invited to a job, with their hiring interview (owned by the job's
//! recruiter), their invite, and their resume.

use std::path::{Path, PathBuf};

use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::invites::{self, InviteView};
use super::jobs;
use super::HiringError;
use crate::auth::rate_limit::RateLimiter;
use crate::auth::User;
use crate::db::candidates::CandidateRow;
use crate::db::files::FileRow;
use crate::db::interviews::InterviewRow;
use crate::db::{self, DbConn, DbError, DbPool};
use crate::domain::{
    CandidateId, Email, EmailKind, EmailStatus, FileId, FileKind, InterviewId, InterviewMode,
    InterviewStatus, Invalid, JobId, JobStatus, TextStatus, UserId,
};
use crate::interview::interviews;
use crate::mail::{self, Mailer};
use crate::resume::reader::{ReadText, ResumeReader};
use crate::resume::{self, ResumeKind};

const MAX_NAME: usize = 100;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCandidate {
    pub name: String,
    pub email: String,
    pub resume: Option<ResumeUpload>,
}

/// A resume sent inside the JSON body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
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
    pub uploads: UploadLimits<'a>,
}

/// What bounds the uploads people send.
pub struct UploadLimits<'a> {
    /// Reads their text in child processes.
    pub reader: &'a ResumeReader,
    /// Uploads per interview per window (invite links and recruiters alike).
    pub per_interview: &'a RateLimiter,
    /// Bytes all of a job's stored files may take.
    pub job_quota_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Candidate {
    pub id: CandidateId,
    pub job_id: JobId,
    pub name: String,
    pub email: String,
    pub interview_id: InterviewId,
    pub status: InterviewStatus,
    pub score: Option<f64>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The newest invite.
    pub invite: Option<InviteView>,
    pub resume: Option<ResumeInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ResumeInfo {
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    /// `ok`, `unreadable` (damaged, or the reader failed) or `too_complex` (it ran out of time
    /// or memory): the file is kept either way.
    pub text_status: TextStatus,
    /// The phrases the interview was tailored with.
    pub highlights: Vec<String>,
}

impl ResumeInfo {
    fn of(file: &FileRow) -> Self {
        Self {
            filename: file.filename.clone(),
            content_type: file.content_type.clone(),
            size_bytes: file.size_bytes,
            text_status: file.text_status,
            highlights: resume::highlights(&file.text),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = CandidateCreated)]
pub struct Created {
    pub candidate: Candidate,
    /// The candidate's link, shown this once (only its hash is stored).
    pub invite_url: String,
    /// How the invite email went: `sent`, `failed` or `not_configured`.
    pub email_status: EmailStatus,
}

/// A resume checked and read, not yet stored.
struct ReadResume {
    kind: ResumeKind,
    bytes: std::sync::Arc<Vec<u8>>,
    filename: String,
    read: ReadText,
}

/// Sniffs a resume and reads its text in a child process (see [`crate::resume::reader`]).
async fn read_resume(
    reader: &ResumeReader,
    filename: &str,
    bytes: Vec<u8>,
) -> Result<ReadResume, HiringError> {
    let kind = resume::sniff(&bytes)?;
    let filename = resume::clean_filename(filename, kind);
    let bytes = std::sync::Arc::new(bytes);
    let read = reader.read(kind, std::sync::Arc::clone(&bytes)).await?;
    Ok(ReadResume {
        kind,
        bytes,
        filename,
        read,
    })
}

/// Refuses an upload that would take the job's stored files past its quota. `replacing`: the
/// bytes of the file the upload replaces, freed when it is stored.
async fn check_job_quota(
    conn: &mut DbConn,
    job_id: &JobId,
    quota: u64,
    adding: usize,
    replacing: i64,
) -> Result<(), HiringError> {
    let used = db::files::bytes_of_job(conn, job_id).await?;
    let after = used.saturating_sub(replacing).max(0) as u64 + adding as u64;
    if after > quota {
        return Err(HiringError::UploadQuota { limit_bytes: quota });
    }
    Ok(())
}

/// The interview's opening line about the resume, when it names something.
fn lead_in(resume: Option<&ReadResume>) -> Option<String> {
    let highlight = resume.and_then(|r| resume::highlights(&r.read.text).into_iter().next())?;
    Some(format!(
        "Your resume mentions {highlight}; draw on it if it fits."
    ))
}

pub async fn add(
    ctx: &HiringContext<'_>,
    user: &User,
    job_id: &JobId,
    new: NewCandidate,
) -> Result<Created, HiringError> {
    let mut conn = ctx.pool.get().await?;
    let job = jobs::managed(&mut conn, user, job_id).await?;
    if job.status != JobStatus::Open {
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
            let mut conn = ctx.pool.get().await?;
            check_job_quota(
                &mut conn,
                &job.id,
                ctx.uploads.job_quota_bytes,
                bytes.len(),
                0,
            )
            .await?;
            drop(conn);
            Some(read_resume(ctx.uploads.reader, &upload.filename, bytes).await?)
        }
        None => None,
    };

    let request = jobs::interview_request(&job);
    let lead = lead_in(resume.as_ref());
    let interview = interviews::create_with(
        ctx.pool,
        &job.owner_id,
        &request,
        InterviewMode::Hiring,
        lead.as_deref(),
    )
    .await?;
    let interview_id = interview.interview.id.clone();
    let mut conn = ctx.pool.get().await?;
    let row = CandidateRow {
        id: CandidateId::random(),
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
    invites::announce_invite(&mut conn, &interview_id, &issued.invite).await;
    drop(conn);
    let invite_url = invites::invite_url(ctx.public_url, &issued.token);
    tracing::info!(job_id = %job.id, candidate_id = %row.id, %interview_id, "candidate invited");

    let email_status = ctx
        .mailer
        .send(
            ctx.pool,
            mail::Email {
                kind: EmailKind::Invite,
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

/// Writes the file under `data_dir/files/` by its id (readable by the server alone) and records
/// it.
async fn store_resume(
    conn: &mut DbConn,
    data_dir: &Path,
    interview_id: &InterviewId,
    resume: ReadResume,
) -> Result<FileRow, HiringError> {
    let id = FileId::random();
    let path = file_path(data_dir, &id);
    crate::storage::write_private(&path, &resume.bytes)?;
    let row = FileRow {
        id,
        interview_id: interview_id.to_owned(),
        kind: FileKind::Resume,
        filename: resume.filename,
        content_type: resume.kind.content_type().to_owned(),
        size_bytes: i64::try_from(resume.bytes.len()).unwrap_or(i64::MAX),
        sha256: hex::encode(Sha256::digest(resume.bytes.as_slice())),
        text: resume.read.text,
        text_status: resume.read.status,
        created_at: db::now(),
    };
    if let Err(e) = db::files::insert(conn, &row).await {
        remove_file_bytes(data_dir, &row.id);
        return Err(e.into());
    }
    Ok(row)
}

/// Removes a file's bytes; a file already gone is no error worth more than a log line.
fn remove_file_bytes(data_dir: &Path, id: &FileId) {
    if let Err(e) = std::fs::remove_file(file_path(data_dir, id)) {
        tracing::warn!(file_id = %id, error = %e, "could not remove a file's bytes");
    }
}

/// Where file `id` lives. Ids are UUIDs made here, never names from a request.
pub fn file_path(data_dir: &Path, id: &FileId) -> PathBuf {
    data_dir.join("files").join(id.as_str())
}

/// Replaces the interview's resume (before the interview starts, the first question is
/// tailored again). The replaced file's bytes and record are deleted, so an interview keeps one
/// resume however often it is sent.
pub async fn upload_resume(
    ctx: &HiringContext<'_>,
    interview_id: &InterviewId,
    filename: &str,
    bytes: Vec<u8>,
) -> Result<ResumeInfo, HiringError> {
    ctx.uploads
        .per_interview
        .hit(interview_id.as_str())
        .await
        .map_err(|e| e.map_exceeded(HiringError::UploadRate))?;
    let mut conn = ctx.pool.get().await?;
    let previous = db::files::latest_of(&mut conn, interview_id, FileKind::Resume).await?;
    if let Some(candidate) = db::candidates::of_interview(&mut conn, interview_id).await? {
        let replacing = previous.as_ref().map_or(0, |file| file.size_bytes);
        check_job_quota(
            &mut conn,
            &candidate.job_id,
            ctx.uploads.job_quota_bytes,
            bytes.len(),
            replacing,
        )
        .await?;
    }
    drop(conn);
    let resume = read_resume(ctx.uploads.reader, filename, bytes).await?;
    let lead = lead_in(Some(&resume));
    let mut conn = ctx.pool.get().await?;
    let interview = db::interviews::find(&mut conn, interview_id)
        .await?
        .ok_or(DbError::NotFound)?;
    if interview.status == InterviewStatus::Pending {
        db::interviews::retailor_first_question(&mut conn, interview_id, lead.as_deref()).await?;
    }
    let file = store_resume(&mut conn, ctx.data_dir, interview_id, resume).await?;
    let replaced =
        db::files::delete_others(&mut conn, interview_id, FileKind::Resume, &file.id).await?;
    drop(conn);
    for id in replaced {
        remove_file_bytes(ctx.data_dir, &id);
    }
    Ok(ResumeInfo::of(&file))
}

/// Deletes the interview (see [`interviews::delete`]) and the bytes of its files on disk.
pub async fn delete_interview(
    pool: &DbPool,
    data_dir: &Path,
    owner_id: &UserId,
    interview_id: &InterviewId,
) -> Result<(), HiringError> {
    let mut conn = pool.get().await?;
    let files = db::files::ids_of(&mut conn, interview_id).await?;
    drop(conn);
    interviews::delete(pool, owner_id, interview_id).await?;
    for id in files {
        remove_file_bytes(data_dir, &id);
    }
    Ok(())
}

/// The interview's latest resume and where its bytes are.
pub async fn resume_file(
    pool: &DbPool,
    data_dir: &Path,
    interview_id: &InterviewId,
) -> Result<(FileRow, PathBuf), HiringError> {
    let mut conn = pool.get().await?;
    let file = db::files::latest_of(&mut conn, interview_id, FileKind::Resume)
        .await?
        .ok_or(DbError::NotFound)?;
    let path = file_path(data_dir, &file.id);
    Ok((file, path))
}

/// Whether the candidate of a hiring interview sees scores and feedback (their job says so).
pub async fn sees_scores(pool: &DbPool, interview_id: &InterviewId) -> Result<bool, HiringError> {
    let mut conn = pool.get().await?;
    let Some(candidate) = db::candidates::of_interview(&mut conn, interview_id).await? else {
        return Ok(false);
    };
    Ok(db::jobs::find(&mut conn, &candidate.job_id)
        .await?
        .is_some_and(|job| job.show_scores))
}

/// The job's candidates, oldest first.
pub async fn list(
    pool: &DbPool,
    user: &User,
    job_id: &JobId,
) -> Result<Vec<Candidate>, HiringError> {
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
    job_id: &JobId,
    interview_id: &InterviewId,
) -> Result<Option<Candidate>, HiringError> {
    let mut conn = pool.get().await?;
    match db::candidates::of_interview(&mut conn, interview_id).await? {
        Some(row) if row.job_id == *job_id => Ok(Some(view(&mut conn, row, None).await?)),
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
    let resume = db::files::latest_of(conn, &row.interview_id, FileKind::Resume)
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
            c.status.to_string(),
            c.score.map(|s| format!("{s:.0}")).unwrap_or_default(),
            c.created_at.to_rfc3339(),
            time(c.started_at),
            time(c.completed_at),
            c.interview_id.to_string(),
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
            bytes: std::sync::Arc::default(),
            filename: "cv.txt".into(),
            read: ReadText {
                text: "Led the Payments Gateway rewrite.".into(),
                status: crate::resume::reader::TextStatus::Ok,
            },
        };
        assert_eq!(
            lead_in(Some(&resume)).as_deref(),
            Some("Your resume mentions the Payments Gateway rewrite; draw on it if it fits.")
        );
        assert_eq!(lead_in(None), None);
    }
}
