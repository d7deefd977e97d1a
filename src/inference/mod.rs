//! The workers that own the models. Models run on dedicated threads, never on an actix or
//! tokio worker; requests arrive on bounded queues (a full queue is a clear "busy" error, not
//! unbounded memory) and answer on oneshot channels or streams.

pub mod device;
pub mod llm;
pub mod speech;

use std::sync::{Arc, Mutex, MutexGuard};

pub use llm::{LlmWorker, ReplyEvent, ReplyStream};
pub use speech::SpeechWorker;

#[derive(Debug, thiserror::Error)]
pub enum InferenceError {
    #[error("the {0} worker is busy; try again shortly")]
    Busy(&'static str),
    #[error("the {0} worker has stopped")]
    Stopped(&'static str),
    #[error("the request was cancelled")]
    Cancelled,
    #[error(transparent)]
    Speech(#[from] crate::speech::SpeechError),
    #[error(transparent)]
    Llm(#[from] crate::llm::LlmError),
}

/// Lets one model compute at a time. candle's CPU kernels use every core; Whisper and the LLM
/// running at once on a small machine thrash each other's threads (measured in BENCHMARKS.md),
/// so the workers take turns.
#[derive(Clone, Default)]
pub struct ComputeGate(Arc<Mutex<()>>);

impl ComputeGate {
    pub fn lock(&self) -> MutexGuard<'_, ()> {
        // A poisoned gate only means another worker panicked mid-request; the gate guards no data.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
