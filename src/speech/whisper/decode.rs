//! Turning one window of log-mel features into text: greedy decoding with Whisper's token
//! suppression, guards that keep silence and noise from becoming words, and temperature
//! fallback when the output repeats itself or the model is unsure.

use std::io::Write;
use std::time::{Duration, Instant};

use candle_core::{IndexOp, Tensor};
use rand::{rngs::StdRng, Rng, SeedableRng};

use tokenizers::Tokenizer;

use super::model::{Decoder, DecoderCache};
use super::tokens::SpecialTokens;
use crate::speech::SpeechError;

/// Decoding thresholds; the defaults are the reference implementation's.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// A window whose no-speech probability exceeds this, with a low average log-probability,
    /// is silence.
    pub no_speech_threshold: f32,
    /// Below this average log-probability the result is retried at a higher temperature.
    pub logprob_threshold: f32,
    /// Above this zlib compression ratio the text is repetitive and is retried.
    pub compression_ratio_threshold: f32,
    /// Temperatures tried in order: 0 is greedy.
    pub temperatures: Vec<f32>,
    /// Upper bound on tokens produced for one window.
    pub max_tokens: usize,
    /// Seed for sampling at temperatures above 0, so results are reproducible.
    pub seed: u64,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            no_speech_threshold: 0.6,
            logprob_threshold: -1.0,
            compression_ratio_threshold: 2.4,
            temperatures: vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
            max_tokens: 224,
            seed: 0,
        }
    }
}

/// The decoding of one window.
#[derive(Debug, Clone)]
pub struct WindowDecoding {
    pub tokens: Vec<u32>,
    pub avg_logprob: f32,
    pub no_speech_prob: f32,
    pub temperature: f32,
    pub compression_ratio: f32,
    /// The guards judged this window to hold no speech; `tokens` is then empty.
    pub silent: bool,
    /// Some temperature produced text that met the log-probability and compression guards
    /// without running out of tokens; false means the text is the least bad of the attempts.
    pub passed: bool,
    pub decode_time: Duration,
}

/// Logit adjustments applied before choosing each token.
pub struct Suppression {
    /// Ids never produced.
    always: Vec<u32>,
    /// Ids never produced as the first token.
    at_start: Vec<u32>,
}

impl Suppression {
    pub fn new(
        config_suppress: &[u32],
        begin_suppress: &[u32],
        special: &SpecialTokens,
        vocab: usize,
    ) -> Self {
        let mut always: Vec<u32> = config_suppress.to_vec();
        always.extend(&special.always_suppressed);
        always.extend(special.timestamp_begin..vocab as u32);
        always.sort_unstable();
        always.dedup();
        Self {
            always,
            at_start: begin_suppress.to_vec(),
        }
    }

    fn apply(&self, logits: &mut [f32], first: bool) {
        let ids = self.always.iter().chain(if first {
            self.at_start.iter()
        } else {
            [].iter()
        });
        for &id in ids {
            if let Some(l) = logits.get_mut(id as usize) {
                *l = f32::NEG_INFINITY;
            }
        }
    }
}

pub struct WindowDecoder<'a> {
    pub decoder: &'a Decoder,
    pub tokenizer: &'a Tokenizer,
    pub special: &'a SpecialTokens,
    pub suppression: &'a Suppression,
    pub prompt: &'a [u32],
    pub options: &'a DecodeOptions,
    /// The most tokens this window may produce (from its audio length; see
    /// [`super::token_budget`]).
    pub max_tokens: usize,
}

