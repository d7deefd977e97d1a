//! Signing in at OpenID Connect providers: the browser's round trip to the provider
//! (`/auth/oidc/{provider}/start` and `/callback`, which answer with redirects), the link that
//! waits for an account's password, and the signed-in user's linked identities.

use actix_session::Session;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::auth::oidc::{Callback, IdentityView, OidcError, Outcome, PendingLink, PendingSignIn};
use crate::auth::User;
use crate::domain::IdentityId;
use crate::error::AppError;
use crate::http::auth::client_ip;
use crate::http::current_user::{ensure_store_available, log_in, CurrentUser};
use crate::state::AppState;

/// Session entries between the steps.
const PENDING_SIGN_IN: &str = "oidc_sign_in";
const PENDING_LINK: &str = "oidc_link";

#[derive(Serialize, utoipa::ToSchema)]
struct ProviderButton<'a> {
    key: &'a str,
    name: &'a str,
}

/// What the sign-in page offers.
#[derive(Serialize, utoipa::ToSchema)]
struct SignInOptions<'a> {
    password_sign_in: bool,
    providers: Vec<ProviderButton<'a>>,
}

/// `GET /api/v1/auth/providers`: what the sign-in page offers.
#[utoipa::path(get, path = "/api/v1/auth/providers", tag = "account",
    responses((status = 200, description = "How this server lets people sign in", body = SignInOptions)))]
pub async fn providers(state: web::Data<AppState>) -> HttpResponse {
    let providers: Vec<ProviderButton> = state
        .oidc
        .providers()
        .iter()
        .map(|p| ProviderButton {
            key: &p.key,
            name: &p.name,
        })
        .collect();
    HttpResponse::Ok().json(SignInOptions {
        password_sign_in: state.settings.password_sign_in,
        providers,
    })
}

/// `GET /auth/oidc/{provider}/start`: sends the browser to the provider. A signed-in user
/// starts linking the provider to their account.
pub async fn start(
    state: web::Data<AppState>,
    session: Session,
    provider: web::Path<String>,
    user: Option<CurrentUser>,
) -> HttpResponse {
    let started = async {
        ensure_store_available(&session)?;
        let link_to = user.map(|CurrentUser(user)| user.id);
        let (url, pending) = state.oidc.start(&provider, link_to).await?;
        session.remove(PENDING_LINK);
        session
            .insert(PENDING_SIGN_IN, pending)
            .map_err(|e| AppError::internal(std::io::Error::other(e.to_string())))?;
        Ok::<_, AppError>(url)
    };
    match started.await {
        Ok(url) => redirect(&url),
        Err(e) => back_with_error(&provider, e),
    }
}

/// `GET /auth/oidc/{provider}/callback`: where the provider sends the browser back. Signs in,
/// links, or asks for an account's password; then back to the page, with `?sign_in_error=CODE`
/// when it failed.
pub async fn callback(
    state: web::Data<AppState>,
    session: Session,
    provider: web::Path<String>,
    query: web::Query<Callback>,
    user: Option<CurrentUser>,
) -> HttpResponse {
    // Each started sign-in is finished once, whatever happens next.
    let pending = session
        .remove_as::<PendingSignIn>(PENDING_SIGN_IN)
        .and_then(Result::ok);
    let finished = async {
        ensure_store_available(&session)?;
        let link_to = pending.as_ref().and_then(|p| p.link_to.clone());
        let identity = state
            .oidc
            .finish(&provider, pending, query.into_inner())
            .await?;
        // Linking needs the user who started it, still signed in.
        let signed_in = match (link_to, user) {
            (None, _) => None,
            (Some(id), Some(CurrentUser(user))) if user.id == id => Some(user),
            (Some(_), _) => return Err(OidcError::StateMismatch.into()),
        };
        let outcome = state
            .oidc
            .resolve(
                identity,
                signed_in.as_ref(),
                state.settings.password_sign_in,
            )
            .await?;
        Ok::<_, AppError>(outcome)
    };
    match finished.await {
        Ok(Outcome::SignedIn(user)) => match log_in(&session, &user) {
            Ok(()) => {
                tracing::info!(user_id = %user.id, provider = %provider, "signed in at a provider");
                redirect("/")
            }
            Err(e) => back_with_error(&provider, e),
        },
        Ok(Outcome::Linked) => redirect(&format!("/?linked={provider}")),
        Ok(Outcome::ConfirmLink(link)) => match session.insert(PENDING_LINK, link) {
            Ok(()) => redirect("/?sign_in=confirm_link"),
            Err(e) => back_with_error(
                &provider,
                AppError::internal(std::io::Error::other(e.to_string())),
            ),
        },
        Err(e) => back_with_error(&provider, e),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct PendingLinkView<'a> {
    provider: &'a str,
    provider_name: &'a str,
    email: &'a str,
}

/// `GET /api/v1/auth/oidc/link`: the link waiting for a password, for the page to ask for it;
/// 404 when none is.
#[utoipa::path(get, path = "/api/v1/auth/oidc/link", tag = "account",
    responses((status = 200, description = "The provider sign-in waiting for the account's password", body = PendingLinkView)))]
