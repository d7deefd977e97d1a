//! The delivery worker: a task on the server's runtime that, every `webhook_poll_interval`,
//! claims due messages from the outbox (a lease, so another node or a later start takes over a
//! message whose worker died), POSTs each signed with its endpoint's secret(s) on a blocking
//! thread (ureq), records the attempt, and schedules the next one with backoff, or gives up
//! after `webhook_max_attempts`.
//!
//! Order: only the oldest pending message of an endpoint is ever due (see
//! [`crate::db::webhooks::due_heads`]), so an endpoint receives its messages in the order they
//! were written, and one that is slow or down holds back only its own. At most
//! `webhook_concurrency` deliveries run at once, each to a different endpoint.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use rand::Rng;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::outbox::retry_delay;
use super::signing::{signature_header, Secret};
use super::target::GuardedResolver;
use crate::config::Settings;
use crate::db::webhooks::{AfterAttempt, AttemptRow, EndpointRow, MessageRow};
use crate::db::{self, DbError, DbPool};
use crate::domain::{WebhookMessageId, WebhookStatus};
use crate::telemetry::Metrics;

/// The most of an error text kept in the delivery log.
const MAX_ERROR: usize = 300;

/// How deliveries are made, from the settings.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    pub allow_private: bool,
    pub timeout: Duration,
    pub max_attempts: u32,
    pub retry_base: Duration,
    pub retry_max: Duration,
    pub poll_interval: Duration,
    pub concurrency: usize,
}

impl DeliverySettings {
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            allow_private: settings.webhook_allow_private,
            timeout: settings.webhook_timeout,
            max_attempts: settings.webhook_max_attempts.max(1),
            retry_base: settings.webhook_retry_base,
            retry_max: settings.webhook_retry_max,
            poll_interval: settings.webhook_poll_interval,
            concurrency: settings.webhook_concurrency.max(1),
        }
    }

    /// How long a claimed message is held: the request's timeout twice over, and some slack
    /// for the database. A worker that died holding one lets it go after this.
    pub fn lease(&self) -> Duration {
        self.timeout * 2 + Duration::from_secs(5)
    }
}

/// The running worker; [`WorkerHandle::stop`] ends it after its deliveries in flight.
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    done: tokio::task::JoinHandle<()>,
}

impl WorkerHandle {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.done.await;
    }
}

/// Starts the worker on the current (actix) runtime.
pub fn start(pool: DbPool, settings: DeliverySettings, metrics: Arc<Metrics>) -> WorkerHandle {
    let (stop, stopped) = watch::channel(false);
    let agent = agent(&settings);
    let done = tokio::task::spawn_local(run(pool, settings, agent, metrics, stopped));
    WorkerHandle { stop, done }
}

/// The HTTP client: the request's timeout, no redirects, no proxy, 4xx/5xx as answers, and
/// the resolver that keeps private addresses out unless allowed.
fn agent(settings: &DeliverySettings) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(settings.timeout))
        .max_redirects(0)
        .max_redirects_will_error(false)
        .http_status_as_error(false)
        .proxy(None)
        .user_agent(concat!("viva-webhooks/", env!("CARGO_PKG_VERSION")))
        .build();
    ureq::Agent::with_parts(
        config,
        ureq::unversioned::transport::DefaultConnector::new(),
        GuardedResolver::new(settings.allow_private),
    )
}

