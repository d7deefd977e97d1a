//! `/api/v1/auth/*`: register, log in and out, who am I.

use actix_session::Session;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::auth::accounts::{AccountError, Registration};
use crate::auth::current_user::{ensure_store_available, log_in};
use crate::auth::CurrentUser;
use crate::domain::{Email, Role};
use crate::error::AppError;
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
    let ip = client_ip(&req, &state);
    state
        .limits
        .registrations_per_ip
        .hit(&ip)
        .map_err(AppError::RateLimited)?;
    let user = state
        .accounts
        .register(Registration {
            email: &body.email,
            password: &body.password,
            display_name: &body.display_name,
            role: Role::Candidate,
        })
        .await?;
    tracing::info!(user_id = %user.id, "registered");
    Ok(HttpResponse::Created().json(user))
}

pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    body: web::Json<LoginBody>,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(&req, &state);
    // Count per normalised email, so "A@x.com" and "a@x.com" share one budget.
    let account = Email::parse(&body.email)
        .map(|e| e.to_string())
        .unwrap_or_else(|_| body.email.trim().to_lowercase());
    let limits = &state.limits;
    limits
        .login_failures_per_ip
        .check(&ip)
        .and_then(|()| limits.login_failures_per_account.check(&account))
        .map_err(AppError::RateLimited)?;

    match state
        .accounts
        .authenticate(&body.email, &body.password)
        .await
    {
        Ok(user) => {
            limits.login_failures_per_account.reset(&account);
            log_in(&session, &user)?;
            tracing::info!(user_id = %user.id, "logged in");
            Ok(HttpResponse::Ok().json(user))
        }
        Err(AccountError::InvalidCredentials) => {
            limits.login_failures_per_ip.record(&ip);
            limits.login_failures_per_account.record(&account);
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

/// The address limits are counted against: the TCP peer, or the first X-Forwarded-For hop
/// when the operator said a trusted proxy sets it.
fn client_ip(req: &HttpRequest, state: &AppState) -> String {
    if state.settings.trust_forwarded_for {
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty());
        if let Some(ip) = forwarded {
            return ip.to_owned();
        }
    }
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}
