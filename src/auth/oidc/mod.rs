//! Signing in at an OpenID Connect provider: the authorization code flow with PKCE, `state` and
//! `nonce`, the ID token's checks, and the account rules ([`rules`]), free of HTTP. The HTTP
//! edge keeps a [`PendingSignIn`] (and a [`PendingLink`]) in the browser's session between the
//! steps.

pub mod discovery;
pub mod rules;

use std::sync::Arc;

use chrono::Utc;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreIdToken, CoreIdTokenVerifier,
    CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessToken, AuthType, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, SignatureVerificationError, SubjectIdentifier, TokenResponse,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use self::discovery::{error_chain, Discovery, HttpClient};
use self::rules::{Decision, EmailOwner, Facts};
use super::accounts::AccountError;
use super::{Accounts, User};
use crate::config::{OidcProvider, OidcProviders};
use crate::db::identities::{IdentityRow, Removal};
use crate::db::{self, DbError, DbPool};
use crate::domain::{DisplayName, Email, IdentityId, UserId};

/// How long a started sign-in, or a link waiting for its password, stays usable.
const PENDING_TTL_SECS: i64 = 10 * 60;

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("there is no sign-in provider `{0}`")]
    UnknownProvider(String),
    /// Discovery, the key set or the token endpoint could not be reached or made no sense.
    #[error("the sign-in provider could not be reached; try again later")]
    ProviderUnavailable(String),
    /// No sign-in was started in this session, it expired, or its `state` differs: a forged or
    /// replayed callback, or a sign-in finished already.
    #[error("this sign-in was not started in this browser, expired or was finished already; start again")]
    StateMismatch,
    /// The provider said no: the person cancelled, or the code was refused (used already).
    #[error("the provider did not sign you in ({0})")]
    Refused(String),
    /// The ID token failed a check (signature, issuer, audience, expiry, nonce).
    #[error("the provider's answer failed its checks; start again")]
    TokenInvalid(String),
    #[error(
        "the provider gave no usable email address; allow viva to see your email and try again"
    )]
    EmailMissing,
    #[error("an account with this email exists, and the provider does not vouch that the email is yours; sign in to that account, then link the provider from your account")]
    EmailUnverified,
    #[error("an account with this email exists; sign in to it (with a provider already linked to it), then link this provider from your account")]
    AccountExists,
    #[error("this account at the provider is linked to another viva account")]
    IdentityTaken,
    #[error("this is your only way to sign in; link another provider (or set a password) first")]
    LastSignInMethod,
    #[error("no link to a provider is waiting for a password here; start again")]
    NoPendingLink,
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// A sign-in sent to a provider, kept in the session until the provider sends the person back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub provider: String,
    state: String,
    nonce: String,
    pkce_verifier: String,
    /// Set when a signed-in user started it: the identity is then linked to this account.
    pub link_to: Option<UserId>,
    started_at: i64,
}

/// What the provider sent back to the callback.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    /// The provider's error code (`access_denied`, …) instead of a code.
    pub error: Option<String>,
    /// Who sent the answer, from providers that say so (RFC 9207): it must be the provider the
    /// sign-in was sent to, or another provider is answering in its place (a mix-up attack).
    pub iss: Option<String>,
}

/// A sign-in at a provider whose ID token passed every check.
#[derive(Debug, Clone)]
pub struct VerifiedIdentity {
    pub provider: String,
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

/// A verified identity whose email belongs to an account with a password: it is linked once
/// that password is given (kept in the session meanwhile).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingLink {
    pub provider: String,
    issuer: String,
    subject: String,
    pub email: String,
    user_id: UserId,
    started_at: i64,
}

/// What a finished sign-in leads to.
#[derive(Debug)]
pub enum Outcome {
    /// Sign the session in as this user.
    SignedIn(User),
    /// The identity is now (or was already) linked to the signed-in user.
    Linked,
    /// Ask for the password of the account with this email.
    ConfirmLink(PendingLink),
}

