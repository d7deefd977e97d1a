//! `/api/v1/transcriptions`: batch transcription of uploaded recordings (raw body, any common
//! format, sniffed from the bytes), for recruiters and admins. The work is in
//! `crate::transcription`; someone else's task answers 404.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Serialize;

use crate::domain::TranscriptionId;
use crate::error::AppError;
use crate::http::current_user::Recruiter;
use crate::state::AppState;
use crate::transcription::TaskView;

/// `POST /api/v1/transcriptions`: the recording is the body (`X-Filename` names it for
/// display). 202 with the queued task; 413 past `transcription_max_upload_mb`, read no further.
#[utoipa::path(post, path = "/api/v1/transcriptions", tag = "transcriptions",
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The recording itself: WAV, FLAC, MP3, Ogg Vorbis, Ogg Opus or WebM (Opus or Vorbis), sniffed from its bytes; its name in `X-Filename`"),
    responses((status = 202, description = "Queued; `Location` names the task", body = TaskView)))]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: Recruiter,
    mut body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let limit = state.transcriptions.limits().max_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(AppError::PayloadTooLarge { limit });
    }
    let mut bytes = Vec::with_capacity(declared.map_or(0, |len| len as usize));
    while let Some(chunk) = body.next().await {
        let chunk =
            chunk.map_err(|e| AppError::InvalidInput(format!("reading the upload failed: {e}")))?;
        if bytes.len() + chunk.len() > limit {
            return Err(AppError::PayloadTooLarge { limit });
        }
        bytes.extend_from_slice(&chunk);
    }
    if bytes.is_empty() {
        return Err(AppError::InvalidInput(
            "send the recording as the request body".into(),
        ));
    }
    let filename = req
        .headers()
        .get("x-filename")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("recording");
    let task = state
        .transcriptions
        .submit(&user.0.id, filename, bytes)
        .await?;
    Ok(HttpResponse::Accepted()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/transcriptions/{}", task.id),
        ))
        .json(task))
}

/// `GET /api/v1/transcriptions/{id}`: status, progress, and once done the text and segments.
#[utoipa::path(get, path = "/api/v1/transcriptions/{id}", tag = "transcriptions", params(("id" = String, Path, description = "The task's id")),
    responses((status = 200, description = "The task: status, progress, and once done the text and timestamped segments", body = TaskView)))]
pub async fn get(
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<TranscriptionId>,
) -> Result<HttpResponse, AppError> {
    let task = state.transcriptions.get(&user.0.id, &path).await?;
    Ok(HttpResponse::Ok().json(task))
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = TranscriptionList)]
struct TaskList {
    transcriptions: Vec<TaskView>,
}

/// `GET /api/v1/transcriptions`: the caller's latest tasks, newest first (without segments).
#[utoipa::path(get, path = "/api/v1/transcriptions", tag = "transcriptions",
    responses((status = 200, description = "My latest tasks, newest first (without segments)", body = TaskList)))]
pub async fn list(state: web::Data<AppState>, user: Recruiter) -> Result<HttpResponse, AppError> {
    let transcriptions = state.transcriptions.list(&user.0.id).await?;
    Ok(HttpResponse::Ok().json(TaskList { transcriptions }))
}

/// `DELETE /api/v1/transcriptions/{id}`: the task, its result and its stored audio.
#[utoipa::path(delete, path = "/api/v1/transcriptions/{id}", tag = "transcriptions", params(("id" = String, Path, description = "The task's id")),
    responses((status = 204, description = "Deleted, with its result and stored audio")))]
pub async fn delete(
    state: web::Data<AppState>,
    user: Recruiter,
    path: web::Path<TranscriptionId>,
) -> Result<HttpResponse, AppError> {
    state.transcriptions.delete(&user.0.id, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}
