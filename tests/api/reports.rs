//! Reports and practice over the API: the PDF report (rendered by poppler), progress across
//! interviews, saved questions, and the opt-in leaderboard — on real databases.
//!
//! Most tests store interviews the way a live session does (messages, feedback, the settled
//! report) through the app's own database code, with scores chosen here so the numbers can be
//! checked by hand; the PDF test runs a real interview with the real models.

use std::path::Path;
use std::process::Command;

use awc::http::StatusCode;
use chrono::NaiveDateTime;
use serde_json::{json, Value};
use viva::db::feedback::FeedbackRow;
use viva::db::interviews::MessageRow;
use viva::domain::{InterviewId, MessageId, MessageKind};

use crate::helpers::{loud, spawn_app, spawn_live_app, Backend, TestApp, STRONG_PASSWORD};
use crate::live::{events_of, Live};
use crate::on_both_backends;

impl TestApp {
    pub async fn put_json(
        &self,
        path: &str,
        body: &Value,
        cookie: Option<&str>,
    ) -> crate::helpers::Reply {
        let mut req = Self::client()
            .put(self.url(path))
            .insert_header(("content-type", "application/json"));
        if let Some(c) = cookie {
            req = req.insert_header(("cookie", c));
        }
        self.send(req, Some(body.to_string().into_bytes())).await
    }

    /// Registers and logs in a user called `name`; returns the session cookie.
    pub async fn user_named(&self, name: &str) -> (String, String) {
        let email = crate::helpers::unique_email();
        let r = self.register(&email, STRONG_PASSWORD, name).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let r = self.login(&email, STRONG_PASSWORD).await;
        (
            email,
            r.session_cookie().expect("login sets a session cookie"),
        )
    }
}

/// A day in November 2026 at noon.
fn day(n: u32) -> NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 11, n)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .expect("a valid date")
}

/// The answer stored for question `position`.
fn answer_text(position: usize) -> String {
    format!("For question {position} I described how our team rolled back a failed release.")
}

