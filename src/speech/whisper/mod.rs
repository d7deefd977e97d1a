//! Speech to text with Whisper on candle.

pub mod config;
pub mod decode;
pub mod model;
pub mod tokens;

use std::path::Path;
use std::time::{Duration, Instant};

use candle_core::{Device, Tensor};
use candle_nn::VarBuilder;
use tokenizers::Tokenizer;

use self::config::WhisperConfig;
use self::decode::{DecodeOptions, Suppression, WindowDecoder, WindowDecoding};
use self::model::WhisperModel;
use self::tokens::SpecialTokens;
use super::mel::{LogMel, MelLength, CHUNK_SAMPLES, MIN_SAMPLES, SAMPLE_RATE};
use super::SpeechError;

/// A loaded Whisper checkpoint (Hugging Face layout: config.json, tokenizer.json,
/// model.safetensors), ready to transcribe.
pub struct WhisperEngine {
    model: WhisperModel,
    tokenizer: Tokenizer,
    special: SpecialTokens,
    suppression: Suppression,
    prompt: Vec<u32>,
    device: Device,
    mel: LogMel,
    pub options: DecodeOptions,
    pub window_policy: WindowPolicy,
}

/// How much of the 30 s window the encoder sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowPolicy {
    /// Always the full 30 s window, zero-padded (what Whisper was trained on).
    Padded,
    /// Only the audio's own length: much faster on short answers, a small accuracy risk.
    AudioLength,
}

impl std::str::FromStr for WindowPolicy {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "padded" => Ok(Self::Padded),
            "audio" => Ok(Self::AudioLength),
            _ => Err("expected `padded` or `audio`".into()),
        }
    }
}

impl std::fmt::Display for WindowPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Padded => "padded",
            Self::AudioLength => "audio",
        })
    }
}

/// Windows quieter than this RMS (about −50 dBFS) hold no speech and skip the model.
pub const SILENCE_RMS: f32 = 0.003_16;

/// The text of a whole recording and where the time went.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    pub text: String,
    pub windows: usize,
    /// Windows that the audio-length policy had to decode again on the padded window.
    pub padded_retries: usize,
    pub mel_time: Duration,
    pub encode_time: Duration,
    pub decode_time: Duration,
}

/// Audio being transcribed a 30 s window at a time ([`WhisperEngine::transcribe_next_window`]).
pub struct Transcription {
    samples: Vec<f32>,
    next_window: usize,
    transcript: Transcript,
    texts: Vec<String>,
}

impl Transcription {
    /// 16 kHz mono samples to transcribe.
    pub fn new(samples: Vec<f32>) -> Self {
        Self {
            samples,
            next_window: 0,
            transcript: Transcript::default(),
            texts: Vec::new(),
        }
    }

    /// Windows still to transcribe.
    pub fn windows_left(&self) -> usize {
        self.samples.len().div_ceil(CHUNK_SAMPLES) - self.next_window
    }

    pub fn is_done(&self) -> bool {
        self.windows_left() == 0
    }

    /// The transcript of the windows done so far (all of them once [`Transcription::is_done`]).
    pub fn finish(mut self) -> Transcript {
        self.transcript.text = self.texts.join(" ");
        self.transcript
    }
}

/// What one window of features turned into.
#[derive(Debug, Clone)]
pub struct WindowTranscript {
    pub text: String,
    pub decoding: WindowDecoding,
    pub encode_time: Duration,
}

impl WhisperEngine {
    pub fn load(dir: &Path, device: &Device) -> Result<Self, SpeechError> {
        let read = |name: &str| {
            std::fs::read(dir.join(name)).map_err(|e| {
                SpeechError::Model(format!("cannot read {}: {e}", dir.join(name).display()))
            })
        };
        let config: WhisperConfig = serde_json::from_slice(&read("config.json")?).map_err(|e| {
            SpeechError::Model(format!("{}: {e}", dir.join("config.json").display()))
        })?;
        let tokenizer = Tokenizer::from_bytes(read("tokenizer.json")?).map_err(|e| {
            SpeechError::Model(format!("{}: {e}", dir.join("tokenizer.json").display()))
        })?;
        let weights = dir.join("model.safetensors");
        let vb = mmap_weights(&weights, device)?;
        let model = WhisperModel::load(vb, config.clone())?;
        let special = SpecialTokens::from_tokenizer(&tokenizer)?;
        let suppression = Suppression::new(
            &config.suppress_tokens,
            &config.begin_suppress_tokens,
            &special,
            config.vocab_size,
        );
        let mut prompt = vec![special.start_of_transcript];
        if config.is_multilingual() {
            prompt.extend(special.english);
            prompt.push(special.transcribe);
        }
        prompt.push(special.no_timestamps);
        Ok(Self {
            model,
            tokenizer,
            special,
            suppression,
            prompt,
            device: device.clone(),
            mel: LogMel::new(config.num_mel_bins)?,
            options: DecodeOptions::default(),
            window_policy: WindowPolicy::Padded,
        })
    }

    pub fn config(&self) -> &WhisperConfig {
        &self.model.config
    }

