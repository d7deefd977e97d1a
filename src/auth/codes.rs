//! One-time codes sent by email (password reset, email verification): six digits, one live
//! code per account and purpose, a few tries each, short-lived. Only a keyed hash of a code is
//! stored, so the table alone does not give codes away (six digits are quick to try against a
//! plain hash; the key lives with the server's secret key, not in the database).

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

use crate::db::one_time_codes::CodeRow;
use crate::db::{self, DbError, DbPool};
use crate::domain::{CodePurpose, UserId};

/// Digits in a code.
pub const CODE_DIGITS: usize = 6;

#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    /// Wrong, expired, used up, or never sent: one answer for all.
    #[error("the code is wrong or has expired; ask for a new one")]
    Invalid,
    #[error(transparent)]
    Db(#[from] DbError),
}

#[derive(Clone)]
pub struct OneTimeCodes {
    pool: DbPool,
    key: Arc<[u8]>,
    lifetime: Duration,
    max_attempts: i32,
}

impl OneTimeCodes {
    /// `secret`: the server's secret key; the codes' hashing key is derived from it.
    pub fn new(pool: DbPool, secret: &[u8], lifetime: Duration, max_attempts: u32) -> Self {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes a key of any length");
        mac.update(b"viva one-time codes");
        Self {
            pool,
            key: mac.finalize().into_bytes().to_vec().into(),
            lifetime,
            max_attempts: i32::try_from(max_attempts).unwrap_or(i32::MAX),
        }
    }

    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// A new code for the account and purpose; any earlier one stops working.
    pub async fn issue(&self, user_id: &UserId, purpose: CodePurpose) -> Result<String, DbError> {
        let code = format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32));
        let now = db::now();
        let row = CodeRow {
            user_id: user_id.clone(),
            purpose,
            code_hash: self.hash(user_id, purpose, &code),
            attempts: 0,
            created_at: now,
            expires_at: now
                + chrono::Duration::from_std(self.lifetime).unwrap_or(chrono::Duration::MAX),
        };
        let mut conn = self.pool.get().await?;
        db::one_time_codes::replace(&mut conn, &row).await?;
        Ok(code)
    }

    /// Uses up the account's code when `code` is it. Every try counts against the code's
    /// attempts before it is compared, so no number of parallel tries gets more guesses.
    pub async fn redeem(
        &self,
        user_id: &UserId,
        purpose: CodePurpose,
        code: &str,
    ) -> Result<(), CodeError> {
        let Some(code) = normalise(code) else {
            return Err(CodeError::Invalid);
        };
        let mut conn = self.pool.get().await?;
        let counted = db::one_time_codes::count_attempt(
            &mut conn,
            user_id,
            purpose,
            db::now(),
            self.max_attempts,
        )
        .await?;
        if !counted {
            return Err(CodeError::Invalid);
        }
        let hash = self.hash(user_id, purpose, &code);
        if db::one_time_codes::take(&mut conn, user_id, purpose, &hash).await? {
            Ok(())
        } else {
            Err(CodeError::Invalid)
        }
    }

    fn hash(&self, user_id: &UserId, purpose: CodePurpose, code: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .expect("HMAC takes a key of any length");
        for part in [user_id.as_str(), purpose.as_str(), code] {
            mac.update(part.as_bytes());
            mac.update(&[0]);
        }
        hex::encode(mac.finalize().into_bytes())
    }
}

/// The code's digits, as people type them ("123 456", "123-456"); `None` when it cannot be a
/// code.
fn normalise(typed: &str) -> Option<String> {
    let digits: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    (digits.len() == CODE_DIGITS && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_as_people_type_them() {
        assert_eq!(normalise("123456").as_deref(), Some("123456"));
        assert_eq!(normalise(" 123 456 ").as_deref(), Some("123456"));
        assert_eq!(normalise("123-456").as_deref(), Some("123456"));
        assert_eq!(normalise("12345"), None);
        assert_eq!(normalise("1234567"), None);
        assert_eq!(normalise("12a456"), None);
        assert_eq!(normalise("١٢٣٤٥٦"), None, "only ASCII digits");
    }
}
