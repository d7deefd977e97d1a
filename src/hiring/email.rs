//! Emails over SMTP (`lettre`): the invite to a candidate and the completion notice to the
//! recruiter. Every attempt is recorded in `emails` with how it went; a server without SMTP
//! settings records `not_configured` and carries on.

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

/// Emails the recruiter when one of their candidates finishes an interview, with the link to
/// the report. Runs for the server's lifetime, following the activity feed.
pub fn spawn_completion_notices(
    pool: DbPool,
    mailer: Mailer,
    activity: crate::activity::ActivityFeed,
    public_url: String,
) {
    let mut events = activity.subscribe();
    actix_web::rt::spawn(async move {
        loop {
            let event = match events.recv().await {
                Ok(event) => event,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "completion notices fell behind the activity feed");
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            if event.kind != crate::activity::ActivityKind::Ended {
                continue;
            }
            if let Err(e) = notify_completed(&pool, &mailer, &public_url, &event.interview_id).await
            {
                tracing::warn!(error = %e, interview_id = %event.interview_id, "completion notice failed");
            }
        }
    });
}

async fn notify_completed(
    pool: &DbPool,
    mailer: &Mailer,
    public_url: &str,
    interview_id: &InterviewId,
) -> Result<(), crate::db::DbError> {
    let mut conn = pool.get().await?;
    let Some(candidate) = db::candidates::of_interview(&mut conn, interview_id).await? else {
        return Ok(()); // a practice interview
    };
    let Some(job) = db::jobs::find(&mut conn, &candidate.job_id).await? else {
        return Ok(());
    };
    let Some(recruiter) = db::users::find_by_id(&mut conn, &job.owner_id).await? else {
        return Ok(());
    };
    let score = db::interviews::find(&mut conn, interview_id)
        .await?
        .and_then(|i| i.score)
        .map_or_else(|| "not scored".to_owned(), |s| format!("{s:.0}/100"));
    drop(conn);
    let report = format!(
        "{}/report.html?id={interview_id}",
        public_url.trim_end_matches('/')
    );
    mailer
        .send(
            pool,
            Email {
                kind: EmailKind::Completed,
                interview_id: Some(interview_id),
                to: &recruiter.email,
                subject: format!(
                    "{} finished the interview for {}",
                    candidate.name, job.title
                ),
                body: format!(
                    "{} finished the interview for {} (score: {score}).\n\nReport: {report}\n",
                    candidate.name, job.title
                ),
            },
        )
        .await;
    Ok(())
}
