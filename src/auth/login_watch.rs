//! Long-lived streams (the live interview's WebSocket, a job's event stream) outlive the request
//! that opened them, so each one watches the login it was opened under and ends when that login
//! does. Two ways in, one verdict:
//! - on every heartbeat of the stream, the login is checked again exactly as a request would be
//!   (the session store, then the account: generation, absolute timeout, role), so an end on
//!   another node, by the CLI, or by expiry is seen within one heartbeat;
//! - when a node ends a login (logout, logout-all), the streams on it and, through the cluster
//!   bus, on every other node hear it at once.

use std::sync::Arc;
use std::time::Duration;

use actix_session::storage::{SessionKey, SessionStore};
use actix_web::cookie::{CookieJar, Key};
use actix_web::HttpRequest;
use tokio::sync::broadcast;

use super::login::LoginEntries;
use super::session_store::{session_id, SessionBackend, SESSION_COOKIE, STORE_UNAVAILABLE};
use super::{Accounts, User};
use crate::cluster::Bus;
use crate::domain::{Role, UserId};

/// Notices of logins this node ended; a stream that misses some (lagged) checks again.
const NOTICES: usize = 256;
/// The cluster topic ended logins travel under.
const TOPIC: &str = "logins";

/// Sessions travel as their [`session_id`] (a hash), never as their key.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
enum Ended {
    /// One session (logout), by its [`session_id`].
    Session(String),
    /// Every session of this user (logout-all).
    User(UserId),
}

/// Where streams learn that a login ended; one per node.
#[derive(Clone)]
pub struct Logins {
    checker: Arc<Checker>,
    notices: broadcast::Sender<Ended>,
    bus: Bus,
}

struct Checker {
    store: SessionBackend,
    cookie_key: Key,
    accounts: Accounts,
    absolute_timeout: Duration,
}

impl Logins {
    /// `cookie_key` is the key the session middleware encrypts the cookie with; `bus` carries
    /// the logins other nodes end.
    pub fn new(
        store: SessionBackend,
        cookie_key: Key,
        accounts: Accounts,
        absolute_timeout: Duration,
        bus: Bus,
    ) -> Self {
        let notices = broadcast::channel(NOTICES).0;
        let from_others = notices.clone();
        bus.on_message(TOPIC, move |ended: Ended| {
            let _ = from_others.send(ended);
        });
        Self {
            checker: Arc::new(Checker {
                store,
                accounts,
                absolute_timeout,
                cookie_key,
            }),
            notices,
            bus,
        }
    }

    /// The request's session ends (logout): its streams on every node close now.
    pub fn session_ended(&self, req: &HttpRequest) {
        if let Some(key) = self.checker.session_key(req) {
            self.announce(Ended::Session(session_id(&key)));
        }
    }

    /// Every session of the user ended (logout-all, already stored): their streams on every
    /// node check their login now.
    pub fn user_sessions_ended(&self, user_id: &UserId) {
        self.announce(Ended::User(user_id.to_owned()));
    }

    /// To this node's streams and every other node's.
    fn announce(&self, ended: Ended) {
        self.bus.tell_others(TOPIC, &ended);
        // No receivers (no open stream) is not an error.
        let _ = self.notices.send(ended);
    }

    /// A watch over the login of `req` (made by `user`), for a stream that may stay open only
    /// while the user's role passes `allowed`. `None` when the request has no session cookie.
    pub fn watch(
        &self,
        req: &HttpRequest,
        user: &User,
        allowed: fn(Role) -> bool,
    ) -> Option<LoginWatch> {
        let key = self.checker.session_key(req)?;
        Some(LoginWatch {
            checker: self.checker.clone(),
            session_id: session_id(&key),
            key,
            user_id: user.id.clone(),
            allowed,
            notices: Some(self.notices.subscribe()),
        })
    }
}

/// The login a stream was opened under; [`LoginWatch::ended`] resolves once it has ended.
pub struct LoginWatch {
    checker: Arc<Checker>,
    /// The session key (from the cookie), to look the session up again.
    key: String,
    session_id: String,
    user_id: UserId,
    allowed: fn(Role) -> bool,
    /// `None` once the node's sender is gone (shutting down): the heartbeat still checks.
    notices: Option<broadcast::Receiver<Ended>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Valid,
    Ended,
    /// The session store or the database could not answer: ask again on the next heartbeat
    /// (a brief outage must not cut a live interview).
    Unknown,
}

impl LoginWatch {
    /// Resolves once the login has ended: checked every `heartbeat`, and at once when this
    /// node ends it.
    pub async fn ended(mut self, heartbeat: Duration) {
        let mut ticks =
            tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let notice = tokio::select! {
                _ = ticks.tick() => None,
                notice = next_notice(&mut self.notices) => Some(notice),
            };
            let check = match notice {
                None => true,
                Some(Ok(Ended::Session(id))) if id == self.session_id => return,
                Some(Ok(Ended::Session(_))) => false,
                Some(Ok(Ended::User(id))) => id == self.user_id,
                Some(Err(broadcast::error::RecvError::Lagged(_))) => true,
                Some(Err(broadcast::error::RecvError::Closed)) => {
                    self.notices = None;
                    false
                }
            };
            if check && self.check().await == Verdict::Ended {
                return;
            }
        }
    }

    async fn check(&self) -> Verdict {
        let checker = self.checker.clone();
        let key = self.key.clone();
        let user_id = self.user_id.clone();
        let allowed = self.allowed;
        // Detached: the stream may be dropped at any await.
        crate::db::finish_detached(async move { checker.verdict(key, &user_id, allowed).await })
            .await
            .unwrap_or(Verdict::Unknown)
    }
}

async fn next_notice(
    notices: &mut Option<broadcast::Receiver<Ended>>,
) -> Result<Ended, broadcast::error::RecvError> {
    match notices {
        Some(notices) => notices.recv().await,
        None => std::future::pending().await,
    }
}

impl Checker {
    /// The session key the request's cookie carries (the middleware's private cookie).
    fn session_key(&self, req: &HttpRequest) -> Option<String> {
        let mut jar = CookieJar::new();
        jar.add_original(req.cookie(SESSION_COOKIE)?);
        let cookie = jar.private(&self.cookie_key).get(SESSION_COOKIE)?;
        Some(cookie.value().to_owned())
    }

    /// Whether the session `key` still signs in `user_id` with a role that passes `allowed`:
    /// the same rules as [`super::CurrentUser`].
    async fn verdict(&self, key: String, user_id: &UserId, allowed: fn(Role) -> bool) -> Verdict {
        let Ok(key) = SessionKey::try_from(key) else {
            return Verdict::Ended;
        };
        let state = match self.store.load(&key).await {
            Ok(Some(state)) => state,
            Ok(None) => return Verdict::Ended,
            Err(e) => {
                tracing::warn!(error = %e, "a stream's session cannot be read back");
                return Verdict::Ended;
            }
        };
        if state.contains_key(STORE_UNAVAILABLE) {
            return Verdict::Unknown;
        }
        let entries = LoginEntries::read(|name| {
            state
                .get(name)
                .and_then(|value| serde_json::from_str(value).ok())
        });
        let Some(entries) = entries.filter(|e| e.user_id == *user_id) else {
            return Verdict::Ended;
        };
        match entries.user(&self.accounts, self.absolute_timeout).await {
            Ok(Some(user)) if allowed(user.role) => Verdict::Valid,
            Ok(_) => Verdict::Ended,
            Err(e) => {
                tracing::warn!(error = %e, "cannot check a stream's login; keeping it for now");
                Verdict::Unknown
            }
        }
    }
}
