//! The HTTP edge: routes, request parsing, and the middleware that every response passes.
//! Handlers stay thin: parse → call the domain → map the result.

pub mod account;
pub mod admin;
pub mod api_keys;
pub mod api_routes;
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
pub mod openapi;
pub mod origin_check;
pub mod practice;
pub mod questions;
pub mod transcriptions;
pub mod webhooks;

use actix_web::{error::JsonPayloadError, web, HttpRequest};

use crate::domain::ApiScope::*;
use crate::error::AppError;
use api_routes::{Access::*, Api, RouteInfo};

/// Mounts every route under the app.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .service(web::resource("/i/{token}").get(invite::page))
        .service(web::resource("/auth/oidc/{provider}/start").get(oidc::start))
        .service(web::resource("/auth/oidc/{provider}/callback").get(oidc::callback))
        .service(
            api_scope()
                .wrap(middleware::no_store())
                .wrap(actix_web::middleware::from_fn(middleware::api_key_usage)),
        );
}

/// The `/api/v1` routes, each with who may call it (see [`api_routes`]).
fn api() -> Api {
    // A resume inside a JSON body is base64: a third larger than the file.
    let resume_json = crate::resume::MAX_BYTES / 3 * 4 + 64 * 1024;
    let resume_body = || web::PayloadConfig::new(crate::resume::MAX_BYTES);
    Api::new("/api/v1")
        .resource("/openapi.json", |r| r.get(Public, openapi::openapi_json))
        .resource("/auth/register", |r| r.post(Public, auth::register))
        .resource("/auth/login", |r| r.post(Public, auth::login))
        .resource("/auth/logout", |r| r.post(Public, auth::logout))
        .resource("/auth/logout-all", |r| r.post(Session, auth::logout_all))
        .resource("/auth/me", |r| r.get(Session, auth::me))
        .resource("/auth/password-reset", |r| {
            r.post(Public, auth::request_password_reset)
        })
        .resource("/auth/password-reset/confirm", |r| {
            r.post(Public, auth::confirm_password_reset)
        })
        .resource("/auth/verify-email", |r| r.post(Public, auth::verify_email))
        .resource("/auth/verify-email/resend", |r| {
            r.post(Session, auth::resend_verification)
        })
        .resource("/auth/providers", |r| r.get(Public, oidc::providers))
        .resource("/auth/oidc/link", |r| {
            r.get(Public, oidc::pending_link)
                .post(Public, oidc::confirm_link)
        })
        .resource("/me", |r| r.delete(Session, account::delete))
        .resource("/me/password", |r| r.put(Session, account::change_password))
        .resource("/me/export", |r| r.get(Session, account::export))
        .resource("/me/identities", |r| r.get(Session, oidc::identities))
        .resource("/me/identities/{id}", |r| {
            r.delete(Session, oidc::remove_identity)
        })
        .resource("/me/api-keys", |r| {
            r.get(Session, api_keys::list)
                .post(Session, api_keys::create)
        })
        .resource("/me/api-keys/{id}", |r| r.delete(Session, api_keys::revoke))
        .resource("/me/api-keys/{id}/usage", |r| {
            r.get(Session, api_keys::usage)
        })
        .resource("/admin/users", |r| r.get(Key(UsersRead), admin::users))
        .resource("/admin/users/{id}", |r| {
            r.patch(Key(UsersWrite), admin::update_user)
        })
        .resource("/interview-types", |r| {
            r.get(Key(JobsRead), catalog::interview_types)
        })
        .resource("/skills", |r| r.get(Key(JobsRead), catalog::skills))
        .resource("/interviews", |r| {
            r.get(Session, interviews::list)
                .post(Session, interviews::create)
        })
        .resource("/interviews/{id}", |r| {
            r.get(Key(ReportsRead), interviews::get)
                .delete(Session, interviews::delete)
        })
        .resource("/interviews/{id}/ws", |r| r.get(Session, live::connect))
        .resource("/interviews/{id}/report", |r| {
            r.get(Key(ReportsRead), interviews::report)
        })
        .resource("/interviews/{id}/report.pdf", |r| {
            r.get(Key(ReportsRead), interviews::report_pdf)
        })
        .resource("/progress", |r| r.get(Session, practice::progress))
        .resource("/bookmarks", |r| {
            r.get(Session, practice::bookmarks)
                .post(Session, practice::add_bookmark)
        })
        .resource("/bookmarks/{question_id}", |r| {
            r.delete(Session, practice::remove_bookmark)
        })
        .resource("/leaderboard", |r| r.get(Session, practice::leaderboard))
        .resource("/me/leaderboard", |r| {
            r.put(Session, practice::set_leaderboard)
        })
        .resource("/jobs", |r| {
            r.get(Key(JobsRead), jobs::list)
                .post(Key(JobsWrite), jobs::create)
        })
        .resource("/jobs/{id}", |r| {
            r.get(Key(JobsRead), jobs::get)
                .patch(Key(JobsWrite), jobs::update)
        })
        .resource("/jobs/{id}/candidates", |r| {
            r.app_data(json_config(resume_json))
                .get(Key(CandidatesRead), jobs::candidates)
                .post(Key(CandidatesWrite), jobs::add_candidate)
        })
        .resource("/jobs/{id}/candidates.csv", |r| {
            r.get(Key(CandidatesRead), jobs::candidates_csv)
        })
        .resource("/jobs/{id}/events", |r| r.get(Key(JobsRead), jobs::events))
        .resource("/interviews/{id}/invites", |r| {
            r.get(Key(CandidatesRead), jobs::invites)
                .post(Key(CandidatesWrite), jobs::reissue_invite)
                .delete(Key(CandidatesWrite), jobs::revoke_invites)
        })
        .resource("/interviews/{id}/invites/{invite_id}", |r| {
            r.delete(Key(CandidatesWrite), jobs::revoke_invite)
        })
        .resource("/interviews/{id}/resume", |r| {
            r.app_data(resume_body())
                .get(Key(CandidatesRead), jobs::download_resume)
                .put(Key(CandidatesWrite), jobs::upload_resume)
        })
        .resource("/invite", |r| r.get(Invite, invite::show))
        .resource("/invite/report", |r| r.get(Invite, invite::report))
        .resource("/invite/resume", |r| {
            r.app_data(resume_body())
                .get(Invite, invite::download_resume)
                .put(Invite, invite::upload_resume)
        })
        .resource("/questions", |r| {
            r.get(Key(QuestionsRead), questions::list)
                .post(Key(QuestionsWrite), questions::create)
        })
        .resource("/questions/{id}", |r| {
            r.patch(Key(QuestionsWrite), questions::update)
        })
        .resource("/transcriptions", |r| {
            r.get(Key(TranscriptionsRead), transcriptions::list)
                .post(Key(TranscriptionsWrite), transcriptions::create)
        })
        .resource("/transcriptions/{id}", |r| {
            r.get(Key(TranscriptionsRead), transcriptions::get)
                .delete(Key(TranscriptionsWrite), transcriptions::delete)
        })
        .resource("/webhooks", |r| {
            r.get(Key(WebhooksRead), webhooks::list)
                .post(Key(WebhooksWrite), webhooks::create)
        })
        .resource("/webhooks/{id}", |r| {
            r.get(Key(WebhooksRead), webhooks::get)
                .patch(Key(WebhooksWrite), webhooks::update)
                .delete(Key(WebhooksWrite), webhooks::delete)
        })
        .resource("/webhooks/{id}/rotate-secret", |r| {
            r.post(Key(WebhooksWrite), webhooks::rotate_secret)
        })
        .resource("/webhooks/{id}/test", |r| {
            r.post(Key(WebhooksWrite), webhooks::send_test)
        })
        .resource("/webhooks/{id}/deliveries", |r| {
            r.get(Key(WebhooksRead), webhooks::deliveries)
        })
        .resource("/webhooks/{id}/deliveries/{delivery_id}/redeliver", |r| {
            r.post(Key(WebhooksWrite), webhooks::redeliver)
        })
}

/// The mounted `/api/v1` scope (see [`api`]).
fn api_scope() -> actix_web::Scope {
    api().into_parts().0
}

/// Every `/api/v1` route with its method and access, in mounting order.
pub fn api_routes() -> Vec<RouteInfo> {
    api().into_parts().1
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
