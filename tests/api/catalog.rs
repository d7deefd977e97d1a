//! The catalog: interview types, skills, the seeded question bank and admins' question
//! management. Also the helpers the interview tests share (admin sign-in, PATCH/DELETE, a pool
//! on the test's own database).

use std::time::Duration;

use awc::http::StatusCode;
use serde_json::{json, Value};
use viva::db::{DbPool, PoolOptions};
use viva::domain::QuestionId;
use viva::interview::catalog::{self, Bank, SeedReport};

use crate::helpers::{spawn_app, Backend, Reply, TestApp};

crate::on_both_backends!(
    interview_types_and_skills_match_the_bank_file,
    admins_list_questions_with_rubrics_and_others_are_refused,
    admins_create_edit_and_disable_questions,
    question_input_is_validated_with_clear_400s,
    seeding_twice_changes_nothing,
    seeding_follows_the_file_but_keeps_admin_changes,
);

impl TestApp {
    pub async fn patch_json(&self, path: &str, body: &Value, cookie: Option<&str>) -> Reply {
        let mut req = Self::client()
            .patch(self.url(path))
            .insert_header(("content-type", "application/json"));
        if let Some(c) = cookie {
            req = req.insert_header(("cookie", c));
        }
        self.send(req, Some(body.to_string().into_bytes())).await
    }

    pub async fn delete(&self, path: &str, cookie: Option<&str>) -> Reply {
        let mut req = Self::client().delete(self.url(path));
        if let Some(c) = cookie {
            req = req.insert_header(("cookie", c));
        }
        self.send(req, None).await
    }

    /// A pool on this app's own database, for looking behind the API.
    pub fn pool(&self) -> DbPool {
        DbPool::connect(
            &self.database,
            &PoolOptions {
                max_size: 1,
                timeout: Duration::from_secs(5),
            },
        )
        .expect("pool")
    }

    /// Registers a user, makes them an admin and logs them in; returns the session cookie.
    pub async fn signed_in_admin(&self) -> String {
        let (email, cookie) = self.signed_in_user().await;
        let me = self.get("/api/v1/auth/me", Some(&cookie)).await;
        let id = me.body["id"].as_str().expect("id");
        let mut conn = self.pool().get().await.expect("connection");
        viva::db::users::set_role(&mut conn, &id.into(), viva::domain::Role::Admin)
            .await
            .expect("promote");
        let me = self.get("/api/v1/auth/me", Some(&cookie)).await;
        assert_eq!(me.body["role"], "admin", "{email}");
        cookie
    }
}

fn bank() -> Bank {
    Bank::bundled().expect("bundled bank")
}

fn slugs(items: &Value) -> Vec<&str> {
    items
        .as_array()
        .expect("array")
        .iter()
        .map(|i| i["slug"].as_str().expect("slug"))
        .collect()
}

pub async fn admin_questions(app: &TestApp, admin: &str, query: &str) -> Vec<Value> {
    let r = app
        .get(&format!("/api/v1/questions{query}"), Some(admin))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body.as_array().expect("array").clone()
}

async fn interview_types_and_skills_match_the_bank_file(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let bank = bank();
    for path in ["/api/v1/interview-types", "/api/v1/skills"] {
        let r = app.get(path, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(r.error_code(), "unauthenticated");
    }
    let (_, cookie) = app.signed_in_user().await;

    let types = app.get("/api/v1/interview-types", Some(&cookie)).await;
    assert_eq!(types.status, StatusCode::OK);
    let expected: Vec<&str> = bank.interview_types.iter().map(|t| &*t.slug).collect();
    assert_eq!(slugs(&types.body), expected);
    for (got, want) in types
        .body
        .as_array()
        .expect("array")
        .iter()
        .zip(&bank.interview_types)
    {
        assert_eq!(got["name"], want.name);
        assert_eq!(got["description"], want.description);
        let suggested: Vec<&str> = want.suggested_skills.iter().map(String::as_str).collect();
        assert_eq!(slugs(&got["suggested_skills"]), suggested);
        assert!(got["suggested_skills"][0]["name"]
            .as_str()
            .is_some_and(|n| !n.is_empty()));
    }

    let skills = app.get("/api/v1/skills", Some(&cookie)).await;
    assert_eq!(skills.status, StatusCode::OK);
    let expected: Vec<&str> = bank.skills.iter().map(|s| &*s.slug).collect();
    assert_eq!(slugs(&skills.body), expected);
    assert_eq!(skills.body.as_array().expect("array").len(), 34);
    assert_eq!(
        skills.body[0],
        json!({"slug": bank.skills[0].slug, "name": bank.skills[0].name})
    );
}

async fn admins_list_questions_with_rubrics_and_others_are_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let bank = bank();
    let (_, candidate) = app.signed_in_user().await;
    let admin = app.signed_in_admin().await;

    let all = admin_questions(&app, &admin, "").await;
    assert_eq!(all.len(), bank.questions.len());
    let first = all
        .iter()
        .find(|q| q["id"] == bank.questions[0].id.as_str())
        .expect("first bank question");
    assert_eq!(first["text"], bank.questions[0].text);
    assert_eq!(first["rubric"], json!(bank.questions[0].rubric));
    assert_eq!(first["skills"], json!(bank.questions[0].skills));
    assert_eq!(first["difficulty"], bank.questions[0].difficulty.as_str());
    assert_eq!(first["enabled"], true);
    assert_eq!(first["source"], "bank");

    let backend_only = admin_questions(&app, &admin, "?interview_type=backend").await;
    let in_file = bank
        .questions
        .iter()
        .filter(|q| q.interview_type == "backend")
        .count();
    assert_eq!(backend_only.len(), in_file);
    assert!(backend_only
        .iter()
        .all(|q| q["interview_type"] == "backend"));

    let r = app
        .get("/api/v1/questions?interview_type=cooking", Some(&admin))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["error"]["message"]
        .as_str()
        .expect("message")
        .contains("unknown interview type `cooking`"));

    let r = app.get("/api/v1/questions", Some(&candidate)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error_code(), "forbidden");
    let r = app.get("/api/v1/questions", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let body = json!({"interview_type": "backend", "skills": ["sql"], "difficulty": "easy",
                      "text": "What is a join?", "rubric": ["a", "b"]});
    let r = app
        .post_json("/api/v1/questions", &body, Some(&candidate))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .patch_json(
            &format!("/api/v1/questions/{}", bank.questions[0].id),
            &json!({"enabled": false}),
            Some(&candidate),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        admin_questions(&app, &admin, "").await,
        all,
        "nothing changed"
    );
}

