//! Queries on `api_keys` and `api_key_usage`: API keys (stored as hashes) and the log of the
//! requests made with them.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::{api_key_usage, api_keys};
use super::{DbConn, DbError};
use crate::db_run;
use crate::domain::{ApiKeyId, ApiKeyUseId, UserId};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    pub id: ApiKeyId,
    pub user_id: UserId,
    pub name: String,
    /// The key's visible start (`viva_` and a few characters).
    pub prefix: String,
    /// SHA-256 of the whole key, hex.
    pub key_hash: String,
    /// Space-separated scopes.
    pub scopes: String,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_key_usage)]
pub struct ApiKeyUseRow {
    pub id: ApiKeyUseId,
    pub key_id: ApiKeyId,
    pub method: String,
    /// The route's pattern (`/api/v1/jobs/{id}`), never the path with its values or query.
    pub route: String,
    pub status: i32,
    pub at: NaiveDateTime,
}

pub async fn insert(conn: &mut DbConn, key: &ApiKeyRow) -> Result<(), DbError> {
    db_run!(conn, {
        diesel::insert_into(api_keys::table)
            .values(key)
            .execute(conn)
            .await?;
    });
    Ok(())
}

/// The key whose hash is `key_hash`, revoked or not.
pub async fn find_by_hash(conn: &mut DbConn, key_hash: &str) -> Result<Option<ApiKeyRow>, DbError> {
    db_run!(conn, {
        Ok(api_keys::table
            .filter(api_keys::key_hash.eq(key_hash))
            .select(ApiKeyRow::as_select())
            .first(conn)
            .await
            .optional()?)
    })
}

/// The user's key `id`; someone else's is [`DbError::NotFound`], like a missing one.
pub async fn find_for_user(
    conn: &mut DbConn,
    id: &ApiKeyId,
    user_id: &UserId,
) -> Result<ApiKeyRow, DbError> {
    db_run!(conn, {
        api_keys::table
            .filter(api_keys::id.eq(id))
            .filter(api_keys::user_id.eq(user_id))
            .select(ApiKeyRow::as_select())
            .first(conn)
            .await
            .optional()?
            .ok_or(DbError::NotFound)
    })
}

/// The user's keys, newest first.
pub async fn list_for_user(conn: &mut DbConn, user_id: &UserId) -> Result<Vec<ApiKeyRow>, DbError> {
    db_run!(conn, {
        Ok(api_keys::table
            .filter(api_keys::user_id.eq(user_id))
            .order((api_keys::created_at.desc(), api_keys::id.asc()))
            .select(ApiKeyRow::as_select())
            .load(conn)
            .await?)
    })
}

/// How many of the user's keys are not revoked.
pub async fn count_unrevoked(conn: &mut DbConn, user_id: &UserId) -> Result<i64, DbError> {
    db_run!(conn, {
        Ok(api_keys::table
            .filter(api_keys::user_id.eq(user_id))
            .filter(api_keys::revoked_at.is_null())
            .count()
            .get_result(conn)
            .await?)
    })
}

/// Revokes the user's key `id` (once: a revoked key keeps its first revocation time).
pub async fn revoke(
    conn: &mut DbConn,
    id: &ApiKeyId,
    user_id: &UserId,
    at: NaiveDateTime,
) -> Result<(), DbError> {
    find_for_user(conn, id, user_id).await?;
    db_run!(conn, {
        diesel::update(
            api_keys::table
                .filter(api_keys::id.eq(id))
                .filter(api_keys::revoked_at.is_null()),
        )
        .set(api_keys::revoked_at.eq(Some(at)))
        .execute(conn)
        .await?;
    });
    Ok(())
}

/// Records one request made with a key and notes the key as used.
pub async fn record_use(conn: &mut DbConn, usage: &ApiKeyUseRow) -> Result<(), DbError> {
    db_run!(conn, {
        diesel::insert_into(api_key_usage::table)
            .values(usage)
            .execute(conn)
            .await?;
        diesel::update(api_keys::table.find(&usage.key_id))
            .set(api_keys::last_used_at.eq(Some(usage.at)))
            .execute(conn)
            .await?;
    });
    Ok(())
}

/// The latest `limit` requests made with key `id`, newest first.
pub async fn usage(
    conn: &mut DbConn,
    id: &ApiKeyId,
    limit: i64,
) -> Result<Vec<ApiKeyUseRow>, DbError> {
    db_run!(conn, {
        Ok(api_key_usage::table
            .filter(api_key_usage::key_id.eq(id))
            .order((api_key_usage::at.desc(), api_key_usage::id.asc()))
            .limit(limit)
            .select(ApiKeyUseRow::as_select())
            .load(conn)
            .await?)
    })
}

/// Deletes the usage rows older than `before`; returns how many.
pub async fn forget_usage_before(
    conn: &mut DbConn,
    before: NaiveDateTime,
) -> Result<usize, DbError> {
    db_run!(conn, {
        Ok(
            diesel::delete(api_key_usage::table.filter(api_key_usage::at.lt(before)))
                .execute(conn)
                .await?,
        )
    })
}
