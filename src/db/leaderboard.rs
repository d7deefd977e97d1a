//! The leaderboard query: best practice score per interview type of every user who opted in.

use diesel::dsl::{count, max};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::{interviews, users};
use super::{DbConn, DbError};
use crate::db_run;
use crate::domain::{InterviewMode, InterviewStatus, UserId};

// The query groups by columns of two tables; diesel needs to be told that is allowed.
diesel::allow_columns_to_appear_in_same_group_by_clause!(
    interviews::interview_type,
    users::id,
    users::display_name,
);

/// One opted-in user's best completed practice interview of one type.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct BestScoreRow {
    pub interview_type: String,
    pub user_id: UserId,
    pub display_name: String,
    pub best_score: Option<f64>,
    pub interviews: i64,
}

pub async fn best_scores(conn: &mut DbConn) -> Result<Vec<BestScoreRow>, DbError> {
    db_run!(conn, {
        Ok(interviews::table
            .inner_join(users::table)
            .filter(users::leaderboard_opt_in.eq(true))
            .filter(interviews::status.eq(InterviewStatus::Completed))
            .filter(interviews::mode.eq(InterviewMode::Practice))
            .filter(interviews::score.is_not_null())
            .group_by((interviews::interview_type, users::id, users::display_name))
            .select((
                interviews::interview_type,
                users::id,
                users::display_name,
                max(interviews::score),
                count(interviews::id),
            ))
            .load(conn)
            .await?)
    })
}
