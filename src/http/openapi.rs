//! The OpenAPI 3.1 description of `/api/v1`, served at `/api/v1/openapi.json` (and read by the
//! API page, `static/api.html`). Each handler describes itself (`#[utoipa::path]`: path,
//! parameters, body, success answers); who may call it, the error answers that follow from
//! that, and the operation ids are added here from the route table
//! ([`super::api_routes`]), so they cannot disagree with what is mounted. A test checks that
//! every mounted route is described and nothing else is.

use utoipa::openapi::path::{HttpMethod, Operation, PathItem};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, RefOr, ResponseBuilder, Schema, Type};
use utoipa::{OpenApi, PartialSchema};

use super::api_routes::{Access, RouteInfo};
use super::{
    account, admin, api_keys, auth, catalog, interviews, invite, jobs, live, oidc, practice,
    questions, transcriptions, webhooks,
};
use crate::auth::session_store::SESSION_COOKIE;
use crate::domain::ErrorCode;

/// The security schemes' names in the document.
const SESSION: &str = "session";
const API_KEY: &str = "api_key";
const INVITE: &str = "invite_token";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "viva",
        description = "The HTTP API of viva, a self-hosted AI voice interviewer. Browsers sign in \
            and send the session cookie; programs send an API key (`Authorization: Bearer \
            viva_…`, made on the API keys page by a recruiter or admin) and may call the routes \
            that name a scope the key holds. Every error answers `{\"error\": {\"code\", \
            \"message\"}}` with one of the codes in the `ErrorCode` schema.",
    ),
    paths(
        auth::register,
        auth::login,
        auth::logout,
        auth::logout_all,
        auth::me,
        auth::request_password_reset,
        auth::confirm_password_reset,
        auth::verify_email,
        auth::resend_verification,
        oidc::providers,
        oidc::pending_link,
        oidc::confirm_link,
        oidc::identities,
        oidc::remove_identity,
        account::delete,
        account::change_password,
        account::export,
        api_keys::list,
        api_keys::create,
        api_keys::revoke,
        api_keys::usage,
        admin::users,
        admin::update_user,
        catalog::interview_types,
        catalog::skills,
        interviews::list,
        interviews::create,
        interviews::get,
        interviews::delete,
        interviews::report,
        interviews::report_pdf,
        live::connect,
        practice::progress,
        practice::bookmarks,
        practice::add_bookmark,
        practice::remove_bookmark,
        practice::leaderboard,
        practice::set_leaderboard,
        jobs::list,
        jobs::create,
        jobs::get,
        jobs::update,
        jobs::candidates,
        jobs::add_candidate,
        jobs::candidates_csv,
        jobs::events,
        jobs::invites,
        jobs::reissue_invite,
        jobs::revoke_invites,
        jobs::revoke_invite,
        jobs::upload_resume,
        jobs::download_resume,
        invite::show,
        invite::report,
        invite::upload_resume,
        invite::download_resume,
        questions::list,
        questions::create,
        questions::update,
        transcriptions::create,
        transcriptions::list,
        transcriptions::get,
        transcriptions::delete,
        webhooks::list,
        webhooks::create,
        webhooks::get,
        webhooks::update,
        webhooks::delete,
        webhooks::rotate_secret,
        webhooks::send_test,
        webhooks::deliveries,
        webhooks::redeliver,
        openapi_json,
    )
)]
struct ApiDoc;

/// `GET /api/v1/openapi.json`: this document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "api",
    responses((status = 200, description = "The OpenAPI 3.1 description of this API", content_type = "application/json", body = Object)))]
pub async fn openapi_json() -> actix_web::HttpResponse {
    // The same for the process's whole life: built once, at the first request.
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = DOCUMENT.get_or_init(|| serde_json::to_string(&document()).unwrap_or_default());
    actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .body(body.as_str())
}

/// The whole description, with security, error answers and operation ids from `routes`.
pub fn document() -> utoipa::openapi::OpenApi {
    describe(ApiDoc::openapi(), &super::api_routes())
}

fn describe(mut doc: utoipa::openapi::OpenApi, routes: &[RouteInfo]) -> utoipa::openapi::OpenApi {
    doc.info.version = env!("CARGO_PKG_VERSION").into();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        SESSION,
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            SESSION_COOKIE,
            "The browser session, set by signing in.",
        ))),
    );
    components.add_security_scheme(
        API_KEY,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "An API key (`viva_…`). The route's required scope is listed in its \
                     security requirement.",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        INVITE,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-Interview-Token",
            "A candidate's invite token, from the link they were sent.",
        ))),
    );
    components
        .schemas
        .insert("ErrorCode".into(), ErrorCode::schema());
    components.schemas.insert("Error".into(), error_schema());

    for route in routes {
        let Some(item) = doc.paths.paths.get_mut(&route.path) else {
            continue;
        };
        let Some(operation) = operation_mut(item, &route.method) else {
            continue;
        };
        operation.operation_id = Some(operation_id(route));
        operation.security = Some(security(route.access));
        add_error_answers(operation, route.access);
        if let Access::Key(scope) = route.access {
            let note = format!("API keys: scope `{scope}`.");
            operation.description = Some(match operation.description.take() {
                Some(text) if !text.is_empty() => format!("{text}\n\n{note}"),
                _ => note,
            });
        }
    }
    doc
}

