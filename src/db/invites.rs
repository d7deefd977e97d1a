//! Queries on `invites`: the links candidates open, kept as token hashes.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::{interviews, invites};
use super::{DbConn, DbError};
use crate::db_run;
use crate::domain::{InterviewId, InterviewMode, InterviewStatus, InviteId};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = invites)]
pub struct InviteRow {
    pub id: InviteId,
    pub interview_id: InterviewId,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub access_count: i32,
    pub last_access_at: Option<NaiveDateTime>,
}

pub async fn insert(conn: &mut DbConn, row: &InviteRow) -> Result<(), DbError> {
    db_run!(conn, {
        diesel::insert_into(invites::table)
            .values(row)
            .execute(conn)
            .await?;
        Ok(())
    })
}

pub async fn find_by_hash(conn: &mut DbConn, hash: &str) -> Result<Option<InviteRow>, DbError> {
    db_run!(conn, {
        Ok(invites::table
            .filter(invites::token_hash.eq(hash))
            .select(InviteRow::as_select())
            .first(conn)
            .await
            .optional()?)
    })
}

/// The interview's invites, oldest first.
pub async fn of_interview(
    conn: &mut DbConn,
    interview_id: &InterviewId,
) -> Result<Vec<InviteRow>, DbError> {
    db_run!(conn, {
        Ok(invites::table
            .filter(invites::interview_id.eq(interview_id))
            .order((invites::created_at, invites::id))
            .select(InviteRow::as_select())
            .load(conn)
            .await?)
    })
}

/// Counts one use of the invite.
pub async fn record_access(
    conn: &mut DbConn,
    id: &InviteId,
    at: NaiveDateTime,
) -> Result<(), DbError> {
    db_run!(conn, {
        diesel::update(invites::table.find(id))
            .set((
                invites::access_count.eq(invites::access_count + 1),
                invites::last_access_at.eq(Some(at)),
            ))
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Revokes the interview's invite `id` (every one of its live invites when `None`); returns
/// how many were revoked now.
pub async fn revoke(
    conn: &mut DbConn,
    interview_id: &InterviewId,
    id: Option<&InviteId>,
    at: NaiveDateTime,
) -> Result<usize, DbError> {
    db_run!(conn, {
        let mut query = diesel::update(invites::table)
            .filter(invites::interview_id.eq(interview_id.to_owned()))
            .filter(invites::revoked_at.is_null())
            .into_boxed();
        if let Some(id) = id {
            query = query.filter(invites::id.eq(id.to_owned()));
        }
        Ok(query
            .set(invites::revoked_at.eq(Some(at)))
            .execute(conn)
            .await?)
    })
}

/// The pending hiring interviews that have invites but none still usable (to be marked
/// `expired`).
pub async fn expirable_interviews(
    conn: &mut DbConn,
    now: NaiveDateTime,
) -> Result<Vec<InterviewId>, DbError> {
    use diesel::dsl::{exists, not};
    db_run!(conn, {
        let usable = invites::table
            .filter(invites::interview_id.eq(interviews::id))
            .filter(invites::revoked_at.is_null())
            .filter(invites::expires_at.gt(now));
        let any = invites::table.filter(invites::interview_id.eq(interviews::id));
        Ok(interviews::table
            .filter(interviews::mode.eq(InterviewMode::Hiring))
            .filter(interviews::status.eq(InterviewStatus::Pending))
            .filter(exists(any))
            .filter(not(exists(usable)))
            .select(interviews::id)
            .load(conn)
            .await?)
    })
}
