//! The Whisper worker: one thread owns the engine and serves every waiting transcription a
//! 30 s window at a time, the one with the fewest windows left first, so a short answer is
//! never stuck behind a long one (most answers are one window: then it is first come, first
//! served).
//!
//! Batch transcriptions (uploaded recordings) come as background jobs: one is served only when
//! no live transcription is waiting, a window at a time, and takes the compute gate at
//! background priority, so a live answer waits for at most the one window already running.
//! While the gate keeps it out (a live turn paused background work) the worker keeps watching
//! its queue, so a live request is never stuck behind a background job waiting for the gate.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::stats::{WorkerSnapshot, WorkerStats};
use super::{ComputeGate, InferenceError, Priority};
use crate::speech::whisper::{Transcript, Transcription, WhisperEngine};

struct Job {
    samples: Vec<f32>,
    /// A batch transcription: served after every live one, at background priority.
    background: bool,
    reply: oneshot::Sender<Result<Transcript, InferenceError>>,
    span: tracing::Span,
    queued_at: Instant,
}

/// A transcription under way, with what it has cost so far.
struct Active {
    job: Job,
    transcription: Transcription,
    /// From the request to its first window.
    waited: Option<Duration>,
    busy: Duration,
}

/// A handle to the speech worker thread. Cheap to clone; the thread ends when every handle
/// is dropped.
#[derive(Clone)]
pub struct SpeechWorker {
    jobs: Sender<Job>,
    stats: Arc<WorkerStats>,
    background_stats: Arc<WorkerStats>,
    capacity: usize,
}

impl SpeechWorker {
    /// Starts the worker thread, which holds at most `capacity` transcriptions (running or
    /// waiting). One warm-up pass runs first so the first real request does not pay for lazy
    /// initialisation.
    pub fn start(
        engine: WhisperEngine,
        capacity: usize,
        gate: ComputeGate,
    ) -> std::io::Result<Self> {
        let (jobs, queue) = channel::<Job>();
        let stats = Arc::new(WorkerStats::default());
        let background_stats = Arc::new(WorkerStats::default());
        let counted = Counters {
            live: stats.clone(),
            background: background_stats.clone(),
        };
        std::thread::Builder::new()
            .name("viva-speech".into())
            .spawn(move || {
                warm_up(&engine, &gate);
                serve(&engine, &gate, &counted, &queue);
            })?;
        Ok(Self {
            jobs,
            stats,
            background_stats,
            capacity: capacity.max(1),
        })
    }

    /// Transcribes 16 kHz mono samples.
    pub async fn transcribe(&self, samples: Vec<f32>) -> Result<Transcript, InferenceError> {
        if !self.stats.try_queue(self.capacity) {
            return Err(InferenceError::Busy("speech"));
        }
        self.send(samples, false, &self.stats).await
    }

    /// Transcribes 16 kHz mono samples as background work (a batch transcription's piece):
    /// after every live transcription, window by window. Not limited by the worker's capacity:
    /// the caller bounds how many it sends (the batch queue sends one piece at a time).
    pub async fn transcribe_background(
        &self,
        samples: Vec<f32>,
    ) -> Result<Transcript, InferenceError> {
        self.background_stats.queued();
        self.send(samples, true, &self.background_stats).await
    }

    async fn send(
        &self,
        samples: Vec<f32>,
        background: bool,
        stats: &WorkerStats,
    ) -> Result<Transcript, InferenceError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            samples,
            background,
            reply,
            span: tracing::Span::current(),
            queued_at: Instant::now(),
        };
        if self.jobs.send(job).is_err() {
            stats.unqueued();
            return Err(InferenceError::Stopped("speech"));
        }
        answer
            .await
            .map_err(|_| InferenceError::Stopped("speech"))?
    }
}

impl SpeechWorker {
    /// What the worker has done so far.
    pub fn stats(&self) -> WorkerSnapshot {
        self.stats.snapshot()
    }

