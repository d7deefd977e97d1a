//! `viva transcribe`: the speech model on WAV files, from the command line.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};

use viva::config::Settings;
use viva::inference::device::candle_device;
use viva::speech::whisper::{WhisperEngine, WindowPolicy};
use viva::speech::{audio, mel, SpeechError};

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
        let result = audio::read_wav(file)
            .map_err(SpeechError::from)
            .and_then(|samples| Ok((samples.len(), engine.transcribe(&samples)?)));
        match result {
            Ok((samples, transcript)) => {
                println!("{}\t{}", file.display(), transcript.text);
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
