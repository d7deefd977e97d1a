//! API keys over the real API: made by a signed-in recruiter, shown once, acting as their
//! owner within their scopes, refused when revoked, expired or their owner is disabled, rate
//! limited per key with the `RateLimit-*` headers, and every request logged without the key.

use std::time::Duration;

use awc::http::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, Backend, LogCapture, Reply, TestApp};
use crate::hiring::{job_body, new_job, person};
use crate::on_both_backends;

on_both_backends!(
    a_key_acts_as_its_owner_within_its_scopes,
    revoked_expired_and_orphaned_keys_are_refused,
    each_key_has_its_own_rate_limit_with_headers,
    every_request_with_a_key_is_logged_and_the_key_never_is,
);

impl TestApp {
    /// Makes an API key as the signed-in `cookie`; returns the creation answer.
    pub(crate) async fn new_api_key(&self, cookie: &str, scopes: &[&str]) -> Value {
        let r = self
            .post_json(
                "/api/v1/me/api-keys",
                &json!({"name": "ATS sync", "scopes": scopes}),
                Some(cookie),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r.body
    }

    /// A request with `Authorization: Bearer <key>` and an optional JSON body.
    pub(crate) async fn with_key(
        &self,
        method: awc::http::Method,
        path: &str,
        key: &str,
        body: Option<&Value>,
    ) -> Reply {
        let req = Self::client()
            .request(method, self.url(path))
            .insert_header(("authorization", format!("Bearer {key}")))
            .insert_header(("content-type", "application/json"));
        self.send(req, body.map(|b| b.to_string().into_bytes()))
            .await
    }

    async fn get_with_key(&self, path: &str, key: &str) -> Reply {
        self.with_key(awc::http::Method::GET, path, key, None).await
    }
}

fn secret_of(created: &Value) -> String {
    created["key"]
        .as_str()
        .expect("the key is shown once")
        .to_owned()
}

async fn a_key_acts_as_its_owner_within_its_scopes(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let cookie = app.signed_in_recruiter().await;
    let job = new_job(&app, &cookie, job_body("Platform engineer")).await;
    let job_id = job["id"].as_str().expect("job id");
    let other = app.signed_in_recruiter().await;
    let others_job = new_job(&app, &other, job_body("Not yours")).await;

    let read_only = app.new_api_key(&cookie, &["jobs:read"]).await;
    let key = secret_of(&read_only);
    assert!(key.starts_with("viva_"), "{key}");
    assert!(key.starts_with(read_only["prefix"].as_str().expect("prefix")));
    assert_eq!(read_only["scopes"], json!(["jobs:read"]));

    // Listed by prefix; the secret and its hash never again.
    let list = app.get("/api/v1/me/api-keys", Some(&cookie)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body.as_array().map(Vec::len), Some(1));
    let listed = String::from_utf8_lossy(&list.raw);
    assert!(!listed.contains(&key[5..]), "the key is not shown again");
    assert!(!listed.contains("hash"), "{listed}");
    assert_eq!(list.body[0]["status"], "active");

    // Within the scope: the owner's jobs, and only theirs.
    let jobs = app.get_with_key("/api/v1/jobs", &key).await;
    assert_eq!(jobs.status, StatusCode::OK, "{:?}", jobs.body);
    let titles: Vec<&str> = jobs
        .body
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|j| j["title"].as_str())
        .collect();
    assert_eq!(titles, vec!["Platform engineer"]);
    let mine = app
        .get_with_key(&format!("/api/v1/jobs/{job_id}"), &key)
        .await;
    assert_eq!(mine.status, StatusCode::OK);
    let theirs = app
        .get_with_key(
            &format!("/api/v1/jobs/{}", others_job["id"].as_str().expect("id")),
            &key,
        )
        .await;
    assert_eq!(
        theirs.status,
        StatusCode::NOT_FOUND,
        "a key sees what its owner sees"
    );

