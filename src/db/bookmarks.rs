//! Queries on `bookmarks`: questions a user saved to practise.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::catalog::QuestionRow;
use super::schema::{bookmarks, questions};
use super::{DbConn, DbError};
use crate::db_run;
use crate::domain::{QuestionId, UserId};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = bookmarks)]
pub struct BookmarkRow {
    pub user_id: UserId,
    pub question_id: QuestionId,
    pub created_at: NaiveDateTime,
}

/// Saves the bookmark; `false` when it was already there.
pub async fn insert(conn: &mut DbConn, row: &BookmarkRow) -> Result<bool, DbError> {
    let inserted = db_run!(conn, {
        diesel::insert_into(bookmarks::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(conn)
            .await?
    });
    Ok(inserted > 0)
}

/// `false` when there was no such bookmark.
pub async fn delete(
    conn: &mut DbConn,
    user_id: &UserId,
    question_id: &QuestionId,
) -> Result<bool, DbError> {
    let deleted = db_run!(conn, {
        diesel::delete(bookmarks::table.find((user_id, question_id)))
            .execute(conn)
            .await?
    });
    Ok(deleted > 0)
}

/// The user's bookmarks with their questions, newest first.
pub async fn of_user(
    conn: &mut DbConn,
    user_id: &UserId,
) -> Result<Vec<(BookmarkRow, QuestionRow)>, DbError> {
    db_run!(conn, {
        Ok(bookmarks::table
            .inner_join(questions::table)
            .filter(bookmarks::user_id.eq(user_id))
            .order((bookmarks::created_at.desc(), bookmarks::question_id))
            .select((BookmarkRow::as_select(), QuestionRow::as_select()))
            .load(conn)
            .await?)
    })
}
