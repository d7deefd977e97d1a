//! Accounts: register, log in, who am I, log out, and the abuse limits around them.

use awc::http::StatusCode;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with, unique_email, Backend, STRONG_PASSWORD};

crate::on_both_backends!(
    register_login_me_logout_round_trip,
    wrong_password_and_unknown_email_look_the_same,
    duplicate_email_in_another_case_is_409,
    invalid_registrations_get_400_with_a_reason,
    failed_logins_are_rate_limited_with_retry_after,
    registrations_are_rate_limited_per_ip,
);

async fn register_login_me_logout_round_trip(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let email = unique_email();

    let r = app
        .register(&email, STRONG_PASSWORD, "  Ada Lovelace ")
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["email"], email);
    assert_eq!(r.body["display_name"], "Ada Lovelace");
    assert_eq!(r.body["role"], "candidate");
    assert!(r.body.get("password_hash").is_none());
    assert!(
        r.session_cookie().is_none(),
        "registering alone does not sign in"
    );
    let id = r.body["id"].as_str().expect("id").to_owned();

    let me = app.get("/api/v1/auth/me", None).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    assert_eq!(me.error_code(), "unauthenticated");

    let login = app.login(&email.to_uppercase(), STRONG_PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK, "{:?}", login.body);
    let cookie = login.session_cookie().expect("session cookie");

    let me = app.get("/api/v1/auth/me", Some(&cookie)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(
        me.body,
        json!({
            "id": id, "email": email, "display_name": "Ada Lovelace", "role": "candidate",
            "created_at": me.body["created_at"], "leaderboard_opt_in": false,
        })
    );

    let out = app
        .post_json("/api/v1/auth/logout", &json!({}), Some(&cookie))
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let me = app.get("/api/v1/auth/me", Some(&cookie)).await;
    assert_eq!(
        me.status,
        StatusCode::UNAUTHORIZED,
        "old cookie must not work after logout"
    );
}

async fn wrong_password_and_unknown_email_look_the_same(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let email = unique_email();
    app.register(&email, STRONG_PASSWORD, "Grace").await;

    let wrong_password = app.login(&email, "not the right password").await;
    let unknown_email = app.login(&unique_email(), "not the right password").await;
    let malformed_email = app.login("not-an-email", "not the right password").await;
    for r in [&wrong_password, &unknown_email, &malformed_email] {
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.error_code(), "invalid_credentials");
        assert!(r.session_cookie().is_none());
    }
    assert_eq!(
        wrong_password.raw, unknown_email.raw,
        "same body either way"
    );
    assert_eq!(wrong_password.raw, malformed_email.raw);
}

async fn duplicate_email_in_another_case_is_409(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let email = unique_email();
    assert_eq!(
        app.register(&email, STRONG_PASSWORD, "First").await.status,
        StatusCode::CREATED
    );
    let again = app
        .register(&email.to_uppercase(), "another strong passphrase", "Second")
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.error_code(), "email_taken");
}

async fn invalid_registrations_get_400_with_a_reason(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.register_max_per_ip = 100).await else {
        return;
    };
    let cases = [
        (
            json!({"email": "nope", "password": STRONG_PASSWORD, "display_name": "X"}),
            "email",
        ),
        (
            json!({"email": unique_email(), "password": "short", "display_name": "X"}),
            "at least 10",
        ),
        (
            json!({"email": unique_email(), "password": "x".repeat(129), "display_name": "X"}),
            "at most 128",
        ),
        (
            json!({"email": unique_email(), "password": "password1234", "display_name": "X"}),
            "common",
        ),
        (
            json!({"email": unique_email(), "password": STRONG_PASSWORD, "display_name": "  "}),
            "display_name",
        ),
    ];
    for (body, reason) in cases {
        let r = app.post_json("/api/v1/auth/register", &body, None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {:?}", r.body);
        assert_eq!(r.error_code(), "invalid_input");
        let message = r.body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(reason),
            "{body}: expected {reason:?} in {message:?}"
        );
    }
    let missing_field = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": unique_email()}),
            None,
        )
        .await;
    assert_eq!(missing_field.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing_field.error_code(), "invalid_json");
    assert!(missing_field.body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("password"));
}

async fn failed_logins_are_rate_limited_with_retry_after(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.login_max_failures_per_account = 3).await else {
        return;
    };
    let email = unique_email();
    app.register(&email, STRONG_PASSWORD, "Target").await;
    for _ in 0..3 {
        assert_eq!(
            app.login(&email, "wrong wrong wrong").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    // Even the right password is refused while the account is locked out, in any spelling.
    let limited = app.login(&email.to_uppercase(), STRONG_PASSWORD).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.error_code(), "rate_limited");
    let retry_after: u64 = limited
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!(retry_after > 0 && retry_after <= 15 * 60, "{retry_after}");
    // Another account from the same address is not locked.
    let other = unique_email();
    app.register(&other, STRONG_PASSWORD, "Other").await;
    assert_eq!(
        app.login(&other, STRONG_PASSWORD).await.status,
        StatusCode::OK
    );
}

async fn registrations_are_rate_limited_per_ip(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.register_max_per_ip = 2).await else {
        return;
    };
    for _ in 0..2 {
        assert_eq!(
            app.register(&unique_email(), STRONG_PASSWORD, "N")
                .await
                .status,
            StatusCode::CREATED
        );
    }
    let r = app.register(&unique_email(), STRONG_PASSWORD, "N").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.header("retry-after").is_some());
}
