//! Long-lived streams end with the login that opened them: the live interview's WebSocket (close
//! code 4002 `session_ended`) and a job's event stream, after logout, logout-all, a role change
//! (the `viva admin` command, another process) or the account's removal; nobody else's.

use std::io::Write;
use std::process::{Command, Stdio};

use awc::http::StatusCode;
use serde_json::json;

use crate::helpers::{
    loud, redis_test_url, spawn_app_with, spawn_live_app, Backend, TestApp, STRONG_PASSWORD,
};
use crate::hiring::{invite, job_body, new_job, person, EventStream};
use crate::live::{new_interview, Live, Next};
use crate::on_both_backends;

on_both_backends!(
    logout_all_closes_the_users_streams_and_no_one_elses,
    logout_closes_the_streams_of_that_session_only,
    a_role_change_or_a_removed_account_ends_the_job_stream,
    disabling_an_account_closes_its_streams_at_once,
);

#[test]
fn every_close_code_is_documented() {
    use viva::interview::live::{
        CLOSE_INTERNAL, CLOSE_INVITE_ENDED, CLOSE_NORMAL, CLOSE_RECONNECT, CLOSE_SESSION_ENDED,
        CLOSE_TAKEN_OVER,
    };
    let doc = include_str!("../../docs/protocol.md");
    for code in [
        CLOSE_NORMAL,
        CLOSE_INTERNAL,
        CLOSE_RECONNECT,
        CLOSE_TAKEN_OVER,
        CLOSE_INVITE_ENDED,
        CLOSE_SESSION_ENDED,
    ] {
        assert!(
            doc.contains(&format!("\n| {code} |")),
            "docs/protocol.md's close codes lack {code}"
        );
    }
}

/// A signed-in recruiter with a job.
pub(crate) struct Recruiter {
    pub(crate) id: String,
    pub(crate) email: String,
    pub(crate) cookie: String,
    pub(crate) job_id: String,
}

impl Recruiter {
    pub(crate) async fn new(app: &TestApp) -> Self {
        let (email, cookie) = app.signed_in_user().await;
        let me = app.get("/api/v1/auth/me", Some(&cookie)).await;
        let id = me.body["id"].as_str().expect("id").to_owned();
        let mut conn = app.pool().get().await.expect("connection");
        viva::db::users::set_role(
            &mut conn,
            &id.as_str().into(),
            viva::domain::Role::Recruiter,
        )
        .await
        .expect("promote");
        let job = new_job(app, &cookie, job_body("Backend engineer")).await;
        Self {
            id,
            email,
            cookie,
            job_id: job["id"].as_str().expect("job id").to_owned(),
        }
    }

    /// A second login (another browser).
    async fn another_session(&self, app: &TestApp) -> String {
        app.login(&self.email, STRONG_PASSWORD)
            .await
            .session_cookie()
            .expect("a cookie")
    }

    /// The job's event stream, opened with `cookie`, past its snapshot.
    async fn job_events(&self, app: &TestApp, cookie: &str) -> EventStream {
        let path = format!("/api/v1/jobs/{}/events", self.job_id);
        let mut events = EventStream::open(app, &path, cookie).await;
        assert_eq!(events.next().await.0, "snapshot");
        events
    }

    /// Their own (practice) interview, connected with `cookie`, past `ready`.
    async fn live_interview(&self, app: &TestApp, cookie: &str) -> Live {
        let id = new_interview(app, cookie, 1).await;
        let mut live = Live::connect(app, &id, cookie).await;
        live.until("ready").await;
        live
    }

    /// Both streams (opened with `cookie`) still deliver: the socket answers, and the job's
    /// page hears of a new candidate.
    async fn still_served(
        &self,
        app: &TestApp,
        cookie: &str,
        live: &mut Live,
        events: &mut EventStream,
    ) {
        live.send_json(json!({"type": "no_such_message"})).await;
        let (error, _) = live.until("error").await;
        assert_eq!(error["code"], "invalid_message", "{error}");
        invite(app, cookie, &self.job_id, person("Ann Lee")).await;
        assert_eq!(
            events.until_activity("invited").await["candidate"]["name"],
            "Ann Lee"
        );
    }
}

