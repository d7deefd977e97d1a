//! The request guards: the signed-in user of a request (`CurrentUser`), and the same limited
//! to recruiters (`Recruiter`) or admins (`Admin`).

use actix_session::{Session, SessionExt};
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

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

/// A request made by a signed-in user whose session is still valid: not logged out, not
/// ended by logout-all (generation), not past the absolute timeout.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub User);

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
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
