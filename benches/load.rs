//! Many interviews at once (issue 16's load benchmark): N = 1, 2, 4, 8 and 16 virtual
//! candidates answer an in-process viva (SQLite, the default models, the judge running) at the
//! same time, through `viva::loadtest`, the same clients as `viva loadtest`: real WebSockets,
//! real LibriVox speech streamed at real-time pace after a random pause, push-to-talk.
//!
//! Criterion times each round's p95 of the whole reply (end of answer → complete `reply`);
//! p50 / p95 / max of the transcript, the first `reply_delta` and the whole reply over every
//! turn of a group are printed as `LOAD …` lines at its end.
//!
//! The server speaks with its own voice, as a default server does, and the candidates hear
//! each message out before answering (`VIVA_VOICE=browser` runs without it).
//!
//! Each round ends when every interview of it has ended (its last feedback and report ready),
//! which adds the round's assessment backlog to its wall time, not to what criterion times;
//! that wait is printed as a `LOAD … ended` line.
//!
//! Run: `cargo bench --bench load` (about half an hour on 2 cores with the voice before rounds
//! waited for `ended`, longer now; `VIVA_LOAD_SIZES=1,4` picks the sizes).

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};
use viva::config::VoiceMode;
use viva::loadtest::{self, Plan, Report, TurnTiming};

/// Answers per candidate per round.
const TURNS: usize = 2;

fn sizes() -> Vec<usize> {
    match std::env::var("VIVA_LOAD_SIZES") {
        Ok(list) => list
            .split(',')
            .filter_map(|n| n.trim().parse().ok())
            .filter(|&n| n > 0)
            .collect(),
        Err(_) => vec![1, 2, 4, 8, 16],
    }
}

/// The interviewer's voice: the server's own (`local`, the default), or `VIVA_VOICE=browser`
/// to measure without it.
fn voice() -> VoiceMode {
    match std::env::var("VIVA_VOICE") {
        Ok(mode) => VoiceMode::parse(&mode).expect("VIVA_VOICE is local, browser or off"),
        Err(_) => VoiceMode::Local,
    }
}

fn print_summary(interviews: usize, report: &Report) {
    let line = |name: &str, pick: fn(&TurnTiming) -> Option<Duration>| {
        if let Some([p50, p95, max]) = report.summary(pick) {
            println!(
                "LOAD interviews={interviews} {name}: p50 {:.2} s, p95 {:.2} s, max {:.2} s ({} turns)",
                p50.as_secs_f64(),
                p95.as_secs_f64(),
                max.as_secs_f64(),
                report.turns.len()
            );
        }
    };
    line("transcript", |t| Some(t.transcript));
    line("first reply_delta", |t| Some(t.first_delta));
    line("whole reply", |t| Some(t.whole));
    line("first audio", |t| t.first_audio);
    if let Some([p50, p95, max]) = report.ending_summary() {
        println!(
            "LOAD interviews={interviews} ended (from the last answer): p50 {:.2} s, p95 {:.2} s, max {:.2} s ({} interviews)",
            p50.as_secs_f64(),
            p95.as_secs_f64(),
            max.as_secs_f64(),
            report.endings.len()
        );
    }
    if report.refused > 0 || !report.errors.is_empty() {
        println!(
            "LOAD interviews={interviews} refused {} errors {:?}",
            report.refused, report.errors
        );
    }
}

fn bench_load(c: &mut Criterion) {
    let Some(answers) = support::librivox()
        .first()
        .and_then(|(path, _)| path.parent().map(std::path::Path::to_path_buf))
    else {
        support::unavailable("the LibriVox recordings of pocketsphinx-testdata");
        return;
    };
    let answers = loadtest::read_answers(&answers).expect("LibriVox answers");
    let data = tempfile::tempdir().expect("temp dir");
    let port = common::start_server(data.path().to_path_buf(), voice());
    let system = actix_web::rt::System::new();

    let mut group = c.benchmark_group("load");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(60));
    // Each round's seed names its accounts: unique over the whole run.
    let mut round = 0;
    for interviews in sizes() {
        let mut all = Report::default();
        group.bench_with_input(
            BenchmarkId::new("whole_reply_p95", interviews),
            &interviews,
            |b, &interviews| {
                b.iter_custom(|iterations| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iterations {
                        round += 1;
                        let plan = Plan {
                            url: format!("http://127.0.0.1:{port}"),
                            interviews,
                            turns: TURNS,
                            answers: answers.clone(),
                            pace: 1.0,
                            accounts: Vec::new(),
                            seed: round,
                            hands_free: false,
                        };
                        let report = system.block_on(loadtest::run(&plan, || {}));
                        assert!(
                            report.errors.is_empty() && report.refused == 0,
                            "a round failed: {} refused, errors {:?}",
                            report.refused,
                            report.errors
                        );
                        let [_, p95, _] =
                            report.summary(|t| Some(t.whole)).expect("turns answered");
                        total += p95;
                        all.turns.extend(report.turns);
                        all.endings.extend(report.endings);
                    }
                    total
                })
            },
        );
        print_summary(interviews, &all);
    }
    group.finish();
}

criterion_group!(benches, bench_load);
criterion_main!(benches);
