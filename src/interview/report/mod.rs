//! An interview's report, computed from its planned questions and the stored feedback on its
//! answers. Pure: no I/O.
//!
//! The formulas, on the 1–5 answer scores of [`super::feedback`]:
//! - a question's score is the mean of its answers' scores (the main answer and the answer to
//!   its follow-up, when there was one);
//! - the overall score is `100 × (mean question score − 1) / 4` over the questions that were
//!   answered, rounded: 1 → 0, 3 → 50, 5 → 100; questions never reached do not count, and the
//!   report says how many were answered;
//! - a skill's score is the same scale over the answered questions that practise it.
//!
//! Delivery is compared with recommended ranges ([`RANGES`]): means over the spoken answers,
//! except the longest pause, which is the longest of any answer.

pub mod pdf;
pub mod progress;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::feedback::TurnFeedback;
use crate::domain::MessageId;

/// A planned question with the skills it practises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportQuestion {
    pub position: i32,
    pub text: String,
    pub skills: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Report {
    /// 0–100; `None` before any answer was assessed.
    pub overall: Option<u32>,
    pub questions_planned: usize,
    pub questions_answered: usize,
    pub questions: Vec<QuestionResult>,
    pub skills: Vec<SkillResult>,
    /// From the best-scored answers, best first (at most three).
    pub strengths: Vec<String>,
    /// From the lowest-scored answers, lowest first (at most three).
    pub improvements: Vec<String>,
    pub delivery: DeliverySummary,
    /// Every assessed answer, in the order of the questions.
    pub answers: Vec<AnswerResult>,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AnswerResult {
    pub question_position: i32,
    pub message_id: MessageId,
    /// 1–5.
    pub score: i32,
    pub words_per_minute: Option<f64>,
    pub filler_count: u64,
    pub duration_ms: Option<u64>,
    pub longest_pause_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QuestionResult {
    pub position: i32,
    pub text: String,
    /// Mean of its answers' 1–5 scores; `None` when it was not answered.
    pub score: Option<f64>,
    pub answers: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SkillResult {
    pub skill: String,
    /// The skill's display name (its slug when the catalog has none).
    pub name: String,
    /// 0–100.
    pub score: u32,
    pub questions: usize,
}

/// Delivery over the spoken answers (typed ones have no timings).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DeliverySummary {
    pub spoken_answers: usize,
    /// Mean of the answers' rates.
    pub words_per_minute: Option<f64>,
    pub filler_count: u64,
    pub longest_pause_ms: Option<u64>,
    /// Each metric against its recommended range.
    pub checks: Vec<DeliveryCheck>,
}

/// A delivery metric against its recommended range.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DeliveryCheck {
    pub metric: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    /// `None` without spoken answers.
    pub value: Option<f64>,
    pub low: f64,
    pub high: f64,
    pub verdict: Option<Verdict>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Below,
    Within,
    Above,
}

/// A recommended range for one delivery metric.
pub struct Range {
    pub metric: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    pub low: f64,
    pub high: f64,
}

/// What the report recommends. Conversational speaking rates sit around 120–160 words per
/// minute; a few fillers a minute pass unnoticed; a pause over 3 s reads as lost; interview
/// answers land best between half a minute and two and a half; a start within 5 s shows
/// composure.
pub const RANGES: [Range; 5] = [
    Range {
        metric: "words_per_minute",
        label: "Speaking rate",
        unit: "words/min",
        low: 120.0,
        high: 160.0,
    },
    Range {
        metric: "fillers_per_minute",
        label: "Filler words",
        unit: "per min",
        low: 0.0,
        high: 3.0,
    },
    Range {
        metric: "longest_pause_seconds",
        label: "Longest pause",
        unit: "s",
        low: 0.0,
        high: 3.0,
    },
    Range {
        metric: "answer_seconds",
        label: "Answer length",
        unit: "s",
        low: 30.0,
        high: 150.0,
    },
    Range {
        metric: "first_word_seconds",
        label: "Time to first word",
        unit: "s",
        low: 0.0,
        high: 5.0,
    },
];

/// `100 × (score − 1) / 4`, rounded, for a mean 1–5 score.
pub fn to_percent(score: f64) -> u32 {
    (100.0 * (score.clamp(1.0, 5.0) - 1.0) / 4.0).round() as u32
}

const TOP: usize = 3;

/// `skill_names`: display names by slug.
pub fn build(
    questions: &[ReportQuestion],
    feedback: &[TurnFeedback],
    skill_names: &HashMap<String, String>,
) -> Report {
    let results: Vec<QuestionResult> = questions
        .iter()
        .map(|q| {
            let scores: Vec<f64> = feedback
                .iter()
                .filter(|f| f.question_position == q.position)
                .map(|f| f64::from(f.score))
                .collect();
            QuestionResult {
                position: q.position,
                text: q.text.clone(),
                score: mean(&scores),
                answers: scores.len(),
            }
        })
        .collect();
    let answered: Vec<f64> = results.iter().filter_map(|r| r.score).collect();
    let overall = mean(&answered).map(to_percent);

    let mut by_skill: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for (question, result) in questions.iter().zip(&results) {
        if let Some(score) = result.score {
            for skill in &question.skills {
                by_skill.entry(skill).or_default().push(score);
            }
        }
    }
    let mut skills: Vec<SkillResult> = by_skill
        .into_iter()
        .filter_map(|(skill, scores)| {
            Some(SkillResult {
                name: skill_names
                    .get(skill)
                    .cloned()
                    .unwrap_or_else(|| skill.to_owned()),
                skill: skill.to_owned(),
                score: to_percent(mean(&scores)?),
                questions: scores.len(),
            })
        })
        .collect();
    skills.sort_by(|a, b| b.score.cmp(&a.score).then_with(|| a.skill.cmp(&b.skill)));

    let mut ranked: Vec<&TurnFeedback> = feedback.iter().collect();
    ranked.sort_by_key(|f| std::cmp::Reverse(f.score));
    let strengths = distinct(ranked.iter().map(|f| f.strength.as_str()));
    let improvements = distinct(ranked.iter().rev().map(|f| f.improvement.as_str()));

    let delivery = delivery_summary(feedback);
    let summary = summary(overall, &results, &skills);
    let answers = feedback
        .iter()
        .map(|f| AnswerResult {
            question_position: f.question_position,
            message_id: f.message_id.clone(),
            score: f.score,
            words_per_minute: number(f, "words_per_minute"),
            filler_count: f
                .delivery
                .get("filler_count")
                .and_then(|v| v.as_u64())
                .unwrap_or(0),
            duration_ms: f.delivery.get("duration_ms").and_then(|v| v.as_u64()),
            longest_pause_ms: f.delivery.get("longest_pause_ms").and_then(|v| v.as_u64()),
        })
        .collect();
    Report {
        overall,
        questions_planned: questions.len(),
        questions_answered: answered.len(),
        questions: results,
        skills,
        strengths,
        improvements,
        delivery,
        answers,
        summary,
    }
}

fn number(feedback: &TurnFeedback, key: &str) -> Option<f64> {
    feedback.delivery.get(key).and_then(|v| v.as_f64())
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// The first [`TOP`] different, non-empty texts.
fn distinct<'a>(texts: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for text in texts.map(str::trim).filter(|t| !t.is_empty()) {
        if out.len() == TOP {
            break;
        }
        if !out.iter().any(|seen| seen == text) {
            out.push(text.to_owned());
        }
    }
    out
}

