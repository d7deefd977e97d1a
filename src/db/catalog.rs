//! Queries on the catalog: `interview_types`, `skills`, `interview_type_skills`, `questions`.
//! JSON columns (`skills`, `rubric`) are Text holding a JSON array; the rows carry them raw.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::schema::{interview_type_skills, interview_types, questions, skills};
use super::{DbConn, DbError};
use crate::db_run;
use crate::domain::{Difficulty, QuestionId, QuestionSource};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = interview_types)]
pub struct InterviewTypeRow {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub position: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = skills)]
pub struct SkillRow {
    pub slug: String,
    pub name: String,
    pub position: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = interview_type_skills)]
pub struct SuggestedSkillRow {
    pub interview_type: String,
    pub skill: String,
    pub position: i32,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = questions)]
pub struct QuestionRow {
    pub id: QuestionId,
    pub interview_type: String,
    pub difficulty: Difficulty,
    pub text: String,
    /// JSON array of strings.
    pub rubric: String,
    /// JSON array of skill slugs.
    pub skills: String,
    pub enabled: bool,
    pub source: QuestionSource,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// An admin's edit of a question; `None` leaves a column as it is.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = questions)]
pub struct QuestionChangeset {
    pub difficulty: Option<Difficulty>,
    pub text: Option<String>,
    pub rubric: Option<String>,
    pub skills: Option<String>,
    pub enabled: Option<bool>,
    pub source: Option<QuestionSource>,
    pub updated_at: Option<NaiveDateTime>,
}

/// The catalog as the bank file says it should be (timestamps: the time of this sync).
#[derive(Debug, Clone, Default)]
pub struct BankRows {
    pub interview_types: Vec<InterviewTypeRow>,
    pub skills: Vec<SkillRow>,
    pub suggested: Vec<SuggestedSkillRow>,
    /// All with source `bank` and enabled.
    pub questions: Vec<QuestionRow>,
    /// `updated_at` for bank questions this sync disables.
    pub synced_at: NaiveDateTime,
}

/// Rows written by one [`sync_bank`]; all zero when the database already matched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    pub interview_types_written: usize,
    pub skills_written: usize,
    pub suggestions_written: usize,
    pub questions_inserted: usize,
    pub questions_updated: usize,
    pub questions_disabled: usize,
}

impl SyncReport {
    pub fn changed_anything(&self) -> bool {
        *self != Self::default()
    }
}

/// Makes the catalog tables match `bank`, in one transaction, writing only rows that differ.
/// Questions whose source is `admin` are never touched; bank questions missing from `bank`
/// are disabled. Types and skills missing from `bank` are left alone (rows may refer to them).
pub async fn sync_bank(conn: &mut DbConn, bank: &BankRows) -> Result<SyncReport, DbError> {
    db_run!(conn, {
        conn.transaction::<_, DbError, _>(async |conn| {
            let mut report = SyncReport::default();

            let existing: HashMap<String, InterviewTypeRow> = interview_types::table
                .select(InterviewTypeRow::as_select())
                .load(conn)
                .await?
                .into_iter()
                .map(|r| (r.slug.clone(), r))
                .collect();
            for t in &bank.interview_types {
                match existing.get(&t.slug) {
                    None => {
                        report.interview_types_written +=
                            diesel::insert_into(interview_types::table)
                                .values(t)
                                .on_conflict_do_nothing()
                                .execute(conn)
                                .await?;
                    }
                    Some(old)
                        if (&old.name, &old.description, old.position)
                            != (&t.name, &t.description, t.position) =>
                    {
                        report.interview_types_written +=
                            diesel::update(interview_types::table.find(&t.slug))
                                .set((
                                    interview_types::name.eq(&t.name),
                                    interview_types::description.eq(&t.description),
                                    interview_types::position.eq(t.position),
                                    interview_types::updated_at.eq(t.updated_at),
                                ))
                                .execute(conn)
                                .await?;
                    }
                    Some(_) => {}
                }
            }

            let existing: HashMap<String, SkillRow> = skills::table
                .select(SkillRow::as_select())
                .load(conn)
                .await?
                .into_iter()
                .map(|r| (r.slug.clone(), r))
                .collect();
            for s in &bank.skills {
                match existing.get(&s.slug) {
                    None => {
                        report.skills_written += diesel::insert_into(skills::table)
                            .values(s)
                            .on_conflict_do_nothing()
                            .execute(conn)
                            .await?;
                    }
                    Some(old) if (&old.name, old.position) != (&s.name, s.position) => {
                        report.skills_written += diesel::update(skills::table.find(&s.slug))
                            .set((
                                skills::name.eq(&s.name),
                                skills::position.eq(s.position),
                                skills::updated_at.eq(s.updated_at),
                            ))
                            .execute(conn)
                            .await?;
                    }
                    Some(_) => {}
                }
            }

            let existing: HashMap<(String, String), i32> = interview_type_skills::table
                .select(SuggestedSkillRow::as_select())
                .load(conn)
                .await?
                .into_iter()
                .map(|r| ((r.interview_type, r.skill), r.position))
                .collect();
            let wanted: HashSet<(&str, &str)> = bank
                .suggested
                .iter()
                .map(|s| (s.interview_type.as_str(), s.skill.as_str()))
                .collect();
            for (interview_type, skill) in existing.keys() {
                if !wanted.contains(&(interview_type.as_str(), skill.as_str())) {
                    report.suggestions_written +=
                        diesel::delete(interview_type_skills::table.find((interview_type, skill)))
                            .execute(conn)
                            .await?;
                }
            }
            for s in &bank.suggested {
                match existing.get(&(s.interview_type.clone(), s.skill.clone())) {
                    None => {
                        report.suggestions_written +=
                            diesel::insert_into(interview_type_skills::table)
                                .values(s)
                                .on_conflict_do_nothing()
                                .execute(conn)
                                .await?;
                    }
                    Some(&position) if position != s.position => {
                        report.suggestions_written += diesel::update(
                            interview_type_skills::table.find((&s.interview_type, &s.skill)),
                        )
                        .set(interview_type_skills::position.eq(s.position))
                        .execute(conn)
                        .await?;
                    }
                    Some(_) => {}
                }
            }

            let existing: HashMap<QuestionId, QuestionRow> = questions::table
                .select(QuestionRow::as_select())
                .load(conn)
                .await?
                .into_iter()
                .map(|r| (r.id.clone(), r))
                .collect();
            for q in &bank.questions {
                match existing.get(&q.id) {
                    None => {
                        report.questions_inserted += diesel::insert_into(questions::table)
                            .values(q)
                            .on_conflict_do_nothing()
                            .execute(conn)
                            .await?;
                    }
                    Some(old) if old.source == QuestionSource::Bank && !same_content(old, q) => {
                        report.questions_updated += diesel::update(
                            questions::table
                                .find(&q.id)
                                .filter(questions::source.eq(QuestionSource::Bank)),
                        )
                        .set((
                            questions::interview_type.eq(&q.interview_type),
                            questions::difficulty.eq(&q.difficulty),
                            questions::text.eq(&q.text),
                            questions::rubric.eq(&q.rubric),
                            questions::skills.eq(&q.skills),
                            questions::enabled.eq(q.enabled),
                            questions::updated_at.eq(q.updated_at),
                        ))
                        .execute(conn)
                        .await?;
                    }
                    Some(_) => {}
                }
            }
            let in_bank: HashSet<&QuestionId> = bank.questions.iter().map(|q| &q.id).collect();
            for old in existing.values() {
                if old.source == QuestionSource::Bank && old.enabled && !in_bank.contains(&old.id) {
                    report.questions_disabled += diesel::update(
                        questions::table
                            .find(&old.id)
                            .filter(questions::source.eq(QuestionSource::Bank)),
                    )
                    .set((
                        questions::enabled.eq(false),
                        questions::updated_at.eq(bank.synced_at),
                    ))
                    .execute(conn)
                    .await?;
                }
            }
            Ok(report)
        })
        .await
    })
}

