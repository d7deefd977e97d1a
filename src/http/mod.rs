//! The HTTP edge: routes, request parsing, and the middleware that every response passes.
//! Handlers stay thin: parse → call the domain → map the result.

pub mod account;
pub mod admin;
pub mod auth;
pub mod catalog;
pub mod current_user;
pub mod health;
pub mod interviews;
pub mod invite;
pub mod jobs;
pub mod live;
pub mod middleware;
pub mod oidc;
pub mod origin_check;
pub mod practice;
pub mod questions;
pub mod transcriptions;

use actix_web::{error::JsonPayloadError, web, HttpRequest};

use crate::error::AppError;

/// Mounts every route under the app.
pub fn routes(cfg: &mut web::ServiceConfig) {
    // A resume inside a JSON body is base64: a third larger than the file.
    let resume_json = crate::resume::MAX_BYTES / 3 * 4 + 64 * 1024;
    let resume_body = || web::PayloadConfig::new(crate::resume::MAX_BYTES);
    cfg.route("/healthz", web::get().to(health::healthz))
        .service(web::resource("/i/{token}").get(invite::page))
        .service(web::resource("/auth/oidc/{provider}/start").get(oidc::start))
        .service(web::resource("/auth/oidc/{provider}/callback").get(oidc::callback))
        .service(
            // Resources (not bare routes) so a known path with the wrong method is a 405.
            web::scope("/api/v1")
                .wrap(middleware::no_store())
                .service(web::resource("/auth/register").post(auth::register))
                .service(web::resource("/auth/login").post(auth::login))
                .service(web::resource("/auth/logout").post(auth::logout))
                .service(web::resource("/auth/logout-all").post(auth::logout_all))
                .service(web::resource("/auth/me").get(auth::me))
                .service(web::resource("/auth/password-reset").post(auth::request_password_reset))
                .service(
                    web::resource("/auth/password-reset/confirm")
                        .post(auth::confirm_password_reset),
                )
                .service(web::resource("/auth/verify-email").post(auth::verify_email))
                .service(web::resource("/auth/verify-email/resend").post(auth::resend_verification))
                .service(web::resource("/me").delete(account::delete))
                .service(web::resource("/me/password").put(account::change_password))
                .service(web::resource("/me/export").get(account::export))
                .service(web::resource("/admin/users").get(admin::users))
                .service(web::resource("/admin/users/{id}").patch(admin::update_user))
                .service(web::resource("/auth/providers").get(oidc::providers))
                .service(
                    web::resource("/auth/oidc/link")
                        .get(oidc::pending_link)
                        .post(oidc::confirm_link),
                )
                .service(web::resource("/me/identities").get(oidc::identities))
                .service(web::resource("/me/identities/{id}").delete(oidc::remove_identity))
                .service(web::resource("/interview-types").get(catalog::interview_types))
                .service(web::resource("/skills").get(catalog::skills))
                .service(
                    web::resource("/interviews")
                        .get(interviews::list)
                        .post(interviews::create),
                )
                .service(
                    web::resource("/interviews/{id}")
                        .get(interviews::get)
                        .delete(interviews::delete),
                )
                .service(web::resource("/interviews/{id}/ws").get(live::connect))
                .service(web::resource("/interviews/{id}/report").get(interviews::report))
                .service(web::resource("/interviews/{id}/report.pdf").get(interviews::report_pdf))
                .service(web::resource("/progress").get(practice::progress))
                .service(
                    web::resource("/bookmarks")
                        .get(practice::bookmarks)
                        .post(practice::add_bookmark),
                )
                .service(
                    web::resource("/bookmarks/{question_id}").delete(practice::remove_bookmark),
                )
                .service(web::resource("/leaderboard").get(practice::leaderboard))
                .service(web::resource("/me/leaderboard").put(practice::set_leaderboard))
                .service(web::resource("/jobs").get(jobs::list).post(jobs::create))
                .service(
                    web::resource("/jobs/{id}")
                        .get(jobs::get)
                        .patch(jobs::update),
                )
                .service(
                    web::resource("/jobs/{id}/candidates")
                        .app_data(json_config(resume_json))
                        .get(jobs::candidates)
                        .post(jobs::add_candidate),
                )
                .service(web::resource("/jobs/{id}/candidates.csv").get(jobs::candidates_csv))
                .service(web::resource("/jobs/{id}/events").get(jobs::events))
                .service(
                    web::resource("/interviews/{id}/invites")
                        .get(jobs::invites)
                        .post(jobs::reissue_invite)
                        .delete(jobs::revoke_invites),
                )
                .service(
                    web::resource("/interviews/{id}/invites/{invite_id}")
                        .delete(jobs::revoke_invite),
                )
                .service(
                    web::resource("/interviews/{id}/resume")
                        .app_data(resume_body())
                        .get(jobs::download_resume)
                        .put(jobs::upload_resume),
                )
                .service(web::resource("/invite").get(invite::show))
                .service(web::resource("/invite/report").get(invite::report))
                .service(
                    web::resource("/invite/resume")
                        .app_data(resume_body())
                        .get(invite::download_resume)
                        .put(invite::upload_resume),
                )
                .service(
                    web::resource("/questions")
                        .get(questions::list)
                        .post(questions::create),
                )
                .service(web::resource("/questions/{id}").patch(questions::update))
                // Batch transcription (one block: the lead rewrites the registration on merge).
                .service(
                    web::resource("/transcriptions")
                        .get(transcriptions::list)
                        .post(transcriptions::create),
                )
                .service(
                    web::resource("/transcriptions/{id}")
                        .get(transcriptions::get)
                        .delete(transcriptions::delete),
                ),
        );
}

/// `GET /metrics`: mounted on the main app only when a token guards it and no separate
/// `metrics_bind` listener serves it instead (startup decides).
pub fn metrics_route(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(health::metrics));
}

/// JSON bodies: size-limited, and every way they can be wrong answered in the JSON error shape.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(move |err, _req: &HttpRequest| json_error(err, limit).into())
}

fn json_error(err: JsonPayloadError, limit: usize) -> AppError {
    match err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            AppError::PayloadTooLarge { limit }
        }
        JsonPayloadError::ContentType => AppError::UnsupportedMediaType,
        JsonPayloadError::Deserialize(e) => AppError::InvalidJson(e.to_string()),
        other => AppError::InvalidJson(other.to_string()),
    }
}

/// Unmatched paths get the JSON 404.
pub async fn not_found() -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound)
}