/// The socket is told its login ended, then closed with 4002.
async fn closed_for_session_end(live: &mut Live) {
    let (error, _) = live.until("error").await;
    assert_eq!(error["code"], "session_ended", "{error}");
    match live.next().await {
        Next::Closed(code) => assert_eq!(code, Some(4002)),
        Next::Event(event) => panic!("expected the close, got {event}"),
    }
}

async fn logout_all_closes_the_users_streams_and_no_one_elses(backend: Backend) {
    let Some(app) = spawn_live_app(backend, |_| {}).await else {
        return;
    };
    let x = Recruiter::new(&app).await;
    let x_phone = x.another_session(&app).await;
    let mut x_events = x.job_events(&app, &x.cookie).await;
    let mut x_phone_events = x.job_events(&app, &x_phone).await;
    let mut x_live = x.live_interview(&app, &x_phone).await;
    let y = Recruiter::new(&app).await;
    let mut y_events = y.job_events(&app, &y.cookie).await;
    let mut y_live = y.live_interview(&app, &y.cookie).await;

    let r = app
        .post_json("/api/v1/auth/logout-all", &json!({}), Some(&x.cookie))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    closed_for_session_end(&mut x_live).await;
    x_events.ends().await;
    x_phone_events.ends().await;
    y.still_served(&app, &y.cookie, &mut y_live, &mut y_events)
        .await;
}

async fn logout_closes_the_streams_of_that_session_only(backend: Backend) {
    let Some(app) = spawn_live_app(backend, |_| {}).await else {
        return;
    };
    let x = Recruiter::new(&app).await;
    let laptop = x.another_session(&app).await;
    let mut events = x.job_events(&app, &x.cookie).await;
    let mut live = x.live_interview(&app, &x.cookie).await;
    let mut laptop_events = x.job_events(&app, &laptop).await;
    let y = Recruiter::new(&app).await;
    let mut y_events = y.job_events(&app, &y.cookie).await;
    let mut y_live = y.live_interview(&app, &y.cookie).await;

    let r = app
        .post_json("/api/v1/auth/logout", &json!({}), Some(&x.cookie))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    closed_for_session_end(&mut live).await;
    events.ends().await;
    // The same user's other login keeps its streams (a new socket with it too).
    let mut laptop_live = x.live_interview(&app, &laptop).await;
    x.still_served(&app, &laptop, &mut laptop_live, &mut laptop_events)
        .await;
    y.still_served(&app, &y.cookie, &mut y_live, &mut y_events)
        .await;
}