fn delivery_summary(feedback: &[TurnFeedback]) -> DeliverySummary {
    let values =
        |key: &str| -> Vec<f64> { feedback.iter().filter_map(|f| number(f, key)).collect() };
    let longest_pause_ms = feedback
        .iter()
        .filter_map(|f| f.delivery.get("longest_pause_ms").and_then(|v| v.as_u64()))
        .max();
    let measured = |metric: &str| -> Option<f64> {
        match metric {
            "words_per_minute" => mean(&values("words_per_minute")),
            "fillers_per_minute" => mean(&values("fillers_per_minute")),
            "longest_pause_seconds" => longest_pause_ms.map(|ms| ms as f64 / 1000.0),
            "answer_seconds" => mean(&values("duration_ms")).map(|ms| ms / 1000.0),
            "first_word_seconds" => mean(&values("time_to_first_word_ms")).map(|ms| ms / 1000.0),
            _ => None,
        }
    };
    let checks = RANGES
        .iter()
        .map(|range| {
            let value = measured(range.metric);
            DeliveryCheck {
                metric: range.metric,
                label: range.label,
                unit: range.unit,
                value,
                low: range.low,
                high: range.high,
                verdict: value.map(|v| verdict(v, range)),
            }
        })
        .collect();
    DeliverySummary {
        spoken_answers: values("duration_ms").len(),
        words_per_minute: mean(&values("words_per_minute")),
        filler_count: feedback
            .iter()
            .filter_map(|f| f.delivery.get("filler_count").and_then(|v| v.as_u64()))
            .sum(),
        longest_pause_ms,
        checks,
    }
}

fn verdict(value: f64, range: &Range) -> Verdict {
    if value < range.low {
        Verdict::Below
    } else if value > range.high {
        Verdict::Above
    } else {
        Verdict::Within
    }
}

