//! Logs (tracing) and metrics (Prometheus), and what keeps both safe to collect: invite tokens
//! never reach a log line or span ([`redact_target`]), and clients cannot add metric series
//! ([`method_label`], [`route_label`]).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpMessage, HttpRequest};
use percent_encoding::percent_decode_str;
use prometheus::{
    CounterVec, Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogFormat, Settings};
use crate::inference::WorkerSnapshot;

/// Installs the global log subscriber. Later calls (tests start many apps) are no-ops.
pub fn init_tracing(settings: &Settings) {
    let _ = tracing_subscriber::registry()
        .with(log_layer(settings, std::io::stderr))
        .try_init();
}

/// The log output the settings ask for (format and filter), written to `writer`. Tests add a
/// second one that writes to a buffer they read.
pub fn log_layer<S, W>(settings: &Settings, writer: W) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(&settings.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let layer = tracing_subscriber::fmt::layer().with_writer(writer);
    match settings.log_format {
        LogFormat::Json => layer.json().flatten_event(true).with_filter(filter).boxed(),
        LogFormat::Pretty => layer.compact().with_filter(filter).boxed(),
    }
}

/// What replaces a secret in a logged URL.
pub const REDACTED: &str = "[redacted]";

/// Query parameters whose value is a secret: the invite token of the live socket (browsers
/// cannot set headers on a WebSocket, so a candidate's socket carries it in the query).
/// `code` and `state`: what an OpenID Connect provider sends back to `/auth/oidc/{provider}/callback`.
const SECRET_QUERY_PARAMS: &[&str] = &["token", "code", "state"];

/// Path segments followed by a secret: `/i/{token}`, the candidate's invite link.
const SECRET_PATH_MARKERS: &[&str] = &["i"];

/// A request target (path and query) fit for a log line or span: every secret it can carry is
/// replaced by `[redacted]` (`/i/[redacted]`, `/ws?token=[redacted]`). Every place that logs a
/// URL, path or query goes through here. Secrets are recognised the way the router and the
/// query parser read them (percent-decoded, case-insensitively), so an encoded spelling that
/// still opens the interview is redacted too; the rest is logged as sent.
pub fn redact_target(target: &str) -> String {
    match target.split_once('?') {
        Some((path, query)) => format!("{}?{}", redact_path(path), redact_query(query)),
        None => redact_path(target),
    }
}

fn redact_path(path: &str) -> String {
    let mut follows_marker = false;
    let segments: Vec<&str> = path
        .split('/')
        .map(|raw| {
            // An encoded slash (`i%2F…`) hides two segments in one: look at both.
            let decoded = percent_decode_str(raw).decode_utf8_lossy();
            let mut secret = false;
            for part in decoded.split('/').filter(|part| !part.is_empty()) {
                secret |= follows_marker;
                follows_marker = SECRET_PATH_MARKERS
                    .iter()
                    .any(|marker| part.eq_ignore_ascii_case(marker));
            }
            if secret {
                REDACTED
            } else {
                raw
            }
        })
        .collect();
    segments.join("/")
}

fn redact_query(query: &str) -> String {
    let pairs: Vec<Cow<'_, str>> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_param(name) => format!("{name}={REDACTED}").into(),
            _ => pair.into(),
        })
        .collect();
    pairs.join("&")
}

fn is_secret_param(raw_name: &str) -> bool {
    let name: String = url::form_urlencoded::parse(raw_name.as_bytes())
        .map(|(name, _)| name)
        .collect();
    SECRET_QUERY_PARAMS
        .iter()
        .any(|secret| name.eq_ignore_ascii_case(secret))
}

/// The request method as a metric label or log field: a standard method by name, anything
/// else `OTHER`, so clients cannot make up label values.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "OTHER",
    }
}

/// The route label of requests that found nothing: no route and no static file.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The route label of the browser app's static files (the fallback for every other path).
pub const STATIC_ROUTE: &str = "static";

/// The route a request matched as a metric label or log field: its pattern
/// (`/api/v1/interviews/{id}`, never the raw path, whose ids and tokens are unbounded and
/// secret), [`STATIC_ROUTE`], or [`UNMATCHED_ROUTE`] once the answer is known to be a 404 there.
pub fn route_label(req: &HttpRequest, status: Option<StatusCode>) -> Cow<'static, str> {
    match req.match_pattern() {
        Some(pattern) if !pattern.is_empty() => pattern.into(),
        Some(_) if status != Some(StatusCode::NOT_FOUND) => STATIC_ROUTE.into(),
        _ => UNMATCHED_ROUTE.into(),
    }
}

