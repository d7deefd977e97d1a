//! The request guards: the signed-in user of a request (`CurrentUser`), and the same limited
//! to recruiters (`Recruiter`) or admins (`Admin`). The user is the one signed in to the
//! session, or the owner of the API key the request sends (`Authorization: Bearer`) where the
//! route accepts keys with a scope the key holds (`api_routes`).

use actix_session::{Session, SessionExt};
use actix_web::http::header;
use actix_web::{dev::Payload, web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::api_routes::{Access, MethodAccess};
use crate::auth::login::LoginEntries;
use crate::auth::session_store::STORE_UNAVAILABLE;
use crate::auth::User;
use crate::db;
use crate::domain::Role;
use crate::error::AppError;
use crate::state::AppState;

/// [`crate::auth::login::log_in`], its failure a 500.
pub fn log_in(session: &Session, user: &User) -> Result<(), AppError> {
    crate::auth::login::log_in(session, user)
        .map_err(|e| AppError::internal(std::io::Error::other(e.to_string())))
}

/// 503 when the session store could not be read for this request (see [`STORE_UNAVAILABLE`]).
pub fn ensure_store_available(session: &Session) -> Result<(), AppError> {
    match session.get::<bool>(STORE_UNAVAILABLE) {
        Ok(Some(true)) => Err(AppError::Unavailable("session store unavailable".into())),
        _ => Ok(()),
    }
}

/// Noted on a request made with an API key once the key is known: the key's usage log and
/// the `RateLimit-*` headers of the response come from it.
#[derive(Debug, Clone)]
pub struct KeyCall {
    pub key_id: crate::domain::ApiKeyId,
    pub quota: crate::auth::rate_limit::Quota,
}

/// A request made by a signed-in user whose session is still valid: not logged out, not
/// ended by logout-all (generation), not past the absolute timeout.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub User);

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(key) = bearer_key(req) {
            return key_holder(req, key);
        }
        let session = req.get_session();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let state = state
                .ok_or_else(|| AppError::internal(std::io::Error::other("AppState missing")))?;
            ensure_store_available(&session)?;
            let Some(login) =
                LoginEntries::read(|key| session.get::<serde_json::Value>(key).ok().flatten())
            else {
                return Err(AppError::Unauthenticated);
            };
            // Detached: actix drops the other extractors of a request when one fails (a
            // malformed JSON body next to this one).
            let accounts = state.accounts.clone();
            let absolute_timeout = state.settings.session_absolute_timeout;
            let user =
                db::finish_detached(async move { login.user(&accounts, absolute_timeout).await })
                    .await
                    .map_err(AppError::internal)??;
            match user {
                Some(user) => Ok(Self(user)),
                None => {
                    session.purge();
                    Err(AppError::Unauthenticated)
                }
            }
        })
    }
}

/// The key of `Authorization: Bearer <key>`, when the request sends one. A request with a key
/// is the key's, whatever session cookie it also carries.
fn bearer_key(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| key.trim().to_owned())
}

/// A request made with an API key: the key must be valid and within its rate limit, and this
/// route must accept keys with a scope the key holds. The request's [`KeyCall`] is noted for
/// the response (rate-limit headers, the usage log) as soon as the key is known.
fn key_holder(
    req: &HttpRequest,
    key: String,
) -> LocalBoxFuture<'static, Result<CurrentUser, AppError>> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let access = req
        .app_data::<MethodAccess>()
        .and_then(|routes| routes.of(req.method()));
    let req = req.clone();
    Box::pin(async move {
        let state =
            state.ok_or_else(|| AppError::internal(std::io::Error::other("AppState missing")))?;
        let api_keys = state.api_keys.clone();
        let checked = db::finish_detached(async move { api_keys.authenticate(&key).await })
            .await
            .map_err(AppError::internal)?;
        let holder = checked?;
        req.extensions_mut().insert(KeyCall {
            key_id: holder.key_id.clone(),
            quota: holder.quota,
        });
        if let Some(wait) = holder.limited {
            return Err(AppError::ApiKeyRateLimited {
                wait,
                quota: holder.quota,
            });
        }
        match access {
            Some(Access::Key(scope)) if holder.scopes.contains(&scope) => {
                Ok(CurrentUser(holder.owner))
            }
            Some(Access::Key(scope)) => Err(AppError::InsufficientScope(scope)),
            Some(Access::Public) => Ok(CurrentUser(holder.owner)),
            Some(Access::Session | Access::Invite) | None => Err(AppError::ApiKeyNotAllowed),
        }
    })
}

/// The signed-in user when `allowed(role)`: 401 when nobody is signed in, 403 otherwise.
fn signed_in_as(
    req: &HttpRequest,
    payload: &mut Payload,
    allowed: fn(Role) -> bool,
) -> LocalBoxFuture<'static, Result<User, AppError>> {
    let user = CurrentUser::from_request(req, payload);
    Box::pin(async move {
        let CurrentUser(user) = user.await?;
        if allowed(user.role) {
            Ok(user)
        } else {
            Err(AppError::Forbidden)
        }
    })
}

/// A request made by a signed-in admin: 401 when nobody is signed in, 403 for other roles.
#[derive(Debug, Clone)]
pub struct Admin(pub User);

impl FromRequest for Admin {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = signed_in_as(req, payload, |role| role == Role::Admin);
        Box::pin(async move { user.await.map(Self) })
    }
}

/// A request made by a signed-in recruiter or admin: 401 when nobody is signed in, 403 for
/// candidates.
#[derive(Debug, Clone)]
pub struct Recruiter(pub User);

impl FromRequest for Recruiter {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = signed_in_as(req, payload, Role::recruits);
        Box::pin(async move { user.await.map(Self) })
    }
}
