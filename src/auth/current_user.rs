//! The signed-in user of a request, and the session entries that say who it is.

use actix_session::{Session, SessionExt};
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::session_store::STORE_UNAVAILABLE;
use super::User;
use crate::domain::Role;
use crate::error::AppError;
use crate::state::AppState;

const USER_ID: &str = "user_id";
const GENERATION: &str = "generation";
const LOGGED_IN_AT: &str = "logged_in_at";

/// Binds the session to `user`, under a new session id (no fixation of a pre-login id).
pub fn log_in(session: &Session, user: &User) -> Result<(), AppError> {
    session.renew();
    // Nothing from before login carries over into the signed-in session.
    session.clear();
    let insert_failed = |e: actix_session::SessionInsertError| {
        AppError::internal(std::io::Error::other(e.to_string()))
    };
    session.insert(USER_ID, &user.id).map_err(insert_failed)?;
    session
        .insert(GENERATION, user.session_generation)
        .map_err(insert_failed)?;
    session
        .insert(LOGGED_IN_AT, chrono::Utc::now().timestamp())
        .map_err(insert_failed)?;
    Ok(())
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
            let read = |key: &str| session.get::<serde_json::Value>(key).ok().flatten();
            let Some(user_id) = read(USER_ID).and_then(|v| v.as_str().map(str::to_owned)) else {
                return Err(AppError::Unauthenticated);
            };
            let generation = read(GENERATION).and_then(|v| v.as_i64());
            let logged_in_at = read(LOGGED_IN_AT).and_then(|v| v.as_i64()).unwrap_or(0);

            let absolute_limit = state.settings.session_absolute_timeout.as_secs() as i64;
            let too_old = chrono::Utc::now().timestamp() - logged_in_at > absolute_limit;
            let user = if too_old {
                None
            } else {
                // On a task of its own: actix drops the other extractors of a request when one
                // fails (a malformed JSON body next to this one), and a SQLite query dropped
                // half-way panics diesel-async's wrapper on actix's single-threaded runtime.
                let accounts = state.accounts.clone();
                actix_web::rt::spawn(async move { accounts.find(&user_id).await })
                    .await
                    .map_err(AppError::internal)??
            };
            match user {
                Some(user) if Some(user.session_generation) == generation => Ok(Self(user)),
                _ => {
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
        let user = signed_in_as(req, payload, |role| {
            matches!(role, Role::Recruiter | Role::Admin)
        });
        Box::pin(async move { user.await.map(Self) })
    }
}