/// tracing-actix-web's request span, built from the bounded and redacted forms above instead of
/// the raw method and target.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let target = request
            .uri()
            .path_and_query()
            .map_or("", |target| target.as_str());
        let user_agent = request
            .headers()
            .get("user-agent")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        let client_ip = request
            .connection_info()
            .realip_remote_addr()
            .unwrap_or("")
            .to_owned();
        tracing::info_span!(
            "HTTP request",
            http.method = method_label(request.method()),
            http.route = %route_label(request.request(), None),
            http.target = %redact_target(target),
            http.client_ip = %client_ip,
            http.user_agent = %user_agent,
            http.status_code = tracing::field::Empty,
            request_id = %request_id,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_seconds: HistogramVec,
    live_interviews: IntGauge,
    live_capacity: IntGauge,
    live_free: IntGauge,
    draining: IntGauge,
    live_refused: IntCounterVec,
    model_in_queue: IntGaugeVec,
    model_requests: IntCounterVec,
    model_wait_seconds: CounterVec,
    model_busy_seconds: CounterVec,
    model_tokens: IntCounterVec,
    model_steps: IntCounterVec,
    model_step_rows: IntCounterVec,
    model_prompt_tokens: IntCounterVec,
    webhook_attempts: IntCounterVec,
    webhook_outbox: IntGauge,
    /// The model counters as last read, so each scrape adds what happened since.
    models_seen: Mutex<HashMap<&'static str, WorkerSnapshot>>,
    transcription_tasks: IntGaugeVec,
    transcriptions: IntCounterVec,
    /// Batch transcriptions done and failed as last read.
    transcriptions_seen: Mutex<(u64, u64)>,
}

