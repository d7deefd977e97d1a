//! The login a session holds: the entries written at login, and whether they still sign
//! their user in.

use std::time::Duration;

use actix_session::{Session, SessionInsertError};

use super::accounts::AccountError;
use super::{Accounts, User};
use crate::domain::UserId;

const USER_ID: &str = "user_id";
const GENERATION: &str = "generation";
const LOGGED_IN_AT: &str = "logged_in_at";

/// Binds the session to `user`, under a new session id (no fixation of a pre-login id).
pub fn log_in(session: &Session, user: &User) -> Result<(), SessionInsertError> {
    session.renew();
    // Nothing from before login carries over into the signed-in session.
    session.clear();
    session.insert(USER_ID, &user.id)?;
    session.insert(GENERATION, user.session_generation)?;
    session.insert(LOGGED_IN_AT, chrono::Utc::now().timestamp())?;
    Ok(())
}

/// How long ago this session's login happened; `None` when nobody is logged in.
pub fn login_age(session: &Session) -> Option<Duration> {
    let at = session.get::<i64>(LOGGED_IN_AT).ok().flatten()?;
    let age = chrono::Utc::now().timestamp().saturating_sub(at);
    Some(Duration::from_secs(u64::try_from(age).unwrap_or(0)))
}

/// What [`log_in`] wrote into a session: whose login it is, and when and under which
/// session generation it began.
pub(crate) struct LoginEntries {
    pub user_id: UserId,
    generation: Option<i64>,
    logged_in_at: i64,
}

impl LoginEntries {
    /// The entries as `read` gives them (each value as JSON); `None` when nobody logged in.
    pub(crate) fn read(read: impl Fn(&str) -> Option<serde_json::Value>) -> Option<Self> {
        let user_id = read(USER_ID).and_then(|v| v.as_str().map(UserId::from))?;
        Some(Self {
            user_id,
            generation: read(GENERATION).and_then(|v| v.as_i64()),
            logged_in_at: read(LOGGED_IN_AT).and_then(|v| v.as_i64()).unwrap_or(0),
        })
    }

    /// The user this login signs in, while it is still valid: the account exists and is not
    /// disabled, logout-all has not moved its session generation on, and the absolute timeout
    /// has not passed.
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
        Ok(user.filter(|user| !user.disabled && Some(user.session_generation) == self.generation))
    }
}