async fn admins_create_edit_and_disable_questions(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = app.signed_in_admin().await;

    let r = app
        .post_json(
            "/api/v1/questions",
            &json!({
                "interview_type": "backend",
                "skills": ["databases", "sql"],
                "difficulty": "medium",
                "text": "  How would you find the slowest queries in a busy database?  ",
                "rubric": ["Uses the database's statistics or slow-query log", " Reads the query plan "],
            }),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_str().expect("id").to_owned();
    assert_eq!(
        r.body["text"],
        "How would you find the slowest queries in a busy database?"
    );
    assert_eq!(
        r.body["rubric"],
        json!([
            "Uses the database's statistics or slow-query log",
            "Reads the query plan"
        ])
    );
    assert_eq!(r.body["skills"], json!(["databases", "sql"]));
    assert_eq!(r.body["source"], "admin");
    assert_eq!(r.body["enabled"], true);
    let listed = admin_questions(&app, &admin, "?interview_type=backend").await;
    assert!(listed.iter().any(|q| q["id"] == id));

    let r = app
        .patch_json(
            &format!("/api/v1/questions/{id}"),
            &json!({"difficulty": "hard", "rubric": ["One", "Two", "Three"]}),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["difficulty"], "hard");
    assert_eq!(r.body["rubric"], json!(["One", "Two", "Three"]));
    assert_eq!(
        r.body["text"],
        "How would you find the slowest queries in a busy database?"
    );

    // Editing a bank question makes it the admins' own.
    let bank_id = &bank().questions[0].id;
    let r = app
        .patch_json(
            &format!("/api/v1/questions/{bank_id}"),
            &json!({"text": "Which project are you proudest of?", "skills": ["ownership"]}),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["text"], "Which project are you proudest of?");
    assert_eq!(r.body["skills"], json!(["ownership"]));
    assert_eq!(r.body["source"], "admin");
    assert_ne!(r.body["updated_at"], r.body["created_at"]);

    let r = app
        .patch_json(
            &format!("/api/v1/questions/{bank_id}"),
            &json!({"enabled": false}),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["enabled"], false);
    let listed = admin_questions(&app, &admin, "").await;
    let disabled = listed
        .iter()
        .find(|q| q["id"] == bank_id.as_str())
        .expect("listed");
    assert_eq!(
        disabled["enabled"], false,
        "admins still see disabled questions"
    );

    let r = app
        .patch_json(
            "/api/v1/questions/no-such-question",
            &json!({"enabled": false}),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.error_code(), "not_found");
}

async fn question_input_is_validated_with_clear_400s(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = app.signed_in_admin().await;
    let valid = json!({"interview_type": "backend", "skills": ["sql"], "difficulty": "easy",
                       "text": "What is a join?", "rubric": ["Names the kinds", "Gives an example"]});
    let with = |key: &str, value: Value| {
        let mut body = valid.clone();
        body[key] = value;
        body
    };
    let cases = [
        (
            with("interview_type", json!("cooking")),
            "unknown interview type `cooking`",
        ),
        (
            with("skills", json!(["sql", "rust"])),
            "unknown skill `rust`",
        ),
        (with("skills", json!([])), "skills: needs 1 to 5"),
        (with("skills", json!(["sql", "sql"])), "listed twice"),
        (
            with("difficulty", json!("brutal")),
            "not one of easy, medium, hard",
        ),
        (with("text", json!("   ")), "text: must not be empty"),
        (with("text", json!("a".repeat(501))), "too long"),
        (
            with("rubric", json!(["only one"])),
            "rubric: needs 2 to 5 points, got 1",
        ),
        (
            with("rubric", json!(["1", "2", "3", "4", "5", "6"])),
            "got 6",
        ),
        (with("rubric", json!(["fine", ""])), "point 2 is empty"),
    ];
    for (body, message) in cases {
        let r = app
            .post_json("/api/v1/questions", &body, Some(&admin))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.error_code(), "invalid_input");
        let got = r.body["error"]["message"].as_str().expect("message");
        assert!(got.contains(message), "{got:?} should mention {message:?}");
    }
    let r = app
        .post_json(
            "/api/v1/questions",
            &with("colour", json!("red")),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_code(), "invalid_json");

    let id = &bank().questions[0].id;
    let path = format!("/api/v1/questions/{id}");
    let r = app.patch_json(&path, &json!({}), Some(&admin)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["error"]["message"]
        .as_str()
        .expect("message")
        .starts_with("nothing to change"));
    for (body, message) in [
        (json!({"rubric": ["x"]}), "rubric"),
        (json!({"difficulty": "Easy"}), "difficulty"),
        (json!({"skills": ["nope"]}), "unknown skill `nope`"),
    ] {
        let r = app.patch_json(&path, &body, Some(&admin)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        let got = r.body["error"]["message"].as_str().expect("message");
        assert!(got.contains(message), "{got:?}");
    }
    let r = app
        .patch_json(&path, &json!({"interview_type": "frontend"}), Some(&admin))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_code(), "invalid_json");
    let listed = admin_questions(&app, &admin, "").await;
    let untouched = listed
        .iter()
        .find(|q| q["id"] == id.as_str())
        .expect("listed");
    assert_eq!(untouched["source"], "bank", "failed edits change nothing");
}

