//! What helps a candidate practise across interviews: progress per skill with a suggested
//! next interview, saved (bookmarked) questions, and the opt-in leaderboard.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::catalog::json_strings;
use super::interviews::{report_with_names, skill_names, InterviewError};
use super::report::progress::{self, CompletedInterview, Progress};
use crate::db::bookmarks::BookmarkRow;
use crate::db::{self, DbError, DbPool};
use crate::domain::{Difficulty, QuestionId, UserId};

/// How many recent completed interviews progress looks at.
pub const PROGRESS_WINDOW: i64 = 50;
/// Entries per interview type on the leaderboard.
pub const LEADERBOARD_SIZE: usize = 10;

pub async fn progress(pool: &DbPool, user_id: &UserId) -> Result<Progress, InterviewError> {
    let mut conn = pool.get().await?;
    let rows = db::interviews::completed_owned(&mut conn, user_id, PROGRESS_WINDOW).await?;
    let names = skill_names(&mut conn).await?;
    let mut completed = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(completed_at) = row.completed_at else {
            continue;
        };
        let report = report_with_names(&mut conn, &row.id, &names).await?;
        completed.push(CompletedInterview {
            id: row.id,
            interview_type: row.interview_type,
            completed_at: completed_at.and_utc(),
            skills: report.skills,
        });
    }
    Ok(progress::build(completed, &type_names(&mut conn).await?))
}

async fn type_names(conn: &mut db::DbConn) -> Result<HashMap<String, String>, DbError> {
    Ok(db::catalog::list_interview_types(conn)
        .await?
        .into_iter()
        .map(|t| (t.slug, t.name))
        .collect())
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Bookmark {
    pub question_id: QuestionId,
    pub text: String,
    pub interview_type: String,
    pub difficulty: Difficulty,
    pub skills: Vec<String>,
    pub created_at: DateTime<Utc>,
}

pub async fn bookmarks(pool: &DbPool, user_id: &UserId) -> Result<Vec<Bookmark>, InterviewError> {
    let mut conn = pool.get().await?;
    Ok(db::bookmarks::of_user(&mut conn, user_id)
        .await?
        .into_iter()
        .map(|(bookmark, question)| Bookmark {
            skills: json_strings("questions.skills", &question.skills),
            question_id: question.id,
            text: question.text,
            interview_type: question.interview_type,
            difficulty: question.difficulty,
            created_at: bookmark.created_at.and_utc(),
        })
        .collect())
}

/// Saves a question the user was asked; `false` when it was saved already. A question they
/// were never asked is not found (the bank stays private).
pub async fn add_bookmark(
    pool: &DbPool,
    user_id: &UserId,
    question_id: &QuestionId,
) -> Result<bool, InterviewError> {
    let mut conn = pool.get().await?;
    if !db::interviews::was_asked(&mut conn, user_id, question_id).await? {
        return Err(DbError::NotFound.into());
    }
    let row = BookmarkRow {
        user_id: user_id.to_owned(),
        question_id: question_id.to_owned(),
        created_at: db::now(),
    };
    Ok(db::bookmarks::insert(&mut conn, &row).await?)
}

pub async fn remove_bookmark(
    pool: &DbPool,
    user_id: &UserId,
    question_id: &QuestionId,
) -> Result<(), InterviewError> {
    let mut conn = pool.get().await?;
    if db::bookmarks::delete(&mut conn, user_id, question_id).await? {
        Ok(())
    } else {
        Err(DbError::NotFound.into())
    }
}

/// Turns the user's place on the leaderboard on or off.
pub async fn set_leaderboard_opt_in(
    pool: &DbPool,
    user_id: &UserId,
    opt_in: bool,
) -> Result<(), InterviewError> {
    let mut conn = pool.get().await?;
    db::users::set_leaderboard_opt_in(&mut conn, user_id, opt_in).await?;
    tracing::info!(%user_id, opt_in, "leaderboard preference changed");
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Leaderboard {
    pub types: Vec<TypeBoard>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TypeBoard {
    pub interview_type: String,
    pub name: String,
    pub entries: Vec<LeaderboardEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LeaderboardEntry {
    /// Equal scores share a rank (1, 1, 3…).
    pub rank: usize,
    pub display_name: String,
    pub best_score: u32,
    pub interviews: i64,
}

/// Every interview type with its best practice scores of the users who opted in.
pub async fn leaderboard(pool: &DbPool) -> Result<Leaderboard, InterviewError> {
    let mut conn = pool.get().await?;
    let rows = db::leaderboard::best_scores(&mut conn).await?;
    let types = db::catalog::list_interview_types(&mut conn).await?;
    let mut by_type: HashMap<String, Vec<LeaderboardEntry>> = HashMap::new();
    for row in rows {
        let Some(score) = row.best_score else {
            continue;
        };
        by_type
            .entry(row.interview_type)
            .or_default()
            .push(LeaderboardEntry {
                rank: 0,
                display_name: row.display_name,
                best_score: score.clamp(0.0, 100.0).round() as u32,
                interviews: row.interviews,
            });
    }
    let types = types
        .into_iter()
        .map(|t| {
            let entries = ranked(by_type.remove(&t.slug).unwrap_or_default());
            TypeBoard {
                interview_type: t.slug,
                name: t.name,
                entries,
            }
        })
        .collect();
    Ok(Leaderboard { types })
}

/// Best first (ties: fewer interviews, then name), cut to [`LEADERBOARD_SIZE`].
fn ranked(mut entries: Vec<LeaderboardEntry>) -> Vec<LeaderboardEntry> {
    entries.sort_by(|a, b| {
        b.best_score
            .cmp(&a.best_score)
            .then(a.interviews.cmp(&b.interviews))
            .then_with(|| a.display_name.cmp(&b.display_name))
    });
    let mut previous: Option<(u32, usize)> = None;
    for (i, entry) in entries.iter_mut().enumerate() {
        entry.rank = match previous {
            Some((score, rank)) if score == entry.best_score => rank,
            _ => i + 1,
        };
        previous = Some((entry.best_score, entry.rank));
    }
    entries.truncate(LEADERBOARD_SIZE);
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, score: u32, interviews: i64) -> LeaderboardEntry {
        LeaderboardEntry {
            rank: 0,
            display_name: name.into(),
            best_score: score,
            interviews,
        }
    }

    #[test]
    fn equal_scores_share_a_rank() {
        let ranks: Vec<(String, usize)> = ranked(vec![
            entry("c", 70, 1),
            entry("a", 90, 3),
            entry("b", 90, 2),
            entry("d", 40, 1),
        ])
        .into_iter()
        .map(|e| (e.display_name, e.rank))
        .collect();
        let expected = [("b", 1), ("a", 1), ("c", 3), ("d", 4)];
        assert_eq!(
            ranks,
            expected.map(|(n, r)| (n.to_owned(), r)),
            "ties on score: fewer interviews first"
        );
    }

    #[test]
    fn the_board_is_cut_to_its_size() {
        let entries = (0..25).map(|i| entry(&format!("u{i}"), i, 1)).collect();
        let board = ranked(entries);
        assert_eq!(board.len(), LEADERBOARD_SIZE);
        assert_eq!(board[0].best_score, 24);
    }
}
