//! Two nodes of one deployment in this process (sharing the loaded models, nothing else): one
//! PostgreSQL database, one secret key, one Redis session store, each node with its own
//! registry, leases and cluster bus (PostgreSQL LISTEN/NOTIFY). What one node does reaches the
//! other only through the database.
//! (Nodes as real processes behind nginx, killed and drained: `tests/api/failover.rs`.)

use std::time::Duration;

use awc::http::StatusCode;
use serde_json::json;

use crate::helpers::{loud, redis_test_url, spawn_live_app, Backend, TestApp, STRONG_PASSWORD};
use crate::hiring::{invite, person, EventStream};
use crate::live::{new_interview, Live, Next};
use crate::streams::Recruiter;

const ANSWER: &str = "I led the migration of our billing service to a queue-based design, \
measured the latency before and after, and cut the p99 from two seconds to three hundred \
milliseconds.";

/// Nodes A and B, each hearing the other; `None` after a loud SKIPPED line when PostgreSQL or
/// Redis is not configured (CI configures both), or the models cannot be had.
async fn two_nodes() -> Option<(TestApp, TestApp)> {
    let Some(redis_url) = redis_test_url() else {
        loud(
            "SKIPPED: cluster tests not run; set VIVA_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379)",
        );
        return None;
    };
    let redis = |s: &mut viva::config::Settings| {
        s.session_store = viva::config::SessionStoreKind::Redis;
        s.redis_url = redis_url.clone().into();
    };
    let a = spawn_live_app(Backend::Postgres, |s| {
        s.node_name = Some("a".into());
        redis(s);
    })
    .await?;
    let dir = a.data_dir.path().to_path_buf();
    let database = a.database.clone();
    let b = spawn_live_app(Backend::Postgres, |s| {
        // The same secret key (a file in the data directory) and the same database.
        s.data_dir = dir;
        s.database_url = Some(database);
        s.node_name = Some("b".into());
        redis(s);
    })
    .await?;
    for node in [&a, &b] {
        wait_until_listening(node).await;
    }
    Some((a, b))
}