    /// Transcribes 16 kHz mono samples, 30 s at a time. Silence and noise give empty text.
    pub fn transcribe(&self, samples: &[f32]) -> Result<Transcript, SpeechError> {
        let mut transcription = Transcription::new(samples.to_vec());
        while !transcription.is_done() {
            self.transcribe_next_window(&mut transcription)?;
        }
        Ok(transcription.finish())
    }

    /// Transcribes the next 30 s window of `transcription` (a worker serves several
    /// transcriptions a window at a time, so a short answer never waits for a long one).
    pub fn transcribe_next_window(
        &self,
        transcription: &mut Transcription,
    ) -> Result<(), SpeechError> {
        let start = transcription.next_window * CHUNK_SAMPLES;
        let end = (start + CHUNK_SAMPLES).min(transcription.samples.len());
        if start >= end {
            return Ok(());
        }
        transcription.next_window += 1;
        let window = &transcription.samples[start..end];
        let transcript = &mut transcription.transcript;
        transcript.windows += 1;
        if rms(window) < SILENCE_RMS || window.len() < MIN_SAMPLES {
            return Ok(());
        }
        let mut result = self.transcribe_window(window, self.window_policy, transcript)?;
        if self.window_policy == WindowPolicy::AudioLength && !result.decoding.passed {
            // Cut short, the encoder output sometimes leaves the decoder looping; the
            // padded window it was trained on settles it.
            transcript.padded_retries += 1;
            result = self.transcribe_window(window, WindowPolicy::Padded, transcript)?;
        }
        if !result.text.is_empty() {
            transcription.texts.push(result.text);
        }
        Ok(())
    }

    fn transcribe_window(
        &self,
        window: &[f32],
        policy: WindowPolicy,
        transcript: &mut Transcript,
    ) -> Result<WindowTranscript, SpeechError> {
        let started = Instant::now();
        let length = match policy {
            WindowPolicy::Padded => MelLength::Chunk30s,
            WindowPolicy::AudioLength => MelLength::AudioOnly,
        };
        let mel = self.mel.compute(window, length)?;
        transcript.mel_time += started.elapsed();
        let result =
            self.transcribe_features(mel.data(), mel.n_frames(), token_budget(window.len()))?;
        transcript.encode_time += result.encode_time;
        transcript.decode_time += result.decoding.decode_time;
        Ok(result)
    }

    /// Encodes and decodes one window of log-mel features laid out [n_mels, frames].
    /// At most `max_tokens` tokens are produced.
    pub fn transcribe_features(
        &self,
        mel: &[f32],
        frames: usize,
        max_tokens: usize,
    ) -> Result<WindowTranscript, SpeechError> {
        let n_mels = self.model.config.num_mel_bins;
        if mel.len() != n_mels * frames
            || frames == 0
            || frames > 2 * self.model.config.max_source_positions
        {
            return Err(SpeechError::Model(format!(
                "features must be {n_mels} × 1..={} frames, got {} values for {frames} frames",
                2 * self.model.config.max_source_positions,
                mel.len()
            )));
        }
        let started = Instant::now();
        let mel = Tensor::from_slice(mel, (1, n_mels, frames), &self.device)?;
        let audio = self.model.encoder.forward(&mel)?;
        let encode_time = started.elapsed();
        let decoding = WindowDecoder {
            decoder: &self.model.decoder,
            tokenizer: &self.tokenizer,
            special: &self.special,
            suppression: &self.suppression,
            prompt: &self.prompt,
            options: &self.options,
            max_tokens,
        }
        .decode(&audio)?;
        let text = self
            .tokenizer
            .decode(&decoding.tokens, true)
            .map_err(|e| SpeechError::Model(format!("cannot decode tokens: {e}")))?
            .trim()
            .to_owned();
        Ok(WindowTranscript {
            text,
            decoding,
            encode_time,
        })
    }
}

fn mmap_weights<'a>(weights: &Path, device: &Device) -> Result<VarBuilder<'a>, SpeechError> {
    let check = std::fs::metadata(weights)
        .map_err(|e| SpeechError::Model(format!("cannot read {}: {e}", weights.display())))?;
    if check.len() == 0 {
        return Err(SpeechError::Model(format!(
            "{} is empty",
            weights.display()
        )));
    }
    #[allow(unsafe_code)]
    // The weights file is memory-mapped (no copy, shared pages); viva never writes it while
    // serving, and the fetcher replaces files by rename, which leaves existing maps intact.
    let vb =
        unsafe { VarBuilder::from_mmaped_safetensors(&[weights], WhisperModel::dtype(), device)? };
    Ok(vb)
}

/// Tokens a window of `samples` may produce: English speech runs at about 4–5 tokens a second
/// (2.5–3 words, plus punctuation); twice that plus a margin leaves room for fast talkers while
/// stopping a decoder that loops on a short clip.
pub fn token_budget(samples: usize) -> usize {
    16 + 8 * samples.div_ceil(SAMPLE_RATE)
}

fn rms(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32).sqrt()
}
