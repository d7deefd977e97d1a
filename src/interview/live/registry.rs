//! The live sessions of this node, by interview id, and who holds them. Admission: the node
//! holds at most `capacity` interviews with a connection attached (beyond it a new interview is
//! refused, never made slow for everyone; a session waiting out its grace after its page closed
//! does no work and does not count), and a signed-in user may hold only so many sessions at once
//! (sessions opened with a candidate's invite link are held by no user: each link opens its one
//! interview). Joining a session that already runs is never refused. A draining node (it was
//! asked to stop) starts no new session at all.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use actix::Addr;

use super::InterviewSession;
use crate::domain::{InterviewId, UserId};

/// A live session: the instance number it was started as, its address, and the user holding it.
struct Live {
    instance: u64,
    addr: Addr<InterviewSession>,
    holder: Option<UserId>,
    /// A connection is attached: the interview is being held, not waiting out its grace.
    attached: bool,
}

/// A signed-in user opening a live interview, and how many they may hold at once.
#[derive(Debug, Clone, Copy)]
pub struct Holder<'a> {
    pub user_id: &'a UserId,
    pub max_live: usize,
}

/// Why a new live session was not started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotAdmitted {
    /// The user already holds their most live interviews.
    #[error("already holding {limit} live interviews")]
    TooManyForUser { limit: usize },
    /// The node already holds as many live interviews as it can serve well.
    #[error("this server already holds its {capacity} live interviews")]
    Full { capacity: usize },
    /// The node is shutting down: the interview belongs on another one.
    #[error("this server is shutting down")]
    Draining,
}

#[derive(Clone, Default)]
pub struct SessionRegistry {
    sessions: Arc<Mutex<HashMap<InterviewId, Live>>>,
    instances: Arc<AtomicU64>,
    /// Most live sessions at once; 0: no limit.
    capacity: usize,
    draining: Arc<AtomicBool>,
}

impl SessionRegistry {
    /// A registry that holds at most `capacity` live sessions (0: no limit).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity,
            ..Self::default()
        }
    }

    /// Live sessions on this node with a connection attached now (the ones the capacity counts).
    pub fn live(&self) -> usize {
        held_now(&self.lock())
    }

    /// Records whether session `instance` of the interview has a connection attached.
    pub fn set_attached(&self, interview_id: &InterviewId, instance: u64, attached: bool) {
        if let Some(live) = self
            .lock()
            .get_mut(interview_id)
            .filter(|live| live.instance == instance)
        {
            live.attached = attached;
        }
    }

    /// Most live sessions at once (0: no limit).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// From now on no new session starts here (the node is shutting down).
    pub fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Every session still running on this node.
    pub fn sessions(&self) -> Vec<Addr<InterviewSession>> {
        self.lock()
            .values()
            .filter(|live| live.addr.connected())
            .map(|live| live.addr.clone())
            .collect()
    }

    /// The interview's live session, started with `start(instance)` when there is none, held
    /// by `holder` (`None`: opened with an invite link). Joining a running session is always
    /// allowed; starting one more than the holder's limit is not.
    pub fn get_or_start(
        &self,
        interview_id: &InterviewId,
        holder: Option<Holder<'_>>,
        start: impl FnOnce(u64) -> Addr<InterviewSession>,
    ) -> Result<Addr<InterviewSession>, NotAdmitted> {
        let mut sessions = self.lock();
        if let Some(live) = running(&sessions, interview_id) {
            return Ok(live.addr.clone());
        }
        self.check_room(&sessions, holder)?;
        let instance = self.instances.fetch_add(1, Ordering::Relaxed);
        let addr = start(instance);
        sessions.insert(
            interview_id.to_owned(),
            Live {
                instance,
                addr: addr.clone(),
                holder: holder.map(|h| h.user_id.to_owned()),
                // Its first connection attaches next.
                attached: true,
            },
        );
        Ok(addr)
    }

    /// Whether [`Self::get_or_start`] would let `holder` open the interview now (an early
    /// answer, before any work; `get_or_start` decides).
    pub fn admits(
        &self,
        interview_id: &InterviewId,
        holder: Option<Holder<'_>>,
    ) -> Result<(), NotAdmitted> {
        let sessions = self.lock();
        if running(&sessions, interview_id).is_some() {
            return Ok(());
        }
        self.check_room(&sessions, holder)
    }

    /// Whether one more session fits the node and `holder`'s limit.
    fn check_room(
        &self,
        sessions: &HashMap<InterviewId, Live>,
        holder: Option<Holder<'_>>,
    ) -> Result<(), NotAdmitted> {
        if self.is_draining() {
            return Err(NotAdmitted::Draining);
        }
        if self.capacity > 0 && held_now(sessions) >= self.capacity {
            return Err(NotAdmitted::Full {
                capacity: self.capacity,
            });
        }
        if let Some(holder) = holder {
            // The user's limit counts sessions waiting out their grace too.
            let held = sessions
                .values()
                .filter(|l| l.addr.connected() && l.holder.as_ref() == Some(holder.user_id))
                .count();
            if held >= holder.max_live {
                return Err(NotAdmitted::TooManyForUser {
                    limit: holder.max_live,
                });
            }
        }
        Ok(())
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

/// Sessions with a connection attached: the interviews being held, which the capacity counts
/// (one waiting out its grace does no work).
fn held_now(sessions: &HashMap<InterviewId, Live>) -> usize {
    sessions
        .values()
        .filter(|l| l.attached && l.addr.connected())
        .count()
}
