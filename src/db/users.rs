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

pub async fn set_password_hash(conn: &mut DbConn, id: &UserId, hash: &str) -> Result<(), DbError> {
    let now = chrono::Utc::now().naive_utc();
    let updated = db_run!(conn, {
        diesel::update(users::table.find(id))
            .set((users::password_hash.eq(hash), users::updated_at.eq(now)))
            .execute(conn)
            .await?
    });
    if updated == 0 {
        return Err(DbError::NotFound);
    }
    Ok(())
}

pub async fn set_email_verified(
    conn: &mut DbConn,
    id: &UserId,
    at: NaiveDateTime,
) -> Result<(), DbError> {
    db_run!(conn, {
        diesel::update(
            users::table
                .find(id)
                .filter(users::email_verified_at.is_null()),
        )
        .set(users::email_verified_at.eq(Some(at)))
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

diesel::define_sql_function! {
    /// SQL's `lower`, on both databases.
    fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Which users an admin lists: `query` matches a part of the email or display name (any
/// case), `role` narrows to one role.
pub struct UserFilter<'a> {
    pub query: Option<&'a str>,
    pub role: Option<Role>,
}

/// One page of users, newest first, and how many match in all.
pub async fn search(
    conn: &mut DbConn,
    filter: &UserFilter<'_>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<UserRow>, i64), DbError> {
    let pattern = filter.query.map(|q| {
        let escaped = q
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    // Boxed queries are per backend: built inside `db_run!`, once for each.
    db_run!(conn, {
        let filtered = || {
            let mut query = users::table.into_boxed();
            if let Some(pattern) = &pattern {
                query = query.filter(
                    lower(users::email)
                        .like(pattern.clone())
                        .escape('\\')
                        .or(lower(users::display_name)
                            .like(pattern.clone())
                            .escape('\\')),
                );
            }
            if let Some(role) = filter.role {
                query = query.filter(users::role.eq(role));
            }
            query
        };
        let rows = filtered()
            .order((users::created_at.desc(), users::id.desc()))
            .limit(limit)
            .offset(offset)
            .select(UserRow::as_select())
            .load(conn)
            .await?;
        let total = filtered().count().get_result(conn).await?;
        Ok((rows, total))
    })
}

/// Disables (`Some(when)`) or enables (`None`) the account.
pub async fn set_disabled(
    conn: &mut DbConn,
    id: &UserId,
    disabled_at: Option<NaiveDateTime>,
) -> Result<(), DbError> {
    let now = chrono::Utc::now().naive_utc();
    let updated = db_run!(conn, {
        diesel::update(users::table.find(id))
            .set((
                users::disabled_at.eq(disabled_at),
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

/// Enabled admins, the account `except` left out.
pub async fn count_other_admins(conn: &mut DbConn, except: &UserId) -> Result<i64, DbError> {
    db_run!(conn, {
        Ok(users::table
            .filter(users::role.eq(Role::Admin))
            .filter(users::disabled_at.is_null())
            .filter(users::id.ne(except))
            .count()
            .get_result(conn)
            .await?)
    })
}

/// Deletes the account; its practice interviews, bookmarks, codes and identities go with it
/// (`ON DELETE CASCADE`).
pub async fn delete(conn: &mut DbConn, id: &UserId) -> Result<(), DbError> {
    let deleted = db_run!(conn, {
        diesel::delete(users::table.find(id)).execute(conn).await?
    });
    if deleted == 0 {
        return Err(DbError::NotFound);
    }
    Ok(())
}
