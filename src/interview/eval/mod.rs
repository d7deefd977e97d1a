//! `viva eval conduct`: every answer of a fixed set (`conduct_answers.toml`) goes through the
//! conductor with the real model, and each interviewer turn is checked against the criteria of
//! [`crate::interview::conduct_check`]. The answer is taken as the first answer to its
//! question (no follow-up asked yet); the next planned question is the next case of the same
//! interview type, none after the last one.

use serde::Deserialize;

pub mod judgement;

use super::conduct_check::{Expectation, Verdict};
use super::conductor::{Conductor, Move, Source, Turn, TurnInput, TurnWriter};

/// The evaluation answers bundled into the binary.
pub const BUNDLED_CASES: &str = include_str!("conduct_answers.toml");

/// Every basic criterion must pass at least this share of turns...
pub const TARGET: f64 = 0.95;
/// ...and this share of follow-ups must be good ones
/// ([`crate::interview::conduct_check::Verdict::good_follow_up`]).
pub const GOOD_FOLLOW_UP_TARGET: f64 = 0.85;

/// The criterion counted against [`GOOD_FOLLOW_UP_TARGET`].
pub const GOOD_FOLLOW_UP: &str =
    "good follow-up: asks for something new, on topic, one short question";

/// One candidate answer to evaluate.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub id: String,
    pub interview_type: String,
    pub question: String,
    pub question_id: String,
    /// on-topic, short, long, off-topic, empty, rambling, question-back, non-native.
    pub kind: String,
    pub answer: String,
    /// Phrases of the answer a good follow-up could pick up.
    #[serde(default)]
    pub mentions: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    case: Vec<Case>,
}

pub fn parse_cases(text: &str) -> Result<Vec<Case>, toml::de::Error> {
    Ok(toml::from_str::<CaseFile>(text)?.case)
}

/// One case's turn and its verdict.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub case: Case,
    pub next_question: Option<String>,
    pub turn: Turn,
    pub verdict: Verdict,
}

impl CaseResult {
    /// Whether the move suits the kind of answer (reported, not gated): real answers get a
    /// follow-up, off-topic ones hear the question again, questions back are clarified, empty
    /// ones hear the question again or move on.
    pub fn move_fits_kind(&self) -> bool {
        match (self.case.kind.as_str(), self.turn.action) {
            ("off-topic", action) => action == Move::Reask,
            ("question-back", action) => action == Move::Clarify,
            ("empty", action) => matches!(action, Move::Reask | Move::NextQuestion | Move::Close),
            (_, action) => action == Move::FollowUp,
        }
    }
}

/// A criterion's count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub passed: usize,
    pub total: usize,
}

