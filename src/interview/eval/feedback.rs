//! `viva eval feedback`: every answer of the evaluation set is assessed against its question's
//! rubric with the real model, and the report counts how often the model's own assessment was
//! usable (first or second attempt) and how often the keyword fallback stood in, and why.

use std::collections::BTreeMap;

use super::Case;
use crate::interview::catalog::Bank;
use crate::interview::conductor::TurnWriter;
use crate::interview::feedback::{assess, Assessment, AssessmentSource};

#[derive(Debug, Default)]
pub struct FeedbackReport {
    pub cases: usize,
    pub model_first: usize,
    pub model_second: usize,
    pub fallback: usize,
    /// Answers whose question is not in the bank (skipped).
    pub unknown_questions: Vec<String>,
    /// The mean score by answer kind (on-topic, off-topic, …).
    pub score_by_kind: BTreeMap<String, (u32, usize)>,
}

impl FeedbackReport {
    pub fn table(&self) -> String {
        let share = |n: usize| 100.0 * n as f64 / self.cases.max(1) as f64;
        let mut out = format!(
            "| source | answers | share |\n| --- | --- | --- |\n\
             | model, first attempt | {} | {:.1}% |\n\
             | model, after a retry | {} | {:.1}% |\n\
             | keyword fallback | {} | {:.1}% |\n\n\
             | answer kind | answers | mean score |\n| --- | --- | --- |\n",
            self.model_first,
            share(self.model_first),
            self.model_second,
            share(self.model_second),
            self.fallback,
            share(self.fallback),
        );
        for (kind, (sum, n)) in &self.score_by_kind {
            out.push_str(&format!(
                "| {kind} | {n} | {:.2} |\n",
                f64::from(*sum) / (*n).max(1) as f64
            ));
        }
        out
    }
}

/// Assesses each case (seed `seed` for the first attempt), calling `on_case` after each.
pub fn run<W: TurnWriter>(
    writer: &mut W,
    bank: &Bank,
    cases: &[Case],
    seed: u64,
    mut on_case: impl FnMut(&Case, &Assessment),
) -> FeedbackReport {
    let mut report = FeedbackReport::default();
    for case in cases {
        let Some(question) = bank.questions.iter().find(|q| q.id == case.question_id) else {
            report.unknown_questions.push(case.question_id.clone());
            continue;
        };
        let assessment = assess(writer, &case.question, &question.rubric, &case.answer, seed);
        report.cases += 1;
        match assessment.source {
            AssessmentSource::Model { attempt: 1 } => report.model_first += 1,
            AssessmentSource::Model { .. } => report.model_second += 1,
            AssessmentSource::Fallback { .. } => report.fallback += 1,
        }
        let entry = report.score_by_kind.entry(case.kind.clone()).or_default();
        entry.0 += u32::from(assessment.score);
        entry.1 += 1;
        on_case(case, &assessment);
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interview::conductor::Completion;
    use crate::interview::eval::{parse_cases, BUNDLED_CASES};
    use crate::llm::LlmError;

    struct Scripted(Vec<&'static str>);

    impl TurnWriter for Scripted {
        fn complete(&mut self, _request: &Completion<'_>) -> Result<String, LlmError> {
            Ok(self.0.pop().unwrap_or("garbage").to_owned())
        }
    }

    #[test]
    fn every_bundled_case_names_a_bank_question_and_is_counted() {
        let bank = Bank::bundled().expect("the bundled bank");
        let cases = parse_cases(BUNDLED_CASES).expect("the bundled cases");
        let mut writer = Scripted(Vec::new());
        let report = run(&mut writer, &bank, &cases, 1, |_, _| {});
        assert_eq!(report.unknown_questions, Vec::<String>::new());
        assert_eq!(report.cases, cases.len());
        assert_eq!(
            report.fallback, report.cases,
            "garbage from the model always falls back"
        );
        // The keyword-only baseline of BENCHMARKS.md: `cargo test --lib
        // every_bundled_case -- --nocapture`.
        eprintln!("{}", report.table());
        assert!(report.table().contains("| keyword fallback |"));
    }
}
