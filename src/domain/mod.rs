//! Domain values that parse: once built, they are valid.

mod account;
mod api_scope;
mod display_name;
mod email;
mod error_code;
mod hiring;
mod ids;
mod interview;
mod password;
mod role;
mod text_column;
mod text_enum;
mod transcription;

pub use account::CodePurpose;
pub use api_scope::ApiScope;
pub use display_name::DisplayName;
pub use email::Email;
pub use error_code::ErrorCode;
pub use hiring::{
    EmailKind, EmailStatus, FileKind, JobStatus, TextStatus, WebhookEvent, WebhookStatus,
};
pub use ids::{
    ApiKeyId, ApiKeyUseId, CandidateId, FileId, IdentityId, InterviewId, InviteId, JobId,
    MessageId, QuestionId, TranscriptionId, UserId, WebhookEndpointId, WebhookMessageId,
};
pub use interview::{
    Difficulty, FeedbackSource, Flag, InterviewMode, InterviewStatus, MessageKind, QuestionSource,
    Speaker,
};
pub use password::Password;
pub use role::Role;
pub use transcription::{AudioFormat, TranscriptionStatus};

/// Why a value was rejected; shown to the user as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);
