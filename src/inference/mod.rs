//! The workers that own the models. Models run on dedicated threads, never on an actix or
//! tokio worker; requests arrive on bounded queues (a full queue is a clear "busy" error, not
//! unbounded memory) and answer on oneshot channels or streams. The sentence encoder is small
//! enough to run on the caller's blocking thread, under the same compute gate; work that calls
//! it and the judge (assessments) goes through the [`BackgroundQueue`].

pub mod background;
pub mod device;
pub mod gate;
pub mod llm;
pub mod speech;
pub mod stats;
pub mod voice;

use std::sync::{Arc, Mutex};

pub use background::BackgroundQueue;
pub use gate::{BackgroundPause, Claim, ComputeGate, GateGuard, Priority};
pub use llm::{LlmWorker, ReplyEvent, ReplyStream};
pub use speech::SpeechWorker;
pub use stats::WorkerSnapshot;
pub use voice::VoiceWorker;

use crate::config::{Settings, VoiceMode};
use crate::embedding::{EmbeddingError, Encode, SentenceEncoder};
use crate::llm::{ChatMessage, Conversation, LlmEngine, LlmError, Tokenizer};
use crate::speech::whisper::WhisperEngine;
use crate::voice::Synthesizer;

/// The judge's prompt is run this many tokens at a time (each piece under the compute gate).
const JUDGE_PIECE: usize = 16;
/// Transcriptions the speech worker holds (running or waiting) before it answers "busy": one per
/// live interview at most, so room for more interviews than a node on the CPU holds well.
const SPEECH_QUEUE: usize = 16;
/// Replies the LLM worker holds (written or waiting) before it answers "busy".
const LLM_QUEUE: usize = 32;
/// Sentences the voice worker holds (speaking or waiting) before it answers "busy": a reply
/// is a few sentences, queued as they are written.
const VOICE_QUEUE: usize = 64;
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
    #[error(transparent)]
    Voice(#[from] crate::voice::VoiceError),
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
    #[error("loading the judge model from {path}: {source}")]
    Judge {
        path: String,
        source: Box<crate::llm::LlmError>,
    },
    #[error("loading the sentence encoder from {path}: {source}")]
    Encoder {
        path: String,
        source: crate::embedding::EmbeddingError,
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
    pub encoder: SharedEncoder,
    /// `None` when `judge_model` is `none`.
    pub judge: Option<SharedJudge>,
    /// The interviewer's voice; `None` unless `voice` is `local` and the voice could start
    /// (the page then falls back to the browser's voice).
    pub voice: Option<VoiceWorker>,
    /// The gate every model above computes under; a live turn pauses background work with it.
    pub gate: ComputeGate,
    /// Where assessments wait their turn to use the encoder and the judge.
    pub background: BackgroundQueue,
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
        let encoder_dir = settings.encoder_model_dir();
        let encoder = SentenceEncoder::load(&encoder_dir, &device).map_err(|source| {
            EnginesError::Encoder {
                path: encoder_dir.display().to_string(),
                source,
            }
        })?;
        let judge = match settings.judge_model_file() {
            Some(file) => Some(
                LlmEngine::load(&file, &device)
                    .map(|engine| SharedJudge::new(engine, gate.clone()))
                    .map_err(|source| EnginesError::Judge {
                        path: file.display().to_string(),
                        source: Box::new(source),
                    })?,
            ),
            None => None,
        };
        let voice = match settings.voice {
            VoiceMode::Local => start_voice(settings, &gate),
            VoiceMode::Browser | VoiceMode::Off => None,
        };
        Ok(Self {
            judge,
            voice,
            encoder: SharedEncoder::new(encoder, gate.clone()),
            speech: SpeechWorker::start(whisper, SPEECH_QUEUE, gate.clone())?,
            llm: LlmWorker::start(llm, LLM_QUEUE, LLM_CONVERSATIONS, gate.clone())?,
            gate,
            background: BackgroundQueue::default(),
        })
    }
}

/// The interviewer's voice, or `None` (logged) when it cannot start: a server without its
/// voice still interviews, with the browser's voice.
fn start_voice(settings: &Settings, gate: &ComputeGate) -> Option<VoiceWorker> {
    let files = settings.voice_files();
    let started = Synthesizer::load(&files, settings.voice_threads)
        .map_err(|e| e.to_string())
        .and_then(|synthesizer| {
            VoiceWorker::start(synthesizer, VOICE_QUEUE, gate.clone()).map_err(|e| e.to_string())
        });
    match started {
        Ok(worker) => Some(worker),
        Err(error) => {
            tracing::warn!(
                model = %files.model.display(), %error,
                "the interviewer's voice cannot run; pages use the browser's voice \
                 (`viva models fetch` gets the voice; VIVA_VOICE=browser silences this)"
            );
            None
        }
    }
}

/// The sentence encoder, shared by every assessment (its forward pass only reads). Each text
/// takes the compute gate on its own: a text is a few milliseconds, so a follow-up that wants
/// the gate waits for one text, not for a whole assessment.
#[derive(Clone)]
pub struct SharedEncoder {
    encoder: Arc<SentenceEncoder>,
    gate: ComputeGate,
}

impl SharedEncoder {
    pub fn new(encoder: SentenceEncoder, gate: ComputeGate) -> Self {
        Self {
            encoder: Arc::new(encoder),
            gate,
        }
    }
}

impl Encode for SharedEncoder {
    fn encode(&self, text: &str) -> Result<Vec<f32>, EmbeddingError> {
        let _compute = self.gate.lock(Priority::Background);
        self.encoder.encode(text)
    }
}

/// The judge model (it checks an answer's rubric points, `crate::interview::feedback::judge`)
/// with one conversation, whose cache keeps the current answer's prefix. Shared by every
/// assessment: they take turns, and each request takes the compute gate on its own, behind any
/// transcription or reply that is waiting for it.
#[derive(Clone)]
pub struct SharedJudge {
    engine: LlmEngine,
    conversation: Arc<Mutex<Conversation>>,
    gate: ComputeGate,
}

impl SharedJudge {
    pub fn new(engine: LlmEngine, gate: ComputeGate) -> Self {
        Self {
            conversation: Arc::new(Mutex::new(engine.new_conversation())),
            engine,
            gate,
        }
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        self.engine.tokenizer()
    }

    /// [`LlmEngine::next_token_logits`] as background work, run [`JUDGE_PIECE`] tokens at a
    /// time with the compute gate taken for each piece, so live work waits for one piece at most.
    pub fn next_token_logits(&self, messages: &[ChatMessage]) -> Result<Vec<f32>, LlmError> {
        let prompt = self.engine.render(messages)?;
        let mut conversation = self
            .conversation
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let cached = conversation
            .cached_prefix_of(&prompt)
            .min(prompt.len().saturating_sub(1));
        let mut end = cached;
        loop {
            end = (end + JUDGE_PIECE).min(prompt.len());
            let _compute = self.gate.lock(Priority::Background);
            let started = std::time::Instant::now();
            let logits = self
                .engine
                .next_token_logits_of(&mut conversation, &prompt[..end])?;
            tracing::debug!(piece_ms = started.elapsed().as_millis(), "judge piece");
            if end == prompt.len() {
                return Ok(logits);
            }
        }
    }
}
