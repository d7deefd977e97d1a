//! The voice's speed on one thread: the real-time factor (synthesis time over audio time) of a
//! typical question and of a long sentence, and the time to a reply's first audio (its first
//! sentence made speakable, phonemized and synthesized: what a candidate waits for once that
//! sentence is known) — beside Piper's own runtime (the piper-tts package: its in-process
//! espeak-ng and onnxruntime, the same voice, one thread) run in the same process tree, so
//! BENCHMARKS.md can state ratios from one run.
//!
//! Run: `cargo bench --bench voice`. The reference is installed once with pip into
//! target/piper-tts/ (`piper-tts==1.8.0`); without it the reference is reported as missing
//! and viva's numbers still run.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use viva::voice::sentences::split;
use viva::voice::Synthesizer;

const THREADS: usize = 1;
const PIPER_TTS: &str = "piper-tts==1.8.0";

/// A question of the bank of typical length (14 words, about 4 s).
const TYPICAL: &str = "How would you design a rate limiter that is shared by many API servers?";
/// One long sentence (45 words, about 15 s).
const LONG: &str = "Walk me through how you would move a busy service from a single relational \
                    database to a sharded setup without downtime, including how you would \
                    choose the shard key, backfill the existing rows, keep both copies \
                    consistent during the switch, and roll back if something goes wrong.";
/// A reply as the interviewer streams it: an acknowledgement, then the question.
const REPLY: &str = "Thanks, that makes sense. How would you keep a cache consistent with the \
                     database when the underlying data changes often?";

struct Case {
    name: &'static str,
    text: &'static str,
    /// Only the reply's first sentence is timed.
    first_sentence_only: bool,
}

const CASES: [Case; 3] = [
    Case {
        name: "typical_sentence",
        text: TYPICAL,
        first_sentence_only: false,
    },
    Case {
        name: "long_sentence",
        text: LONG,
        first_sentence_only: false,
    },
    Case {
        name: "first_audio_of_reply",
        text: REPLY,
        first_sentence_only: true,
    },
];

/// What viva does for a case: every sentence (or only the first) through the synthesizer.
fn speak(synthesizer: &mut Synthesizer, case: &Case) -> f64 {
    let sentences = split(case.text);
    let take = if case.first_sentence_only {
        1
    } else {
        sentences.len()
    };
    sentences
        .iter()
        .take(take)
        .map(|s| {
            synthesizer
                .synthesize(s)
                .expect("synthesize")
                .duration_secs()
        })
        .sum()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn bench_voice(c: &mut Criterion) {
    let files = support::test_voice_files().expect("the default voice");
    let mut synthesizer = Synthesizer::load(&files, THREADS).expect("loading the voice");
    let mut group = c.benchmark_group("voice");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    let mut summary = Vec::new();
    for case in &CASES {
        let audio = speak(&mut synthesizer, case);
        group.bench_function(case.name, |b| b.iter(|| speak(&mut synthesizer, case)));
        let times = (0..10)
            .map(|_| {
                let started = Instant::now();
                speak(&mut synthesizer, case);
                started.elapsed()
            })
            .collect();
        summary.push((case, audio, median(times)));
    }
    group.finish();
    for (case, audio, time) in &summary {
        eprintln!(
            "viva {}: {audio:.2} s of audio in {:.0} ms (median of 10): real-time factor {:.3}",
            case.name,
            time.as_secs_f64() * 1e3,
            time.as_secs_f64() / audio
        );
    }
    match piper_reference(&files.model) {
        Ok(rows) => {
            for ((case, _, viva), row) in summary.iter().zip(rows) {
                let piper = if case.first_sentence_only {
                    row["first_audio_s"].as_f64()
                } else {
                    row["median_s"].as_f64()
                }
                .unwrap_or(f64::NAN);
                let audio = row["audio_s"].as_f64().unwrap_or(f64::NAN);
                eprintln!(
                    "REFERENCE piper-tts {}: {:.0} ms (median of 10; {audio:.2} s of audio for the whole text: real-time factor {:.3}); viva / piper-tts {:.2}",
                    case.name,
                    piper * 1e3,
                    row["median_s"].as_f64().unwrap_or(f64::NAN) / audio,
                    viva.as_secs_f64() / piper
                );
            }
        }
        Err(e) => eprintln!("REFERENCE piper-tts unavailable: {e}"),
    }
}

/// piper-tts on every case's text (`benches/reference/piper_bench.py`): one JSON object each.
fn piper_reference(model: &Path) -> Result<Vec<serde_json::Value>, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let site = root.join("target/piper-tts");
    support::pip_install(PIPER_TTS, &site, "piper")?;
    let output = Command::new("python3")
        .arg(root.join("benches/reference/piper_bench.py"))
        .arg(model)
        .arg(THREADS.to_string())
        .arg("10")
        .args(CASES.iter().map(|c| c.text))
        .env("PYTHONPATH", &site)
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).map_err(|e| e.to_string()))
        .collect()
}

criterion_group!(benches, bench_voice);
criterion_main!(benches);
