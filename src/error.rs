//! Error policy.
//!
//! - Each layer has its own `thiserror` enum (`DbError`, `AccountError`, `ConfigError`, …) that
//!   says what went wrong in that layer's terms.
//! - [`AppError`] is the only error that reaches HTTP. It maps each case to an explicit status and
//!   a stable snake_case `code`, rendered as `{"error": {"code": "...", "message": "..."}}`.
//! - `DbError::NotFound` becomes 404 here and nowhere else; a database that cannot be reached is
//!   503; anything unexpected is a 500 whose body says nothing internal while the log keeps the
//!   whole cause chain.
//! - `anyhow` is for the CLI only.

use std::time::Duration;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::auth::accounts::AccountError;
use crate::auth::api_keys::ApiKeyError;
use crate::auth::hashing::HashingError;
use crate::auth::oidc::OidcError;
use crate::auth::rate_limit::{LimitError, Quota};
use crate::db::DbError;
use crate::domain::{ApiScope, ErrorCode, Invalid};
use crate::hiring::{HiringError, InviteError};
use crate::interview::catalog::CatalogError;
use crate::interview::interviews::InterviewError;
use crate::interview::plan::PlanError;
use crate::resume::ResumeError;
use crate::transcription::TranscriptionError;
use crate::webhooks::WebhookError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    InvalidInput(String),
    #[error("malformed JSON: {0}")]
    InvalidJson(String),
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    /// A compressed request body: what it inflates to is not known until it is inflated.
    #[error(
        "request bodies are not accepted compressed (Content-Encoding: {0}); send them as they are"
    )]
    CompressedBody(String),
    #[error("log in to continue")]
    Unauthenticated,
    #[error("email or password is incorrect")]
    InvalidCredentials,
    /// `/metrics` without the configured `metrics_token`.
    #[error("send the metrics token as `Authorization: Bearer <token>`")]
    MetricsToken,
    #[error("this account is disabled; ask an administrator")]
    AccountDisabled,
    #[error("the code is wrong or has expired; ask for a new one")]
    InvalidCode,
    #[error(
        "confirm your email address first: enter the code we emailed you, or ask for a new one"
    )]
    EmailUnverified,
    #[error("sign in again, then retry: this needs a recent sign-in")]
    ReauthenticationRequired,
    /// A change the account's state does not allow (owns jobs, last admin, own account).
    #[error("{message}")]
    AccountConflict { code: ErrorCode, message: String },
    /// An admin turned password sign-in off (`password_sign_in`).
    #[error("signing in with a password is turned off here; sign in with a provider")]
    PasswordSignInDisabled,
    /// Signing in at an OpenID Connect provider failed; `From<OidcError>` picks code and status.
    #[error("{message}")]
    SignIn {
        code: ErrorCode,
        status: StatusCode,
        message: String,
    },
    /// An API key that is unknown, expired, revoked, or whose owner can no longer use it.
    #[error("{0}")]
    InvalidApiKey(String),
    /// The route accepts API keys with a scope this key lacks.
    #[error("this API key lacks the scope `{0}` this route needs")]
    InsufficientScope(ApiScope),
    /// The route is for signed-in browser sessions only.
    #[error("API keys cannot call this route; it needs a signed-in browser session")]
    ApiKeyNotAllowed,
    #[error("{0}")]
    TooManyApiKeys(String),
    /// The key's own rate limit (`api_key_requests_per_minute`).
    #[error("this API key made too many requests; try again in {} seconds", retry_after_secs(.wait))]
    ApiKeyRateLimited { wait: Duration, quota: Quota },
    #[error("you do not have access to this")]
    Forbidden,
    #[error("cross-site request refused: {0}")]
    CrossSite(&'static str),
    #[error("not found")]
    NotFound,
    #[error("an account with this email already exists")]
    EmailTaken,
    /// A valid request the question bank cannot serve (too few enabled questions).
    #[error("{0}")]
    NotEnoughQuestions(String),
    #[error("too many attempts; try again in {} seconds", retry_after_secs(.0))]
    RateLimited(Duration),
    /// The user created `max_interviews_per_hour` interviews in this hour.
    #[error("you have created the most interviews allowed in an hour; try again in {} seconds", retry_after_secs(.0))]
    TooManyInterviews(Duration),
    /// The user already holds `max_live_interviews_per_user` live interviews.
    #[error("you already have {limit} live interviews open, the most allowed at once; close one (a closed interview stays live for a short grace period) and try again")]
    TooManyLiveInterviews { limit: usize },
    /// This node already holds as many live interviews as it serves well (`max_live_interviews`):
    /// a new one would make every interview slow.
    #[error("this server is holding as many live interviews as it can right now; try again in a few minutes")]
    ServerFull(Duration),
    /// This node is shutting down and starts no new live interview: the next try reaches
    /// another node.
    #[error("this server is shutting down; try again in a moment")]
    Draining,
    /// Too much work of one kind at once on this server (password hashing, reading uploads):
    /// try again soon.
    #[error("the server is busy; try again in {} seconds", retry_after_secs(.0))]
    Busy(Duration),
    /// The interview is over (`completed`, `abandoned`, `expired`): it cannot be held again.
    #[error("this interview is {0} and cannot be continued")]
    InterviewClosed(&'static str),
    /// An invite token that is unknown or revoked (one answer for both).
    #[error("{0}")]
    InviteInvalid(String),
    /// An expired invite, or one whose interview is over.
    #[error("{message}")]
    InviteGone { code: ErrorCode, message: String },
    #[error("{0}")]
    JobClosed(String),
    /// A test event asked of a disabled webhook endpoint.
    #[error("{0}")]
    WebhookDisabled(String),
    #[error("{0}")]
    UnsupportedFileType(String),
    #[error(
        "live interviews are unavailable: this server runs without its speech and language models"
    )]
    ModelsUnavailable,
    #[error("service temporarily unavailable")]
    Unavailable(String),
    #[error("{0}")]
    UploadQuota(String),
    /// A recording sent for transcription in no format viva reads (judged by its bytes).
    #[error("{0}")]
    UnsupportedAudio(String),
    /// A recording that is damaged or cannot be decoded.
    #[error("{0}")]
    InvalidAudio(String),
    /// A recording longer than `transcription_max_duration`.
    #[error("{0}")]
    AudioTooLong(String),
    /// `transcription_queue` tasks are queued or running already.
    #[error("{message}")]
    TranscriptionQueueFull {
        message: String,
        retry_after: Duration,
    },
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A password hash takes well under a second, so a slot frees up within one.
const HASHING_BUSY_RETRY: Duration = Duration::from_secs(1);

