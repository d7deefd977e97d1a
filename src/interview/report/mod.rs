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

use std::collections::BTreeMap;

use serde::Serialize;

use super::feedback::TurnFeedback;

/// A planned question with the skills it practises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportQuestion {
    pub position: i32,
    pub text: String,
    pub skills: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
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
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuestionResult {
    pub position: i32,
    pub text: String,
    /// Mean of its answers' 1–5 scores; `None` when it was not answered.
    pub score: Option<f64>,
    pub answers: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkillResult {
    pub skill: String,
    /// 0–100.
    pub score: u32,
    pub questions: usize,
}

/// Delivery over the spoken answers (typed ones have no timings).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliverySummary {
    pub spoken_answers: usize,
    /// Mean of the answers' rates.
    pub words_per_minute: Option<f64>,
    pub filler_count: u64,
    pub longest_pause_ms: Option<u64>,
}

/// `100 × (score − 1) / 4`, rounded, for a mean 1–5 score.
pub fn to_percent(score: f64) -> u32 {
    (100.0 * (score.clamp(1.0, 5.0) - 1.0) / 4.0).round() as u32
}

const TOP: usize = 3;

pub fn build(questions: &[ReportQuestion], feedback: &[TurnFeedback]) -> Report {
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
    Report {
        overall,
        questions_planned: questions.len(),
        questions_answered: answered.len(),
        questions: results,
        skills,
        strengths,
        improvements,
        delivery,
        summary,
    }
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
    let number = |f: &TurnFeedback, key: &str| f.delivery.get(key).and_then(|v| v.as_f64());
    let rates: Vec<f64> = feedback
        .iter()
        .filter_map(|f| number(f, "words_per_minute"))
        .collect();
    DeliverySummary {
        spoken_answers: feedback
            .iter()
            .filter(|f| number(f, "duration_ms").is_some())
            .count(),
        words_per_minute: mean(&rates),
        filler_count: feedback
            .iter()
            .filter_map(|f| f.delivery.get("filler_count").and_then(|v| v.as_u64()))
            .sum(),
        longest_pause_ms: feedback
            .iter()
            .filter_map(|f| f.delivery.get("longest_pause_ms").and_then(|v| v.as_u64()))
            .max(),
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
                best.skill, best.score, weakest.skill, weakest.score
            ));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

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
            message_id: format!("m{position}-{score}"),
            question_position: position,
            score,
            rubric: Vec::new(),
            strength: format!("strength {score}"),
            improvement: format!("improve {score}"),
            source: "model".into(),
            fallback_reason: None,
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
        let report = build(&questions, &feedback);
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
        assert_eq!(report.strengths, ["strength 5", "strength 4", "strength 2"]);
        assert_eq!(report.improvements, ["improve 2", "improve 4", "improve 5"]);
        assert_eq!(
            report.delivery,
            DeliverySummary {
                spoken_answers: 2,
                words_per_minute: Some(130.0),
                filler_count: 5,
                longest_pause_ms: Some(2_400),
            }
        );
        assert_eq!(
            report.summary,
            "You answered 2 of 3 questions, for an overall score of 75/100. Strongest skill: \
             communication (75); the one to practise next: teamwork (50)."
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
        let report = build(&[question(1, &["teamwork"])], &[]);
        assert_eq!(report.overall, None);
        assert!(report.skills.is_empty() && report.strengths.is_empty());
        assert_eq!(
            report.summary,
            "No answer has been assessed yet (questions planned: 1)."
        );
    }
}
