//! `viva transcribe`: the speech model on recordings (WAV, FLAC, MP3, Ogg Vorbis/Opus, WebM),
//! from the command line. A recording longer than one 30 s window is cut at its silences
//! (as batch transcription does) and its segments are printed with their times.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};

use viva::config::Settings;
use viva::inference::device::candle_device;
use viva::speech::segment::{split_at_silences, MAX_PIECE};
use viva::speech::whisper::{Transcript, WhisperEngine, WindowPolicy};
use viva::speech::{decode, mel, SpeechError};

pub fn run(settings: &Settings, files: &[PathBuf], window: Option<&str>) -> anyhow::Result<()> {
    let window = match window {
        Some(text) => text
            .parse::<WindowPolicy>()
            .map_err(|e| anyhow::anyhow!("--window {text}: {e}"))?,
        None => settings.speech_window,
    };
    let device = candle_device(settings.device)?;
    let model_dir = settings.whisper_model_dir();
    let started = Instant::now();
    let mut engine = WhisperEngine::load(&model_dir, &device)
        .with_context(|| format!("loading the speech model from {}", model_dir.display()))?;
    engine.window_policy = window;
    eprintln!(
        "loaded {} in {:.2} s ({window} window)",
        model_dir.display(),
        started.elapsed().as_secs_f64()
    );
    let mut failed = 0;
    for file in files {
        let started = Instant::now();
        let result = decode::read_file(file, settings.transcription_max_duration)
            .map_err(SpeechError::from)
            .and_then(|decoded| transcribe(&engine, &decoded.samples));
        match result {
            Ok((samples, transcript, segments)) => {
                println!("{}\t{}", file.display(), transcript.text);
                if segments.len() > 1 {
                    for (start, end, text) in &segments {
                        println!("  [{} → {}] {text}", clock(*start), clock(*end));
                    }
                }
                let audio_s = samples as f64 / mel::SAMPLE_RATE as f64;
                let total = started.elapsed().as_secs_f64();
                eprintln!(
                    "{}: {audio_s:.1} s of audio in {total:.2} s (mel {:.0} ms, encoder {:.0} ms, decoder {:.0} ms; {:.1}× real time)",
                    file.display(),
                    transcript.mel_time.as_secs_f64() * 1e3,
                    transcript.encode_time.as_secs_f64() * 1e3,
                    transcript.decode_time.as_secs_f64() * 1e3,
                    audio_s / total.max(1e-9),
                );
            }
            Err(e) => {
                failed += 1;
                eprintln!("{}: error: {e}", file.display());
            }
        }
    }
    if failed > 0 {
        bail!(
            "{failed} of {} file(s) could not be transcribed",
            files.len()
        );
    }
    Ok(())
}

/// A start time, end time and text for each piece with words in it.
type Segments = Vec<(f64, f64, String)>;

/// The whole recording's transcript (times added up over its pieces) and its segments. Audio
/// without speech gives an empty transcript.
fn transcribe(
    engine: &WhisperEngine,
    samples: &[f32],
) -> Result<(usize, Transcript, Segments), SpeechError> {
    let mut total = Transcript::default();
    let mut segments = Vec::new();
    for piece in split_at_silences(samples, MAX_PIECE) {
        let transcript = engine.transcribe(&samples[piece.range.clone()])?;
        total.windows += transcript.windows;
        total.padded_retries += transcript.padded_retries;
        total.mel_time += transcript.mel_time;
        total.encode_time += transcript.encode_time;
        total.decode_time += transcript.decode_time;
        let text = transcript.text.trim();
        if !text.is_empty() {
            segments.push((piece.start_seconds(), piece.end_seconds(), text.to_owned()));
        }
    }
    total.text = segments
        .iter()
        .map(|(_, _, text)| text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    Ok((samples.len(), total, segments))
}

/// Seconds as `m:ss.s`.
fn clock(seconds: f64) -> String {
    let tenths = (seconds * 10.0).round() as u64;
    format!("{}:{:02}.{}", tenths / 600, tenths / 10 % 60, tenths % 10)
}
