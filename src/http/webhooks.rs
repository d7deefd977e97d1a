//! `/api/v1/webhooks…`: a recruiter's (or admin's) webhook endpoints, their secrets, test
//! events and delivery log. Someone else's endpoint answers 404.

use actix_web::{web, HttpResponse};

use crate::domain::{WebhookEndpointId, WebhookMessageId};
use crate::error::AppError;
use crate::http::current_user::Recruiter;
use crate::state::AppState;
use crate::webhooks::{
    self, Created, Delivery, Endpoint, EndpointChange, EndpointRules, NewEndpoint, Rotated,
};

/// A message queued for delivery.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct DeliveryQueued {
    delivery_id: WebhookMessageId,
}

fn rules(state: &AppState) -> EndpointRules {
    EndpointRules {
        allow_private: state.settings.webhook_allow_private,
        rotation_grace: state.settings.webhook_rotation_grace,
    }
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    responses((status = 200, description = "My webhook endpoints (never their secrets)", body = Vec<Endpoint>)))]
pub async fn list(state: web::Data<AppState>, user: Recruiter) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(webhooks::list(&state.pool, &user.0.id).await?))
}

#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = NewEndpoint,
    responses((status = 201, description = "The endpoint, with its signing secret (shown this once)", body = Created)))]
pub async fn create(
    state: web::Data<AppState>,
    user: Recruiter,
    body: web::Json<NewEndpoint>,
) -> Result<HttpResponse, AppError> {
    let created =
        webhooks::create(&state.pool, &user.0.id, rules(&state), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(created))
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 200, description = "The endpoint", body = Endpoint)))]
pub async fn get(
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<WebhookEndpointId>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(webhooks::get(&state.pool, &user.0.id, &path).await?))
}

#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path, description = "The endpoint's id")), request_body = EndpointChange,
    responses((status = 200, description = "The endpoint as changed", body = Endpoint)))]
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

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 204, description = "Deleted, with its undelivered messages")))]
pub async fn delete(
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<WebhookEndpointId>,
) -> Result<HttpResponse, AppError> {
    webhooks::delete(&state.pool, &user.0.id, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks", params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 200, description = "The new secret (shown this once); deliveries are signed with both until the old one's grace period ends", body = Rotated)))]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<WebhookEndpointId>,
) -> Result<HttpResponse, AppError> {
    let rotated = webhooks::rotate_secret(&state.pool, &user.0.id, &path, rules(&state)).await?;
    Ok(HttpResponse::Ok().json(rotated))
}

#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", tag = "webhooks", params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 202, description = "A `ping` event is queued for the endpoint", body = DeliveryQueued)))]
pub async fn send_test(
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<WebhookEndpointId>,
) -> Result<HttpResponse, AppError> {
    let id = webhooks::send_test(&state.pool, &user.0.id, &path).await?;
    Ok(HttpResponse::Accepted().json(DeliveryQueued { delivery_id: id }))
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 200, description = "The endpoint's messages, newest first, with every attempt", body = Vec<Delivery>)))]
pub async fn deliveries(
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<WebhookEndpointId>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(webhooks::deliveries(&state.pool, &user.0.id, &path).await?))
}

#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id"), ("delivery_id" = String, Path, description = "The message's id (its `webhook-id`)")),
    responses((status = 202, description = "Queued again, with the same `webhook-id`", body = DeliveryQueued)))]
pub async fn redeliver(
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<(WebhookEndpointId, WebhookMessageId)>,
) -> Result<HttpResponse, AppError> {
    let (id, delivery_id) = path.into_inner();
    webhooks::redeliver(&state.pool, &user.0.id, &id, &delivery_id).await?;
    Ok(HttpResponse::Accepted().json(DeliveryQueued { delivery_id }))
}
