//! Queries on `webhook_endpoints`, `webhook_messages` (the outbox) and `webhook_attempts`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::schema::{webhook_attempts, webhook_endpoints, webhook_messages};
use super::{DbConn, DbError};
use crate::db_run;
use crate::domain::{UserId, WebhookEndpointId, WebhookEvent, WebhookMessageId, WebhookStatus};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_endpoints)]
pub struct EndpointRow {
    pub id: WebhookEndpointId,
    pub owner_id: UserId,
    pub url: String,
    pub description: String,
    /// JSON array of event types.
    pub events: String,
    pub enabled: bool,
    /// `whsec_…`.
    pub secret: String,
    /// The secret before the last rotation, still signing until `previous_secret_until`.
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// What an update of an endpoint may change.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = webhook_endpoints)]
pub struct EndpointChangeset {
    pub url: Option<String>,
    pub description: Option<String>,
    pub events: Option<String>,
    pub enabled: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_messages)]
pub struct MessageRow {
    pub id: WebhookMessageId,
    pub endpoint_id: WebhookEndpointId,
    pub event_type: WebhookEvent,
    /// The request body, exactly as signed and sent.
    pub payload: String,
    pub dedupe_key: Option<String>,
    pub status: WebhookStatus,
    pub failures: i32,
    pub next_attempt_at: NaiveDateTime,
    pub leased_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_attempts)]
pub struct AttemptRow {
    pub id: String,
    pub message_id: WebhookMessageId,
    /// 1 for the message's first attempt, counting on across redeliveries.
    pub attempt: i32,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub started_at: NaiveDateTime,
    pub duration_ms: i64,
}

/// What became of a message after an attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AfterAttempt {
    Delivered,
    /// Try again at this time.
    RetryAt(NaiveDateTime),
    /// No attempts left.
    GiveUp,
}

