//! Queries on `one_time_codes`: at most one live code per account and purpose, kept as a hash.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::one_time_codes;
use super::{DbConn, DbError};
use crate::db_run;
use crate::domain::{CodePurpose, UserId};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = one_time_codes)]
pub struct CodeRow {
    pub user_id: UserId,
    pub purpose: CodePurpose,
    pub code_hash: String,
    pub attempts: i32,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

/// Makes `row` the account's one code for its purpose, replacing any earlier one.
pub async fn replace(conn: &mut DbConn, row: &CodeRow) -> Result<(), DbError> {
    let replaced = db_run!(conn, {
        diesel::update(one_time_codes::table.find((&row.user_id, row.purpose)))
            .set((
                one_time_codes::code_hash.eq(&row.code_hash),
                one_time_codes::attempts.eq(0),
                one_time_codes::created_at.eq(row.created_at),
                one_time_codes::expires_at.eq(row.expires_at),
            ))
            .execute(conn)
            .await?
    });
    if replaced == 1 {
        return Ok(());
    }
    db_run!(conn, {
        diesel::insert_into(one_time_codes::table)
            .values(row)
            .execute(conn)
            .await?;
    });
    Ok(())
}

/// Counts one attempt at the live code, in one statement so parallel attempts cannot exceed
/// `max_attempts`; false when there is no live code or its attempts are used up.
pub async fn count_attempt(
    conn: &mut DbConn,
    user_id: &UserId,
    purpose: CodePurpose,
    now: NaiveDateTime,
    max_attempts: i32,
) -> Result<bool, DbError> {
    let counted = db_run!(conn, {
        diesel::update(
            one_time_codes::table
                .find((user_id, purpose))
                .filter(one_time_codes::expires_at.gt(now))
                .filter(one_time_codes::attempts.lt(max_attempts)),
        )
        .set(one_time_codes::attempts.eq(one_time_codes::attempts + 1))
        .execute(conn)
        .await?
    });
    Ok(counted == 1)
}

/// Deletes the code when its hash is `code_hash`; true when it did (the code is used up).
pub async fn take(
    conn: &mut DbConn,
    user_id: &UserId,
    purpose: CodePurpose,
    code_hash: &str,
) -> Result<bool, DbError> {
    let taken = db_run!(conn, {
        diesel::delete(
            one_time_codes::table
                .find((user_id, purpose))
                .filter(one_time_codes::code_hash.eq(code_hash)),
        )
        .execute(conn)
        .await?
    });
    Ok(taken == 1)
}

/// The account's code for `purpose`, live or not (tests and the export read it).
pub async fn find(
    conn: &mut DbConn,
    user_id: &UserId,
    purpose: CodePurpose,
) -> Result<Option<CodeRow>, DbError> {
    db_run!(conn, {
        Ok(one_time_codes::table
            .find((user_id, purpose))
            .select(CodeRow::as_select())
            .first(conn)
            .await
            .optional()?)
    })
}