    // Outside the scope: refused, naming the scope.
    let write = app
        .with_key(
            awc::http::Method::POST,
            "/api/v1/jobs",
            &key,
            Some(&job_body("Nope")),
        )
        .await;
    assert_eq!(write.status, StatusCode::FORBIDDEN);
    assert_eq!(write.error_code(), "insufficient_scope");
    assert!(write.body["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("jobs:write")));
    assert!(write
        .header("www-authenticate")
        .is_some_and(|h| h.contains("insufficient_scope")));

    // Session-only routes refuse every key: a key cannot make keys or read the account.
    for path in [
        "/api/v1/me/api-keys",
        "/api/v1/auth/me",
        "/api/v1/me/export",
    ] {
        let r = app.get_with_key(path, &key).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(r.error_code(), "api_key_not_allowed", "{path}");
    }

    // A key with write scopes drives hiring end to end.
    let writer = secret_of(
        &app.new_api_key(
            &cookie,
            &["jobs:write", "candidates:write", "candidates:read"],
        )
        .await,
    );
    let created = app
        .with_key(
            awc::http::Method::POST,
            "/api/v1/jobs",
            &writer,
            Some(&job_body("By key")),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let new_id = created.body["id"].as_str().expect("id");
    let candidate = app
        .with_key(
            awc::http::Method::POST,
            &format!("/api/v1/jobs/{new_id}/candidates"),
            &writer,
            Some(&person("Ada Lovelace")),
        )
        .await;
    assert_eq!(
        candidate.status,
        StatusCode::CREATED,
        "{:?}",
        candidate.body
    );
    let listed = app
        .get_with_key(&format!("/api/v1/jobs/{new_id}/candidates"), &writer)
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&listed.raw).contains("Ada Lovelace"));

    // Scopes beyond the role, unknown scopes, and candidates are refused at creation.
    let admin_scope = app
        .post_json(
            "/api/v1/me/api-keys",
            &json!({"name": "x", "scopes": ["users:read"]}),
            Some(&cookie),
        )
        .await;
    assert_eq!(admin_scope.status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&admin_scope.raw).contains("users:read"));
    let unknown = app
        .post_json(
            "/api/v1/me/api-keys",
            &json!({"name": "x", "scopes": ["jobs:delete"]}),
            Some(&cookie),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    let (_, candidate_cookie) = app.signed_in_user().await;
    let by_candidate = app
        .post_json(
            "/api/v1/me/api-keys",
            &json!({"name": "x", "scopes": ["jobs:read"]}),
            Some(&candidate_cookie),
        )
        .await;
    assert_eq!(by_candidate.status, StatusCode::FORBIDDEN);
}

async fn revoked_expired_and_orphaned_keys_are_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let cookie = app.signed_in_recruiter().await;

    // Malformed and unknown keys.
    for key in ["nonsense", &format!("viva_{}", "A".repeat(43))] {
        let r = app.get_with_key("/api/v1/jobs", key).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{key}");
        assert_eq!(r.error_code(), "invalid_api_key");
        assert!(r
            .header("www-authenticate")
            .is_some_and(|h| h.contains("invalid_token")));
    }

