//! `/api/v1/auth/*`: register, log in and out, who am I, password reset, email verification.

use actix_session::Session;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::accounts::{AccountError, Registration};
use crate::auth::hashing::HashingError;
use crate::auth::User;
use crate::domain::{Email, Role};
use crate::error::AppError;
use crate::http::current_user::{ensure_store_available, log_in, CurrentUser};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
pub struct RegisterBody {
    email: String,
    password: String,
    display_name: String,
}

/// A message for the person (the answer says nothing else).
#[derive(Serialize, ToSchema)]
pub struct Notice {
    message: String,
}

#[derive(Deserialize, ToSchema)]
pub struct LoginBody {
    email: String,
    password: String,
}

#[utoipa::path(post, path = "/api/v1/auth/register", tag = "account", request_body = RegisterBody,
    responses((status = 201, description = "A candidate account, signed in", body = Me)))]
pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<RegisterBody>,
) -> Result<HttpResponse, AppError> {
    if !state.settings.password_sign_in {
        return Err(AppError::PasswordSignInDisabled);
    }
    let ip = client_ip(&req, &state);
    let attempt = state.limits.registrations_per_ip.reserve(&ip).await?;
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
    if state.email_codes.verification_required(&user) {
        // Off the request: an SMTP server's pace is not the registration's.
        let email_codes = state.email_codes.clone();
        let new_user = user.clone();
        actix_web::rt::spawn(async move {
            if let Err(e) = email_codes.send_verification(&new_user).await {
                tracing::warn!(error = %e, user_id = %new_user.id, "verification email not sent");
            }
        });
    }
    Ok(HttpResponse::Created().json(Me::of(user, &state)))
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "account", request_body = LoginBody,
    responses((status = 200, description = "Signed in: the session cookie is set", body = Me)))]
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
    let ip_attempt = limits.login_failures_per_ip.reserve(&ip).await?;
    let account_attempt = limits.login_failures_per_account.reserve(&account).await?;

    match state
        .accounts
        .authenticate(&body.email, &body.password)
        .await
    {
        Ok(user) => {
            drop(account_attempt);
            limits.login_failures_per_account.reset(&account).await;
            state.accounts.record_sign_in(&user).await?;
            log_in(&session, &user)?;
            tracing::info!(user_id = %user.id, "logged in");
            Ok(HttpResponse::Ok().json(Me::of(user, &state)))
        }
        Err(AccountError::InvalidCredentials) => {
            ip_attempt.keep();
            account_attempt.keep();
            Err(AppError::InvalidCredentials)
        }
        Err(other) => Err(other.into()),
    }
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "account",
    responses((status = 204, description = "This session ended")))]
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

#[utoipa::path(post, path = "/api/v1/auth/logout-all", tag = "account",
    responses((status = 204, description = "Every session of the account ended")))]
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

/// A user as they see themselves: with whether they still have to confirm their email.
/// The signed-in account.
#[derive(Serialize, ToSchema)]
pub struct Me {
    #[serde(flatten)]
    user: User,
    email_verification_required: bool,
}

impl Me {
    fn of(user: User, state: &AppState) -> Self {
        Self {
            email_verification_required: state.email_codes.verification_required(&user),
            user,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/auth/me", tag = "account",
    responses((status = 200, description = "The signed-in account", body = Me)))]
pub async fn me(state: web::Data<AppState>, user: CurrentUser) -> HttpResponse {
    HttpResponse::Ok().json(Me::of(user.0, &state))
}

#[derive(Deserialize, ToSchema)]
pub struct ResetRequest {
    email: String,
}

/// `POST /auth/password-reset`: emails a code when the address has an account. The answer is
/// the same, and as quick, either way: the work happens after it.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "account", request_body = ResetRequest,
    responses((status = 202, description = "The same answer whether or not the address has an account", body = Notice)))]
pub async fn request_password_reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<ResetRequest>,
) -> Result<HttpResponse, AppError> {
    let email = Email::parse(&body.email)?;
    state
        .limits
        .code_emails_per_ip
        .hit(&client_ip(&req, &state))
        .await?;
    // Over the account's budget (or not counted): the same answer, and no email.
    if state
        .limits
        .code_emails_per_account
        .hit(email.as_str())
        .await
        .is_ok()
    {
        let email_codes = state.email_codes.clone();
        actix_web::rt::spawn(async move {
            if let Err(e) = email_codes.send_password_reset(email.as_str()).await {
                tracing::warn!(error = %e, "password reset email not sent");
            }
        });
    }
    Ok(HttpResponse::Accepted().json(Notice {
        message: "If an account uses this address, a code to reset its password is on its way."
            .into(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct ResetConfirm {
    email: String,
    code: String,
    password: String,
}

/// `POST /auth/password-reset/confirm`: sets the new password; every session of the account
/// ends (sign in again with it).
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "account", request_body = ResetConfirm,
    responses((status = 204, description = "The password is changed; every session ended")))]
pub async fn confirm_password_reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<ResetConfirm>,
) -> Result<HttpResponse, AppError> {
    let reset = state
        .email_codes
        .reset_password(&body.email, &body.code, &body.password);
    let user = counted_as_guess(&req, &state, reset).await?;
    state.logins.user_sessions_ended(&user.id);
    Ok(HttpResponse::NoContent().finish())
}

/// Runs a use of an emailed code, counted against the client address's failed attempts (like
/// a wrong password): a wrong code keeps its place in the count, anything else gives it back.
async fn counted_as_guess<T>(
    req: &HttpRequest,
    state: &AppState,
    use_code: impl std::future::Future<Output = Result<T, AccountError>>,
) -> Result<T, AppError> {
    let attempt = state
        .limits
        .login_failures_per_ip
        .reserve(&client_ip(req, state))
        .await?;
    match use_code.await {
        Err(AccountError::InvalidCode) => {
            attempt.keep();
            Err(AppError::InvalidCode)
        }
        other => Ok(other?),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct VerifyBody {
    email: String,
    code: String,
}

/// `POST /auth/verify-email`: confirms the address with the emailed code (signed in or not:
/// the link may open in another browser).
#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "account", request_body = VerifyBody,
    responses((status = 200, description = "The address is confirmed", body = Me)))]
pub async fn verify_email(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<VerifyBody>,
) -> Result<HttpResponse, AppError> {
    let verify = state.email_codes.verify_email(&body.email, &body.code);
    let user = counted_as_guess(&req, &state, verify).await?;
    Ok(HttpResponse::Ok().json(Me::of(user, &state)))
}

/// `POST /auth/verify-email/resend`: a new verification code for the signed-in account.
#[utoipa::path(post, path = "/api/v1/auth/verify-email/resend", tag = "account",
    responses((status = 202, description = "A new code is on its way", body = Notice)))]
pub async fn resend_verification(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let CurrentUser(user) = user;
    if user.email_verified {
        return Err(AppError::InvalidInput(
            "this email address is already confirmed".into(),
        ));
    }
    let limits = &state.limits;
    limits
        .code_emails_per_ip
        .hit(&client_ip(&req, &state))
        .await?;
    limits.code_emails_per_account.hit(&user.email).await?;
    state.email_codes.send_verification(&user).await?;
    Ok(HttpResponse::Accepted().json(Notice {
        message: format!("A new code is on its way to {}.", user.email),
    }))
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
