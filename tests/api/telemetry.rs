//! What the server's metrics and logs may hold, over real HTTP: metric series are bounded by
//! the code whatever methods and paths clients send; /metrics answers only where and to whom
//! the settings say; invite tokens reach no log line, in either log format.

use awc::error::WsClientError;
use awc::http::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::Value;
use viva::config::Settings;

use crate::helpers::{
    loud, spawn_app, spawn_app_with, spawn_live_app, Backend, LogCapture, Reply, TestApp,
};
use crate::hiring::{invite, job_body, new_job, person};

const METRICS_TOKEN: &str = "scrape-token-for-the-tests-0123";

fn with_metrics_token(settings: &mut Settings) {
    settings.metrics_token = Some(SecretString::from(METRICS_TOKEN));
}

fn with_metrics_bind(settings: &mut Settings) {
    settings.metrics_bind = Some("127.0.0.1:0".parse().expect("an address"));
}

/// `GET /metrics` at `base`, with `Authorization: {authorization}` when given.
async fn scrape(app: &TestApp, base: &str, authorization: Option<&str>) -> Reply {
    let mut req = TestApp::client().get(format!("{base}/metrics"));
    if let Some(value) = authorization {
        req = req.insert_header(("authorization", value));
    }
    app.send(req, None).await
}

/// The metrics text of an app with [`METRICS_TOKEN`] on its main port.
async fn metrics_text(app: &TestApp) -> String {
    let r = scrape(app, &app.address, Some(&format!("Bearer {METRICS_TOKEN}"))).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    String::from_utf8_lossy(&r.raw).into_owned()
}

fn sample_lines(metrics: &str) -> usize {
    metrics.lines().filter(|l| !l.starts_with('#')).count()
}

