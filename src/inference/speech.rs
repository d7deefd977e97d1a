//! The Whisper worker: one thread owns the engine and serves every waiting transcription a
//! 30 s window at a time, the one with the fewest windows left first, so a short answer is
//! never stuck behind a long one (most answers are one window: then it is first come, first
//! served).

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::stats::{WorkerSnapshot, WorkerStats};
use super::{ComputeGate, InferenceError, Priority};
use crate::speech::whisper::{Transcript, Transcription, WhisperEngine};

struct Job {
    samples: Vec<f32>,
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
        let counted = stats.clone();
        std::thread::Builder::new()
            .name("viva-speech".into())
            .spawn(move || {
                warm_up(&engine, &gate);
                serve(&engine, &gate, &counted, &queue);
            })?;
        Ok(Self {
            jobs,
            stats,
            capacity: capacity.max(1),
        })
    }

    /// Transcribes 16 kHz mono samples.
    pub async fn transcribe(&self, samples: Vec<f32>) -> Result<Transcript, InferenceError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            samples,
            reply,
            span: tracing::Span::current(),
            queued_at: Instant::now(),
        };
        if !self.stats.try_queue(self.capacity) {
            return Err(InferenceError::Busy("speech"));
        }
        if self.jobs.send(job).is_err() {
            self.stats.unqueued();
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
}

/// Serves `queue` until every sender is gone and the last transcription is done.
fn serve(engine: &WhisperEngine, gate: &ComputeGate, stats: &WorkerStats, queue: &Receiver<Job>) {
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
                stats.finished(a.job.queued_at.elapsed(), a.busy, 0);
            }
            !gone
        });
        // The fewest windows left goes first; among equals, the earliest (`min_by_key` keeps
        // the first of equal keys, and requests are in arrival order).
        let Some(next) = active
            .iter()
            .enumerate()
            .min_by_key(|(_, a)| a.transcription.windows_left())
            .map(|(index, _)| index)
        else {
            continue;
        };
        let active_len = active.len();
        let current = &mut active[next];
        let result = current.job.span.in_scope(|| {
            let _compute = gate.lock(Priority::Transcription);
            let started = Instant::now();
            current
                .waited
                .get_or_insert(started - current.job.queued_at);
            let result = engine.transcribe_next_window(&mut current.transcription);
            current.busy += started.elapsed();
            tracing::debug!(
                waiting = active_len,
                window_ms = started.elapsed().as_millis(),
                "speech window"
            );
            result
        });
        if result.is_err() || current.transcription.is_done() {
            let done = active.remove(next);
            let waited = done.waited.unwrap_or_default();
            stats.finished(waited, done.busy, 0);
            let answer = result
                .map(|()| done.transcription.finish())
                .map_err(InferenceError::from);
            let _ = done.job.reply.send(answer);
        }
    }
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
