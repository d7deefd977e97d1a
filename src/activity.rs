//! What happens in interviews, as it happens: a link opened, an interview started, an answer
//! given, an interview ended. Job pages follow it live (server-sent events); the completion
//! email is sent from it. In-process: each node sees its own sessions' activity.

use crate::domain::InterviewId;
use tokio::sync::broadcast;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// A candidate was added, or got a new link.
    Invited,
    /// Their links were revoked.
    Revoked,
    Opened,
    Started,
    Answered,
    Ended,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub interview_id: InterviewId,
    pub kind: ActivityKind,
}

/// Cheap to clone; publishing never blocks (a slow follower misses events and reloads).
#[derive(Clone)]
pub struct ActivityFeed {
    sender: broadcast::Sender<Activity>,
}

impl Default for ActivityFeed {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(256).0,
        }
    }
}

impl ActivityFeed {
    pub fn publish(&self, interview_id: &InterviewId, kind: ActivityKind) {
        // No follower is not an error.
        let _ = self.sender.send(Activity {
            interview_id: interview_id.to_owned(),
            kind,
        });
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Activity> {
        self.sender.subscribe()
    }
}
