//! `/api/v1/interview-types` and `/api/v1/skills`: the catalog people pick an interview from.

use actix_web::{web, HttpResponse};

use crate::error::AppError;
use crate::http::current_user::CurrentUser;
use crate::interview::catalog::{self, InterviewType, Skill};
use crate::state::AppState;

#[utoipa::path(get, path = "/api/v1/interview-types", tag = "catalog",
    responses((status = 200, description = "The kinds of interview, with their skills", body = Vec<InterviewType>)))]
pub async fn interview_types(
    state: web::Data<AppState>,
    _user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(catalog::list_interview_types(&state.pool).await?))
}

#[utoipa::path(get, path = "/api/v1/skills", tag = "catalog",
    responses((status = 200, description = "Every skill", body = Vec<Skill>)))]
pub async fn skills(
    state: web::Data<AppState>,
    _user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(catalog::list_skills(&state.pool).await?))
}
