//! Uploaded recordings in every format batch transcription reads decode to the right samples:
//! a real recording (JFK, 11 s of speech at 16 kHz) encoded by the reference encoders (FLAC,
//! LAME MP3, libvorbis, libopus in Ogg and in WebM), at its own rate and as 44.1/48 kHz stereo,
//! decoded by viva and compared with the WAV it came from, sample for sample (FLAC) or by
//! waveform correlation at the right alignment (the lossy codecs).

mod support;

use std::time::Duration;

use support::Encoding;
use viva::domain::AudioFormat;
use viva::speech::audio::{self, AudioError};
use viva::speech::decode;

const LIMIT: Duration = Duration::from_secs(600);

/// Normalised cross-correlation of `a` against `b` shifted by `lag` samples.
fn correlation(a: &[f32], b: &[f32], lag: isize) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (i, &x) in a.iter().enumerate() {
        let Some(&y) = usize::try_from(i as isize + lag)
            .ok()
            .and_then(|j| b.get(j))
        else {
            continue;
        };
        ab += f64::from(x) * f64::from(y);
        aa += f64::from(x) * f64::from(x);
        bb += f64::from(y) * f64::from(y);
    }
    ab / (aa.sqrt() * bb.sqrt()).max(1e-12)
}

/// The lag (within ±20 ms) where `decoded` best matches `reference`, and the correlation there.
fn best_alignment(reference: &[f32], decoded: &[f32]) -> (isize, f64) {
    (-320..=320)
        .map(|lag| (lag, correlation(reference, decoded, lag)))
        .fold(
            (0, f64::MIN),
            |best, next| if next.1 > best.1 { next } else { best },
        )
}

fn expected_format(encoding: Encoding) -> AudioFormat {
    match encoding {
        Encoding::Flac => AudioFormat::Flac,
        Encoding::Mp3 => AudioFormat::Mp3,
        Encoding::OggVorbis => AudioFormat::OggVorbis,
        Encoding::OggOpus => AudioFormat::OggOpus,
        Encoding::WebmOpus => AudioFormat::Webm,
    }
}

#[test]
fn every_format_decodes_to_the_recordings_samples() {
    let Some(jfk) = support::jfk() else { return };
    let reference = audio::read_wav(&jfk).expect("jfk.wav");
    // (encoding, rate, channels, least correlation at the best alignment)
    let cases = [
        (Encoding::Flac, None, None, 0.9999),
        (Encoding::Mp3, None, None, 0.98),
        (Encoding::Mp3, Some(44_100), Some(2), 0.98),
        (Encoding::OggVorbis, None, None, 0.98),
        (Encoding::OggVorbis, Some(48_000), Some(2), 0.98),
        (Encoding::OggOpus, None, None, 0.95),
        (Encoding::WebmOpus, None, None, 0.95),
        (Encoding::WebmOpus, None, Some(2), 0.95),
    ];
    for (encoding, rate, channels, least) in cases {
        let Some(file) = support::encoded(&jfk, encoding, rate, channels) else {
            return;
        };
        let what = format!("{encoding:?} at {rate:?} Hz, {channels:?} channels");
        let decoded = decode::read_file(&file, LIMIT).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(decoded.format, expected_format(encoding), "{what}");
        if let Some(channels) = channels {
            assert_eq!(decoded.channels, usize::from(channels), "{what}");
        }
        let length_error = decoded.samples.len().abs_diff(reference.len());
        assert!(
            length_error <= 16 * 30,
            "{what}: {} samples decoded, {} in the recording",
            decoded.samples.len(),
            reference.len()
        );
        let (lag, score) = best_alignment(&reference, &decoded.samples);
        eprintln!("{what}: correlation {score:.4} at lag {lag} samples");
        assert!(score >= least, "{what}: correlation {score:.4} < {least}");
        // Each codec's delay (encoder padding, Opus pre-skip) is removed: within 0.25 ms.
        assert!(
            lag.abs() <= 4,
            "{what}: the audio is shifted by {lag} samples"
        );
        if encoding == Encoding::Flac {
            let worst = reference
                .iter()
                .zip(&decoded.samples)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-4, "{what}: lossless but off by {worst}");
        }
    }
}

#[test]
fn the_duration_limit_stops_a_long_recording_while_it_decodes() {
    let Some(jfk) = support::jfk() else { return };
    for encoding in [Encoding::Flac, Encoding::WebmOpus, Encoding::Mp3] {
        let Some(file) = support::encoded(&jfk, encoding, None, None) else {
            return;
        };
        let e = decode::read_file(&file, Duration::from_secs(5)).expect_err("11 s > 5 s");
        assert!(
            matches!(e, AudioError::LongerThan { .. }),
            "{encoding:?}: {e}"
        );
        assert!(e.to_string().contains("5s"), "{e}");
    }
}

#[test]
fn damaged_recordings_fail_clearly_without_a_panic() {
    let Some(jfk) = support::jfk() else { return };
    for encoding in Encoding::ALL {
        let Some(file) = support::encoded(&jfk, encoding, None, None) else {
            return;
        };
        let bytes = std::fs::read(&file).expect("encoded file");
        // The first kilobyte only: headers and perhaps a packet.
        let cut = &bytes[..1024.min(bytes.len())];
        match decode::decode(cut, LIMIT) {
            Ok(decoded) => assert!(
                decoded.samples.len() < 16_000,
                "{encoding:?}: a kilobyte gave {} samples",
                decoded.samples.len()
            ),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
        // Every byte after the header flipped: garbage where the audio should be.
        let mut garbled = bytes.clone();
        for byte in garbled.iter_mut().skip(64) {
            *byte = !*byte;
        }
        if let Ok(decoded) = decode::decode(&garbled, LIMIT) {
            let (_, score) =
                best_alignment(&audio::read_wav(&jfk).expect("jfk.wav"), &decoded.samples);
            assert!(
                score < 0.5,
                "{encoding:?}: garbled data decoded as the speech"
            );
        }
    }
}
