//! The CI subset of `viva eval judgement`: one held-out answer of each of six kinds, scored
//! with the real encoder and judge. The full run's numbers are in BENCHMARKS.md (it takes tens
//! of minutes on two cores); this one takes two or three.

#![allow(clippy::unwrap_used)]

mod support;

use candle_core::Device;
use viva::embedding::SentenceEncoder;
use viva::inference::{ComputeGate, SharedJudge};
use viva::interview::eval::judgement::{self, GradedSet, Split};
use viva::interview::feedback::assess;
use viva::llm::LlmEngine;

/// Per kind, this many held-out answers (the first in the file).
const PER_KIND: usize = 1;
const KINDS: [&str; 6] = [
    "excellent",
    "off-topic",
    "pasted-rubric",
    "injection",
    "vague",
    "good",
];

#[test]
fn held_out_scores_follow_the_labels() {
    let models = support::test_models().expect("fetching the default models for tests");
    let encoder = SentenceEncoder::load(&models.encoder_dir, &Device::Cpu).unwrap();
    let judge = SharedJudge::new(
        LlmEngine::load(&models.judge_file, &Device::Cpu).unwrap(),
        ComputeGate::default(),
    );
    let mut set = GradedSet::bundled().unwrap();
    let heldout: Vec<String> = set
        .questions
        .iter()
        .filter(|q| q.split == Split::Heldout)
        .map(|q| q.id.clone())
        .collect();
    let mut taken = Vec::new();
    for kind in KINDS {
        taken.extend(
            set.answers
                .iter()
                .filter(|a| a.kind == kind && heldout.contains(&a.question_id))
                .take(PER_KIND)
                .cloned(),
        );
    }
    set.answers = taken;
    let report = judgement::run(
        &set,
        &[Split::Heldout],
        |q, a| assess(&encoder, Some(&judge), &q.text, &q.rubric, &a.answer).score,
        |s| {
            eprintln!(
                "{} ({}): label {} score {}",
                s.answer.id, s.answer.kind, s.answer.label, s.score
            )
        },
    );
    eprintln!("{}", report.table());
    assert_eq!(report.scored.len(), KINDS.len() * PER_KIND);
    for s in &report.scored {
        match s.answer.kind.as_str() {
            "off-topic" | "pasted-rubric" | "injection" => {
                assert!(
                    s.score <= 2,
                    "{} ({}) scored {}",
                    s.answer.id,
                    s.answer.kind,
                    s.score
                )
            }
            _ => {}
        }
    }
    // The kinds come out in the labels' order on average.
    let mean = |kinds: &[&str]| {
        let scores: Vec<f64> = report
            .scored
            .iter()
            .filter(|s| kinds.contains(&s.answer.kind.as_str()))
            .map(|s| f64::from(s.score))
            .collect();
        scores.iter().sum::<f64>() / scores.len() as f64
    };
    let (strong, vague, none) = (
        mean(&["excellent", "good"]),
        mean(&["vague"]),
        mean(&["off-topic", "pasted-rubric", "injection"]),
    );
    assert!(
        strong > vague && vague > none,
        "{strong} > {vague} > {none}"
    );
}
