//! `/api/v1/webhooks…`: a recruiter's (or admin's) webhook endpoints, their secrets, test
//! events and delivery log. Someone else's endpoint answers 404.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::domain::{WebhookEndpointId, WebhookMessageId};
use crate::error::AppError;
use crate::http::current_user::Recruiter;
use crate::state::AppState;
use crate::webhooks::{self, EndpointChange, EndpointRules, NewEndpoint};

fn rules(state: &AppState) -> EndpointRules {
    EndpointRules {
        allow_private: state.settings.webhook_allow_private,
        rotation_grace: state.settings.webhook_rotation_grace,
    }
}

pub async fn list(state: web::Data<AppState>, user: Recruiter) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(webhooks::list(&state.pool, &user.0.id).await?))
}

pub async fn create(
    state: web::Data<AppState>,
    user: Recruiter,
    body: web::Json<NewEndpoint>,
) -> Result<HttpResponse, AppError> {
    let created =
        webhooks::create(&state.pool, &user.0.id, rules(&state), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(created))
}

pub async fn get(
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<WebhookEndpointId>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(webhooks::get(&state.pool, &user.0.id, &path).await?))
}

pub async fn update(
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<WebhookEndpointId>,
    body: web::Json<EndpointChange>,
) -> Result<HttpResponse, AppError> {
    let endpoint = webhooks::update(
        &state.pool,
        &user.0.id,
        &path,
        rules(&state),
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(endpoint))
}

pub async fn delete(
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<WebhookEndpointId>,
) -> Result<HttpResponse, AppError> {
    webhooks::delete(&state.pool, &user.0.id, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn rotate_secret(
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<WebhookEndpointId>,
) -> Result<HttpResponse, AppError> {
    let rotated = webhooks::rotate_secret(&state.pool, &user.0.id, &path, rules(&state)).await?;
    Ok(HttpResponse::Ok().json(rotated))
}

pub async fn send_test(
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<WebhookEndpointId>,
) -> Result<HttpResponse, AppError> {
    let id = webhooks::send_test(&state.pool, &user.0.id, &path).await?;
    Ok(HttpResponse::Accepted().json(json!({ "delivery_id": id })))
}

pub async fn deliveries(
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<WebhookEndpointId>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(webhooks::deliveries(&state.pool, &user.0.id, &path).await?))
}

pub async fn redeliver(
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<(WebhookEndpointId, WebhookMessageId)>,
) -> Result<HttpResponse, AppError> {
    let (id, delivery_id) = path.into_inner();
    webhooks::redeliver(&state.pool, &user.0.id, &id, &delivery_id).await?;
    Ok(HttpResponse::Accepted().json(json!({ "delivery_id": delivery_id })))
}
