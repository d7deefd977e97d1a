//! Domain values that parse: once built, they are valid.

mod display_name;
mod email;
mod error_code;
mod password;
mod role;

pub use display_name::DisplayName;
pub use email::Email;
pub use error_code::ErrorCode;
pub use password::Password;
pub use role::Role;

/// Why a value was rejected; shown to the user as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);
