//! Interviews: planning from the bank, listing, reading, deleting, and keeping them private.

use std::collections::{HashMap, HashSet};

use awc::http::StatusCode;
use serde_json::{json, Value};
use viva::interview::catalog::Bank;

use crate::catalog::admin_questions;
use crate::helpers::{spawn_app, spawn_app_with, Backend, TestApp};

crate::on_both_backends!(
    a_planned_interview_covers_the_requested_skills,
    interview_requests_are_validated,
    my_interviews_are_paginated_newest_first,
    another_users_interview_is_404,
    a_stored_value_the_code_does_not_know_is_a_clean_500,
    deleting_an_interview_removes_it_and_its_questions,
    a_disabled_question_is_never_planned,
    creating_more_interviews_than_the_hourly_limit_gives_429,
);

fn request(interview_type: &str, skills: &[&str], difficulty: &str, count: i64) -> Value {
    json!({
        "interview_type": interview_type,
        "skills": skills,
        "difficulty": difficulty,
        "question_count": count,
        "time_limit_minutes": 30,
    })
}

async fn create(app: &TestApp, cookie: &str, body: &Value) -> Value {
    let r = app
        .post_json("/api/v1/interviews", body, Some(cookie))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body
}

fn question_ids(interview: &Value) -> Vec<String> {
    interview["questions"]
        .as_array()
        .expect("questions")
        .iter()
        .map(|q| q["question_id"].as_str().expect("id").to_owned())
        .collect()
}

async fn a_planned_interview_covers_the_requested_skills(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let bank = Bank::bundled().expect("bank");
    let skills_of: HashMap<&str, &Vec<String>> = bank
        .questions
        .iter()
        .map(|q| (q.id.as_str(), &q.skills))
        .collect();
    let (_, cookie) = app.signed_in_user().await;

    let requested = ["api-design", "security", "testing", "observability"];
    let interview = create(&app, &cookie, &request("backend", &requested, "hard", 5)).await;
    assert_eq!(interview["interview_type"], "backend");
    assert_eq!(interview["skills"], json!(requested));
    assert_eq!(interview["difficulty"], "hard");
    assert_eq!(interview["question_count"], 5);
    assert_eq!(interview["time_limit_minutes"], 30);
    assert_eq!(interview["mode"], "practice");
    assert_eq!(interview["status"], "pending");
    assert_eq!(interview["score"], Value::Null);
    assert_eq!(interview["started_at"], Value::Null);
    assert_eq!(interview["messages"], json!([]));

    let questions = interview["questions"].as_array().expect("questions");
    assert_eq!(questions.len(), 5);
    for (i, q) in questions.iter().enumerate() {
        assert_eq!(q["position"], i + 1);
        assert!(
            q.get("rubric").is_none(),
            "candidates never see rubrics: {q}"
        );
        assert!(q["text"].as_str().is_some_and(|t| !t.is_empty()));
    }
    let ids = question_ids(&interview);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 5, "no repeats");
    for skill in requested {
        assert!(
            ids.iter()
                .any(|id| skills_of[id.as_str()].iter().any(|s| s == skill)),
            "{skill} not covered by {ids:?}"
        );
    }
    for id in &ids {
        let q = bank
            .questions
            .iter()
            .find(|q| q.id.as_str() == id)
            .expect("bank question");
        assert_eq!(q.interview_type, "backend");
    }

    let id = interview["id"].as_str().expect("id");
    let read = app
        .get(&format!("/api/v1/interviews/{id}"), Some(&cookie))
        .await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(
        read.body, interview,
        "reading it back gives the same interview"
    );

    // No skills: any questions of the type, still no repeats.
    let any = create(&app, &cookie, &request("data-science", &[], "easy", 20)).await;
    let ids = question_ids(&any);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 20);
}

async fn interview_requests_are_validated(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let body = request("backend", &["databases"], "medium", 3);
    let r = app.post_json("/api/v1/interviews", &body, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let (_, cookie) = app.signed_in_user().await;
    let with = |key: &str, value: Value| {
        let mut b = body.clone();
        b[key] = value;
        b
    };
    let cases = [
        (
            with("interview_type", json!("cooking")),
            "unknown interview type `cooking`",
        ),
        (
            with("skills", json!(["databases", "cobol"])),
            "unknown skill `cobol`",
        ),
        (
            with("skills", json!(["databases", "databases"])),
            "listed twice",
        ),
        (
            with("skills", json!(["css"])),
            "no backend question covers `css`",
        ),
        (
            with("difficulty", json!("brutal")),
            "not one of easy, medium, hard",
        ),
        (
            with("question_count", json!(0)),
            "question_count: must be from 1 to 20, got 0",
        ),
        (
            with("question_count", json!(21)),
            "question_count: must be from 1 to 20, got 21",
        ),
        (
            with("time_limit_minutes", json!(4)),
            "time_limit_minutes: must be from 5 to 180, got 4",
        ),
        (
            with("time_limit_minutes", json!(181)),
            "time_limit_minutes: must be from 5 to 180",
        ),
    ];
    for (body, message) in cases {
        let r = app
            .post_json("/api/v1/interviews", &body, Some(&cookie))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.error_code(), "invalid_input");
        let got = r.body["error"]["message"].as_str().expect("message");
        assert!(got.contains(message), "{got:?} should mention {message:?}");
    }
    let mut missing = body.clone();
    missing
        .as_object_mut()
        .expect("object")
        .remove("question_count");
    let r = app
        .post_json("/api/v1/interviews", &missing, Some(&cookie))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_code(), "invalid_json");

    let list = app.get("/api/v1/interviews", Some(&cookie)).await;
    assert_eq!(list.body["total"], 0, "nothing was stored");
}