fn retry_after_secs(d: &Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[derive(Serialize)]
pub struct ErrorBody<'a> {
    pub error: ErrorDetail<'a>,
}

#[derive(Serialize)]
pub struct ErrorDetail<'a> {
    pub code: ErrorCode,
    pub message: &'a str,
}

impl AppError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidInput(_) => ErrorCode::InvalidInput,
            Self::InvalidJson(_) => ErrorCode::InvalidJson,
            Self::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Self::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            Self::CompressedBody(_) => ErrorCode::UnsupportedContentEncoding,
            Self::Unauthenticated => ErrorCode::Unauthenticated,
            Self::InvalidCredentials => ErrorCode::InvalidCredentials,
            Self::MetricsToken => ErrorCode::Unauthenticated,
            Self::AccountDisabled => ErrorCode::AccountDisabled,
            Self::InvalidCode => ErrorCode::InvalidCode,
            Self::EmailUnverified => ErrorCode::EmailUnverified,
            Self::ReauthenticationRequired => ErrorCode::ReauthenticationRequired,
            Self::AccountConflict { code, .. } => *code,
            Self::PasswordSignInDisabled => ErrorCode::PasswordSignInDisabled,
            Self::SignIn { code, .. } => *code,
            Self::InvalidApiKey(_) => ErrorCode::InvalidApiKey,
            Self::InsufficientScope(_) => ErrorCode::InsufficientScope,
            Self::ApiKeyNotAllowed => ErrorCode::ApiKeyNotAllowed,
            Self::TooManyApiKeys(_) => ErrorCode::TooManyApiKeys,
            Self::ApiKeyRateLimited { .. } => ErrorCode::RateLimited,
            Self::Forbidden => ErrorCode::Forbidden,
            Self::CrossSite(_) => ErrorCode::CrossSiteRequest,
            Self::NotFound => ErrorCode::NotFound,
            Self::EmailTaken => ErrorCode::EmailTaken,
            Self::NotEnoughQuestions(_) => ErrorCode::NotEnoughQuestions,
            Self::RateLimited(_) => ErrorCode::RateLimited,
            Self::TooManyInterviews(_) => ErrorCode::TooManyInterviews,
            Self::TooManyLiveInterviews { .. } => ErrorCode::TooManyLiveInterviews,
            Self::Busy(_) => ErrorCode::ServerBusy,
            Self::ServerFull(_) => ErrorCode::ServerFull,
            Self::Draining => ErrorCode::Draining,
            Self::InterviewClosed(_) => ErrorCode::InterviewClosed,
            Self::ModelsUnavailable => ErrorCode::ModelsUnavailable,
            Self::InviteInvalid(_) => ErrorCode::InviteInvalid,
            Self::InviteGone { code, .. } => *code,
            Self::JobClosed(_) => ErrorCode::JobClosed,
            Self::WebhookDisabled(_) => ErrorCode::WebhookDisabled,
            Self::UnsupportedFileType(_) => ErrorCode::UnsupportedFileType,
            Self::Unavailable(_) => ErrorCode::ServiceUnavailable,
            Self::UploadQuota(_) => ErrorCode::UploadQuotaExceeded,
            Self::UnsupportedAudio(_) => ErrorCode::UnsupportedAudio,
            Self::InvalidAudio(_) => ErrorCode::InvalidAudio,
            Self::AudioTooLong(_) => ErrorCode::AudioTooLong,
            Self::TranscriptionQueueFull { .. } => ErrorCode::TranscriptionQueueFull,
            Self::Internal(_) => ErrorCode::InternalError,
        }
    }

    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(e))
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidInput(_) | Self::InvalidJson(_) | Self::InvalidCode => {
                StatusCode::BAD_REQUEST
            }
            Self::ReauthenticationRequired => StatusCode::UNAUTHORIZED,
            Self::EmailUnverified => StatusCode::FORBIDDEN,
            Self::AccountConflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } | Self::UploadQuota(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType | Self::CompressedBody(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            Self::Unauthenticated
            | Self::InvalidCredentials
            | Self::InviteInvalid(_)
            | Self::InvalidApiKey(_)
            | Self::MetricsToken => StatusCode::UNAUTHORIZED,
            Self::InviteGone { .. } => StatusCode::GONE,
            Self::UnsupportedFileType(_) | Self::UnsupportedAudio(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            Self::InvalidAudio(_) | Self::AudioTooLong(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Forbidden
            | Self::InsufficientScope(_)
            | Self::ApiKeyNotAllowed
            | Self::CrossSite(_)
            | Self::AccountDisabled
            | Self::PasswordSignInDisabled => StatusCode::FORBIDDEN,
            Self::SignIn { status, .. } => *status,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::EmailTaken
            | Self::InterviewClosed(_)
            | Self::JobClosed(_)
            | Self::TooManyApiKeys(_)
            | Self::WebhookDisabled(_) => StatusCode::CONFLICT,
            Self::NotEnoughQuestions(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited(_)
            | Self::ApiKeyRateLimited { .. }
            | Self::TooManyInterviews(_)
            | Self::TooManyLiveInterviews { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_)
            | Self::ModelsUnavailable
            | Self::Busy(_)
            | Self::ServerFull(_)
            | Self::Draining
            | Self::TranscriptionQueueFull { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        // Internal details go to the log, never to the client.
        let message = match self {
            Self::Internal(cause) => {
                tracing::error!(error = %cause, cause_chain = ?cause, "internal error");
                "something went wrong on our side".to_owned()
            }
            Self::Unavailable(cause) => {
                tracing::error!(error = %cause, "dependency unavailable");
                self.to_string()
            }
            other => other.to_string(),
        };
        let mut response = HttpResponse::build(self.status_code());
        match self {
            Self::RateLimited(retry_after)
            | Self::TooManyInterviews(retry_after)
            | Self::Busy(retry_after)
            | Self::ServerFull(retry_after)
            | Self::TranscriptionQueueFull { retry_after, .. } => {
                response.insert_header((
                    header::RETRY_AFTER,
                    retry_after_secs(retry_after).to_string(),
                ));
            }
            Self::ApiKeyRateLimited { wait, quota } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs(wait).to_string()));
                for (name, value) in rate_limit_headers(quota) {
                    response.insert_header((name, value));
                }
            }
            Self::Draining => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            Self::MetricsToken => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            Self::InvalidApiKey(_) => {
                response
                    .insert_header((header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\""));
            }
            Self::InsufficientScope(scope) => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\""),
                ));
            }
            _ => {}
        }
        response.json(ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: &message,
            },
        })
    }
}