/// Plans an interview of `interview_type` with one question per score, stores a spoken answer
/// with feedback of that score for each, completes it on `completed` and settles its report,
/// as a live session would. Returns the interview.
pub async fn scored_interview(
    app: &TestApp,
    cookie: &str,
    interview_type: &str,
    scores: &[i32],
    completed: NaiveDateTime,
) -> Value {
    let r = app
        .post_json(
            "/api/v1/interviews",
            &json!({
                "interview_type": interview_type,
                "skills": [],
                "difficulty": "medium",
                "question_count": scores.len(),
                "time_limit_minutes": 30,
            }),
            Some(cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = InterviewId::from(r.body["id"].as_str().expect("id"));
    let pool = app.pool();
    let mut conn = pool.get().await.expect("a connection");
    let started = completed - chrono::Duration::minutes(20);
    assert!(viva::db::interviews::mark_started(&mut conn, &id, started)
        .await
        .expect("mark started"));
    for (i, &score) in scores.iter().enumerate() {
        let position = i32::try_from(i + 1).expect("few questions");
        let at = started + chrono::Duration::minutes(i64::from(position));
        let message = |seq: i32, kind: MessageKind, text: String| MessageRow {
            id: MessageId::random(),
            interview_id: id.clone(),
            seq,
            role: kind.speaker(),
            text,
            audio_ms: (kind == MessageKind::Answer).then_some(20_000),
            transcription_ms: None,
            generation_ms: None,
            interrupted: false,
            created_at: at,
            kind,
            question_position: Some(position),
        };
        let question = message(
            2 * position - 1,
            MessageKind::Question,
            format!("Question {position}?"),
        );
        let answer = message(2 * position, MessageKind::Answer, answer_text(i + 1));
        for row in [&question, &answer] {
            viva::db::interviews::insert_message(&mut conn, row)
                .await
                .expect("store a message");
        }
        let feedback = FeedbackRow {
            id: uuid::Uuid::new_v4().to_string(),
            interview_id: id.clone(),
            message_id: answer.id.clone(),
            question_position: position,
            score,
            covered: "[true, false]".into(),
            strength: format!("Named the rollback plan (answer {position})."),
            improvement: format!("Quantify the impact (answer {position})."),
            source: viva::domain::FeedbackSource::Model,
            fallback_reason: None,
            words_per_minute: Some(140.0),
            filler_count: 1,
            delivery: json!({"words": 47, "duration_ms": 20_000, "words_per_minute": 140.0,
                "filler_count": 1, "fillers_per_minute": 3.0, "fillers": [{"phrase": "um", "count": 1}],
                "longest_pause_ms": 1_200, "time_to_first_word_ms": 900})
            .to_string(),
            created_at: at,
            flag: None,
        };
        viva::db::feedback::insert(&mut conn, &feedback)
            .await
            .expect("store feedback");
    }
    assert!(viva::db::interviews::mark_ended(
        &mut conn,
        &id,
        viva::domain::InterviewStatus::Completed,
        completed
    )
    .await
    .expect("mark completed"));
    drop(conn);
    viva::interview::interviews::settle_report(&pool, &id)
        .await
        .expect("settle the report");
    app.get(&format!("/api/v1/interviews/{id}"), Some(cookie))
        .await
        .body
}

on_both_backends!(
    progress_follows_completed_interviews,
    saved_questions_are_private_to_their_owner,
    the_leaderboard_shows_only_users_who_opted_in,
    reports_of_other_users_are_not_found,
);

async fn progress_follows_completed_interviews(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, cookie) = app.signed_in_user().await;
    let r = app.get("/api/v1/progress", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["completed_interviews"], 0);
    assert_eq!(
        r.body["suggestion"]["interview_type"], "behavioral",
        "a baseline"
    );

    // Two behavioral interviews: scores 2,2 (→ 25) on Nov 2, then 4,4 (→ 75) on Nov 9.
    let first = scored_interview(&app, &cookie, "behavioral", &[2, 2], day(2)).await;
    let second = scored_interview(&app, &cookie, "behavioral", &[4, 4], day(9)).await;
    assert_eq!(
        (first["score"].as_f64(), second["score"].as_f64()),
        (Some(25.0), Some(75.0))
    );
    // Not completed: does not count.
    let r = app
        .post_json(
            "/api/v1/interviews",
            &json!({"interview_type": "backend", "skills": [], "difficulty": "easy",
                "question_count": 1, "time_limit_minutes": 10}),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);

    let r = app.get("/api/v1/progress", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let progress = &r.body;
    assert_eq!(progress["completed_interviews"], 2);
    let skills = progress["skills"].as_array().expect("skills");
    assert!(!skills.is_empty(), "{progress}");
    for skill in skills {
        let points: Vec<(&str, u64)> = skill["points"]
            .as_array()
            .expect("points")
            .iter()
            .map(|p| {
                (
                    p["interview_id"].as_str().unwrap_or(""),
                    p["score"].as_u64().unwrap_or(999),
                )
            })
            .collect();
        // Every skill of these interviews was scored 2 then 4, in time order.
        let expected: Vec<(&str, u64)> = [(&first, 25), (&second, 75)]
            .into_iter()
            .filter(|(interview, _)| points.iter().any(|(id, _)| *id == interview["id"]))
            .map(|(interview, score)| (interview["id"].as_str().unwrap_or(""), score))
            .collect();
        assert_eq!(points, expected, "{skill}");
        assert!(skill["name"].as_str().is_some_and(|n| !n.is_empty()));
    }
    let weakest = &progress["weakest"];
    assert!(weakest["skill"].is_string(), "{progress}");
    let suggestion = &progress["suggestion"];
    assert_eq!(suggestion["interview_type"], "behavioral");
    assert_eq!(suggestion["skills"], json!([weakest["skill"]]));
    // One click: the suggestion is a valid new interview as it stands.
    let body = json!({
        "interview_type": suggestion["interview_type"],
        "skills": suggestion["skills"],
        "difficulty": suggestion["difficulty"],
        "question_count": suggestion["question_count"],
        "time_limit_minutes": suggestion["time_limit_minutes"],
    });
    let r = app
        .post_json("/api/v1/interviews", &body, Some(&cookie))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);

    // Someone else has no progress of their own.
    let (_, other) = app.signed_in_user().await;
    let r = app.get("/api/v1/progress", Some(&other)).await;
    assert_eq!(r.body["completed_interviews"], 0);
    assert_eq!(
        app.get("/api/v1/progress", None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn saved_questions_are_private_to_their_owner(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, cookie) = app.signed_in_user().await;
    let interview = scored_interview(&app, &cookie, "backend", &[3], day(3)).await;
    let question = interview["questions"][0].clone();
    let question_id = question["question_id"].as_str().expect("question id");
    let save = json!({ "question_id": question_id });

    let r = app
        .post_json("/api/v1/bookmarks", &save, Some(&cookie))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let r = app
        .post_json("/api/v1/bookmarks", &save, Some(&cookie))
        .await;
    assert_eq!(r.status, StatusCode::OK, "saving twice keeps one");
    let r = app.get("/api/v1/bookmarks", Some(&cookie)).await;
    let saved = r.body.as_array().expect("a list");
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0]["question_id"], question_id);
    assert_eq!(saved[0]["text"], question["text"]);
    assert_eq!(saved[0]["interview_type"], "backend");

    // Another user neither sees it nor can save or remove questions they were never asked.
    let (_, other) = app.signed_in_user().await;
    let r = app.get("/api/v1/bookmarks", Some(&other)).await;
    assert_eq!(r.body, json!([]));
    let r = app
        .post_json("/api/v1/bookmarks", &save, Some(&other))
        .await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let path = format!("/api/v1/bookmarks/{question_id}");
    assert_eq!(
        app.delete(&path, Some(&other)).await.status,
        StatusCode::NOT_FOUND
    );
    let r = app
        .post_json(
            "/api/v1/bookmarks",
            &json!({"question_id": "no-such-question"}),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .post_json("/api/v1/bookmarks", &json!({"id": 7}), Some(&cookie))
        .await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::BAD_REQUEST, "invalid_json")
    );

    assert_eq!(
        app.delete(&path, Some(&cookie)).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete(&path, Some(&cookie)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/api/v1/bookmarks", Some(&cookie)).await.body,
        json!([])
    );
}

async fn the_leaderboard_shows_only_users_who_opted_in(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, ada) = app.user_named("Ada Opted-In").await;
    let (_, bob) = app.user_named("Bob Opted-Out").await;
    let (_, cy) = app.user_named("Cy Never-Asked").await;
    // Ada: behavioral 50 then 100 (best 100); Bob: behavioral 75; Cy: behavioral 100.
    scored_interview(&app, &ada, "behavioral", &[3], day(1)).await;
    scored_interview(&app, &ada, "behavioral", &[5], day(2)).await;
    scored_interview(&app, &bob, "behavioral", &[4], day(3)).await;
    scored_interview(&app, &cy, "behavioral", &[5], day(4)).await;

    let me = app.get("/api/v1/auth/me", Some(&ada)).await;
    assert_eq!(me.body["leaderboard_opt_in"], false, "off by default");
    for cookie in [&ada, &bob] {
        let r = app
            .put_json(
                "/api/v1/me/leaderboard",
                &json!({"opt_in": true}),
                Some(cookie),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(r.body, json!({"opt_in": true}));
    }
    let board = |body: &Value| -> Vec<(String, u64, u64, u64)> {
        body["types"]
            .as_array()
            .expect("types")
            .iter()
            .filter(|t| t["interview_type"] == "behavioral")
            .flat_map(|t| t["entries"].as_array().cloned().unwrap_or_default())
            .map(|e| {
                (
                    e["display_name"].as_str().unwrap_or("").to_owned(),
                    e["best_score"].as_u64().unwrap_or(0),
                    e["interviews"].as_u64().unwrap_or(0),
                    e["rank"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    };
    let r = app.get("/api/v1/leaderboard", Some(&cy)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        board(&r.body),
        [
            ("Ada Opted-In".to_owned(), 100, 2, 1),
            ("Bob Opted-Out".to_owned(), 75, 1, 2)
        ]
    );
    // Every interview type is listed, empty or not.
    assert!(r.body["types"].as_array().is_some_and(|t| t.len() >= 7));

    // Bob opts out: gone at once, whatever his scores.
    let r = app
        .put_json(
            "/api/v1/me/leaderboard",
            &json!({"opt_in": false}),
            Some(&bob),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app.get("/api/v1/leaderboard", Some(&ada)).await;
    assert_eq!(board(&r.body), [("Ada Opted-In".to_owned(), 100, 2, 1)]);
    let text = r.body.to_string();
    assert!(
        !text.contains("Bob") && !text.contains("Cy Never"),
        "{text}"
    );
    let me = app.get("/api/v1/auth/me", Some(&bob)).await;
    assert_eq!(me.body["leaderboard_opt_in"], false);

    let r = app
        .put_json(
            "/api/v1/me/leaderboard",
            &json!({"opt_in": "yes"}),
            Some(&bob),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.get("/api/v1/leaderboard", None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn reports_of_other_users_are_not_found(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, owner) = app.signed_in_user().await;
    let (_, other) = app.signed_in_user().await;
    let interview = scored_interview(&app, &owner, "frontend", &[4, 2], day(5)).await;
    let id = interview["id"].as_str().expect("id");
    let admin = app.signed_in_admin().await;
    for path in [
        format!("/api/v1/interviews/{id}/report"),
        format!("/api/v1/interviews/{id}/report.pdf"),
    ] {
        let r = app.get(&path, Some(&owner)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        let r = app.get(&path, Some(&admin)).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "practice stays private, even from admins"
        );
        let r = app.get(&path, Some(&other)).await;
        assert_eq!(
            (r.status, r.error_code()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{path}"
        );
        assert_eq!(
            app.get(&path, None).await.status,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
    // Hand-computed: scores 4 and 2 → mean 3 → 50 overall.
    let r = app
        .get(&format!("/api/v1/interviews/{id}/report"), Some(&owner))
        .await;
    assert_eq!(r.body["overall"], 50);
    let scores: Vec<i64> = r.body["answers"]
        .as_array()
        .expect("answers")
        .iter()
        .filter_map(|a| a["score"].as_i64())
        .collect();
    assert_eq!(scores, [4, 2]);
    let checks = r.body["delivery"]["checks"].as_array().expect("checks");
    let rate = checks
        .iter()
        .find(|c| c["metric"] == "words_per_minute")
        .expect("rate");
    assert_eq!(
        (rate["value"].as_f64(), rate["verdict"].as_str()),
        (Some(140.0), Some("within"))
    );
    let length = checks
        .iter()
        .find(|c| c["metric"] == "answer_seconds")
        .expect("length");
    assert_eq!(
        (length["value"].as_f64(), length["verdict"].as_str()),
        (Some(20.0), Some("below"))
    );
}

/// A real interview with the real models, answered in text, then its PDF: poppler renders
/// page 1 and finds the candidate's answers in the text.
#[actix_web::test]
async fn the_pdf_report_renders_and_holds_the_answers() {
    let (Some(pdftoppm), Some(pdftotext)) = (poppler("pdftoppm"), poppler("pdftotext")) else {
        return;
    };
    let Some(app) = spawn_live_app(Backend::Sqlite, |_| {}).await else {
        return;
    };
    let (_, cookie) = app.signed_in_user().await;
    let r = app
        .post_json(
            "/api/v1/interviews",
            &json!({"interview_type": "backend", "skills": [], "difficulty": "medium",
                "question_count": 1, "time_limit_minutes": 30}),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_str().expect("id").to_owned();
    let mut live = Live::connect(&app, &id, &cookie).await;
    live.until("ready").await;
    live.start().await;
    let answers = [
        "I would put a read-through cache in front of the orders database, expire entries after \
         five minutes, and invalidate them when an order changes.",
        "I don't know.",
    ];
    let mut said = Vec::new();
    let mut ended = false;
    for answer in answers {
        live.send_json(json!({"type": "text", "text": answer}))
            .await;
        said.push(answer);
        // The interviewer either follows up (and listens again) or closes.
        loop {
            let event = live.event().await;
            match event["type"].as_str() {
                Some("ended") => {
                    ended = true;
                    break;
                }
                Some("state") if event["state"] == "listening" => break,
                Some("error") => panic!("error event: {event}"),
                _ => {}
            }
        }
        if ended {
            break;
        }
    }
    assert!(
        ended,
        "the interview ended: {:#?}",
        events_of(&live.seen, "reply")
    );

    let r = app
        .get(
            &format!("/api/v1/interviews/{id}/report.pdf"),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("application/pdf"));
    assert!(r
        .header("content-disposition")
        .is_some_and(|v| v.starts_with("attachment; filename=\"viva-report-")));
    assert!(r.raw.starts_with(b"%PDF-"));
    let dir = tempfile::tempdir().expect("temp dir");
    let pdf = dir.path().join("report.pdf");
    std::fs::write(&pdf, &r.raw).expect("write the PDF");

    let out = Command::new(&pdftoppm)
        .args(["-png", "-r", "80", "-f", "1", "-l", "1"])
        .arg(&pdf)
        .arg(dir.path().join("page"))
        .output()
        .expect("run pdftoppm");
    assert!(
        out.status.success(),
        "pdftoppm: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read_dir(dir.path())
        .expect("read the temp dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "png"))
        .expect("pdftoppm wrote page 1");
    let bytes = std::fs::read(&png).expect("read the PNG");
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 2_000,
        "{} bytes",
        bytes.len()
    );
    // Kept beside the browser screenshots for a look.
    let screens = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-screens");
    std::fs::create_dir_all(&screens).expect("create target/browser-screens");
    std::fs::write(screens.join("report-pdf-page-1.png"), &bytes).expect("keep the page");

    let out = Command::new(&pdftotext)
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("run pdftotext");
    assert!(
        out.status.success(),
        "pdftotext: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for answer in said {
        assert!(
            flat.contains(answer),
            "the PDF text lacks {answer:?}:\n{flat}"
        );
    }
    let report = app
        .get(&format!("/api/v1/interviews/{id}/report"), Some(&cookie))
        .await;
    let overall = match report.body["overall"].as_u64() {
        Some(score) => format!("Overall score: {score}/100"),
        None => "Overall score: not scored yet".to_owned(),
    };
    assert!(flat.contains(&overall), "{overall:?} not in:\n{flat}");
    for heading in [
        "Score per answer",
        "Delivery against recommended ranges",
        "Transcript",
    ] {
        assert!(flat.contains(heading), "{heading:?} not in:\n{flat}");
    }
}

/// A poppler tool, or `None` after a loud line (a failure under CI, which installs them).
fn poppler(tool: &str) -> Option<std::path::PathBuf> {
    let path = Path::new("/usr/bin").join(tool);
    if path.is_file() {
        return Some(path);
    }
    if std::env::var_os("CI").is_some() {
        panic!("CI is set but {tool} is missing: apt-get install poppler-utils");
    }
    loud(&format!(
        "SKIPPED: PDF rendering checks not run; install poppler-utils ({tool})"
    ));
    None
}
