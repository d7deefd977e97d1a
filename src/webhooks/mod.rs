//! Signed webhooks: recruiters register endpoints for hiring events, and viva delivers each
//! event to them signed as the Standard Webhooks specification says ([`signing`]), through a
//! durable outbox in the database ([`outbox`]) that a background worker delivers with retries
//! ([`worker`]), only to addresses the operator allows ([`target`]).
//!
//! An endpoint belongs to the account that made it: nobody else sees it (an admin neither; its
//! URL and secret are its owner's integration), and it receives the events of the jobs its
//! owner owns.

pub mod outbox;
pub mod signing;
pub mod target;
pub mod worker;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::db::webhooks::{AttemptRow, EndpointChangeset, EndpointRow, MessageRow};
use crate::db::{self, DbError, DbPool};
use crate::domain::{
    Invalid, UserId, WebhookEndpointId, WebhookEvent, WebhookMessageId, WebhookStatus,
};
use signing::Secret;

/// The most endpoints one account may have.
pub const MAX_ENDPOINTS: usize = 20;
/// The longest description.
const MAX_DESCRIPTION: usize = 500;
/// Messages the delivery log shows, newest first.
const LOG_LENGTH: i64 = 50;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("this endpoint is disabled; enable it before sending it a test event")]
    Disabled,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// What the rules of endpoints need from the settings.
#[derive(Debug, Clone, Copy)]
pub struct EndpointRules {
    /// `webhook_allow_private`: whether URLs may name private and loopback addresses.
    pub allow_private: bool,
    /// `webhook_rotation_grace`: how long the previous secret keeps signing after a rotation.
    pub rotation_grace: Duration,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = NewWebhookEndpoint)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    pub url: String,
    pub events: Vec<WebhookEvent>,
    #[serde(default)]
    pub description: String,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = WebhookEndpointChange)]
