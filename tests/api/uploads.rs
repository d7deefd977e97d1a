//! Uploads people without an account can send: crafted resumes are read in a child process
//! (the server survives files that overflow the parser's stack, loop it forever or inflate into
//! gigabytes, and keeps them with a text status), replaced resumes leave no bytes behind, quotas
//! and rates bound the disk, and what viva writes under its data directory is private.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use awc::http::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, Backend, TestApp};
use crate::hiring::{invite, job_body, new_job, person};
use crate::hostile_files as hostile;
use crate::on_both_backends;

fn b64(bytes: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes)
}

/// A recruiter's cookie, their job's id and one invited candidate's interview id and token.
async fn job_with_candidate(app: &TestApp) -> (String, String, String, String) {
    let cookie = app.signed_in_recruiter().await;
    let job = new_job(app, &cookie, job_body("Backend engineer")).await;
    let job_id = job["id"].as_str().expect("job id").to_owned();
    let (created, token) = invite(app, &cookie, &job_id, person("Ann Lee")).await;
    let interview_id = created["candidate"]["interview_id"]
        .as_str()
        .expect("interview id")
        .to_owned();
    (cookie, job_id, interview_id, token)
}

async fn assert_alive(app: &TestApp, after: &str) {
    let r = app.get("/healthz", None).await;
    assert_eq!(r.status, StatusCode::OK, "the server is down after {after}");
}

on_both_backends!(
    crafted_resumes_are_kept_unread_and_the_server_lives,
    a_replaced_resume_leaves_no_bytes_and_quotas_hold,
);

