//! Invite links: a random token per link, of which only the SHA-256 is stored. A token
//! authorizes exactly one interview (its page, its WebSocket, its resume) until it expires, is
//! revoked, or the interview is over.

use base64::Engine;
use chrono::{DateTime, NaiveDateTime, Utc};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{may_manage, HiringError};
use crate::auth::User;
use crate::db::interviews::InterviewRow;
use crate::db::invites::InviteRow;
use crate::db::{self, DbConn, DbError, DbPool};
use crate::domain::{InterviewId, InterviewMode, InterviewStatus, InviteId, WebhookEvent};
use crate::webhooks::outbox;

/// 32 random bytes: 43 URL-safe characters.
const TOKEN_BYTES: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InviteError {
    /// Unknown and revoked tokens are the same answer (and cost the same lookup), so a
    /// revoked link tells nothing a random one would not.
    #[error("this interview link is not valid; ask the recruiter for a new one")]
    Invalid,
    #[error("this interview link has expired; ask the recruiter for a new one")]
    Expired,
    #[error("this interview is over ({0}); thank you for your time")]
    InterviewOver(String),
}

/// What a valid token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub invite_id: InviteId,
    pub interview_id: InterviewId,
    pub expires_at: DateTime<Utc>,
}

/// An invite as its recruiter sees it (never the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct InviteView {
    pub id: InviteId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub access_count: i32,
    pub last_access_at: Option<DateTime<Utc>>,
    /// `active`, `expired` or `revoked`.
    pub state: &'static str,
}

impl InviteView {
    pub fn of(row: &InviteRow, now: NaiveDateTime) -> Self {
        let state = if row.revoked_at.is_some() {
            "revoked"
        } else if row.expires_at <= now {
            "expired"
        } else {
            "active"
        };
        Self {
            id: row.id.clone(),
            created_at: row.created_at.and_utc(),
            expires_at: row.expires_at.and_utc(),
            revoked_at: row.revoked_at.map(|t| t.and_utc()),
            access_count: row.access_count,
            last_access_at: row.last_access_at.map(|t| t.and_utc()),
            state,
        }
    }
}

/// A new invite and the token for its link (shown once, then only its hash exists).
pub struct Issued {
    pub invite: InviteView,
    pub token: String,
}

pub fn new_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The candidate's link for `token`.
pub fn invite_url(public_url: &str, token: &str) -> String {
    format!("{}/i/{token}", public_url.trim_end_matches('/'))
}

pub async fn issue(
    conn: &mut DbConn,
    interview_id: &InterviewId,
    ttl: std::time::Duration,
) -> Result<Issued, DbError> {
    let token = new_token();
    let now = db::now();
    let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(7));
    let row = InviteRow {
        id: InviteId::random(),
        interview_id: interview_id.to_owned(),
        token_hash: token_hash(&token),
        created_at: now,
        expires_at: now + ttl,
        revoked_at: None,
        access_count: 0,
        last_access_at: None,
    };
    db::invites::insert(conn, &row).await?;
    Ok(Issued {
        invite: InviteView::of(&row, now),
        token,
    })
}

/// Checks a token; with `count`, the use is recorded (opening the page, connecting).
pub async fn authorize(pool: &DbPool, token: &str, count: bool) -> Result<Grant, HiringError> {
    let mut conn = pool.get().await?;
    let Some(invite) = db::invites::find_by_hash(&mut conn, &token_hash(token)).await? else {
        return Err(InviteError::Invalid.into());
    };
    if invite.revoked_at.is_some() {
        return Err(InviteError::Invalid.into());
    }
    let now = db::now();
    if invite.expires_at <= now {
        return Err(InviteError::Expired.into());
    }
    let interview = db::interviews::find(&mut conn, &invite.interview_id)
        .await?
        .ok_or(InviteError::Invalid)?;
    if !matches!(
        interview.status,
        InterviewStatus::Pending | InterviewStatus::InProgress
    ) {
        let status = interview.status.as_str().replace('_', " ");
        return Err(InviteError::InterviewOver(status).into());
    }
    if count {
        db::invites::record_access(&mut conn, &invite.id, now).await?;
    }
    Ok(Grant {
        invite_id: invite.id,
        interview_id: invite.interview_id,
        expires_at: invite.expires_at.and_utc(),
    })
}

