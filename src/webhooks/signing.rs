//! Signing as the Standard Webhooks specification says: the signed content is
//! `{webhook-id}.{webhook-timestamp}.{body}`, the signature its HMAC-SHA256 under the secret's
//! bytes, sent as `v1,<base64>`; several signatures (during a secret rotation) are separated by
//! spaces in `webhook-signature`. Secrets are shown as `whsec_<base64 of the key>`. Pure
//! functions: no clock, no randomness but [`Secret::generate`].

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The prefix that marks a webhook signing secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a new secret (the specification asks for 24 to 64).
const SECRET_BYTES: usize = 32;

/// A signing key, as its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a webhook secret: expected whsec_ followed by base64")]
pub struct BadSecret;

impl Secret {
    /// A new random secret.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Reads `whsec_<base64>` (the prefix is optional, as in the reference libraries).
    pub fn parse(text: &str) -> Result<Self, BadSecret> {
        let encoded = text.strip_prefix(SECRET_PREFIX).unwrap_or(text);
        match STANDARD.decode(encoded) {
            Ok(bytes) if !bytes.is_empty() => Ok(Self(bytes)),
            _ => Err(BadSecret),
        }
    }

    /// `whsec_<base64>`: how the secret is shown and stored.
    pub fn to_text(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length.
        match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts keys of every length"),
        }
    }
}

fn signed_content(mac: &mut Hmac<Sha256>, id: &str, timestamp: i64, body: &[u8]) {
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
}

/// One signature, `v1,<base64>`.
pub fn sign(secret: &Secret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = secret.mac();
    signed_content(&mut mac, id, timestamp, body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` value: one signature per secret, space-separated.
pub fn signature_header(secrets: &[&Secret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|secret| sign(secret, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether any `v1` signature of `header` is `secret`'s for this message (compared in
/// constant time). What a receiver does; viva's tests and README use it.
pub fn verify(secret: &Secret, header: &str, id: &str, timestamp: i64, body: &[u8]) -> bool {
    let mut mac = secret.mac();
    signed_content(&mut mac, id, timestamp, body);
    let expected = mac.finalize().into_bytes();
    header.split(' ').any(|one| {
        one.strip_prefix("v1,")
            .and_then(|sig| STANDARD.decode(sig).ok())
            .is_some_and(|sig| bool::from(sig.as_slice().ct_eq(expected.as_slice())))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's published example (the reference libraries test against it).
    const VECTOR_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const VECTOR_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const VECTOR_TIMESTAMP: i64 = 1_614_265_330;
    const VECTOR_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const VECTOR_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn signs_the_specifications_test_vector() {
        let secret = Secret::parse(VECTOR_SECRET).expect("valid");
        assert_eq!(
            sign(&secret, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY),
            VECTOR_SIGNATURE
        );
        assert!(verify(
            &secret,
            VECTOR_SIGNATURE,
            VECTOR_ID,
            VECTOR_TIMESTAMP,
            VECTOR_BODY
        ));
    }

    #[test]
    fn any_change_to_id_timestamp_or_body_fails_verification() {
        let secret = Secret::parse(VECTOR_SECRET).expect("valid");
        let header = sign(&secret, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY);
        assert!(!verify(
            &secret,
            &header,
            "msg_other",
            VECTOR_TIMESTAMP,
            VECTOR_BODY
        ));
        assert!(!verify(
            &secret,
            &header,
            VECTOR_ID,
            VECTOR_TIMESTAMP + 1,
            VECTOR_BODY
        ));
        assert!(!verify(
            &secret,
            &header,
            VECTOR_ID,
            VECTOR_TIMESTAMP,
            b"{}"
        ));
        assert!(!verify(
            &Secret::generate(),
            &header,
            VECTOR_ID,
            VECTOR_TIMESTAMP,
            VECTOR_BODY
        ));
        assert!(!verify(
            &secret,
            "v2,abc",
            VECTOR_ID,
            VECTOR_TIMESTAMP,
            VECTOR_BODY
        ));
    }

    #[test]
    fn a_rotation_header_carries_both_signatures_and_each_secret_verifies() {
        let (old, new) = (Secret::generate(), Secret::generate());
        let header = signature_header(&[&new, &old], "msg_1", 42, b"body");
        assert_eq!(header.split(' ').count(), 2, "{header}");
        assert!(header.split(' ').all(|s| s.starts_with("v1,")));
        assert!(verify(&new, &header, "msg_1", 42, b"body"));
        assert!(verify(&old, &header, "msg_1", 42, b"body"));
        assert!(!verify(&Secret::generate(), &header, "msg_1", 42, b"body"));
    }

    #[test]
    fn secrets_are_random_and_read_back_from_their_text() {
        let (a, b) = (Secret::generate(), Secret::generate());
        assert_ne!(a, b);
        let text = a.to_text();
        assert!(text.starts_with(SECRET_PREFIX), "{text}");
        assert_eq!(Secret::parse(&text), Ok(a.clone()));
        assert_eq!(Secret::parse(text.trim_start_matches(SECRET_PREFIX)), Ok(a));
        assert_eq!(Secret::parse("whsec_***"), Err(BadSecret));
        assert_eq!(Secret::parse("whsec_"), Err(BadSecret));
    }
}