async fn crafted_resumes_are_kept_unread_and_the_server_lives(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        s.upload_read_timeout = Duration::from_secs(3);
        s.uploads_per_interview_per_hour = 1000;
    })
    .await
    else {
        return;
    };
    let (cookie, job_id, interview_id, token) = job_with_candidate(&app).await;

    // The control: a readable PDF's text comes through the child process.
    let r = app
        .put_file(
            "/api/v1/invite/resume",
            "cv.pdf",
            hostile::plain("Built Orbit, an internal deploy tool."),
            ("x-interview-token", &token),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["text_status"], "ok", "{:?}", r.body);
    assert_eq!(r.body["highlights"][0], "Orbit", "{:?}", r.body);

    // (file, statuses it may get): where the parser's failure is certain, exactly that one.
    const ANY: [&str; 3] = ["ok", "unreadable", "too_complex"];
    let cases: Vec<(&str, Vec<u8>, &[&str])> = vec![
        (
            "self-drawing XObject",
            hostile::self_drawing_xobject(),
            &["unreadable", "too_complex"],
        ),
        (
            "page that is its own parent",
            hostile::own_parent_page(),
            &["unreadable", "too_complex"],
        ),
        (
            "Flate bomb (1 GiB)",
            hostile::flate_bomb(1 << 30),
            &["too_complex"],
        ),
        (
            "double-Flate bomb (1 GiB)",
            hostile::double_flate_bomb(1 << 30),
            &["too_complex"],
        ),
        ("arrays 100k deep", hostile::nested_arrays(100_000), &ANY),
        (
            "dictionaries 100k deep",
            hostile::nested_dictionaries(100_000),
            &ANY,
        ),
        ("truncated PDF", hostile::truncated(), &["ok", "unreadable"]),
        ("garbage after %PDF-", hostile::garbage(), &["unreadable"]),
        (
            "Word zip bomb (1 GiB)",
            hostile::docx_bomb(1 << 30),
            &["ok", "too_complex"],
        ),
    ];
    for (what, bytes, statuses) in &cases {
        let r = app
            .put_file(
                "/api/v1/invite/resume",
                "cv.pdf",
                bytes.clone(),
                ("x-interview-token", &token),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{what}: {:?}", r.body);
        let status = r.body["text_status"].as_str().unwrap_or_default();
        assert!(
            statuses.contains(&status),
            "{what}: text_status {status:?}, expected one of {statuses:?}"
        );
        assert_alive(&app, what).await;
        // The upload is kept: its bytes download as sent.
        let back = app.get_with_token("/api/v1/invite/resume", &token).await;
        assert_eq!(back.raw, *bytes, "{what}: the stored file is the upload");
    }

    // The recruiter's upload and a new candidate's resume go through the same reader.
    let r = app
        .put_file(
            &format!("/api/v1/interviews/{interview_id}/resume"),
            "cv.pdf",
            hostile::self_drawing_xobject(),
            ("cookie", &cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_ne!(r.body["text_status"], "ok");
    let mut body = person("Bo Ng");
    body["resume"] =
        json!({"filename": "cv.pdf", "content_base64": b64(&hostile::own_parent_page())});
    let (created, _) = invite(&app, &cookie, &job_id, body).await;
    let status = &created["candidate"]["resume"]["text_status"];
    assert!(
        status == "unreadable" || status == "too_complex",
        "{status:?}"
    );
    assert_alive(&app, "the recruiter's uploads").await;
}

async fn a_replaced_resume_leaves_no_bytes_and_quotas_hold(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        s.uploads_per_interview_per_hour = 3;
        s.upload_quota_per_job_mb = 10;
    })
    .await
    else {
        return;
    };
    let (cookie, job_id, _, token) = job_with_candidate(&app).await;
    let files = app.data_dir.path().join("files");
    let upload = |text: &'static str| {
        let token = token.clone();
        let app = &app;
        async move {
            app.put_file(
                "/api/v1/invite/resume",
                "cv.txt",
                text.as_bytes().to_vec(),
                ("x-interview-token", &token),
            )
            .await
        }
    };
    for text in [
        "Built Orbit.",
        "Built Orbit and Atlas.",
        "Led the Atlas rewrite.",
    ] {
        let r = upload(text).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let stored: Vec<_> = std::fs::read_dir(&files).expect("files dir").collect();
        assert_eq!(stored.len(), 1, "a replaced resume's bytes are deleted");
    }
    let back = app.get_with_token("/api/v1/invite/resume", &token).await;
    assert_eq!(back.raw, b"Led the Atlas rewrite.");

    // Per interview: the fourth upload within the hour is refused, with when to retry.
    let r = upload("One more.").await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    assert!(r.header("retry-after").is_some());

    // Per job: 10 MiB for all its candidates' files. 6 MiB fits, 6 more do not.
    let six_mib = "Built Orbit. ".repeat(6 * 1024 * 1024 / 13);
    let mut body = person("Cy Ode");
    body["resume"] = json!({"filename": "cv.txt", "content_base64": b64(six_mib.as_bytes())});
    let (_, _) = invite(&app, &cookie, &job_id, body.clone()).await;
    body["email"] = Value::from("dee@example.com");
    let r = app
        .post_json(
            &format!("/api/v1/jobs/{job_id}/candidates"),
            &body,
            Some(&cookie),
        )
        .await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "upload_quota_exceeded"),
        "{:?}",
        r.body
    );
}

#[actix_web::test]
async fn the_data_directory_and_its_files_are_private() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |s| {
        // An existing, world-readable data directory is tightened at start.
        std::fs::set_permissions(&s.data_dir, std::fs::Permissions::from_mode(0o755))
            .expect("loosen the data dir");
    })
    .await
    else {
        return;
    };
    let (_, _, _, token) = job_with_candidate(&app).await;
    let r = app
        .put_file(
            "/api/v1/invite/resume",
            "cv.txt",
            b"Built Orbit.".to_vec(),
            ("x-interview-token", &token),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);

    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    let data = app.data_dir.path();
    assert_eq!(mode(data), 0o700, "data directory");
    assert_eq!(mode(&data.join("files")), 0o700, "uploads directory");
    for file in ["viva.db", "secret.key"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    for entry in std::fs::read_dir(data.join("files")).expect("files") {
        let path = entry.expect("entry").path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}