/// The hiring interview `id` when `user` may manage it; otherwise not found.
pub async fn managed_interview(
    conn: &mut DbConn,
    user: &User,
    id: &InterviewId,
) -> Result<InterviewRow, HiringError> {
    match db::interviews::find(conn, id).await? {
        Some(row) if row.mode == InterviewMode::Hiring && may_manage(user, &row.owner_id) => {
            Ok(row)
        }
        _ => Err(DbError::NotFound.into()),
    }
}

pub async fn list(
    pool: &DbPool,
    user: &User,
    interview_id: &InterviewId,
) -> Result<Vec<InviteView>, HiringError> {
    let mut conn = pool.get().await?;
    managed_interview(&mut conn, user, interview_id).await?;
    let now = db::now();
    Ok(db::invites::of_interview(&mut conn, interview_id)
        .await?
        .iter()
        .map(|row| InviteView::of(row, now))
        .collect())
}

/// A new link for the interview (earlier ones keep working until revoked or expired).
pub async fn reissue(
    pool: &DbPool,
    user: &User,
    interview_id: &InterviewId,
    ttl: std::time::Duration,
) -> Result<Issued, HiringError> {
    let mut conn = pool.get().await?;
    let interview = managed_interview(&mut conn, user, interview_id).await?;
    match interview.status.as_str() {
        "pending" | "in_progress" => {}
        // Its links ran out before it started: a new link brings it back.
        "expired" => {
            db::interviews::set_status(
                &mut conn,
                interview_id,
                InterviewStatus::Expired,
                InterviewStatus::Pending,
            )
            .await?;
        }
        other => return Err(InviteError::InterviewOver(other.replace('_', " ")).into()),
    }
    let issued = issue(&mut conn, interview_id, ttl).await?;
    announce_invite(&mut conn, interview_id, &issued.invite).await;
    tracing::info!(%interview_id, invite_id = %issued.invite.id, "invite issued");
    Ok(issued)
}

/// Revokes one invite (`Some`) or all of them; a revoked invite that does not exist (or is
/// already revoked) is not found.
pub async fn revoke(
    pool: &DbPool,
    user: &User,
    interview_id: &InterviewId,
    invite_id: Option<&InviteId>,
) -> Result<usize, HiringError> {
    let mut conn = pool.get().await?;
    managed_interview(&mut conn, user, interview_id).await?;
    let revoked = db::invites::revoke(&mut conn, interview_id, invite_id, db::now()).await?;
    if invite_id.is_some() && revoked == 0 {
        return Err(DbError::NotFound.into());
    }
    tracing::info!(%interview_id, ?invite_id, revoked, "invites revoked");
    Ok(revoked)
}

/// Queues `candidate.invited` for the recruiter's webhooks: a candidate added, or a new link.
pub async fn announce_invite(conn: &mut DbConn, interview_id: &InterviewId, invite: &InviteView) {
    let mut extra = serde_json::Map::new();
    extra.insert(
        "invite".into(),
        serde_json::json!({"id": invite.id, "expires_at": invite.expires_at}),
    );
    outbox::announce(
        conn,
        interview_id,
        WebhookEvent::CandidateInvited,
        extra,
        false,
    )
    .await;
}

/// The sweep: pending hiring interviews whose links all expired become `expired`, each
/// announcing `invite.expired` once (a new link brings the interview back to `pending`, and a
/// later expiry announces again). Returns how many expired.
pub async fn expire(pool: &DbPool) -> Result<usize, DbError> {
    let mut conn = pool.get().await?;
    let now = db::now();
    let mut expired = 0;
    for id in db::invites::expirable_interviews(&mut conn, now).await? {
        let changed = db::interviews::set_status(
            &mut conn,
            &id,
            InterviewStatus::Pending,
            InterviewStatus::Expired,
        )
        .await?;
        if changed {
            expired += 1;
            let mut extra = serde_json::Map::new();
            extra.insert("expired_at".into(), serde_json::json!(now.and_utc()));
            outbox::announce(&mut conn, &id, WebhookEvent::InviteExpired, extra, false).await;
        }
    }
    Ok(expired)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_url_safe_and_distinct() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert!(a.len() >= 32, "{a}");
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn only_a_hash_of_the_token_is_kept() {
        let token = new_token();
        let hash = token_hash(&token);
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains(&token));
        assert_eq!(hash, token_hash(&token), "stable");
    }

    #[test]
    fn links_join_the_public_url_and_the_token() {
        assert_eq!(
            invite_url("https://hire.example.com/", "abc"),
            "https://hire.example.com/i/abc"
        );
        assert_eq!(
            invite_url("http://127.0.0.1:8080", "abc"),
            "http://127.0.0.1:8080/i/abc"
        );
    }
}