pub async fn insert_endpoint(conn: &mut DbConn, row: &EndpointRow) -> Result<(), DbError> {
    db_run!(conn, {
        diesel::insert_into(webhook_endpoints::table)
            .values(row)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// The endpoint when `owner_id` owns it; someone else's is `None`, exactly like a missing one.
pub async fn find_owned(
    conn: &mut DbConn,
    id: &WebhookEndpointId,
    owner_id: &UserId,
) -> Result<Option<EndpointRow>, DbError> {
    db_run!(conn, {
        Ok(webhook_endpoints::table
            .find(id)
            .filter(webhook_endpoints::owner_id.eq(owner_id))
            .select(EndpointRow::as_select())
            .first(conn)
            .await
            .optional()?)
    })
}

pub async fn find_endpoint(
    conn: &mut DbConn,
    id: &WebhookEndpointId,
) -> Result<Option<EndpointRow>, DbError> {
    db_run!(conn, {
        Ok(webhook_endpoints::table
            .find(id)
            .select(EndpointRow::as_select())
            .first(conn)
            .await
            .optional()?)
    })
}

/// The owner's endpoints, oldest first.
pub async fn endpoints_of(
    conn: &mut DbConn,
    owner_id: &UserId,
) -> Result<Vec<EndpointRow>, DbError> {
    db_run!(conn, {
        Ok(webhook_endpoints::table
            .filter(webhook_endpoints::owner_id.eq(owner_id))
            .order((webhook_endpoints::created_at, webhook_endpoints::id))
            .select(EndpointRow::as_select())
            .load(conn)
            .await?)
    })
}

pub async fn update_endpoint(
    conn: &mut DbConn,
    id: &WebhookEndpointId,
    change: &EndpointChangeset,
) -> Result<(), DbError> {
    db_run!(conn, {
        diesel::update(webhook_endpoints::table.find(id))
            .set(change)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Replaces the secret; the old one keeps signing until `previous_until`.
pub async fn rotate_secret(
    conn: &mut DbConn,
    id: &WebhookEndpointId,
    secret: &str,
    previous: &str,
    previous_until: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    db_run!(conn, {
        diesel::update(webhook_endpoints::table.find(id))
            .set((
                webhook_endpoints::secret.eq(secret),
                webhook_endpoints::previous_secret.eq(Some(previous)),
                webhook_endpoints::previous_secret_until.eq(Some(previous_until)),
                webhook_endpoints::updated_at.eq(now),
            ))
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Deletes the endpoint with its messages and their attempts.
pub async fn delete_endpoint(conn: &mut DbConn, id: &WebhookEndpointId) -> Result<usize, DbError> {
    db_run!(conn, {
        Ok(diesel::delete(webhook_endpoints::table.find(id))
            .execute(conn)
            .await?)
    })
}

/// Queues a message; one with the dedupe key its endpoint already has is dropped (`false`).
pub async fn insert_message(conn: &mut DbConn, row: &MessageRow) -> Result<bool, DbError> {
    db_run!(conn, {
        let inserted = diesel::insert_into(webhook_messages::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        Ok(inserted == 1)
    })
}

/// Up to `limit` messages that may be attempted now: pending, due, not held by a worker, of
/// an enabled endpoint, and the oldest pending message of their endpoint (so each endpoint
/// gets its messages in order, and one that fails holds back only its own).
pub async fn due_heads(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<WebhookMessageId>, DbError> {
    use diesel::dsl::{exists, not};
    let older = diesel::alias!(webhook_messages as older);
    db_run!(conn, {
        let earlier_pending = older
            .filter(
                older
                    .field(webhook_messages::endpoint_id)
                    .eq(webhook_messages::endpoint_id),
            )
            .filter(
                older
                    .field(webhook_messages::status)
                    .eq(WebhookStatus::Pending),
            )
            .filter(
                older
                    .field(webhook_messages::created_at)
                    .lt(webhook_messages::created_at)
                    .or(older
                        .field(webhook_messages::created_at)
                        .eq(webhook_messages::created_at)
                        .and(older.field(webhook_messages::id).lt(webhook_messages::id))),
            );
        Ok(webhook_messages::table
            .inner_join(webhook_endpoints::table)
            .filter(webhook_endpoints::enabled.eq(true))
            .filter(webhook_messages::status.eq(WebhookStatus::Pending))
            .filter(webhook_messages::next_attempt_at.le(now))
            .filter(
                webhook_messages::leased_until
                    .is_null()
                    .or(webhook_messages::leased_until.le(now)),
            )
            .filter(not(exists(earlier_pending)))
            .order((webhook_messages::next_attempt_at, webhook_messages::id))
            .limit(limit)
            .select(webhook_messages::id)
            .load(conn)
            .await?)
    })
}

/// Takes the message for one attempt until `until`; `false` when another worker has it, or it
/// is no longer pending.
pub async fn claim(
    conn: &mut DbConn,
    id: &WebhookMessageId,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<bool, DbError> {
    let changed = db_run!(conn, {
        diesel::update(
            webhook_messages::table
                .find(id)
                .filter(webhook_messages::status.eq(WebhookStatus::Pending))
                .filter(
                    webhook_messages::leased_until
                        .is_null()
                        .or(webhook_messages::leased_until.le(now)),
                ),
        )
        .set(webhook_messages::leased_until.eq(Some(until)))
        .execute(conn)
        .await?
    });
    Ok(changed == 1)
}

pub async fn find_message(
    conn: &mut DbConn,
    id: &WebhookMessageId,
) -> Result<Option<MessageRow>, DbError> {
    db_run!(conn, {
        Ok(webhook_messages::table
            .find(id)
            .select(MessageRow::as_select())
            .first(conn)
            .await
            .optional()?)
    })
}

/// The number the next attempt at the message gets.
pub async fn next_attempt_number(conn: &mut DbConn, id: &WebhookMessageId) -> Result<i32, DbError> {
    let most: Option<i32> = db_run!(conn, {
        webhook_attempts::table
            .filter(webhook_attempts::message_id.eq(id))
            .select(diesel::dsl::max(webhook_attempts::attempt))
            .first(conn)
            .await?
    });
    Ok(most.unwrap_or(0) + 1)
}

/// Stores an attempt and what it means for its message, together, and lets the message go.
pub async fn record_attempt(
    conn: &mut DbConn,
    attempt: &AttemptRow,
    after: AfterAttempt,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    db_run!(conn, {
        conn.transaction::<_, DbError, _>(async |conn| {
            diesel::insert_into(webhook_attempts::table)
                .values(attempt)
                .execute(conn)
                .await?;
            let message = webhook_messages::table.find(&attempt.message_id);
            let released = (
                webhook_messages::leased_until.eq(None::<NaiveDateTime>),
                webhook_messages::updated_at.eq(now),
            );
            match after {
                AfterAttempt::Delivered => {
                    diesel::update(message)
                        .set((
                            released,
                            webhook_messages::status.eq(WebhookStatus::Delivered),
                        ))
                        .execute(conn)
                        .await?
                }
                AfterAttempt::RetryAt(at) => {
                    diesel::update(message)
                        .set((
                            released,
                            webhook_messages::failures.eq(webhook_messages::failures + 1),
                            webhook_messages::next_attempt_at.eq(at),
                        ))
                        .execute(conn)
                        .await?
                }
                AfterAttempt::GiveUp => {
                    diesel::update(message)
                        .set((
                            released,
                            webhook_messages::failures.eq(webhook_messages::failures + 1),
                            webhook_messages::status.eq(WebhookStatus::Failed),
                        ))
                        .execute(conn)
                        .await?
                }
            };
            Ok(())
        })
        .await
    })
}

/// Lets a message go without an attempt (its endpoint vanished or was turned off meanwhile).
pub async fn release(conn: &mut DbConn, id: &WebhookMessageId) -> Result<(), DbError> {
    db_run!(conn, {
        diesel::update(webhook_messages::table.find(id))
            .set(webhook_messages::leased_until.eq(None::<NaiveDateTime>))
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// The endpoint's newest messages, at most `limit`, each with its attempts (oldest first).
pub async fn log_of(
    conn: &mut DbConn,
    endpoint_id: &WebhookEndpointId,
    limit: i64,
) -> Result<Vec<(MessageRow, Vec<AttemptRow>)>, DbError> {
    db_run!(conn, {
        let messages: Vec<MessageRow> = webhook_messages::table
            .filter(webhook_messages::endpoint_id.eq(endpoint_id))
            .order((
                webhook_messages::created_at.desc(),
                webhook_messages::id.desc(),
            ))
            .limit(limit)
            .select(MessageRow::as_select())
            .load(conn)
            .await?;
        let ids: Vec<&WebhookMessageId> = messages.iter().map(|m| &m.id).collect();
        let attempts: Vec<AttemptRow> = webhook_attempts::table
            .filter(webhook_attempts::message_id.eq_any(ids))
            .order((webhook_attempts::message_id, webhook_attempts::attempt))
            .select(AttemptRow::as_select())
            .load(conn)
            .await?;
        Ok(messages
            .into_iter()
            .map(|message| {
                let mine = attempts
                    .iter()
                    .filter(|a| a.message_id == message.id)
                    .cloned()
                    .collect();
                (message, mine)
            })
            .collect())
    })
}

/// Queues the endpoint's message `id` again, due now with a fresh set of attempts (its
/// `webhook-id` unchanged); `false` when the endpoint has no such message.
pub async fn requeue(
    conn: &mut DbConn,
    endpoint_id: &WebhookEndpointId,
    id: &WebhookMessageId,
    now: NaiveDateTime,
) -> Result<bool, DbError> {
    let changed = db_run!(conn, {
        diesel::update(
            webhook_messages::table
                .find(id)
                .filter(webhook_messages::endpoint_id.eq(endpoint_id)),
        )
        .set((
            webhook_messages::status.eq(WebhookStatus::Pending),
            webhook_messages::failures.eq(0),
            webhook_messages::next_attempt_at.eq(now),
            webhook_messages::updated_at.eq(now),
        ))
        .execute(conn)
        .await?
    });
    Ok(changed == 1)
}

/// Messages waiting for delivery, all endpoints together (the outbox's depth).
pub async fn pending_count(conn: &mut DbConn) -> Result<i64, DbError> {
    db_run!(conn, {
        Ok(webhook_messages::table
            .filter(webhook_messages::status.eq(WebhookStatus::Pending))
            .count()
            .get_result(conn)
            .await?)
    })
}