/// The `RateLimit-*` headers of a response to a request made with an API key: the key's limit
/// per window, what is left of it, and the seconds until the window starts afresh.
pub fn rate_limit_headers(quota: &Quota) -> [(header::HeaderName, String); 3] {
    [
        (
            header::HeaderName::from_static("ratelimit-limit"),
            quota.limit.to_string(),
        ),
        (
            header::HeaderName::from_static("ratelimit-remaining"),
            quota.remaining.to_string(),
        ),
        (
            header::HeaderName::from_static("ratelimit-reset"),
            retry_after_secs(&quota.reset).to_string(),
        ),
    ]
}

impl From<ApiKeyError> for AppError {
    fn from(e: ApiKeyError) -> Self {
        match e {
            ApiKeyError::Invalid(invalid) => invalid.into(),
            e @ (ApiKeyError::Unknown
            | ApiKeyError::Expired(_)
            | ApiKeyError::Revoked
            | ApiKeyError::OwnerInactive) => Self::InvalidApiKey(e.to_string()),
            e @ ApiKeyError::TooMany => Self::TooManyApiKeys(e.to_string()),
            ApiKeyError::Db(e) => e.into(),
        }
    }
}

/// A used-up window is 429 `rate_limited` (callers with their own code use
/// [`LimitError::map_exceeded`]); a limit the database could not count is 503.
impl From<LimitError> for AppError {
    fn from(e: LimitError) -> Self {
        e.map_exceeded(Self::RateLimited)
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => Self::NotFound,
            DbError::Unavailable(why) => Self::Unavailable(why),
            other => Self::internal(other),
        }
    }
}

