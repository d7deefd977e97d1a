//! The live sessions of this node, by interview id, and who holds them: a signed-in user may
//! hold only so many at once (sessions opened with a candidate's invite link are held by no
//! user: each link opens its one interview).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use actix::Addr;

use super::InterviewSession;
use crate::domain::{InterviewId, UserId};

/// A live session: the instance number it was started as, its address, and the user holding it.
struct Live {
    instance: u64,
    addr: Addr<InterviewSession>,
    holder: Option<UserId>,
}

/// A signed-in user opening a live interview, and how many they may hold at once.
#[derive(Debug, Clone, Copy)]
pub struct Holder<'a> {
    pub user_id: &'a UserId,
    pub max_live: usize,
}

/// The user already holds their most live interviews.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("already holding {limit} live interviews")]
pub struct TooManyLive {
    pub limit: usize,
}

#[derive(Clone, Default)]
pub struct SessionRegistry {
    sessions: Arc<Mutex<HashMap<InterviewId, Live>>>,
    instances: Arc<AtomicU64>,
}

impl SessionRegistry {
    /// The interview's live session, started with `start(instance)` when there is none, held
    /// by `holder` (`None`: opened with an invite link). Joining a running session is always
    /// allowed; starting one more than the holder's limit is not.
    pub fn get_or_start(
        &self,
        interview_id: &InterviewId,
        holder: Option<Holder<'_>>,
        start: impl FnOnce(u64) -> Addr<InterviewSession>,
    ) -> Result<Addr<InterviewSession>, TooManyLive> {
        let mut sessions = self.lock();
        if let Some(live) = running(&sessions, interview_id) {
            return Ok(live.addr.clone());
        }
        if let Some(holder) = holder {
            check_limit(&sessions, holder)?;
        }
        let instance = self.instances.fetch_add(1, Ordering::Relaxed);
        let addr = start(instance);
        sessions.insert(
            interview_id.to_owned(),
            Live {
                instance,
                addr: addr.clone(),
                holder: holder.map(|h| h.user_id.to_owned()),
            },
        );
        Ok(addr)
    }

    /// Whether [`Self::get_or_start`] would let `holder` open the interview now (an early
    /// answer, before any work; `get_or_start` decides).
    pub fn admits(
        &self,
        interview_id: &InterviewId,
        holder: Holder<'_>,
    ) -> Result<(), TooManyLive> {
        let sessions = self.lock();
        if running(&sessions, interview_id).is_some() {
            return Ok(());
        }
        check_limit(&sessions, holder)
    }

    /// The interview's live session, when there is one on this node.
    pub fn get(&self, interview_id: &InterviewId) -> Option<Addr<InterviewSession>> {
        running(&self.lock(), interview_id).map(|live| live.addr.clone())
    }

    /// Forgets the session when it is still `instance` (a newer one is left alone).
    pub fn remove(&self, interview_id: &InterviewId, instance: u64) {
        let mut sessions = self.lock();
        if sessions
            .get(interview_id)
            .is_some_and(|live| live.instance == instance)
        {
            sessions.remove(interview_id);
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<InterviewId, Live>> {
        // The map stays consistent whatever panicked while holding it (single inserts/removes).
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn running<'a>(
    sessions: &'a HashMap<InterviewId, Live>,
    interview_id: &InterviewId,
) -> Option<&'a Live> {
    sessions
        .get(interview_id)
        .filter(|live| live.addr.connected())
}

fn check_limit(
    sessions: &HashMap<InterviewId, Live>,
    holder: Holder<'_>,
) -> Result<(), TooManyLive> {
    let held = sessions
        .values()
        .filter(|live| live.holder.as_ref() == Some(holder.user_id) && live.addr.connected())
        .count();
    if held >= holder.max_live {
        return Err(TooManyLive {
            limit: holder.max_live,
        });
    }
    Ok(())
}