impl Metrics {
    /// Counts and times one answered request (each label bounded: see [`route_label`] and
    /// [`method_label`]).
    pub fn observe_request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        self.http_requests
            .with_label_values(&[route, method, status.to_string().as_str()])
            .inc();
        self.http_seconds
            .with_label_values(&[route, method])
            .observe(elapsed.as_secs_f64());
    }

    /// Counts a live interview not started (`reason`: `full` or `user_limit`).
    pub fn observe_live_refusal(&self, reason: &str) {
        self.live_refused.with_label_values(&[reason]).inc();
    }

    /// Records the node's live interviews and its capacity (0: no limit), read at scrape time.
    /// This node's live interviews, its capacity (0: no limit), and whether it is draining
    /// (taking no new ones).
    pub fn set_live_interviews(&self, live: usize, capacity: usize, draining: bool) {
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.live_interviews.set(count(live));
        self.live_capacity.set(count(capacity));
        let free = match (draining, capacity) {
            (true, _) => 0,
            (false, 0) => -1,
            (false, capacity) => count(capacity.saturating_sub(live)),
        };
        self.live_free.set(free);
        self.draining.set(i64::from(draining));
    }

    /// Counts one webhook delivery attempt by what it led to: `delivered`, `retrying` (failed,
    /// tried again later) or `failed` (failed, no attempts left).
    pub fn observe_webhook_attempt(&self, outcome: &'static str) {
        self.webhook_attempts.with_label_values(&[outcome]).inc();
    }

    /// Records the webhook messages waiting for delivery, read at scrape time.
    pub fn set_webhook_outbox(&self, pending: i64) {
        self.webhook_outbox.set(pending);
    }

    /// Records what the model workers (`speech`, `llm`, `voice`) have done, read at scrape time.
    pub fn observe_models(&self, models: &[(&'static str, WorkerSnapshot)]) {
        let mut seen = self
            .models_seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (model, now) in models {
            let before = seen.insert(model, *now).unwrap_or_default();
            let label = [*model];
            self.model_in_queue
                .with_label_values(&label)
                .set(i64::try_from(now.in_queue).unwrap_or(i64::MAX));
            self.model_requests
                .with_label_values(&label)
                .inc_by(now.done.saturating_sub(before.done));
            self.model_wait_seconds
                .with_label_values(&label)
                .inc_by(now.wait.saturating_sub(before.wait).as_secs_f64());
            self.model_busy_seconds
                .with_label_values(&label)
                .inc_by(now.busy.saturating_sub(before.busy).as_secs_f64());
            self.model_tokens
                .with_label_values(&label)
                .inc_by(now.tokens.saturating_sub(before.tokens));
            self.model_steps
                .with_label_values(&label)
                .inc_by(now.steps.saturating_sub(before.steps));
            self.model_step_rows
                .with_label_values(&label)
                .inc_by(now.step_rows.saturating_sub(before.step_rows));
            self.model_prompt_tokens
                .with_label_values(&label)
                .inc_by(now.prompt_tokens.saturating_sub(before.prompt_tokens));
        }
    }

    /// Records the batch transcription queue (tasks queued and running on this node) and the
    /// tasks finished since the last scrape, read at scrape time.
    pub fn observe_transcriptions(&self, queued: u64, running: u64, done: u64, failed: u64) {
        let gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.transcription_tasks
            .with_label_values(&["queued"])
            .set(gauge(queued));
        self.transcription_tasks
            .with_label_values(&["running"])
            .set(gauge(running));
        let mut seen = self
            .transcriptions_seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.transcriptions
            .with_label_values(&["done"])
            .inc_by(done.saturating_sub(seen.0));
        self.transcriptions
            .with_label_values(&["failed"])
            .inc_by(failed.saturating_sub(seen.1));
        *seen = (done, failed);
    }

    pub fn new() -> Self {
        let registry =
            Registry::new_custom(Some("viva".into()), None).expect("static prefix is valid");
        let http_requests = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "http_requests_total",
                    "HTTP requests by route, method and status",
                ),
                &["route", "method", "status"],
            ),
        );
        let http_seconds = registered(
            &registry,
            HistogramVec::new(
                HistogramOpts::new(
                    "http_request_duration_seconds",
                    "HTTP request latency by route",
                )
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ]),
                &["route", "method"],
            ),
        );
        let live_interviews = registered(
            &registry,
            IntGauge::new("live_interviews", "Live interview sessions on this node"),
        );
        let live_capacity = registered(
            &registry,
            IntGauge::new(
                "live_interview_capacity",
                "Most live interviews this node starts (max_live_interviews; 0: no limit)",
            ),
        );
        let live_free = registered(
            &registry,
            IntGauge::new(
                "live_interviews_free",
                "New live interviews this node would start now (capacity minus live; 0 while draining; -1: no limit)",
            ),
        );
        let draining = registered(
            &registry,
            IntGauge::new(
                "draining",
                "1 once the node was asked to stop (SIGTERM/SIGINT) and takes no new live interviews",
            ),
        );
        let live_refused = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "live_interviews_refused_total",
                    "Live interviews not started, by reason (full: the node's capacity; user_limit: the user's; draining: the node is shutting down)",
                ),
                &["reason"],
            ),
        );
        let by_model = |name: &str, help: &str| (Opts::new(name, help), ["model"]);
        let (opts, labels) = by_model(
            "model_requests_in_queue",
            "Requests waiting for or running on a model worker",
        );
        let model_in_queue = registered(&registry, IntGaugeVec::new(opts, &labels));
        let (opts, labels) = by_model("model_requests_total", "Requests a model worker finished");
        let model_requests = registered(&registry, IntCounterVec::new(opts, &labels));
        let (opts, labels) = by_model(
            "model_wait_seconds_total",
            "Time finished requests waited before their work began (queue and compute gate)",
        );
        let model_wait_seconds = registered(&registry, CounterVec::new(opts, &labels));
        let (opts, labels) = by_model("model_busy_seconds_total", "Time a model worker computed");
        let model_busy_seconds = registered(&registry, CounterVec::new(opts, &labels));
        let (opts, labels) = by_model(
            "model_tokens_total",
            "Tokens written (tokens per second: its rate over model_busy_seconds_total's)",
        );
        let model_tokens = registered(&registry, IntCounterVec::new(opts, &labels));
        let (opts, labels) = by_model(
            "model_batch_steps_total",
            "Batched steps run (the language model writes every active reply in one step)",
        );
        let model_steps = registered(&registry, IntCounterVec::new(opts, &labels));
        let (opts, labels) = by_model(
            "model_batch_rows_total",
            "Replies advanced by batched steps (average batch size: its rate over model_batch_steps_total's)",
        );
        let model_step_rows = registered(&registry, IntCounterVec::new(opts, &labels));
        let (opts, labels) = by_model(
            "model_prompt_tokens_total",
            "Prompt tokens run (not taken from a cached conversation)",
        );
        let model_prompt_tokens = registered(&registry, IntCounterVec::new(opts, &labels));
        let webhook_attempts = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "webhook_delivery_attempts_total",
                    "Webhook delivery attempts by outcome (delivered; retrying: failed, tried again later; failed: failed, no attempts left)",
                ),
                &["outcome"],
            ),
        );
        let transcription_tasks = registered(
            &registry,
            IntGaugeVec::new(
                Opts::new(
                    "transcription_tasks",
                    "Batch transcriptions on this node by status (queued, running)",
                ),
                &["status"],
            ),
        );
        let transcriptions = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "transcriptions_total",
                    "Batch transcriptions finished on this node, by outcome (done, failed)",
                ),
                &["outcome"],
            ),
        );
        let webhook_outbox = registered(
            &registry,
            IntGauge::new(
                "webhook_outbox_pending",
                "Webhook messages waiting for delivery (all nodes: read from the database)",
            ),
        );
        Self {
            transcription_tasks,
            transcriptions,
            transcriptions_seen: Mutex::new((0, 0)),
            registry,
            http_requests,
            http_seconds,
            live_interviews,
            live_capacity,
            live_free,
            draining,
            live_refused,
            model_in_queue,
            model_requests,
            model_wait_seconds,
            model_busy_seconds,
            model_tokens,
            model_steps,
            model_step_rows,
            model_prompt_tokens,
            webhook_attempts,
            webhook_outbox,
            models_seen: Mutex::new(HashMap::new()),
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// `metric`, registered in `registry` (every definition here is static, so neither can fail).
fn registered<M>(registry: &Registry, metric: prometheus::Result<M>) -> M
where
    M: prometheus::core::Collector + Clone + 'static,
{
    let metric = metric.expect("static metric definition is valid");
    registry
        .register(Box::new(metric.clone()))
        .expect("registered once");
    metric
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_paths_lose_their_token() {
        for (target, logged) in [
            ("/i/abcDEF123", "/i/[redacted]"),
            ("/i/abcDEF123/", "/i/[redacted]/"),
            ("/i/abcDEF123?lang=en", "/i/[redacted]?lang=en"),
            ("/i//abcDEF123", "/i//[redacted]"),
            ("/%69/abcDEF123", "/%69/[redacted]"),
            ("/I/abcDEF123", "/I/[redacted]"),
            ("/i%2FabcDEF123", "/[redacted]"),
            ("/i/i/abcDEF123", "/i/[redacted]/[redacted]"),
            ("/i/", "/i/"),
            ("/i", "/i"),
        ] {
            assert_eq!(redact_target(target), logged, "{target}");
        }
    }

    #[test]
    fn token_parameters_lose_their_value_and_the_rest_stays() {
        for (target, logged) in [
            (
                "/api/v1/interviews/42/ws?token=abcDEF123",
                "/api/v1/interviews/42/ws?token=[redacted]",
            ),
            (
                "/ws?lang=en&token=abc%2BDEF&x=1",
                "/ws?lang=en&token=[redacted]&x=1",
            ),
            (
                "/ws?token=abc&token=def",
                "/ws?token=[redacted]&token=[redacted]",
            ),
            ("/ws?%74oken=abc", "/ws?%74oken=[redacted]"),
            ("/ws?TOKEN=abc", "/ws?TOKEN=[redacted]"),
            ("/ws?to+ken=abc", "/ws?to+ken=abc"),
            ("/ws?tokens=abc&token", "/ws?tokens=abc&token"),
            ("/ws?token=", "/ws?token=[redacted]"),
            ("/ws?", "/ws?"),
            ("/i/abc?token=def", "/i/[redacted]?token=[redacted]"),
        ] {
            assert_eq!(redact_target(target), logged, "{target}");
        }
    }

    #[test]
    fn targets_without_secrets_are_logged_as_sent() {
        for target in [
            "/",
            "",
            "/api/v1/interviews/5f0c/report?format=pdf",
            "/api/v1/invite",
            "/index.html?v=%20x",
            "/static/app.js",
        ] {
            assert_eq!(redact_target(target), target);
        }
    }

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        for junk in ["PROPFIND", "get", "X".repeat(4000).as_str()] {
            let method = Method::from_bytes(junk.as_bytes()).expect("a token is a method");
            assert_eq!(method_label(&method), "OTHER", "{junk}");
        }
    }
}
