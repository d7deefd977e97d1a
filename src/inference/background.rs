//! Background model work (assessments), one piece at a time in the order it came.
//!
//! Such work computes under the compute gate behind every live turn, so under load it waits
//! for seconds, and while a live turn pauses background work it does not start at all. Run on
//! the runtime's blocking pool as it came, each waiting assessment held a pool thread: a backlog
//! of a few hundred (16 interviews for some minutes) took every thread, and the live turns'
//! own SQLite work, which runs on that pool too, then waited behind work that was waiting for
//! those turns to end. The whole server stopped. Here the backlog waits as futures, and only
//! the piece that runs holds a thread.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;
use tokio::task::JoinError;

use super::stats::{WorkerSnapshot, WorkerStats};

/// Runs blocking background work one piece at a time, first come first served. Cheap to clone.
#[derive(Clone)]
pub struct BackgroundQueue {
    turn: Arc<Semaphore>,
    stats: Arc<WorkerStats>,
}

impl Default for BackgroundQueue {
    fn default() -> Self {
        Self {
            turn: Arc::new(Semaphore::new(1)),
            stats: Arc::default(),
        }
    }
}

impl BackgroundQueue {
    /// Waits (without holding a thread) for the pieces queued before it, then runs `work` on
    /// the blocking pool. An error only when `work` panicked.
    ///
    /// The piece is a task of its own: a caller that stops waiting leaves it to run in its
    /// turn, so the queue's count stays right and the next piece never starts beside it.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, JoinError> {
        let queue = self.clone();
        tokio::spawn(async move { queue.run_in_turn(work).await }).await?
    }

    async fn run_in_turn<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, JoinError> {
        let queued_at = Instant::now();
        self.stats.queued();
        // Never closed, so always a permit.
        let _turn = self.turn.acquire().await.ok();
        let started = Instant::now();
        let result = tokio::task::spawn_blocking(work).await;
        self.stats
            .finished(started - queued_at, started.elapsed(), 0);
        result
    }

    /// Pieces waiting or running, done, and their waits and run times, for `/metrics`.
    pub fn stats(&self) -> WorkerSnapshot {
        self.stats.snapshot()
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
                            .run(move || {
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
            assert!(queue.run(|| panic!("a bad piece")).await.is_err());
            assert_eq!(queue.run(|| 7).await.expect("the next piece runs"), 7);
        });
    }

    #[test]
    fn a_caller_that_stops_waiting_leaves_its_piece_to_run_in_turn() {
        runtime(2).block_on(async {
            let queue = BackgroundQueue::default();
            let (release, hold) = std::sync::mpsc::channel::<()>();
            let first = tokio::spawn({
                let queue = queue.clone();
                async move { queue.run(move || hold.recv().is_ok()).await }
            });
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert_eq!(queue.stats().in_queue, 1, "the first piece is running");
            let (ran, ran_rx) = std::sync::mpsc::channel();
            let abandoned = tokio::time::timeout(
                Duration::from_millis(50),
                queue.run(move || ran.send("second").is_ok()),
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
            let third = queue.run(|| "third").await.expect("work");
            assert_eq!((ran_rx.try_recv(), third), (Ok("second"), "third"));
            let stats = queue.stats();
            assert_eq!((stats.in_queue, stats.done), (0, 3));
        });
    }
}
