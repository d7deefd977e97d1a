//! The interviewer's conduct on the real model: every evaluation answer
//! (`src/interview/eval/conduct_answers.toml`) goes through the conductor with the default LLM,
//! as `viva eval conduct` does, and every criterion must pass at least 90% of the turns.

use std::io::Write;

mod support;

use candle_core::Device;
use viva::interview::conductor::{Conductor, EngineWriter};
use viva::interview::eval;
use viva::llm::LlmEngine;

#[test]
fn the_interviewer_stays_in_role_asks_one_question_and_follows_up_on_the_answer() {
    let path = support::test_llm_file();
    if !path.exists() {
        support::unavailable(&format!("LLM weights not found at {}", path.display()));
        return;
    }
    let engine = match LlmEngine::load(&path, &Device::Cpu) {
        Ok(engine) => engine,
        Err(e) => panic!("loading {}: {e}", path.display()),
    };
    let cases = eval::parse_cases(eval::BUNDLED_CASES).expect("the bundled cases parse");
    let mut conductor = Conductor::new(EngineWriter::new(engine), 42);
    let report = eval::run(&mut conductor, &cases, |_| {});
    let mut details = String::new();
    for result in &report.results {
        details.push_str(&eval::describe(result));
    }
    let table = report.table();
    let _ = writeln!(std::io::stderr(), "{table}");

    for (name, tally) in report.criteria() {
        let target = eval::Report::target(name);
        assert!(
            tally.rate() >= target,
            "{name}: {}/{} is under {:.0}%\n{table}\n{details}",
            tally.passed,
            tally.total,
            target * 100.0
        );
    }
    // The model must still write a good share of follow-ups: a pass that only templates earn
    // is not the point. Since follow-ups that restate the answer or wander off are rejected
    // (issue 14), the 135M model's text passes less often: about half are templates now
    // (BENCHMARKS.md); a stronger follow-up model is the way back under 30%.
    let fallback = report.template_fallback();
    assert!(
        fallback.total >= cases.len() / 2,
        "most answers get a follow-up\n{table}"
    );
    assert!(
        fallback.rate() <= 0.6,
        "the template wrote {}/{} follow-ups\n{table}\n{details}",
        fallback.passed,
        fallback.total
    );
    assert!(
        report.moves_fitting_kind().rate() >= eval::TARGET,
        "{table}\n{details}"
    );
}
