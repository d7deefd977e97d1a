//! Reading the catalog, and the admins' question management. Free of HTTP: callers pass
//! values, get views or a [`CatalogError`].

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{
    check_rubric, check_skill_list, check_text, json_strings, to_json, Difficulty,
    SKILLS_PER_QUESTION,
};
use crate::db::catalog::{self, QuestionChangeset, QuestionRow};
use crate::db::{DbConn, DbError, DbPool};
use crate::domain::{Invalid, QuestionId, QuestionSource};

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Db(#[from] DbError),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Skill {
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct InterviewType {
    pub slug: String,
    pub name: String,
    pub description: String,
    /// In the order the bank lists them.
    pub suggested_skills: Vec<Skill>,
}

/// A bank question as admins see it (with its rubric).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Question {
    pub id: QuestionId,
    pub interview_type: String,
    pub difficulty: Difficulty,
    pub text: String,
    pub rubric: Vec<String>,
    pub skills: Vec<String>,
    pub enabled: bool,
    /// `bank` (follows questions.toml) or `admin` (created or changed by an admin).
    pub source: QuestionSource,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<QuestionRow> for Question {
    type Error = Invalid;

    fn try_from(row: QuestionRow) -> Result<Self, Invalid> {
        Ok(Self {
            difficulty: row.difficulty,
            rubric: json_strings("questions.rubric", &row.rubric),
            skills: json_strings("questions.skills", &row.skills),
            id: row.id,
            interview_type: row.interview_type,
            text: row.text,
            enabled: row.enabled,
            source: row.source,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
        })
    }
}

/// A question an admin adds (raw input; validated by [`create_question`]).
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewQuestion {
    pub interview_type: String,
    pub skills: Vec<String>,
    pub difficulty: String,
    pub text: String,
    pub rubric: Vec<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// An admin's edit; absent fields stay as they are.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionChanges {
    pub text: Option<String>,
    pub rubric: Option<Vec<String>>,
    pub difficulty: Option<String>,
    pub skills: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// Interview types in the bank's order, each with its suggested skills.
pub async fn list_interview_types(pool: &DbPool) -> Result<Vec<InterviewType>, CatalogError> {
    let mut conn = pool.get().await?;
    let types = catalog::list_interview_types(&mut conn).await?;
    let skills: HashMap<String, String> = catalog::list_skills(&mut conn)
        .await?
        .into_iter()
        .map(|s| (s.slug, s.name))
        .collect();
    let mut suggested: HashMap<String, Vec<Skill>> = HashMap::new();
    for row in catalog::list_suggested_skills(&mut conn).await? {
        let name = skills.get(&row.skill).cloned().unwrap_or_default();
        suggested
            .entry(row.interview_type)
            .or_default()
            .push(Skill {
                slug: row.skill,
                name,
            });
    }
    Ok(types
        .into_iter()
        .map(|t| InterviewType {
            suggested_skills: suggested.remove(&t.slug).unwrap_or_default(),
            slug: t.slug,
            name: t.name,
            description: t.description,
        })
        .collect())
}

pub async fn list_skills(pool: &DbPool) -> Result<Vec<Skill>, CatalogError> {
    let mut conn = pool.get().await?;
    Ok(catalog::list_skills(&mut conn)
        .await?
        .into_iter()
        .map(|s| Skill {
            slug: s.slug,
            name: s.name,
        })
        .collect())
}

/// Every question (enabled or not), optionally of one interview type, which must exist.
pub async fn list_questions(
    pool: &DbPool,
    interview_type: Option<&str>,
) -> Result<Vec<Question>, CatalogError> {
    let mut conn = pool.get().await?;
    if let Some(t) = interview_type {
        check_interview_type(&mut conn, t).await?;
    }
    catalog::list_questions(&mut conn, interview_type, false)
        .await?
        .into_iter()
        .map(|row| Question::try_from(row).map_err(CatalogError::from))
        .collect()
}

#[tracing::instrument(skip_all, fields(interview_type = %input.interview_type))]
pub async fn create_question(pool: &DbPool, input: NewQuestion) -> Result<Question, CatalogError> {
    let mut conn = pool.get().await?;
    let interview_type = input.interview_type.trim();
    check_interview_type(&mut conn, interview_type).await?;
    let difficulty = Difficulty::parse(&input.difficulty)?;
    let text = check_text(&input.text)?;
    let rubric = check_rubric(&input.rubric)?;
    let skills = check_skills(&mut conn, &input.skills).await?;
    let now = crate::db::now();
    let row = QuestionRow {
        id: QuestionId::random(),
        interview_type: interview_type.to_owned(),
        difficulty,
        text,
        rubric: to_json(&rubric),
        skills: to_json(&skills),
        enabled: input.enabled.unwrap_or(true),
        source: QuestionSource::Admin,
        created_at: now,
        updated_at: now,
    };
    catalog::insert_question(&mut conn, &row).await?;
    tracing::info!(question_id = %row.id, "question created");
    Ok(Question::try_from(row)?)
}

/// Applies an admin's edit. The question becomes `admin`-owned, so the seeder leaves it alone
/// from now on. Unknown id: [`DbError::NotFound`].
#[tracing::instrument(skip(pool, changes))]
pub async fn update_question(
    pool: &DbPool,
    id: &QuestionId,
    changes: QuestionChanges,
) -> Result<Question, CatalogError> {
    let QuestionChanges {
        text,
        rubric,
        difficulty,
        skills,
        enabled,
    } = changes;
    if text.is_none()
        && rubric.is_none()
        && difficulty.is_none()
        && skills.is_none()
        && enabled.is_none()
    {
        return Err(Invalid(
            "nothing to change: send one or more of text, rubric, difficulty, skills, enabled"
                .into(),
        )
        .into());
    }
    let mut conn = pool.get().await?;
    if catalog::find_question(&mut conn, id).await?.is_none() {
        return Err(DbError::NotFound.into());
    }
    let skills = match skills {
        Some(skills) => Some(to_json(&check_skills(&mut conn, &skills).await?)),
        None => None,
    };
    let changeset = QuestionChangeset {
        text: text.as_deref().map(check_text).transpose()?,
        rubric: rubric
            .as_deref()
            .map(check_rubric)
            .transpose()?
            .map(|r| to_json(&r)),
        difficulty: difficulty.as_deref().map(Difficulty::parse).transpose()?,
        skills,
        enabled,
        source: Some(QuestionSource::Admin),
        updated_at: Some(crate::db::now()),
    };
    catalog::update_question(&mut conn, id, &changeset).await?;
    tracing::info!("question updated");
    let row = catalog::find_question(&mut conn, id)
        .await?
        .ok_or(DbError::NotFound)?;
    Ok(Question::try_from(row)?)
}

async fn check_interview_type(conn: &mut DbConn, slug: &str) -> Result<(), CatalogError> {
    let known = catalog::list_interview_types(conn)
        .await?
        .iter()
        .any(|t| t.slug == slug);
    if known {
        Ok(())
    } else {
        Err(Invalid(format!("interview_type: unknown interview type `{slug}`")).into())
    }
}

async fn check_skills(conn: &mut DbConn, skills: &[String]) -> Result<Vec<String>, CatalogError> {
    let known: HashSet<String> = catalog::list_skills(conn)
        .await?
        .into_iter()
        .map(|s| s.slug)
        .collect();
    Ok(check_skill_list(
        skills,
        |s| known.contains(s),
        SKILLS_PER_QUESTION,
    )?)
}
