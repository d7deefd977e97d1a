//! HTTP benchmarks: an authenticated `GET /api/v1/auth/me` through viva's whole middleware
//! stack (tracing, request id, metrics, security headers, cross-site check, session load from
//! SQLite, user lookup), beside the same JSON served by a bare actix-web handler with no
//! middleware — the floor any actix app pays — so BENCHMARKS.md can state the ratio.
//!
//! Both servers run over real loopback HTTP/1.1 keep-alive connections.
//! Run: `cargo bench --bench http`

use std::sync::mpsc;
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use viva::config::Settings;
use viva::db::DatabaseUrl;
use viva::startup::Application;

const PASSWORD: &str = "correct horse battery staple";

/// Starts a server on its own thread and actix system; returns its base URL.
fn start_in_background<F>(start: F) -> String
where
    F: FnOnce(mpsc::Sender<String>) + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || start(tx));
    rx.recv_timeout(Duration::from_secs(60))
        .expect("server started")
}

fn start_viva(data_dir: std::path::PathBuf) -> String {
    start_in_background(move |tx| {
        actix_web::rt::System::new().block_on(async move {
            let settings = Settings {
                bind: "127.0.0.1:0".parse().expect("address"),
                database_url: Some(DatabaseUrl::Sqlite(data_dir.join("viva.db"))),
                data_dir,
                workers: 1,
                log_level: "error".into(),
                ..Settings::default()
            };
            let app = Application::build(settings).await.expect("viva starts");
            tx.send(format!("http://127.0.0.1:{}", app.port()))
                .expect("send url");
            app.run_until_stopped().await.expect("serve");
        })
    })
}

fn start_bare_actix() -> String {
    start_in_background(|tx| {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(|| {
                App::new().route(
                    "/api/v1/auth/me",
                    web::get().to(|| async {
                        HttpResponse::Ok().json(json!({
                            "id": "5a3c1e1e-2b7e-4d4b-9d0e-7f6f8c1b2a3d",
                            "email": "bench@example.com",
                            "display_name": "Bench",
                            "role": "candidate",
                            "created_at": "2026-11-22T00:00:00Z",
                        }))
                    }),
                )
            })
            .workers(1)
            .bind("127.0.0.1:0")
            .expect("bind");
            let port = server.addrs()[0].port();
            tx.send(format!("http://127.0.0.1:{port}"))
                .expect("send url");
            server.run().await.expect("serve");
        })
    })
}

fn bench_http(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let viva_url = start_viva(dir.path().to_path_buf());
    let bare_url = start_bare_actix();

    let system = actix_web::rt::System::new();
    let client = system.block_on(async { awc::Client::default() });
    let cookie = system.block_on(async {
        let body =
            json!({"email": "bench@example.com", "password": PASSWORD, "display_name": "Bench"});
        let r = client
            .post(format!("{viva_url}/api/v1/auth/register"))
            .send_json(&body)
            .await
            .expect("register");
        assert!(r.status().is_success(), "register: {}", r.status());
        let r = client
            .post(format!("{viva_url}/api/v1/auth/login"))
            .send_json(&json!({"email": "bench@example.com", "password": PASSWORD}))
            .await
            .expect("login");
        assert!(r.status().is_success(), "login: {}", r.status());
        let cookie = r
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .expect("session cookie")
            .to_owned();
        cookie
    });

    let get = |url: String, cookie: Option<String>| {
        let client = client.clone();
        let mut req = client.get(url);
        if let Some(c) = cookie {
            req = req.insert_header(("cookie", c));
        }
        async move {
            let mut res = req.send().await.expect("request");
            assert!(res.status().is_success(), "{}", res.status());
            res.body().await.expect("body");
        }
    };

    let mut group = c.benchmark_group("http");
    group.bench_function("viva_auth_me_full_stack", |b| {
        b.iter(|| {
            system.block_on(get(
                format!("{viva_url}/api/v1/auth/me"),
                Some(cookie.clone()),
            ))
        })
    });
    group.bench_function("viva_healthz", |b| {
        b.iter(|| system.block_on(get(format!("{viva_url}/healthz"), None)))
    });
    group.bench_function("bare_actix_same_json", |b| {
        b.iter(|| system.block_on(get(format!("{bare_url}/api/v1/auth/me"), None)))
    });
    group.finish();
}

criterion_group!(benches, bench_http);
criterion_main!(benches);
