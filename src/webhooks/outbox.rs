//! The outbox: an event becomes one `webhook_messages` row per subscribed endpoint, written
//! by the code that changed the state (right after the change, on the same connection), so a
//! restart loses nothing that was written. The worker ([`super::worker`]) delivers the rows.
//!
//! Every body has the shape the Standard Webhooks specification suggests:
//! `{"type": "<event>", "timestamp": "<RFC 3339>", "data": {…}}`.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{json, Map, Value};

use crate::db::webhooks::MessageRow;
use crate::db::{self, DbConn, DbError};
use crate::domain::{InterviewId, UserId, WebhookEvent, WebhookMessageId, WebhookStatus};

/// A new message id: `msg_` and 32 hex digits.
pub fn new_message_id() -> WebhookMessageId {
    WebhookMessageId::from(format!("msg_{}", uuid::Uuid::new_v4().simple()))
}

/// The body of an `event` message.
pub fn body(event: WebhookEvent, at: DateTime<Utc>, data: Value) -> String {
    json!({
        "type": event,
        "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "data": data,
    })
    .to_string()
}

/// Whether an endpoint's `events` (a JSON array) include `event`.
pub fn subscribes(events_json: &str, event: WebhookEvent) -> bool {
    serde_json::from_str::<Vec<WebhookEvent>>(events_json)
        .map(|events| events.contains(&event))
        .unwrap_or(false)
}

/// Queues `event` for every enabled endpoint of `owner_id` that subscribes to it; with a
/// `dedupe_key`, an endpoint that already has a message with that key gets none. Returns how
/// many were queued.
pub async fn emit(
    conn: &mut DbConn,
    owner_id: &UserId,
    event: WebhookEvent,
    data: Value,
    dedupe_key: Option<&str>,
) -> Result<usize, DbError> {
    let endpoints = db::webhooks::endpoints_of(conn, owner_id).await?;
    let now = db::now();
    let mut queued = 0;
    for endpoint in endpoints
        .iter()
        .filter(|endpoint| endpoint.enabled && subscribes(&endpoint.events, event))
    {
        let row = message(endpoint.id.clone(), event, data.clone(), now);
        let row = MessageRow {
            dedupe_key: dedupe_key.map(str::to_owned),
            ..row
        };
        if db::webhooks::insert_message(conn, &row).await? {
            queued += 1;
        }
    }
    if queued > 0 {
        tracing::info!(%event, queued, "webhook messages queued");
    }
    Ok(queued)
}

/// A pending message of `event` to `endpoint_id`, due now.
pub fn message(
    endpoint_id: crate::domain::WebhookEndpointId,
    event: WebhookEvent,
    data: Value,
    now: NaiveDateTime,
) -> MessageRow {
    MessageRow {
        id: new_message_id(),
        endpoint_id,
        event_type: event,
        payload: body(event, now.and_utc(), data),
        dedupe_key: None,
        status: WebhookStatus::Pending,
        failures: 0,
        next_attempt_at: now,
        leased_until: None,
        created_at: now,
        updated_at: now,
    }
}

/// Queues `event` about a hiring interview for its recruiter's endpoints: `data` is the job,
/// the candidate and the interview's id, plus `extra`. A practice interview (no candidate)
/// queues nothing. Once-only events (`once`) land once per endpoint and interview.
pub async fn interview_event(
    conn: &mut DbConn,
    interview_id: &InterviewId,
    event: WebhookEvent,
    extra: Map<String, Value>,
    once: bool,
) -> Result<usize, DbError> {
    let Some(candidate) = db::candidates::of_interview(conn, interview_id).await? else {
        return Ok(0);
    };
    let Some(job) = db::jobs::find(conn, &candidate.job_id).await? else {
        return Ok(0);
    };
    let mut data = Map::new();
    data.insert("job".into(), json!({"id": job.id, "title": job.title}));
    data.insert(
        "candidate".into(),
        json!({"id": candidate.id, "name": candidate.name, "email": candidate.email}),
    );
    data.insert("interview_id".into(), json!(interview_id));
    data.extend(extra);
    let key = once.then(|| format!("{event}:{interview_id}"));
    emit(
        conn,
        &job.owner_id,
        event,
        Value::Object(data),
        key.as_deref(),
    )
    .await
}

/// [`interview_event`] for callers that carry on whatever happens: a failure is logged (the
/// state change it announces already happened and stays).
pub async fn announce(
    conn: &mut DbConn,
    interview_id: &InterviewId,
    event: WebhookEvent,
    extra: Map<String, Value>,
    once: bool,
) {
    if let Err(e) = interview_event(conn, interview_id, event, extra, once).await {
        tracing::error!(%interview_id, %event, error = %e, "could not queue a webhook message");
    }
}

/// The wait before the attempt after `failures` failed ones: `base` doubled for each earlier
/// failure, at most `max`, then between half and all of that (`jitter` in 0..=1 picks where),
/// so endpoints that fail together do not retry together.
pub fn retry_delay(failures: u32, base: Duration, max: Duration, jitter: f64) -> Duration {
    let doublings = failures.saturating_sub(1).min(30);
    let full = base.saturating_mul(1u32 << doublings).min(max);
    let jitter = jitter.clamp(0.0, 1.0);
    full.mul_f64(0.5 + 0.5 * jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_delay_doubles_up_to_the_cap_with_jitter_below_it() {
        let (base, max) = (Duration::from_secs(30), Duration::from_secs(3600));
        let full = |n| retry_delay(n, base, max, 1.0);
        assert_eq!(full(1), Duration::from_secs(30));
        assert_eq!(full(2), Duration::from_secs(60));
        assert_eq!(full(3), Duration::from_secs(120));
        assert_eq!(full(8), Duration::from_secs(3600), "capped");
        assert_eq!(full(1000), Duration::from_secs(3600), "no overflow");
        assert_eq!(retry_delay(2, base, max, 0.0), Duration::from_secs(30));
        for n in 1..20 {
            let d = retry_delay(n, base, max, 0.37);
            assert!(d >= full(n) / 2 && d <= full(n), "{n}: {d:?}");
        }
    }

    #[test]
    fn bodies_carry_type_timestamp_and_data() {
        let at = DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        let body: Value = serde_json::from_str(&body(
            WebhookEvent::InterviewStarted,
            at,
            json!({"interview_id": "i1"}),
        ))
        .expect("json");
        assert_eq!(
            body,
            json!({"type": "interview.started", "timestamp": "2026-12-04T10:00:00.000000Z",
                   "data": {"interview_id": "i1"}})
        );
    }

    #[test]
    fn subscriptions_are_read_from_the_events_json() {
        let events = r#"["candidate.invited","interview.completed"]"#;
        assert!(subscribes(events, WebhookEvent::CandidateInvited));
        assert!(!subscribes(events, WebhookEvent::InterviewStarted));
        assert!(!subscribes("not json", WebhookEvent::CandidateInvited));
        assert!(new_message_id().as_str().starts_with("msg_"));
        assert_ne!(new_message_id(), new_message_id());
    }
}
