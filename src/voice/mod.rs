//! The interviewer's voice: text to speech, in-process. A Piper voice (a VITS model exported
//! to ONNX) run by ONNX Runtime (`piper`), fed with espeak-ng's IPA phonemes from a separate
//! process (`phonemize`), after the text was made speakable (`normalize`) and cut into
//! sentences as it streams in (`sentences`). How well it is understood is measured in `eval`.

pub mod eval;
pub mod normalize;
pub mod phonemize;
pub mod piper;
pub mod sentences;

use std::path::PathBuf;

use phonemize::Phonemizer;
use piper::PiperVoice;

#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    #[error("the voice's files: {0}")]
    Files(String),
    #[error("the phonemizer: {0}")]
    Phonemizer(String),
    #[error("ONNX Runtime: {0}")]
    Runtime(String),
}

/// Where a voice's files are (`crate::fetch::ensure_voice` puts the default ones in
/// models_dir).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceFiles {
    /// The Piper voice (`.onnx`); its config is beside it as `<model>.json`.
    pub model: PathBuf,
    /// ONNX Runtime's shared library (`libonnxruntime.so.*`).
    pub onnxruntime: PathBuf,
    /// espeak-ng's shared library, loaded by the phonemizer process only.
    pub espeak_library: PathBuf,
    /// espeak-ng's data folder (`espeak-ng-data`).
    pub espeak_data: PathBuf,
    /// The Python interpreter that runs the phonemizer process.
    pub python: String,
}

impl VoiceFiles {
    /// The voice's config: `<model>.json`, as Piper publishes them.
    pub fn config(&self) -> PathBuf {
        let mut name = self.model.clone().into_os_string();
        name.push(".json");
        PathBuf::from(name)
    }
}

/// Mono audio at the voice's sample rate, samples in -1..1.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    pub samples: Vec<f32>,
    pub sample_rate: u32,
}

impl Audio {
    pub fn duration_secs(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate.max(1))
    }

    /// 16-bit signed little-endian PCM, as the interview protocol carries it.
    pub fn to_pcm16le(&self) -> Vec<u8> {
        self.samples
            .iter()
            .flat_map(|s| ((s.clamp(-1.0, 1.0) * 32767.0).round() as i16).to_le_bytes())
            .collect()
    }
}

/// Text in, speech out: normalizes, phonemizes and runs the voice. One per worker thread
/// (the phonemizer is a child process answering one line at a time).
pub struct Synthesizer {
    phonemizer: Phonemizer,
    voice: PiperVoice,
}

impl Synthesizer {
    /// Starts the phonemizer process and loads the voice; `threads` is ONNX Runtime's
    /// intra-op thread count (0: one per CPU core).
    pub fn load(files: &VoiceFiles, threads: usize) -> Result<Self, VoiceError> {
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            threads => threads,
        };
        let voice = PiperVoice::load(&files.model, &files.config(), &files.onnxruntime, threads)?;
        let phonemizer = Phonemizer::start(files, voice.espeak_voice())?;
        Ok(Self { phonemizer, voice })
    }

    pub fn sample_rate(&self) -> u32 {
        self.voice.sample_rate()
    }

    /// The phonemes the voice will be given for `text` (normalized first).
    pub fn phonemes(&mut self, text: &str) -> Result<String, VoiceError> {
        let speakable = normalize::speakable(text);
        self.phonemizer.phonemize(&speakable)
    }

    /// Speaks phonemes from [`Synthesizer::phonemes`] (one forward pass of the voice).
    pub fn speak_phonemes(&mut self, phonemes: &str) -> Result<Audio, VoiceError> {
        self.voice.speak(phonemes)
    }

    /// Speaks `text` (a sentence or a few: each call is one forward pass of the voice).
    pub fn synthesize(&mut self, text: &str) -> Result<Audio, VoiceError> {
        let phonemes = self.phonemes(text)?;
        self.voice.speak(&phonemes)
    }
}
