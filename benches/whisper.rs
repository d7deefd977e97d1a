//! Whisper benchmarks: a ~5 s and a ~15 s clip of real read speech, with the encoder on the
//! padded 30 s window and on the audio's length, split into mel, encoder and decoder time —
//! beside faster-whisper (int8, same CTranslate2 weights viva converts from, greedy, no
//! timestamps) run in the same process tree, so BENCHMARKS.md can state ratios from one run.
//!
//! Run: `cargo bench --bench whisper` (needs `pip install faster-whisper` for the reference;
//! without it the reference is reported as missing, the viva numbers still run).

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use candle_core::Device;
use criterion::{criterion_group, criterion_main, Criterion};
use viva::speech::audio::read_wav;
use viva::speech::whisper::{WhisperEngine, WindowPolicy};

const THREADS: usize = 2;

struct Clip {
    name: &'static str,
    path: PathBuf,
    samples: Vec<f32>,
}

/// Real speech from pocketsphinx-testdata: the single LibriVox utterance closest to 5 s (5.3 s),
/// and utterances joined in order to about 15 s (15.4 s) (written out so the reference reads the same audio).
fn clips() -> Vec<Clip> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-audio");
    std::fs::create_dir_all(&dir).expect("target/bench-audio");
    let recordings: Vec<Vec<f32>> = support::librivox()
        .into_iter()
        .map(|(path, _)| read_wav(&path).expect("LibriVox recording"))
        .collect();
    assert!(
        !recordings.is_empty(),
        "install pocketsphinx-testdata (see .ci/run)"
    );
    let five = recordings
        .iter()
        .min_by_key(|r| (r.len() as i64 - 5 * 16_000).abs())
        .cloned()
        .unwrap_or_default();
    let mut fifteen = Vec::new();
    for r in &recordings {
        if fifteen.len() >= 14 * 16_000 + 8_000 {
            break;
        }
        fifteen.extend_from_slice(r);
    }
    [("5s", five), ("15s", fifteen)]
        .into_iter()
        .map(|(name, samples)| {
            let path = dir.join(format!("clip_{name}.wav"));
            write_wav(&path, &samples);
            Clip {
                name,
                path,
                samples,
            }
        })
        .collect()
}

fn write_wav(path: &Path, samples: &[f32]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).expect("create WAV");
    for s in samples {
        writer
            .write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16)
            .expect("write WAV");
    }
    writer.finalize().expect("finish WAV");
}

fn bench_whisper(c: &mut Criterion) {
    let models = support::test_models().expect("default models");
    let clips = clips();
    let mut group = c.benchmark_group("whisper");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(15));
    for policy in [WindowPolicy::Padded, WindowPolicy::AudioLength] {
        let mut engine = WhisperEngine::load(&models.whisper_dir, &Device::Cpu).expect("Whisper");
        engine.window_policy = policy;
        for clip in &clips {
            let text = engine.transcribe(&clip.samples).expect("transcribe").text;
            eprintln!("viva {policy} {}: {text}", clip.name);
            group.bench_function(format!("{}/{policy}/total", clip.name), |b| {
                b.iter(|| engine.transcribe(&clip.samples).expect("transcribe"))
            });
            type Stage = fn(&viva::speech::whisper::Transcript) -> Duration;
            let stages: [(&str, Stage); 3] = [
                ("mel", |t| t.mel_time),
                ("encoder", |t| t.encode_time),
                ("decoder", |t| t.decode_time),
            ];
            for (stage, time) in stages {
                group.bench_function(format!("{}/{policy}/{stage}", clip.name), |b| {
                    b.iter_custom(|iters| {
                        (0..iters)
                            .map(|_| time(&engine.transcribe(&clip.samples).expect("transcribe")))
                            .sum()
                    })
                });
            }
        }
    }
    group.finish();

    match support::ct2_whisper_dir()
        .ok_or_else(|| "CTranslate2 weights not found".to_owned())
        .and_then(|dir| {
            let paths: Vec<&Path> = clips.iter().map(|c| c.path.as_path()).collect();
            support::faster_whisper(&dir, THREADS, 10, &paths)
        }) {
        Ok(rows) => {
            for (clip, median, text) in rows {
                eprintln!(
                    "REFERENCE faster-whisper int8 {clip}: median {:.0} ms: {text}",
                    median * 1e3
                );
            }
        }
        Err(e) => eprintln!("REFERENCE faster-whisper unavailable: {e}"),
    }
}

criterion_group!(benches, bench_whisper);
criterion_main!(benches);
