//! Writing the bank file into the database (policy: see the module above).

use chrono::NaiveDateTime;

use super::{to_json, Bank};
use crate::db::catalog::{
    self, BankRows, InterviewTypeRow, QuestionRow, SkillRow, SuggestedSkillRow,
};
use crate::db::{DbError, DbPool};
use crate::domain::QuestionSource;

pub use crate::db::catalog::SyncReport as SeedReport;

/// Makes the catalog tables match `bank`; writes nothing when they already do.
#[tracing::instrument(skip_all)]
pub async fn seed(pool: &DbPool, bank: &Bank) -> Result<SeedReport, DbError> {
    let rows = seed_rows(bank, crate::db::now());
    let mut conn = pool.get().await?;
    let report = catalog::sync_bank(&mut conn, &rows).await?;
    if report.changed_anything() {
        tracing::info!(?report, "question bank seeded");
    }
    Ok(report)
}

/// The rows `bank` stands for, stamped `now`. Positions keep the file's order.
pub fn seed_rows(bank: &Bank, now: NaiveDateTime) -> BankRows {
    let position = |i: usize| i32::try_from(i).unwrap_or(i32::MAX);
    BankRows {
        interview_types: bank
            .interview_types
            .iter()
            .enumerate()
            .map(|(i, t)| InterviewTypeRow {
                slug: t.slug.clone(),
                name: t.name.trim().to_owned(),
                description: t.description.trim().to_owned(),
                position: position(i),
                created_at: now,
                updated_at: now,
            })
            .collect(),
        skills: bank
            .skills
            .iter()
            .enumerate()
            .map(|(i, s)| SkillRow {
                slug: s.slug.clone(),
                name: s.name.trim().to_owned(),
                position: position(i),
                created_at: now,
                updated_at: now,
            })
            .collect(),
        suggested: bank
            .interview_types
            .iter()
            .flat_map(|t| {
                t.suggested_skills
                    .iter()
                    .enumerate()
                    .map(|(i, skill)| SuggestedSkillRow {
                        interview_type: t.slug.clone(),
                        skill: skill.clone(),
                        position: position(i),
                    })
            })
            .collect(),
        questions: bank
            .questions
            .iter()
            .map(|q| QuestionRow {
                id: q.id.clone(),
                interview_type: q.interview_type.clone(),
                difficulty: q.difficulty,
                text: q.text.trim().to_owned(),
                rubric: to_json(
                    &q.rubric
                        .iter()
                        .map(|p| p.trim().to_owned())
                        .collect::<Vec<_>>(),
                ),
                skills: to_json(&q.skills),
                enabled: true,
                source: QuestionSource::Bank,
                created_at: now,
                updated_at: now,
            })
            .collect(),
        synced_at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_keep_the_file_order_and_hold_json() {
        let bank = Bank::bundled().expect("bundled bank");
        let now = crate::db::now();
        let rows = seed_rows(&bank, now);
        assert_eq!(rows.interview_types.len(), bank.interview_types.len());
        assert_eq!(rows.interview_types[0].slug, bank.interview_types[0].slug);
        assert_eq!(rows.skills[3].position, 3);
        let suggested: usize = bank
            .interview_types
            .iter()
            .map(|t| t.suggested_skills.len())
            .sum();
        assert_eq!(rows.suggested.len(), suggested);
        let q = &rows.questions[0];
        let rubric: Vec<String> = serde_json::from_str(&q.rubric).expect("rubric is JSON");
        assert_eq!(rubric, bank.questions[0].rubric);
        assert!(rows
            .questions
            .iter()
            .all(|q| q.enabled && q.source == QuestionSource::Bank));
    }
}
