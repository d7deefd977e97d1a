//! API keys: a recruiter's or admin's programs call `/api/v1` with `Authorization: Bearer
//! <key>` and act as that account, within the key's scopes.
//!
//! A key is `viva_` and 32 random bytes (base64url): shown once at creation, stored as a SHA-256
//! hash (the bytes are random, so a fast hash cannot be guessed back, unlike a password), and
//! listed by its prefix. Keys expire (optionally), can be revoked, and stop working with their
//! owner (disabled account, or a role that no longer recruits). Each key has its own rate
//! limit, and every request made with it is logged (route pattern, status, time; never the key).

use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, NaiveDateTime, Utc};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::rate_limit::{Quota, RateLimiter};
use super::User;
use crate::db::api_keys::{ApiKeyRow, ApiKeyUseRow};
use crate::db::{self, DbError, DbPool};
use crate::domain::{ApiKeyId, ApiKeyUseId, ApiScope, Invalid};

/// What every key starts with, so a leaked one is recognisable (secret scanners, logs).
pub const KEY_PREFIX: &str = "viva_";
/// Characters of a key shown in lists: the prefix and the first 8 of the secret.
const SHOWN_CHARS: usize = KEY_PREFIX.len() + 8;
/// Keys an account may hold at once (revoked ones do not count).
pub const MAX_KEYS_PER_ACCOUNT: i64 = 50;
/// Longest key name.
const MAX_NAME_CHARS: usize = 100;
/// Usage rows returned for one key.
const USAGE_SHOWN: i64 = 200;

#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    #[error("{0}")]
    Invalid(#[from] Invalid),
    /// Unknown key, or malformed: one answer for both.
    #[error("this API key is not valid")]
    Unknown,
    #[error("this API key expired at {0}")]
    Expired(DateTime<Utc>),
    #[error("this API key was revoked")]
    Revoked,
    /// The owner is disabled or no longer a recruiter or admin.
    #[error("this API key's account can no longer use the API")]
    OwnerInactive,
    #[error("an account can hold at most {MAX_KEYS_PER_ACCOUNT} API keys; revoke one first")]
    TooMany,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// What a new key is to be.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub name: String,
    pub scopes: Vec<ApiScope>,
    /// `None`: never expires.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A key as its owner sees it in lists (no secret, no hash).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiKeyView {
    pub id: ApiKeyId,
    pub name: String,
    /// The key's visible start, e.g. `viva_Ab3dE6gH`.
    pub prefix: String,
    pub scopes: Vec<ApiScope>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// `active`, `expired` or `revoked`.
    pub status: &'static str,
}

/// A key just made: the only time its secret is seen.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub view: ApiKeyView,
    /// The whole key, to send as `Authorization: Bearer <key>`. Not shown again.
    pub key: String,
}

/// One request made with a key.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KeyUse {
    pub method: String,
    /// The route's pattern, e.g. `/api/v1/jobs/{id}`.
    pub route: String,
    pub status: u16,
    pub at: DateTime<Utc>,
}

/// A request's key, checked: whose it is and what it may do.
#[derive(Debug, Clone)]
pub struct KeyHolder {
    pub key_id: ApiKeyId,
    pub owner: User,
    pub scopes: Vec<ApiScope>,
    /// What is left of the key's rate limit after this request.
    pub quota: Quota,
    /// `Some(wait)`: the key is over its rate limit; this request must be refused.
    pub limited: Option<Duration>,
}

#[derive(Clone)]
pub struct ApiKeys {
    pool: DbPool,
    limiter: std::sync::Arc<RateLimiter>,
}

impl ApiKeys {
    /// `requests_per_minute`: each key's rate limit (shared by every node on PostgreSQL).
    pub fn new(pool: DbPool, requests_per_minute: u32) -> Self {
        let limiter = RateLimiter::new(
            "api_key_requests",
            requests_per_minute,
            Duration::from_secs(60),
            &pool,
        );
        Self {
            pool,
            limiter: std::sync::Arc::new(limiter),
        }
    }

