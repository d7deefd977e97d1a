//! Accounts: register, log in, who am I, log out, and the abuse limits around them.

use awc::http::StatusCode;
use futures_util::future::join_all;
use serde_json::json;

use crate::helpers::{
    spawn_app, spawn_app_with, unique_email, Backend, Reply, TestApp, STRONG_PASSWORD,
};

crate::on_both_backends!(
    register_login_me_logout_round_trip,
    wrong_password_and_unknown_email_look_the_same,
    duplicate_email_in_another_case_is_409,
    invalid_registrations_get_400_with_a_reason,
    failed_logins_are_rate_limited_with_retry_after,
    registrations_are_rate_limited_per_ip,
    parallel_wrong_passwords_stop_at_the_account_limit,
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
            "email_verified": false, "email_verification_required": false, "disabled": false,
            "last_sign_in_at": me.body["last_sign_in_at"], "has_password": true,
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

/// The `Retry-After` of a refused request, in seconds.
fn retry_after(r: &Reply) -> u64 {
    r.header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("Retry-After in seconds: {:?}", r.headers))
}

async fn parallel_wrong_passwords_stop_at_the_account_limit(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        s.login_max_failures_per_account = 5;
        s.login_max_failures_per_ip = 1000;
    })
    .await
    else {
        return;
    };
    let email = unique_email();
    app.register(&email, STRONG_PASSWORD, "Target").await;

    // All at once: every attempt is counted before its password is hashed.
    let answers = join_all((0..12).map(|_| app.login(&email, "wrong wrong wrong"))).await;
    let rejected = answers
        .iter()
        .filter(|r| r.status == StatusCode::UNAUTHORIZED)
        .count();
    let limited: Vec<&Reply> = answers
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    let statuses: Vec<StatusCode> = answers.iter().map(|r| r.status).collect();
    assert!(rejected <= 5, "at most the limit get 401: {statuses:?}");
    assert_eq!(
        rejected + limited.len(),
        12,
        "only 401 or 429: {statuses:?}"
    );
    for r in limited {
        assert_eq!(r.error_code(), "rate_limited");
        assert!(retry_after(r) > 0);
    }
    // The account is locked now, even for its password.
    let r = app.login(&email, STRONG_PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

#[actix_web::test]
async fn a_burst_beyond_the_hashing_bound_is_refused_with_retry_after() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |s| {
        s.password_hash_concurrency = 1;
        s.password_hash_queue = 0;
        s.login_max_failures_per_ip = 1000;
        s.login_max_failures_per_account = 1000;
        s.register_max_per_ip = 1000;
    })
    .await
    else {
        return;
    };
    let email = unique_email();
    let r = app.register(&email, STRONG_PASSWORD, "Target").await;
    assert_eq!(r.status, StatusCode::CREATED);

    // Logins and registrations hash passwords; with one hash at a time and none waiting, a
    // burst of them gets some refused at once instead of queueing behind each other.
    let logins = join_all((0..8).map(|_| app.login(&email, "wrong wrong wrong")));
    let emails: Vec<String> = (0..8).map(|_| unique_email()).collect();
    let registrations = join_all(
        emails
            .iter()
            .map(|email| app.register(email, STRONG_PASSWORD, "Burst")),
    );
    let (logins, registrations) = futures_util::join!(logins, registrations);
    let mut refused = 0;
    for (r, served) in logins
        .iter()
        .map(|r| (r, StatusCode::UNAUTHORIZED))
        .chain(registrations.iter().map(|r| (r, StatusCode::CREATED)))
    {
        if r.status == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(r.error_code(), "server_busy", "{:?}", r.body);
            assert!(retry_after(r) > 0);
            refused += 1;
        } else {
            assert_eq!(r.status, served, "{:?}", r.body);
        }
    }
    assert!(refused > 0, "a burst of 16 hashes over 1 slot refuses some");
    assert!(refused < 16, "the slot serves some of them");
    // Once the burst is over, hashing works again.
    let r = app.login(&email, STRONG_PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}

/// A wrong-password login as if through a proxy that set `X-Forwarded-For` to `hops`.
async fn login_forwarded(app: &TestApp, email: &str, hops: &str) -> Reply {
    let req = TestApp::client()
        .post(app.url("/api/v1/auth/login"))
        .insert_header(("content-type", "application/json"))
        .insert_header(("x-forwarded-for", hops));
    let body = json!({"email": email, "password": "wrong wrong wrong"});
    app.send(req, Some(body.to_string().into_bytes())).await
}

#[actix_web::test]
async fn a_spoofed_forwarded_for_does_not_escape_the_per_ip_limit() {
    // One proxy, configured the older way: it appends the address it was reached from.
    let Some(app) = spawn_app_with(Backend::Sqlite, |s| {
        s.trust_forwarded_for = true;
        s.login_max_failures_per_ip = 3;
        s.login_max_failures_per_account = 1000;
    })
    .await
    else {
        return;
    };
    // The client writes whatever it likes on the left; the proxy adds 203.0.113.7.
    for i in 0..3 {
        let r = login_forwarded(
            &app,
            &unique_email(),
            &format!("198.51.100.{i}, 203.0.113.7"),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{:?}", r.body);
    }
    let r = login_forwarded(&app, &unique_email(), "198.51.100.99, 203.0.113.7").await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        "a new spoofed hop is the same client"
    );
    let r = login_forwarded(&app, &unique_email(), "203.0.113.7").await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "without a spoofed hop"
    );
    let r = login_forwarded(&app, &unique_email(), "203.0.113.7, 203.0.113.8").await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "another client of the proxy has its own budget"
    );

    // Two proxies (a CDN, then a load balancer): the second hop from the right is the client.
    let Some(app) = spawn_app_with(Backend::Sqlite, |s| {
        s.trusted_proxies = 2;
        s.login_max_failures_per_ip = 2;
        s.login_max_failures_per_account = 1000;
    })
    .await
    else {
        return;
    };
    for spoofed in ["10.1.1.1", "10.2.2.2"] {
        let hops = format!("{spoofed}, 198.51.100.7, 192.0.2.1");
        let r = login_forwarded(&app, &unique_email(), &hops).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = login_forwarded(&app, &unique_email(), "10.3.3.3, 198.51.100.7, 192.0.2.1").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let r = login_forwarded(&app, &unique_email(), "198.51.100.8, 192.0.2.1").await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "another client behind the same proxies"
    );
}
