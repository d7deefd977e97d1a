//! Audio input on real recordings: sample formats, resampling, and refusals.

mod support;

use std::path::{Path, PathBuf};

use support::WavEncoding;
use viva::speech::audio::{self, AudioError};

/// A real 16 kHz recording (LibriVox, 2.5 s of speech) to derive variants from.
fn speech_16k() -> Option<PathBuf> {
    support::librivox().into_iter().nth(1).map(|(path, _)| path)
}

/// Writes `samples` (16 kHz) as `name` at `rate` Hz (resampled by the tests' own reference
/// resampler, not the app's), `channels` and `encoding`, and reads it back through the app.
fn variant(
    name: &str,
    samples: &[f32],
    rate: u32,
    channels: u16,
    encoding: WavEncoding,
) -> Vec<f32> {
    let at_rate = if rate == 16_000 {
        samples.to_vec()
    } else {
        support::resample(samples, 16_000, rate)
    };
    let path = support::write_wav(name, &at_rate, rate, channels, encoding);
    audio::read_wav(&path).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// `samples` rounded to 16-bit values, as a 16-bit WAV stores them.
fn as_16_bit(samples: &[f32]) -> Vec<f32> {
    samples
        .iter()
        .map(|&s| (s * 32768.0).round().clamp(-32768.0, 32767.0) / 32768.0)
        .collect()
}

/// Normalised cross-correlation of `b` against `a` at the best lag in `-max_lag..=max_lag`,
/// returned with that lag.
fn best_correlation(a: &[f32], b: &[f32], max_lag: isize) -> (f64, isize) {
    let mut best = (f64::MIN, 0);
    for lag in -max_lag..=max_lag {
        let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
        for (i, &x) in a.iter().enumerate() {
            let j = i as isize + lag;
            if j < 0 || j as usize >= b.len() {
                continue;
            }
            let y = b[j as usize];
            ab += f64::from(x) * f64::from(y);
            aa += f64::from(x) * f64::from(x);
            bb += f64::from(y) * f64::from(y);
        }
        let r = ab / (aa * bb).sqrt();
        if r > best.0 {
            best = (r, lag);
        }
    }
    best
}

/// RMS of `a - b` relative to the RMS of `a`.
fn relative_error(a: &[f32], b: &[f32]) -> f64 {
    let (mut diff, mut energy) = (0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        diff += (f64::from(x) - f64::from(y)).powi(2);
        energy += f64::from(x).powi(2);
    }
    (diff / energy).sqrt()
}

/// Asserts that `ours` is `reference` at 16 kHz: same length (±2), no shift, and close.
fn assert_matches(
    name: &str,
    reference: &[f32],
    ours: &[f32],
    min_correlation: f64,
    max_error: f64,
) {
    let length_gap = ours.len().abs_diff(reference.len());
    assert!(
        length_gap <= 2,
        "{name}: {} vs {} samples",
        ours.len(),
        reference.len()
    );
    let (correlation, lag) = best_correlation(reference, ours, 20);
    assert_eq!(
        lag, 0,
        "{name}: resampled audio is shifted by {lag} samples"
    );
    let error = relative_error(reference, ours);
    eprintln!("{name}: correlation {correlation:.5}, relative error {error:.4}");
    assert!(
        correlation >= min_correlation,
        "{name}: correlation {correlation:.5}"
    );
    assert!(error <= max_error, "{name}: relative error {error:.4}");
}

#[test]
fn resampled_variants_match_the_original() {
    let Some(source) = speech_16k() else { return };
    let original = audio::read_wav(&source).unwrap();
    assert!(original.len() > 16_000, "{} samples", original.len());

    let cases = [
        ("speech-44k-stereo.wav", 44_100, 2, WavEncoding::Int(16)),
        ("speech-48k-float.wav", 48_000, 1, WavEncoding::Float),
    ];
    for (name, rate, channels, encoding) in cases {
        let ours = variant(name, &original, rate, channels, encoding);
        assert_matches(name, &original, &ours, 0.9999, 0.01);
    }
}

#[test]
fn upsampled_8k_matches_a_reference_resampler() {
    let Some(source) = speech_16k() else { return };
    let original = audio::read_wav(&source).unwrap();
    let narrow = as_16_bit(&support::resample(&original, 16_000, 8_000));
    let path = support::write_wav("speech-8k.wav", &narrow, 8_000, 1, WavEncoding::Int(16));
    let ours = audio::read_wav(&path).unwrap();
    // 8 kHz has nothing above 4 kHz: against the original only the lower band can match ...
    assert_matches("speech-8k.wav vs original", &original, &ours, 0.95, 0.3);
    // ... while the reference resampler's 8 kHz -> 16 kHz of the same samples should be nearly
    // identical.
    let reference = support::resample(&narrow, 8_000, 16_000);
    assert_matches("speech-8k.wav vs reference", &reference, &ours, 0.999, 0.05);
}

#[test]
fn sample_formats_decode_to_the_same_samples() {
    let Some(source) = speech_16k() else { return };
    let original = audio::read_wav(&source).unwrap();
    // 16-bit values are exact in 24-bit, 32-bit and float containers; 8-bit loses the low byte.
    let cases = [
        ("speech-24bit.wav", WavEncoding::Int(24), 1e-7),
        ("speech-32bit.wav", WavEncoding::Int(32), 1e-7),
        ("speech-float.wav", WavEncoding::Float, 1e-7),
        ("speech-8bit.wav", WavEncoding::Int(8), 1.0 / 128.0 + 1e-6),
    ];
    for (name, encoding, tolerance) in cases {
        let decoded = variant(name, &original, 16_000, 1, encoding);
        assert_eq!(decoded.len(), original.len(), "{name}");
        let worst = original
            .iter()
            .zip(&decoded)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst <= tolerance, "{name}: max difference {worst}");
    }
}

