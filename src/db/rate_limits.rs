//! Queries on `rate_limits`: fixed-window counters kept in PostgreSQL, so that every node of a
//! deployment counts against the same windows. A SQLite deployment is one node and counts in
//! memory (`crate::auth::rate_limit`); the table exists there only to keep one schema.
//!
//! Each hit is one atomic statement (an upsert on `(limiter, key_hash)` that restarts an ended
//! window and otherwise counts up to the limit), so parallel hits from any number of nodes are
//! counted exactly; nothing is read first and written after. Time is the database's clock, so
//! nodes whose clocks disagree still agree on when a window ends.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Text, Timestamp};
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::rate_limits;
use super::{DbError, DbPool};

/// The database's clock in UTC, typed like the `TIMESTAMP` columns.
const DB_NOW: &str = "(now() AT TIME ZONE 'UTC')";

/// One hit, as its statement left the key's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct Hit {
    /// Whether this hit was counted (it fit in the window).
    #[diesel(sql_type = Bool)]
    pub allowed: bool,
    /// Events counted in the window, this one included when allowed; never above the limit.
    #[diesel(sql_type = Integer)]
    pub count: i32,
    /// When the window ends; also what a give-back names the window by.
    #[diesel(sql_type = Timestamp)]
    pub window_ends_at: NaiveDateTime,
    /// The database's clock when the hit was counted.
    #[diesel(sql_type = Timestamp)]
    pub now: NaiveDateTime,
}

/// The shared counters: the PostgreSQL pool's connections. Cheap to clone.
#[derive(Clone)]
pub struct Counters {
    pool: Pool<AsyncPgConnection>,
}

impl Counters {
    /// The counters of a PostgreSQL deployment; `None` on SQLite (one node: count in memory).
    pub fn shared(pool: &DbPool) -> Option<Self> {
        match pool {
            DbPool::Postgres(pool) => Some(Self { pool: pool.clone() }),
            DbPool::Sqlite(_) => None,
        }
    }

    /// Counts one event for `key_hash` in `limiter`'s current window, or refuses it when the
    /// window already holds `limit` events. A window that has ended starts afresh, `window`
    /// long, with this event.
    pub async fn hit(
        &self,
        limiter: &str,
        key_hash: &str,
        limit: u32,
        window: Duration,
    ) -> Result<Hit, DbError> {
        let limit = i32::try_from(limit).unwrap_or(i32::MAX);
        let window_us = i64::try_from(window.as_micros()).unwrap_or(i64::MAX);
        // In `DO UPDATE SET`, `r.*` is the row as it was before this statement (PostgreSQL
        // evaluates every SET expression against the old row), and the row stays locked until
        // the statement ends, so `RETURNING` reads exactly what this hit wrote.
        let query = format!(
            "INSERT INTO rate_limits AS r (limiter, key_hash, window_ends_at, count, last_allowed)
             VALUES ($1, $2, {DB_NOW} + $3 * INTERVAL '1 microsecond', LEAST($4, 1), $4 > 0)
             ON CONFLICT (limiter, key_hash) DO UPDATE SET
                 window_ends_at = CASE WHEN r.window_ends_at <= {DB_NOW}
                     THEN EXCLUDED.window_ends_at ELSE r.window_ends_at END,
                 count = CASE WHEN r.window_ends_at <= {DB_NOW} THEN EXCLUDED.count
                     WHEN r.count < $4 THEN r.count + 1 ELSE r.count END,
                 last_allowed = CASE WHEN r.window_ends_at <= {DB_NOW}
                     THEN EXCLUDED.last_allowed ELSE r.count < $4 END
             RETURNING last_allowed AS allowed, count, window_ends_at, {DB_NOW} AS now"
        );
        let mut conn = self.connection().await?;
        Ok(diesel::sql_query(query)
            .bind::<Text, _>(limiter)
            .bind::<Text, _>(key_hash)
            .bind::<BigInt, _>(window_us)
            .bind::<Integer, _>(limit)
            .get_result(&mut *conn)
            .await?)
    }

    /// Gives back one event counted in the window that ends at `window_ends_at` (a later
    /// window has not counted it, and a swept one is gone); true when there was one to give.
    pub async fn give_back(
        &self,
        limiter: &str,
        key_hash: &str,
        window_ends_at: NaiveDateTime,
    ) -> Result<bool, DbError> {
        let mut conn = self.connection().await?;
        let updated = diesel::update(
            rate_limits::table
                .find((limiter, key_hash))
                .filter(rate_limits::window_ends_at.eq(window_ends_at))
                .filter(rate_limits::count.gt(0)),
        )
        .set(rate_limits::count.eq(rate_limits::count - 1))
        .execute(&mut *conn)
        .await?;
        Ok(updated == 1)
    }

    /// Forgets `key_hash`'s window in `limiter`.
    pub async fn reset(&self, limiter: &str, key_hash: &str) -> Result<(), DbError> {
        let mut conn = self.connection().await?;
        diesel::delete(rate_limits::table.find((limiter, key_hash)))
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Deletes the windows that have ended (a later hit on their key starts afresh either
    /// way); returns how many.
    pub async fn sweep(&self) -> Result<usize, DbError> {
        let mut conn = self.connection().await?;
        Ok(diesel::delete(
            rate_limits::table.filter(rate_limits::window_ends_at.le(sql::<Timestamp>(DB_NOW))),
        )
        .execute(&mut *conn)
        .await?)
    }

    async fn connection(&self) -> Result<Object<AsyncPgConnection>, DbError> {
        self.pool
            .get()
            .await
            .map_err(|e| DbError::Unavailable(e.to_string()))
    }
}
