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
        assert!(
            tally.rate() >= eval::TARGET,
            "{name}: {}/{} is under 90%\n{table}\n{details}",
            tally.passed,
            tally.total
        );
    }
    // The model, not the template, must write most follow-ups: a pass that only templates
    // earn is not the point.
    let fallback = report.template_fallback();
    assert!(
        fallback.total >= cases.len() / 2,
        "most answers get a follow-up\n{table}"
    );
    assert!(
        fallback.rate() <= 0.3,
        "the template wrote {}/{} follow-ups\n{table}\n{details}",
        fallback.passed,
        fallback.total
    );
    assert!(
        report.moves_fitting_kind().rate() >= eval::TARGET,
        "{table}\n{details}"
    );
}
