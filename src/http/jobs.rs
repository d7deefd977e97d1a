//! The recruiter's routes: `/api/v1/jobs…` (jobs, their candidates, CSV, live events) and the
//! invites and resume of a hiring interview. Someone else's job or interview answers 404.

use std::time::Duration;

use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;

use crate::activity::ActivityKind;
use crate::domain::{InterviewId, InviteId, JobId, Role};
use crate::error::AppError;
use crate::hiring::candidates::{
    self, Candidate, Created, HiringContext, NewCandidate, ResumeInfo, UploadLimits,
};
use crate::hiring::invites::{self, InviteView};
use crate::hiring::jobs::{self, Job, JobChange, NewJob};
use crate::http::current_user::Recruiter;
use crate::interview::live::close_revoked_invites;
use crate::state::AppState;

/// How often an idle event stream says it is still there.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub fn context(state: &AppState) -> HiringContext<'_> {
    HiringContext {
        pool: &state.pool,
        mailer: &state.mailer,
        public_url: &state.public_url,
        data_dir: &state.settings.data_dir,
        invite_ttl: state.settings.invite_ttl,
        uploads: UploadLimits {
            reader: &state.resume_reader,
            per_interview: &state.limits.resume_uploads_per_interview,
            job_quota_bytes: state.settings.upload_quota_per_job_mb * 1024 * 1024,
        },
    }
}

#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs",
    responses((status = 200, description = "My jobs (every job, for an admin)", body = Vec<Job>)))]
pub async fn list(state: web::Data<AppState>, user: Recruiter) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(jobs::list(&state.pool, &user.0).await?))
}

#[utoipa::path(post, path = "/api/v1/jobs", tag = "jobs", request_body = NewJob,
    responses((status = 201, description = "The job", body = Job)))]
pub async fn create(
    state: web::Data<AppState>,
    user: Recruiter,
    body: web::Json<NewJob>,
) -> Result<HttpResponse, AppError> {
    let job = jobs::create(&state.pool, &user.0, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(job))
}

#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs", params(("id" = String, Path, description = "The job's id")),
    responses((status = 200, description = "The job", body = Job)))]
pub async fn get(
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<JobId>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(jobs::get(&state.pool, &user.0, &path).await?))
}

#[utoipa::path(patch, path = "/api/v1/jobs/{id}", tag = "jobs", params(("id" = String, Path, description = "The job's id")), request_body = JobChange,
    responses((status = 200, description = "The job as changed", body = Job)))]
pub async fn update(
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<JobId>,
    body: web::Json<JobChange>,
) -> Result<HttpResponse, AppError> {
    let job = jobs::update(&state.pool, &user.0, &path, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(job))
}

#[utoipa::path(get, path = "/api/v1/jobs/{id}/candidates", tag = "candidates", params(("id" = String, Path, description = "The job's id")),
    responses((status = 200, description = "The job's candidates with their interviews' state and scores", body = Vec<Candidate>)))]
pub async fn candidates(
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<JobId>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(candidates::list(&state.pool, &user.0, &path).await?))
}

#[utoipa::path(post, path = "/api/v1/jobs/{id}/candidates", tag = "candidates", params(("id" = String, Path, description = "The job's id")), request_body = NewCandidate,
    responses((status = 201, description = "The candidate, their interview and invite link (emailed when mail is set up)", body = Created)))]
pub async fn add_candidate(
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<JobId>,
    body: web::Json<NewCandidate>,
) -> Result<HttpResponse, AppError> {
    state.email_codes.ensure_verified(&user.0)?;
    // A candidate is an interview created by the recruiter: it counts against their budget.
    let budget = state
        .limits
        .interviews_per_user
        .reserve(user.0.id.as_str())
        .await
        .map_err(|e| e.map_exceeded(AppError::TooManyInterviews))?;
    let created = candidates::add(&context(&state), &user.0, &path, body.into_inner()).await?;
    budget.keep();
    state
        .activity
        .publish(&created.candidate.interview_id, ActivityKind::Invited);
    Ok(HttpResponse::Created().json(created))
}

#[utoipa::path(get, path = "/api/v1/jobs/{id}/candidates.csv", tag = "candidates", params(("id" = String, Path, description = "The job's id")),
    responses((status = 200, description = "The candidates as CSV", content_type = "text/csv", body = String)))]
