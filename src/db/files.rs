//! Queries on `files`: uploads (resumes) kept under the data directory by their id.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::files;
use super::{DbConn, DbError};
use crate::db_run;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = files)]
pub struct FileRow {
    pub id: String,
    pub interview_id: String,
    /// `resume`.
    pub kind: String,
    /// The uploaded name, cleaned, for display and downloads only.
    pub filename: String,
    /// Sniffed from the bytes.
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    /// The text extracted from it (empty when none could be).
    pub text: String,
    pub created_at: NaiveDateTime,
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
pub async fn ids_of(conn: &mut DbConn, interview_id: &str) -> Result<Vec<String>, DbError> {
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
    interview_id: &str,
    kind: &str,
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
