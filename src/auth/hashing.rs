//! argon2id password hashing, always off the async threads, and never more at once than the
//! machine has cores for: each hash takes 19 MiB and a core for a while, so a burst of logins
//! must not pin every CPU or balloon memory.

use std::sync::Arc;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::domain::Password;

#[derive(Debug, thiserror::Error)]
pub enum HashingError {
    #[error("password hashing failed: {0}")]
    Failed(String),
    /// Every hashing slot is taken and the waiting line is full: try again shortly.
    #[error("too many password checks at once")]
    Busy,
}

/// OWASP's first recommended argon2id configuration: 19 MiB of memory, 2 passes, 1 lane.
pub fn owasp_params() -> Params {
    Params::new(19 * 1024, 2, 1, None).expect("constant argon2 parameters are valid")
}

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, owasp_params())
}

/// How many hashes run at once, and how many more may wait for a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashLimits {
    pub running: usize,
    pub waiting: usize,
}

impl HashLimits {
    /// `running` 0 means one per CPU core.
    pub fn new(running: usize, waiting: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            running: if running == 0 { cores } else { running },
            waiting,
        }
    }
}

#[derive(Clone)]
pub struct Hasher {
    /// Verified against when the account does not exist, so a wrong email costs the same
    /// time as a wrong password.
    dummy_hash: Arc<str>,
    /// One permit per hash running.
    slots: Arc<Semaphore>,
    /// One permit per hash running or waiting; none left means busy.
    admitted: Arc<Semaphore>,
}

impl Hasher {
    /// Computes the dummy hash once (about as long as one login).
    pub fn new(limits: HashLimits) -> Result<Self, HashingError> {
        let dummy = hash_blocking("placeholder password that never matches")?;
        let running = limits.running.clamp(1, Semaphore::MAX_PERMITS);
        let admitted = running
            .saturating_add(limits.waiting)
            .min(Semaphore::MAX_PERMITS);
        Ok(Self {
            dummy_hash: dummy.into(),
            slots: Arc::new(Semaphore::new(running)),
            admitted: Arc::new(Semaphore::new(admitted)),
        })
    }

    pub async fn hash(&self, password: Password) -> Result<String, HashingError> {
        self.run_bounded(move || hash_blocking(password.expose()))
            .await?
    }

    /// Verifies `password` against `stored`, or against the dummy hash when there is no
    /// account, taking the same time either way. Returns whether it matched a real account.
    pub async fn verify(
        &self,
        password: Password,
        stored: Option<String>,
    ) -> Result<bool, HashingError> {
        let real = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.to_string());
        let matched = self
            .run_bounded(move || verify_blocking(password.expose(), &hash))
            .await??;
        Ok(real && matched)
    }

    /// Runs `f` on a blocking thread once a slot is free, or refuses at once when the
    /// waiting line is full. The permits travel with `f`, so a request abandoned mid-hash
    /// keeps its slot until the hash really ends.
    async fn run_bounded<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashingError> {
        let admitted = self
            .admitted
            .clone()
            .try_acquire_owned()
            .map_err(|_| HashingError::Busy)?;
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| HashingError::Failed(e.to_string()))?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _held = (admitted, slot);
            span.in_scope(f)
        })
        .await
        .map_err(|e| HashingError::Failed(format!("hashing task failed: {e}")))
    }
}

fn hash_blocking(password: &str) -> Result<String, HashingError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashingError::Failed(e.to_string()))
}

fn verify_blocking(password: &str, hash: &str) -> Result<bool, HashingError> {
    let parsed = PasswordHash::new(hash)
        .map_err(|e| HashingError::Failed(format!("stored hash unreadable: {e}")))?;
    // Parameters come from the stored hash, so old hashes keep verifying if the policy changes.
    Ok(Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let hasher = Hasher::new(HashLimits::new(0, 16)).unwrap();
        let hash = hasher
            .hash(Password::for_login("tangerine-orbit-47").unwrap())
            .await
            .unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(hasher
            .verify(
                Password::for_login("tangerine-orbit-47").unwrap(),
                Some(hash.clone())
            )
            .await
            .unwrap());
        assert!(!hasher
            .verify(
                Password::for_login("tangerine-orbit-48").unwrap(),
                Some(hash)
            )
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn missing_account_never_matches_even_the_dummy_password() {
        let hasher = Hasher::new(HashLimits::new(0, 16)).unwrap();
        let p = Password::for_login("placeholder password that never matches").unwrap();
        assert!(!hasher.verify(p, None).await.unwrap());
    }

    #[tokio::test]
    async fn beyond_the_running_and_waiting_hashes_it_is_busy_at_once() {
        let hasher = Hasher::new(HashLimits {
            running: 1,
            waiting: 1,
        })
        .unwrap();
        // Take the running slot and the waiting place by hand, as two hashes in flight would.
        let running_slot = hasher.slots.clone().try_acquire_owned().unwrap();
        let running_place = hasher.admitted.clone().try_acquire_owned().unwrap();
        let waiting_place = hasher.admitted.clone().try_acquire_owned().unwrap();
        let password = || Password::for_login("tangerine-orbit-47").unwrap();
        assert!(matches!(
            hasher.hash(password()).await,
            Err(HashingError::Busy)
        ));
        assert!(matches!(
            hasher.verify(password(), None).await,
            Err(HashingError::Busy)
        ));
        drop((running_slot, waiting_place));
        assert!(
            hasher.hash(password()).await.is_ok(),
            "a freed place serves"
        );
        drop(running_place);
    }

    #[test]
    fn zero_running_means_one_per_core() {
        let limits = HashLimits::new(0, 4);
        assert!(limits.running >= 1);
        assert_eq!(HashLimits::new(3, 4).running, 3);
    }
}