pub async fn candidates_csv(
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<JobId>,
) -> Result<HttpResponse, AppError> {
    let list = candidates::list(&state.pool, &user.0, &path).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"candidates.csv\"",
        ))
        .body(candidates::to_csv(&list)))
}

#[derive(Serialize)]
struct CandidateActivity<'a> {
    activity: ActivityKind,
    candidate: &'a candidates::Candidate,
}

/// Server-sent events for the job's page: `snapshot` (every candidate) first, then
/// `candidate` (one candidate, with what just happened) as links are opened and interviews
/// start, get answers and end. A follower that fell behind gets `resync` and reloads.
#[utoipa::path(get, path = "/api/v1/jobs/{id}/events", tag = "jobs", params(("id" = String, Path, description = "The job's id")),
    responses((status = 200, description = "Server-sent events: `snapshot` (every candidate), then `candidate` as interviews move, `resync` after falling behind", content_type = "text/event-stream", body = String)))]
pub async fn events(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<JobId>,
) -> Result<HttpResponse, AppError> {
    let job_id = path.into_inner();
    // The stream lasts only as long as the login that opened it may read the job.
    let login = state
        .logins
        .watch(&req, &user.0, Role::recruits)
        .ok_or(AppError::Unauthenticated)?;
    let snapshot = candidates::list(&state.pool, &user.0, &job_id).await?;
    let first = sse("snapshot", &snapshot);
    let follower = Follower {
        events: state.activity.subscribe(),
        pool: state.pool.clone(),
        job_id,
        first: Some(first),
    };
    let stream = futures_util::stream::unfold(follower, |mut follower| async move {
        let bytes = follower.next().await?;
        Some((Ok::<_, actix_web::Error>(bytes), follower))
    })
    .take_until(login.ended(KEEP_ALIVE));
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        // Compression would hold events back until a buffer fills.
        .insert_header(("Content-Encoding", "identity"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream))
}

struct Follower {
    events: tokio::sync::broadcast::Receiver<crate::activity::Activity>,
    pool: crate::db::DbPool,
    job_id: JobId,
    first: Option<Bytes>,
}

impl Follower {
    async fn next(&mut self) -> Option<Bytes> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        loop {
            let event = match tokio::time::timeout(KEEP_ALIVE, self.events.recv()).await {
                Err(_) => return Some(Bytes::from_static(b": still here\n\n")),
                Ok(Err(RecvError::Lagged(_))) => return Some(sse("resync", &())),
                Ok(Err(RecvError::Closed)) => return None,
                Ok(Ok(event)) => event,
            };
            // Detached: the stream is dropped at once when its login ends or its reader leaves.
            let (pool, job_id) = (self.pool.clone(), self.job_id.clone());
            let found = crate::db::finish_detached(async move {
                candidates::by_interview(&pool, &job_id, &event.interview_id)
                    .await
                    .map(|candidate| candidate.map(|c| (event.kind, c)))
            })
            .await;
            match found {
                Ok(Ok(Some((activity, candidate)))) => {
                    let update = CandidateActivity {
                        activity,
                        candidate: &candidate,
                    };
                    return Some(sse("candidate", &update));
                }
                Ok(Ok(None)) => {} // another job's interview
                Ok(Err(e)) => tracing::warn!(error = %e, "job events: cannot read a candidate"),
                Err(e) => tracing::warn!(error = %e, "job events: the candidate lookup failed"),
            }
        }
    }
}

fn sse(event: &str, data: &impl Serialize) -> Bytes {
    let json = serde_json::to_string(data).unwrap_or_else(|_| "null".into());
    Bytes::from(format!("event: {event}\ndata: {json}\n\n"))
}

#[utoipa::path(get, path = "/api/v1/interviews/{id}/invites", tag = "candidates", params(("id" = String, Path, description = "The candidate's interview id")),
    responses((status = 200, description = "The interview's invite links (never their tokens)", body = Vec<InviteView>)))]
pub async fn invites(
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<InterviewId>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(invites::list(&state.pool, &user.0, &path).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Reissued {
    invite: invites::InviteView,
    invite_url: String,
}

#[utoipa::path(post, path = "/api/v1/interviews/{id}/invites", tag = "candidates", params(("id" = String, Path, description = "The candidate's interview id")),
    responses((status = 201, description = "A new link (earlier ones keep working until revoked)", body = Reissued)))]
