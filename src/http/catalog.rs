//! `/api/v1/interview-types` and `/api/v1/skills`: the catalog people pick an interview from.

use actix_web::{web, HttpResponse};

use crate::error::AppError;
use crate::http::current_user::CurrentUser;
use crate::interview::catalog;
use crate::state::AppState;

pub async fn interview_types(
    state: web::Data<AppState>,
    _user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(catalog::list_interview_types(&state.pool).await?))
}

pub async fn skills(
    state: web::Data<AppState>,
    _user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(catalog::list_skills(&state.pool).await?))
}
