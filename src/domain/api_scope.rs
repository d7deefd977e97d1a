//! What an API key may do: each scope opens a set of `/api/v1` routes to the key (the routes
//! name theirs where they are mounted, `crate::http::api_routes`).

use super::text_enum::text_enum;
use super::{Invalid, Role};

text_enum! {
    /// One permission an API key can hold. A key still acts as its owner: a scope never
    /// reaches past what the owner's role may do.
    pub enum ApiScope as "scope" {
        /// List and read jobs, their invites and the catalog they are built from.
        JobsRead = "jobs:read",
        /// Create and change jobs.
        JobsWrite = "jobs:write",
        /// List a job's candidates (with their scores) and download resumes.
        CandidatesRead = "candidates:read",
        /// Add candidates, upload resumes, reissue and revoke invites.
        CandidatesWrite = "candidates:write",
        /// Read interviews and their reports (JSON and PDF).
        ReportsRead = "reports:read",
        /// Read the question bank.
        QuestionsRead = "questions:read",
        /// Add and change questions (admins).
        QuestionsWrite = "questions:write",
        /// Read batch transcription tasks and their results.
        TranscriptionsRead = "transcriptions:read",
        /// Submit audio for batch transcription and delete tasks.
        TranscriptionsWrite = "transcriptions:write",
        /// List webhook endpoints and their deliveries.
        WebhooksRead = "webhooks:read",
        /// Add, change and delete webhook endpoints; redeliver.
        WebhooksWrite = "webhooks:write",
        /// List and search accounts (admins).
        UsersRead = "users:read",
        /// Change accounts' roles, disable and enable them (admins).
        UsersWrite = "users:write",
    }
}

impl ApiScope {
    /// Whether an account of `role` may hold this scope. Keys are for recruiters and admins;
    /// the account and question-bank scopes are for admins only.
    pub fn allowed_for(self, role: Role) -> bool {
        match self {
            Self::UsersRead | Self::UsersWrite | Self::QuestionsRead | Self::QuestionsWrite => {
                role == Role::Admin
            }
            _ => role.recruits(),
        }
    }

    /// Parses a space-separated list (as stored): duplicates are dropped, order is `ALL`'s.
    pub fn parse_list(raw: &str) -> Result<Vec<Self>, Invalid> {
        let scopes = raw
            .split_whitespace()
            .map(Self::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::normalized(&scopes))
    }

    /// `scopes` without duplicates, in `ALL`'s order.
    pub fn normalized(scopes: &[Self]) -> Vec<Self> {
        Self::ALL
            .iter()
            .copied()
            .filter(|s| scopes.contains(s))
            .collect()
    }

    /// The stored form of `scopes`: space-separated.
    pub fn join(scopes: &[Self]) -> String {
        scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_round_trips_in_a_fixed_order_without_duplicates() {
        let scopes = ApiScope::parse_list("reports:read  jobs:read reports:read").expect("valid");
        assert_eq!(scopes, vec![ApiScope::JobsRead, ApiScope::ReportsRead]);
        assert_eq!(ApiScope::join(&scopes), "jobs:read reports:read");
    }

    #[test]
    fn an_unknown_scope_is_named_in_the_error() {
        let err = ApiScope::parse_list("jobs:read jobs:delete").expect_err("unknown");
        assert!(err.0.contains("jobs:delete"), "{err}");
    }

    #[test]
    fn account_scopes_are_for_admins_and_no_scope_is_for_candidates() {
        assert!(ApiScope::UsersWrite.allowed_for(Role::Admin));
        assert!(!ApiScope::UsersWrite.allowed_for(Role::Recruiter));
        assert!(ApiScope::JobsRead.allowed_for(Role::Recruiter));
        assert!(ApiScope::ALL
            .iter()
            .all(|scope| !scope.allowed_for(Role::Candidate)));
    }
}
