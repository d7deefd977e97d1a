//! The live sessions of this node, by interview id.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use actix::Addr;

use super::InterviewSession;

/// Live sessions by interview id, each with the instance number it was started as.
type Sessions = HashMap<String, (u64, Addr<InterviewSession>)>;

#[derive(Clone, Default)]
pub struct SessionRegistry {
    sessions: Arc<Mutex<Sessions>>,
    instances: Arc<AtomicU64>,
}

impl SessionRegistry {
    /// The interview's live session, started with `start(instance)` when there is none.
    pub fn get_or_start(
        &self,
        interview_id: &str,
        start: impl FnOnce(u64) -> Addr<InterviewSession>,
    ) -> Addr<InterviewSession> {
        let mut sessions = self.lock();
        if let Some((_, addr)) = sessions.get(interview_id).filter(|(_, a)| a.connected()) {
            return addr.clone();
        }
        let instance = self.instances.fetch_add(1, Ordering::Relaxed);
        let addr = start(instance);
        sessions.insert(interview_id.to_owned(), (instance, addr.clone()));
        addr
    }

    /// The interview's live session, when there is one on this node.
    pub fn get(&self, interview_id: &str) -> Option<Addr<InterviewSession>> {
        self.lock()
            .get(interview_id)
            .map(|(_, addr)| addr.clone())
            .filter(Addr::connected)
    }

    /// Forgets the session when it is still `instance` (a newer one is left alone).
    pub fn remove(&self, interview_id: &str, instance: u64) {
        let mut sessions = self.lock();
        if sessions
            .get(interview_id)
            .is_some_and(|(i, _)| *i == instance)
        {
            sessions.remove(interview_id);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Sessions> {
        // The map stays consistent whatever panicked while holding it (single inserts/removes).
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
