//! argon2id password hashing, always off the async threads.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::domain::Password;

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashingError(String);

/// OWASP's first recommended argon2id configuration: 19 MiB of memory, 2 passes, 1 lane.
pub fn owasp_params() -> Params {
    Params::new(19 * 1024, 2, 1, None).expect("constant argon2 parameters are valid")
}

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, owasp_params())
}

#[derive(Clone)]
pub struct Hasher {
    /// Verified against when the account does not exist, so a wrong email costs the same
    /// time as a wrong password.
    dummy_hash: std::sync::Arc<str>,
}

impl Hasher {
    /// Computes the dummy hash once (about as long as one login).
    pub fn new() -> Result<Self, HashingError> {
        let dummy = hash_blocking("placeholder password that never matches")?;
        Ok(Self {
            dummy_hash: dummy.into(),
        })
    }

    pub async fn hash(&self, password: Password) -> Result<String, HashingError> {
        run_blocking(move || hash_blocking(password.expose())).await?
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
        let matched = run_blocking(move || verify_blocking(password.expose(), &hash)).await??;
        Ok(real && matched)
    }
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, HashingError> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
        .await
        .map_err(|e| HashingError(format!("hashing task failed: {e}")))
}

fn hash_blocking(password: &str) -> Result<String, HashingError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashingError(e.to_string()))
}

fn verify_blocking(password: &str, hash: &str) -> Result<bool, HashingError> {
    let parsed = PasswordHash::new(hash)
        .map_err(|e| HashingError(format!("stored hash unreadable: {e}")))?;
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
        let hasher = Hasher::new().unwrap();
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
        let hasher = Hasher::new().unwrap();
        let p = Password::for_login("placeholder password that never matches").unwrap();
        assert!(!hasher.verify(p, None).await.unwrap());
    }
}
