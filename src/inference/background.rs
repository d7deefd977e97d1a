//! Background model work (assessments), one piece at a time in the order it came.
//!
//! Such work computes under the compute gate behind every live turn, so under load it waits
//! for seconds, and while a live turn pauses background work it does not start at all. Run on
//! the runtime's blocking pool as it came, each waiting assessment held a pool thread: a backlog
//! of a few hundred (16 interviews for some minutes) took every thread, and the live turns'
//! own SQLite work, which runs on that pool too, then waited behind work that was waiting for
//! those turns to end. The whole server stopped. Here the backlog waits as futures, and only
//! the piece that runs holds a thread.
//!
//! The pieces are each tagged with their owner (the interview). An ended interview waits for
//! its last feedback before it says so, while the feedback of interviews still running is
//! only shown along the way: [`BackgroundQueue::hurry`] lets an owner's waiting pieces go
//! ahead of everyone else's, so the end of an interview is not late behind a backlog.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use tokio::sync::oneshot;
use tokio::task::JoinError;

use super::stats::{WorkerSnapshot, WorkerStats};

/// Runs blocking background work one piece at a time, first come first served, except that a
/// hurried owner's pieces go first. Cheap to clone.
#[derive(Clone, Default)]
pub struct BackgroundQueue {
    line: Arc<Mutex<Line>>,
    stats: Arc<WorkerStats>,
}

#[derive(Default)]
struct Line {
    running: bool,
    waiting: VecDeque<Waiting>,
    hurried: HashSet<String>,
}

struct Waiting {
    owner: String,
    go: oneshot::Sender<()>,
}

impl BackgroundQueue {
    /// Waits (without holding a thread) for the pieces queued before it, then runs `work` on
    /// the blocking pool. An error only when `work` panicked.
    ///
    /// The piece is a task of its own: a caller that stops waiting leaves it to run in its
    /// turn, so the queue's count stays right and the next piece never starts beside it.
    pub async fn run<T: Send + 'static>(
        &self,
        owner: &str,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, JoinError> {
        let (queue, owner) = (self.clone(), owner.to_owned());
        tokio::spawn(async move { queue.run_in_turn(owner, work).await }).await?
    }

    /// Lets `owner`'s waiting pieces run before anyone else's (in their own order). Nothing
    /// when none of its pieces is waiting.
    pub fn hurry(&self, owner: &str) {
        let mut line = self.lock();
        if line.waiting.iter().any(|w| w.owner == owner) {
            line.hurried.insert(owner.to_owned());
        }
    }

    /// Pieces waiting or running, done, and their waits and run times, for `/metrics`.
    pub fn stats(&self) -> WorkerSnapshot {
        self.stats.snapshot()
    }

    async fn run_in_turn<T: Send + 'static>(
        &self,
        owner: String,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, JoinError> {
        let queued_at = Instant::now();
        self.stats.queued();
        let _turn = self.take_turn(owner).await;
        let started = Instant::now();
        let result = tokio::task::spawn_blocking(work).await;
        self.stats
            .finished(started - queued_at, started.elapsed(), 0);
        result
    }

    async fn take_turn(&self, owner: String) -> Place {
        let mut place = Place {
            queue: self.clone(),
            waiting: None,
        };
        {
            let mut line = self.lock();
            if line.running {
                let (go, wait) = oneshot::channel();
                line.waiting.push_back(Waiting { owner, go });
                place.waiting = Some(wait);
            } else {
                line.running = true;
            }
        }
        if let Some(wait) = &mut place.waiting {
            // The sender is only ever consumed by sending: this is the turn.
            wait.await.ok();
        }
        place.waiting = None;
        place
    }