impl From<Invalid> for AppError {
    fn from(e: Invalid) -> Self {
        Self::InvalidInput(e.0)
    }
}

impl From<AccountError> for AppError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid(invalid) => invalid.into(),
            AccountError::EmailTaken => Self::EmailTaken,
            AccountError::InvalidCredentials => Self::InvalidCredentials,
            AccountError::Disabled => Self::AccountDisabled,
            AccountError::NotFound => Self::NotFound,
            AccountError::InvalidCode => Self::InvalidCode,
            AccountError::EmailUnverified => Self::EmailUnverified,
            conflict @ (AccountError::OwnsJobs
            | AccountError::LastAdmin
            | AccountError::OwnAccount) => Self::AccountConflict {
                code: match conflict {
                    AccountError::OwnsJobs => ErrorCode::AccountOwnsJobs,
                    AccountError::LastAdmin => ErrorCode::LastAdmin,
                    _ => ErrorCode::OwnAccount,
                },
                message: conflict.to_string(),
            },
            AccountError::Db(db) => db.into(),
            AccountError::Hashing(HashingError::Busy) => Self::Busy(HASHING_BUSY_RETRY),
            other @ AccountError::Hashing(_) => Self::internal(other),
        }
    }
}

impl From<OidcError> for AppError {
    fn from(e: OidcError) -> Self {
        let (code, status) = match e {
            OidcError::UnknownProvider(_) | OidcError::NoPendingLink => return Self::NotFound,
            OidcError::Account(account) => return account.into(),
            OidcError::Db(db) => return db.into(),
            OidcError::ProviderUnavailable(_) => {
                (ErrorCode::OidcProviderUnavailable, StatusCode::BAD_GATEWAY)
            }
            OidcError::StateMismatch => (ErrorCode::OidcStateMismatch, StatusCode::BAD_REQUEST),
            OidcError::Refused(_) => (ErrorCode::OidcRefused, StatusCode::UNAUTHORIZED),
            OidcError::TokenInvalid(_) => (ErrorCode::OidcTokenInvalid, StatusCode::UNAUTHORIZED),
            OidcError::EmailMissing => (ErrorCode::OidcEmailMissing, StatusCode::BAD_REQUEST),
            OidcError::EmailUnverified => (ErrorCode::OidcEmailUnverified, StatusCode::CONFLICT),
            OidcError::AccountExists => (ErrorCode::OidcAccountExists, StatusCode::CONFLICT),
            OidcError::IdentityTaken => (ErrorCode::IdentityTaken, StatusCode::CONFLICT),
            OidcError::LastSignInMethod => (ErrorCode::LastSignInMethod, StatusCode::CONFLICT),
        };
        Self::SignIn {
            code,
            status,
            message: e.to_string(),
        }
    }
}

impl From<PlanError> for AppError {
    fn from(e: PlanError) -> Self {
        if e.is_bad_input() {
            Self::InvalidInput(e.to_string())
        } else {
            Self::NotEnoughQuestions(e.to_string())
        }
    }
}

impl From<InterviewError> for AppError {
    fn from(e: InterviewError) -> Self {
        match e {
            InterviewError::Plan(plan) => plan.into(),
            InterviewError::Db(db) => db.into(),
            other @ InterviewError::StoredData(_) => Self::internal(other),
        }
    }
}

