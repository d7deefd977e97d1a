//! How well the voice is understood: texts spoken by the voice one sentence at a time (as a
//! live reply is), heard by viva's own Whisper, and scored by word error rate against the text
//! as written (`viva eval voice`, tests/voice.rs).
//!
//! Reference and transcript are compared as [`said_words`](crate::speech::wer::said_words):
//! numbers, symbols and initialisms count the same however they are written, but nothing
//! about how the text was normalized for the voice enters the reference, so a rule of
//! `normalize` that makes the voice say other words than the text's shows as errors.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::speech::audio::resample_to_16k;
use crate::speech::wer::said_word_errors;
use crate::speech::whisper::WhisperEngine;
use crate::speech::SpeechError;

use super::{normalize, sentences, Synthesizer, VoiceError};

/// Issue 20's targets: Whisper hears the bank's questions with at most 5% of their words wrong,
/// and the voice speaks at least ten times faster than real time on one thread.
pub const TARGET_WORD_ERROR_RATE: f64 = 0.05;
pub const TARGET_REAL_TIME_FACTOR: f64 = 0.1;

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error(transparent)]
    Voice(#[from] VoiceError),
    #[error(transparent)]
    Speech(#[from] SpeechError),
}

/// One text, spoken and heard.
#[derive(Debug, Clone, Serialize)]
pub struct Heard {
    pub id: String,
    /// As written (the reference).
    pub text: String,
    /// What the voice was given: each sentence made speakable.
    pub spoken: String,
    /// Whisper's transcript of the voice's audio.
    pub heard: String,
    /// Word errors against the reference, and the reference's words.
    pub errors: usize,
    pub words: usize,
    pub audio_seconds: f64,
    /// Normalizing, phonemizing and synthesizing every sentence.
    pub synthesis_seconds: f64,
}

impl Heard {
    pub fn word_error_rate(&self) -> f64 {
        self.errors as f64 / self.words.max(1) as f64
    }
}

/// Speaks `text` one sentence at a time, joins the audio, resamples it to 16 kHz and
/// transcribes it with `whisper`.
pub fn speak_and_hear(
    synthesizer: &mut Synthesizer,
    whisper: &WhisperEngine,
    id: &str,
    text: &str,
) -> Result<Heard, ListenError> {
    let mut samples = Vec::new();
    let mut spoken = Vec::new();
    let mut synthesis = Duration::ZERO;
    for sentence in sentences::split(text) {
        let started = Instant::now();
        let audio = synthesizer.synthesize(&sentence)?;
        synthesis += started.elapsed();
        samples.extend(audio.samples);
        spoken.push(normalize::speakable(&sentence));
    }
    let rate = synthesizer.sample_rate();
    let heard = if samples.is_empty() {
        String::new()
    } else {
        let audio = resample_to_16k(&samples, rate).map_err(SpeechError::from)?;
        whisper.transcribe(&audio)?.text.trim().to_owned()
    };
    let (errors, words) = said_word_errors(text, &heard);
    Ok(Heard {
        id: id.to_owned(),
        text: text.to_owned(),
        spoken: spoken.join(" "),
        heard,
        errors,
        words,
        audio_seconds: samples.len() as f64 / f64::from(rate.max(1)),
        synthesis_seconds: synthesis.as_secs_f64(),
    })
}

/// Every text heard, and the totals over them.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub heard: Vec<Heard>,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.heard.iter().map(|h| h.errors).sum()
    }

    pub fn words(&self) -> usize {
        self.heard.iter().map(|h| h.words).sum()
    }

    /// All errors over all reference words (not a mean of the texts' rates).
    pub fn word_error_rate(&self) -> f64 {
        self.errors() as f64 / self.words().max(1) as f64
    }

    pub fn audio_seconds(&self) -> f64 {
        self.heard.iter().map(|h| h.audio_seconds).sum()
    }

    /// Synthesis time over audio time, over all texts.
    pub fn real_time_factor(&self) -> f64 {
        let synthesis: f64 = self.heard.iter().map(|h| h.synthesis_seconds).sum();
        synthesis / self.audio_seconds().max(1e-9)
    }

    /// The `n` texts with the most errors (then the highest rate), only those with errors.
    pub fn worst(&self, n: usize) -> Vec<&Heard> {
        let mut worst: Vec<&Heard> = self.heard.iter().filter(|h| h.errors > 0).collect();
        worst.sort_by(|a, b| {
            b.errors
                .cmp(&a.errors)
                .then(b.word_error_rate().total_cmp(&a.word_error_rate()))
                .then(a.id.cmp(&b.id))
        });
        worst.truncate(n);
        worst
    }

    /// The worst `n` texts (what was written, said and heard) and the totals, as printed by
    /// `viva eval voice`.
    pub fn table(&self, n: usize) -> String {
        let mut out = String::new();
        let worst = self.worst(n);
        if !worst.is_empty() {
            out.push_str("| text | errors / words | WER |\n| --- | --- | --- |\n");
            for h in &worst {
                out.push_str(&format!(
                    "| {} | {} / {} | {:.1}% |\n",
                    h.id,
                    h.errors,
                    h.words,
                    100.0 * h.word_error_rate()
                ));
            }
            out.push('\n');
            for h in &worst {
                out.push_str(&format!(
                    "{}\n  written: {}\n  spoken:  {}\n  heard:   {}\n",
                    h.id, h.text, h.spoken, h.heard
                ));
            }
            out.push('\n');
        }
        let perfect = self.heard.iter().filter(|h| h.errors == 0).count();
        out.push_str(&format!(
            "word error rate: {:.2}% ({} errors / {} words; {perfect} of {} texts heard without an error)\n",
            100.0 * self.word_error_rate(),
            self.errors(),
            self.words(),
            self.heard.len()
        ));
        out.push_str(&format!(
            "real-time factor: {:.3} ({:.1} s of speech)\n",
            self.real_time_factor(),
            self.audio_seconds()
        ));
        out
    }
}

