//! The stable codes of every error a client can see: the `code` of an HTTP error body and of a
//! live interview's `error` event. One closed list, each code written once, so a misspelt code
//! does not compile; README's "Error codes" table documents exactly these (a test checks both
//! ways).

use serde::{Serialize, Serializer};

macro_rules! error_codes {
    ($($(#[$meta:meta])* $variant:ident = $text:literal,)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$meta])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as clients see it (snake_case).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $text,)*
                }
            }
        }

        // In the API description: a string, one of the codes.
        impl utoipa::PartialSchema for ErrorCode {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),*]))
                    .into()
            }
        }

        impl utoipa::ToSchema for ErrorCode {}
    };
}

error_codes! {
    // HTTP: the request itself.
    BadRequest = "bad_request",
    InvalidInput = "invalid_input",
    InvalidJson = "invalid_json",
    PayloadTooLarge = "payload_too_large",
    UnsupportedMediaType = "unsupported_media_type",
    UnsupportedContentEncoding = "unsupported_content_encoding",
    UnsupportedFileType = "unsupported_file_type",
    UnsupportedAudio = "unsupported_audio",
    AudioTooLong = "audio_too_long",
    MethodNotAllowed = "method_not_allowed",
    RequestTimeout = "request_timeout",
    UriTooLong = "uri_too_long",
    HeadersTooLarge = "headers_too_large",
    RequestFailed = "request_failed",
    // HTTP: who is asking.
    Unauthenticated = "unauthenticated",
    InvalidCredentials = "invalid_credentials",
    AccountDisabled = "account_disabled",
    ReauthenticationRequired = "reauthentication_required",
    EmailUnverified = "email_unverified",
    PasswordSignInDisabled = "password_sign_in_disabled",
    InvalidApiKey = "invalid_api_key",
    InsufficientScope = "insufficient_scope",
    ApiKeyNotAllowed = "api_key_not_allowed",
    TooManyApiKeys = "too_many_api_keys",
    // HTTP: signing in at an OpenID Connect provider.
    OidcProviderUnavailable = "oidc_provider_unavailable",
    OidcStateMismatch = "oidc_state_mismatch",
    OidcRefused = "oidc_refused",
    OidcTokenInvalid = "oidc_token_invalid",
    OidcEmailMissing = "oidc_email_missing",
    OidcEmailUnverified = "oidc_email_unverified",
    OidcAccountExists = "oidc_account_exists",
    IdentityTaken = "identity_taken",
    LastSignInMethod = "last_sign_in_method",
    Forbidden = "forbidden",
    CrossSiteRequest = "cross_site_request",
    NotFound = "not_found",
    // HTTP: what the request asks for.
    EmailTaken = "email_taken",
    NotEnoughQuestions = "not_enough_questions",
    InterviewClosed = "interview_closed",
    InviteInvalid = "invite_invalid",
    JobClosed = "job_closed",
    WebhookDisabled = "webhook_disabled",
    UploadQuotaExceeded = "upload_quota_exceeded",
    InvalidCode = "invalid_code",
    AccountOwnsJobs = "account_owns_jobs",
    LastAdmin = "last_admin",
    OwnAccount = "own_account",
    // HTTP: limits and the server's state.
    RateLimited = "rate_limited",
    TooManyInterviews = "too_many_interviews",
    TooManyLiveInterviews = "too_many_live_interviews",
    ServerBusy = "server_busy",
    ServerFull = "server_full",
    Draining = "draining",
    TranscriptionQueueFull = "transcription_queue_full",
    ModelsUnavailable = "models_unavailable",
    ServiceUnavailable = "service_unavailable",
    InternalError = "internal_error",
    // Both: an invite that no longer opens its interview.
    InviteExpired = "invite_expired",
    InterviewOver = "interview_over",
    // Live interview `error` events.
    InvalidMessage = "invalid_message",
    InvalidAudio = "invalid_audio",
    FrameTooLarge = "frame_too_large",
    AudioTooFast = "audio_too_fast",
    NotStarted = "not_started",
    NotYourTurn = "not_your_turn",
    Busy = "busy",
    SessionRestarted = "session_restarted",
    TakenOver = "taken_over",
    /// Another node runs the interview: connect again in a moment.
    HeldElsewhere = "held_elsewhere",
    InviteRevoked = "invite_revoked",
    SessionEnded = "session_ended",
    /// The database cannot be reached: what was just sent was not saved.
    DatabaseUnavailable = "database_unavailable",
    Internal = "internal",
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn codes_are_distinct_snake_case_and_serialise_as_written() {
        let mut seen = BTreeSet::new();
        for code in ErrorCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} twice");
            assert!(
                text.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{text}"
            );
            assert_eq!(
                serde_json::to_string(code).expect("serialises"),
                format!("\"{text}\"")
            );
        }
    }

    /// README's "Error codes" table lists every code, and only codes that exist.
    #[test]
    fn the_readme_documents_exactly_these_codes() {
        let readme = include_str!("../../README.md");
        let section = readme
            .split("\n### Error codes\n")
            .nth(1)
            .expect("README has an Error codes section");
        let table = section.split("\n#").next().unwrap_or_default();
        let documented: BTreeSet<&str> = table
            .lines()
            .filter_map(|line| line.strip_prefix("| `"))
            .filter_map(|rest| rest.split('`').next())
            .collect();
        let codes: BTreeSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        let undocumented: Vec<_> = codes.difference(&documented).collect();
        let unknown: Vec<_> = documented.difference(&codes).collect();
        assert!(undocumented.is_empty(), "not in README: {undocumented:?}");
        assert!(unknown.is_empty(), "in README but not a code: {unknown:?}");

        // The live interview's codes are also where its protocol is described.
        let protocol = include_str!("../../docs/protocol.md");
        let live: Vec<&str> = table
            .lines()
            .filter(|line| line.contains("| live |") || line.contains("| both |"))
            .filter_map(|line| line.strip_prefix("| `")?.split('`').next())
            .collect();
        assert!(live.len() > 10, "the table marks no live codes");
        for code in live {
            assert!(
                protocol.contains(&format!("`{code}`")),
                "{code} is missing from docs/protocol.md"
            );
        }
    }
}
