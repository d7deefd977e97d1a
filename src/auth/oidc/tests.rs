//! The ID token checks, on tokens these tests sign themselves: a real provider never issues an
//! expired token, one for another client, or one signed by a stranger, so these cases cannot
//! be produced through the provider the API tests run (tests/support/oidc-provider.mjs). The
//! verifier is the one viva builds from a provider's discovery document ([`client_for`]).

use std::sync::OnceLock;

use chrono::{Duration, Utc};
use openidconnect::core::{
    CoreIdToken, CoreIdTokenClaims, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreResponseType, CoreRsaPrivateSigningKey, CoreSubjectIdentifierType,
};
use openidconnect::{
    Audience, AuthUrl, EmptyAdditionalClaims, EmptyAdditionalProviderMetadata, EndUserEmail,
    IssuerUrl, JsonWebKeyId, JsonWebKeySetUrl, Nonce, PrivateSigningKey, ResponseTypes,
    StandardClaims, SubjectIdentifier,
};
use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};
use secrecy::SecretString;

use super::*;

const ISSUER: &str = "https://sso.example.com/realms/staff";
const CLIENT_ID: &str = "viva";
const NONCE: &str = "the-nonce-of-this-sign-in";

/// A fresh RSA key (PKCS#1 PEM), made once per test run: no private key is kept in the repo.
fn pem(which: usize) -> &'static str {
    static KEYS: OnceLock<[String; 2]> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        let make = || {
            rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
                .expect("an RSA key")
                .to_pkcs1_pem(LineEnding::LF)
                .expect("PEM")
                .to_string()
        };
        [make(), make()]
    });
    &keys[which]
}

fn signing_key(which: usize) -> CoreRsaPrivateSigningKey {
    CoreRsaPrivateSigningKey::from_pem(pem(which), Some(JsonWebKeyId::new(format!("k{which}"))))
        .expect("the key reads")
}

/// The provider's discovery document as viva would have fetched it, with key 0 in its set.
fn metadata() -> CoreProviderMetadata {
    CoreProviderMetadata::new(
        IssuerUrl::new(ISSUER.into()).expect("issuer"),
        AuthUrl::new(format!("{ISSUER}/auth")).expect("auth url"),
        JsonWebKeySetUrl::new(format!("{ISSUER}/jwks")).expect("jwks url"),
        vec![ResponseTypes::new(vec![CoreResponseType::Code])],
        vec![CoreSubjectIdentifierType::Public],
        vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256],
        EmptyAdditionalProviderMetadata {},
    )
    .set_jwks(CoreJsonWebKeySet::new(vec![
        signing_key(0).as_verification_key()
    ]))
}

fn provider() -> OidcProvider {
    OidcProvider {
        key: "staff".into(),
        name: "Staff".into(),
        issuer: ISSUER.into(),
        client_id: CLIENT_ID.into(),
        client_secret: SecretString::from("client-secret"),
        scopes: vec!["email".into()],
    }
}

/// What a token says; each test changes one thing.
struct Token {
    issuer: &'static str,
    audience: &'static str,
    expires_in: Duration,
    nonce: &'static str,
    key: usize,
}

impl Default for Token {
    fn default() -> Self {
        Self {
            issuer: ISSUER,
            audience: CLIENT_ID,
            expires_in: Duration::minutes(5),
            nonce: NONCE,
            key: 0,
        }
    }
}

impl Token {
    fn sign(&self) -> CoreIdToken {
        let now = Utc::now();
        let claims = CoreIdTokenClaims::new(
            IssuerUrl::new(self.issuer.into()).expect("issuer"),
            vec![Audience::new(self.audience.into())],
            now + self.expires_in,
            now - Duration::minutes(10),
            StandardClaims::new(SubjectIdentifier::new("person-1".into()))
                .set_email(Some(EndUserEmail::new("Ada@Example.com".into())))
                .set_email_verified(Some(true)),
            EmptyAdditionalClaims {},
        )
        .set_nonce(Some(Nonce::new(self.nonce.into())));
        CoreIdToken::new(
            claims,
            &signing_key(self.key),
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            None,
            None,
        )
        .expect("the token signs")
    }

    fn verify(&self) -> Result<VerifiedIdentity, OidcError> {
        let client = client_for(&provider(), &metadata());
        let verifier = client.id_token_verifier();
        verify(&self.sign(), &verifier, &Nonce::new(NONCE.into()))
    }
}