async fn seeding_twice_changes_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = app.signed_in_admin().await;
    let before = admin_questions(&app, &admin, "").await;
    let types_before = app.get("/api/v1/interview-types", Some(&admin)).await.body;

    // The app seeded on start; two more runs find nothing to do.
    let pool = app.pool();
    for _ in 0..2 {
        let report = catalog::seed(&pool, &bank()).await.expect("seed");
        assert_eq!(report, SeedReport::default());
    }
    assert_eq!(admin_questions(&app, &admin, "").await, before);
    assert_eq!(
        app.get("/api/v1/interview-types", Some(&admin)).await.body,
        types_before
    );
}

async fn seeding_follows_the_file_but_keeps_admin_changes(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = app.signed_in_admin().await;
    let original = bank();
    let edited_by_admin = original.questions[0].id.clone();
    let r = app
        .patch_json(
            &format!("/api/v1/questions/{edited_by_admin}"),
            &json!({"text": "An admin's wording."}),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);

    // A new release of the file: reworded questions (one the admin edited), one removed, one
    // added, a renamed type, one suggested skill fewer.
    let mut next = original.clone();
    next.questions[0].text = "The file's new wording.".into();
    next.questions[1].text = "Another new wording.".into();
    let removed = next.questions.remove(2);
    let mut added = next.questions[3].clone();
    added.id = "behavioral-new".into();
    next.questions.push(added);
    next.interview_types[0].name = "Behavioural".into();
    let dropped_suggestion = next.interview_types[0].suggested_skills.pop().expect("one");

    let report = catalog::seed(&app.pool(), &next).await.expect("seed");
    assert_eq!(
        report,
        SeedReport {
            interview_types_written: 1,
            skills_written: 0,
            suggestions_written: 1,
            questions_inserted: 1,
            questions_updated: 1,
            questions_disabled: 1,
        }
    );
    let questions = admin_questions(&app, &admin, "").await;
    let find = |id: &QuestionId| {
        questions
            .iter()
            .find(|q| q["id"] == id.as_str())
            .expect("question")
    };
    assert_eq!(find(&edited_by_admin)["text"], "An admin's wording.");
    assert_eq!(find(&next.questions[1].id)["text"], "Another new wording.");
    assert_eq!(find(&removed.id)["enabled"], false);
    assert_eq!(find(&"behavioral-new".into())["source"], "bank");
    let types = app.get("/api/v1/interview-types", Some(&admin)).await.body;
    assert_eq!(types[0]["name"], "Behavioural");
    assert!(!slugs(&types[0]["suggested_skills"]).contains(&dropped_suggestion.as_str()));

    // Back to the original file: the removed question returns, the admin's edit still stands.
    catalog::seed(&app.pool(), &original).await.expect("seed");
    let questions = admin_questions(&app, &admin, "").await;
    let find = |id: &QuestionId| {
        questions
            .iter()
            .find(|q| q["id"] == id.as_str())
            .expect("question")
    };
    assert_eq!(find(&removed.id)["enabled"], true);
    assert_eq!(find(&edited_by_admin)["text"], "An admin's wording.");
    assert_eq!(find(&"behavioral-new".into())["enabled"], false);
}
