//! `viva eval judgement`: how well per-answer scores track the quality of answers.
//!
//! The graded set (`judgement_answers.toml`, labelled 1–5 by the team against `GRADING.md`)
//! holds answers of every kind a grader meets: excellent to vague, wrong, off-topic, rubric
//! wording pasted back, text aimed at the grader, filler-heavy transcripts, non-native phrasing.
//! Whole questions are split into `tune` (a method may be developed on them) and `heldout`
//! (never used for tuning); both are reported. The grader under test is any function from a
//! question and an answer to a score, so a new method is measured the same way as the old.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Deserialize;

/// The graded set bundled into the binary.
pub const BUNDLED_SET: &str = include_str!("judgement_answers.toml");

/// Targets (issue 14): Spearman on the held-out split, means of the answers that must score
/// low (each of them at most [`LOW_KIND_MAX`]) and of excellent answers.
pub const TARGET_SPEARMAN: f64 = 0.8;
pub const LOW_KINDS: [&str; 3] = ["off-topic", "pasted-rubric", "injection"];
pub const LOW_KIND_MEAN: f64 = 1.5;
pub const LOW_KIND_MAX: u8 = 2;
pub const TARGET_EXCELLENT_MEAN: f64 = 4.3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Tune,
    Heldout,
}

impl Split {
    pub fn name(self) -> &'static str {
        match self {
            Self::Tune => "tune",
            Self::Heldout => "heldout",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradedQuestion {
    pub id: String,
    pub interview_type: String,
    pub split: Split,
    pub text: String,
    pub rubric: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradedAnswer {
    pub id: String,
    pub question_id: String,
    pub kind: String,
    /// The team's label, 1–5.
    pub label: u8,
    pub split: Split,
    pub answer: String,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradedSet {
    #[serde(rename = "question")]
    pub questions: Vec<GradedQuestion>,
    #[serde(rename = "answer")]
    pub answers: Vec<GradedAnswer>,
}

#[derive(Debug, thiserror::Error)]
pub enum SetError {
    #[error("the graded set is not valid TOML of the expected shape: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("the graded set is inconsistent: {0}")]
    Inconsistent(String),
}

impl GradedSet {
    /// Parses a set and checks it: labels 1–5, every answer's question present and in the same
    /// split, ids unique.
    pub fn parse(text: &str) -> Result<Self, SetError> {
        let set: Self = toml::from_str(text)?;
        let mut problems = Vec::new();
        let mut ids = std::collections::HashSet::new();
        for answer in &set.answers {
            if !ids.insert(answer.id.as_str()) {
                problems.push(format!("answer id {} is used twice", answer.id));
            }
            if !(1..=5).contains(&answer.label) {
                problems.push(format!("{}: label {} is not 1-5", answer.id, answer.label));
            }
            match set.question(&answer.question_id) {
                None => problems.push(format!(
                    "{}: question {} is not in the set",
                    answer.id, answer.question_id
                )),
                Some(q) if q.split != answer.split => problems.push(format!(
                    "{}: split {} differs from its question's {}",
                    answer.id,
                    answer.split.name(),
                    q.split.name()
                )),
                Some(_) => {}
            }
        }
        if problems.is_empty() {
            Ok(set)
        } else {
            Err(SetError::Inconsistent(problems.join("; ")))
        }
    }

    pub fn bundled() -> Result<Self, SetError> {
        Self::parse(BUNDLED_SET)
    }

    pub fn question(&self, id: &str) -> Option<&GradedQuestion> {
        self.questions.iter().find(|q| q.id == id)
    }
}

/// One answer's score from the grader under test.
#[derive(Debug, Clone)]
pub struct Scored {
    pub answer: GradedAnswer,
    pub score: u8,
    pub seconds: f64,
}

/// The measures of one split (or of the whole set).
#[derive(Debug, Clone, Default)]
pub struct SplitReport {
    pub answers: usize,
    pub spearman: f64,
    pub mean_abs_error: f64,
    /// Per kind: (sum of scores, count, highest score).
    pub by_kind: BTreeMap<String, (u32, usize, u8)>,
    /// `confusion[label - 1][score - 1]`.
    pub confusion: [[usize; 5]; 5],
}

impl SplitReport {
    pub fn of(scored: &[&Scored]) -> Self {
        let labels: Vec<f64> = scored.iter().map(|s| f64::from(s.answer.label)).collect();
        let scores: Vec<f64> = scored.iter().map(|s| f64::from(s.score)).collect();
        let mut report = Self {
            answers: scored.len(),
            spearman: spearman(&labels, &scores),
            mean_abs_error: labels
                .iter()
                .zip(&scores)
                .map(|(l, s)| (l - s).abs())
                .sum::<f64>()
                / scored.len().max(1) as f64,
            ..Self::default()
        };
        for s in scored {
            let entry = report
                .by_kind
                .entry(s.answer.kind.clone())
                .or_insert((0, 0, 0));
            entry.0 += u32::from(s.score);
            entry.1 += 1;
            entry.2 = entry.2.max(s.score);
            let (label, score) = (usize::from(s.answer.label), usize::from(s.score));
            if (1..=5).contains(&label) && (1..=5).contains(&score) {
                report.confusion[label - 1][score - 1] += 1;
            }
        }
        report
    }

    pub fn kind_mean(&self, kind: &str) -> Option<f64> {
        self.by_kind
            .get(kind)
            .map(|(sum, n, _)| f64::from(*sum) / (*n).max(1) as f64)
    }
}

/// The whole evaluation.
#[derive(Debug, Clone)]
pub struct JudgementReport {
    pub scored: Vec<Scored>,
    pub tune: SplitReport,
    pub heldout: SplitReport,
    pub all: SplitReport,
}

impl JudgementReport {
    pub fn of(scored: Vec<Scored>) -> Self {
        let pick = |split: Option<Split>| -> Vec<&Scored> {
            scored
                .iter()
                .filter(|s| split.is_none_or(|want| s.answer.split == want))
                .collect()
        };
        let tune = SplitReport::of(&pick(Some(Split::Tune)));
        let heldout = SplitReport::of(&pick(Some(Split::Heldout)));
        let all = SplitReport::of(&pick(None));
        Self {
            scored,
            tune,
            heldout,
            all,
        }
    }

    /// Seconds per assessment: median and 95th percentile.
    pub fn seconds(&self) -> (f64, f64) {
        let mut times: Vec<f64> = self.scored.iter().map(|s| s.seconds).collect();
        times.sort_by(f64::total_cmp);
        let at = |q: f64| {
            if times.is_empty() {
                0.0
            } else {
                times[((times.len() - 1) as f64 * q).round() as usize]
            }
        };
        (at(0.5), at(0.95))
    }

    /// The targets this run misses (empty when all are met). Judged on the held-out split for
    /// Spearman and on the whole set for the kinds.
    pub fn missed_targets(&self) -> Vec<String> {
        let mut missed = Vec::new();
        if self.heldout.answers > 0 && self.heldout.spearman < TARGET_SPEARMAN {
            missed.push(format!(
                "held-out Spearman {:.2} < {TARGET_SPEARMAN}",
                self.heldout.spearman
            ));
        }
        for kind in LOW_KINDS {
            if let Some(mean) = self.all.kind_mean(kind) {
                if mean > LOW_KIND_MEAN {
                    missed.push(format!("{kind} mean {mean:.2} > {LOW_KIND_MEAN}"));
                }
            }
            if let Some((_, _, max)) = self.all.by_kind.get(kind) {
                if *max > LOW_KIND_MAX {
                    missed.push(format!("a {kind} answer scored {max} > {LOW_KIND_MAX}"));
                }
            }
        }
        if let Some(mean) = self.all.kind_mean("excellent") {
            if mean < TARGET_EXCELLENT_MEAN {
                missed.push(format!(
                    "excellent mean {mean:.2} < {TARGET_EXCELLENT_MEAN}"
                ));
            }
        }
        missed
    }

    /// The report as Markdown tables.
    pub fn table(&self) -> String {
        let mut out = String::from(
            "| split | answers | Spearman | mean abs. error |\n| --- | --- | --- | --- |\n",
        );
        for (name, split) in [
            ("tune", &self.tune),
            ("heldout", &self.heldout),
            ("all", &self.all),
        ] {
            out.push_str(&format!(
                "| {name} | {} | {:.2} | {:.2} |\n",
                split.answers, split.spearman, split.mean_abs_error
            ));
        }
        out.push_str("\n| kind | answers | mean score (tune) | mean score (heldout) | highest |\n| --- | --- | --- | --- | --- |\n");
        for (kind, (_, n, max)) in &self.all.by_kind {
            let mean = |split: &SplitReport| {
                split
                    .kind_mean(kind)
                    .map_or_else(|| "—".to_owned(), |m| format!("{m:.2}"))
            };
            out.push_str(&format!(
                "| {kind} | {n} | {} | {} | {max} |\n",
                mean(&self.tune),
                mean(&self.heldout)
            ));
        }
        out.push_str("\nconfusion (rows: label, columns: score), all answers\n\n| label | 1 | 2 | 3 | 4 | 5 |\n| --- | --- | --- | --- | --- | --- |\n");
        for (i, row) in self.all.confusion.iter().enumerate() {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                i + 1,
                row[0],
                row[1],
                row[2],
                row[3],
                row[4]
            ));
        }
        let (p50, p95) = self.seconds();
        out.push_str(&format!(
            "\nseconds per assessment: p50 {p50:.2}, p95 {p95:.2}\n"
        ));
        out
    }
}

/// Scores every answer of `set` in `splits` with `grade`, timing each.
pub fn run(
    set: &GradedSet,
    splits: &[Split],
    mut grade: impl FnMut(&GradedQuestion, &GradedAnswer) -> u8,
    mut on_answer: impl FnMut(&Scored),
) -> JudgementReport {
    let mut scored = Vec::new();
    for answer in set.answers.iter().filter(|a| splits.contains(&a.split)) {
        let Some(question) = set.question(&answer.question_id) else {
            continue; // `parse` guarantees the question
        };
        let started = Instant::now();
        let score = grade(question, answer);
        let one = Scored {
            answer: answer.clone(),
            score,
            seconds: started.elapsed().as_secs_f64(),
        };
        on_answer(&one);
        scored.push(one);
    }
    JudgementReport::of(scored)
}

/// Spearman's rank correlation, ties given their average rank. 0 when either side is constant
/// (a grader that gives every answer the same score ranks nothing).
pub fn spearman(xs: &[f64], ys: &[f64]) -> f64 {
    let (rx, ry) = (ranks(xs), ranks(ys));
    pearson(&rx, &ry)
}

fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        // Positions i..=j share the mean of ranks i+1..=j+1.
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = rank;
        }
        i = j + 1;
    }
    ranks
}

