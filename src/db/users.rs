//! Queries on `users`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::users;
use super::{DbConn, DbError};
use crate::db_run;
use crate::domain::{Role, UserId};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub session_generation: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub leaderboard_opt_in: bool,
    pub email_verified_at: Option<NaiveDateTime>,
    pub disabled_at: Option<NaiveDateTime>,
    pub last_sign_in_at: Option<NaiveDateTime>,
}

/// Inserts a user; a taken email is [`DbError::UniqueViolation`].
pub async fn insert(conn: &mut DbConn, user: &UserRow) -> Result<(), DbError> {
    db_run!(conn, {
        diesel::insert_into(users::table)
            .values(user)
            .execute(conn)
            .await?;
    });
    Ok(())
}

pub async fn find_by_email(conn: &mut DbConn, email: &str) -> Result<Option<UserRow>, DbError> {
    db_run!(conn, {
        Ok(users::table
            .filter(users::email.eq(email))
            .select(UserRow::as_select())
            .first(conn)
            .await
            .optional()?)
    })
}

pub async fn find_by_id(conn: &mut DbConn, id: &UserId) -> Result<Option<UserRow>, DbError> {
    db_run!(conn, {
        Ok(users::table
            .find(id)
            .select(UserRow::as_select())
            .first(conn)
            .await
            .optional()?)
    })
}

/// Invalidates every session of the user: sessions carry the generation they were issued
/// under and stop working once it moves on. Works for any session store.
pub async fn bump_session_generation(conn: &mut DbConn, id: &UserId) -> Result<(), DbError> {
    let now = chrono::Utc::now().naive_utc();
    let updated = db_run!(conn, {
        diesel::update(users::table.find(id))
            .set((
                users::session_generation.eq(users::session_generation + 1),
                users::updated_at.eq(now),
            ))
            .execute(conn)
            .await?
    });
    if updated == 0 {
        return Err(DbError::NotFound);
    }
    Ok(())
}

pub async fn set_role(conn: &mut DbConn, id: &UserId, role: Role) -> Result<(), DbError> {
    let now = chrono::Utc::now().naive_utc();
    db_run!(conn, {
        diesel::update(users::table.find(id))
            .set((users::role.eq(role), users::updated_at.eq(now)))
            .execute(conn)
            .await?;
    });
    Ok(())
}

pub async fn set_last_sign_in(
    conn: &mut DbConn,
    id: &UserId,
    at: NaiveDateTime,
) -> Result<(), DbError> {
    db_run!(conn, {
        diesel::update(users::table.find(id))
            .set(users::last_sign_in_at.eq(Some(at)))
            .execute(conn)
            .await?;
    });
    Ok(())
}

pub async fn count(conn: &mut DbConn) -> Result<i64, DbError> {
    db_run!(conn, { Ok(users::table.count().get_result(conn).await?) })
}

/// Whether the user appears on the leaderboard.
pub async fn set_leaderboard_opt_in(
    conn: &mut DbConn,
    id: &UserId,
    opt_in: bool,
) -> Result<(), DbError> {
    let now = chrono::Utc::now().naive_utc();
    let updated = db_run!(conn, {
        diesel::update(users::table.find(id))
            .set((
                users::leaderboard_opt_in.eq(opt_in),
                users::updated_at.eq(now),
            ))
            .execute(conn)
            .await?
    });
    if updated == 0 {
        return Err(DbError::NotFound);
    }
    Ok(())
}