    /// Makes a key for `owner` (a recruiter or admin) with scopes their role may hold.
    pub async fn create(&self, owner: &User, new: NewKey) -> Result<CreatedKey, ApiKeyError> {
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(Invalid(format!("name: 1 to {MAX_NAME_CHARS} characters")).into());
        }
        if new.scopes.is_empty() {
            return Err(Invalid("scopes: give at least one".into()).into());
        }
        if let Some(scope) = new.scopes.iter().find(|s| !s.allowed_for(owner.role)) {
            return Err(Invalid(format!(
                "scopes: a {} account cannot hold `{scope}`",
                owner.role
            ))
            .into());
        }
        let now = db::now();
        if let Some(at) = new.expires_at {
            if at.naive_utc() <= now {
                return Err(Invalid("expires_at: must be in the future".into()).into());
            }
        }
        let mut conn = self.pool.get().await?;
        if db::api_keys::count_unrevoked(&mut conn, &owner.id).await? >= MAX_KEYS_PER_ACCOUNT {
            return Err(ApiKeyError::TooMany);
        }
        let key = new_key();
        let scopes = ApiScope::normalized(&new.scopes);
        let row = ApiKeyRow {
            id: ApiKeyId::random(),
            user_id: owner.id.clone(),
            name: name.to_owned(),
            prefix: key[..SHOWN_CHARS].to_owned(),
            key_hash: hash(&key),
            scopes: ApiScope::join(&scopes),
            created_at: now,
            expires_at: new
                .expires_at
                .map(|t| chrono::SubsecRound::trunc_subsecs(t.naive_utc(), 6)),
            last_used_at: None,
            revoked_at: None,
        };
        db::api_keys::insert(&mut conn, &row).await?;
        Ok(CreatedKey {
            view: view(row, now),
            key,
        })
    }

    /// The owner's keys, newest first.
    pub async fn list(&self, owner: &User) -> Result<Vec<ApiKeyView>, ApiKeyError> {
        let mut conn = self.pool.get().await?;
        let now = db::now();
        Ok(db::api_keys::list_for_user(&mut conn, &owner.id)
            .await?
            .into_iter()
            .map(|row| view(row, now))
            .collect())
    }

    /// Revokes one of the owner's keys (someone else's is not found).
    pub async fn revoke(&self, owner: &User, id: &ApiKeyId) -> Result<(), ApiKeyError> {
        let mut conn = self.pool.get().await?;
        db::api_keys::revoke(&mut conn, id, &owner.id, db::now()).await?;
        Ok(())
    }

    /// The latest requests made with one of the owner's keys, newest first.
    pub async fn usage(&self, owner: &User, id: &ApiKeyId) -> Result<Vec<KeyUse>, ApiKeyError> {
        let mut conn = self.pool.get().await?;
        db::api_keys::find_for_user(&mut conn, id, &owner.id).await?;
        Ok(db::api_keys::usage(&mut conn, id, USAGE_SHOWN)
            .await?
            .into_iter()
            .map(|row| KeyUse {
                method: row.method,
                route: row.route,
                status: u16::try_from(row.status).unwrap_or(0),
                at: row.at.and_utc(),
            })
            .collect())
    }

    /// Checks a key sent with a request and counts the request against its rate limit (a
    /// request over it is still answered with the holder, `limited`, so that it is logged).
    pub async fn authenticate(&self, key: &str) -> Result<KeyHolder, ApiKeyError> {
        if !looks_like_a_key(key) {
            return Err(ApiKeyError::Unknown);
        }
        let mut conn = self.pool.get().await?;
        let row = db::api_keys::find_by_hash(&mut conn, &hash(key))
            .await?
            .ok_or(ApiKeyError::Unknown)?;
        if row.revoked_at.is_some() {
            return Err(ApiKeyError::Revoked);
        }
        if let Some(at) = row.expires_at {
            if at <= db::now() {
                return Err(ApiKeyError::Expired(at.and_utc()));
            }
        }
        let owner = db::users::find_by_id(&mut conn, &row.user_id)
            .await?
            .map(User::from)
            .ok_or(ApiKeyError::Unknown)?;
        if owner.disabled || !owner.role.recruits() {
            return Err(ApiKeyError::OwnerInactive);
        }
        // Not while holding the connection: the shared limiter takes one of its own.
        drop(conn);
        let metered = self.limiter.hit_with_quota(row.id.as_str()).await?;
        // A scope the owner's role no longer allows (an admin made recruiter) stops working.
        let scopes = ApiScope::parse_list(&row.scopes)?
            .into_iter()
            .filter(|s| s.allowed_for(owner.role))
            .collect();
        Ok(KeyHolder {
            key_id: row.id,
            owner,
            scopes,
            quota: metered.quota,
            limited: metered.refused,
        })
    }

    /// Logs one request made with a key, and notes the key as used.
    pub async fn record_use(
        &self,
        key_id: &ApiKeyId,
        method: &str,
        route: &str,
        status: u16,
    ) -> Result<(), ApiKeyError> {
        let mut conn = self.pool.get().await?;
        let row = ApiKeyUseRow {
            id: ApiKeyUseId::random(),
            key_id: key_id.clone(),
            method: method.to_owned(),
            route: route.to_owned(),
            status: i32::from(status),
            at: db::now(),
        };
        db::api_keys::record_use(&mut conn, &row).await?;
        Ok(())
    }

    /// Deletes usage rows older than `retention`; returns how many.
    pub async fn forget_old_usage(&self, retention: Duration) -> Result<usize, ApiKeyError> {
        let mut conn = self.pool.get().await?;
        let before =
            db::now() - chrono::Duration::from_std(retention).unwrap_or(chrono::TimeDelta::MAX);
        Ok(db::api_keys::forget_usage_before(&mut conn, before).await?)
    }
}

