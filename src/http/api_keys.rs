//! `/api/v1/me/api-keys`: a recruiter's or admin's own API keys. Signed-in sessions only: a
//! key cannot make or see keys.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::auth::api_keys::{ApiKeyView, CreatedKey, KeyUse, NewKey};
use crate::domain::{ApiKeyId, ApiScope};
use crate::error::AppError;
use crate::http::current_user::Recruiter;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    name: String,
    /// Scope names, e.g. `["jobs:read", "reports:read"]`.
    scopes: Vec<String>,
    /// When the key stops working (RFC 3339); absent or null: never.
    #[serde(default)]
    expires_at: Option<DateTime<Utc>>,
}

/// The account's keys, newest first (never their secrets).
#[utoipa::path(get, path = "/api/v1/me/api-keys", tag = "api keys",
    responses((status = 200, description = "The account's keys", body = Vec<ApiKeyView>)))]
pub async fn list(state: web::Data<AppState>, user: Recruiter) -> Result<HttpResponse, AppError> {
    let keys = state.api_keys.list(&user.0).await?;
    Ok(HttpResponse::Ok().json(keys))
}

/// Makes a key: 201 with the whole key, shown this once.
#[utoipa::path(post, path = "/api/v1/me/api-keys", tag = "api keys", request_body = CreateKey,
    responses((status = 201, description = "The new key, with its secret (shown this once)", body = CreatedKey)))]
pub async fn create(
    state: web::Data<AppState>,
    user: Recruiter,
    body: web::Json<CreateKey>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let scopes = body
        .scopes
        .iter()
        .map(|s| ApiScope::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let created = state
        .api_keys
        .create(
            &user.0,
            NewKey {
                name: body.name,
                scopes,
                expires_at: body.expires_at,
            },
        )
        .await?;
    tracing::info!(user_id = %user.0.id, key_id = %created.view.id, "API key created");
    Ok(HttpResponse::Created().json(created))
}

/// Revokes a key: it stops working at once (its usage log stays).
#[utoipa::path(delete, path = "/api/v1/me/api-keys/{id}", tag = "api keys", params(("id" = String, Path, description = "The key's id")),
    responses((status = 204, description = "Revoked")))]
pub async fn revoke(
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = ApiKeyId::from(path.into_inner());
    state.api_keys.revoke(&user.0, &id).await?;
    tracing::info!(user_id = %user.0.id, key_id = %id, "API key revoked");
    Ok(HttpResponse::NoContent().finish())
}

/// The latest requests made with a key, newest first.
#[utoipa::path(get, path = "/api/v1/me/api-keys/{id}/usage", tag = "api keys", params(("id" = String, Path, description = "The key's id")),
    responses((status = 200, description = "The latest requests made with the key, newest first", body = Vec<KeyUse>)))]
pub async fn usage(
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = ApiKeyId::from(path.into_inner());
    Ok(HttpResponse::Ok().json(state.api_keys.usage(&user.0, &id).await?))
}
