//! Values of the account life cycle.

use super::text_enum::text_enum;

text_enum! {
    /// What a one-time code is for (`one_time_codes.purpose`).
    pub enum CodePurpose as "purpose" {
        /// Sets a new password without the old one.
        PasswordReset = "password_reset",
        /// Proves the account's email address.
        VerifyEmail = "verify_email",
    }
}