fn same_content(a: &QuestionRow, b: &QuestionRow) -> bool {
    (
        &a.interview_type,
        &a.difficulty,
        &a.text,
        &a.rubric,
        &a.skills,
        a.enabled,
    ) == (
        &b.interview_type,
        &b.difficulty,
        &b.text,
        &b.rubric,
        &b.skills,
        b.enabled,
    )
}

/// Interview types in the bank file's order.
pub async fn list_interview_types(conn: &mut DbConn) -> Result<Vec<InterviewTypeRow>, DbError> {
    db_run!(conn, {
        Ok(interview_types::table
            .order((interview_types::position, interview_types::slug))
            .select(InterviewTypeRow::as_select())
            .load(conn)
            .await?)
    })
}

/// Skills in the bank file's order.
pub async fn list_skills(conn: &mut DbConn) -> Result<Vec<SkillRow>, DbError> {
    db_run!(conn, {
        Ok(skills::table
            .order((skills::position, skills::slug))
            .select(SkillRow::as_select())
            .load(conn)
            .await?)
    })
}

/// Every suggestion, by type and then in the file's order.
pub async fn list_suggested_skills(conn: &mut DbConn) -> Result<Vec<SuggestedSkillRow>, DbError> {
    db_run!(conn, {
        Ok(interview_type_skills::table
            .order((
                interview_type_skills::interview_type,
                interview_type_skills::position,
            ))
            .select(SuggestedSkillRow::as_select())
            .load(conn)
            .await?)
    })
}

/// Questions, optionally of one interview type and optionally only the enabled ones; in a
/// stable order (type, then creation, then id).
pub async fn list_questions(
    conn: &mut DbConn,
    interview_type: Option<&str>,
    enabled_only: bool,
) -> Result<Vec<QuestionRow>, DbError> {
    db_run!(conn, {
        let mut query = questions::table
            .order((
                questions::interview_type,
                questions::created_at,
                questions::id,
            ))
            .select(QuestionRow::as_select())
            .into_boxed();
        if let Some(t) = interview_type {
            query = query.filter(questions::interview_type.eq(t));
        }
        if enabled_only {
            query = query.filter(questions::enabled.eq(true));
        }
        Ok(query.load(conn).await?)
    })
}

pub async fn find_question(
    conn: &mut DbConn,
    id: &QuestionId,
) -> Result<Option<QuestionRow>, DbError> {
    db_run!(conn, {
        Ok(questions::table
            .find(id)
            .select(QuestionRow::as_select())
            .first(conn)
            .await
            .optional()?)
    })
}

pub async fn insert_question(conn: &mut DbConn, row: &QuestionRow) -> Result<(), DbError> {
    db_run!(conn, {
        diesel::insert_into(questions::table)
            .values(row)
            .execute(conn)
            .await?;
    });
    Ok(())
}

/// Applies `changes`; [`DbError::NotFound`] when there is no such question.
pub async fn update_question(
    conn: &mut DbConn,
    id: &QuestionId,
    changes: &QuestionChangeset,
) -> Result<(), DbError> {
    let updated = db_run!(conn, {
        diesel::update(questions::table.find(id))
            .set(changes)
            .execute(conn)
            .await?
    });
    if updated == 0 {
        return Err(DbError::NotFound);
    }
    Ok(())
}
