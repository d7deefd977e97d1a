//! What each model worker has done, counted with atomics and read at scrape time (`/metrics`):
//! requests waiting or running, requests finished, the time they waited in the queue and the
//! time they computed, and, for the language model, tokens written, the batched steps that
//! wrote them (their count and the replies in each: the average batch size) and the prompt
//! tokens those steps ran (what caching prompts saves shows here).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Debug, Default)]
pub struct WorkerStats {
    in_queue: AtomicU64,
    done: AtomicU64,
    wait_micros: AtomicU64,
    busy_micros: AtomicU64,
    tokens: AtomicU64,
    steps: AtomicU64,
    step_rows: AtomicU64,
    prompt_tokens: AtomicU64,
}

/// A worker's counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WorkerSnapshot {
    /// Requests queued or running now.
    pub in_queue: u64,
    /// Requests finished (answered, failed or cancelled).
    pub done: u64,
    /// Time finished requests waited before their work began, in total.
    pub wait: Duration,
    /// Time the worker computed, in total.
    pub busy: Duration,
    /// Tokens written (language model only).
    pub tokens: u64,
    /// Batched steps run (language model only).
    pub steps: u64,
    /// Replies advanced by those steps, in total (language model only).
    pub step_rows: u64,
    /// Prompt tokens those steps ran (not those taken from a cache; language model only).
    pub prompt_tokens: u64,
}

impl WorkerStats {
    pub fn queued(&self) {
        self.in_queue.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request in unless `limit` requests are already queued or running.
    pub fn try_queue(&self, limit: usize) -> bool {
        let limit = u64::try_from(limit).unwrap_or(u64::MAX);
        self.in_queue
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < limit).then_some(n + 1)
            })
            .is_ok()
    }

    /// A queued request was not accepted after all (the queue was full).
    pub fn unqueued(&self) {
        self.in_queue.fetch_sub(1, Ordering::Relaxed);
    }

    /// A request finished after waiting `wait` and computing for `busy`, writing `tokens`.
    pub fn finished(&self, wait: Duration, busy: Duration, tokens: u64) {
        self.in_queue.fetch_sub(1, Ordering::Relaxed);
        self.done.fetch_add(1, Ordering::Relaxed);
        self.wait_micros.fetch_add(micros(wait), Ordering::Relaxed);
        self.busy_micros.fetch_add(micros(busy), Ordering::Relaxed);
        self.tokens.fetch_add(tokens, Ordering::Relaxed);
    }

    /// A batched step advanced `rows` requests, running `prompt_tokens` of their prompts and
    /// computing for `busy`.
    pub fn stepped(&self, rows: usize, prompt_tokens: usize, busy: Duration) {
        self.steps.fetch_add(1, Ordering::Relaxed);
        self.step_rows
            .fetch_add(u64::try_from(rows).unwrap_or(u64::MAX), Ordering::Relaxed);
        self.prompt_tokens.fetch_add(
            u64::try_from(prompt_tokens).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.busy_micros.fetch_add(micros(busy), Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> WorkerSnapshot {
        WorkerSnapshot {
            in_queue: self.in_queue.load(Ordering::Relaxed),
            done: self.done.load(Ordering::Relaxed),
            wait: Duration::from_micros(self.wait_micros.load(Ordering::Relaxed)),
            busy: Duration::from_micros(self.busy_micros.load(Ordering::Relaxed)),
            tokens: self.tokens.load(Ordering::Relaxed),
            steps: self.steps.load(Ordering::Relaxed),
            step_rows: self.step_rows.load(Ordering::Relaxed),
            prompt_tokens: self.prompt_tokens.load(Ordering::Relaxed),
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_counts_while_queued_and_adds_its_times_when_done() {
        let stats = WorkerStats::default();
        stats.queued();
        stats.queued();
        stats.unqueued();
        assert_eq!(stats.snapshot().in_queue, 1);
        stats.finished(Duration::from_millis(30), Duration::from_millis(200), 12);
        let s = stats.snapshot();
        assert_eq!((s.in_queue, s.done, s.tokens), (0, 1, 12));
        assert_eq!(s.wait, Duration::from_millis(30));
        assert_eq!(s.busy, Duration::from_millis(200));
    }

    #[test]
    fn a_limit_refuses_requests_past_it_and_steps_add_up_to_batch_sizes() {
        let stats = WorkerStats::default();
        assert!(stats.try_queue(2) && stats.try_queue(2));
        assert!(!stats.try_queue(2), "a third request past a limit of 2");
        stats.finished(Duration::ZERO, Duration::ZERO, 5);
        assert!(stats.try_queue(2), "room again after one finished");
        stats.stepped(3, 64, Duration::from_millis(10));
        stats.stepped(1, 0, Duration::from_millis(5));
        let s = stats.snapshot();
        assert_eq!((s.in_queue, s.steps, s.step_rows), (2, 2, 4));
        assert_eq!(s.prompt_tokens, 64);
        assert_eq!(s.busy, Duration::from_millis(15));
    }
}