pub async fn reissue_invite(
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<InterviewId>,
) -> Result<HttpResponse, AppError> {
    let issued = invites::reissue(&state.pool, &user.0, &path, state.settings.invite_ttl).await?;
    state.activity.publish(&path, ActivityKind::Invited);
    Ok(HttpResponse::Created().json(Reissued {
        invite_url: invites::invite_url(&state.public_url, &issued.token),
        invite: issued.invite,
    }))
}

#[utoipa::path(delete, path = "/api/v1/interviews/{id}/invites/{invite_id}", tag = "candidates",
    params(("id" = String, Path, description = "The candidate's interview id"), ("invite_id" = String, Path, description = "The invite's id")),
    responses((status = 204, description = "Revoked; a connection opened with it is closed")))]
pub async fn revoke_invite(
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<(InterviewId, InviteId)>,
) -> Result<HttpResponse, AppError> {
    let (interview_id, invite_id) = path.into_inner();
    invites::revoke(&state.pool, &user.0, &interview_id, Some(&invite_id)).await?;
    close_revoked(&state, &interview_id, Some(invite_id));
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(delete, path = "/api/v1/interviews/{id}/invites", tag = "candidates", params(("id" = String, Path, description = "The candidate's interview id")),
    responses((status = 204, description = "Every link revoked")))]
pub async fn revoke_invites(
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<InterviewId>,
) -> Result<HttpResponse, AppError> {
    invites::revoke(&state.pool, &user.0, &path, None).await?;
    close_revoked(&state, &path, None);
    Ok(HttpResponse::NoContent().finish())
}

/// A connection opened with a revoked invite is closed at once.
fn close_revoked(state: &AppState, interview_id: &InterviewId, invite_id: Option<InviteId>) {
    state.activity.publish(interview_id, ActivityKind::Revoked);
    close_revoked_invites(
        &state.bus,
        state.live.as_ref().map(|live| &live.registry),
        interview_id,
        invite_id,
    );
}

/// `PUT /interviews/{id}/resume`: the raw file as the body, its name in `X-Filename`.
#[utoipa::path(put, path = "/api/v1/interviews/{id}/resume", tag = "candidates", params(("id" = String, Path, description = "The candidate's interview id")), request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file itself (PDF, DOCX or text, sniffed from its bytes); its name in `X-Filename`"),
    responses((status = 201, description = "Stored and read", body = ResumeInfo)))]
pub async fn upload_resume(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<InterviewId>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    invites::managed_interview(&mut conn, &user.0, &path).await?;
    drop(conn);
    let info =
        candidates::upload_resume(&context(&state), &path, filename(&req), body.to_vec()).await?;
    Ok(HttpResponse::Created().json(info))
}

#[utoipa::path(get, path = "/api/v1/interviews/{id}/resume", tag = "candidates", params(("id" = String, Path, description = "The candidate's interview id")),
    responses((status = 200, description = "The resume as uploaded", content_type = "application/octet-stream", body = Vec<u8>)))]
pub async fn download_resume(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<InterviewId>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    invites::managed_interview(&mut conn, &user.0, &path).await?;
    drop(conn);
    resume_response(&req, &state, &path).await
}

/// The file's name as the client sent it (cleaned before use).
pub fn filename(req: &HttpRequest) -> &str {
    req.headers()
        .get("x-filename")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("resume")
}

/// The interview's resume as a download, streamed from disk.
pub async fn resume_response(
    req: &HttpRequest,
    state: &AppState,
    interview_id: &InterviewId,
) -> Result<HttpResponse, AppError> {
    let (file, path) =
        candidates::resume_file(&state.pool, &state.settings.data_dir, interview_id).await?;
    let named = actix_files::NamedFile::open_async(&path)
        .await
        .map_err(AppError::internal)?;
    let content_type: actix_web::mime::Mime = file
        .content_type
        .parse()
        .unwrap_or(actix_web::mime::APPLICATION_OCTET_STREAM);
    let disposition = ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![DispositionParam::Filename(file.filename)],
    };
    Ok(named
        .set_content_type(content_type)
        .set_content_disposition(disposition)
        .use_etag(false)
        .use_last_modified(false)
        .into_response(req))
}
