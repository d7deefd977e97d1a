//! `/api/v1/progress`, `/api/v1/bookmarks`, `/api/v1/leaderboard`, `/api/v1/me/leaderboard`:
//! practice across interviews.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::domain::QuestionId;
use crate::error::AppError;
use crate::http::current_user::CurrentUser;
use crate::interview::practice::{self, Bookmark, Leaderboard};
use crate::interview::report::progress::Progress;
use crate::state::AppState;

#[utoipa::path(get, path = "/api/v1/progress", tag = "practice",
    responses((status = 200, description = "My scores over time, by skill", body = Progress)))]
pub async fn progress(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(practice::progress(&state.pool, &user.0.id).await?))
}

#[utoipa::path(get, path = "/api/v1/bookmarks", tag = "practice",
    responses((status = 200, description = "The questions I saved", body = Vec<Bookmark>)))]
pub async fn bookmarks(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(practice::bookmarks(&state.pool, &user.0.id).await?))
}

#[derive(Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBookmark {
    question_id: QuestionId,
}

/// 201 when saved now, 200 when it was saved already.
#[utoipa::path(post, path = "/api/v1/bookmarks", tag = "practice", request_body = NewBookmark,
    responses((status = 201, description = "Saved now", body = NewBookmark), (status = 200, description = "Saved already", body = NewBookmark)))]
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
    Ok(response.json(body.into_inner()))
}

#[utoipa::path(delete, path = "/api/v1/bookmarks/{question_id}", tag = "practice", params(("question_id" = String, Path, description = "The question's id")),
    responses((status = 204, description = "Removed")))]
pub async fn remove_bookmark(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<QuestionId>,
) -> Result<HttpResponse, AppError> {
    practice::remove_bookmark(&state.pool, &user.0.id, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/leaderboard", tag = "practice",
    responses((status = 200, description = "The best practice scores of those who opted in", body = Leaderboard)))]
pub async fn leaderboard(
    state: web::Data<AppState>,
    _user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(practice::leaderboard(&state.pool).await?))
}

#[derive(Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaderboardChoice {
    opt_in: bool,
}

#[utoipa::path(put, path = "/api/v1/me/leaderboard", tag = "practice", request_body = LeaderboardChoice,
    responses((status = 200, description = "My choice as saved", body = LeaderboardChoice)))]
pub async fn set_leaderboard(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: web::Json<LeaderboardChoice>,
) -> Result<HttpResponse, AppError> {
    practice::set_leaderboard_opt_in(&state.pool, &user.0.id, body.opt_in).await?;
    Ok(HttpResponse::Ok().json(body.into_inner()))
}
