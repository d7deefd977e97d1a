//! What every request meets: JSON errors, size limits, security headers, the cross-site
//! check and health (metrics: telemetry.rs).

use awc::http::StatusCode;
use serde_json::json;

use crate::helpers::{loud, spawn_app, spawn_app_with, Backend, TestApp, STRONG_PASSWORD};

crate::on_both_backends!(healthz_checks_the_database, cross_site_posts_are_refused);

fn assert_json_error(r: &crate::helpers::Reply, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "{:?}", String::from_utf8_lossy(&r.raw));
    assert_eq!(r.error_code(), code, "{:?}", r.body);
    assert!(r.body["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json")));
}

#[actix_web::test]
async fn malformed_json_is_a_400_json_error() {
    let app = spawn_app(Backend::Sqlite).await.expect("sqlite app");
    let req = TestApp::client()
        .post(app.url("/api/v1/auth/login"))
        .insert_header(("content-type", "application/json"));
    let r = app
        .send(req, Some(b"{\"email\": \"a@b.c\", ".to_vec()))
        .await;
    assert_json_error(&r, StatusCode::BAD_REQUEST, "invalid_json");
}

#[actix_web::test]
async fn wrong_content_type_is_415() {
    let app = spawn_app(Backend::Sqlite).await.expect("sqlite app");
    let req = TestApp::client()
        .post(app.url("/api/v1/auth/login"))
        .insert_header(("content-type", "text/plain"));
    let r = app.send(req, Some(b"email=a".to_vec())).await;
    assert_json_error(
        &r,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
}

#[actix_web::test]
async fn oversized_bodies_are_413() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.max_body_bytes = 4096)
        .await
        .expect("sqlite app");
    let huge = json!({"email": "a@b.co", "password": "x".repeat(10_000)});
    let r = app.post_json("/api/v1/auth/login", &huge, None).await;
    assert_json_error(&r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

#[actix_web::test]
async fn unknown_routes_and_methods_get_json_errors() {
    let app = spawn_app(Backend::Sqlite).await.expect("sqlite app");
    assert_json_error(
        &app.get("/api/v1/nothing-here", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_json_error(
        &app.get("/no-such-page.html", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let r = app
        .send(TestApp::client().delete(app.url("/api/v1/auth/me")), None)
        .await;
    assert_json_error(&r, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

#[actix_web::test]
async fn every_response_has_security_headers_and_a_request_id() {
    let app = spawn_app(Backend::Sqlite).await.expect("sqlite app");
    let pages = [
        app.get("/", None).await,
        app.get("/api/v1/auth/me", None).await,
        app.get("/missing", None).await,
        app.get("/healthz", None).await,
    ];
    for r in &pages {
        let csp = r.header("content-security-policy").expect("CSP");
        assert!(
            csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
        assert!(r.header("x-request-id").is_some_and(|id| id.len() >= 32));
    }
    assert_ne!(
        pages[1].header("x-request-id"),
        pages[2].header("x-request-id")
    );
    assert_eq!(pages[1].header("cache-control"), Some("no-store"));
}

#[actix_web::test]
async fn the_browser_app_is_served_at_the_root() {
    let app = spawn_app(Backend::Sqlite).await.expect("sqlite app");
    let r = app.get("/", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/html")));
    let html = String::from_utf8_lossy(&r.raw);
    assert!(
        html.contains("register-form") && html.contains("login-form"),
        "{html}"
    );
}

async fn healthz_checks_the_database(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let r = app.get("/healthz", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["status"], "ok");
    assert_eq!(
        r.body["database"],
        if backend == Backend::Sqlite {
            "sqlite"
        } else {
            "postgres"
        }
    );
}

async fn cross_site_posts_are_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (email, cookie) = app.signed_in_user().await;
    let attempts = [
        vec![("sec-fetch-site", "cross-site".to_owned())],
        vec![("origin", "https://evil.example".to_owned())],
        vec![("origin", "null".to_owned())],
        vec![
            ("sec-fetch-site", "same-site".to_owned()),
            ("origin", app.address.clone()),
        ],
    ];
    for headers in attempts {
        let mut req = TestApp::client()
            .post(app.url("/api/v1/auth/logout-all"))
            .insert_header(("content-type", "application/json"))
            .insert_header(("cookie", cookie.as_str()));
        for (name, value) in &headers {
            req = req.insert_header((*name, value.as_str()));
        }
        let r = app.send(req, Some(b"{}".to_vec())).await;
        assert_json_error(&r, StatusCode::FORBIDDEN, "cross_site_request");
        assert!(r.header("content-security-policy").is_some());
    }
    // The session survived every refused attempt.
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&cookie)).await.status,
        StatusCode::OK
    );

    // The same request from the app's own page goes through.
    let req = TestApp::client()
        .post(app.url("/api/v1/auth/login"))
        .insert_header(("content-type", "application/json"))
        .insert_header(("sec-fetch-site", "same-origin"))
        .insert_header(("origin", app.address.as_str()));
    let body = json!({"email": email, "password": STRONG_PASSWORD})
        .to_string()
        .into_bytes();
    assert_eq!(app.send(req, Some(body)).await.status, StatusCode::OK);
}

#[actix_web::test]
async fn localhost_spelling_of_the_origin_is_accepted_without_public_url() {
    let app = spawn_app(Backend::Sqlite).await.expect("sqlite app");
    let origin = format!("http://localhost:{}", app.port);
    let req = TestApp::client()
        .post(app.url("/api/v1/auth/logout"))
        .insert_header(("origin", origin.as_str()));
    assert_eq!(app.send(req, None).await.status, StatusCode::NO_CONTENT);
}

#[actix_web::test]
async fn a_dead_database_gives_503_json_and_no_panic() {
    let Some(app) = spawn_app(Backend::Postgres).await else {
        loud("SKIPPED: dead-database test needs VIVA_TEST_POSTGRES_URL");
        return;
    };
    let (email, cookie) = app.signed_in_user().await;
    app.postgres.as_ref().expect("postgres db").drop_now().await;

    let health = app.get("/healthz", None).await;
    assert_json_error(
        &health,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    );
    let login = app.login(&email, STRONG_PASSWORD).await;
    assert_eq!(
        login.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{:?}",
        login.body
    );
    let me = app.get("/api/v1/auth/me", Some(&cookie)).await;
    assert!(me.status.is_server_error() || me.status == StatusCode::UNAUTHORIZED);
    assert!(me.body["error"]["code"].is_string());
    assert!(
        !String::from_utf8_lossy(&me.raw).contains("database"),
        "no internals leak"
    );
}