/// The operation of `item` for `method`, when the item describes one.
fn operation_mut<'a>(
    item: &'a mut PathItem,
    method: &actix_web::http::Method,
) -> Option<&'a mut Operation> {
    match http_method(method)? {
        HttpMethod::Get => item.get.as_mut(),
        HttpMethod::Post => item.post.as_mut(),
        HttpMethod::Put => item.put.as_mut(),
        HttpMethod::Patch => item.patch.as_mut(),
        HttpMethod::Delete => item.delete.as_mut(),
        _ => None,
    }
}

fn http_method(method: &actix_web::http::Method) -> Option<HttpMethod> {
    Some(match method.as_str() {
        "GET" => HttpMethod::Get,
        "POST" => HttpMethod::Post,
        "PUT" => HttpMethod::Put,
        "PATCH" => HttpMethod::Patch,
        "DELETE" => HttpMethod::Delete,
        _ => return None,
    })
}

/// `get_jobs_id_candidates` for `GET /api/v1/jobs/{id}/candidates`: unique, as each method and
/// path is mounted once.
fn operation_id(route: &RouteInfo) -> String {
    let path = route.path.trim_start_matches("/api/v1/");
    let words: Vec<String> = path
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    format!(
        "{}_{}",
        route.method.as_str().to_lowercase(),
        words.join("_")
    )
}

fn security(access: Access) -> Vec<SecurityRequirement> {
    let none: [&str; 0] = [];
    match access {
        Access::Public => Vec::new(),
        Access::Invite => vec![SecurityRequirement::new(INVITE, none)],
        Access::Session => vec![SecurityRequirement::new(SESSION, none)],
        Access::Key(scope) => vec![
            SecurityRequirement::new(SESSION, none),
            SecurityRequirement::new(API_KEY, [scope.as_str()]),
        ],
    }
}

/// The error answers every route of its access can give (each route adds what is its own in
/// its description).
fn add_error_answers(operation: &mut Operation, access: Access) {
    let mut answers = vec![
        ("400", "Invalid input or malformed JSON"),
        (
            "500",
            "Something went wrong on the server (the log has the cause)",
        ),
        (
            "503",
            "A dependency (database, session store, models) is unavailable, or the server is busy",
        ),
    ];
    if access != Access::Public {
        answers.push((
            "401",
            "Not signed in, or the API key is invalid, expired or revoked",
        ));
        answers.push(("403", "Signed in, but not allowed"));
        answers.push(("404", "Not found, or not yours"));
    }
    if let Access::Key(_) = access {
        answers.push((
            "429",
            "Rate limited: `Retry-After` says when to retry; API key answers carry `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`",
        ));
    }
    for (status, description) in answers {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| {
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Error")))
                            .build(),
                    )
                    .build()
                    .into()
            });
    }
}

/// `{"error": {"code": ErrorCode, "message": string}}`.
fn error_schema() -> RefOr<Schema> {
    let detail = ObjectBuilder::new()
        .property("code", Ref::from_schema_name("ErrorCode"))
        .property(
            "message",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("What went wrong, for a person")),
        )
        .required("code")
        .required("message");
    ObjectBuilder::new()
        .property("error", detail)
        .required("error")
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Every (method, path) an OpenAPI document describes.
    fn described(doc: &utoipa::openapi::OpenApi) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for (path, item) in &doc.paths.paths {
            for (method, op) in [
                ("GET", &item.get),
                ("POST", &item.post),
                ("PUT", &item.put),
                ("PATCH", &item.patch),
                ("DELETE", &item.delete),
            ] {
                if op.is_some() {
                    out.insert((method.to_owned(), path.clone()));
                }
            }
        }
        out
    }

    #[test]
    fn every_mounted_route_is_described_and_nothing_else() {
        let doc = document();
        let mounted: BTreeSet<(String, String)> = crate::http::api_routes()
            .into_iter()
            .map(|r| (r.method.to_string(), r.path))
            .collect();
        let described = described(&doc);
        let undescribed: Vec<_> = mounted.difference(&described).collect();
        let unmounted: Vec<_> = described.difference(&mounted).collect();
        assert!(
            undescribed.is_empty(),
            "mounted but missing from the OpenAPI description (add #[utoipa::path] and list it in ApiDoc): {undescribed:?}"
        );
        assert!(
            unmounted.is_empty(),
            "described but not mounted: {unmounted:?}"
        );
    }

    #[test]
    fn operation_ids_are_unique_and_keyed_routes_name_their_scope() {
        let doc = document();
        let json = serde_json::to_value(&doc).expect("serialises");
        let mut ids = BTreeSet::new();
        for route in crate::http::api_routes() {
            let op = &json["paths"][&route.path][route.method.as_str().to_lowercase()];
            let id = op["operationId"]
                .as_str()
                .expect("an operation id")
                .to_owned();
            assert!(ids.insert(id.clone()), "duplicate operation id {id}");
            if let Access::Key(scope) = route.access {
                assert_eq!(
                    op["security"][1]["api_key"][0],
                    scope.as_str(),
                    "{} {}",
                    route.method,
                    route.path
                );
            }
        }
    }

    #[test]
    fn the_document_is_openapi_3_1_with_every_error_code() {
        let json = serde_json::to_value(document()).expect("serialises");
        assert!(json["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")));
        let codes = json["components"]["schemas"]["ErrorCode"]["enum"]
            .as_array()
            .expect("the codes");
        assert_eq!(codes.len(), ErrorCode::ALL.len());
        for code in ErrorCode::ALL {
            assert!(
                codes.iter().any(|c| c == code.as_str()),
                "{}",
                code.as_str()
            );
        }
    }
}
