//! The Whisper worker: one thread owns the engine and transcribes requests in order.

use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::oneshot;

use super::stats::{WorkerSnapshot, WorkerStats};
use super::{ComputeGate, InferenceError, Priority};
use crate::speech::whisper::{Transcript, WhisperEngine};

struct Job {
    samples: Vec<f32>,
    reply: oneshot::Sender<Result<Transcript, InferenceError>>,
    span: tracing::Span,
    queued_at: Instant,
}

/// A handle to the speech worker thread. Cheap to clone; the thread ends when every handle
/// is dropped.
#[derive(Clone)]
pub struct SpeechWorker {
    jobs: SyncSender<Job>,
    stats: Arc<WorkerStats>,
}

impl SpeechWorker {
    /// Starts the worker thread with a queue of `capacity` waiting jobs. One warm-up pass runs
    /// first so the first real request does not pay for lazy initialisation.
    pub fn start(
        engine: WhisperEngine,
        capacity: usize,
        gate: ComputeGate,
    ) -> std::io::Result<Self> {
        let (jobs, queue) = sync_channel::<Job>(capacity);
        let stats = Arc::new(WorkerStats::default());
        let counted = stats.clone();
        std::thread::Builder::new()
            .name("viva-speech".into())
            .spawn(move || {
                warm_up(&engine, &gate);
                for job in queue {
                    // A requester that went away (cancelled) needs no transcript.
                    if job.reply.is_closed() {
                        counted.finished(job.queued_at.elapsed(), Default::default(), 0);
                        continue;
                    }
                    let (result, wait, busy) = job.span.in_scope(|| {
                        let _compute = gate.lock(Priority::Transcription);
                        let started = Instant::now();
                        let result = engine.transcribe(&job.samples);
                        (result, started - job.queued_at, started.elapsed())
                    });
                    counted.finished(wait, busy, 0);
                    let _ = job.reply.send(result.map_err(InferenceError::from));
                }
            })?;
        Ok(Self { jobs, stats })
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
        self.stats.queued();
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(e) => {
                self.stats.unqueued();
                return Err(match e {
                    TrySendError::Full(_) => InferenceError::Busy("speech"),
                    TrySendError::Disconnected(_) => InferenceError::Stopped("speech"),
                });
            }
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