/// A linked identity as its owner sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IdentityView {
    pub id: IdentityId,
    pub provider: String,
    /// The provider's display name (its key when it is no longer configured).
    pub provider_name: String,
    pub email: String,
    pub created_at: chrono::DateTime<Utc>,
    pub last_used_at: Option<chrono::DateTime<Utc>>,
}

/// Signing in at the configured providers. Cheap to clone.
#[derive(Clone)]
pub struct Oidc {
    providers: Arc<OidcProviders>,
    discovery: Arc<Discovery>,
    http: HttpClient,
    accounts: Accounts,
    pool: DbPool,
    /// Callback URLs are `{public_url}/auth/oidc/{provider}/callback`.
    public_url: String,
}

impl Oidc {
    pub fn new(
        providers: OidcProviders,
        accounts: Accounts,
        pool: DbPool,
        public_url: String,
    ) -> Self {
        Self {
            providers: Arc::new(providers),
            discovery: Arc::default(),
            http: HttpClient::new(),
            accounts,
            pool,
            public_url,
        }
    }

    pub fn providers(&self) -> &[OidcProvider] {
        &self.providers.0
    }

    /// The URL the provider sends people back to; register it at the provider.
    pub fn redirect_url(&self, key: &str) -> String {
        format!(
            "{}/auth/oidc/{key}/callback",
            self.public_url.trim_end_matches('/')
        )
    }

    fn provider(&self, key: &str) -> Result<&OidcProvider, OidcError> {
        self.providers
            .find(key)
            .ok_or_else(|| OidcError::UnknownProvider(key.to_owned()))
    }

    async fn client(&self, provider: &OidcProvider) -> Result<Client, OidcError> {
        let metadata = self
            .discovery
            .metadata(provider, &self.http)
            .await
            .map_err(|why| {
                tracing::warn!(provider = %provider.key, error = %why, "provider discovery failed");
                OidcError::ProviderUnavailable(why)
            })?;
        let redirect = RedirectUrl::new(self.redirect_url(&provider.key))
            .map_err(|e| OidcError::ProviderUnavailable(e.to_string()))?;
        Ok(client_for(provider, &metadata).set_redirect_uri(redirect))
    }