    /// What the worker has done for batch transcriptions (background jobs).
    pub fn background_stats(&self) -> WorkerSnapshot {
        self.background_stats.snapshot()
    }
}

/// The worker's counters: live and background jobs apart.
struct Counters {
    live: Arc<WorkerStats>,
    background: Arc<WorkerStats>,
}

impl Counters {
    fn of(&self, job: &Job) -> &WorkerStats {
        if job.background {
            self.background.as_ref()
        } else {
            self.live.as_ref()
        }
    }
}

/// How long a background window waits for the gate before the worker looks at its queue again.
const BACKGROUND_POLL: Duration = Duration::from_millis(20);

/// Serves `queue` until every sender is gone and the last transcription is done.
fn serve(engine: &WhisperEngine, gate: &ComputeGate, stats: &Counters, queue: &Receiver<Job>) {
    let mut active: Vec<Active> = Vec::new();
    loop {
        if active.is_empty() {
            match queue.recv() {
                Ok(job) => active.push(Active::new(job)),
                Err(_) => return,
            }
        }
        active.extend(queue.try_iter().map(Active::new));
        // A requester that went away (cancelled) needs no transcript.
        active.retain(|a| {
            let gone = a.job.reply.is_closed();
            if gone {
                stats
                    .of(&a.job)
                    .finished(a.job.queued_at.elapsed(), a.busy, 0);
            }
            !gone
        });
        let Some(next) = next_job(&active) else {
            continue;
        };
        let active_len = active.len();
        let current = &mut active[next];
        let compute = if current.job.background {
            // Live work may come while the gate keeps this one out: look at the queue again.
            match gate.lock_timeout(Priority::Background, BACKGROUND_POLL) {
                Some(compute) => compute,
                None => continue,
            }
        } else {
            gate.lock(Priority::Transcription)
        };
        let result = current.job.span.in_scope(|| {
            let started = Instant::now();
            current
                .waited
                .get_or_insert(started - current.job.queued_at);
            let result = engine.transcribe_next_window(&mut current.transcription);
            current.busy += started.elapsed();
            tracing::debug!(
                waiting = active_len,
                background = current.job.background,
                window_ms = started.elapsed().as_millis(),
                "speech window"
            );
            result
        });
        drop(compute);
        if result.is_err() || current.transcription.is_done() {
            let done = active.remove(next);
            let waited = done.waited.unwrap_or_default();
            stats.of(&done.job).finished(waited, done.busy, 0);
            let answer = result
                .map(|()| done.transcription.finish())
                .map_err(InferenceError::from);
            let _ = done.job.reply.send(answer);
        }
    }
}

/// The transcription whose window runs next: live ones before background ones; among those,
/// the fewest windows left, and among equals the earliest (`min_by_key` keeps the first of
/// equal keys, and requests are in arrival order).
fn next_job(active: &[Active]) -> Option<usize> {
    active
        .iter()
        .enumerate()
        .min_by_key(|(_, a)| (a.job.background, a.transcription.windows_left()))
        .map(|(index, _)| index)
}

impl Active {
    fn new(mut job: Job) -> Self {
        Self {
            transcription: Transcription::new(std::mem::take(&mut job.samples)),
            job,
            waited: None,
            busy: Duration::ZERO,
        }
    }
}

fn warm_up(engine: &WhisperEngine, gate: &ComputeGate) {
    let started = Instant::now();
    let _compute = gate.lock(Priority::Transcription);
    // Loud enough to pass the silence guard, so the encoder and decoder both run once.
    let tone: Vec<f32> = (0..16_000).map(|i| 0.1 * (i as f32 * 0.05).sin()).collect();
    match engine.transcribe(&tone) {
        Ok(_) => tracing::info!(elapsed = ?started.elapsed(), "speech model warmed up"),
        Err(e) => tracing::warn!(error = %e, "speech model warm-up failed"),
    }
}