fn summary(overall: Option<u32>, results: &[QuestionResult], skills: &[SkillResult]) -> String {
    let answered = results.iter().filter(|r| r.score.is_some()).count();
    let Some(overall) = overall else {
        return format!(
            "No answer has been assessed yet (questions planned: {}).",
            results.len()
        );
    };
    let mut text = format!(
        "You answered {answered} of {} questions, for an overall score of {overall}/100.",
        results.len()
    );
    if let (Some(best), Some(weakest)) = (skills.first(), skills.last()) {
        if skills.len() > 1 && best.score > weakest.score {
            text.push_str(&format!(
                " Strongest skill: {} ({}); the one to practise next: {} ({}).",
                best.name, best.score, weakest.name, weakest.score
            ));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FeedbackSource;

    fn question(position: i32, skills: &[&str]) -> ReportQuestion {
        ReportQuestion {
            position,
            text: format!("Question {position}?"),
            skills: skills.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn feedback(position: i32, score: i32, delivery: serde_json::Value) -> TurnFeedback {
        TurnFeedback {
            id: format!("f{position}-{score}"),
            message_id: format!("m{position}-{score}").into(),
            question_position: position,
            score,
            rubric: Vec::new(),
            strength: format!("strength {score}"),
            improvement: format!("improve {score}"),
            source: FeedbackSource::Model,
            fallback_reason: None,
            flag: None,
            delivery,
            created_at: chrono::DateTime::default(),
        }
    }

    #[test]
    fn numbers_match_the_documented_formulas() {
        let questions = [
            question(1, &["teamwork", "communication"]),
            question(2, &["communication"]),
            question(3, &["ownership"]),
        ];
        let spoken = |wpm: f64, fillers: u64, pause: u64| {
            serde_json::json!({"duration_ms": 10_000, "words_per_minute": wpm,
                "filler_count": fillers, "longest_pause_ms": pause})
        };
        let typed = serde_json::json!({"duration_ms": null, "words_per_minute": null,
            "filler_count": 0, "longest_pause_ms": null});
        let feedback = [
            feedback(1, 4, spoken(150.0, 2, 900)),
            feedback(1, 2, spoken(110.0, 3, 2_400)),
            feedback(2, 5, typed),
        ];
        let names = HashMap::from([("teamwork".to_owned(), "Teamwork".to_owned())]);
        let report = build(&questions, &feedback, &names);
        // Question 1: (4 + 2) / 2 = 3; question 2: 5; question 3 not answered.
        assert_eq!(report.questions[0].score, Some(3.0));
        assert_eq!(report.questions[1].score, Some(5.0));
        assert_eq!(report.questions[2].score, None);
        assert_eq!(
            (report.questions_planned, report.questions_answered),
            (3, 2)
        );
        // Overall: mean(3, 5) = 4 → 100 × 3/4 = 75.
        assert_eq!(report.overall, Some(75));
        // communication: mean(3, 5) = 4 → 75; teamwork: 3 → 50; ownership: not answered.
        let skills: Vec<(&str, u32, usize)> = report
            .skills
            .iter()
            .map(|s| (s.skill.as_str(), s.score, s.questions))
            .collect();
        assert_eq!(skills, [("communication", 75, 2), ("teamwork", 50, 1)]);
        assert_eq!(report.skills[1].name, "Teamwork");
        assert_eq!(report.strengths, ["strength 5", "strength 4", "strength 2"]);
        assert_eq!(report.improvements, ["improve 2", "improve 4", "improve 5"]);
        let delivery = &report.delivery;
        assert_eq!(
            (delivery.spoken_answers, delivery.words_per_minute),
            (2, Some(130.0))
        );
        assert_eq!(
            (delivery.filler_count, delivery.longest_pause_ms),
            (5, Some(2_400))
        );
        // Against the ranges: 130 wpm within 120–160; pauses of at most 2.4 s within 3 s;
        // 10 s answers below 30 s; fillers and first words were not measured here.
        let checks: Vec<(&str, Option<f64>, Option<Verdict>)> = delivery
            .checks
            .iter()
            .map(|c| (c.metric, c.value, c.verdict))
            .collect();
        assert_eq!(
            checks,
            [
                ("words_per_minute", Some(130.0), Some(Verdict::Within)),
                ("fillers_per_minute", None, None),
                ("longest_pause_seconds", Some(2.4), Some(Verdict::Within)),
                ("answer_seconds", Some(10.0), Some(Verdict::Below)),
                ("first_word_seconds", None, None),
            ]
        );
        let answers: Vec<(i32, i32, Option<f64>, u64)> = report
            .answers
            .iter()
            .map(|a| {
                (
                    a.question_position,
                    a.score,
                    a.words_per_minute,
                    a.filler_count,
                )
            })
            .collect();
        assert_eq!(
            answers,
            [
                (1, 4, Some(150.0), 2),
                (1, 2, Some(110.0), 3),
                (2, 5, None, 0)
            ]
        );
        assert_eq!(
            report.summary,
            "You answered 2 of 3 questions, for an overall score of 75/100. Strongest skill: \
             communication (75); the one to practise next: Teamwork (50)."
        );
    }

    #[test]
    fn the_scale_maps_one_to_zero_and_five_to_a_hundred() {
        assert_eq!(to_percent(1.0), 0);
        assert_eq!(to_percent(3.0), 50);
        assert_eq!(to_percent(5.0), 100);
        assert_eq!(to_percent(3.5), 63);
        assert_eq!(to_percent(9.0), 100, "clamped");
    }

    #[test]
    fn a_report_before_any_feedback_says_so() {
        let report = build(&[question(1, &["teamwork"])], &[], &HashMap::new());
        assert_eq!(report.overall, None);
        assert!(report.skills.is_empty() && report.strengths.is_empty());
        assert_eq!(
            report.summary,
            "No answer has been assessed yet (questions planned: 1)."
        );
    }
}