impl From<HiringError> for AppError {
    fn from(e: HiringError) -> Self {
        match e {
            HiringError::Invalid(invalid) => invalid.into(),
            HiringError::JobClosed => Self::JobClosed(e.to_string()),
            HiringError::Invite(invite) => match invite {
                InviteError::Invalid => Self::InviteInvalid(invite.to_string()),
                InviteError::Expired => Self::InviteGone {
                    code: ErrorCode::InviteExpired,
                    message: invite.to_string(),
                },
                InviteError::InterviewOver(_) => Self::InviteGone {
                    code: ErrorCode::InterviewOver,
                    message: invite.to_string(),
                },
            },
            HiringError::Resume(resume) => match resume {
                ResumeError::TooLarge { .. } => Self::PayloadTooLarge {
                    limit: crate::resume::MAX_BYTES,
                },
                other => Self::UnsupportedFileType(other.to_string()),
            },
            HiringError::UploadQuota { .. } => Self::UploadQuota(e.to_string()),
            HiringError::UploadRate(retry_after) => Self::RateLimited(retry_after),
            HiringError::Reader(_) => Self::Busy(Duration::from_secs(5)),
            HiringError::Interview(interview) => interview.into(),
            HiringError::Db(db) => db.into(),
            other @ HiringError::Storage(_) => Self::internal(other),
        }
    }
}

impl From<WebhookError> for AppError {
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::Invalid(invalid) => invalid.into(),
            WebhookError::Disabled => Self::WebhookDisabled(e.to_string()),
            WebhookError::Db(db) => db.into(),
        }
    }
}

impl From<CatalogError> for AppError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::Invalid(invalid) => invalid.into(),
            CatalogError::Db(db) => db.into(),
        }
    }
}

impl From<TranscriptionError> for AppError {
    fn from(e: TranscriptionError) -> Self {
        match e {
            TranscriptionError::TooLarge { limit } => Self::PayloadTooLarge { limit },
            TranscriptionError::Unsupported(why) => Self::UnsupportedAudio(why),
            TranscriptionError::Invalid(why) => Self::InvalidAudio(why),
            TranscriptionError::TooLong(why) => Self::AudioTooLong(why),
            TranscriptionError::QueueFull { .. } => Self::TranscriptionQueueFull {
                message: e.to_string(),
                retry_after: crate::transcription::QUEUE_FULL_RETRY,
            },
            TranscriptionError::ModelsUnavailable => Self::ModelsUnavailable,
            TranscriptionError::NotFound => Self::NotFound,
            TranscriptionError::Db(db) => db.into(),
            other @ (TranscriptionError::Storage(_) | TranscriptionError::Decoder(_)) => {
                Self::internal(other)
            }
        }
    }
}

/// The JSON error code for a bare status, used when something other than [`AppError`]
/// (actix itself, a file service) produced an error response.
pub fn code_for_status(status: StatusCode) -> ErrorCode {
    match status.as_u16() {
        400 => ErrorCode::BadRequest,
        401 => ErrorCode::Unauthenticated,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        408 => ErrorCode::RequestTimeout,
        413 => ErrorCode::PayloadTooLarge,
        414 => ErrorCode::UriTooLong,
        415 => ErrorCode::UnsupportedMediaType,
        429 => ErrorCode::RateLimited,
        431 => ErrorCode::HeadersTooLarge,
        503 => ErrorCode::ServiceUnavailable,
        s if s >= 500 => ErrorCode::InternalError,
        _ => ErrorCode::RequestFailed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    async fn body_of(e: AppError) -> serde_json::Value {
        let bytes = to_bytes(e.error_response().into_body()).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[actix_web::test]
    async fn internal_errors_reveal_nothing() {
        let e = AppError::internal(std::io::Error::other("secret path /etc/shadow"));
        let body = body_of(e).await;
        assert_eq!(body["error"]["code"], "internal_error");
        assert!(!body.to_string().contains("shadow"));
    }

    #[actix_web::test]
    async fn rate_limited_sets_retry_after_rounded_up() {
        let e = AppError::RateLimited(Duration::from_millis(1500));
        let response = e.error_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "2");
    }

    #[actix_web::test]
    async fn busy_hashing_is_503_with_retry_after() {
        let e = AppError::from(AccountError::Hashing(HashingError::Busy));
        let response = e.error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "1");
        assert_eq!(body_of(e).await["error"]["code"], "server_busy");
    }

    #[test]
    fn db_not_found_is_404_and_unavailable_is_503() {
        assert_eq!(
            AppError::from(DbError::NotFound).status_code(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            AppError::from(DbError::Unavailable("down".into())).status_code(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
