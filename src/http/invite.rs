//! The candidate's side of an invite: `GET /i/{token}` (the interview page, or a page saying
//! why the link does not work), and `/api/v1/invite…` authorized by the `X-Interview-Token`
//! header. A token opens its own interview and nothing else.

use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::activity::ActivityKind;
use crate::db::candidates::CandidateRow;
use crate::db::jobs::JobRow;
use crate::domain::InterviewId;
use crate::error::AppError;
use crate::hiring::candidates::ResumeInfo;
use crate::hiring::invites::{self, Grant};
use crate::hiring::{candidates, HiringError, InviteError};
use crate::http::jobs::{context, filename, resume_response};
use crate::interview::interviews::InterviewDetail;
use crate::interview::report::Report;
use crate::state::AppState;
use crate::{db, interview};

pub const TOKEN_HEADER: &str = "x-interview-token";

/// The page a link opens. Invalid links get a page of their own with the API's status.
pub async fn page(state: web::Data<AppState>, path: web::Path<String>) -> HttpResponse {
    match invites::authorize(&state.pool, &path, true).await {
        Ok(grant) => {
            state
                .activity
                .publish(&grant.interview_id, ActivityKind::Opened);
            match std::fs::read(state.settings.static_dir.join("candidate.html")) {
                Ok(html) => html_response(HttpResponse::Ok(), html.into()),
                Err(e) => {
                    tracing::error!(error = %e, "static/candidate.html is missing");
                    problem_page(
                        HttpResponse::InternalServerError(),
                        "Something went wrong",
                        "The interview page is missing on this server.",
                    )
                }
            }
        }
        Err(HiringError::Invite(e)) => {
            let status = match e {
                InviteError::Invalid => HttpResponse::Unauthorized(),
                InviteError::Expired | InviteError::InterviewOver(_) => HttpResponse::Gone(),
            };
            let title = match e {
                InviteError::Invalid => "This link does not work",
                InviteError::Expired => "This link has expired",
                InviteError::InterviewOver(_) => "This interview is over",
            };
            problem_page(status, title, &e.to_string())
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot check an invite");
            problem_page(
                HttpResponse::ServiceUnavailable(),
                "Please try again",
                "The server could not check this link just now; reload the page in a moment.",
            )
        }
    }
}

fn html_response(mut builder: actix_web::HttpResponseBuilder, html: Bytes) -> HttpResponse {
    builder
        .content_type("text/html; charset=utf-8")
        // The token is in this page's address: never pass it on to other sites.
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("Cache-Control", "no-store"))
        .body(html)
}

fn problem_page(
    builder: actix_web::HttpResponseBuilder,
    title: &str,
    message: &str,
) -> HttpResponse {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} · viva</title>\n<link rel=\"stylesheet\" href=\"/style.css\">\n</head>\n\
         <body>\n<main class=\"page invite-problem\">\n<h1 id=\"invite-problem-title\">{title}</h1>\n\
         <p id=\"invite-problem-message\">{message}</p>\n</main>\n</body>\n</html>\n",
        title = escape_html(title),
        message = escape_html(message),
    );
    html_response(builder, html.into())
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The grant of the request's `X-Interview-Token`.
async fn grant(req: &HttpRequest, state: &AppState) -> Result<Grant, AppError> {
    let token = req
        .headers()
        .get(TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or(AppError::Unauthenticated)?;
    Ok(invites::authorize(&state.pool, token, false).await?)
}

/// What the candidate's page shows.
#[derive(Serialize, utoipa::ToSchema)]
struct CandidateView {
    candidate_name: String,
    job_title: String,
    /// Whether the recruiter lets the candidate see scores and feedback.
    show_scores: bool,
    invite_expires_at: chrono::DateTime<chrono::Utc>,
    interview: InterviewDetail,
}

#[utoipa::path(get, path = "/api/v1/invite", tag = "candidates' side",
    responses((status = 200, description = "What the candidate's page shows", body = CandidateView)))]
pub async fn show(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let grant = grant(&req, &state).await?;
    let (candidate, job) = candidate_and_job(&state, &grant.interview_id).await?;
    // The job's recruiter owns the interview.
    let mut interview =
        interview::interviews::get(&state.pool, &job.owner_id, &grant.interview_id).await?;
    interview.hide_unasked_questions();
    if !job.show_scores {
        interview.hide_scores();
    }
    Ok(HttpResponse::Ok().json(CandidateView {
        candidate_name: candidate.name,
        job_title: job.title,
        show_scores: job.show_scores,
        invite_expires_at: grant.expires_at,
        interview,
    }))
}

/// The report, when the recruiter lets candidates see it; otherwise not found.
#[utoipa::path(get, path = "/api/v1/invite/report", tag = "candidates' side",
    responses((status = 200, description = "The report, when the recruiter shows scores to candidates", body = Report)))]
pub async fn report(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let grant = grant(&req, &state).await?;
    let (_, job) = candidate_and_job(&state, &grant.interview_id).await?;
    if !job.show_scores {
        return Err(AppError::NotFound);
    }
    let report =
        interview::interviews::report(&state.pool, &job.owner_id, &grant.interview_id).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The candidate of a hiring interview and the job they were invited to.
async fn candidate_and_job(
    state: &AppState,
    interview_id: &InterviewId,
) -> Result<(CandidateRow, JobRow), AppError> {
    let mut conn = state.pool.get().await?;
    let candidate = db::candidates::of_interview(&mut conn, interview_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let job = db::jobs::find(&mut conn, &candidate.job_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((candidate, job))
}

/// The candidate uploads (or replaces) their own resume.
#[utoipa::path(put, path = "/api/v1/invite/resume", tag = "candidates' side", request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file itself (PDF, DOCX or text, sniffed from its bytes); its name in `X-Filename`"),
    responses((status = 201, description = "Stored and read", body = ResumeInfo)))]
pub async fn upload_resume(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let grant = grant(&req, &state).await?;
    let info = candidates::upload_resume(
        &context(&state),
        &grant.interview_id,
        filename(&req),
        body.to_vec(),
    )
    .await?;
    Ok(HttpResponse::Created().json(info))
}

#[utoipa::path(get, path = "/api/v1/invite/resume", tag = "candidates' side",
    responses((status = 200, description = "The resume as uploaded", content_type = "application/octet-stream", body = Vec<u8>)))]
pub async fn download_resume(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let grant = grant(&req, &state).await?;
    resume_response(&req, &state, &grant.interview_id).await
}
