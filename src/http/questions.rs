//! `/api/v1/questions`: the question bank, for admins (with rubrics).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::domain::QuestionId;
use crate::error::AppError;
use crate::http::current_user::Admin;
use crate::interview::catalog::{self, NewQuestion, Question, QuestionChanges};
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    interview_type: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/questions", tag = "questions", params(ListQuery),
    responses((status = 200, description = "The question bank, with rubrics", body = Vec<Question>)))]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    _admin: Admin,
) -> Result<HttpResponse, AppError> {
    let query = web::Query::<ListQuery>::from_query(req.query_string())
        .map_err(|e| AppError::InvalidInput(format!("query string: {e}")))?;
    let interview_type = query
        .interview_type
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    Ok(HttpResponse::Ok().json(catalog::list_questions(&state.pool, interview_type).await?))
}

#[utoipa::path(post, path = "/api/v1/questions", tag = "questions", request_body = NewQuestion,
    responses((status = 201, description = "The question", body = Question)))]
pub async fn create(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<NewQuestion>,
) -> Result<HttpResponse, AppError> {
    let question = catalog::create_question(&state.pool, body.into_inner()).await?;
    tracing::info!(admin_id = %admin.0.id, question_id = %question.id, "admin created a question");
    Ok(HttpResponse::Created().json(question))
}

#[utoipa::path(patch, path = "/api/v1/questions/{id}", tag = "questions", params(("id" = String, Path, description = "The question's id")), request_body = QuestionChanges,
    responses((status = 200, description = "The question as changed", body = Question)))]
pub async fn update(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<QuestionId>,
    body: web::Json<QuestionChanges>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let question = catalog::update_question(&state.pool, &id, body.into_inner()).await?;
    tracing::info!(admin_id = %admin.0.id, question_id = %id, "admin changed a question");
    Ok(HttpResponse::Ok().json(question))
}
