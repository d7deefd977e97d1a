//! The workers that own the models. Models run on dedicated threads, never on an actix or
//! tokio worker; requests arrive on bounded queues (a full queue is a clear "busy" error, not
//! unbounded memory) and answer on oneshot channels or streams.

pub mod device;
pub mod llm;
pub mod speech;

use std::sync::{Arc, Mutex, MutexGuard};

pub use llm::{LlmWorker, ReplyEvent, ReplyStream};
pub use speech::SpeechWorker;

use crate::config::Settings;
use crate::llm::LlmEngine;
use crate::speech::whisper::WhisperEngine;

/// Waiting transcriptions before the speech worker answers "busy".
const SPEECH_QUEUE: usize = 8;
/// Waiting replies before the LLM worker answers "busy".
const LLM_QUEUE: usize = 16;
/// Conversations whose KV caches the LLM worker keeps (within its byte budget).
const LLM_CONVERSATIONS: usize = 64;

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

/// Why the models could not be started.
#[derive(Debug, thiserror::Error)]
pub enum EnginesError {
    #[error(transparent)]
    Device(#[from] device::DeviceError),
    #[error("loading the speech model from {path}: {source}")]
    Speech {
        path: String,
        source: crate::speech::SpeechError,
    },
    #[error("loading the language model from {path}: {source}")]
    Llm {
        path: String,
        source: Box<crate::llm::LlmError>,
    },
    #[error("cannot start a model worker thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// The running model workers a live interview uses. Cheap to clone.
#[derive(Clone)]
pub struct Engines {
    pub speech: SpeechWorker,
    pub llm: LlmWorker,
}

impl Engines {
    /// Loads the configured models (memory-mapped; a second or two on a small machine) and
    /// starts their workers, which warm up on their own threads. Blocking: call it off the
    /// async runtime.
    pub fn load(settings: &Settings) -> Result<Self, EnginesError> {
        let device = device::candle_device(settings.device)?;
        let gate = ComputeGate::default();
        let whisper_dir = settings.whisper_model_dir();
        let mut whisper =
            WhisperEngine::load(&whisper_dir, &device).map_err(|source| EnginesError::Speech {
                path: whisper_dir.display().to_string(),
                source,
            })?;
        whisper.window_policy = settings.speech_window;
        let llm_file = settings.llm_model_file();
        let llm = LlmEngine::load(&llm_file, &device).map_err(|source| EnginesError::Llm {
            path: llm_file.display().to_string(),
            source: Box::new(source),
        })?;
        Ok(Self {
            speech: SpeechWorker::start(whisper, SPEECH_QUEUE, gate.clone())?,
            llm: LlmWorker::start(llm, LLM_QUEUE, LLM_CONVERSATIONS, gate)?,
        })
    }
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
