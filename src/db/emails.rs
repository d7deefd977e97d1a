//! Queries on `emails`: every send attempt and how it went.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::emails;
use super::{DbConn, DbError};
use crate::db_run;
use crate::domain::{EmailKind, EmailStatus, InterviewId};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = emails)]
pub struct EmailRow {
    pub id: String,
    pub interview_id: Option<InterviewId>,
    /// `invite` or `completed`.
    pub kind: EmailKind,
    pub recipient: String,
    pub subject: String,
    /// `sent`, `failed` or `not_configured`.
    pub status: EmailStatus,
    pub error: Option<String>,
    pub created_at: NaiveDateTime,
}

pub async fn insert(conn: &mut DbConn, row: &EmailRow) -> Result<(), DbError> {
    db_run!(conn, {
        diesel::insert_into(emails::table)
            .values(row)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// The interview's emails, oldest first.
pub async fn of_interview(
    conn: &mut DbConn,
    interview_id: &InterviewId,
) -> Result<Vec<EmailRow>, DbError> {
    db_run!(conn, {
        Ok(emails::table
            .filter(emails::interview_id.eq(interview_id))
            .order((emails::created_at, emails::id))
            .select(EmailRow::as_select())
            .load(conn)
            .await?)
    })
}

/// Forgets the one-time-code emails sent to `recipient` (a deleted account's address).
pub async fn delete_codes_sent_to(conn: &mut DbConn, recipient: &str) -> Result<usize, DbError> {
    db_run!(conn, {
        Ok(diesel::delete(
            emails::table
                .filter(emails::recipient.eq(recipient))
                .filter(emails::kind.eq_any([EmailKind::PasswordReset, EmailKind::VerifyEmail])),
        )
        .execute(conn)
        .await?)
    })
}
