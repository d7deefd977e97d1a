//! The catalog: interview types, skills, the skills suggested for each type, and the question
//! bank.
//!
//! The bank ships inside the binary (`questions.toml`, read with `include_str!`) and is written
//! to the database on every start by [`seed`]. Who owns a question is its `source`:
//!
//! - `bank`: the row follows `questions.toml`. Each start inserts questions that are new in the
//!   file, rewrites rows whose wording, rubric, difficulty or skills changed there, and disables
//!   (never deletes: planned interviews point at them) bank rows whose id left the file.
//! - `admin`: created through the API, or a bank question an admin has edited or disabled. The
//!   seeder never touches these rows again, so an admin's change survives every restart and
//!   every new release of the file.
//!
//! Interview types, skills and suggested skills are not editable through the API: the file is
//! their only source, and the seeder makes the tables match it (it never removes a type or
//! skill, which questions and interviews may still reference).
//!
//! Seeding writes nothing when the database already matches, so running it twice changes no
//! row (not even a timestamp).

mod seed;
mod service;

pub use seed::{seed, seed_rows, SeedReport};
pub use service::{
    create_question, list_interview_types, list_questions, list_skills, update_question,
    CatalogError, InterviewType, NewQuestion, Question, QuestionChanges, Skill,
};

use std::collections::HashSet;

use serde::Deserialize;

use crate::domain::{Invalid, QuestionId};

/// The bank bundled into the binary.
pub const BUNDLED_BANK: &str = include_str!("questions.toml");

/// Longest question text, in characters (questions are spoken aloud: keep them short).
pub const MAX_QUESTION_CHARS: usize = 500;
/// Longest rubric point, in characters.
pub const MAX_RUBRIC_POINT_CHARS: usize = 200;
/// Rubric points per question.
pub const RUBRIC_POINTS: std::ops::RangeInclusive<usize> = 2..=5;
/// Skills per question.
pub const SKILLS_PER_QUESTION: std::ops::RangeInclusive<usize> = 1..=5;

pub use crate::domain::Difficulty;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterviewTypeDef {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub suggested_skills: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkillDef {
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionDef {
    pub id: QuestionId,
    pub interview_type: String,
    pub skills: Vec<String>,
    pub difficulty: Difficulty,
    pub text: String,
    pub rubric: Vec<String>,
}

/// A parsed and validated question bank file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bank {
    #[serde(rename = "interview_type")]
    pub interview_types: Vec<InterviewTypeDef>,
    #[serde(rename = "skill")]
    pub skills: Vec<SkillDef>,
    #[serde(rename = "question")]
    pub questions: Vec<QuestionDef>,
}

#[derive(Debug, thiserror::Error)]
pub enum BankError {
    #[error("question bank is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("question bank has {} problem(s): {}", .0.len(), .0.join("; "))]
    Invalid(Vec<String>),
}

impl Bank {
    /// The bank compiled into the binary.
    pub fn bundled() -> Result<Self, BankError> {
        Self::parse(BUNDLED_BANK)
    }

    /// Parses a bank file and checks it whole; every problem found is reported, not just the
    /// first.
    pub fn parse(text: &str) -> Result<Self, BankError> {
        let bank: Self = toml::from_str(text)?;
        let problems = bank.problems();
        if problems.is_empty() {
            Ok(bank)
        } else {
            Err(BankError::Invalid(problems))
        }
    }

    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut check = |result: Result<(), Invalid>, context: &str| {
            if let Err(Invalid(why)) = result {
                problems.push(format!("{context}: {why}"));
            }
        };

        let mut type_slugs = HashSet::new();
        for t in &self.interview_types {
            let context = format!("interview type `{}`", t.slug);
            check(check_slug(&t.slug), &context);
            check(check_name(&t.name), &context);
            if !type_slugs.insert(t.slug.as_str()) {
                check(Err(Invalid("listed twice".into())), &context);
            }
        }
        let mut skill_slugs = HashSet::new();
        for s in &self.skills {
            let context = format!("skill `{}`", s.slug);
            check(check_slug(&s.slug), &context);
            check(check_name(&s.name), &context);
            if !skill_slugs.insert(s.slug.as_str()) {
                check(Err(Invalid("listed twice".into())), &context);
            }
        }
        let known_skill = |s: &str| skill_slugs.contains(s);
        for t in &self.interview_types {
            let context = format!("interview type `{}`", t.slug);
            check(
                check_skill_list(&t.suggested_skills, known_skill, 1..=20).map(drop),
                &format!("{context} suggested_skills"),
            );
        }
        let mut ids = HashSet::new();
        for q in &self.questions {
            let context = format!("question `{}`", q.id);
            check(check_slug(q.id.as_str()), &context);
            if !ids.insert(q.id.as_str()) {
                check(Err(Invalid("id used twice".into())), &context);
            }
            if !type_slugs.contains(q.interview_type.as_str()) {
                check(
                    Err(Invalid(format!(
                        "unknown interview type `{}`",
                        q.interview_type
                    ))),
                    &context,
                );
            }
            check(
                check_skill_list(&q.skills, known_skill, SKILLS_PER_QUESTION).map(drop),
                &context,
            );
            check(check_text(&q.text).map(drop), &context);
            check(check_rubric(&q.rubric).map(drop), &context);
        }
        problems
    }
}

