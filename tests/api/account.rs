//! The account life cycle: password reset and email verification by emailed code (through a
//! real SMTP server), changing the password, the data export, deleting the account, and the
//! admin's user management.

use std::io::Read;

use awc::http::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, unique_email, Backend, Reply, TestApp, STRONG_PASSWORD};
use crate::support::SmtpSink;

crate::on_both_backends!(
    a_forgotten_password_is_reset_with_the_emailed_code,
    a_code_allows_five_tries_then_stops_working,
    an_expired_or_replaced_code_is_refused,
    reset_emails_are_limited_per_account_quietly_and_per_address_loudly,
    a_candidate_confirms_their_email_before_practising_when_required,
    changing_the_password_ends_the_other_sessions,
    the_export_holds_my_account_and_interviews,
    deleting_my_account_needs_my_password_and_takes_my_data,
    admins_find_disable_enable_and_promote_accounts,
);

const NEW_PASSWORD: &str = "violet mountain ferry lantern";

/// A practice interview's plan with `questions` questions.
fn practice(questions: i64) -> Value {
    json!({
        "interview_type": "backend", "skills": ["databases"], "difficulty": "medium",
        "question_count": questions, "time_limit_minutes": 10,
    })
}

/// An app whose emails go to a real local SMTP server; `None` after a loud line when the
/// server cannot be installed (a failure under CI) or Postgres is not configured.
pub(crate) async fn app_with_mail(
    backend: Backend,
    tweak: impl FnOnce(&mut viva::config::Settings) + 'static,
) -> Option<(TestApp, SmtpSink)> {
    let smtp = crate::support::smtp_sink()?;
    let port = smtp.port;
    let app = spawn_app_with(backend, move |s| {
        s.smtp_host = Some("127.0.0.1".into());
        s.smtp_port = port;
        s.smtp_tls = viva::config::SmtpTls::None;
        tweak(s);
    })
    .await?;
    Some((app, smtp))
}

/// The 6-digit code of the newest email to `to`, after waiting for the `count`th message.
async fn code_in(smtp: &SmtpSink, count: usize, to: &str) -> String {
    let messages = smtp.arrived(count).await;
    let message = messages
        .iter()
        .rev()
        .find(|m| m.contains(&format!("To: {to}")))
        .unwrap_or_else(|| panic!("no email to {to} in {messages:?}"));
    let code = regex::Regex::new(r"(?m)^\s+(\d{6})\s*$")
        .expect("pattern")
        .captures(message)
        .unwrap_or_else(|| panic!("no code in {message}"))[1]
        .to_owned();
    code
}

impl TestApp {
    async fn delete_json(&self, path: &str, body: &Value, cookie: Option<&str>) -> Reply {
        let mut req = Self::client()
            .delete(self.url(path))
            .insert_header(("content-type", "application/json"));
        if let Some(c) = cookie {
            req = req.insert_header(("cookie", c));
        }
        self.send(req, Some(body.to_string().into_bytes())).await
    }

    async fn ask_reset(&self, email: &str) -> Reply {
        self.post_json(
            "/api/v1/auth/password-reset",
            &json!({ "email": email }),
            None,
        )
        .await
    }

    async fn confirm_reset(&self, email: &str, code: &str, password: &str) -> Reply {
        self.post_json(
            "/api/v1/auth/password-reset/confirm",
            &json!({ "email": email, "code": code, "password": password }),
            None,
        )
        .await
    }
}

