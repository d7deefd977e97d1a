//! Whisper on real weights (fetched once by the same code `viva models fetch` uses) and real
//! speech: word error rates on recorded read speech, silence and noise stay empty.

mod support;

use std::path::{Path, PathBuf};

use candle_core::Device;
use viva::speech::audio::read_wav;
use viva::speech::wer::{word_error_rate, word_errors};
use viva::speech::whisper::{WhisperEngine, WindowPolicy};

fn engine(policy: WindowPolicy) -> WhisperEngine {
    let models = support::test_models().expect("fetching the default models for tests");
    let mut engine =
        WhisperEngine::load(&models.whisper_dir, &Device::Cpu).expect("loading Whisper");
    engine.window_policy = policy;
    engine
}

const JFK: &str =
    "And so my fellow Americans, ask not what your country can do for you, ask what you can do \
                   for your country.";

fn transcribe(engine: &WhisperEngine, path: &Path) -> String {
    let samples = read_wav(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    engine
        .transcribe(&samples)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .text
}

/// Every recording with a transcript: LibriVox read speech, the "cards" and "go forward"
/// recordings (empty after a loud SKIPPED line, or a failure under CI, when they cannot be had).
fn corpus() -> Vec<(PathBuf, &'static str)> {
    let mut files = support::librivox();
    files.extend(support::cards());
    files.extend(support::goforward());
    files
}

#[test]
fn jfk_is_transcribed_word_for_word() {
    let Some(jfk) = support::jfk() else {
        support::unavailable("jfk.wav from the npm package nodejs-whisper");
        return;
    };
    for policy in [WindowPolicy::Padded, WindowPolicy::AudioLength] {
        let text = transcribe(&engine(policy), &jfk);
        let wer = word_error_rate(JFK, &text);
        // tiny.en gets this clip exactly right in the reference implementation; one word of
        // slack (1/22) keeps the test about "works", not about an exact tie with it.
        assert!(wer <= 0.05, "{policy} window: WER {wer:.3} for {text:?}");
    }
}

/// Whisper tiny.en's published word error rate on LibriSpeech test-clean is 5.6%, and it was
/// measured at 5.4% (5 errors in 93 words) on this corpus with the reference-exact features.
/// The files are short (3–9 words for most), so one misheard word is 11–33% of a file: a file
/// may miss at most 2 words or 25%, whichever is more; more than that means something is
/// broken (features, decoding, resampling), not that the model is small. The corpus as a whole
/// must stay within 10%.
#[test]
fn recorded_speech_word_error_rate_is_bounded() {
    let engine = engine(WindowPolicy::Padded);
    let mut errors = 0;
    let mut words = 0;
    for (path, reference) in corpus() {
        let text = transcribe(&engine, &path);
        let (e, n) = word_errors(reference, &text);
        let wer = e as f64 / n.max(1) as f64;
        eprintln!(
            "{}: WER {wer:.3}\n  ref: {reference}\n  got: {text}",
            path.display()
        );
        assert!(
            e <= 2 || wer <= 0.25,
            "{}: {e} errors in {n} words: {text:?} vs {reference:?}",
            path.display()
        );
        errors += e;
        words += n;
    }
    let total = errors as f64 / words.max(1) as f64;
    eprintln!("corpus WER {total:.3} over {words} words");
    assert!(total <= 0.10, "corpus WER {total:.3} over {words} words");
}

/// The padded 30 s window is the default because it measured more accurate than the
/// audio-length window on this corpus (BENCHMARKS.md has the numbers): if that ever flips, the
/// default should be revisited. The audio-length window (an option for speed) must still be
/// usable: it retries windows that fail the decoding guards on the padded window.
#[test]
fn default_window_is_the_more_accurate_one() {
    let padded = engine(WindowPolicy::Padded);
    let trimmed = engine(WindowPolicy::AudioLength);
    let (mut padded_errors, mut trimmed_errors, mut words) = (0, 0, 0);
    for (path, reference) in corpus() {
        let (e, n) = word_errors(reference, &transcribe(&padded, &path));
        padded_errors += e;
        words += n;
        trimmed_errors += word_errors(reference, &transcribe(&trimmed, &path)).0;
    }
    eprintln!(
        "padded: {padded_errors} errors, audio-length: {trimmed_errors} errors, {words} words"
    );
    assert_eq!(
        viva::config::Settings::default().speech_window,
        WindowPolicy::Padded
    );
    assert!(
        padded_errors <= trimmed_errors,
        "padded {padded_errors} vs audio-length {trimmed_errors} errors: revisit the default"
    );
    assert!(
        trimmed_errors as f64 <= 0.3 * words as f64,
        "audio-length window: {trimmed_errors} errors in {words} words"
    );
}

#[test]
fn silence_and_noise_give_empty_text() {
    let engine = engine(WindowPolicy::Padded);
    let silence = vec![0.0f32; 16_000 * 5];
    assert_eq!(engine.transcribe(&silence).expect("silence").text, "");

    // Deterministic white noise at a few levels, from barely audible to loud.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut noise = |amplitude: f32| -> Vec<f32> {
        (0..16_000 * 5)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                amplitude * ((state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0)
            })
            .collect()
    };
    for amplitude in [0.001, 0.05, 0.3] {
        let text = engine.transcribe(&noise(amplitude)).expect("noise").text;
        assert_eq!(
            text, "",
            "white noise at amplitude {amplitude} gave {text:?}"
        );
    }
}

#[test]
fn long_audio_is_transcribed_in_windows() {
    let Some(jfk) = support::jfk() else {
        support::unavailable("jfk.wav from the npm package nodejs-whisper");
        return;
    };
    let speech = read_wav(&jfk).expect("jfk.wav");
    // 11 s of speech, 25 s of silence, the speech again: 47 s, two windows.
    let mut long = speech.clone();
    long.extend(std::iter::repeat_n(0.0, 16_000 * 25));
    long.extend(&speech);
    let transcript = engine(WindowPolicy::Padded)
        .transcribe(&long)
        .expect("long audio");
    assert_eq!(transcript.windows, 2);
    let words = viva::speech::wer::normalize_words(&transcript.text);
    let countries = words.iter().filter(|w| *w == "country").count();
    assert!(
        countries >= 3,
        "expected both halves in {:?}",
        transcript.text
    );
}