/// A new key: the prefix and 32 random bytes from the OS.
fn new_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "{KEY_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// What a key looks like, checked before any database work.
fn looks_like_a_key(key: &str) -> bool {
    key.strip_prefix(KEY_PREFIX).is_some_and(|secret| {
        secret.len() == 43
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn view(row: ApiKeyRow, now: NaiveDateTime) -> ApiKeyView {
    let status = if row.revoked_at.is_some() {
        "revoked"
    } else if row.expires_at.is_some_and(|at| at <= now) {
        "expired"
    } else {
        "active"
    };
    ApiKeyView {
        scopes: ApiScope::parse_list(&row.scopes).unwrap_or_default(),
        id: row.id,
        name: row.name,
        prefix: row.prefix,
        created_at: row.created_at.and_utc(),
        expires_at: row.expires_at.map(|t| t.and_utc()),
        last_used_at: row.last_used_at.map(|t| t.and_utc()),
        revoked_at: row.revoked_at.map(|t| t.and_utc()),
        status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_has_the_prefix_and_32_random_bytes() {
        let a = new_key();
        let b = new_key();
        assert!(a.starts_with(KEY_PREFIX));
        assert!(looks_like_a_key(&a), "{a}");
        assert_ne!(a, b);
        let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&a[KEY_PREFIX.len()..])
            .expect("base64url");
        assert_eq!(secret.len(), 32);
    }

    #[test]
    fn malformed_keys_are_refused_before_any_lookup() {
        assert!(!looks_like_a_key(""));
        assert!(!looks_like_a_key("viva_short"));
        assert!(!looks_like_a_key(&format!("other_{}", "a".repeat(43))));
        assert!(!looks_like_a_key(&format!(
            "{KEY_PREFIX}{}",
            "a b".repeat(15)
        )));
        assert!(looks_like_a_key(&format!("{KEY_PREFIX}{}", "a".repeat(43))));
    }

    #[test]
    fn the_stored_hash_is_not_the_key() {
        let key = new_key();
        let stored = hash(&key);
        assert_eq!(stored.len(), 64);
        assert!(!stored.contains(&key[KEY_PREFIX.len()..]));
        assert_eq!(stored, hash(&key), "the same key always finds its row");
    }
}