    // Revoked: refused at once, still listed as revoked.
    let created = app.new_api_key(&cookie, &["jobs:read"]).await;
    let key = secret_of(&created);
    let id = created["id"].as_str().expect("id");
    assert_eq!(
        app.get_with_key("/api/v1/jobs", &key).await.status,
        StatusCode::OK
    );
    let revoke = app
        .with_key(
            awc::http::Method::DELETE,
            &format!("/api/v1/me/api-keys/{id}"),
            &key,
            None,
        )
        .await;
    assert_eq!(
        revoke.status,
        StatusCode::FORBIDDEN,
        "a key cannot revoke itself"
    );
    let req = TestApp::client()
        .delete(app.url(&format!("/api/v1/me/api-keys/{id}")))
        .insert_header(("cookie", cookie.as_str()));
    assert_eq!(app.send(req, None).await.status, StatusCode::NO_CONTENT);
    let r = app.get_with_key("/api/v1/jobs", &key).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("revoked")));
    let list = app.get("/api/v1/me/api-keys", Some(&cookie)).await;
    assert_eq!(list.body[0]["status"], "revoked");

    // Expired: an expiry in the past at creation is refused; one that passes stops the key.
    let past = app
        .post_json(
            "/api/v1/me/api-keys",
            &json!({"name": "x", "scopes": ["jobs:read"], "expires_at": "2020-01-01T00:00:00Z"}),
            Some(&cookie),
        )
        .await;
    assert_eq!(past.status, StatusCode::BAD_REQUEST);
    let expiring = app
        .post_json(
            "/api/v1/me/api-keys",
            &json!({"name": "soon", "scopes": ["jobs:read"], "expires_at": "2099-01-01T00:00:00Z"}),
            Some(&cookie),
        )
        .await;
    assert_eq!(expiring.status, StatusCode::CREATED, "{:?}", expiring.body);
    let expiring_key = secret_of(&expiring.body);
    assert_eq!(
        app.get_with_key("/api/v1/jobs", &expiring_key).await.status,
        StatusCode::OK
    );
    let mut conn = app.pool().get().await.expect("connection");
    backdate_key(&mut conn, expiring.body["id"].as_str().expect("id")).await;
    let r = app.get_with_key("/api/v1/jobs", &expiring_key).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("expired")));

    // A disabled owner's keys stop working, and work again when the account is enabled.
    let live_key = secret_of(&app.new_api_key(&cookie, &["jobs:read"]).await);
    let me = app.get("/api/v1/auth/me", Some(&cookie)).await;
    let owner_id = me.body["id"].as_str().expect("id").to_owned();
    viva::db::users::set_disabled(&mut conn, &owner_id.as_str().into(), Some(viva::db::now()))
        .await
        .expect("disable");
    let r = app.get_with_key("/api/v1/jobs", &live_key).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    viva::db::users::set_disabled(&mut conn, &owner_id.as_str().into(), None)
        .await
        .expect("enable");
    assert_eq!(
        app.get_with_key("/api/v1/jobs", &live_key).await.status,
        StatusCode::OK
    );
    // Demoted to candidate: the key no longer reaches recruiter routes.
    viva::db::users::set_role(
        &mut conn,
        &owner_id.as_str().into(),
        viva::domain::Role::Candidate,
    )
    .await
    .expect("demote");
    assert_eq!(
        app.get_with_key("/api/v1/jobs", &live_key).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// Moves a key's expiry a day into the past.
async fn backdate_key(conn: &mut viva::db::DbConn, id: &str) {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use viva::db::schema::api_keys;
    let past = viva::db::now() - chrono::Duration::days(1);
    let result: Result<usize, diesel::result::Error> = viva::db_run!(conn, {
        diesel::update(api_keys::table.filter(api_keys::id.eq(id)))
            .set(api_keys::expires_at.eq(Some(past)))
            .execute(conn)
            .await
    });
    result.expect("backdate the key");
}

async fn each_key_has_its_own_rate_limit_with_headers(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.api_key_requests_per_minute = 3).await else {
        return;
    };
    let cookie = app.signed_in_recruiter().await;
    let key = secret_of(&app.new_api_key(&cookie, &["jobs:read"]).await);
    let other = secret_of(&app.new_api_key(&cookie, &["jobs:read"]).await);
    for remaining in ["2", "1", "0"] {
        let r = app.get_with_key("/api/v1/jobs", &key).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(r.header("ratelimit-limit"), Some("3"));
        assert_eq!(r.header("ratelimit-remaining"), Some(remaining));
        let reset: u64 = r
            .header("ratelimit-reset")
            .and_then(|v| v.parse().ok())
            .expect("RateLimit-Reset in seconds");
        assert!((1..=60).contains(&reset), "{reset}");
    }
    let refused = app.get_with_key("/api/v1/jobs", &key).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.error_code(), "rate_limited");
    let retry: u64 = refused
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(refused.header("ratelimit-remaining"), Some("0"));
    // Another key of the same owner has its own window; sessions are not limited by keys.
    assert_eq!(
        app.get_with_key("/api/v1/jobs", &other).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/v1/jobs", Some(&cookie)).await.status,
        StatusCode::OK
    );
}

async fn every_request_with_a_key_is_logged_and_the_key_never_is(backend: Backend) {
    let logs = LogCapture::start();
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let cookie = app.signed_in_recruiter().await;
    let created = app.new_api_key(&cookie, &["jobs:read"]).await;
    let key = secret_of(&created);
    let id = created["id"].as_str().expect("id");
    assert_eq!(
        app.get_with_key("/api/v1/jobs", &key).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get_with_key("/api/v1/jobs/no-such-job?secret=1", &key)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let denied = app
        .with_key(
            awc::http::Method::POST,
            "/api/v1/jobs",
            &key,
            Some(&job_body("x")),
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);

    // The log is written after each answer: wait for all three.
    let mut usage = Value::Null;
    for _ in 0..100 {
        usage = app
            .get(&format!("/api/v1/me/api-keys/{id}/usage"), Some(&cookie))
            .await
            .body;
        if usage.as_array().map_or(0, Vec::len) >= 3 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    let mut seen: Vec<(String, String, u64)> = usage
        .as_array()
        .expect("a list")
        .iter()
        .map(|u| {
            (
                u["method"].as_str().unwrap_or_default().to_owned(),
                u["route"].as_str().unwrap_or_default().to_owned(),
                u["status"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("GET".into(), "/api/v1/jobs".into(), 200),
            ("GET".into(), "/api/v1/jobs/{id}".into(), 404),
            ("POST".into(), "/api/v1/jobs".into(), 403),
        ]
    );
    let list = app.get("/api/v1/me/api-keys", Some(&cookie)).await;
    assert!(list.body[0]["last_used_at"].is_string(), "{:?}", list.body);

    // Someone else cannot read this key's log.
    let other = app.signed_in_recruiter().await;
    let r = app
        .get(&format!("/api/v1/me/api-keys/{id}/usage"), Some(&other))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let logged = logs.finish();
    assert!(
        logged.contains("API key created"),
        "the capture saw the server"
    );
    assert!(!logged.contains(&key[5..]), "the key never reaches the log");
}
