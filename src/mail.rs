//! Emails over SMTP (`lettre`): invites, completion notices, one-time codes. Every attempt is
//! recorded in `emails` with how it went; a server without SMTP settings records
//! `not_configured` and carries on.

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{Settings, SmtpTls};
use crate::db::emails::EmailRow;
use crate::db::{self, DbPool};
use crate::domain::{EmailKind, EmailStatus, InterviewId};

#[derive(Debug, thiserror::Error)]
pub enum MailerError {
    #[error("smtp_from: {0}")]
    From(String),
    #[error("smtp_host: {0}")]
    Transport(String),
}

#[derive(Clone)]
pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
}

/// One email to send.
pub struct Email<'a> {
    pub kind: EmailKind,
    pub interview_id: Option<&'a InterviewId>,
    pub to: &'a str,
    pub subject: String,
    pub body: String,
}

impl Mailer {
    pub fn from_settings(settings: &Settings) -> Result<Self, MailerError> {
        let from: Mailbox = settings
            .smtp_from
            .parse()
            .map_err(|e| MailerError::From(format!("{e}")))?;
        let Some(host) = settings.smtp_host.as_deref() else {
            return Ok(Self {
                transport: None,
                from,
            });
        };
        let tls_parameters = || {
            TlsParameters::new(host.to_owned()).map_err(|e| MailerError::Transport(e.to_string()))
        };
        let tls = match settings.smtp_tls {
            SmtpTls::None => Tls::None,
            SmtpTls::Starttls => Tls::Required(tls_parameters()?),
            SmtpTls::Tls => Tls::Wrapper(tls_parameters()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(settings.smtp_port)
            .tls(tls)
            .timeout(Some(std::time::Duration::from_secs(20)));
        if let Some(user) = &settings.smtp_username {
            let password = settings
                .smtp_password
                .as_ref()
                .map(|p| secrecy::ExposeSecret::expose_secret(p).to_owned())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(Self {
            transport: Some(builder.build()),
            from,
        })
    }

    /// Sends `email` and records the attempt; returns the recorded status (`sent`, `failed`
    /// or `not_configured`). Never fails the caller: a lost email is logged, not an error.
    pub async fn send(&self, pool: &DbPool, email: Email<'_>) -> EmailStatus {
        let (status, error) = match self.deliver(&email).await {
            Ok(()) => (EmailStatus::Sent, None),
            Err(None) => (EmailStatus::NotConfigured, None),
            Err(Some(e)) => (EmailStatus::Failed, Some(e)),
        };
        match &error {
            Some(e) => tracing::warn!(kind = %email.kind, error = %e, "email not sent"),
            None => tracing::info!(kind = %email.kind, %status, "email"),
        }
        let row = EmailRow {
            id: uuid::Uuid::new_v4().to_string(),
            interview_id: email.interview_id.cloned(),
            kind: email.kind,
            recipient: email.to.to_owned(),
            subject: email.subject.clone(),
            status,
            error,
            created_at: db::now(),
        };
        let recorded = match pool.get().await {
            Ok(mut conn) => db::emails::insert(&mut conn, &row).await,
            Err(e) => Err(e),
        };
        if let Err(e) = recorded {
            tracing::error!(error = %e, "could not record an email");
        }
        status
    }

    /// `Err(None)`: no SMTP server configured.
    async fn deliver(&self, email: &Email<'_>) -> Result<(), Option<String>> {
        let Some(transport) = &self.transport else {
            return Err(None);
        };
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|e| Some(format!("recipient: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .body(email.body.clone())
            .map_err(|e| Some(e.to_string()))?;
        transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| Some(e.to_string()))
    }
}