/// Until the node's `/readyz` says it hears the other nodes.
async fn wait_until_listening(node: &TestApp) {
    for _ in 0..200 {
        let r = node.get("/readyz", None).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        if r.body["cluster_listening"] == true {
            return;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("node on port {} never listened to the others", node.port);
}

#[actix_web::test]
async fn a_job_page_on_one_node_follows_an_interview_on_another() {
    let Some((a, b)) = two_nodes().await else {
        return;
    };
    let Recruiter { cookie, job_id, .. } = Recruiter::new(&a).await;
    let (created, token) = invite(&a, &cookie, &job_id, person("Ann Lee")).await;
    let interview_id = created["candidate"]["interview_id"]
        .as_str()
        .expect("interview_id");

    // The recruiter's page is served by B; the candidate's interview runs on A.
    let mut events = EventStream::open(&b, &format!("/api/v1/jobs/{job_id}/events"), &cookie).await;
    assert_eq!(events.next().await.0, "snapshot");
    let mut live = Live::connect_with_token(&a, interview_id, &token).await;
    live.until("ready").await;
    assert_eq!(
        events.until_activity("opened").await["candidate"]["interview_id"],
        interview_id
    );
    live.start().await;
    assert_eq!(
        events.until_activity("started").await["candidate"]["interview_id"],
        interview_id
    );
    live.send_json(json!({"type": "text", "text": ANSWER}))
        .await;
    live.until("transcript").await;
    assert_eq!(
        events.until_activity("answered").await["candidate"]["interview_id"],
        interview_id
    );
    live.until_listening().await;
    live.send_json(json!({"type": "finish"})).await;
    live.until("ended").await;
    let ended = events.until_activity("ended").await;
    assert_eq!(ended["candidate"]["interview_id"], interview_id);
    assert_eq!(ended["candidate"]["status"], "completed", "{ended}");
}

#[actix_web::test]
async fn logout_all_on_one_node_closes_the_users_streams_on_another() {
    let Some((a, b)) = two_nodes().await else {
        return;
    };
    let Recruiter {
        email,
        cookie,
        job_id,
        ..
    } = Recruiter::new(&a).await;
    let interview_id = new_interview(&b, &cookie, 1).await;
    let mut live = Live::connect(&b, &interview_id, &cookie).await;
    live.until("ready").await;
    let mut events = EventStream::open(&b, &format!("/api/v1/jobs/{job_id}/events"), &cookie).await;
    assert_eq!(events.next().await.0, "snapshot");
    // Someone else's interview on B stays open.
    let (_, other_cookie) = b.signed_in_user().await;
    let other_id = new_interview(&b, &other_cookie, 1).await;
    let mut other = Live::connect(&b, &other_id, &other_cookie).await;
    other.until("ready").await;

    let r = a
        .post_json("/api/v1/auth/logout-all", &json!({}), Some(&cookie))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);

    let (error, _) = live.until("error").await;
    assert_eq!(error["code"], "session_ended", "{error}");
    match live.next().await {
        Next::Closed(code) => assert_eq!(code, Some(4002)),
        Next::Event(event) => panic!("still open: {event}"),
    }
    events.ends().await;
    assert_eq!(
        b.get("/api/v1/auth/me", Some(&cookie)).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Signing in again works on either node; the other user was never touched.
    assert_eq!(
        b.login(&email, STRONG_PASSWORD).await.status,
        StatusCode::OK
    );
    other.send_json(json!({"type": "no_such_message"})).await;
    let (error, _) = other.until("error").await;
    assert_eq!(error["code"], "invalid_message", "{error}");
}

#[actix_web::test]
async fn two_connections_at_two_nodes_at_once_run_one_session() {
    let Some((a, b)) = two_nodes().await else {
        return;
    };
    let (_, cookie) = a.signed_in_user().await;
    for round in 0..3 {
        let id = new_interview(&a, &cookie, 1).await;
        let (mut at_a, mut at_b) = futures_util::join!(
            Live::connect(&a, &id, &cookie),
            Live::connect(&b, &id, &cookie)
        );
        let (first_a, first_b) = futures_util::join!(at_a.event(), at_b.event());
        let a_won = match (first_a["type"].as_str(), first_b["type"].as_str()) {
            (Some("ready"), Some("error")) => true,
            (Some("error"), Some("ready")) => false,
            _ => panic!("round {round}: exactly one node runs it; got {first_a} and {first_b}"),
        };
        let (mut winner, mut loser, loser_first, loser_node) = if a_won {
            (at_a, at_b, first_b, &b)
        } else {
            (at_b, at_a, first_a, &a)
        };
        assert_eq!(loser_first["code"], "held_elsewhere", "{loser_first}");
        match loser.next().await {
            Next::Closed(code) => assert_eq!(code, Some(4003)),
            Next::Event(event) => panic!("the other node kept its connection: {event}"),
        }
        // The one session runs the interview.
        winner.start().await;
        winner
            .send_json(json!({"type": "text", "text": ANSWER}))
            .await;
        let (transcript, _) = winner.until("transcript").await;
        assert_eq!(transcript["message"]["text"], ANSWER);
        // While it runs, the other node still refuses it.
        let mut again = Live::connect(loser_node, &id, &cookie).await;
        let refused = again.event().await;
        assert_eq!(refused["code"], "held_elsewhere", "{refused}");
        winner.until_listening().await;
    }
}

#[actix_web::test]
async fn revoking_an_invite_on_one_node_closes_the_candidate_on_another() {
    let Some((a, b)) = two_nodes().await else {
        return;
    };
    let Recruiter { cookie, job_id, .. } = Recruiter::new(&a).await;
    let (created, token) = invite(&a, &cookie, &job_id, person("Bo Chen")).await;
    let interview_id = created["candidate"]["interview_id"]
        .as_str()
        .expect("interview_id");
    let mut live = Live::connect_with_token(&a, interview_id, &token).await;
    live.until("ready").await;

    let r = b
        .send(
            TestApp::client()
                .delete(b.url(&format!("/api/v1/interviews/{interview_id}/invites")))
                .insert_header(("cookie", cookie.as_str())),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let (error, _) = live.until("error").await;
    assert_eq!(error["code"], "invite_revoked", "{error}");
    match live.next().await {
        Next::Closed(code) => assert_eq!(code, Some(4001)),
        Next::Event(event) => panic!("still open: {event}"),
    }
}