async fn a_forgotten_password_is_reset_with_the_emailed_code(backend: Backend) {
    let Some((app, smtp)) = app_with_mail(backend, |_| {}).await else {
        return;
    };
    let (email, old_session) = app.signed_in_user().await;

    // The same answer for an unknown address, and nothing is sent to it.
    let unknown = app.ask_reset(&unique_email()).await;
    let known = app.ask_reset(&email).await;
    assert_eq!(unknown.status, StatusCode::ACCEPTED);
    assert_eq!(known.status, StatusCode::ACCEPTED);
    assert_eq!(unknown.body, known.body);
    let code = code_in(&smtp, 1, &email).await;
    assert_eq!(
        smtp.messages().len(),
        1,
        "only the real account got an email"
    );
    let message = &smtp.messages()[0];
    assert!(
        message.contains("Subject: Your viva password reset code"),
        "{message}"
    );
    let body = message
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    assert!(
        body.contains("/#reset?email=") && body.contains(&format!("&code={code}")),
        "the email links to the page's reset form with the code: {body}"
    );

    let wrong = if code == "000000" { "000001" } else { "000000" };
    let r = app.confirm_reset(&email, wrong, NEW_PASSWORD).await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::BAD_REQUEST, "invalid_code")
    );
    // A weak password is refused without using up the code.
    let r = app.confirm_reset(&email, &code, "password").await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::BAD_REQUEST, "invalid_input"),
        "{:?}",
        r.body
    );
    // The code for another address does not work for this one.
    let (other, _) = app.signed_in_user().await;
    let r = app.confirm_reset(&other, &code, NEW_PASSWORD).await;
    assert_eq!(r.error_code(), "invalid_code");

    let r = app
        .confirm_reset(
            &email,
            &format!("{} {}", &code[..3], &code[3..]),
            NEW_PASSWORD,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);

    // Every session of the account ended; the old password is gone, the new one works.
    let me = app.get("/api/v1/auth/me", Some(&old_session)).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.login(&email, STRONG_PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    let login = app.login(&email, NEW_PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK);
    assert_eq!(
        login.body["email_verified"], true,
        "the code proved the address"
    );
    assert!(
        login.body["last_sign_in_at"].is_string(),
        "{:?}",
        login.body
    );
    // A code works once.
    let r = app
        .confirm_reset(&email, &code, "another quite long passphrase")
        .await;
    assert_eq!(r.error_code(), "invalid_code");
}

async fn a_code_allows_five_tries_then_stops_working(backend: Backend) {
    let Some((app, smtp)) = app_with_mail(backend, |_| {}).await else {
        return;
    };
    let (email, _) = app.signed_in_user().await;
    app.ask_reset(&email).await;
    let code = code_in(&smtp, 1, &email).await;
    let wrong = if code == "123456" { "654321" } else { "123456" };
    // Five wrong tries at once: each counts before it is compared.
    let tries = futures_util::future::join_all(
        (0..5).map(|_| app.confirm_reset(&email, wrong, NEW_PASSWORD)),
    )
    .await;
    assert!(tries.iter().all(|r| r.error_code() == "invalid_code"));
    let r = app.confirm_reset(&email, &code, NEW_PASSWORD).await;
    assert_eq!(
        r.error_code(),
        "invalid_code",
        "the right code after five wrong tries"
    );
    assert_eq!(
        app.login(&email, STRONG_PASSWORD).await.status,
        StatusCode::OK
    );
}

async fn an_expired_or_replaced_code_is_refused(backend: Backend) {
    let Some((app, smtp)) = app_with_mail(backend, |_| {}).await else {
        return;
    };
    let (email, cookie) = app.signed_in_user().await;
    app.ask_reset(&email).await;
    let first = code_in(&smtp, 1, &email).await;
    app.ask_reset(&email).await;
    let second = code_in(&smtp, 2, &email).await;
    if first != second {
        let r = app.confirm_reset(&email, &first, NEW_PASSWORD).await;
        assert_eq!(
            r.error_code(),
            "invalid_code",
            "a new code replaces the old one"
        );
    }

    // The live code, moved past its expiry.
    let me = app.get("/api/v1/auth/me", Some(&cookie)).await;
    let id: viva::domain::UserId = me.body["id"].as_str().expect("id").into();
    let mut conn = app.pool().get().await.expect("connection");
    let purpose = viva::domain::CodePurpose::PasswordReset;
    let mut row = viva::db::one_time_codes::find(&mut conn, &id, purpose)
        .await
        .expect("query")
        .expect("a live code");
    row.expires_at = viva::db::now() - chrono::Duration::seconds(1);
    viva::db::one_time_codes::replace(&mut conn, &row)
        .await
        .expect("expire it");
    let r = app.confirm_reset(&email, &second, NEW_PASSWORD).await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::BAD_REQUEST, "invalid_code")
    );
    assert_eq!(
        app.login(&email, STRONG_PASSWORD).await.status,
        StatusCode::OK
    );
}