async fn my_interviews_are_paginated_newest_first(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, cookie) = app.signed_in_user().await;
    let (_, someone_else) = app.signed_in_user().await;
    let mut created = Vec::new();
    for count in 1..=5 {
        let i = create(&app, &cookie, &request("frontend", &["css"], "easy", count)).await;
        created.push(i["id"].as_str().expect("id").to_owned());
    }
    create(&app, &someone_else, &request("frontend", &[], "easy", 1)).await;
    created.reverse();

    let mut seen = Vec::new();
    for (page, expected_len) in [(1, 2), (2, 2), (3, 1), (4, 0)] {
        let r = app
            .get(
                &format!("/api/v1/interviews?page={page}&per_page=2"),
                Some(&cookie),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(r.body["page"], page);
        assert_eq!(r.body["per_page"], 2);
        assert_eq!(r.body["total"], 5);
        let items = r.body["items"].as_array().expect("items");
        assert_eq!(items.len(), expected_len, "page {page}");
        for item in items {
            assert!(
                item.get("questions").is_none(),
                "list entries are summaries"
            );
            seen.push(item["id"].as_str().expect("id").to_owned());
        }
    }
    assert_eq!(seen, created, "newest first, each once");

    let r = app.get("/api/v1/interviews", Some(&cookie)).await;
    assert_eq!(r.body["per_page"], 20);
    assert_eq!(r.body["items"].as_array().expect("items").len(), 5);
    assert_eq!(r.body["items"][0]["question_count"], 5);

    for query in ["page=0", "per_page=0", "per_page=101", "page=two"] {
        let r = app
            .get(&format!("/api/v1/interviews?{query}"), Some(&cookie))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(r.error_code(), "invalid_input");
    }
    let r = app.get("/api/v1/interviews", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

async fn another_users_interview_is_404(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, owner) = app.signed_in_user().await;
    let (_, stranger) = app.signed_in_user().await;
    let interview = create(&app, &owner, &request("behavioral", &[], "medium", 2)).await;
    let path = format!(
        "/api/v1/interviews/{}",
        interview["id"].as_str().expect("id")
    );

    let missing = app
        .get("/api/v1/interviews/no-such-interview", Some(&stranger))
        .await;
    let r = app.get(&path, Some(&stranger)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.body, missing.body,
        "indistinguishable from a missing interview"
    );
    let r = app.delete(&path, Some(&stranger)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.error_code(), "not_found");
    let list = app.get("/api/v1/interviews", Some(&stranger)).await;
    assert_eq!(list.body["total"], 0);

    let r = app.get(&path, Some(&owner)).await;
    assert_eq!(r.status, StatusCode::OK, "still there for its owner");
    let r = app.get(&path, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

/// An enum column is read into its Rust enum: a value the code does not know (a bug, or a
/// newer schema; `messages.kind` has no CHECK constraint) fails that one request with
/// `internal_error`, never a panic or a wrong answer.
async fn a_stored_value_the_code_does_not_know_is_a_clean_500(backend: Backend) {
    use diesel_async::RunQueryDsl;

    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, cookie) = app.signed_in_user().await;
    let interview = create(&app, &cookie, &request("behavioral", &[], "medium", 2)).await;
    let id = interview["id"].as_str().expect("id");
    let path = format!("/api/v1/interviews/{id}");
    assert_eq!(app.get(&path, Some(&cookie)).await.status, StatusCode::OK);

    let mut conn = app.pool().get().await.expect("connection");
    let conn = &mut conn;
    let changed: usize = viva::db_run!(conn, {
        diesel::sql_query(
            "INSERT INTO messages (id, interview_id, seq, role, text, interrupted, created_at, \
             kind, question_position) \
             VALUES ('m-song', $1, 1, 'interviewer', 'la la', FALSE, CURRENT_TIMESTAMP, 'song', 1)",
        )
        .bind::<diesel::sql_types::Text, _>(id)
        .execute(conn)
        .await
        .expect("insert a message of an unknown kind")
    });
    assert_eq!(changed, 1);

    let r = app.get(&path, Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{:?}", r.body);
    assert_eq!(r.error_code(), "internal_error");
    let r = app.get("/healthz", None).await;
    assert_eq!(r.status, StatusCode::OK, "the server carries on");
}

async fn deleting_an_interview_removes_it_and_its_questions(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, cookie) = app.signed_in_user().await;
    let kept = create(
        &app,
        &cookie,
        &request("product-management", &[], "hard", 3),
    )
    .await;
    let gone = create(
        &app,
        &cookie,
        &request("product-management", &[], "hard", 3),
    )
    .await;
    let gone_id = gone["id"].as_str().expect("id");
    let path = format!("/api/v1/interviews/{gone_id}");

    let r = app.delete(&path, Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.raw.is_empty());
    assert_eq!(
        app.get(&path, Some(&cookie)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete(&path, Some(&cookie)).await.status,
        StatusCode::NOT_FOUND
    );

    let list = app.get("/api/v1/interviews", Some(&cookie)).await;
    assert_eq!(list.body["total"], 1);
    assert_eq!(list.body["items"][0]["id"], kept["id"]);
    let mut conn = app.pool().get().await.expect("connection");
    let left = viva::db::interviews::questions_of(&mut conn, &gone_id.into())
        .await
        .expect("query");
    assert!(left.is_empty(), "its planned questions went with it");
}

async fn a_disabled_question_is_never_planned(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = app.signed_in_admin().await;
    let (_, cookie) = app.signed_in_user().await;

    // Leave three bank questions of one type enabled, and add one of the admins' own.
    let questions = admin_questions(&app, &admin, "?interview_type=system-design").await;
    let (kept, disabled) = questions.split_at(3);
    for q in disabled {
        let r = app
            .patch_json(
                &format!("/api/v1/questions/{}", q["id"].as_str().expect("id")),
                &json!({"enabled": false}),
                Some(&admin),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
    let added = app
        .post_json(
            "/api/v1/questions",
            &json!({"interview_type": "system-design", "skills": ["caching"], "difficulty": "hard",
                    "text": "How would you keep a cache consistent with its database?",
                    "rubric": ["Invalidation on write", "Expiry as a safety net"]}),
            Some(&admin),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED);
    let mut allowed: HashSet<String> = kept
        .iter()
        .map(|q| q["id"].as_str().expect("id").to_owned())
        .collect();
    allowed.insert(added.body["id"].as_str().expect("id").to_owned());

    for _ in 0..3 {
        let interview = create(&app, &cookie, &request("system-design", &[], "medium", 4)).await;
        let planned: HashSet<String> = question_ids(&interview).into_iter().collect();
        assert_eq!(planned, allowed, "exactly the enabled questions");
    }
    let planned = create(
        &app,
        &cookie,
        &request("system-design", &["caching"], "easy", 1),
    )
    .await;
    assert!(allowed.contains(&question_ids(&planned)[0]));

    let r = app
        .post_json(
            "/api/v1/interviews",
            &request("system-design", &[], "medium", 5),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.error_code(), "not_enough_questions");
    assert!(r.body["error"]["message"]
        .as_str()
        .expect("message")
        .contains("only 4 system-design question(s) are available, 5 requested"));

    // A skill whose every question is disabled can no longer be asked for.
    let skills_left: HashSet<&str> = kept
        .iter()
        .chain(std::iter::once(&added.body))
        .flat_map(|q| q["skills"].as_array().expect("skills"))
        .map(|s| s.as_str().expect("skill"))
        .collect();
    let gone_skill = [
        "scalability",
        "distributed-systems",
        "databases",
        "caching",
        "api-design",
    ]
    .into_iter()
    .find(|s| !skills_left.contains(s));
    if let Some(skill) = gone_skill {
        let r = app
            .post_json(
                "/api/v1/interviews",
                &request("system-design", &[skill], "medium", 1),
                Some(&cookie),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{skill}");
    }
}

async fn creating_more_interviews_than_the_hourly_limit_gives_429(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.max_interviews_per_hour = 3).await else {
        return;
    };
    let (_, cookie) = app.signed_in_user().await;
    // A refused request creates nothing and costs nothing.
    let r = app
        .post_json(
            "/api/v1/interviews",
            &request("cooking", &[], "easy", 1),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Six at once: exactly the limit are created.
    let body = request("behavioral", &[], "easy", 1);
    let answers = futures_util::future::join_all(
        (0..6).map(|_| app.post_json("/api/v1/interviews", &body, Some(&cookie))),
    )
    .await;
    let statuses: Vec<StatusCode> = answers.iter().map(|r| r.status).collect();
    let created = answers
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert_eq!(created, 3, "{statuses:?}");
    for r in answers.iter().filter(|r| r.status != StatusCode::CREATED) {
        assert_eq!(
            (r.status, r.error_code()),
            (StatusCode::TOO_MANY_REQUESTS, "too_many_interviews"),
            "{:?}",
            r.body
        );
        let retry_after: u64 = r
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .expect("Retry-After in seconds");
        assert!((1..=3600).contains(&retry_after), "{retry_after}");
    }
    let r = app.get("/api/v1/interviews", Some(&cookie)).await;
    assert_eq!(r.body["total"], 3);

    // Another user has a budget of their own.
    let (_, other) = app.signed_in_user().await;
    create(&app, &other, &body).await;
}