impl WindowDecoder<'_> {
    /// Decodes `audio` (encoder output for one window), with temperature fallback.
    pub fn decode(&self, audio: &Tensor) -> Result<WindowDecoding, SpeechError> {
        let started = Instant::now();
        let mut rng = StdRng::seed_from_u64(self.options.seed);
        let mut best: Option<WindowDecoding> = None;
        for &temperature in &self.options.temperatures {
            let mut attempt = self.decode_at(audio, temperature, &mut rng)?;
            let silent = attempt.no_speech_prob > self.options.no_speech_threshold
                && attempt.avg_logprob < self.options.logprob_threshold;
            if silent {
                attempt.tokens.clear();
                attempt.silent = true;
                attempt.passed = true;
                best = Some(attempt);
                break;
            }
            attempt.passed = attempt.passed
                && attempt.compression_ratio <= self.options.compression_ratio_threshold
                && attempt.avg_logprob >= self.options.logprob_threshold;
            if attempt.passed {
                best = Some(attempt);
                break;
            }
            // Keep the least-bad attempt in case none passes.
            if best
                .as_ref()
                .is_none_or(|b| attempt.avg_logprob > b.avg_logprob)
            {
                best = Some(attempt);
            }
        }
        let mut result =
            best.ok_or_else(|| SpeechError::Model("no decoding temperatures configured".into()))?;
        result.decode_time = started.elapsed();
        Ok(result)
    }

    fn decode_at(
        &self,
        audio: &Tensor,
        temperature: f32,
        rng: &mut StdRng,
    ) -> Result<WindowDecoding, SpeechError> {
        let mut cache: DecoderCache = self.decoder.new_cache(audio)?;
        let prompt = Tensor::new(self.prompt, audio.device())?.unsqueeze(0)?;
        let logits = self.decoder.forward(&prompt, &mut cache)?;
        // The no-speech probability is read at the start-of-transcript position.
        let at_start: Vec<f32> = logits.i((0, 0))?.to_vec1()?;
        let no_speech_prob = softmax_at(&at_start, self.special.no_speech as usize);
        let mut next: Vec<f32> = logits.i((0, self.prompt.len() - 1))?.to_vec1()?;

        let budget = self.max_tokens.min(self.options.max_tokens).min(
            self.decoder
                .max_positions()
                .saturating_sub(self.prompt.len() + 1),
        );
        let mut tokens = Vec::new();
        let mut sum_logprob = 0.0f32;
        loop {
            self.suppression.apply(&mut next, tokens.is_empty());
            let token = if temperature > 0.0 {
                sample(&next, temperature, rng)
            } else {
                argmax(&next)
            };
            sum_logprob += log_softmax_at(&next, token);
            if token as u32 == self.special.end_of_text {
                break;
            }
            tokens.push(token as u32);
            if tokens.len() >= budget {
                break;
            }
            let input = Tensor::new(&[token as u32], audio.device())?.unsqueeze(0)?;
            next = self
                .decoder
                .forward(&input, &mut cache)?
                .i((0, 0))?
                .to_vec1()?;
        }
        let out_of_tokens = tokens.len() >= budget;
        let avg_logprob = sum_logprob / (tokens.len() + 1) as f32;
        let text = self
            .tokenizer
            .decode(&tokens, true)
            .map_err(|e| SpeechError::Model(format!("cannot decode tokens: {e}")))?;
        Ok(WindowDecoding {
            compression_ratio: compression_ratio(&text),
            tokens,
            avg_logprob,
            no_speech_prob,
            temperature,
            silent: false,
            passed: !out_of_tokens,
            decode_time: Duration::ZERO,
        })
    }
}

fn argmax(logits: &[f32]) -> usize {
    logits
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &l)| {
            if l > best.1 {
                (i, l)
            } else {
                best
            }
        })
        .0
}

fn log_sum_exp(logits: &[f32]) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    max + logits.iter().map(|l| (l - max).exp()).sum::<f32>().ln()
}

fn log_softmax_at(logits: &[f32], i: usize) -> f32 {
    logits[i] - log_sum_exp(logits)
}

fn softmax_at(logits: &[f32], i: usize) -> f32 {
    log_softmax_at(logits, i).exp()
}

fn sample(logits: &[f32], temperature: f32, rng: &mut StdRng) -> usize {
    let scaled: Vec<f32> = logits.iter().map(|l| l / temperature).collect();
    let norm = log_sum_exp(&scaled);
    let mut threshold: f32 = rng.gen();
    for (i, l) in scaled.iter().enumerate() {
        threshold -= (l - norm).exp();
        if threshold <= 0.0 {
            return i;
        }
    }
    argmax(logits)
}

/// How well the text compresses with zlib: repetitive output (a model stuck in a loop)
/// compresses far better than real speech.
pub fn compression_ratio(text: &str) -> f32 {
    if text.is_empty() {
        return 0.0;
    }
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    if encoder.write_all(text.as_bytes()).is_err() {
        return 0.0;
    }
    match encoder.finish() {
        Ok(compressed) if !compressed.is_empty() => text.len() as f32 / compressed.len() as f32,
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repetitive_text_compresses_past_the_fallback_threshold() {
        let speech = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.";
        let looped = "I don't know. ".repeat(12);
        assert!(
            compression_ratio(speech) < 2.4,
            "{}",
            compression_ratio(speech)
        );
        assert!(
            compression_ratio(&looped) > 2.4,
            "{}",
            compression_ratio(&looped)
        );
        assert_eq!(compression_ratio(""), 0.0);
    }

    #[test]
    fn softmax_helpers_agree() {
        let logits = [1.0f32, 2.0, 3.0];
        let total: f32 = (0..3).map(|i| softmax_at(&logits, i)).sum();
        assert!((total - 1.0).abs() < 1e-6);
        assert_eq!(argmax(&logits), 2);
    }

    #[test]
    fn zero_temperature_would_be_greedy_and_sampling_is_seeded() {
        let logits = [0.0f32, 5.0, 0.0, 1.0];
        let mut a = StdRng::seed_from_u64(7);
        let mut b = StdRng::seed_from_u64(7);
        let xs: Vec<usize> = (0..20).map(|_| sample(&logits, 1.0, &mut a)).collect();
        let ys: Vec<usize> = (0..20).map(|_| sample(&logits, 1.0, &mut b)).collect();
        assert_eq!(xs, ys);
        assert!(xs.iter().filter(|&&x| x == 1).count() > 10);
    }
}
