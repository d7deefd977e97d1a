use actix_web::{web, HttpResponse};
use serde_json::json;

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

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}