    /// Starts signing in at `key`: the URL to send the browser to, and what to keep in its
    /// session until it comes back. `link_to`: the signed-in user, who links the provider.
    pub async fn start(
        &self,
        key: &str,
        link_to: Option<UserId>,
    ) -> Result<(String, PendingSignIn), OidcError> {
        let provider = self.provider(key)?;
        let client = self.client(provider).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in &provider.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        let pending = PendingSignIn {
            provider: provider.key.clone(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            link_to,
            started_at: Utc::now().timestamp(),
        };
        Ok((url.to_string(), pending))
    }

    /// Finishes the sign-in `pending` (taken out of the session: each is used once) with what
    /// the provider sent back to `key`'s callback: checks `state`, exchanges the code (with the
    /// PKCE verifier) and checks the ID token.
    pub async fn finish(
        &self,
        key: &str,
        pending: Option<PendingSignIn>,
        callback: Callback,
    ) -> Result<VerifiedIdentity, OidcError> {
        let pending = pending.ok_or(OidcError::StateMismatch)?;
        let same_state = callback
            .state
            .as_deref()
            .is_some_and(|state| bool::from(state.as_bytes().ct_eq(pending.state.as_bytes())));
        if pending.provider != key || !same_state || expired(pending.started_at) {
            return Err(OidcError::StateMismatch);
        }
        let provider = self.provider(key)?;
        if callback.iss.is_some_and(|iss| iss != provider.issuer) {
            return Err(OidcError::TokenInvalid(
                "the answer names another issuer".into(),
            ));
        }
        if let Some(error) = callback.error {
            return Err(OidcError::Refused(printable(&error)));
        }
        let code = callback
            .code
            .ok_or_else(|| OidcError::Refused("no code".into()))?;
        let client = self.client(provider).await?;
        let exchange = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| OidcError::ProviderUnavailable(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier));
        let tokens = exchange
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(refusal) => {
                    OidcError::Refused(printable(refusal.error().as_ref()))
                }
                other => {
                    let why = error_chain(&other);
                    tracing::warn!(provider = %key, error = %why, "the token request failed");
                    self.discovery.forget(key);
                    OidcError::ProviderUnavailable(why)
                }
            })?;
        let token = tokens
            .id_token()
            .ok_or_else(|| OidcError::TokenInvalid("the provider sent no ID token".into()))?;
        let nonce = Nonce::new(pending.nonce);
        let claims = match verify(token, &client.id_token_verifier(), &nonce) {
            // The provider may have rotated its keys since they were fetched: fetch them again,
            // once.
            Err(OidcError::TokenInvalid(why)) if why == NO_MATCHING_KEY => {
                self.discovery.forget(key);
                let client = self.client(provider).await?;
                let verifier = client.id_token_verifier();
                verify(token, &verifier, &nonce)
            }
            other => other,
        };
        let claims = claims.inspect_err(|e| {
            tracing::warn!(provider = %key, error = ?e, "an ID token was refused");
        })?;
        let claims = match claims.email {
            Some(_) => claims,
            // Some providers keep the person's claims out of the ID token of a code flow.
            None => {
                self.with_user_info(&client, tokens.access_token(), claims)
                    .await?
            }
        };
        Ok(VerifiedIdentity {
            provider: key.to_owned(),
            ..claims
        })
    }

    /// `identity` with the email, whether it is verified and the name from the provider's
    /// userinfo endpoint, which must answer for the same subject; as it was when the provider
    /// has no such endpoint.
    async fn with_user_info(
        &self,
        client: &Client,
        access_token: &AccessToken,
        identity: VerifiedIdentity,
    ) -> Result<VerifiedIdentity, OidcError> {
        let subject = SubjectIdentifier::new(identity.subject.clone());
        let Ok(request) = client.user_info(access_token.clone(), Some(subject)) else {
            return Ok(identity);
        };
        let info: CoreUserInfoClaims = request.request_async(&self.http).await.map_err(|e| {
            let why = error_chain(&e);
            tracing::warn!(issuer = %identity.issuer, error = %why, "the userinfo request failed");
            OidcError::ProviderUnavailable(why)
        })?;
        Ok(VerifiedIdentity {
            email: info.email().map(|e| e.as_str().to_owned()),
            email_verified: info.email_verified().unwrap_or(false),
            name: info
                .name()
                .and_then(|name| name.get(None))
                .map(|name| name.as_str().to_owned())
                .or(identity.name),
            ..identity
        })
    }

    /// Applies the account rules ([`rules::decide`]) to a verified identity. `signed_in`: the
    /// user who started the sign-in to link a provider, still signed in.
    pub async fn resolve(
        &self,
        identity: VerifiedIdentity,
        signed_in: Option<&User>,
        password_sign_in: bool,
    ) -> Result<Outcome, OidcError> {
        let email = identity.email.as_deref().and_then(|e| Email::parse(e).ok());
        let mut conn = self.pool.get().await?;
        let known =
            db::identities::find_by_subject(&mut conn, &identity.issuer, &identity.subject).await?;
        let email_owner = match &email {
            Some(email) => db::users::find_by_email(&mut conn, email.as_str()).await?,
            None => None,
        };
        drop(conn);
        let decision = rules::decide(&Facts {
            linked_to: known.as_ref().map(|k| &k.user_id),
            signed_in: signed_in.map(|u| &u.id),
            email: email.as_ref().map(Email::as_str),
            email_verified: identity.email_verified,
            email_owner: email_owner.as_ref().map(|owner| EmailOwner {
                id: &owner.id,
                has_password: !owner.password_hash.is_empty(),
            }),
            password_sign_in,
        })?;
        let email = email.map(|e| e.as_str().to_owned()).unwrap_or_default();
        match decision {
            Decision::SignIn(user_id) => {
                let user = self.signed_in_user(&user_id).await?;
                if let Some(known) = known {
                    let mut conn = self.pool.get().await?;
                    db::identities::touch(&mut conn, &known.id, db::now()).await?;
                }
                Ok(Outcome::SignedIn(user))
            }
            Decision::AlreadyLinked => Ok(Outcome::Linked),
            Decision::Link(user_id) => {
                self.link(&identity, &user_id, &email).await?;
                Ok(Outcome::Linked)
            }
            Decision::Create => {
                let name = display_name(identity.name.as_deref(), &email);
                let user = self
                    .accounts
                    .create_without_password(&email, &name, identity.email_verified)
                    .await?;
                self.link(&identity, &user.id, &email).await?;
                tracing::info!(user_id = %user.id, provider = %identity.provider, "registered at a provider");
                Ok(Outcome::SignedIn(self.signed_in_user(&user.id).await?))
            }
            Decision::ConfirmWithPassword(user_id) => Ok(Outcome::ConfirmLink(PendingLink {
                provider: identity.provider,
                issuer: identity.issuer,
                subject: identity.subject,
                email,
                user_id,
                started_at: Utc::now().timestamp(),
            })),
        }
    }

    /// Links a pending identity once its account's password is given, and signs in.
    pub async fn confirm_link(
        &self,
        pending: Option<PendingLink>,
        password: &str,
    ) -> Result<User, OidcError> {
        let pending = pending
            .filter(|p| !expired(p.started_at))
            .ok_or(OidcError::NoPendingLink)?;
        self.accounts
            .check_password(&pending.user_id, password)
            .await?;
        let identity = VerifiedIdentity {
            provider: pending.provider,
            issuer: pending.issuer,
            subject: pending.subject,
            email: Some(pending.email.clone()),
            email_verified: true,
            name: None,
        };
        let user = self.signed_in_user(&pending.user_id).await?;
        self.link(&identity, &pending.user_id, &pending.email)
            .await?;
        Ok(user)
    }

    /// The user's linked identities, oldest first.
    pub async fn identities(&self, user: &UserId) -> Result<Vec<IdentityView>, OidcError> {
        let mut conn = self.pool.get().await?;
        let rows = db::identities::list_for_user(&mut conn, user).await?;
        Ok(rows.into_iter().map(|row| self.view(row)).collect())
    }

    /// Removes one of the user's identities, unless it is their last way to sign in (no other
    /// identity, and no password that password sign-in accepts).
    pub async fn remove_identity(
        &self,
        user: &User,
        id: &IdentityId,
        password_sign_in: bool,
    ) -> Result<(), OidcError> {
        let keep_last = !(user.has_password && password_sign_in);
        let mut conn = self.pool.get().await?;
        match db::identities::remove(&mut conn, id, &user.id, keep_last).await? {
            Removal::Removed => Ok(()),
            Removal::WasLast => Err(OidcError::LastSignInMethod),
        }
    }

    fn view(&self, row: IdentityRow) -> IdentityView {
        let provider_name = self
            .providers
            .find(&row.provider)
            .map_or_else(|| row.provider.clone(), |p| p.name.clone());
        IdentityView {
            id: row.id,
            provider: row.provider,
            provider_name,
            email: row.email,
            created_at: row.created_at.and_utc(),
            last_used_at: row.last_used_at.map(|t| t.and_utc()),
        }
    }

    /// The account, once it passed the last step of every sign-in (not disabled).
    async fn signed_in_user(&self, id: &UserId) -> Result<User, OidcError> {
        let user = self
            .accounts
            .find(id)
            .await?
            .ok_or(AccountError::NotFound)?;
        self.accounts.record_sign_in(&user).await?;
        Ok(user)
    }

    async fn link(
        &self,
        identity: &VerifiedIdentity,
        user_id: &UserId,
        email: &str,
    ) -> Result<(), OidcError> {
        let now = db::now();
        let row = IdentityRow {
            id: IdentityId::random(),
            user_id: user_id.clone(),
            provider: identity.provider.clone(),
            issuer: identity.issuer.clone(),
            subject: identity.subject.clone(),
            email: email.to_owned(),
            created_at: now,
            last_used_at: Some(now),
        };
        let mut conn = self.pool.get().await?;
        match db::identities::insert(&mut conn, &row).await {
            Ok(()) => {
                tracing::info!(user_id = %user_id, provider = %identity.provider, "linked a provider");
                Ok(())
            }
            // Linked meanwhile (another tab finished the same sign-in).
            Err(DbError::UniqueViolation(_)) => Err(OidcError::IdentityTaken),
            Err(e) => Err(e.into()),
        }
    }
}

