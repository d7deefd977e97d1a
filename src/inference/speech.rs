//! The Whisper worker: one thread owns the engine and transcribes requests in order.

use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::time::Instant;

use tokio::sync::oneshot;

use super::{ComputeGate, InferenceError};
use crate::speech::whisper::{Transcript, WhisperEngine};

struct Job {
    samples: Vec<f32>,
    reply: oneshot::Sender<Result<Transcript, InferenceError>>,
    span: tracing::Span,
}

/// A handle to the speech worker thread. Cheap to clone; the thread ends when every handle
/// is dropped.
#[derive(Clone)]
pub struct SpeechWorker {
    jobs: SyncSender<Job>,
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
        std::thread::Builder::new()
            .name("viva-speech".into())
            .spawn(move || {
                warm_up(&engine, &gate);
                for job in queue {
                    // A requester that went away (cancelled) needs no transcript.
                    if job.reply.is_closed() {
                        continue;
                    }
                    let result = job.span.in_scope(|| {
                        let _compute = gate.lock();
                        engine.transcribe(&job.samples)
                    });
                    let _ = job.reply.send(result.map_err(InferenceError::from));
                }
            })?;
        Ok(Self { jobs })
    }

    /// Transcribes 16 kHz mono samples.
    pub async fn transcribe(&self, samples: Vec<f32>) -> Result<Transcript, InferenceError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            samples,
            reply,
            span: tracing::Span::current(),
        };
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(InferenceError::Busy("speech")),
            Err(TrySendError::Disconnected(_)) => return Err(InferenceError::Stopped("speech")),
        }
        answer
            .await
            .map_err(|_| InferenceError::Stopped("speech"))?
    }
}

fn warm_up(engine: &WhisperEngine, gate: &ComputeGate) {
    let started = Instant::now();
    let _compute = gate.lock();
    // Loud enough to pass the silence guard, so the encoder and decoder both run once.
    let tone: Vec<f32> = (0..16_000).map(|i| 0.1 * (i as f32 * 0.05).sin()).collect();
    match engine.transcribe(&tone) {
        Ok(_) => tracing::info!(elapsed = ?started.elapsed(), "speech model warmed up"),
        Err(e) => tracing::warn!(error = %e, "speech model warm-up failed"),
    }
}
