//! `/api/v1/auth/*`: register, log in and out, who am I.

use actix_session::Session;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::auth::accounts::{AccountError, Registration};
use crate::auth::hashing::HashingError;
use crate::domain::{Email, Role};
use crate::error::AppError;
use crate::http::current_user::{ensure_store_available, log_in, CurrentUser};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct RegisterBody {
    email: String,
    password: String,
    display_name: String,
}

#[derive(Deserialize)]
pub struct LoginBody {
    email: String,
    password: String,
}

pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<RegisterBody>,
) -> Result<HttpResponse, AppError> {
    if !state.settings.password_sign_in {
        return Err(AppError::PasswordSignInDisabled);
    }
    let ip = client_ip(&req, &state);
    let attempt = state
        .limits
        .registrations_per_ip
        .reserve(&ip)
        .map_err(AppError::RateLimited)?;
    let registered = state
        .accounts
        .register(Registration {
            email: &body.email,
            password: &body.password,
            display_name: &body.display_name,
            role: Role::Candidate,
        })
        .await;
    // A registration the busy server did not get to try does not use up the address's budget.
    if !matches!(registered, Err(AccountError::Hashing(HashingError::Busy))) {
        attempt.keep();
    }
    let user = registered?;
    tracing::info!(user_id = %user.id, "registered");
    Ok(HttpResponse::Created().json(user))
}

pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    body: web::Json<LoginBody>,
) -> Result<HttpResponse, AppError> {
    if !state.settings.password_sign_in {
        return Err(AppError::PasswordSignInDisabled);
    }
    let ip = client_ip(&req, &state);
    // Count per normalised email, so "A@x.com" and "a@x.com" share one budget.
    let account = Email::parse(&body.email)
        .map(|e| e.to_string())
        .unwrap_or_else(|_| body.email.trim().to_lowercase());
    let limits = &state.limits;
    // Each attempt takes its place in both budgets before its password is hashed, so parallel
    // attempts cannot all slip past the limit; a place is given back unless the attempt failed.
    let ip_attempt = limits
        .login_failures_per_ip
        .reserve(&ip)
        .map_err(AppError::RateLimited)?;
    let account_attempt = limits
        .login_failures_per_account
        .reserve(&account)
        .map_err(AppError::RateLimited)?;

    match state
        .accounts
        .authenticate(&body.email, &body.password)
        .await
    {
        Ok(user) => {
            drop(account_attempt);
            limits.login_failures_per_account.reset(&account);
            state.accounts.record_sign_in(&user).await?;
            log_in(&session, &user)?;
            tracing::info!(user_id = %user.id, "logged in");
            Ok(HttpResponse::Ok().json(user))
        }
        Err(AccountError::InvalidCredentials) => {
            ip_attempt.keep();
            account_attempt.keep();
            Err(AppError::InvalidCredentials)
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    ensure_store_available(&session)?;
    session.purge();
    state.logins.session_ended(&req);
    Ok(HttpResponse::NoContent().finish())
}

pub async fn logout_all(
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    state.accounts.end_all_sessions(&user.0.id).await?;
    session.purge();
    state.logins.user_sessions_ended(&user.0.id);
    tracing::info!(user_id = %user.0.id, "ended all sessions");
    Ok(HttpResponse::NoContent().finish())
}

pub async fn me(user: CurrentUser) -> HttpResponse {
    HttpResponse::Ok().json(user.0)
}

/// The address limits are counted against: the TCP peer, or the `X-Forwarded-For` hop added
/// by the outermost trusted proxy (see [`crate::auth::client_ip`]).
pub fn client_ip(req: &HttpRequest, state: &AppState) -> String {
    let forwarded_for = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok());
    crate::auth::client_ip::client_ip(
        req.peer_addr().map(|a| a.ip()),
        forwarded_for,
        state.settings.trusted_proxy_hops(),
    )
    .map_or_else(|| "unknown".into(), |ip| ip.to_string())
}
