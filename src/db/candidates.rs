//! Queries on `candidates`: the people invited to a job, each with their hiring interview.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::interviews::InterviewRow;
use super::schema::{candidates, interviews};
use super::{DbConn, DbError};
use crate::db_run;
use crate::domain::{CandidateId, InterviewId, JobId};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = candidates)]
pub struct CandidateRow {
    pub id: CandidateId,
    pub job_id: JobId,
    pub interview_id: InterviewId,
    pub name: String,
    pub email: String,
    pub created_at: NaiveDateTime,
}

pub async fn insert(conn: &mut DbConn, row: &CandidateRow) -> Result<(), DbError> {
    db_run!(conn, {
        diesel::insert_into(candidates::table)
            .values(row)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// The job's candidates with their interviews, oldest first.
pub async fn of_job(
    conn: &mut DbConn,
    job_id: &JobId,
) -> Result<Vec<(CandidateRow, InterviewRow)>, DbError> {
    db_run!(conn, {
        Ok(candidates::table
            .inner_join(interviews::table)
            .filter(candidates::job_id.eq(job_id))
            .order((candidates::created_at, candidates::id))
            .select((CandidateRow::as_select(), InterviewRow::as_select()))
            .load(conn)
            .await?)
    })
}

/// The candidate whose interview this is, if it is a hiring interview.
pub async fn of_interview(
    conn: &mut DbConn,
    interview_id: &InterviewId,
) -> Result<Option<CandidateRow>, DbError> {
    db_run!(conn, {
        Ok(candidates::table
            .filter(candidates::interview_id.eq(interview_id))
            .select(CandidateRow::as_select())
            .first(conn)
            .await
            .optional()?)
    })
}
