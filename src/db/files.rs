//! Queries on `files`: uploads (resumes) kept under the data directory by their id.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::{candidates, files};
use super::{DbConn, DbError};
use crate::db_run;
use crate::domain::{FileId, FileKind, InterviewId, JobId, TextStatus};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = files)]
pub struct FileRow {
    pub id: FileId,
    pub interview_id: InterviewId,
    /// `resume`.
    pub kind: FileKind,
    /// The uploaded name, cleaned, for display and downloads only.
    pub filename: String,
    /// Sniffed from the bytes.
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    /// The text extracted from it (empty when none could be).
    pub text: String,
    pub created_at: NaiveDateTime,
    /// How reading the text went: `ok`, `unreadable` or `too_complex`.
    pub text_status: TextStatus,
}

pub async fn insert(conn: &mut DbConn, row: &FileRow) -> Result<(), DbError> {
    db_run!(conn, {
        diesel::insert_into(files::table)
            .values(row)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// The ids of the interview's files.
pub async fn ids_of(conn: &mut DbConn, interview_id: &InterviewId) -> Result<Vec<FileId>, DbError> {
    db_run!(conn, {
        Ok(files::table
            .filter(files::interview_id.eq(interview_id))
            .select(files::id)
            .load(conn)
            .await?)
    })
}

/// The interview's latest file of `kind`.
pub async fn latest_of(
    conn: &mut DbConn,
    interview_id: &InterviewId,
    kind: FileKind,
) -> Result<Option<FileRow>, DbError> {
    db_run!(conn, {
        Ok(files::table
            .filter(files::interview_id.eq(interview_id))
            .filter(files::kind.eq(kind))
            .order((files::created_at.desc(), files::id.desc()))
            .select(FileRow::as_select())
            .first(conn)
            .await
            .optional()?)
    })
}

/// Deletes the interview's files of `kind` other than `keep`, and returns their ids (their
/// bytes are the caller's to remove).
pub async fn delete_others(
    conn: &mut DbConn,
    interview_id: &InterviewId,
    kind: FileKind,
    keep: &FileId,
) -> Result<Vec<FileId>, DbError> {
    db_run!(conn, {
        let others = files::table
            .filter(files::interview_id.eq(interview_id))
            .filter(files::kind.eq(kind))
            .filter(files::id.ne(keep));
        let ids: Vec<FileId> = others.select(files::id).load(conn).await?;
        diesel::delete(files::table.filter(files::id.eq_any(&ids)))
            .execute(conn)
            .await?;
        Ok(ids)
    })
}

/// Bytes the files of a job's candidates take.
pub async fn bytes_of_job(conn: &mut DbConn, job_id: &JobId) -> Result<i64, DbError> {
    db_run!(conn, {
        // Summed here: SUM of a BIGINT is NUMERIC on PostgreSQL and BIGINT on SQLite.
        let sizes: Vec<i64> = files::table
            .inner_join(candidates::table.on(candidates::interview_id.eq(files::interview_id)))
            .filter(candidates::job_id.eq(job_id))
            .select(files::size_bytes)
            .load(conn)
            .await?;
        Ok(sizes.iter().sum())
    })
}