async fn reset_emails_are_limited_per_account_quietly_and_per_address_loudly(backend: Backend) {
    let Some((app, smtp)) = app_with_mail(backend, |s| {
        s.code_emails_max_per_account = 1;
        s.code_emails_max_per_ip = 3;
    })
    .await
    else {
        return;
    };
    let (email, _) = app.signed_in_user().await;
    let first = app.ask_reset(&email).await;
    code_in(&smtp, 1, &email).await;
    let second = app.ask_reset(&email).await;
    assert_eq!(second.status, StatusCode::ACCEPTED);
    assert_eq!(
        first.body, second.body,
        "past the account's budget the answer is the same"
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(smtp.messages().len(), 1, "and nothing more is sent");
    assert_eq!(
        app.ask_reset(&unique_email()).await.status,
        StatusCode::ACCEPTED
    );
    let r = app.ask_reset(&unique_email()).await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    assert!(r.header("retry-after").is_some());
}

async fn a_candidate_confirms_their_email_before_practising_when_required(backend: Backend) {
    let Some((app, smtp)) = app_with_mail(backend, |s| {
        s.email_verification = viva::config::EmailVerification::Candidates;
    })
    .await
    else {
        return;
    };
    let (email, cookie) = app.signed_in_user().await;
    let me = app.get("/api/v1/auth/me", Some(&cookie)).await;
    assert_eq!(me.body["email_verified"], false);
    assert_eq!(me.body["email_verification_required"], true);
    let practice = practice(1);
    let r = app
        .post_json("/api/v1/interviews", &practice, Some(&cookie))
        .await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::FORBIDDEN, "email_unverified")
    );

    let first = code_in(&smtp, 1, &email).await;
    let message = smtp.messages()[0].clone();
    assert!(
        message.contains("Subject: Confirm your email for viva"),
        "{message}"
    );
    // A new code replaces the first.
    let r = app
        .post_json(
            "/api/v1/auth/verify-email/resend",
            &json!({}),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let code = code_in(&smtp, 2, &email).await;
    if first != code {
        let r = app
            .post_json(
                "/api/v1/auth/verify-email",
                &json!({"email": email, "code": first}),
                None,
            )
            .await;
        assert_eq!(r.error_code(), "invalid_code");
    }
    // The link may open in a browser without the session.
    let r = app
        .post_json(
            "/api/v1/auth/verify-email",
            &json!({"email": email, "code": code}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["email_verified"], true);

    let r = app
        .post_json("/api/v1/interviews", &practice, Some(&cookie))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let r = app
        .post_json(
            "/api/v1/auth/verify-email/resend",
            &json!({}),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "already confirmed");
}

async fn changing_the_password_ends_the_other_sessions(backend: Backend) {
    let Some(app) = crate::helpers::spawn_app(backend).await else {
        return;
    };
    let (email, here) = app.signed_in_user().await;
    let elsewhere = app
        .login(&email, STRONG_PASSWORD)
        .await
        .session_cookie()
        .expect("second session");
    let change = |current: &str| json!({"current_password": current, "new_password": NEW_PASSWORD});
    let r = app
        .put_json(
            "/api/v1/me/password",
            &change("not my password at all"),
            Some(&here),
        )
        .await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::UNAUTHORIZED, "invalid_credentials")
    );
    let r = app
        .put_json("/api/v1/me/password", &change(STRONG_PASSWORD), Some(&here))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    // This session goes on (under its renewed cookie), the other ended.
    let here = r.session_cookie().unwrap_or(here);
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&here)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&elsewhere)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.login(&email, NEW_PASSWORD).await.status, StatusCode::OK);
}