/// Slugs and ids: lowercase ASCII letters, digits and single hyphens, 1–64 characters.
fn check_slug(slug: &str) -> Result<(), Invalid> {
    let well_formed = !slug.is_empty()
        && slug.len() <= 64
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !slug.contains("--");
    if well_formed {
        Ok(())
    } else {
        Err(Invalid(format!(
            "`{slug}` is not a slug (lowercase letters, digits and single hyphens)"
        )))
    }
}

fn check_name(name: &str) -> Result<(), Invalid> {
    if name.trim().is_empty() {
        Err(Invalid("name is empty".into()))
    } else {
        Ok(())
    }
}

/// A question's text: trimmed, not empty, at most [`MAX_QUESTION_CHARS`].
pub fn check_text(text: &str) -> Result<String, Invalid> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Invalid("text: must not be empty".into()));
    }
    let chars = text.chars().count();
    if chars > MAX_QUESTION_CHARS {
        return Err(Invalid(format!(
            "text: {chars} characters is too long (at most {MAX_QUESTION_CHARS}; it is read aloud)"
        )));
    }
    Ok(text.to_owned())
}

/// A rubric: [`RUBRIC_POINTS`] points, each trimmed, not empty, at most
/// [`MAX_RUBRIC_POINT_CHARS`].
pub fn check_rubric(points: &[String]) -> Result<Vec<String>, Invalid> {
    if !RUBRIC_POINTS.contains(&points.len()) {
        return Err(Invalid(format!(
            "rubric: needs {} to {} points, got {}",
            RUBRIC_POINTS.start(),
            RUBRIC_POINTS.end(),
            points.len()
        )));
    }
    points
        .iter()
        .enumerate()
        .map(|(i, point)| {
            let point = point.trim();
            let chars = point.chars().count();
            if point.is_empty() {
                Err(Invalid(format!("rubric: point {} is empty", i + 1)))
            } else if chars > MAX_RUBRIC_POINT_CHARS {
                Err(Invalid(format!(
                    "rubric: point {} is {chars} characters (at most {MAX_RUBRIC_POINT_CHARS})",
                    i + 1
                )))
            } else {
                Ok(point.to_owned())
            }
        })
        .collect()
}

/// A list of skill slugs: between `count`'s bounds, no repeats, each one known.
pub fn check_skill_list(
    skills: &[String],
    known: impl Fn(&str) -> bool,
    count: std::ops::RangeInclusive<usize>,
) -> Result<Vec<String>, Invalid> {
    if !count.contains(&skills.len()) {
        return Err(Invalid(format!(
            "skills: needs {} to {}, got {}",
            count.start(),
            count.end(),
            skills.len()
        )));
    }
    let mut seen = HashSet::new();
    for skill in skills {
        if !known(skill) {
            return Err(Invalid(format!("skills: unknown skill `{skill}`")));
        }
        if !seen.insert(skill.as_str()) {
            return Err(Invalid(format!("skills: `{skill}` is listed twice")));
        }
    }
    Ok(skills.to_vec())
}

/// A JSON array of strings from a Text JSON column; a value that is not one reads as empty
/// (and is logged), rather than failing the whole request.
pub(crate) fn json_strings(column: &str, raw: &str) -> Vec<String> {
    serde_json::from_str(raw).unwrap_or_else(|e| {
        tracing::warn!(column, error = %e, "column does not hold a JSON array of strings");
        Vec::new()
    })
}

