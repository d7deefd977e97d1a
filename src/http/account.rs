//! `/api/v1/me/*`: the signed-in person's own account: password, export, deletion.

use std::time::Duration;

use actix_session::Session;
use actix_web::{http::header, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::account_data::{self, AccountDataError};
use crate::auth::accounts::AccountError;
use crate::auth::User;
use crate::error::AppError;
use crate::http::current_user::{log_in, CurrentUser};
use crate::state::AppState;

/// An account without a password proves it is its owner by having signed in this recently.
const RECENT_SIGN_IN: Duration = Duration::from_secs(10 * 60);

#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// Changes the password; every other session of the account ends, this one goes on.
#[utoipa::path(put, path = "/api/v1/me/password", tag = "account", request_body = PasswordChange,
    responses((status = 204, description = "Changed; the account's other sessions ended")))]
pub async fn change_password(
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    body: web::Json<PasswordChange>,
) -> Result<HttpResponse, AppError> {
    let CurrentUser(user) = user;
    check_password(&state, &user, &body.current_password).await?;
    state
        .accounts
        .set_password(&user, &body.new_password)
        .await?;
    state.logins.user_sessions_ended(&user.id);
    // Set under the new session generation, so this session stays signed in.
    let user = state
        .accounts
        .find(&user.id)
        .await?
        .ok_or(AppError::NotFound)?;
    log_in(&session, &user)?;
    tracing::info!(user_id = %user.id, "password changed");
    Ok(HttpResponse::NoContent().finish())
}

/// Everything viva keeps about the account, as a zip.
#[utoipa::path(get, path = "/api/v1/me/export", tag = "account",
    responses((status = 200, description = "A zip of everything viva keeps about the account", content_type = "application/zip", body = Vec<u8>)))]
pub async fn export(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let zip = account_data::export(&state.pool, &user.0)
        .await
        .map_err(|e| match e {
            AccountDataError::Account(e) => e.into(),
            AccountDataError::Interview(e) => e.into(),
            zip @ AccountDataError::Zip(_) => AppError::internal(zip),
        })?;
    let name = format!("viva-export-{}.zip", chrono::Utc::now().format("%Y-%m-%d"));
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(zip))
}

#[derive(Deserialize, ToSchema)]
pub struct Deletion {
    /// Required when the account has a password.
    password: Option<String>,
}

/// Deletes the account after the person proves it is theirs again: its password, or (for an
/// account that signs in only at a provider) a sign-in within the last ten minutes.
#[utoipa::path(delete, path = "/api/v1/me", tag = "account", request_body = Deletion,
    responses((status = 204, description = "The account and its practice interviews are deleted")))]
pub async fn delete(
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    body: web::Json<Deletion>,
) -> Result<HttpResponse, AppError> {
    let CurrentUser(user) = user;
    if user.has_password {
        check_password(&state, &user, body.password.as_deref().unwrap_or_default()).await?;
    } else if crate::auth::login::login_age(&session).is_none_or(|age| age > RECENT_SIGN_IN) {
        return Err(AppError::ReauthenticationRequired);
    }
    account_data::delete(&state.pool, &user).await?;
    state.logins.user_sessions_ended(&user.id);
    session.purge();
    Ok(HttpResponse::NoContent().finish())
}

/// Re-authentication with the account's password, counted against the account's failed logins
/// (so it cannot be used to guess the password past the login limit).
async fn check_password(state: &AppState, user: &User, password: &str) -> Result<(), AppError> {
    let attempt = state
        .limits
        .login_failures_per_account
        .reserve(user.email.as_str())
        .await?;
    match state.accounts.check_password(&user.id, password).await {
        Ok(()) => Ok(()),
        Err(AccountError::InvalidCredentials) => {
            attempt.keep();
            Err(AppError::InvalidCredentials)
        }
        Err(other) => Err(other.into()),
    }
}
