//! Which node runs an interview. With PostgreSQL several nodes may serve one deployment, and a
//! live session first claims the interview's lease (see `db::leases`), renews it while it lives
//! and gives it up when it ends; a node that dies stops renewing, and once its lease has run out
//! the next connection resumes the interview on any node. With SQLite there is one node, which
//! always may.

use std::sync::Arc;
use std::time::Duration;

use crate::db::leases::{self, Holder};
use crate::db::{DbError, DbPool};
use crate::domain::InterviewId;

/// How a claim ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This session runs the interview.
    Held,
    /// Another node's session does, for `retry_after` more at most.
    Elsewhere { node: String, retry_after: Duration },
}

#[derive(Clone)]
pub struct Leases {
    pool: DbPool,
    /// This node's name, unique among the deployment's nodes.
    node: Arc<str>,
    /// How long a lease lasts unless renewed.
    ttl: Duration,
}

impl Leases {
    pub fn new(pool: DbPool, node: &str, ttl: Duration) -> Self {
        Self {
            pool,
            node: node.into(),
            ttl,
        }
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// How often a live session renews its lease: three times per lease, so two renewals may
    /// fail (a slow database) before another node can take the interview.
    pub fn renew_every(&self) -> Duration {
        self.ttl / 3
    }

    /// Only several nodes on one PostgreSQL need leases.
    fn shared(&self) -> bool {
        matches!(self.pool, DbPool::Postgres(_))
    }

    /// Claims the interview for this node's session `session`.
    pub async fn claim(&self, interview_id: &InterviewId, session: u64) -> Result<Claim, DbError> {
        if !self.shared() {
            return Ok(Claim::Held);
        }
        let now = crate::db::now();
        let mut conn = self.pool.get().await?;
        let claimed = leases::claim(
            &mut conn,
            interview_id,
            &self.holder(session),
            now,
            now + self.ttl_chrono(),
        )
        .await?;
        Ok(match claimed {
            Ok(()) => Claim::Held,
            Err(held) => Claim::Elsewhere {
                retry_after: (held.expires_at - now).to_std().unwrap_or_default(),
                node: held.node,
            },
        })
    }

    /// Extends the session's lease; `false` when it lost it (it ran out and another node took
    /// the interview).
    pub async fn renew(&self, interview_id: &InterviewId, session: u64) -> Result<bool, DbError> {
        if !self.shared() {
            return Ok(true);
        }
        let until = crate::db::now() + self.ttl_chrono();
        let mut conn = self.pool.get().await?;
        leases::renew(&mut conn, interview_id, &self.holder(session), until).await
    }

    /// Gives the session's lease up (another node may take the interview at once).
    pub async fn release(&self, interview_id: &InterviewId, session: u64) -> Result<(), DbError> {
        if !self.shared() {
            return Ok(());
        }
        let mut conn = self.pool.get().await?;
        leases::release(&mut conn, interview_id, &self.holder(session)).await
    }

    /// Gives up every lease this node holds: it stopped serving, so another node may take its
    /// interviews at once instead of after their leases run out.
    pub async fn release_all(&self) -> Result<usize, DbError> {
        if !self.shared() {
            return Ok(0);
        }
        let mut conn = self.pool.get().await?;
        leases::release_node(&mut conn, &self.node).await
    }

    fn holder(&self, session: u64) -> Holder<'_> {
        Holder {
            node: &self.node,
            session: i64::try_from(session).unwrap_or(i64::MAX),
        }
    }

    fn ttl_chrono(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.ttl).unwrap_or(chrono::Duration::seconds(15))
    }
}