pub async fn pending_link(
    state: web::Data<AppState>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    ensure_store_available(&session)?;
    let link = pending_link_of(&session).ok_or(OidcError::NoPendingLink)?;
    let provider_name = state
        .oidc
        .providers()
        .iter()
        .find(|p| p.key == link.provider)
        .map_or(link.provider.as_str(), |p| p.name.as_str());
    Ok(HttpResponse::Ok().json(PendingLinkView {
        provider: &link.provider,
        provider_name,
        email: &link.email,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LinkBody {
    password: String,
}

/// `POST /api/v1/auth/oidc/link` `{password}`: the password of the account whose email the
/// provider gave proves it is the person's; links the provider and signs in. Counted against
/// the same limits as logging in.
#[utoipa::path(post, path = "/api/v1/auth/oidc/link", tag = "account", request_body = LinkBody,
    responses((status = 200, description = "Linked and signed in", body = User)))]
pub async fn confirm_link(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    body: web::Json<LinkBody>,
) -> Result<HttpResponse, AppError> {
    if !state.settings.password_sign_in {
        return Err(AppError::PasswordSignInDisabled);
    }
    ensure_store_available(&session)?;
    let link = pending_link_of(&session).ok_or(OidcError::NoPendingLink)?;
    let limits = &state.limits;
    let ip_attempt = limits
        .login_failures_per_ip
        .reserve(&client_ip(&req, &state))
        .await?;
    let account_attempt = limits
        .login_failures_per_account
        .reserve(&link.email)
        .await?;
    let email = link.email.clone();
    match state.oidc.confirm_link(Some(link), &body.password).await {
        Ok(user) => {
            drop(account_attempt);
            limits.login_failures_per_account.reset(&email).await;
            log_in(&session, &user)?;
            tracing::info!(user_id = %user.id, "linked a provider with the account's password");
            Ok(HttpResponse::Ok().json(user))
        }
        Err(e) => {
            let e = AppError::from(e);
            if matches!(e, AppError::InvalidCredentials) {
                ip_attempt.keep();
                account_attempt.keep();
            }
            Err(e)
        }
    }
}

/// `GET /api/v1/me/identities`: my linked identities.
#[utoipa::path(get, path = "/api/v1/me/identities", tag = "account",
    responses((status = 200, description = "The providers linked to my account", body = Vec<IdentityView>)))]
pub async fn identities(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(state.oidc.identities(&user.0.id).await?))
}

/// `DELETE /api/v1/me/identities/{id}`: unlinks one; 409 `last_sign_in_method` when it is my
/// only way to sign in.
#[utoipa::path(delete, path = "/api/v1/me/identities/{id}", tag = "account", params(("id" = String, Path, description = "The identity's id")),
    responses((status = 204, description = "Unlinked")))]
pub async fn remove_identity(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = IdentityId::from(id.into_inner());
    state
        .oidc
        .remove_identity(&user.0, &id, state.settings.password_sign_in)
        .await?;
    tracing::info!(user_id = %user.0.id, identity = %id, "unlinked a provider");
    Ok(HttpResponse::NoContent().finish())
}

fn pending_link_of(session: &Session) -> Option<PendingLink> {
    session.get::<PendingLink>(PENDING_LINK).ok().flatten()
}

fn redirect(location: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// Back to the page, which shows what went wrong (by its code: the page's own words, so a
/// crafted link cannot make the page say anything).
fn back_with_error(provider: &str, error: impl Into<AppError>) -> HttpResponse {
    let error = error.into();
    if matches!(error, AppError::Internal(_) | AppError::Unavailable(_)) {
        tracing::error!(provider = %provider, error = %error, cause = ?error, "signing in at a provider failed");
    } else {
        tracing::info!(provider = %provider, code = %error.code(), error = %error, "signing in at a provider failed");
    }
    redirect(&format!("/?sign_in_error={}", error.code()))
}