async fn the_export_holds_my_account_and_interviews(backend: Backend) {
    let Some(app) = crate::helpers::spawn_app(backend).await else {
        return;
    };
    let (email, cookie) = app.signed_in_user().await;
    let practice = practice(2);
    let created = app
        .post_json("/api/v1/interviews", &practice, Some(&cookie))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_str().expect("id").to_owned();

    let r = app.get("/api/v1/me/export", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("application/zip"));
    assert!(r
        .header("content-disposition")
        .is_some_and(|d| d.starts_with("attachment")));
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(r.raw.clone())).expect("a zip");
    let mut read = |name: &str| -> Value {
        let mut text = String::new();
        zip.by_name(name)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .read_to_string(&mut text)
            .expect("read");
        serde_json::from_str(&text).expect("JSON")
    };
    let account = read("account.json");
    assert_eq!(account["email"], email);
    assert!(account.get("password_hash").is_none());
    let interview = read(&format!("interviews/{id}.json"));
    assert_eq!(interview["questions"].as_array().map(Vec::len), Some(2));
    let report = read(&format!("interviews/{id}-report.json"));
    assert_eq!(report["questions_planned"], 2, "{report}");
    assert_eq!(read("bookmarks.json"), json!([]));
    assert_eq!(read("sign-ins.json"), json!([]));
    assert_eq!(
        app.get("/api/v1/me/export", None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn deleting_my_account_needs_my_password_and_takes_my_data(backend: Backend) {
    let Some(app) = crate::helpers::spawn_app(backend).await else {
        return;
    };
    let (email, cookie) = app.signed_in_user().await;
    let practice = practice(1);
    let created = app
        .post_json("/api/v1/interviews", &practice, Some(&cookie))
        .await;
    let interview_id = created.body["id"].as_str().expect("id").to_owned();
    let me = app.get("/api/v1/auth/me", Some(&cookie)).await;
    let user_id = me.body["id"].as_str().expect("id").to_owned();

    let r = app
        .delete_json(
            "/api/v1/me",
            &json!({"password": "a wrong password here"}),
            Some(&cookie),
        )
        .await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::UNAUTHORIZED, "invalid_credentials")
    );
    let r = app
        .delete_json("/api/v1/me", &json!({}), Some(&cookie))
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "no password, no deletion"
    );
    let r = app
        .delete_json(
            "/api/v1/me",
            &json!({"password": STRONG_PASSWORD}),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);

    assert_eq!(
        app.get("/api/v1/auth/me", Some(&cookie)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login(&email, STRONG_PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    let mut conn = app.pool().get().await.expect("connection");
    assert!(
        viva::db::users::find_by_id(&mut conn, &user_id.as_str().into())
            .await
            .expect("query")
            .is_none()
    );
    assert!(
        viva::db::interviews::find(&mut conn, &interview_id.as_str().into())
            .await
            .expect("query")
            .is_none()
    );
    // The address is free again.
    assert_eq!(
        app.register(&email, STRONG_PASSWORD, "Back Again")
            .await
            .status,
        StatusCode::CREATED
    );

    // A recruiter with jobs keeps their account until the jobs are dealt with.
    let recruiter = app.signed_in_recruiter().await;
    let job = app
        .post_json(
            "/api/v1/jobs",
            &crate::hiring::job_body("Backend engineer"),
            Some(&recruiter),
        )
        .await;
    assert_eq!(job.status, StatusCode::CREATED, "{:?}", job.body);
    let r = app
        .delete_json(
            "/api/v1/me",
            &json!({"password": STRONG_PASSWORD}),
            Some(&recruiter),
        )
        .await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::CONFLICT, "account_owns_jobs")
    );
}

async fn admins_find_disable_enable_and_promote_accounts(backend: Backend) {
    let Some(app) = crate::helpers::spawn_app(backend).await else {
        return;
    };
    let admin = app.signed_in_admin().await;
    let (email, candidate) = app.signed_in_user().await;
    let me = app.get("/api/v1/auth/me", Some(&candidate)).await;
    let id = me.body["id"].as_str().expect("id").to_owned();

    let local = email.split('@').next().expect("local part").to_uppercase();
    let found = app
        .get(&format!("/api/v1/admin/users?q={local}"), Some(&admin))
        .await;
    assert_eq!(found.status, StatusCode::OK, "{:?}", found.body);
    assert_eq!(found.body["total"], 1, "{:?}", found.body);
    assert_eq!(found.body["items"][0]["email"], email);
    assert!(found.body["items"][0]["last_sign_in_at"].is_string());
    let admins = app
        .get("/api/v1/admin/users?role=admin", Some(&admin))
        .await;
    assert!(admins.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .all(|u| u["role"] == "admin"));
    let r = app
        .get("/api/v1/admin/users?role=wizard", Some(&admin))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.get("/api/v1/admin/users", Some(&candidate))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // Disabled: signed out at once, and cannot sign in.
    let path = format!("/api/v1/admin/users/{id}");
    let r = app
        .patch_json(&path, &json!({"disabled": true}), Some(&admin))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["disabled"], true);
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&candidate)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let login = app.login(&email, STRONG_PASSWORD).await;
    assert_eq!(
        (login.status, login.error_code()),
        (StatusCode::FORBIDDEN, "account_disabled")
    );
    // A wrong password to a disabled account says nothing about it.
    let login = app.login(&email, "not the password at all").await;
    assert_eq!(login.error_code(), "invalid_credentials");

    let r = app
        .patch_json(
            &path,
            &json!({"disabled": false, "role": "recruiter"}),
            Some(&admin),
        )
        .await;
    assert_eq!(
        (r.body["disabled"].clone(), r.body["role"].clone()),
        (json!(false), json!("recruiter"))
    );
    let login = app.login(&email, STRONG_PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK);
    assert_eq!(login.body["role"], "recruiter");

    // Not one's own account; unknown ids and fields are refused.
    let admin_id = app.get("/api/v1/auth/me", Some(&admin)).await.body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = app
        .patch_json(
            &format!("/api/v1/admin/users/{admin_id}"),
            &json!({"role": "candidate"}),
            Some(&admin),
        )
        .await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::CONFLICT, "own_account")
    );
    let r = app
        .patch_json(
            "/api/v1/admin/users/nobody",
            &json!({"disabled": true}),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .patch_json(&path, &json!({"password_hash": "x"}), Some(&admin))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}