#[test]
fn real_recordings_decode_at_16k() {
    // Each set is complete or, after a loud SKIPPED line (a failure under CI), empty.
    for (path, transcript) in support::librivox().into_iter().chain(support::cards()) {
        assert!(
            !transcript.is_empty() && !transcript.contains("<s>"),
            "{transcript:?}"
        );
        let samples = audio::read_wav(&path).unwrap();
        let seconds = samples.len() as f64 / 16_000.0;
        assert!(
            (0.5..10.0).contains(&seconds),
            "{}: {seconds} s",
            path.display()
        );
        assert!(
            samples.iter().any(|s| s.abs() > 0.05),
            "{} is silent",
            path.display()
        );
    }
    if let Some((path, transcript)) = support::goforward() {
        assert_eq!(transcript, "go forward ten meters");
        let samples = audio::read_wav(&path).unwrap();
        assert_eq!(samples.len(), 89_160 / 2);
    }
    if let Some(path) = support::jfk() {
        let samples = audio::read_wav(&path).unwrap();
        let seconds = samples.len() as f64 / 16_000.0;
        assert!((10.5..11.5).contains(&seconds), "jfk.wav: {seconds} s");
    }
}

fn pcm_wav(channels: u16, rate: u32, samples: &[i16]) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut bytes = Vec::new();
    let mut writer =
        hound::WavWriter::new(std::io::Cursor::new(&mut bytes), spec).expect("WAV header");
    for &s in samples {
        writer.write_sample(s).expect("WAV sample");
    }
    writer.finalize().expect("WAV trailer");
    bytes
}

/// Overwrites a little-endian field of the canonical 44-byte WAV header.
fn patch(mut bytes: Vec<u8>, offset: usize, value: &[u8]) -> Vec<u8> {
    bytes[offset..offset + value.len()].copy_from_slice(value);
    bytes
}

#[test]
fn bad_inputs_give_clear_errors() {
    let good = pcm_wav(1, 16_000, &[0, 1000, -1000, 0]);
    assert_eq!(audio::decode_wav(&good).unwrap().len(), 4);

    let not_wav = audio::decode_wav(b"ID3\x03 this is an mp3, honest");
    assert!(matches!(not_wav, Err(AudioError::NotWav)), "{not_wav:?}");
    assert!(matches!(audio::decode_wav(b""), Err(AudioError::NotWav)));
    assert!(matches!(
        audio::decode_wav(&good[..8]),
        Err(AudioError::NotWav)
    ));

    let empty = audio::decode_wav(&pcm_wav(1, 16_000, &[]));
    assert!(matches!(empty, Err(AudioError::Empty)), "{empty:?}");

    // Canonical header offsets: 20 format tag, 22 channels, 24 rate, 28 byte rate, 40 data size.
    let zero_channels = audio::decode_wav(&patch(good.clone(), 22, &0u16.to_le_bytes()));
    assert!(
        matches!(zero_channels, Err(AudioError::ZeroChannels)),
        "{zero_channels:?}"
    );

    let zero_rate = patch(patch(good.clone(), 24, &[0; 4]), 28, &[0; 4]);
    let zero_rate = audio::decode_wav(&zero_rate);
    assert!(
        matches!(zero_rate, Err(AudioError::SampleRate(0))),
        "{zero_rate:?}"
    );

    let mu_law = audio::decode_wav(&patch(good.clone(), 20, &7u16.to_le_bytes()));
    assert!(
        matches!(mu_law, Err(AudioError::UnsupportedEncoding)),
        "{mu_law:?}"
    );

    let truncated = audio::decode_wav(&good[..good.len() - 3]);
    assert!(
        matches!(truncated, Err(AudioError::Malformed(_))),
        "{truncated:?}"
    );

    // A header that announces 31 minutes is refused before anything is decoded.
    let long_bytes = (31u32 * 60 * 16_000 * 2).to_le_bytes();
    let too_long = audio::decode_wav(&patch(good.clone(), 40, &long_bytes));
    assert!(
        matches!(too_long, Err(AudioError::TooLong { .. })),
        "{too_long:?}"
    );
    let message = too_long.unwrap_err().to_string();
    assert!(
        message.contains("1860 s") && message.contains("1800 s"),
        "{message}"
    );

    let missing = audio::read_wav(Path::new("/nonexistent/answer.wav"));
    assert!(matches!(missing, Err(AudioError::Io { .. })), "{missing:?}");
    assert!(missing
        .unwrap_err()
        .to_string()
        .contains("/nonexistent/answer.wav"));
}

#[test]
fn non_finite_float_samples_are_refused() {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut bytes = Vec::new();
    let mut writer = hound::WavWriter::new(std::io::Cursor::new(&mut bytes), spec).unwrap();
    for s in [0.1f32, f32::NAN, 0.2] {
        writer.write_sample(s).unwrap();
    }
    writer.finalize().unwrap();
    let result = audio::decode_wav(&bytes);
    assert!(matches!(result, Err(AudioError::NonFinite)), "{result:?}");
}

#[test]
fn pcm16le_frames_must_be_whole_samples() {
    let samples = audio::pcm16le_to_f32(&[0x00, 0x40, 0x00, 0xc0]).unwrap();
    assert_eq!(samples, vec![0.5, -0.5]);
    let odd = audio::pcm16le_to_f32(&[0x00, 0x40, 0x00]);
    assert!(matches!(odd, Err(AudioError::OddPcmLength(3))), "{odd:?}");
}
