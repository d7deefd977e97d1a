use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::error::AppError;
use crate::state::AppState;

/// 200 when the database answers, 503 otherwise.
pub async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    state.pool.ping().await?;
    Ok(HttpResponse::Ok().json(json!({
        "status": "ok",
        "database": state.pool.backend_name(),
        "version": env!("CARGO_PKG_VERSION"),
    })))
}

/// Readiness, for load balancers and orchestrators: 200 while this node takes new live
/// interviews, 503 once it is draining (SIGTERM) or cannot reach its database. The body says
/// how full it is, so an operator can send new interviews to the node with room.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let (live, capacity, draining) = match &state.live {
        Some(live) => (
            live.registry.live(),
            live.registry.capacity(),
            live.registry.is_draining(),
        ),
        None => (0, 0, false),
    };
    let database = state.pool.ping().await;
    let status = match (&database, draining) {
        (_, true) => "draining",
        (Err(_), false) => "database_unavailable",
        (Ok(()), false) => "ready",
    };
    let body = json!({
        "status": status,
        "node": state.node,
        "live_interviews": live,
        "capacity": capacity,
        "free": (capacity > 0).then(|| capacity.saturating_sub(live)),
        "models": state.live.is_some(),
        // Who speaks the interviewer here: `local`, `browser` or `off` (null: no models).
        "voice": state.live.as_ref().map(|live| live.voice),
        // Whether it hears the other nodes (null: a single node on SQLite).
        "cluster_listening": state.bus.is_listening(),
    });
    if status == "ready" {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header((header::RETRY_AFTER, "1"))
            .json(body)
    }
}

/// Prometheus text; with `metrics_token` set, only for a scraper that sends it as a bearer
/// token. Which port serves it at all is startup's choice (`metrics_bind`).
pub async fn metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    if let Some(token) = &state.settings.metrics_token {
        if !bearer_token_is(&req, token) {
            return Err(AppError::MetricsToken);
        }
    }
    if let Some(live) = &state.live {
        state.metrics.set_live_interviews(
            live.registry.live(),
            live.registry.capacity(),
            live.registry.is_draining(),
        );
        let engines = &live.engines;
        let mut models = vec![
            ("speech", engines.speech.stats()),
            ("speech_batch", engines.speech.background_stats()),
            ("llm", engines.llm.stats()),
        ];
        if let Some(voice) = &engines.voice {
            models.push(("voice", voice.stats()));
        }
        models.push(("assessment", engines.background.stats()));
        state.metrics.observe_models(&models);
    }
    match crate::webhooks::outbox_depth(&state.pool).await {
        Ok(pending) => state.metrics.set_webhook_outbox(pending),
        Err(e) => tracing::warn!(error = %e, "webhook outbox depth not read"),
    }
    let batch = state.transcriptions.snapshot();
    state
        .metrics
        .observe_transcriptions(batch.queued, batch.running, batch.done, batch.failed);
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render()))
}

/// Whether the request's `Authorization: Bearer …` is `expected`, compared in constant time.
fn bearer_token_is(req: &HttpRequest, expected: &SecretString) -> bool {
    let Some((scheme, sent)) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().split_once(' '))
    else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer")
        && bool::from(
            sent.trim()
                .as_bytes()
                .ct_eq(expected.expose_secret().as_bytes()),
        )
}
