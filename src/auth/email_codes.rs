//! Password reset and email verification: the two flows built on one-time codes sent by email.
//! Whether an address has an account never shows: asking for a reset answers the same either
//! way, and a wrong email or a wrong code fail alike.

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

use super::accounts::AccountError;
use super::codes::{CodeError, OneTimeCodes};
use super::{Accounts, User};
use crate::config::EmailVerification;
use crate::db::DbPool;
use crate::domain::{CodePurpose, EmailKind};
use crate::mail::{Email, Mailer};

#[derive(Clone)]
pub struct EmailCodes {
    accounts: Accounts,
    codes: OneTimeCodes,
    mailer: Mailer,
    pool: DbPool,
    /// Links in the emails start here.
    public_url: String,
    policy: EmailVerification,
}

impl From<CodeError> for AccountError {
    fn from(e: CodeError) -> Self {
        match e {
            CodeError::Invalid => Self::InvalidCode,
            CodeError::Db(db) => Self::Db(db),
        }
    }
}

impl EmailCodes {
    pub fn new(
        accounts: Accounts,
        codes: OneTimeCodes,
        mailer: Mailer,
        pool: DbPool,
        public_url: String,
        policy: EmailVerification,
    ) -> Self {
        Self {
            accounts,
            codes,
            mailer,
            pool,
            public_url,
            policy,
        }
    }

    /// Emails a reset code to the account with this address, when there is one and it is not
    /// disabled; otherwise does nothing. The caller answers the same either way.
    pub async fn send_password_reset(&self, email: &str) -> Result<(), AccountError> {
        let Some(user) = self.accounts.find_by_email(email).await? else {
            tracing::info!("password reset asked for an unknown address");
            return Ok(());
        };
        if user.disabled {
            return Ok(());
        }
        let code = self
            .codes
            .issue(&user.id, CodePurpose::PasswordReset)
            .await?;
        let link = self.link("reset", &user.email, &code);
        let minutes = self.codes.lifetime().as_secs() / 60;
        self.send(
            EmailKind::PasswordReset,
            &user,
            "Your viva password reset code".into(),
            format!(
                "Hello {name},\n\nSomeone (we hope you) asked to reset the password of your viva \
                 account. Your code is:\n\n    {code}\n\nIt works for {minutes} minutes, once. Or \
                 open this link to choose a new password:\n\n    {link}\n\nIf it was not you, \
                 ignore this email: your password stays as it is.\n",
                name = user.display_name,
            ),
        )
        .await;
        Ok(())
    }

    /// Sets a new password when `code` is the account's live reset code; every session of
    /// the account ends. Receiving the code also proves the address.
    pub async fn reset_password(
        &self,
        email: &str,
        code: &str,
        new_password: &str,
    ) -> Result<User, AccountError> {
        let Some(user) = self.accounts.find_by_email(email).await? else {
            return Err(AccountError::InvalidCode);
        };
        if user.disabled {
            return Err(AccountError::InvalidCode);
        }
        // Checked before the code is used up, so a weak password does not cost the code.
        Accounts::new_password_for(&user, new_password)?;
        self.codes
            .redeem(&user.id, CodePurpose::PasswordReset, code)
            .await?;
        self.accounts.set_password(&user, new_password).await?;
        self.accounts.mark_email_verified(&user.id).await?;
        tracing::info!(user_id = %user.id, "password reset");
        Ok(user)
    }

    /// Whether accounts like this one are asked to confirm their email.
    pub fn verification_required(&self, user: &User) -> bool {
        self.policy.required_for(user.role)
    }

    /// Emails a verification code (after registration, or when asked again).
    pub async fn send_verification(&self, user: &User) -> Result<(), AccountError> {
        let code = self.codes.issue(&user.id, CodePurpose::VerifyEmail).await?;
        let link = self.link("verify", &user.email, &code);
        let minutes = self.codes.lifetime().as_secs() / 60;
        self.send(
            EmailKind::VerifyEmail,
            user,
            "Confirm your email for viva".into(),
            format!(
                "Hello {name},\n\nTo confirm that this address is yours, enter this code in \
                 viva:\n\n    {code}\n\nor open this link:\n\n    {link}\n\nIt works for \
                 {minutes} minutes. If you did not make a viva account, ignore this email.\n",
                name = user.display_name,
            ),
        )
        .await;
        Ok(())
    }

    /// Marks the address verified when `code` is the account's live verification code.
    pub async fn verify_email(&self, email: &str, code: &str) -> Result<User, AccountError> {
        let Some(user) = self.accounts.find_by_email(email).await? else {
            return Err(AccountError::InvalidCode);
        };
        // Even for a verified account: answering otherwise would tell anyone which addresses
        // have confirmed accounts. (A verified account has no live code, so a second click on
        // the link is refused like a wrong code.)
        self.codes
            .redeem(&user.id, CodePurpose::VerifyEmail, code)
            .await?;
        self.accounts.mark_email_verified(&user.id).await?;
        tracing::info!(user_id = %user.id, "email verified");
        Ok(User {
            email_verified: true,
            ..user
        })
    }

    /// Refuses work that `email_verification` reserves for confirmed addresses.
    pub fn ensure_verified(&self, user: &User) -> Result<(), AccountError> {
        if self.verification_required(user) && !user.email_verified {
            Err(AccountError::EmailUnverified)
        } else {
            Ok(())
        }
    }

    /// A link to the page's form for `action`, with the address and code filled in. They go in
    /// the fragment, which browsers send to no server and no `Referer`.
    fn link(&self, action: &str, email: &str, code: &str) -> String {
        format!(
            "{}/#{action}?email={}&code={code}",
            self.public_url.trim_end_matches('/'),
            utf8_percent_encode(email, NON_ALPHANUMERIC)
        )
    }

    async fn send(&self, kind: EmailKind, user: &User, subject: String, body: String) {
        self.mailer
            .send(
                &self.pool,
                Email {
                    kind,
                    interview_id: None,
                    to: &user.email,
                    subject,
                    body,
                },
            )
            .await;
    }
}
