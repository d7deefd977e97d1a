//! Login sessions: server-side state, expiry, renewal, cookie attributes, both stores.

use std::time::Duration;

use awc::http::StatusCode;
use serde_json::json;

use crate::helpers::{
    loud, redis_test_url, spawn_app, spawn_app_with, Backend, TestApp, STRONG_PASSWORD,
};

crate::on_both_backends!(
    logout_all_ends_every_session_of_the_user,
    idle_sessions_expire,
    sessions_expire_after_the_absolute_timeout_however_active,
    login_renews_the_session_id,
    session_cookie_is_httponly_lax_and_not_secure_over_http,
);

async fn logout_all_ends_every_session_of_the_user(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (email, laptop) = app.signed_in_user().await;
    let phone = app
        .login(&email, STRONG_PASSWORD)
        .await
        .session_cookie()
        .expect("cookie");
    let (_, someone_else) = app.signed_in_user().await;

    let r = app
        .post_json("/api/v1/auth/logout-all", &json!({}), Some(&laptop))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    for cookie in [&laptop, &phone] {
        assert_eq!(
            app.get("/api/v1/auth/me", Some(cookie)).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&someone_else)).await.status,
        StatusCode::OK
    );
    // Logging in again works.
    let fresh = app
        .login(&email, STRONG_PASSWORD)
        .await
        .session_cookie()
        .expect("cookie");
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&fresh)).await.status,
        StatusCode::OK
    );

    let anonymous = app
        .post_json("/api/v1/auth/logout-all", &json!({}), None)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

async fn idle_sessions_expire(backend: Backend) {
    let Some(app) =
        spawn_app_with(backend, |s| s.session_idle_timeout = Duration::from_secs(1)).await
    else {
        return;
    };
    let (_, cookie) = app.signed_in_user().await;
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&cookie)).await.status,
        StatusCode::OK
    );
    actix_web::rt::time::sleep(Duration::from_millis(2200)).await;
    let r = app.get("/api/v1/auth/me", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

async fn sessions_expire_after_the_absolute_timeout_however_active(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        s.session_absolute_timeout = Duration::from_secs(2)
    })
    .await
    else {
        return;
    };
    let (_, cookie) = app.signed_in_user().await;
    // Keep it busy: activity does not extend the absolute limit.
    for _ in 0..4 {
        assert_eq!(
            app.get("/api/v1/auth/me", Some(&cookie)).await.status,
            StatusCode::OK
        );
        actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    }
    actix_web::rt::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&cookie)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn login_renews_the_session_id(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (email, first) = app.signed_in_user().await;
    let req = TestApp::client()
        .post(app.url("/api/v1/auth/login"))
        .insert_header(("content-type", "application/json"))
        .insert_header(("cookie", first.as_str()));
    let body = json!({"email": email, "password": STRONG_PASSWORD})
        .to_string()
        .into_bytes();
    let second = app.send(req, Some(body)).await;
    assert_eq!(second.status, StatusCode::OK);
    let second = second.session_cookie().expect("a new cookie");
    assert_ne!(first, second);
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&first)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&second)).await.status,
        StatusCode::OK
    );
}

async fn session_cookie_is_httponly_lax_and_not_secure_over_http(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (email, _) = app.signed_in_user().await;
    let header = app
        .login(&email, STRONG_PASSWORD)
        .await
        .set_cookie_header()
        .expect("set-cookie");
    let lower = header.to_lowercase();
    assert!(lower.contains("httponly"), "{header}");
    assert!(lower.contains("samesite=lax"), "{header}");
    assert!(!lower.contains("secure"), "{header}");
    assert!(lower.contains("path=/"), "{header}");
}

#[actix_web::test]
async fn session_cookie_is_secure_when_public_url_is_https() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |s| {
        s.public_url = Some("https://viva.example.com".parse().expect("url"));
    })
    .await
    else {
        return;
    };
    let email = crate::helpers::unique_email();
    app.register(&email, STRONG_PASSWORD, "Sec").await;
    let login = app.login(&email, STRONG_PASSWORD).await;
    let header = login
        .set_cookie_header()
        .expect("set-cookie")
        .to_lowercase();
    assert!(header.contains("secure"), "{header}");
    assert!(login.header("strict-transport-security").is_some());
}

#[actix_web::test]
async fn redis_session_store_round_trip() {
    let Some(redis_url) = redis_test_url() else {
        loud("SKIPPED: Redis session store test not run; set VIVA_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379)");
        return;
    };
    let Some(app) = spawn_app_with(Backend::Sqlite, |s| {
        s.session_store = viva::config::SessionStoreKind::Redis;
        s.redis_url = redis_url.into();
    })
    .await
    else {
        return;
    };
    let (email, cookie) = app.signed_in_user().await;
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&cookie)).await.status,
        StatusCode::OK
    );
    let other = app
        .login(&email, STRONG_PASSWORD)
        .await
        .session_cookie()
        .expect("cookie");

    assert_eq!(
        app.post_json("/api/v1/auth/logout", &json!({}), Some(&cookie))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&cookie)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&other)).await.status,
        StatusCode::OK
    );
    app.post_json("/api/v1/auth/logout-all", &json!({}), Some(&other))
        .await;
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&other)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[actix_web::test]
async fn sessions_survive_a_restart_with_the_same_data_dir() {
    let Some(first) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let (_, cookie) = first.signed_in_user().await;
    let dir = first.data_dir.path().to_path_buf();
    // A second server over the same database and secret key (as after a restart).
    let Some(second) = spawn_app_with(Backend::Sqlite, |s| {
        s.data_dir = dir.clone();
        s.database_url = Some(viva::db::DatabaseUrl::Sqlite(dir.join("viva.db")));
    })
    .await
    else {
        return;
    };
    assert_eq!(
        second.get("/api/v1/auth/me", Some(&cookie)).await.status,
        StatusCode::OK
    );
}
