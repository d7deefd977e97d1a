//! `/api/v1/interviews`: plan, list, read and delete my interviews. Someone else's interview
//! answers 404, as if it did not exist.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::domain::InterviewId;
use crate::error::AppError;
use crate::http::current_user::CurrentUser;
use crate::interview::interviews::{self, Interview, InterviewDetail, Page, PageRequest};
use crate::interview::plan::RawRequest;
use crate::interview::report::Report;
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    page: Option<String>,
    per_page: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/interviews", tag = "practice", request_body = RawRequest,
    responses((status = 201, description = "A practice interview, planned", body = InterviewDetail)))]
pub async fn create(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: web::Json<RawRequest>,
) -> Result<HttpResponse, AppError> {
    state.email_codes.ensure_verified(&user.0)?;
    let budget = state
        .limits
        .interviews_per_user
        .reserve(user.0.id.as_str())
        .await
        .map_err(|e| e.map_exceeded(AppError::TooManyInterviews))?;
    let interview = interviews::create(&state.pool, &user.0.id, &body).await?;
    budget.keep();
    Ok(HttpResponse::Created().json(interview))
}

#[utoipa::path(get, path = "/api/v1/interviews", tag = "practice", params(ListQuery),
    responses((status = 200, description = "My interviews, newest first", body = Page<Interview>)))]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let query = web::Query::<ListQuery>::from_query(req.query_string())
        .map_err(|e| AppError::InvalidInput(format!("query string: {e}")))?;
    let page = PageRequest::parse(query.page.as_deref(), query.per_page.as_deref())?;
    Ok(HttpResponse::Ok().json(interviews::list(&state.pool, &user.0.id, page).await?))
}

#[utoipa::path(get, path = "/api/v1/interviews/{id}", tag = "reports", params(("id" = String, Path, description = "The interview's id")),
    responses((status = 200, description = "The interview: plan, transcript and state", body = InterviewDetail)))]
pub async fn get(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<InterviewId>,
) -> Result<HttpResponse, AppError> {
    let owner = interviews::readable_as(&state.pool, (&user.0.id, user.0.role), &path).await?;
    let interview = interviews::get(&state.pool, &owner, &path).await?;
    Ok(HttpResponse::Ok().json(interview))
}

#[utoipa::path(delete, path = "/api/v1/interviews/{id}", tag = "practice", params(("id" = String, Path, description = "The interview's id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<InterviewId>,
) -> Result<HttpResponse, AppError> {
    crate::hiring::candidates::delete_interview(
        &state.pool,
        &state.settings.data_dir,
        &user.0.id,
        &path,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/interviews/{id}/report", tag = "reports", params(("id" = String, Path, description = "The interview's id")),
    responses((status = 200, description = "The scored report", body = Report)))]
pub async fn report(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<InterviewId>,
) -> Result<HttpResponse, AppError> {
    let owner = interviews::readable_as(&state.pool, (&user.0.id, user.0.role), &path).await?;
    let report = interviews::report(&state.pool, &owner, &path).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The report as a PDF download.
#[utoipa::path(get, path = "/api/v1/interviews/{id}/report.pdf", tag = "reports", params(("id" = String, Path, description = "The interview's id")),
    responses((status = 200, description = "The report as a PDF", content_type = "application/pdf", body = Vec<u8>)))]
pub async fn report_pdf(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<InterviewId>,
) -> Result<HttpResponse, AppError> {
    let owner = interviews::readable_as(&state.pool, (&user.0.id, user.0.role), &path).await?;
    let pdf = interviews::report_pdf(&state.pool, &owner, &path).await?;
    // Interview ids are UUIDs, but never trust a path segment inside a header.
    let name: String = path
        .as_str()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(64)
        .collect();
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"viva-report-{name}.pdf\""),
        ))
        .body(pdf))
}