    /// Gives the turn to the next piece: the oldest hurried one, else the oldest.
    fn pass_turn(&self) {
        let mut guard = self.lock();
        let line = &mut *guard;
        loop {
            let next = line
                .waiting
                .iter()
                .position(|w| line.hurried.contains(&w.owner))
                .unwrap_or(0);
            let Some(next) = line.waiting.remove(next) else {
                line.running = false;
                return;
            };
            if !line.waiting.iter().any(|w| w.owner == next.owner) {
                line.hurried.remove(&next.owner);
            }
            // A piece whose task is gone (the runtime is stopping) passes the turn on.
            if next.go.send(()).is_ok() {
                return;
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Line> {
        self.line.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A piece's place in the line: waiting for the turn, then holding it. Dropped, it passes on
/// the turn it holds (however the piece ended), or one already given to it that it had not
/// taken: its task was dropped with a stopping runtime, as each test's runtime stops while the
/// engines live on. Without that the queue would stop for good.
struct Place {
    queue: BackgroundQueue,
    /// `Some` until the turn is taken.
    waiting: Option<oneshot::Receiver<()>>,
}

impl Drop for Place {
    fn drop(&mut self) {
        let holds_turn = match self.waiting.take() {
            None => true,
            Some(mut wait) => {
                wait.close();
                wait.try_recv().is_ok()
            }
        };
        if holds_turn {
            self.queue.pass_turn();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inference::{ComputeGate, Priority};
    use std::time::Duration;

    /// A runtime with as few blocking threads as a busy server has left.
    fn runtime(blocking_threads: usize) -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(blocking_threads)
            .build()
            .expect("runtime")
    }

    /// Owner "a"'s piece, running on the pool until `release` is sent; it returns `true`.
    async fn a_piece_running_until_released(
        queue: &BackgroundQueue,
    ) -> (
        std::sync::mpsc::Sender<()>,
        tokio::task::JoinHandle<Result<bool, JoinError>>,
    ) {
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let running = tokio::spawn({
            let queue = queue.clone();
            async move { queue.run("a", move || hold.recv().is_ok()).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(queue.stats().in_queue, 1, "the piece is running");
        (release, running)
    }

    #[test]
    fn a_backlog_waiting_for_the_gate_leaves_the_blocking_pool_to_other_work() {
        runtime(2).block_on(async {
            let gate = ComputeGate::default();
            let queue = BackgroundQueue::default();
            let pause = gate.pause_background();
            let backlog: Vec<_> = (0..8)
                .map(|n| {
                    let (queue, gate) = (queue.clone(), gate.clone());
                    tokio::spawn(async move {
                        queue
                            .run("interview", move || {
                                drop(gate.lock(Priority::Background));
                                n
                            })
                            .await
                    })
                })
                .collect();
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert_eq!(queue.stats().in_queue, 8);
            // What a live turn does meanwhile (SQLite runs here): it gets a thread.
            let other = tokio::time::timeout(
                Duration::from_secs(30),
                tokio::task::spawn_blocking(|| "stored"),
            )
            .await;
            assert!(
                matches!(other, Ok(Ok("stored"))),
                "other blocking work waited behind the backlog"
            );
            drop(pause);
            let mut done = Vec::new();
            for piece in backlog {
                done.push(piece.await.expect("task").expect("work"));
            }
            assert_eq!(done, (0..8).collect::<Vec<_>>(), "in the order they came");
            let stats = queue.stats();
            assert_eq!((stats.in_queue, stats.done), (0, 8));
        });
    }

    #[test]
    fn a_panicking_piece_is_an_error_and_the_queue_goes_on() {
        runtime(2).block_on(async {
            let queue = BackgroundQueue::default();
            assert!(queue.run("a", || panic!("a bad piece")).await.is_err());
            assert_eq!(queue.run("a", || 7).await.expect("the next piece runs"), 7);
        });
    }

    #[test]
    fn a_hurried_owners_pieces_go_ahead_of_the_backlog_in_their_own_order() {
        runtime(2).block_on(async {
            let queue = BackgroundQueue::default();
            let (release, running) = a_piece_running_until_released(&queue).await;
            let order = Arc::new(Mutex::new(Vec::new()));
            let mut pieces = Vec::new();
            for (owner, name) in [
                ("a", "a1"),
                ("b", "b1"),
                ("a", "a2"),
                ("b", "b2"),
                ("c", "c1"),
            ] {
                let (queue, order) = (queue.clone(), order.clone());
                pieces.push(tokio::spawn(async move {
                    queue
                        .run(owner, move || order.lock().expect("order").push(name))
                        .await
                }));
                // Each in the line before the next comes.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            queue.hurry("b");
            queue.hurry("nobody");
            release.send(()).expect("the running piece waits");
            assert!(running.await.expect("task").expect("work"));
            for piece in pieces {
                piece.await.expect("task").expect("work");
            }
            assert_eq!(
                *order.lock().expect("order"),
                ["b1", "b2", "a1", "a2", "c1"]
            );
            let line = queue.lock();
            assert!(!line.running && line.waiting.is_empty());
            assert!(
                line.hurried.is_empty(),
                "nothing left marked: {:?}",
                line.hurried
            );
        });
    }

    #[test]
    fn a_turn_given_to_a_piece_whose_runtime_stopped_is_passed_on() {
        let queue = BackgroundQueue::default();
        let main = runtime(2);
        let (release, first) = main.block_on(a_piece_running_until_released(&queue));
        // A piece from another runtime (another test's server) joins the line, and that
        // runtime is then not driven: the turn is given to it while it cannot take it.
        let other = runtime(2);
        other.block_on(async {
            let queue = queue.clone();
            tokio::spawn(async move { queue.run("b", || ()).await });
            tokio::time::sleep(Duration::from_millis(20)).await;
        });
        assert_eq!(queue.stats().in_queue, 2);
        main.block_on(async {
            release.send(()).expect("the first piece waits");
            assert!(first.await.expect("task").expect("work"));
        });
        drop(other);
        let next = main.block_on(async {
            tokio::time::timeout(Duration::from_secs(30), queue.run("c", || "ran")).await
        });
        assert!(
            matches!(next, Ok(Ok("ran"))),
            "the queue stopped behind a turn nobody took"
        );
    }

    #[test]
    fn a_caller_that_stops_waiting_leaves_its_piece_to_run_in_turn() {
        runtime(2).block_on(async {
            let queue = BackgroundQueue::default();
            let (release, first) = a_piece_running_until_released(&queue).await;
            let (ran, ran_rx) = std::sync::mpsc::channel();
            let abandoned = tokio::time::timeout(
                Duration::from_millis(50),
                queue.run("a", move || ran.send("second").is_ok()),
            )
            .await;
            assert!(
                abandoned.is_err(),
                "the second piece waits behind the first"
            );
            assert_eq!(queue.stats().in_queue, 2, "both still counted");
            assert!(ran_rx.try_recv().is_err(), "not started beside the first");
            release.send(()).expect("the first piece waits");
            assert!(first.await.expect("task").expect("work"));
            let third = queue.run("a", || "third").await.expect("work");
            assert_eq!((ran_rx.try_recv(), third), (Ok("second"), "third"));
            let stats = queue.stats();
            assert_eq!((stats.in_queue, stats.done), (0, 3));
        });
    }
}
