//! Log-mel features against values from the reference algorithm
//! (`tests/reference/whisper_log_mel.py`, float64 numpy; fixtures in `tests/fixtures/mel/`).

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use viva::speech::audio;
use viva::speech::mel::{LogMel, MelLength, MelSpectrogram, CHUNK_FRAMES};

/// Largest absolute difference allowed from the float64 reference (features are roughly in
/// [-1.5, 1.5]; f32 arithmetic reaches ~1e-5 here).
const TOLERANCE: f32 = 1e-4;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mel")
}

fn reference() -> Value {
    let text = std::fs::read_to_string(fixtures().join("reference.json"))
        .expect("tests/fixtures/mel/reference.json");
    serde_json::from_str(&text).expect("reference.json is JSON")
}

fn read_f32(name: &str) -> Vec<f32> {
    let bytes = std::fs::read(fixtures().join(name)).expect("mel fixture");
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn field(case: &Value, name: &str) -> f64 {
    case[name]
        .as_f64()
        .unwrap_or_else(|| panic!("reference.json: no number {name}"))
}

/// Compares the first `stored` frames of every mel row; returns the largest difference.
fn max_difference(ours: &MelSpectrogram, expected: &[f32], stored: usize) -> f32 {
    let n_frames = ours.n_frames();
    let mut worst = 0.0f32;
    for (mel, row) in expected.chunks_exact(stored).enumerate() {
        let our_row = &ours.data()[mel * n_frames..mel * n_frames + stored];
        for (a, b) in our_row.iter().zip(row) {
            worst = worst.max((a - b).abs());
        }
    }
    worst
}

#[test]
fn features_match_the_reference() {
    let reference = reference();
    let signal = reference["signal"].as_str().unwrap();
    let samples = audio::read_wav(&fixtures().join(signal)).unwrap();
    assert_eq!(samples.len(), 20_800);

    let cases = reference["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let file = case["file"].as_str().unwrap();
        let n_mels = field(case, "n_mels") as usize;
        let mode = match case["mode"].as_str().unwrap() {
            "audio_only" => MelLength::AudioOnly,
            "chunk30s" => MelLength::Chunk30s,
            other => panic!("unknown mode {other}"),
        };
        let ours = LogMel::new(n_mels)
            .unwrap()
            .compute(&samples, mode)
            .unwrap();
        assert_eq!(ours.n_mels(), n_mels, "{file}");
        assert_eq!(ours.n_frames(), field(case, "n_frames") as usize, "{file}");

        let stored = field(case, "stored_frames") as usize;
        let expected = read_f32(file);
        assert_eq!(expected.len(), n_mels * stored, "{file}");
        let worst = max_difference(&ours, &expected, stored);
        assert!(worst <= TOLERANCE, "{file}: max abs difference {worst}");

        // Whole-spectrogram checks cover the frames not stored (the padded tail).
        let data = ours.data();
        let min = data.iter().copied().fold(f32::INFINITY, f32::min);
        let max = data.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        assert!(
            (f64::from(min) - field(case, "min")).abs() <= f64::from(TOLERANCE),
            "{file} min"
        );
        assert!(
            (f64::from(max) - field(case, "max")).abs() <= f64::from(TOLERANCE),
            "{file} max"
        );
        let sum: f64 = data.iter().map(|&v| f64::from(v)).sum();
        let mean_gap = (sum - field(case, "sum")).abs() / data.len() as f64;
        assert!(
            mean_gap <= 1e-5,
            "{file}: sum {sum} vs {}",
            field(case, "sum")
        );
        let last = case["last_frame"].as_array().unwrap();
        for (mel, value) in last.iter().enumerate() {
            let ours = data[mel * ours.n_frames() + ours.n_frames() - 1];
            let expected = value.as_f64().unwrap() as f32;
            assert!(
                (ours - expected).abs() <= TOLERANCE,
                "{file}: last frame, mel {mel}"
            );
        }
        eprintln!("{file}: max abs difference {worst:.2e}");
    }
}

#[test]
fn filterbank_matches_the_reference_layout() {
    let dense = LogMel::new(80).unwrap().dense_filters();
    assert_eq!(dense.len(), 80 * 201);
    // Slaney normalisation: every filter has unit area in Hz, so the weights of all 80 filters
    // add up to about 80 / 40 Hz per bin (the reference's float64 filterbank gives 1.99902).
    let total: f32 = dense.iter().sum();
    assert!((total - 1.999_024).abs() < 1e-4, "filterbank total {total}");
}

#[test]
fn real_speech_uses_the_whole_range() {
    let Some(path) = support::jfk() else { return };
    let samples = audio::read_wav(&path).unwrap();
    let spec = LogMel::new(80)
        .unwrap()
        .compute(&samples, MelLength::Chunk30s)
        .unwrap();
    assert_eq!(spec.n_frames(), CHUNK_FRAMES);
    let data = spec.data();
    let max = data.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let min = data.iter().copied().fold(f32::INFINITY, f32::min);
    // The clamp keeps exactly 8 log10 units (2.0 after scaling) below the loudest value, and
    // the zero padding after 11 s of speech sits on that floor.
    assert!((max - min - 2.0).abs() < 1e-5, "range {min}..{max}");
    let tail = &data[CHUNK_FRAMES - 10..CHUNK_FRAMES];
    assert!(tail.iter().all(|&v| (v - min).abs() < 1e-6));
    let short = LogMel::new(80)
        .unwrap()
        .compute(&samples, MelLength::AudioOnly)
        .unwrap();
    assert_eq!(
        short.n_frames(),
        MelLength::AudioOnly.n_frames(samples.len())
    );
    assert!(short.n_frames() < CHUNK_FRAMES / 2);
}
