//! The signed-in user of a request, and the session entries that say who it is.

use std::time::Duration;

use actix_session::{Session, SessionExt};
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::accounts::AccountError;
use super::session_store::STORE_UNAVAILABLE;
use super::{Accounts, User};
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

/// What [`log_in`] wrote into a session: whose login it is, and when and under which
/// session generation it began.
pub(crate) struct LoginEntries {
    pub user_id: String,
    generation: Option<i64>,
    logged_in_at: i64,
}

impl LoginEntries {
    /// The entries as `read` gives them (each value as JSON); `None` when nobody logged in.
    pub(crate) fn read(read: impl Fn(&str) -> Option<serde_json::Value>) -> Option<Self> {
        let user_id = read(USER_ID).and_then(|v| v.as_str().map(str::to_owned))?;
        Some(Self {
            user_id,
            generation: read(GENERATION).and_then(|v| v.as_i64()),
            logged_in_at: read(LOGGED_IN_AT).and_then(|v| v.as_i64()).unwrap_or(0),
        })
    }

    /// The user this login signs in, while it is still valid: the account exists, logout-all
    /// has not moved its session generation on, and the absolute timeout has not passed.
    pub(crate) async fn user(
        self,
        accounts: &Accounts,
        absolute_timeout: Duration,
    ) -> Result<Option<User>, AccountError> {
        let age = chrono::Utc::now().timestamp() - self.logged_in_at;
        if age > absolute_timeout.as_secs() as i64 {
            return Ok(None);
        }
        let user = accounts.find(&self.user_id).await?;
        Ok(user.filter(|user| Some(user.session_generation) == self.generation))
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
            // On a task of its own: actix drops the other extractors of a request when one
            // fails (a malformed JSON body next to this one), and a SQLite query dropped
            // half-way panics diesel-async's wrapper on actix's single-threaded runtime.
            let accounts = state.accounts.clone();
            let absolute_timeout = state.settings.session_absolute_timeout;
            let user =
                actix_web::rt::spawn(async move { login.user(&accounts, absolute_timeout).await })
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
