//! Middleware applied to every request: metrics and the access log, security headers, the request
//! id header, running detached, refusing compressed bodies, and the
//! guarantee that every error body has the JSON error shape.

use std::time::Instant;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{DefaultHeaders, ErrorHandlerResponse, ErrorHandlers, Next};
use actix_web::{web, HttpMessage};
use tracing_actix_web::RequestId;

use super::current_user::KeyCall;
use crate::error::{code_for_status, rate_limit_headers, ErrorBody, ErrorDetail};
use crate::state::AppState;
use crate::telemetry::{method_label, route_label};

const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; media-src 'self' blob:; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn security_headers(https: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        // Invite links carry tokens in their path: never leak a URL to another site.
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((
            "permissions-policy",
            "microphone=(self), camera=(), geolocation=()",
        ))
        .add(("cross-origin-opener-policy", "same-origin"))
        // Static files revalidate (ETag) so an upgrade's new script is picked up at once; the
        // API's stricter no-store, set on its scope, takes precedence there.
        .add((header::CACHE_CONTROL, "no-cache"));
    if https {
        headers.add((header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"))
    } else {
        headers
    }
}

/// API answers are personal: never cached by browsers or proxies.
pub fn no_store() -> DefaultHeaders {
    DefaultHeaders::new().add((header::CACHE_CONTROL, "no-store"))
}

/// Echoes the request id that tracing-actix-web put on the request's log span, so a user's
/// report can be matched to the server's log lines.
pub async fn request_id_header(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let id = res
        .request()
        .extensions()
        .get::<RequestId>()
        .map(|id| id.to_string());
    if let Some(value) = id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        res.headers_mut()
            .insert(header::HeaderName::from_static("x-request-id"), value);
    }
    Ok(res)
}

/// Middleware: counts and times every request by route pattern, method and status (each label
/// bounded by the code, whatever clients send), and writes the access log line, which carries
/// the request span (so the redacted target).
pub async fn record_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = method_label(req.method());
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let result = next.call(req).await;
    if let Ok(res) = &result {
        let elapsed = started.elapsed();
        let status = res.status().as_u16();
        tracing::info!(
            status,
            elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            "request"
        );
        if let Some(state) = state {
            let route = route_label(res.request(), Some(res.status()));
            state
                .metrics
                .observe_request(&route, method, status, elapsed);
        }
    }
    result
}

/// For requests made with an API key (the guard noted a [`KeyCall`]): adds the key's
/// `RateLimit-*` headers to the answer and logs the request in the key's usage log, after the
/// answer (route pattern, method, status; never the key, the path's values or the query).
pub async fn api_key_usage(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let mut res = next.call(req).await?;
    let call = res.request().extensions().get::<KeyCall>().cloned();
    if let (Some(call), Some(state)) = (call, state) {
        for (name, value) in rate_limit_headers(&call.quota) {
            if let Ok(value) = HeaderValue::from_str(&value) {
                res.headers_mut().insert(name, value);
            }
        }
        let method = res.request().method().to_string();
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        let status = res.status().as_u16();
        actix_web::rt::spawn(async move {
            if let Err(e) = state
                .api_keys
                .record_use(&call.key_id, &method, &route, status)
                .await
            {
                tracing::warn!(error = %e, "recording an API key's use failed");
            }
        });
    }
    Ok(res)
}

/// Runs the rest of the request detached ([`crate::db::finish_detached`]), so that a client who
/// goes away does not drop its queries half-way. The abandoned request finishes and its answer
/// is discarded. A panic anywhere below becomes a 500 instead of a lost worker.
pub async fn finish_when_client_leaves(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    crate::db::finish_detached(next.call(req))
        .await
        .map_err(crate::error::AppError::internal)?
}

/// Refuses request bodies sent with a `Content-Encoding` (415 `unsupported_content_encoding`).
/// actix inflates such a body a network chunk at a time, each chunk whole, before any size
/// limit is checked, so 50 KB of gzip became 50 MB of memory per request (20 at once: +885 MB).
/// viva's clients never compress what they send.
pub async fn refuse_compressed_bodies(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let encoding = req
        .headers()
        .get_all(header::CONTENT_ENCODING)
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .trim()
                .to_ascii_lowercase()
        })
        .find(|v| !v.is_empty() && v != "identity");
    if let Some(encoding) = encoding {
        return Ok(req
            .error_response(crate::error::AppError::CompressedBody(encoding))
            .map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// Rewrites any error response that is not already JSON (actix's own 404/405/413 answers,
/// the file server's errors) into `{"error": {"code", "message"}}`.
pub fn json_errors<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(|res: ServiceResponse<B>| {
        let keep_body = res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
        // JSON errors are already in shape; HTML ones are pages written for people (an
        // invite link that does not work).
        if keep_body {
            return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
        }
        let status = res.status();
        let message = status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_lowercase();
        let body = serde_json::to_vec(&ErrorBody {
            error: ErrorDetail {
                code: code_for_status(status),
                message: &message,
            },
        })
        .unwrap_or_default();
        let res = res.map_body(|head, _| {
            head.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            head.headers_mut().remove(header::CONTENT_LENGTH);
            EitherBody::right(BoxBody::new(body))
        });
        Ok(ErrorHandlerResponse::Response(res))
    })
}
