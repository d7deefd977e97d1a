//! Who computes next. candle's CPU kernels use every core; Whisper and the language models
//! running at once on a small machine thrash each other's threads (measured in BENCHMARKS.md),
//! so the workers take turns through one gate, a step at a time, in priority order: the
//! transcription of a finished answer first, then the next step of the live replies, then the
//! next sentence of the interviewer's voice, then background work (assessments), which also
//! waits while a live turn has paused it.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What a caller of [`ComputeGate::lock`] is about to compute, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// A candidate is waiting for their answer's transcript.
    Transcription,
    /// A step of the replies being written to candidates.
    Reply,
    /// A sentence of a reply being spoken (the interviewer's voice).
    Voice,
    /// Assessments and anything else nobody is waiting for right now.
    Background,
}

const PRIORITIES: usize = 4;

#[derive(Default)]
struct State {
    held: bool,
    /// Callers waiting for the gate, by priority.
    waiting: [usize; PRIORITIES],
    /// Live turns that keep background work off the gate ([`ComputeGate::pause_background`]).
    pauses: usize,
}

impl State {
    fn may_enter(&self, priority: Priority) -> bool {
        let more_urgent_waiting = self.waiting[..priority as usize].iter().any(|&n| n > 0);
        let paused = priority == Priority::Background && self.pauses > 0;
        !self.held && !more_urgent_waiting && !paused
    }
}

/// Lets one model compute at a time, the most urgent caller first. Cheap to clone.
#[derive(Clone, Default)]
pub struct ComputeGate {
    shared: Arc<(Mutex<State>, Condvar)>,
}

/// Holds the gate; dropping it lets the next caller in.
pub struct GateGuard {
    shared: Arc<(Mutex<State>, Condvar)>,
}

impl Drop for GateGuard {
    fn drop(&mut self) {
        let (state, opened) = &*self.shared;
        lock_state(state).held = false;
        opened.notify_all();
    }
}

/// A worker's standing place in the queue between its steps ([`ComputeGate::claim`]).
pub struct Claim {
    shared: Arc<(Mutex<State>, Condvar)>,
    priority: Priority,
}

impl Drop for Claim {
    fn drop(&mut self) {
        let (state, opened) = &*self.shared;
        let mut state = lock_state(state);
        state.waiting[self.priority as usize] -= 1;
        drop(state);
        opened.notify_all();
    }
}

/// Keeps background work off the gate while it lives ([`ComputeGate::pause_background`]).
pub struct BackgroundPause {
    shared: Arc<(Mutex<State>, Condvar)>,
}

impl Drop for BackgroundPause {
    fn drop(&mut self) {
        let (state, opened) = &*self.shared;
        let mut state = lock_state(state);
        state.pauses = state.pauses.saturating_sub(1);
        drop(state);
        opened.notify_all();
    }
}

impl ComputeGate {
    /// Waits until the gate is free and no more urgent caller waits (and, for background work,
    /// no live turn has paused it), then holds it. Callers of one priority enter in no
    /// particular order; a worker that wants fairness between its own requests keeps its
    /// own queue.
    pub fn lock(&self, priority: Priority) -> GateGuard {
        let (state, opened) = &*self.shared;
        let mut state = lock_state(state);
        state.waiting[priority as usize] += 1;
        while !state.may_enter(priority) {
            state = opened
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        state.waiting[priority as usize] -= 1;
        state.held = true;
        GateGuard {
            shared: self.shared.clone(),
        }
    }

    /// [`ComputeGate::lock`], giving up after `timeout` (a worker that must also watch its own
    /// queue waits a little at a time).
    pub fn lock_timeout(&self, priority: Priority, timeout: Duration) -> Option<GateGuard> {
        let deadline = Instant::now() + timeout;
        let (state, opened) = &*self.shared;
        let mut state = lock_state(state);
        state.waiting[priority as usize] += 1;
        while !state.may_enter(priority) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                state.waiting[priority as usize] -= 1;
                drop(state);
                // Someone less urgent may have been waiting behind this caller.
                opened.notify_all();
                return None;
            }
            state = opened
                .wait_timeout(state, left)
                .map(|(state, _)| state)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
        state.waiting[priority as usize] -= 1;
        state.held = true;
        Some(GateGuard {
            shared: self.shared.clone(),
        })
    }

    /// Counts as a caller waiting at `priority` while it lives. A worker that computes in many
    /// short steps holds one between its steps, so less urgent work does not slip into the
    /// moment between one step and the next (the worker would then wait for a whole piece of
    /// it every step); more urgent callers still enter between steps. Drop it when the
    /// worker has nothing left to compute.
    pub fn claim(&self, priority: Priority) -> Claim {
        lock_state(&self.shared.0).waiting[priority as usize] += 1;
        Claim {
            shared: self.shared.clone(),
            priority,
        }
    }

    /// Keeps background work from starting a new piece until the pause is dropped. A live turn
    /// holds one from the end of an answer to the end of the reply: its transcription and
    /// reply run as many gate requests, and background work taking the gate between them
    /// would make the reply wait for a whole piece each time. Work already in progress
    /// finishes its piece.
    pub fn pause_background(&self) -> BackgroundPause {
        lock_state(&self.shared.0).pauses += 1;
        BackgroundPause {
            shared: self.shared.clone(),
        }
    }
}