/// `n` of `items` (all of them when `n` is at least their number), chosen the same way every
/// time: spread evenly over them, half among those whose `text` is written unlike it is said
/// ([`written_unlike_said`]), so that a small sample of the question bank still tries the
/// normalization. In their order.
pub fn sample<T>(items: &[T], n: usize, text: impl Fn(&T) -> &str) -> Vec<&T> {
    if n >= items.len() {
        return items.iter().collect();
    }
    let (written, plain): (Vec<_>, Vec<_>) = items
        .iter()
        .enumerate()
        .partition(|(_, item)| written_unlike_said(text(item)));
    let from_written = n.div_ceil(2).min(written.len());
    let from_plain = (n - from_written).min(plain.len());
    let from_written = n - from_plain;
    let mut chosen = spread(&written, from_written);
    chosen.extend(spread(&plain, from_plain));
    chosen.sort_by_key(|(position, _)| *position);
    chosen.into_iter().map(|(_, item)| item).collect()
}

/// `n` items evenly spaced over `items`.
fn spread<T: Copy>(items: &[T], n: usize) -> Vec<T> {
    (0..n.min(items.len()))
        .map(|i| items[i * items.len() / n])
        .collect()
}

/// Whether a text has a word not written as it is said: with capitals after its first letter
/// ("API", "JavaScript"), a digit, a symbol or a hyphen ("A/B", "to-do").
pub fn written_unlike_said(text: &str) -> bool {
    text.split_whitespace().any(|word| {
        let word =
            word.trim_matches(|c: char| matches!(c, ',' | '.' | '?' | '!' | ';' | ':' | '"'));
        word.chars().skip(1).any(char::is_uppercase)
            || word
                .chars()
                .any(|c| c.is_ascii_digit() || "/+#_`()%&-@".contains(c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heard(id: &str, errors: usize, words: usize, audio: f64, synthesis: f64) -> Heard {
        Heard {
            id: id.to_owned(),
            text: String::new(),
            spoken: String::new(),
            heard: String::new(),
            errors,
            words,
            audio_seconds: audio,
            synthesis_seconds: synthesis,
        }
    }

    #[test]
    fn totals_are_over_words_and_seconds_not_means_of_texts() {
        let report = Report {
            heard: vec![
                heard("a", 1, 2, 1.0, 0.1),
                heard("b", 0, 18, 3.0, 0.3),
                heard("c", 2, 20, 4.0, 0.4),
            ],
        };
        assert_eq!((report.errors(), report.words()), (3, 40));
        assert!((report.word_error_rate() - 0.075).abs() < 1e-12);
        assert!((report.real_time_factor() - 0.1).abs() < 1e-12);
        let worst: Vec<&str> = report.worst(5).iter().map(|h| h.id.as_str()).collect();
        assert_eq!(worst, ["c", "a"]);
        assert!(report.table(1).contains("3 errors / 40 words"));
    }

    #[test]
    fn the_sample_is_fixed_spread_and_half_of_it_written_unlike_said() {
        let texts: Vec<String> = (0..40)
            .map(|i| {
                if i % 4 == 0 {
                    format!("Question {i} about an API?")
                } else {
                    "A plain question?".to_owned()
                }
            })
            .collect();
        let chosen = sample(&texts, 8, String::as_str);
        assert_eq!(chosen.len(), 8);
        let written = chosen.iter().filter(|t| written_unlike_said(t)).count();
        assert_eq!(written, 4);
        assert_eq!(chosen, sample(&texts, 8, String::as_str));
        let positions: Vec<usize> = chosen
            .iter()
            .map(|c| {
                texts
                    .iter()
                    .position(|t| std::ptr::eq(t, *c))
                    .unwrap_or(usize::MAX)
            })
            .collect();
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "in order: {positions:?}"
        );
        assert!(
            positions.last().is_some_and(|&p| p >= 30),
            "spread: {positions:?}"
        );
        assert_eq!(sample(&texts, 100, String::as_str).len(), 40);
    }

    #[test]
    fn written_unlike_said_finds_initialisms_digits_and_symbols() {
        for text in [
            "What is a REST API?",
            "Use useEffect",
            "An A/B test",
            "A to-do app",
            "Top 10",
        ] {
            assert!(written_unlike_said(text), "{text}");
        }
        assert!(!written_unlike_said(
            "Tell me about a time you helped a teammate."
        ));
    }
}
