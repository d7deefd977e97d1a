//! Queries on `jobs`: a recruiter's openings.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::jobs;
use super::{DbConn, DbError};
use crate::db_run;
use crate::domain::{Difficulty, JobId, JobStatus, UserId};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = jobs)]
pub struct JobRow {
    pub id: JobId,
    pub owner_id: UserId,
    pub title: String,
    pub description: String,
    pub location: String,
    /// JSON array of skill slugs.
    pub skills: String,
    pub interview_type: String,
    pub difficulty: Difficulty,
    pub question_count: i32,
    pub time_limit_minutes: i32,
    /// Whether candidates see their scores and feedback.
    pub show_scores: bool,
    /// `open` or `closed`.
    pub status: JobStatus,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub closed_at: Option<NaiveDateTime>,
}

pub async fn insert(conn: &mut DbConn, row: &JobRow) -> Result<(), DbError> {
    db_run!(conn, {
        diesel::insert_into(jobs::table)
            .values(row)
            .execute(conn)
            .await?;
        Ok(())
    })
}

pub async fn find(conn: &mut DbConn, id: &JobId) -> Result<Option<JobRow>, DbError> {
    db_run!(conn, {
        Ok(jobs::table
            .find(id)
            .select(JobRow::as_select())
            .first(conn)
            .await
            .optional()?)
    })
}

/// Every job of `owner_id` (`None`: everyone's, for admins), newest first.
pub async fn list(conn: &mut DbConn, owner_id: Option<&UserId>) -> Result<Vec<JobRow>, DbError> {
    db_run!(conn, {
        let mut query = jobs::table.into_boxed();
        if let Some(owner) = owner_id {
            query = query.filter(jobs::owner_id.eq(owner.to_owned()));
        }
        Ok(query
            .order((jobs::created_at.desc(), jobs::id.desc()))
            .select(JobRow::as_select())
            .load(conn)
            .await?)
    })
}

/// Writes every field of `row` (found by its id).
pub async fn update(conn: &mut DbConn, row: &JobRow) -> Result<(), DbError> {
    let changed = db_run!(conn, {
        diesel::update(jobs::table.find(&row.id))
            .set(row)
            .execute(conn)
            .await?
    });
    if changed == 0 {
        return Err(DbError::NotFound);
    }
    Ok(())
}