/// The state is only counters changed in single statements: a panic elsewhere while it was
/// locked leaves it consistent.
fn lock_state(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::{channel, Sender};
    use std::thread::JoinHandle;

    /// A thread that takes the gate at `priority`, reports `name`, and holds it briefly.
    fn caller(
        gate: &ComputeGate,
        priority: Priority,
        name: &'static str,
        order: &Sender<&'static str>,
    ) -> JoinHandle<()> {
        let (gate, order) = (gate.clone(), order.clone());
        let handle = std::thread::spawn(move || {
            let _held = gate.lock(priority);
            order.send(name).unwrap_or(());
            std::thread::sleep(Duration::from_millis(10));
        });
        // Long enough for the thread to be waiting before the next one starts.
        std::thread::sleep(Duration::from_millis(50));
        handle
    }

    #[test]
    fn waiting_callers_enter_most_urgent_first_whatever_order_they_came_in() {
        let gate = ComputeGate::default();
        let held = gate.lock(Priority::Reply);
        let (order_tx, order_rx) = channel();
        let callers = [
            caller(&gate, Priority::Background, "background", &order_tx),
            caller(&gate, Priority::Reply, "reply", &order_tx),
            caller(&gate, Priority::Transcription, "transcription", &order_tx),
        ];
        drop(order_tx);
        drop(held);
        for handle in callers {
            handle.join().unwrap_or(());
        }
        let order: Vec<&str> = order_rx.iter().collect();
        assert_eq!(order, ["transcription", "reply", "background"]);
    }

    #[test]
    fn a_worker_stepping_in_a_loop_lets_a_more_urgent_caller_in_between_steps() {
        let gate = ComputeGate::default();
        let (order_tx, order_rx) = channel();
        let stepper = {
            let (gate, order) = (gate.clone(), order_tx.clone());
            std::thread::spawn(move || {
                for _ in 0..40 {
                    let _step = gate.lock(Priority::Reply);
                    order.send("step").unwrap_or(());
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        std::thread::sleep(Duration::from_millis(30));
        let urgent = caller(&gate, Priority::Transcription, "transcription", &order_tx);
        drop(order_tx);
        stepper.join().unwrap_or(());
        urgent.join().unwrap_or(());
        let order: Vec<&str> = order_rx.iter().collect();
        let at = order
            .iter()
            .position(|&name| name == "transcription")
            .expect("the transcription ran");
        assert!(
            at < 30,
            "the transcription waited for {at} of the stepper's 40 steps"
        );
    }

    #[test]
    fn a_claim_keeps_less_urgent_callers_out_between_steps_but_not_more_urgent_ones() {
        let gate = ComputeGate::default();
        let claim = gate.claim(Priority::Reply);
        let (order_tx, order_rx) = channel();
        // The claimant's steps run between the other callers' attempts: the gate is free
        // whenever they ask.
        let voice = caller(&gate, Priority::Voice, "voice", &order_tx);
        drop(gate.lock(Priority::Reply));
        let transcription = caller(&gate, Priority::Transcription, "transcription", &order_tx);
        drop(gate.lock(Priority::Reply));
        assert_eq!(
            order_rx.try_iter().collect::<Vec<_>>(),
            ["transcription"],
            "only the more urgent caller entered while the claim was held"
        );
        drop(claim);
        voice.join().unwrap_or(());
        transcription.join().unwrap_or(());
        assert_eq!(order_rx.recv_timeout(Duration::from_secs(5)), Ok("voice"));
    }

    #[test]
    fn background_work_waits_while_paused_even_with_the_gate_free() {
        let gate = ComputeGate::default();
        let pause = gate.pause_background();
        let (started_tx, started_rx) = channel();
        let background = {
            let gate = gate.clone();
            std::thread::spawn(move || {
                let _held = gate.lock(Priority::Background);
                started_tx.send(()).unwrap_or(());
            })
        };
        // Live work still runs during the pause.
        drop(gate.lock(Priority::Reply));
        assert!(
            started_rx.recv_timeout(Duration::from_millis(100)).is_err(),
            "background work started during a pause"
        );
        drop(pause);
        assert!(
            started_rx.recv_timeout(Duration::from_secs(5)).is_ok(),
            "background work did not start after the pause ended"
        );
        background.join().unwrap_or(());
    }

    #[test]
    fn a_timed_lock_gives_up_while_paused_and_enters_when_free() {
        let gate = ComputeGate::default();
        let pause = gate.pause_background();
        assert!(gate
            .lock_timeout(Priority::Background, Duration::from_millis(30))
            .is_none());
        // Giving up left no waiter behind: a reply still enters at once.
        drop(gate.lock(Priority::Reply));
        drop(pause);
        assert!(gate
            .lock_timeout(Priority::Background, Duration::from_millis(30))
            .is_some());
    }

    #[test]
    fn a_caller_that_panics_while_holding_the_gate_still_opens_it() {
        let gate = ComputeGate::default();
        let holder = gate.clone();
        let _ = std::thread::spawn(move || {
            let _held = holder.lock(Priority::Transcription);
            panic!("a worker panics mid-request");
        })
        .join();
        drop(gate.lock(Priority::Background));
        drop(gate.lock(Priority::Reply));
    }
}