#[serde(deny_unknown_fields)]
pub struct EndpointChange {
    pub url: Option<String>,
    pub events: Option<Vec<WebhookEvent>>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// An endpoint as its owner sees it (never its secret, which is shown once).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = WebhookEndpoint)]
pub struct Endpoint {
    pub id: WebhookEndpointId,
    pub url: String,
    pub description: String,
    pub events: Vec<WebhookEvent>,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Until when the secret before the last rotation still signs (`None`: it no longer does).
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
}

impl Endpoint {
    fn of(row: &EndpointRow) -> Self {
        let now = db::now();
        Self {
            id: row.id.clone(),
            url: row.url.clone(),
            description: row.description.clone(),
            events: serde_json::from_str(&row.events).unwrap_or_default(),
            enabled: row.enabled,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
            previous_secret_expires_at: row
                .previous_secret_until
                .filter(|until| *until > now && row.previous_secret.is_some())
                .map(|until| until.and_utc()),
        }
    }
}

/// A new endpoint with its signing secret: the only time the secret is shown.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = WebhookCreated)]
pub struct Created {
    #[serde(flatten)]
    pub endpoint: Endpoint,
    pub secret: String,
}

/// A rotated secret: the new one (shown once) and until when the old one still signs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = WebhookSecretRotated)]
pub struct Rotated {
    pub secret: String,
    pub previous_secret_expires_at: DateTime<Utc>,
}

/// One message in the delivery log, with its attempts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = WebhookDelivery)]
pub struct Delivery {
    /// The message's `webhook-id`.
    pub id: WebhookMessageId,
    pub event: WebhookEvent,
    pub status: WebhookStatus,
    pub created_at: DateTime<Utc>,
    /// When a pending message is tried next.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub attempts: Vec<Attempt>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = WebhookAttempt)]
pub struct Attempt {
    pub attempt: i32,
    /// The HTTP status that came back; `None` when none did (`error` says why).
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub at: DateTime<Utc>,
    pub duration_ms: i64,
}

impl Delivery {
    fn of(message: MessageRow, attempts: Vec<AttemptRow>) -> Self {
        Self {
            next_attempt_at: (message.status == WebhookStatus::Pending)
                .then(|| message.next_attempt_at.and_utc()),
            id: message.id,
            event: message.event_type,
            status: message.status,
            created_at: message.created_at.and_utc(),
            attempts: attempts
                .into_iter()
                .map(|a| Attempt {
                    attempt: a.attempt,
                    status_code: a.status_code,
                    error: a.error,
                    at: a.started_at.and_utc(),
                    duration_ms: a.duration_ms,
                })
                .collect(),
        }
    }
}

fn check_events(events: &[WebhookEvent]) -> Result<String, Invalid> {
    if events.is_empty() {
        return Err(Invalid("events: choose at least one event".into()));
    }
    if events.contains(&WebhookEvent::Ping) {
        return Err(Invalid(
            "events: `ping` is not subscribed to; send a test from the endpoint instead".into(),
        ));
    }
    let mut unique: Vec<WebhookEvent> = Vec::new();
    for event in events {
        if !unique.contains(event) {
            unique.push(*event);
        }
    }
    Ok(serde_json::Value::from(unique.iter().map(|e| e.as_str()).collect::<Vec<_>>()).to_string())
}

fn check_description(description: &str) -> Result<String, Invalid> {
    let description = description.trim();
    let count = description.chars().count();
    if count > MAX_DESCRIPTION {
        return Err(Invalid(format!(
            "description: at most {MAX_DESCRIPTION} characters, got {count}"
        )));
    }
    Ok(description.to_owned())
}

/// The owner's endpoint `id`; anyone else's is not found.
async fn owned(
    conn: &mut db::DbConn,
    owner: &UserId,
    id: &WebhookEndpointId,
) -> Result<EndpointRow, WebhookError> {
    db::webhooks::find_owned(conn, id, owner)
        .await?
        .ok_or(WebhookError::Db(DbError::NotFound))
}

pub async fn list(pool: &DbPool, owner: &UserId) -> Result<Vec<Endpoint>, WebhookError> {
    let mut conn = pool.get().await?;
    Ok(db::webhooks::endpoints_of(&mut conn, owner)
        .await?
        .iter()
        .map(Endpoint::of)
        .collect())
}

pub async fn create(
    pool: &DbPool,
    owner: &UserId,
    rules: EndpointRules,
    new: NewEndpoint,
) -> Result<Created, WebhookError> {
    let url = target::parse_url(&new.url, rules.allow_private)?;
    let events = check_events(&new.events)?;
    let description = check_description(&new.description)?;
    let mut conn = pool.get().await?;
    if db::webhooks::endpoints_of(&mut conn, owner).await?.len() >= MAX_ENDPOINTS {
        return Err(Invalid(format!(
            "an account has at most {MAX_ENDPOINTS} webhook endpoints; delete one first"
        ))
        .into());
    }
    let secret = Secret::generate().to_text();
    let now = db::now();
    let row = EndpointRow {
        id: WebhookEndpointId::random(),
        owner_id: owner.clone(),
        url: url.to_string(),
        description,
        events,
        enabled: new.enabled,
        secret: secret.clone(),
        previous_secret: None,
        previous_secret_until: None,
        created_at: now,
        updated_at: now,
    };
    db::webhooks::insert_endpoint(&mut conn, &row).await?;
    tracing::info!(endpoint_id = %row.id, "webhook endpoint created");
    Ok(Created {
        endpoint: Endpoint::of(&row),
        secret,
    })
}

pub async fn get(
    pool: &DbPool,
    owner: &UserId,
    id: &WebhookEndpointId,
) -> Result<Endpoint, WebhookError> {
    let mut conn = pool.get().await?;
    Ok(Endpoint::of(&owned(&mut conn, owner, id).await?))
}

pub async fn update(
    pool: &DbPool,
    owner: &UserId,
    id: &WebhookEndpointId,
    rules: EndpointRules,
    change: EndpointChange,
) -> Result<Endpoint, WebhookError> {
    let changeset = EndpointChangeset {
        url: match &change.url {
            Some(url) => Some(target::parse_url(url, rules.allow_private)?.to_string()),
            None => None,
        },
        events: change.events.as_deref().map(check_events).transpose()?,
        description: change
            .description
            .as_deref()
            .map(check_description)
            .transpose()?,
        enabled: change.enabled,
        updated_at: Some(db::now()),
    };
    let mut conn = pool.get().await?;
    owned(&mut conn, owner, id).await?;
    db::webhooks::update_endpoint(&mut conn, id, &changeset).await?;
    Ok(Endpoint::of(&owned(&mut conn, owner, id).await?))
}

pub async fn delete(
    pool: &DbPool,
    owner: &UserId,
    id: &WebhookEndpointId,
) -> Result<(), WebhookError> {
    let mut conn = pool.get().await?;
    owned(&mut conn, owner, id).await?;
    db::webhooks::delete_endpoint(&mut conn, id).await?;
    tracing::info!(endpoint_id = %id, "webhook endpoint deleted");
    Ok(())
}

/// A new secret; deliveries carry signatures by both for `rotation_grace`.
pub async fn rotate_secret(
    pool: &DbPool,
    owner: &UserId,
    id: &WebhookEndpointId,
    rules: EndpointRules,
) -> Result<Rotated, WebhookError> {
    let mut conn = pool.get().await?;
    let row = owned(&mut conn, owner, id).await?;
    let secret = Secret::generate().to_text();
    let now = db::now();
    let until =
        now + chrono::Duration::from_std(rules.rotation_grace).unwrap_or(chrono::Duration::days(1));
    db::webhooks::rotate_secret(&mut conn, id, &secret, &row.secret, until, now).await?;
    tracing::info!(endpoint_id = %id, "webhook secret rotated");
    Ok(Rotated {
        secret,
        previous_secret_expires_at: until.and_utc(),
    })
}

/// Queues a `ping` to the endpoint; returns the message's id.
pub async fn send_test(
    pool: &DbPool,
    owner: &UserId,
    id: &WebhookEndpointId,
) -> Result<WebhookMessageId, WebhookError> {
    let mut conn = pool.get().await?;
    let row = owned(&mut conn, owner, id).await?;
    if !row.enabled {
        return Err(WebhookError::Disabled);
    }
    let data = json!({"endpoint_id": id, "message": "A test event from viva."});
    let message = outbox::message(id.clone(), WebhookEvent::Ping, data, db::now());
    db::webhooks::insert_message(&mut conn, &message).await?;
    Ok(message.id)
}

/// The endpoint's latest messages with their attempts, newest first.
pub async fn deliveries(
    pool: &DbPool,
    owner: &UserId,
    id: &WebhookEndpointId,
) -> Result<Vec<Delivery>, WebhookError> {
    let mut conn = pool.get().await?;
    owned(&mut conn, owner, id).await?;
    Ok(db::webhooks::log_of(&mut conn, id, LOG_LENGTH)
        .await?
        .into_iter()
        .map(|(message, attempts)| Delivery::of(message, attempts))
        .collect())
}

/// Sends a message again (delivered or failed alike), with the same `webhook-id` and a fresh
/// set of attempts.
pub async fn redeliver(
    pool: &DbPool,
    owner: &UserId,
    id: &WebhookEndpointId,
    message_id: &WebhookMessageId,
) -> Result<(), WebhookError> {
    let mut conn = pool.get().await?;
    owned(&mut conn, owner, id).await?;
    if !db::webhooks::requeue(&mut conn, id, message_id, db::now()).await? {
        return Err(DbError::NotFound.into());
    }
    tracing::info!(endpoint_id = %id, %message_id, "webhook message queued again");
    Ok(())
}

/// Messages waiting in the outbox (for `/metrics`).
pub async fn outbox_depth(pool: &DbPool) -> Result<i64, DbError> {
    let mut conn = pool.get().await?;
    db::webhooks::pending_count(&mut conn).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_must_be_chosen_without_ping_and_are_kept_once() {
        use WebhookEvent::*;
        assert!(check_events(&[]).is_err());
        assert!(check_events(&[Ping]).is_err());
        assert_eq!(
            check_events(&[CandidateInvited, InterviewCompleted, CandidateInvited]),
            Ok(r#"["candidate.invited","interview.completed"]"#.to_owned())
        );
    }

    #[test]
    fn descriptions_are_trimmed_and_bounded() {
        assert_eq!(check_description("  ATS  "), Ok("ATS".to_owned()));
        assert!(check_description(&"x".repeat(MAX_DESCRIPTION + 1)).is_err());
    }
}