#[actix_web::test]
async fn metrics_count_requests_by_route() {
    let app = spawn_app_with(Backend::Sqlite, with_metrics_token)
        .await
        .expect("sqlite app");
    app.get("/api/v1/auth/me", None).await;
    let text = metrics_text(&app).await;
    assert!(
        text.contains(
            r#"viva_http_requests_total{method="GET",route="/api/v1/auth/me",status="401"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains("viva_http_request_duration_seconds_bucket"));
}

/// Regression (issue 13, defect 5): each made-up method was a label of its own.
#[actix_web::test]
async fn made_up_methods_and_paths_add_no_metric_series() {
    let app = spawn_app_with(Backend::Sqlite, with_metrics_token)
        .await
        .expect("sqlite app");
    let send = |method: String, path: String| {
        let method = Method::from_bytes(method.as_bytes()).expect("a method token");
        app.send(TestApp::client().request(method, app.url(&path)), None)
    };
    // One of each first, so the series they need exist; then the metrics' own.
    send("JUNK".into(), "/api/v1/auth/me".into()).await;
    send("GET".into(), "/no/such/page".into()).await;
    metrics_text(&app).await;
    let before = metrics_text(&app).await;

    for i in 0..100 {
        let method = if i == 0 {
            "X".repeat(4000)
        } else {
            format!("JUNK{i}")
        };
        let r = send(method, "/api/v1/auth/me".into()).await;
        assert!(r.status.is_client_error(), "{}", r.status);
    }
    for i in 0..100 {
        let r = send("GET".into(), format!("/no/such/page/{i}/{}", "y".repeat(i))).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }

    let after = metrics_text(&app).await;
    assert_eq!(sample_lines(&after), sample_lines(&before), "{after}");
    assert!(
        after.contains(
            r#"viva_http_requests_total{method="OTHER",route="/api/v1/auth/me",status="405"} 101"#
        ),
        "{after}"
    );
    assert!(
        after.contains(
            r#"viva_http_requests_total{method="GET",route="unmatched",status="404"} 101"#
        ),
        "{after}"
    );
    for made_up in ["JUNK", "XXXX", "/no/such"] {
        assert!(!after.contains(made_up), "{made_up} is a label: {after}");
    }
}

/// Regression (issue 13, defect 5): /metrics was public.
#[actix_web::test]
async fn metrics_are_not_served_unless_the_settings_say_how() {
    let app = spawn_app(Backend::Sqlite).await.expect("sqlite app");
    let r = scrape(&app, &app.address, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
    assert_eq!(app.metrics_port, None);
}

#[actix_web::test]
async fn metrics_token_is_required_when_set() {
    let app = spawn_app_with(Backend::Sqlite, with_metrics_token)
        .await
        .expect("sqlite app");
    let wrong_token = format!("Bearer {}x", METRICS_TOKEN);
    let basic = format!("Basic {METRICS_TOKEN}");
    for authorization in [
        None,
        Some("Bearer"),
        Some("Bearer "),
        Some(wrong_token.as_str()),
        Some(&METRICS_TOKEN[..METRICS_TOKEN.len() - 1]),
        Some(basic.as_str()),
    ] {
        let r = scrape(&app, &app.address, authorization).await;
        assert_eq!(
            (r.status, r.error_code()),
            (StatusCode::UNAUTHORIZED, "unauthenticated"),
            "{authorization:?}"
        );
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        assert!(!String::from_utf8_lossy(&r.raw).contains("viva_http"));
    }
    for scheme in ["Bearer", "bearer"] {
        let r = scrape(
            &app,
            &app.address,
            Some(&format!("{scheme} {METRICS_TOKEN}")),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{scheme}");
        assert!(String::from_utf8_lossy(&r.raw).contains("viva_http_requests_total"));
    }
}

#[actix_web::test]
async fn a_metrics_address_serves_metrics_and_the_main_port_does_not() {
    let app = spawn_app_with(Backend::Sqlite, with_metrics_bind)
        .await
        .expect("sqlite app");
    let metrics = format!(
        "http://127.0.0.1:{}",
        app.metrics_port.expect("a metrics port")
    );
    assert_ne!(metrics, app.address);
    app.get("/api/v1/auth/me", None).await;

    let r = scrape(&app, &metrics, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        String::from_utf8_lossy(&r.raw).contains(r#"route="/api/v1/auth/me",status="401"} 1"#),
        "the main port's requests are counted"
    );
    assert_eq!(
        scrape(&app, &app.address, None).await.status,
        StatusCode::NOT_FOUND
    );
    // The metrics listener serves nothing else.
    for path in ["/healthz", "/api/v1/auth/me", "/"] {
        let r = app
            .send(TestApp::client().get(format!("{metrics}{path}")), None)
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
    }

    // Both settings: the token guards the metrics listener, the main port stays closed.
    let app = spawn_app_with(Backend::Sqlite, |s| {
        with_metrics_bind(s);
        with_metrics_token(s);
    })
    .await
    .expect("sqlite app");
    let metrics = format!(
        "http://127.0.0.1:{}",
        app.metrics_port.expect("a metrics port")
    );
    let bearer = format!("Bearer {METRICS_TOKEN}");
    assert_eq!(
        scrape(&app, &metrics, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        scrape(&app, &metrics, Some(&bearer)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        scrape(&app, &app.address, Some(&bearer)).await.status,
        StatusCode::NOT_FOUND
    );
}

/// Regression (issue 13, defect 7): a refused handshake logged `?token=` whole at WARN, and
/// `/i/{token}` paths were logged whole.
#[actix_web::test]
async fn invite_tokens_reach_no_log_line() {
    // With the models the good token's handshake is upgraded; without, it is refused with
    // 503 after the token was checked. Either way the request is logged.
    let app = match spawn_live_app(Backend::Sqlite, |_| {}).await {
        Some(app) => app,
        None => {
            loud("invite_tokens_reach_no_log_line: without models, the good handshake gets 503");
            spawn_app(Backend::Sqlite).await.expect("sqlite app")
        }
    };
    let recruiter = app.signed_in_recruiter().await;
    let job = new_job(&app, &recruiter, job_body("Backend engineer")).await;
    let job_id = job["id"].as_str().expect("id");
    let (created, token) = invite(&app, &recruiter, job_id, person("Ann Lee")).await;
    let interview_id = created["candidate"]["interview_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let unknown = viva::hiring::invites::new_token();

    let logs = LogCapture::start();
    let socket = |token: &str| {
        awc::Client::new()
            .ws(format!(
                "ws://127.0.0.1:{}/api/v1/interviews/{interview_id}/ws?lang=en&token={token}",
                app.port
            ))
            .connect()
    };
    match socket(&unknown).await {
        Err(WsClientError::InvalidResponseStatus(status)) => {
            assert_eq!(status, StatusCode::UNAUTHORIZED)
        }
        Err(e) => panic!("expected a refused handshake, got {e}"),
        Ok(_) => panic!("an unknown token opened the socket"),
    }
    match socket(&token).await {
        Ok((response, connection)) => {
            assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
            drop(connection);
        }
        Err(WsClientError::InvalidResponseStatus(status)) => {
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE)
        }
        Err(e) => panic!("the handshake failed: {e}"),
    }
    for (token, status) in [
        (&token, StatusCode::OK),
        (&unknown, StatusCode::UNAUTHORIZED),
    ] {
        let page = app.get(&format!("/i/{token}"), None).await;
        assert_eq!(page.status, status);
        let req = TestApp::client()
            .get(app.url("/api/v1/invite"))
            .insert_header(("x-interview-token", token.as_str()));
        let r = app.send(req, None).await;
        assert_eq!(r.status, status, "{:?}", r.body);
    }
    let logs = logs.finish();

    for secret in [&token, &unknown] {
        let leaks: Vec<&str> = logs
            .lines()
            .filter(|l| l.contains(secret.as_str()))
            .collect();
        assert!(
            leaks.is_empty(),
            "a token in the log:\n{}",
            leaks.join("\n")
        );
    }
    // The requests were logged, in the redacted form.
    let json: Vec<Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let targets: Vec<&str> = json
        .iter()
        .filter_map(|line| line["span"]["http.target"].as_str())
        .collect();
    for expected in [
        format!("/api/v1/interviews/{interview_id}/ws?lang=en&token=[redacted]"),
        "/i/[redacted]".to_owned(),
        "/api/v1/invite".to_owned(),
    ] {
        assert!(
            targets.contains(&expected.as_str()),
            "{expected} not logged; logged: {targets:?}"
        );
    }
    assert!(
        json.iter().any(|line| line["level"] == "WARN"
            && line["span"]["http.target"]
                .as_str()
                .is_some_and(|t| t.ends_with("token=[redacted]"))),
        "the refused handshake is logged at WARN"
    );
    assert!(
        logs.lines()
            .any(|l| !l.starts_with('{') && l.contains("/i/[redacted]")),
        "the pretty format is captured too"
    );
}