fn pearson(xs: &[f64], ys: &[f64]) -> f64 {
    let n = xs.len().min(ys.len());
    if n < 2 {
        return 0.0;
    }
    let mean = |v: &[f64]| v[..n].iter().sum::<f64>() / n as f64;
    let (mx, my) = (mean(xs), mean(ys));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (dx, dy) = (xs[i] - mx, ys[i] - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx == 0.0 || syy == 0.0 {
        0.0
    } else {
        sxy / (sxx * syy).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interview::catalog::Bank;

    #[test]
    fn spearman_ranks_ties_by_their_average() {
        assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 3.0, 3.0]), 0.0);
        // By hand: ranks of [1, 2, 2, 3] are [1, 2.5, 2.5, 4]; of [1, 3, 2, 4] themselves.
        // Pearson of those: 4.5 / sqrt(4.5 * 5) = 0.9487.
        let rho = spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 3.0, 2.0, 4.0]);
        assert!((rho - 4.5 / (4.5f64 * 5.0).sqrt()).abs() < 1e-12, "{rho}");
    }

    #[test]
    fn the_bundled_set_is_whole_and_matches_the_bank() {
        let set = GradedSet::bundled().expect("the bundled graded set");
        let bank = Bank::bundled().expect("the bundled bank");
        assert!(set.answers.len() >= 150, "{}", set.answers.len());
        assert!(set.questions.len() >= 25);
        let types: std::collections::BTreeSet<_> = set
            .questions
            .iter()
            .map(|q| q.interview_type.as_str())
            .collect();
        assert_eq!(
            types.len(),
            bank.interview_types.len(),
            "every interview type"
        );
        for q in &set.questions {
            let in_bank = bank
                .questions
                .iter()
                .find(|b| b.id.as_str() == q.id)
                .unwrap_or_else(|| panic!("{} is not in the bank", q.id));
            assert_eq!(
                (&in_bank.text, &in_bank.rubric),
                (&q.text, &q.rubric),
                "{}",
                q.id
            );
        }
        for split in [Split::Tune, Split::Heldout] {
            assert!(set.answers.iter().any(|a| a.split == split));
        }
    }

    #[test]
    fn inconsistent_sets_are_refused_with_every_problem() {
        let text = r#"
            [[question]]
            id = "q1"
            interview_type = "backend"
            split = "tune"
            text = "Why?"
            rubric = ["Because"]
            [[answer]]
            id = "a1"
            question_id = "q1"
            kind = "good"
            label = 6
            split = "heldout"
            answer = "x"
            [[answer]]
            id = "a1"
            question_id = "q9"
            kind = "good"
            label = 3
            split = "tune"
            answer = "y"
        "#;
        let error = GradedSet::parse(text)
            .expect_err("inconsistent")
            .to_string();
        for problem in [
            "label 6",
            "differs from its question",
            "q9 is not in the set",
            "used twice",
        ] {
            assert!(error.contains(problem), "{problem}: {error}");
        }
    }

    /// The keyword-only baseline of BENCHMARKS.md (what every score falls back to when the
    /// model's assessment is rejected): `cargo test --lib keyword_baseline -- --nocapture`.
    #[test]
    fn keyword_baseline() {
        use crate::interview::feedback::assessment::{fallback_score, rubric_coverage};
        use crate::interview::words::word_count;
        let set = GradedSet::bundled().expect("set");
        let report = run(
            &set,
            &[Split::Tune, Split::Heldout],
            |q, a| {
                fallback_score(
                    &rubric_coverage(&a.answer, &q.rubric),
                    word_count(&a.answer),
                )
            },
            |_| {},
        );
        eprintln!("{}", report.table());
        assert_eq!(report.all.answers, set.answers.len());
        assert!(
            !report.missed_targets().is_empty(),
            "keyword matching alone does not meet the targets (pasted rubric wording scores high)"
        );
    }

    #[test]
    fn a_constant_grader_misses_the_targets_and_a_perfect_one_meets_them() {
        let set = GradedSet::bundled().expect("set");
        let both = [Split::Tune, Split::Heldout];
        let constant = run(&set, &both, |_, _| 3, |_| {});
        assert_eq!(constant.all.spearman, 0.0);
        assert!(!constant.missed_targets().is_empty());
        assert_eq!(constant.all.answers, set.answers.len());

        let oracle = run(&set, &both, |_, a| a.label, |_| {});
        assert!((oracle.heldout.spearman - 1.0).abs() < 1e-9);
        assert_eq!(oracle.all.mean_abs_error, 0.0);
        assert_eq!(oracle.missed_targets(), Vec::<String>::new());
        let diagonal: usize = (0..5).map(|i| oracle.all.confusion[i][i]).sum();
        assert_eq!(diagonal, set.answers.len());
        assert!(oracle.table().contains("| heldout |"));
    }
}