async fn disabling_an_account_closes_its_streams_at_once(backend: Backend) {
    let Some(app) = spawn_live_app(backend, |_| {}).await else {
        return;
    };
    let admin = app.signed_in_admin().await;
    let x = Recruiter::new(&app).await;
    let mut x_events = x.job_events(&app, &x.cookie).await;
    let mut x_live = x.live_interview(&app, &x.cookie).await;
    let y = Recruiter::new(&app).await;
    let mut y_events = y.job_events(&app, &y.cookie).await;
    let mut y_live = y.live_interview(&app, &y.cookie).await;

    let r = app
        .patch_json(
            &format!("/api/v1/admin/users/{}", x.id),
            &json!({"disabled": true}),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    closed_for_session_end(&mut x_live).await;
    x_events.ends().await;
    y.still_served(&app, &y.cookie, &mut y_live, &mut y_events)
        .await;
}

/// Neither has an in-process path (the role changes with `viva admin create`, another process;
/// accounts are removed in the database), so this is the heartbeat's re-check at work.
async fn a_role_change_or_a_removed_account_ends_the_job_stream(backend: Backend) {
    let Some(app) = spawn_live_app(backend, |_| {}).await else {
        return;
    };
    let x = Recruiter::new(&app).await;
    let mut x_events = x.job_events(&app, &x.cookie).await;
    let mut x_live = x.live_interview(&app, &x.cookie).await;
    let z = Recruiter::new(&app).await;
    let mut z_events = z.job_events(&app, &z.cookie).await;
    let y = Recruiter::new(&app).await;
    let mut y_events = y.job_events(&app, &y.cookie).await;
    let mut y_live = y.live_interview(&app, &y.cookie).await;

    demote_with_the_cli(&app, &x.email);
    remove_account(&app, &z.id).await;

    x_events.ends().await;
    z_events.ends().await;
    // A demoted owner keeps their own interview: still open after two of its heartbeats.
    x_live.pings(2).await;
    x_live.send_json(json!({"type": "no_such_message"})).await;
    let (error, _) = x_live.until("error").await;
    assert_eq!(error["code"], "invalid_message", "{error}");
    y.still_served(&app, &y.cookie, &mut y_live, &mut y_events)
        .await;
}

#[actix_web::test]
async fn a_logout_on_another_node_ends_the_stream_within_a_heartbeat() {
    logout_on_another_node(None).await;
}

#[actix_web::test]
async fn a_logout_on_another_node_ends_the_stream_with_the_redis_store() {
    let Some(redis_url) = redis_test_url() else {
        loud(
            "SKIPPED: Redis variant not run; set VIVA_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379)",
        );
        return;
    };
    logout_on_another_node(Some(redis_url)).await;
}

/// Two nodes over one database and secret key (and one Redis, when given): a stream on the
/// first ends when the second logs its session out (no in-process notice reaches it).
async fn logout_on_another_node(redis_url: Option<String>) {
    let redis = |s: &mut viva::config::Settings| {
        if let Some(url) = &redis_url {
            s.session_store = viva::config::SessionStoreKind::Redis;
            s.redis_url = url.clone().into();
        }
    };
    let Some(first) = spawn_app_with(Backend::Sqlite, redis).await else {
        return;
    };
    let dir = first.data_dir.path().to_path_buf();
    let Some(second) = spawn_app_with(Backend::Sqlite, |s| {
        s.data_dir = dir.clone();
        s.database_url = Some(viva::db::DatabaseUrl::Sqlite(dir.join("viva.db")));
        redis(s);
    })
    .await
    else {
        return;
    };
    let x = Recruiter::new(&first).await;
    let laptop = x.another_session(&first).await;
    let mut events = x.job_events(&first, &x.cookie).await;
    let mut laptop_events = x.job_events(&first, &laptop).await;

    let r = second
        .post_json("/api/v1/auth/logout", &json!({}), Some(&x.cookie))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        first.get("/api/v1/auth/me", Some(&x.cookie)).await.status,
        StatusCode::UNAUTHORIZED
    );

    events.ends().await;
    invite(&first, &laptop, &x.job_id, person("Ann Lee")).await;
    assert_eq!(
        laptop_events.until_activity("invited").await["candidate"]["name"],
        "Ann Lee"
    );
}

/// `viva admin create --role candidate` on an existing account changes only its role.
fn demote_with_the_cli(app: &TestApp, email: &str) {
    let mut cli = Command::new(env!("CARGO_BIN_EXE_viva"));
    cli.env("VIVA_DATA_DIR", app.data_dir.path())
        .env("VIVA_LOG", "warn")
        .env("VIVA_FETCH_MODELS", "false")
        .env_remove("DATABASE_URL")
        .current_dir(app.data_dir.path())
        .args(["admin", "create", "--email", email, "--role", "candidate"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match &app.postgres {
        Some(db) => cli.env("VIVA_DATABASE_URL", &db.url),
        None => cli.env_remove("VIVA_DATABASE_URL"),
    };
    let mut child = cli.spawn().expect("run viva");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{STRONG_PASSWORD}").expect("write the password");
    drop(stdin);
    let out = child.wait_with_output().expect("viva finishes");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("as candidate"));
}

/// viva has no way to remove an account yet; this is what one would do underneath.
async fn remove_account(app: &TestApp, user_id: &str) {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use viva::db::schema::users;
    let mut conn = app.pool().get().await.expect("connection");
    let conn = &mut conn;
    let removed: Result<usize, diesel::result::Error> = viva::db_run!(conn, {
        diesel::delete(users::table.find(user_id))
            .execute(conn)
            .await
    });
    assert_eq!(removed.expect("remove the account"), 1);
}