async fn run(
    pool: DbPool,
    settings: DeliverySettings,
    agent: ureq::Agent,
    metrics: Arc<Metrics>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut in_flight = JoinSet::new();
    loop {
        while in_flight.try_join_next().is_some() {}
        let room = settings.concurrency.saturating_sub(in_flight.len());
        if room > 0 {
            match claim_due(&pool, room, settings.lease()).await {
                Ok(claimed) => {
                    for id in claimed {
                        let work = deliver(
                            pool.clone(),
                            id,
                            agent.clone(),
                            settings.clone(),
                            metrics.clone(),
                        );
                        in_flight.spawn_local(work);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "webhook outbox not read"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(settings.poll_interval) => {}
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            _ = stopped.changed() => break,
        }
    }
    // Deliveries under way finish and are recorded (each is bounded by the timeout).
    while in_flight.join_next().await.is_some() {}
}

/// Claims up to `room` due messages; returns the ones this worker now holds.
async fn claim_due(
    pool: &DbPool,
    room: usize,
    lease: Duration,
) -> Result<Vec<WebhookMessageId>, DbError> {
    let mut conn = pool.get().await?;
    let now = db::now();
    let limit = i64::try_from(room).unwrap_or(i64::MAX);
    let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(1));
    let mut claimed = Vec::new();
    for id in db::webhooks::due_heads(&mut conn, now, limit).await? {
        if db::webhooks::claim(&mut conn, &id, now, until).await? {
            claimed.push(id);
        }
    }
    Ok(claimed)
}

/// What one HTTP attempt came to.
#[derive(Debug)]
struct Answer {
    status: Option<u16>,
    error: Option<String>,
    took: Duration,
}

impl Answer {
    fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

async fn deliver(
    pool: DbPool,
    id: WebhookMessageId,
    agent: ureq::Agent,
    settings: DeliverySettings,
    metrics: Arc<Metrics>,
) {
    if let Err(e) = try_deliver(&pool, &id, agent, &settings, &metrics).await {
        tracing::warn!(message_id = %id, error = %e, "webhook delivery not recorded");
    }
}

async fn try_deliver(
    pool: &DbPool,
    id: &WebhookMessageId,
    agent: ureq::Agent,
    settings: &DeliverySettings,
    metrics: &Metrics,
) -> Result<(), DbError> {
    let mut conn = pool.get().await?;
    let Some(message) = db::webhooks::find_message(&mut conn, id).await? else {
        return Ok(());
    };
    let endpoint = match db::webhooks::find_endpoint(&mut conn, &message.endpoint_id).await? {
        Some(endpoint) if endpoint.enabled && message.status == WebhookStatus::Pending => endpoint,
        _ => return db::webhooks::release(&mut conn, id).await,
    };
    let attempt = db::webhooks::next_attempt_number(&mut conn, id).await?;
    // No connection is held while the request runs.
    drop(conn);

    let started_at = db::now();
    let answer = post(agent, &endpoint, &message).await;
    let failures = u32::try_from(message.failures).unwrap_or(0) + 1;
    let after = if answer.delivered() {
        AfterAttempt::Delivered
    } else if failures >= settings.max_attempts {
        AfterAttempt::GiveUp
    } else {
        let jitter = rand::thread_rng().gen::<f64>();
        let wait = retry_delay(failures, settings.retry_base, settings.retry_max, jitter);
        AfterAttempt::RetryAt(
            db::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1)),
        )
    };
    let outcome = match after {
        AfterAttempt::Delivered => "delivered",
        AfterAttempt::RetryAt(_) => "retrying",
        AfterAttempt::GiveUp => "failed",
    };
    metrics.observe_webhook_attempt(outcome);
    match (&answer.status, &answer.error) {
        (_, Some(error)) => {
            tracing::warn!(message_id = %id, attempt, %error, outcome, "webhook attempt failed")
        }
        (Some(status), None) => {
            tracing::info!(message_id = %id, attempt, status, outcome, "webhook attempt")
        }
        (None, None) => {}
    }
    let row = AttemptRow {
        id: uuid::Uuid::new_v4().to_string(),
        message_id: id.clone(),
        attempt,
        status_code: answer.status.map(i32::from),
        error: answer.error,
        started_at,
        duration_ms: i64::try_from(answer.took.as_millis()).unwrap_or(i64::MAX),
    };
    let mut conn = pool.get().await?;
    db::webhooks::record_attempt(&mut conn, &row, after, db::now()).await
}

/// The secrets that sign now: the current one, and the previous one during its grace period.
pub fn signing_secrets(endpoint: &EndpointRow, now: chrono::NaiveDateTime) -> Vec<Secret> {
    let previous = match (&endpoint.previous_secret, endpoint.previous_secret_until) {
        (Some(previous), Some(until)) if until > now => Some(previous.as_str()),
        _ => None,
    };
    std::iter::once(endpoint.secret.as_str())
        .chain(previous)
        .filter_map(|text| Secret::parse(text).ok())
        .collect()
}

/// Sends the message once, on a blocking thread.
async fn post(agent: ureq::Agent, endpoint: &EndpointRow, message: &MessageRow) -> Answer {
    let secrets = signing_secrets(endpoint, db::now());
    let timestamp = Utc::now().timestamp();
    let id = message.id.as_str().to_owned();
    let signatures = signature_header(
        &secrets.iter().collect::<Vec<_>>(),
        &id,
        timestamp,
        message.payload.as_bytes(),
    );
    let url = endpoint.url.clone();
    let body = message.payload.clone();
    let started = Instant::now();
    let sent = tokio::task::spawn_blocking(move || {
        agent
            .post(&url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signatures)
            .send(body.as_bytes())
            .map(|response| response.status().as_u16())
    })
    .await;
    let took = started.elapsed();
    match sent {
        Ok(Ok(status)) => Answer {
            status: Some(status),
            error: None,
            took,
        },
        Ok(Err(e)) => Answer {
            status: None,
            error: Some(shorten(&e.to_string())),
            took,
        },
        Err(e) => Answer {
            status: None,
            error: Some(shorten(&format!("the request's thread failed: {e}"))),
            took,
        },
    }
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_ERROR) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{UserId, WebhookEndpointId};

    fn endpoint(previous_until: Option<chrono::NaiveDateTime>) -> EndpointRow {
        let now = db::now();
        EndpointRow {
            id: WebhookEndpointId::random(),
            owner_id: UserId::random(),
            url: "https://example.com/".into(),
            description: String::new(),
            events: "[]".into(),
            enabled: true,
            secret: Secret::generate().to_text(),
            previous_secret: previous_until.map(|_| Secret::generate().to_text()),
            previous_secret_until: previous_until,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn the_previous_secret_signs_only_during_its_grace_period() {
        let now = db::now();
        let hour = chrono::Duration::hours(1);
        assert_eq!(signing_secrets(&endpoint(None), now).len(), 1);
        assert_eq!(signing_secrets(&endpoint(Some(now + hour)), now).len(), 2);
        assert_eq!(signing_secrets(&endpoint(Some(now - hour)), now).len(), 1);
        let e = endpoint(Some(now + hour));
        let secrets = signing_secrets(&e, now);
        assert_eq!(secrets[0].to_text(), e.secret, "the current secret first");
    }

    #[test]
    fn long_errors_are_cut() {
        assert_eq!(shorten("short"), "short");
        let long = "é".repeat(MAX_ERROR + 10);
        assert_eq!(shorten(&long).chars().count(), MAX_ERROR + 1);
    }
}
