//! Progress across a candidate's completed interviews: each skill's score over time, the
//! weakest skill, and the interview to do next. Pure: no I/O.
//!
//! - A skill's points are its report scores (0–100), oldest first; `change` is the latest
//!   minus the first.
//! - The weakest skill is the one with the lowest latest score (ties: fewer interviews, then
//!   name).
//! - The suggestion practises the weakest skill in the interview type it was last scored in,
//!   at a difficulty that fits its score: under 40 easy, under 70 medium, else hard.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::SkillResult;
use crate::domain::InterviewId;

/// What progress needs of one completed interview.
pub struct CompletedInterview {
    pub id: InterviewId,
    pub interview_type: String,
    pub completed_at: DateTime<Utc>,
    pub skills: Vec<SkillResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Progress {
    pub completed_interviews: usize,
    pub skills: Vec<SkillTrend>,
    pub weakest: Option<Weakest>,
    pub suggestion: Option<Suggestion>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SkillTrend {
    pub skill: String,
    pub name: String,
    pub points: Vec<TrendPoint>,
    pub latest: u32,
    /// Latest minus first; `None` with a single point.
    pub change: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TrendPoint {
    pub interview_id: InterviewId,
    pub completed_at: DateTime<Utc>,
    pub score: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Weakest {
    pub skill: String,
    pub name: String,
    pub score: u32,
}

/// The body of a `POST /interviews` that practises what needs it most.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Suggestion {
    pub interview_type: String,
    pub skills: Vec<String>,
    pub difficulty: &'static str,
    pub question_count: i32,
    pub time_limit_minutes: i32,
    pub reason: String,
}

const SUGGESTED_QUESTIONS: i32 = 5;
const SUGGESTED_MINUTES: i32 = 30;

/// `interviews` in any order; `type_names`: interview types' display names by slug.
pub fn build(
    mut interviews: Vec<CompletedInterview>,
    type_names: &HashMap<String, String>,
) -> Progress {
    interviews.sort_by_key(|i| i.completed_at);
    // Per skill: its name and its points.
    let mut by_skill: BTreeMap<String, (String, Vec<TrendPoint>)> = BTreeMap::new();
    for interview in &interviews {
        for skill in &interview.skills {
            let entry = by_skill.entry(skill.skill.clone()).or_default();
            entry.0.clone_from(&skill.name);
            entry.1.push(TrendPoint {
                interview_id: interview.id.clone(),
                completed_at: interview.completed_at,
                score: skill.score,
            });
        }
    }
    let skills: Vec<SkillTrend> = by_skill
        .into_iter()
        .filter_map(|(skill, (name, points))| {
            let first = points.first()?.score;
            let latest = points.last()?.score;
            Some(SkillTrend {
                name,
                change: (points.len() > 1).then(|| i64::from(latest) - i64::from(first)),
                skill,
                points,
                latest,
            })
        })
        .collect();
    let weakest = skills
        .iter()
        .min_by(|a, b| {
            (a.latest, a.points.len(), &a.skill).cmp(&(b.latest, b.points.len(), &b.skill))
        })
        .map(|s| Weakest {
            skill: s.skill.clone(),
            name: s.name.clone(),
            score: s.latest,
        });
    let suggestion = match &weakest {
        Some(weakest) => {
            // The type it was last scored in.
            let interview_type = interviews
                .iter()
                .rev()
                .find(|i| i.skills.iter().any(|s| s.skill == weakest.skill))
                .map(|i| i.interview_type.clone())
                .unwrap_or_default();
            let difficulty = difficulty_for(weakest.score);
            let type_name = type_names
                .get(&interview_type)
                .map_or(interview_type.as_str(), String::as_str);
            Some(Suggestion {
                reason: format!(
                    "{} is your weakest skill ({}/100 last time): {} {difficulty} {type_name} \
                     interview on it is the next step.",
                    weakest.name,
                    weakest.score,
                    if difficulty == "easy" { "an" } else { "a" },
                ),
                interview_type,
                skills: vec![weakest.skill.clone()],
                difficulty,
                question_count: SUGGESTED_QUESTIONS,
                time_limit_minutes: SUGGESTED_MINUTES,
            })
        }
        None => Some(Suggestion {
            interview_type: "behavioral".into(),
            skills: Vec::new(),
            difficulty: "medium",
            question_count: 3,
            time_limit_minutes: 15,
            reason: "No scored interview yet: a short behavioral interview gives you a baseline."
                .into(),
        }),
    };
    Progress {
        completed_interviews: interviews.len(),
        skills,
        weakest,
        suggestion,
    }
}

fn difficulty_for(score: u32) -> &'static str {
    match score {
        0..40 => "easy",
        40..70 => "medium",
        _ => "hard",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: u32) -> DateTime<Utc> {
        chrono::NaiveDate::from_ymd_opt(2026, 11, day)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .map(|t| t.and_utc())
            .expect("a valid date")
    }

    fn interview(id: &str, kind: &str, day: u32, scores: &[(&str, u32)]) -> CompletedInterview {
        let name = |slug: &str| match slug {
            "apis" => "APIs".to_owned(),
            other => other.to_owned(),
        };
        CompletedInterview {
            id: id.into(),
            interview_type: kind.into(),
            completed_at: at(day),
            skills: scores
                .iter()
                .map(|(skill, score)| SkillResult {
                    skill: (*skill).into(),
                    name: name(skill),
                    score: *score,
                    questions: 1,
                })
                .collect(),
        }
    }

    #[test]
    fn trends_run_oldest_first_and_the_weakest_skill_is_suggested() {
        let progress = build(
            vec![
                interview("c", "backend", 20, &[("databases", 35), ("apis", 80)]),
                interview("a", "backend", 2, &[("databases", 50), ("apis", 60)]),
                interview("b", "behavioral", 10, &[("teamwork", 45)]),
            ],
            &HashMap::from([("backend".to_owned(), "Backend".to_owned())]),
        );
        assert_eq!(progress.completed_interviews, 3);
        type Trend<'a> = (&'a str, &'a str, Vec<u32>, u32, Option<i64>);
        let trends: Vec<Trend> = progress
            .skills
            .iter()
            .map(|s| {
                let scores = s.points.iter().map(|p| p.score).collect();
                (
                    s.skill.as_str(),
                    s.name.as_str(),
                    scores,
                    s.latest,
                    s.change,
                )
            })
            .collect();
        assert_eq!(
            trends,
            [
                ("apis", "APIs", vec![60, 80], 80, Some(20)),
                ("databases", "databases", vec![50, 35], 35, Some(-15)),
                ("teamwork", "teamwork", vec![45], 45, None),
            ]
        );
        let weakest = progress.weakest.expect("a weakest skill");
        assert_eq!((weakest.skill.as_str(), weakest.score), ("databases", 35));
        let suggestion = progress.suggestion.expect("a suggestion");
        assert_eq!(suggestion.interview_type, "backend");
        assert_eq!(suggestion.skills, ["databases"]);
        assert_eq!(suggestion.difficulty, "easy", "35 is under 40");
        assert_eq!(
            suggestion.reason,
            "databases is your weakest skill (35/100 last time): an easy Backend interview on it \
             is the next step."
        );
    }

    #[test]
    fn ties_go_to_the_less_practised_skill() {
        let progress = build(
            vec![
                interview("a", "backend", 1, &[("apis", 70)]),
                interview("b", "frontend", 2, &[("apis", 55), ("css", 55)]),
            ],
            &HashMap::new(),
        );
        let weakest = progress.weakest.expect("a weakest skill");
        assert_eq!(weakest.skill, "css");
        let suggestion = progress.suggestion.expect("a suggestion");
        assert_eq!(
            (suggestion.interview_type.as_str(), suggestion.difficulty),
            ("frontend", "medium")
        );
    }

    #[test]
    fn without_history_a_baseline_interview_is_suggested() {
        let progress = build(Vec::new(), &HashMap::new());
        assert_eq!(progress.completed_interviews, 0);
        assert!(progress.skills.is_empty() && progress.weakest.is_none());
        let suggestion = progress.suggestion.expect("a suggestion");
        assert_eq!(suggestion.interview_type, "behavioral");
        assert!(suggestion.skills.is_empty());
    }

    #[test]
    fn difficulty_follows_the_score() {
        assert_eq!(difficulty_for(0), "easy");
        assert_eq!(difficulty_for(39), "easy");
        assert_eq!(difficulty_for(40), "medium");
        assert_eq!(difficulty_for(69), "medium");
        assert_eq!(difficulty_for(70), "hard");
    }
}
