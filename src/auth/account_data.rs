//! A person's own data: everything viva keeps about their account as one zip, and deleting
//! the account with it.
//!
//! Viva keeps no recordings: an interview is its transcript, feedback and report. Hiring
//! interviews are the recruiter's records, reached by invite link rather than by account, so a
//! candidate's export and deletion do not include them.

use std::io::Write;

use serde::Serialize;
use zip::write::SimpleFileOptions;

use super::accounts::AccountError;
use super::User;
use crate::db::{self, DbError, DbPool};
use crate::domain::Role;
use crate::interview::interviews::{self, InterviewError, PageRequest, MAX_PER_PAGE};

#[derive(Debug, thiserror::Error)]
pub enum AccountDataError {
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Interview(#[from] InterviewError),
    #[error("could not write the export: {0}")]
    Zip(String),
}

impl From<DbError> for AccountDataError {
    fn from(e: DbError) -> Self {
        Self::Account(e.into())
    }
}

impl From<std::io::Error> for AccountDataError {
    fn from(e: std::io::Error) -> Self {
        Self::Zip(e.to_string())
    }
}

impl From<zip::result::ZipError> for AccountDataError {
    fn from(e: zip::result::ZipError) -> Self {
        Self::Zip(e.to_string())
    }
}

#[derive(Serialize)]
struct Bookmark {
    question_id: String,
    question: String,
    saved_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize)]
struct LinkedSignIn {
    provider: String,
    issuer: String,
    email: String,
    linked_at: chrono::DateTime<chrono::Utc>,
    last_used_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Serialize)]
struct JobSummary {
    id: String,
    title: String,
    description: String,
    location: String,
    status: String,
    created_at: chrono::DateTime<chrono::Utc>,
}

/// The account's data as a zip: `account.json`, `sign-ins.json` (linked providers),
/// `bookmarks.json`, `jobs.json` (recruiters),
/// and per practice interview `interviews/<id>.json` (questions, transcript, feedback) and
/// `interviews/<id>-report.json`.
pub async fn export(pool: &DbPool, user: &User) -> Result<Vec<u8>, AccountDataError> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut add = |name: &str, json: Vec<u8>| -> Result<(), AccountDataError> {
        zip.start_file(name, options)?;
        zip.write_all(&json)?;
        Ok(())
    };

    add("account.json", to_json(user)?)?;

    let mut conn = pool.get().await?;
    let sign_ins: Vec<LinkedSignIn> = db::identities::list_for_user(&mut conn, &user.id)
        .await?
        .into_iter()
        .map(|identity| LinkedSignIn {
            provider: identity.provider,
            issuer: identity.issuer,
            email: identity.email,
            linked_at: identity.created_at.and_utc(),
            last_used_at: identity.last_used_at.map(|t| t.and_utc()),
        })
        .collect();
    add("sign-ins.json", to_json(&sign_ins)?)?;
    let bookmarks: Vec<Bookmark> = db::bookmarks::of_user(&mut conn, &user.id)
        .await?
        .into_iter()
        .map(|(bookmark, question)| Bookmark {
            question_id: bookmark.question_id.to_string(),
            question: question.text,
            saved_at: bookmark.created_at.and_utc(),
        })
        .collect();
    add("bookmarks.json", to_json(&bookmarks)?)?;
    if user.role.recruits() {
        let jobs: Vec<JobSummary> = db::jobs::list(&mut conn, Some(&user.id))
            .await?
            .into_iter()
            .map(|job| JobSummary {
                id: job.id.to_string(),
                title: job.title,
                description: job.description,
                location: job.location,
                status: job.status.to_string(),
                created_at: job.created_at.and_utc(),
            })
            .collect();
        add("jobs.json", to_json(&jobs)?)?;
    }
    drop(conn);

    let mut page = 1;
    loop {
        let request = PageRequest {
            page,
            per_page: MAX_PER_PAGE,
        };
        let listed = interviews::list(pool, &user.id, request).await?;
        for interview in &listed.items {
            let detail = interviews::get(pool, &user.id, &interview.id).await?;
            add(
                &format!("interviews/{}.json", interview.id),
                to_json(&detail)?,
            )?;
            let report = interviews::report(pool, &user.id, &interview.id).await?;
            add(
                &format!("interviews/{}-report.json", interview.id),
                to_json(&report)?,
            )?;
        }
        if page * MAX_PER_PAGE >= listed.total || listed.items.is_empty() {
            break;
        }
        page += 1;
    }
    Ok(zip.finish()?.into_inner())
}

/// Deletes the account with its practice interviews, bookmarks, codes, linked identities and
/// the record of the codes emailed to it. Refused while it owns jobs (their interviews are
/// candidates' records: an admin closes or keeps them) and for the last enabled admin.
pub async fn delete(pool: &DbPool, user: &User) -> Result<(), AccountError> {
    let mut conn = pool.get().await?;
    if !db::jobs::list(&mut conn, Some(&user.id)).await?.is_empty() {
        return Err(AccountError::OwnsJobs);
    }
    if user.role == Role::Admin && db::users::count_other_admins(&mut conn, &user.id).await? == 0 {
        return Err(AccountError::LastAdmin);
    }
    db::users::delete(&mut conn, &user.id).await?;
    db::emails::delete_codes_sent_to(&mut conn, &user.email).await?;
    tracing::info!(user_id = %user.id, "account deleted");
    Ok(())
}

fn to_json(value: &impl Serialize) -> Result<Vec<u8>, AccountDataError> {
    serde_json::to_vec_pretty(value).map_err(|e| AccountDataError::Zip(e.to_string()))
}