impl Tally {
    pub fn rate(self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.passed as f64 / self.total as f64
        }
    }

    fn count(results: &[CaseResult], applies: impl Fn(&CaseResult) -> Option<bool>) -> Self {
        let outcomes: Vec<bool> = results.iter().filter_map(applies).collect();
        Self {
            passed: outcomes.iter().filter(|&&ok| ok).count(),
            total: outcomes.len(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Report {
    pub results: Vec<CaseResult>,
}

impl Report {
    /// The gated criteria: name and tally.
    pub fn criteria(&self) -> Vec<(&'static str, Tally)> {
        let r = &self.results;
        vec![
            (
                "stays in the interviewer's role",
                Tally::count(r, |c| Some(c.verdict.in_role())),
            ),
            (
                "asks exactly one question",
                Tally::count(r, |c| Some(c.verdict.one_question())),
            ),
            (
                "under 60 words",
                Tally::count(r, |c| Some(c.verdict.short_enough())),
            ),
            (
                "follow-up refers to the answer",
                Tally::count(r, |c| c.verdict.refers_to_answer),
            ),
            (
                GOOD_FOLLOW_UP,
                Tally::count(r, |c| c.verdict.good_follow_up()),
            ),
        ]
    }

    /// A criterion's target share.
    pub fn target(criterion: &str) -> f64 {
        if criterion == GOOD_FOLLOW_UP {
            GOOD_FOLLOW_UP_TARGET
        } else {
            TARGET
        }
    }

    /// Criteria under their target.
    pub fn failing(&self) -> Vec<&'static str> {
        self.criteria()
            .into_iter()
            .filter(|(name, t)| t.rate() < Self::target(name))
            .map(|(name, _)| name)
            .collect()
    }

    /// Follow-ups the template had to write, of all follow-ups.
    pub fn template_fallback(&self) -> Tally {
        Tally::count(&self.results, |c| {
            (c.turn.action == Move::FollowUp).then_some(c.turn.source == Source::Template)
        })
    }

    /// Follow-ups the model wrote on its first attempt.
    pub fn model_first_attempt(&self) -> Tally {
        Tally::count(&self.results, |c| {
            (c.turn.action == Move::FollowUp)
                .then_some(c.turn.source == Source::Model { attempt: 1 })
        })
    }

    /// Model outputs that passed validation, of all the model wrote.
    pub fn model_outputs_accepted(&self) -> Tally {
        let mut tally = Tally {
            passed: 0,
            total: 0,
        };
        for c in &self.results {
            tally.total += c.turn.rejected.len();
            if let Source::Model { .. } = c.turn.source {
                tally.passed += 1;
                tally.total += 1;
            }
        }
        tally
    }

    pub fn moves_fitting_kind(&self) -> Tally {
        Tally::count(&self.results, |c| Some(c.move_fits_kind()))
    }

    /// The results as a Markdown table and a few lines of counts.
    pub fn table(&self) -> String {
        let mut out = String::from("| criterion | passed | rate |\n| --- | --- | --- |\n");
        for (name, t) in self.criteria() {
            out.push_str(&format!(
                "| {name} | {}/{} | {:.1}% |\n",
                t.passed,
                t.total,
                100.0 * t.rate()
            ));
        }
        let count = |m: Move| self.results.iter().filter(|c| c.turn.action == m).count();
        let fallback = self.template_fallback();
        let first = self.model_first_attempt();
        let accepted = self.model_outputs_accepted();
        let fits = self.moves_fitting_kind();
        out.push_str(&format!(
            "\nturns: {} follow-up, {} re-ask, {} clarify, {} next question, {} closing\n\
             follow-ups written by the model: {} on the first attempt, {} on the retry; \
             template fallback {}/{} ({:.1}%)\n\
             model outputs passing validation: {}/{} ({:.1}%)\n\
             moves that suit the kind of answer: {}/{} ({:.1}%)\n",
            count(Move::FollowUp),
            count(Move::Reask),
            count(Move::Clarify),
            count(Move::NextQuestion),
            count(Move::Close),
            first.passed,
            fallback.total - fallback.passed - first.passed,
            fallback.passed,
            fallback.total,
            100.0 * fallback.rate(),
            accepted.passed,
            accepted.total,
            100.0 * accepted.rate(),
            fits.passed,
            fits.total,
            100.0 * fits.rate(),
        ));
        out
    }
}

/// Runs every case through `conductor`; `on_result` sees each result as it is ready.
pub fn run<W: TurnWriter>(
    conductor: &mut Conductor<W>,
    cases: &[Case],
    mut on_result: impl FnMut(&CaseResult),
) -> Report {
    let mut results = Vec::with_capacity(cases.len());
    for (i, case) in cases.iter().enumerate() {
        let next_question = cases[i + 1..]
            .iter()
            .find(|c| c.interview_type == case.interview_type)
            .map(|c| c.question.clone());
        let turn = conductor.next_turn(&TurnInput {
            question: &case.question,
            answer: &case.answer,
            follow_up_asked: false,
            next_question: next_question.as_deref(),
            resume_highlights: &[],
        });
        let verdict = Verdict::of(
            &turn.text,
            Expectation {
                planned_question: turn.planned_question.as_deref(),
                asks_question: turn.action != Move::Close,
                follow_up_of: (turn.action == Move::FollowUp).then_some((
                    case.question.as_str(),
                    case.answer.as_str(),
                    case.mentions.as_slice(),
                )),
            },
        );
        let result = CaseResult {
            case: case.clone(),
            next_question,
            turn,
            verdict,
        };
        on_result(&result);
        results.push(result);
    }
    Report { results }
}

/// One result in a few lines, for `--verbose`.
pub fn describe(result: &CaseResult) -> String {
    let turn = &result.turn;
    let mut out = format!(
        "{} [{} → {:?}, {:?}, {:?}] {}\n",
        result.case.id, result.case.kind, turn.answer_kind, turn.action, turn.source, turn.text
    );
    if let Some(topic) = &turn.topic {
        out.push_str(&format!("    topic: {topic}\n"));
    }
    for rejected in &turn.rejected {
        out.push_str(&format!(
            "    rejected: {:?} ({})\n",
            rejected.text,
            rejected.reasons.join("; ")
        ));
    }
    let failures = result.verdict.failures();
    if !failures.is_empty() {
        out.push_str(&format!("    FAILED: {}\n", failures.join("; ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interview::catalog::Bank;
    use crate::interview::conductor::Completion;
    use crate::llm::LlmError;

    #[test]
    fn the_bundled_cases_parse_and_match_the_bank() {
        let cases = parse_cases(BUNDLED_CASES).expect("cases parse");
        assert!(cases.len() >= 40, "{} cases", cases.len());
        let bank = Bank::bundled().expect("bank parses");
        for case in &cases {
            let q = bank
                .questions
                .iter()
                .find(|q| q.id.as_str() == case.question_id)
                .unwrap_or_else(|| panic!("{}: unknown question {}", case.id, case.question_id));
            assert_eq!(q.text, case.question, "{}", case.id);
            for m in &case.mentions {
                assert!(
                    case.answer.to_lowercase().contains(&m.to_lowercase()),
                    "{}: `{m}` is not in the answer",
                    case.id
                );
            }
        }
    }

    /// A writer that always says the same bad thing: every follow-up falls back to the
    /// template, and the report says so.
    struct OutOfRole;

    impl TurnWriter for OutOfRole {
        fn complete(&mut self, _: &Completion<'_>) -> Result<String, LlmError> {
            Ok("As a candidate, I think caching is good.".into())
        }
    }

    #[test]
    fn the_rules_and_templates_alone_pass_and_the_report_shows_the_fallback() {
        let cases = parse_cases(BUNDLED_CASES).expect("cases parse");
        let mut conductor = Conductor::new(OutOfRole, 1);
        let report = run(&mut conductor, &cases, |_| {});
        for result in &report.results {
            assert!(result.verdict.passes(), "{}", describe(result));
        }
        let fallback = report.template_fallback();
        assert!(fallback.total > 0);
        assert_eq!(fallback.passed, fallback.total);
        assert_eq!(report.model_outputs_accepted().passed, 0);
        assert!(report.failing().is_empty());
        assert!(report.table().contains("template fallback"));
    }
}
