//! What happens in interviews, as it happens: a link opened, an interview started, an answer
//! given, an interview ended. Job pages follow it live (server-sent events) on every node: what
//! happens here is also told to the other nodes of the deployment (`crate::cluster`), and what
//! they tell arrives here. The completion email is sent from it by the node where the interview
//! ended.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::cluster::Bus;
use crate::domain::InterviewId;

/// The cluster topic activity travels under.
const TOPIC: &str = "activity";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub interview_id: InterviewId,
    pub kind: ActivityKind,
    /// It happened on this node (not on another one that told us).
    #[serde(skip, default)]
    pub here: bool,
}

/// Cheap to clone; publishing never blocks (a slow follower misses events and reloads).
#[derive(Clone)]
pub struct ActivityFeed {
    sender: broadcast::Sender<Activity>,
    bus: Bus,
}

impl Default for ActivityFeed {
    fn default() -> Self {
        Self::new(Bus::single_node())
    }
}

impl ActivityFeed {
    /// A feed that also carries the activity of the other nodes on `bus`.
    pub fn new(bus: Bus) -> Self {
        let sender = broadcast::channel(256).0;
        let from_others = sender.clone();
        bus.on_message(TOPIC, move |activity: Activity| {
            // No follower is not an error.
            let _ = from_others.send(activity);
        });
        Self { sender, bus }
    }

    pub fn publish(&self, interview_id: &InterviewId, kind: ActivityKind) {
        let activity = Activity {
            interview_id: interview_id.to_owned(),
            kind,
            here: true,
        };
        self.bus.tell_others(TOPIC, &activity);
        let _ = self.sender.send(activity);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Activity> {
        self.sender.subscribe()
    }
}