pub(crate) fn to_json(strings: &[String]) -> String {
    // A list of strings always serialises.
    serde_json::to_string(strings).unwrap_or_else(|_| "[]".into())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const SMALL: &str = r#"
        [[interview_type]]
        slug = "backend"
        name = "Backend"
        description = "Servers."
        suggested_skills = ["databases"]

        [[skill]]
        slug = "databases"
        name = "Databases"

        [[question]]
        id = "backend-001"
        interview_type = "backend"
        skills = ["databases"]
        difficulty = "easy"
        text = "  What is an index?  "
        rubric = ["Speeds up reads", "Costs writes"]
    "#;

    #[test]
    fn the_bundled_bank_is_valid_and_big_enough() {
        let bank = Bank::bundled().expect("bundled bank parses");
        assert_eq!(bank.interview_types.len(), 7);
        assert_eq!(bank.skills.len(), 34);
        assert!(bank.questions.len() >= 150, "{}", bank.questions.len());
        let types: HashSet<_> = bank.interview_types.iter().map(|t| &*t.slug).collect();
        for required in [
            "behavioral",
            "system-design",
            "backend",
            "frontend",
            "data-structures-algorithms",
            "product-management",
            "data-science",
        ] {
            assert!(types.contains(required), "missing type {required}");
        }
    }

    #[test]
    fn every_suggested_skill_has_questions_at_every_difficulty_of_its_type() {
        let bank = Bank::bundled().expect("bundled bank parses");
        let mut by_type: HashMap<&str, Vec<&QuestionDef>> = HashMap::new();
        for q in &bank.questions {
            by_type.entry(&q.interview_type).or_default().push(q);
        }
        for t in &bank.interview_types {
            let questions = &by_type[t.slug.as_str()];
            for difficulty in [Difficulty::Easy, Difficulty::Medium, Difficulty::Hard] {
                assert!(
                    questions
                        .iter()
                        .filter(|q| q.difficulty == difficulty)
                        .count()
                        >= 5,
                    "{} has few {difficulty} questions",
                    t.slug
                );
            }
            for skill in &t.suggested_skills {
                assert!(
                    questions.iter().any(|q| q.skills.contains(skill)),
                    "{} suggests {skill} but has no question on it",
                    t.slug
                );
            }
        }
    }

    #[test]
    fn a_small_bank_parses() {
        let bank = Bank::parse(SMALL).expect("valid");
        assert_eq!(bank.questions[0].difficulty, Difficulty::Easy);
        assert_eq!(bank.interview_types[0].suggested_skills, ["databases"]);
    }

    fn problems_of(text: &str) -> Vec<String> {
        match Bank::parse(text) {
            Err(BankError::Invalid(problems)) => problems,
            other => panic!("expected validation problems, got {other:?}"),
        }
    }

    #[test]
    fn every_problem_is_reported_with_its_place() {
        let broken = SMALL
            .replace(
                r#"suggested_skills = ["databases"]"#,
                r#"suggested_skills = ["dbs"]"#,
            )
            .replace(
                r#"rubric = ["Speeds up reads", "Costs writes"]"#,
                r#"rubric = ["Only one"]"#,
            )
            .replace(
                r#"interview_type = "backend""#,
                r#"interview_type = "cooking""#,
            );
        let problems = problems_of(&broken);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("unknown skill `dbs`"), "{problems:?}");
        assert!(problems[1].contains("unknown interview type `cooking`"));
        assert!(problems[2].contains("rubric: needs 2 to 5 points, got 1"));
    }

    #[test]
    fn duplicate_ids_and_bad_slugs_are_problems() {
        let question = &SMALL[SMALL.find("[[question]]").expect("question")..];
        let doubled = format!("{SMALL}\n{question}");
        assert!(problems_of(&doubled)[0].contains("id used twice"));
        let bad = SMALL.replace(r#"id = "backend-001""#, r#"id = "Backend 1""#);
        assert!(problems_of(&bad)[0].contains("is not a slug"));
    }

    #[test]
    fn unknown_fields_and_difficulties_are_rejected() {
        let extra = SMALL.replace(r#"name = "Databases""#, "name = \"Databases\"\ncolour = 1");
        assert!(matches!(Bank::parse(&extra), Err(BankError::Toml(_))));
        let bad = SMALL.replace(r#"difficulty = "easy""#, r#"difficulty = "trivial""#);
        assert!(matches!(Bank::parse(&bad), Err(BankError::Toml(_))));
    }

    #[test]
    fn text_and_rubric_checks() {
        assert_eq!(check_text("  Why?  ").expect("ok"), "Why?");
        assert!(check_text("   ").is_err());
        assert!(check_text(&"a".repeat(MAX_QUESTION_CHARS + 1)).is_err());
        let points = |n: usize| vec!["point".to_owned(); n];
        assert!(check_rubric(&points(1)).is_err());
        assert!(check_rubric(&points(2)).is_ok());
        assert!(check_rubric(&points(5)).is_ok());
        assert!(check_rubric(&points(6)).is_err());
        assert!(check_rubric(&["ok".into(), " ".into()]).is_err());
    }

    #[test]
    fn skill_list_checks() {
        let known = |s: &str| s == "sql" || s == "css";
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(check_skill_list(&list(&["sql", "css"]), known, 1..=5).is_ok());
        assert!(check_skill_list(&list(&[]), known, 1..=5).is_err());
        let err = check_skill_list(&list(&["sql", "sql"]), known, 1..=5).expect_err("twice");
        assert!(err.0.contains("listed twice"));
        let err = check_skill_list(&list(&["rust"]), known, 1..=5).expect_err("unknown");
        assert!(err.0.contains("unknown skill `rust`"));
    }

    #[test]
    fn difficulty_round_trips_and_measures_distance() {
        for d in [Difficulty::Easy, Difficulty::Medium, Difficulty::Hard] {
            assert_eq!(Difficulty::parse(d.as_str()).expect("parses"), d);
        }
        assert!(Difficulty::parse("Easy").is_err());
        assert_eq!(Difficulty::Easy.distance(Difficulty::Hard), 2);
        assert_eq!(Difficulty::Hard.distance(Difficulty::Medium), 1);
    }
}