#[test]
fn a_good_token_gives_its_claims() {
    let identity = Token::default().verify().expect("a good token passes");
    assert_eq!(identity.issuer, ISSUER);
    assert_eq!(identity.subject, "person-1");
    assert_eq!(identity.email.as_deref(), Some("Ada@Example.com"));
    assert!(identity.email_verified);
}

#[test]
fn an_expired_token_is_refused() {
    let token = Token {
        expires_in: Duration::minutes(-5),
        ..Token::default()
    };
    let refused = token.verify().expect_err("expired");
    assert!(
        matches!(&refused, OidcError::TokenInvalid(why) if why.contains("Expired")),
        "{refused:?}"
    );
}

#[test]
fn a_token_for_another_client_is_refused() {
    let token = Token {
        audience: "some-other-app",
        ..Token::default()
    };
    let refused = token.verify().expect_err("wrong audience");
    assert!(
        matches!(&refused, OidcError::TokenInvalid(why) if why.contains("audience")),
        "{refused:?}"
    );
}

#[test]
fn a_token_from_another_issuer_is_refused() {
    let token = Token {
        issuer: "https://evil.example.com",
        ..Token::default()
    };
    let refused = token.verify().expect_err("wrong issuer");
    assert!(
        matches!(&refused, OidcError::TokenInvalid(why) if why.contains("issuer")),
        "{refused:?}"
    );
}

#[test]
fn a_token_for_another_sign_in_is_refused() {
    let token = Token {
        nonce: "the-nonce-of-some-other-sign-in",
        ..Token::default()
    };
    let refused = token.verify().expect_err("wrong nonce");
    assert!(
        matches!(&refused, OidcError::TokenInvalid(why) if why.contains("nonce")),
        "{refused:?}"
    );
}

#[test]
fn a_token_signed_with_a_key_not_in_the_set_asks_for_the_keys_again() {
    let token = Token {
        key: 1,
        ..Token::default()
    };
    let refused = token.verify().expect_err("unknown key");
    assert!(
        matches!(&refused, OidcError::TokenInvalid(why) if why == NO_MATCHING_KEY),
        "{refused:?}"
    );
}

#[test]
fn a_token_whose_claims_were_changed_after_signing_is_refused() {
    let signed = Token::default().sign().to_string();
    let other = Token {
        expires_in: Duration::hours(10),
        ..Token::default()
    }
    .sign()
    .to_string();
    // The other token's claims under the first one's signature.
    let [header, _, signature] = signed.split('.').collect::<Vec<_>>()[..] else {
        panic!("a JWT has three parts: {signed}");
    };
    let claims = other.split('.').nth(1).expect("claims");
    let forged: CoreIdToken = format!("{header}.{claims}.{signature}")
        .parse()
        .expect("still a well-formed token");
    let client = client_for(&provider(), &metadata());
    let refused = verify(
        &forged,
        &client.id_token_verifier(),
        &Nonce::new(NONCE.into()),
    )
    .expect_err("forged");
    assert!(matches!(refused, OidcError::TokenInvalid(_)), "{refused:?}");
}

#[test]
fn the_secret_goes_in_the_form_only_when_the_provider_takes_no_basic_auth() {
    let basic = client_for(&provider(), &metadata());
    assert!(matches!(basic.auth_type(), AuthType::BasicAuth));
    let post_only = metadata().set_token_endpoint_auth_methods_supported(Some(vec![
        CoreClientAuthMethod::ClientSecretPost,
    ]));
    let form = client_for(&provider(), &post_only);
    assert!(matches!(form.auth_type(), AuthType::RequestBody));
}

#[test]
fn display_names_fall_back_to_the_email() {
    assert_eq!(
        display_name(Some("Ada Lovelace"), "ada@x.com"),
        "Ada Lovelace"
    );
    assert_eq!(display_name(Some("  "), "ada@x.com"), "ada");
    assert_eq!(display_name(None, "grace@x.com"), "grace");
}

#[test]
fn provider_error_codes_are_shown_tamed() {
    assert_eq!(printable("access_denied"), "access_denied");
    assert_eq!(printable("<script>\u{7}"), "<script>");
    assert_eq!(printable(&"x".repeat(100)).len(), 64);
}