type Client = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// The provider's client, sending its secret the way the provider's discovery document says it
/// takes it (HTTP Basic unless it only takes a form field, as LinkedIn).
fn client_for(provider: &OidcProvider, metadata: &CoreProviderMetadata) -> Client {
    let client = CoreClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(provider.client_id.clone()),
        Some(ClientSecret::new(
            provider.client_secret.expose_secret().to_owned(),
        )),
    );
    let takes = metadata.token_endpoint_auth_methods_supported();
    let basic = takes.is_none_or(|methods| {
        methods.contains(&CoreClientAuthMethod::ClientSecretBasic)
            || !methods.contains(&CoreClientAuthMethod::ClientSecretPost)
    });
    client.set_auth_type(if basic {
        AuthType::BasicAuth
    } else {
        AuthType::RequestBody
    })
}

/// [`TokenInvalid`](OidcError::TokenInvalid)'s reason when no key of the provider's key set
/// signed the token.
const NO_MATCHING_KEY: &str = "no matching key";

/// Checks the ID token (signature, issuer, audience, expiry, nonce) and reads its claims.
pub fn verify(
    token: &CoreIdToken,
    verifier: &CoreIdTokenVerifier<'_>,
    nonce: &Nonce,
) -> Result<VerifiedIdentity, OidcError> {
    let claims = token.claims(verifier, nonce).map_err(|e| match e {
        ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        ) => OidcError::TokenInvalid(NO_MATCHING_KEY.into()),
        other => OidcError::TokenInvalid(error_chain(&other)),
    })?;
    Ok(VerifiedIdentity {
        provider: String::new(),
        issuer: claims.issuer().as_str().to_owned(),
        subject: claims.subject().as_str().to_owned(),
        email: claims.email().map(|e| e.as_str().to_owned()),
        email_verified: claims.email_verified().unwrap_or(false),
        name: claims
            .name()
            .and_then(|name| name.get(None))
            .map(|name| name.as_str().to_owned())
            .or_else(|| claims.preferred_username().map(|u| u.as_str().to_owned())),
    })
}

fn expired(started_at: i64) -> bool {
    Utc::now().timestamp() - started_at > PENDING_TTL_SECS
}

/// A provider's error code, safe to show: printable ASCII, at most 64 characters.
fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(64)
        .collect()
}

/// The new account's display name: the provider's name for the person, else the email's local
/// part.
fn display_name(name: Option<&str>, email: &str) -> String {
    let local = email.split('@').next().unwrap_or("you");
    name.and_then(|n| DisplayName::parse(n).ok())
        .or_else(|| DisplayName::parse(local).ok())
        .map_or_else(|| "you".to_owned(), |n| n.as_str().to_owned())
}

#[cfg(test)]
mod tests;
