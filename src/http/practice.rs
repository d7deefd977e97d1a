//! `/api/v1/progress`, `/api/v1/bookmarks`, `/api/v1/leaderboard`, `/api/v1/me/leaderboard`:
//! practice across interviews.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::domain::QuestionId;
use crate::error::AppError;
use crate::http::current_user::CurrentUser;
use crate::interview::practice;
use crate::state::AppState;

pub async fn progress(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(practice::progress(&state.pool, &user.0.id).await?))
}

pub async fn bookmarks(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(practice::bookmarks(&state.pool, &user.0.id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewBookmark {
    question_id: QuestionId,
}

/// 201 when saved now, 200 when it was saved already.
pub async fn add_bookmark(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: web::Json<NewBookmark>,
) -> Result<HttpResponse, AppError> {
    let created = practice::add_bookmark(&state.pool, &user.0.id, &body.question_id).await?;
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(serde_json::json!({ "question_id": body.question_id })))
}

pub async fn remove_bookmark(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<QuestionId>,
) -> Result<HttpResponse, AppError> {
    practice::remove_bookmark(&state.pool, &user.0.id, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn leaderboard(
    state: web::Data<AppState>,
    _user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(practice::leaderboard(&state.pool).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaderboardChoice {
    opt_in: bool,
}

pub async fn set_leaderboard(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: web::Json<LeaderboardChoice>,
) -> Result<HttpResponse, AppError> {
    practice::set_leaderboard_opt_in(&state.pool, &user.0.id, body.opt_in).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "opt_in": body.opt_in })))
}
