//! What every request handler can reach, built once at startup.

use std::time::Duration;

use crate::activity::ActivityFeed;
use crate::auth::oidc::Oidc;
use crate::auth::rate_limit::RateLimiter;
use crate::auth::{Accounts, ApiKeys, EmailCodes, Logins};
use crate::cluster::Bus;
use crate::config::Settings;
use crate::db::DbPool;
use crate::interview::live::SessionDeps;
use crate::mail::Mailer;
use crate::resume::reader::ResumeReader;
use crate::telemetry::Metrics;
use crate::transcription::Transcriptions;

pub struct AppState {
    pub settings: Settings,
    pub pool: DbPool,
    pub accounts: Accounts,
    /// Keys that programs call the API with.
    pub api_keys: ApiKeys,
    /// Password reset and email verification.
    pub email_codes: EmailCodes,
    /// Signing in at the configured OpenID Connect providers.
    pub oidc: Oidc,
    /// Where open streams learn that the login they were opened under ended.
    pub logins: Logins,
    pub limits: Limits,
    /// Shared with the webhook delivery worker.
    pub metrics: std::sync::Arc<Metrics>,
    /// What live interviews need; `None` when the server runs without models.
    pub live: Option<std::sync::Arc<SessionDeps>>,
    /// The address people reach this server at (invite links are built on it).
    pub public_url: String,
    pub mailer: Mailer,
    pub activity: ActivityFeed,
    /// What this node tells the other nodes of the deployment, and hears from them.
    pub bus: Bus,
    /// This node's name among them (`node_name`).
    pub node: String,
    /// Reads uploaded resumes' text in child processes.
    pub resume_reader: ResumeReader,
    /// Batch transcription of uploaded recordings.
    pub transcriptions: Transcriptions,
}

pub struct Limits {
    pub login_failures_per_ip: RateLimiter,
    pub login_failures_per_account: RateLimiter,
    pub registrations_per_ip: RateLimiter,
    /// Password-reset and verification emails asked for, by client address.
    pub code_emails_per_ip: RateLimiter,
    /// Password-reset and verification emails, by account (email address).
    pub code_emails_per_account: RateLimiter,
    pub resume_uploads_per_interview: RateLimiter,
    /// Interviews each user creates (practice or job candidates), by user id, per hour.
    pub interviews_per_user: RateLimiter,
}

impl Limits {
    /// The limits `s` sets, counted in the database behind `pool` when it is PostgreSQL (shared
    /// by every node), in memory on SQLite.
    pub fn from_settings(s: &Settings, pool: &DbPool) -> Self {
        let hour = Duration::from_secs(3600);
        let limiter = |name, limit, window| RateLimiter::new(name, limit, window, pool);
        Self {
            login_failures_per_ip: limiter(
                "login_failures_per_ip",
                s.login_max_failures_per_ip,
                s.rate_limit_window,
            ),
            login_failures_per_account: limiter(
                "login_failures_per_account",
                s.login_max_failures_per_account,
                s.rate_limit_window,
            ),
            registrations_per_ip: limiter(
                "registrations_per_ip",
                s.register_max_per_ip,
                s.rate_limit_window,
            ),
            code_emails_per_ip: limiter(
                "code_emails_per_ip",
                s.code_emails_max_per_ip,
                s.rate_limit_window,
            ),
            code_emails_per_account: limiter(
                "code_emails_per_account",
                s.code_emails_max_per_account,
                s.rate_limit_window,
            ),
            resume_uploads_per_interview: limiter(
                "resume_uploads_per_interview",
                s.uploads_per_interview_per_hour,
                hour,
            ),
            interviews_per_user: limiter("interviews_per_user", s.max_interviews_per_hour, hour),
        }
    }
}
