//! Queries on `auth_sessions`, the server-side state behind session cookies.
//! Rows are keyed by a SHA-256 of the session key, so a leaked table does not leak live cookies.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::auth_sessions;
use super::{DbConn, DbError};
use crate::db_run;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = auth_sessions)]
pub struct SessionRow {
    pub id: String,
    pub state: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub async fn insert(conn: &mut DbConn, row: &SessionRow) -> Result<(), DbError> {
    db_run!(conn, {
        diesel::insert_into(auth_sessions::table)
            .values(row)
            .execute(conn)
            .await?;
    });
    Ok(())
}

/// The state of an unexpired session.
pub async fn load_live(
    conn: &mut DbConn,
    id: &str,
    now: NaiveDateTime,
) -> Result<Option<String>, DbError> {
    db_run!(conn, {
        Ok(auth_sessions::table
            .find(id)
            .filter(auth_sessions::expires_at.gt(now))
            .select(auth_sessions::state)
            .first(conn)
            .await
            .optional()?)
    })
}

/// Replaces the state of a live session; returns false when it has expired or is gone.
pub async fn update_state(
    conn: &mut DbConn,
    id: &str,
    state: &str,
    expires_at: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<bool, DbError> {
    let updated = db_run!(conn, {
        diesel::update(
            auth_sessions::table
                .find(id)
                .filter(auth_sessions::expires_at.gt(now)),
        )
        .set((
            auth_sessions::state.eq(state),
            auth_sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await?
    });
    Ok(updated == 1)
}

/// Pushes the idle expiry out to `expires_at`, skipping the write when the stored expiry is
/// already within `slack` of it (so a burst of requests costs one write, not one each).
pub async fn extend(
    conn: &mut DbConn,
    id: &str,
    expires_at: NaiveDateTime,
    slack: chrono::Duration,
) -> Result<(), DbError> {
    let stale_before = expires_at - slack;
    db_run!(conn, {
        diesel::update(
            auth_sessions::table
                .find(id)
                .filter(auth_sessions::expires_at.lt(stale_before)),
        )
        .set(auth_sessions::expires_at.eq(expires_at))
        .execute(conn)
        .await?;
    });
    Ok(())
}

pub async fn delete(conn: &mut DbConn, id: &str) -> Result<(), DbError> {
    db_run!(conn, {
        diesel::delete(auth_sessions::table.find(id))
            .execute(conn)
            .await?;
    });
    Ok(())
}

/// Removes expired sessions; returns how many.
pub async fn delete_expired(conn: &mut DbConn, now: NaiveDateTime) -> Result<usize, DbError> {
    db_run!(conn, {
        Ok(
            diesel::delete(auth_sessions::table.filter(auth_sessions::expires_at.le(now)))
                .execute(conn)
                .await?,
        )
    })
}
