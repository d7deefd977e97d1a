//! Server-side session state for actix-session: in the app's database by default, or in Redis
//! for multi-node deployments. Either way logout deletes the state, so an old cookie is dead.

use std::collections::HashMap;

use actix_session::storage::{
    generate_session_key, LoadError, RedisSessionStore, SaveError, SessionKey, SessionStore,
    UpdateError,
};
use actix_web::cookie::time::Duration as CookieDuration;
use chrono::Utc;
use sha2::{Digest, Sha256};

use crate::db::{self, sessions::SessionRow, DbPool};

type SessionState = HashMap<String, String>;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "viva_session";

/// Session entry set when the store could not be read. actix-session turns store errors into
/// bare 500s outside every other middleware (no JSON body, no security headers); instead the
/// request goes on with this marker and [`crate::http::current_user`] answers 503 in JSON.
pub const STORE_UNAVAILABLE: &str = "store_unavailable";

#[derive(Clone)]
pub enum SessionBackend {
    Database(DatabaseSessionStore),
    Redis(RedisSessionStore),
}

impl SessionStore for SessionBackend {
    async fn load(&self, key: &SessionKey) -> Result<Option<SessionState>, LoadError> {
        let loaded = match self {
            Self::Database(s) => s.load(key).await,
            Self::Redis(s) => s.load(key).await,
        };
        match loaded {
            Err(LoadError::Other(e)) => {
                tracing::error!(error = %e, "session store unavailable");
                Ok(Some(HashMap::from([(
                    STORE_UNAVAILABLE.to_owned(),
                    "true".to_owned(),
                )])))
            }
            other => other,
        }
    }

    async fn save(
        &self,
        state: SessionState,
        ttl: &CookieDuration,
    ) -> Result<SessionKey, SaveError> {
        match self {
            Self::Database(s) => s.save(state, ttl).await,
            Self::Redis(s) => s.save(state, ttl).await,
        }
    }

    async fn update(
        &self,
        key: SessionKey,
        state: SessionState,
        ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        match self {
            Self::Database(s) => s.update(key, state, ttl).await,
            Self::Redis(s) => s.update(key, state, ttl).await,
        }
    }

    async fn update_ttl(
        &self,
        key: &SessionKey,
        ttl: &CookieDuration,
    ) -> Result<(), anyhow::Error> {
        let extended = match self {
            Self::Database(s) => s.update_ttl(key, ttl).await,
            Self::Redis(s) => s.update_ttl(key, ttl).await,
        };
        // A missed idle-timeout extension is harmless; failing the request for it is not.
        if let Err(e) = extended {
            tracing::warn!(error = %e, "could not extend session");
        }
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        match self {
            Self::Database(s) => s.delete(key).await,
            Self::Redis(s) => s.delete(key).await,
        }
    }
}

#[derive(Clone)]
pub struct DatabaseSessionStore {
    pool: DbPool,
}

/// Rows are keyed by this, not by the cookie's key.
fn row_id(key: &SessionKey) -> String {
    session_id(key.as_ref())
}

/// A session's name that does not reveal its key (a SHA-256 of it, in hex).
pub(crate) fn session_id(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn expiry(ttl: &CookieDuration) -> chrono::NaiveDateTime {
    (Utc::now() + chrono::Duration::seconds(ttl.whole_seconds())).naive_utc()
}

impl DatabaseSessionStore {
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }

    async fn insert_new(&self, state: &str, ttl: &CookieDuration) -> anyhow::Result<SessionKey> {
        let key = generate_session_key();
        let row = SessionRow {
            id: row_id(&key),
            state: state.to_owned(),
            created_at: Utc::now().naive_utc(),
            expires_at: expiry(ttl),
        };
        let mut conn = self.pool.get().await?;
        db::sessions::insert(&mut conn, &row).await?;
        Ok(key)
    }
}

impl SessionStore for DatabaseSessionStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<SessionState>, LoadError> {
        let mut conn = self
            .pool
            .get()
            .await
            .map_err(|e| LoadError::Other(e.into()))?;
        let state = db::sessions::load_live(&mut conn, &row_id(key), Utc::now().naive_utc())
            .await
            .map_err(|e| LoadError::Other(e.into()))?;
        state
            .map(|s| serde_json::from_str(&s).map_err(|e| LoadError::Deserialization(e.into())))
            .transpose()
    }

    async fn save(
        &self,
        state: SessionState,
        ttl: &CookieDuration,
    ) -> Result<SessionKey, SaveError> {
        let state =
            serde_json::to_string(&state).map_err(|e| SaveError::Serialization(e.into()))?;
        self.insert_new(&state, ttl).await.map_err(SaveError::Other)
    }

    async fn update(
        &self,
        key: SessionKey,
        state: SessionState,
        ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        let state =
            serde_json::to_string(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
        let mut conn = self
            .pool
            .get()
            .await
            .map_err(|e| UpdateError::Other(e.into()))?;
        let now = Utc::now().naive_utc();
        let updated =
            db::sessions::update_state(&mut conn, &row_id(&key), &state, expiry(ttl), now)
                .await
                .map_err(|e| UpdateError::Other(e.into()))?;
        drop(conn);
        if updated {
            Ok(key)
        } else {
            // Expired or deleted meanwhile: start a fresh session rather than revive the old key.
            self.insert_new(&state, ttl)
                .await
                .map_err(UpdateError::Other)
        }
    }

    async fn update_ttl(
        &self,
        key: &SessionKey,
        ttl: &CookieDuration,
    ) -> Result<(), anyhow::Error> {
        // Writing the expiry on every request would make every read a write; a little slack
        // (a tenth of the idle timeout, at most a minute) turns a burst into one write.
        let slack = chrono::Duration::seconds((ttl.whole_seconds() / 10).min(60));
        let mut conn = self.pool.get().await?;
        db::sessions::extend(&mut conn, &row_id(key), expiry(ttl), slack).await?;
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        let mut conn = self.pool.get().await?;
        db::sessions::delete(&mut conn, &row_id(key)).await?;
        Ok(())
    }
}
