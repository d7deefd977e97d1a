//! Signed webhooks over the real API, on both databases, delivered to a real HTTP receiver
//! (tests/support/receiver.rs) that checks each Standard Webhooks signature with the endpoint's
//! secret: endpoints belong to their owner; hiring events arrive signed; a receiver that is
//! down, or answers 500, gets the message once it answers; secrets rotate with both signatures
//! during the grace period; redelivery keeps the webhook-id; a restarted server delivers what
//! the stopped one left.

use std::time::{Duration, Instant};

use awc::http::StatusCode;
use serde_json::{json, Value};
use viva::config::Settings;
use viva::db::{DbPool, PoolOptions};
use viva::startup::Application;

use crate::helpers::{
    loud, postgres_admin_url, send_request, spawn_app_with, spawn_live_app, test_settings, Backend,
    PostgresTestDb, Reply, TestApp, STRONG_PASSWORD,
};
use crate::hiring::{invite, job_body, new_job, person};
use crate::live::Live;
use crate::on_both_backends;
use crate::support::{closed_port, Receiver};

const ALL_EVENTS: [&str; 4] = [
    "candidate.invited",
    "interview.started",
    "interview.completed",
    "invite.expired",
];

const METRICS_TOKEN: &str = "a-metrics-token-for-the-tests";

/// Short schedules: the worker looks every 50 ms, retries after 100 ms to 400 ms.
fn quick(settings: &mut Settings) {
    settings.webhook_allow_private = true;
    settings.webhook_poll_interval = Duration::from_millis(50);
    settings.webhook_retry_base = Duration::from_millis(100);
    settings.webhook_retry_max = Duration::from_millis(400);
    settings.webhook_max_attempts = 50;
    settings.webhook_timeout = Duration::from_secs(5);
    settings.invite_sweep_interval = Duration::from_millis(200);
}

impl TestApp {
    /// Creates an endpoint for `url`; returns its id and its secret.
    async fn new_endpoint(&self, cookie: &str, url: &str, events: &[&str]) -> (String, String) {
        let r = self
            .post_json(
                "/api/v1/webhooks",
                &json!({"url": url, "events": events, "description": "ATS"}),
                Some(cookie),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        (
            r.body["id"].as_str().expect("id").to_owned(),
            r.body["secret"].as_str().expect("secret").to_owned(),
        )
    }

    /// Queues a test event; returns its delivery id (the webhook-id).
    async fn send_test_event(&self, cookie: &str, endpoint: &str) -> String {
        let r = self
            .post_json(
                &format!("/api/v1/webhooks/{endpoint}/test"),
                &json!({}),
                Some(cookie),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
        r.body["delivery_id"].as_str().expect("id").to_owned()
    }

    async fn deliveries(&self, cookie: &str, endpoint: &str) -> Vec<Value> {
        let r = self
            .get(
                &format!("/api/v1/webhooks/{endpoint}/deliveries"),
                Some(cookie),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body.as_array().cloned().unwrap_or_default()
    }

    /// Waits (up to 60 s) until the delivery `id` satisfies `done`; returns it.
    async fn delivery_until(
        &self,
        cookie: &str,
        endpoint: &str,
        id: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let log = self.deliveries(cookie, endpoint).await;
            let found = log.into_iter().find(|d| d["id"] == id);
            match found {
                Some(d) if done(&d) => return d,
                other if Instant::now() > deadline => {
                    panic!("delivery {id} never got there; last seen: {other:?}")
                }
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }
}

fn attempts(delivery: &Value) -> Vec<Value> {
    delivery["attempts"].as_array().cloned().unwrap_or_default()
}

fn delivered(delivery: &Value) -> bool {
    delivery["status"] == "delivered"
}

on_both_backends!(
    endpoints_belong_to_their_owner_and_are_checked,
    hiring_events_arrive_signed_for_the_jobs_owner_only,
    a_receiver_that_is_down_gets_the_message_when_it_comes_back,
    a_failing_receiver_is_retried_then_given_up_and_redelivered,
    a_rotated_secret_signs_beside_the_old_one_during_the_grace,
    a_restarted_server_delivers_what_the_stopped_one_left,
    a_message_held_by_a_dead_worker_is_sent_once_its_lease_runs_out,
    interviews_announce_their_start_and_completion_with_the_report,
);

async fn endpoints_belong_to_their_owner_and_are_checked(backend: Backend) {
    let Some(app) = spawn_app_with(backend, quick).await else {
        return;
    };
    let r = app.get("/api/v1/webhooks", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let (_, candidate) = app.signed_in_user().await;
    let r = app.get("/api/v1/webhooks", Some(&candidate)).await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "candidates have no webhooks"
    );

    let x = app.signed_in_recruiter().await;
    let r = app
        .post_json(
            "/api/v1/webhooks",
            &json!({"url": "https://hooks.example.com/viva", "events": ["candidate.invited", "interview.completed"], "description": " My ATS "}),
            Some(&x),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_str().expect("id").to_owned();
    let secret = r.body["secret"].as_str().expect("the secret, this once");
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(r.body["description"], "My ATS");
    assert_eq!(r.body["enabled"], true);
    assert_eq!(
        r.body["events"],
        json!(["candidate.invited", "interview.completed"])
    );

    let list = app.get("/api/v1/webhooks", Some(&x)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body.as_array().map(Vec::len), Some(1));
    assert!(list.body[0].get("secret").is_none(), "never shown again");
    let one = app.get(&format!("/api/v1/webhooks/{id}"), Some(&x)).await;
    assert_eq!(one.status, StatusCode::OK);
    assert!(!String::from_utf8_lossy(&one.raw).contains(secret));

    for (body, why) in [
        (
            json!({"url": "ftp://example.com/", "events": ["ping"]}),
            "url",
        ),
        (
            json!({"url": "https://example.com/", "events": []}),
            "events",
        ),
        (
            json!({"url": "https://example.com/", "events": ["ping"]}),
            "events",
        ),
        (
            json!({"url": "https://u:p@example.com/", "events": ["invite.expired"]}),
            "url",
        ),
    ] {
        let r = app.post_json("/api/v1/webhooks", &body, Some(&x)).await;
        assert_eq!(
            (r.status, r.error_code()),
            (StatusCode::BAD_REQUEST, "invalid_input"),
            "{body}"
        );
        let message = r.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(why), "{body}: {message}");
    }
    let r = app
        .post_json(
            "/api/v1/webhooks",
            &json!({"url": "https://example.com/", "events": ["candidate.hired"]}),
            Some(&x),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body.to_string().contains("candidate.invited"),
        "{:?}",
        r.body
    );

    // Someone else's endpoint does not exist for another recruiter.
    let y = app.signed_in_recruiter().await;
    let empty = app.get("/api/v1/webhooks", Some(&y)).await;
    assert_eq!(empty.body, json!([]));
    let path = format!("/api/v1/webhooks/{id}");
    assert_eq!(app.get(&path, Some(&y)).await.status, StatusCode::NOT_FOUND);
    let r = app
        .patch_json(&path, &json!({"enabled": false}), Some(&y))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.delete(&path, Some(&y)).await.status,
        StatusCode::NOT_FOUND
    );
    for action in ["rotate-secret", "test"] {
        let r = app
            .post_json(&format!("{path}/{action}"), &json!({}), Some(&y))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{action}");
    }
    let r = app.get(&format!("{path}/deliveries"), Some(&y)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let ping = app.send_test_event(&x, &id).await;
    let r = app
        .post_json(
            &format!("{path}/deliveries/{ping}/redeliver"),
            &json!({}),
            Some(&y),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .post_json(
            &format!("{path}/deliveries/msg_unknown/redeliver"),
            &json!({}),
            Some(&x),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The owner edits, disables (no test events then) and deletes it.
    let r = app
        .patch_json(
            &path,
            &json!({"description": "Renamed", "enabled": false, "events": ["invite.expired"]}),
            Some(&x),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        (
            &r.body["description"],
            &r.body["enabled"],
            &r.body["events"]
        ),
        (&json!("Renamed"), &json!(false), &json!(["invite.expired"]))
    );
    let r = app
        .patch_json(&path, &json!({"url": "gopher://x"}), Some(&x))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app
        .post_json(&format!("{path}/test"), &json!({}), Some(&x))
        .await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::CONFLICT, "webhook_disabled")
    );
    assert_eq!(
        app.delete(&path, Some(&x)).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get(&path, Some(&x)).await.status, StatusCode::NOT_FOUND);

    // With private addresses not allowed (the default), a loopback URL is refused when saved.
    let Some(strict) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    let x = strict.signed_in_recruiter().await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://[::1]/",
    ] {
        let r = strict
            .post_json(
                "/api/v1/webhooks",
                &json!({"url": url, "events": ALL_EVENTS}),
                Some(&x),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{url}");
        assert!(
            r.body.to_string().contains("webhook_allow_private"),
            "{:?}",
            r.body
        );
    }
    // An endpoint saved while private addresses were allowed is refused at delivery, before
    // connecting: the check is on the addresses the host resolves to.
    let receiver = Receiver::start();
    let me = strict.get("/api/v1/auth/me", Some(&x)).await;
    let now = viva::db::now();
    let row = viva::db::webhooks::EndpointRow {
        id: "saved-before".into(),
        owner_id: me.body["id"].as_str().expect("id").into(),
        url: format!("http://localhost:{}/hook", receiver.port),
        description: String::new(),
        events: json!(ALL_EVENTS).to_string(),
        enabled: true,
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
        previous_secret: None,
        previous_secret_until: None,
        created_at: now,
        updated_at: now,
    };
    let mut conn = strict.pool().get().await.expect("connection");
    viva::db::webhooks::insert_endpoint(&mut conn, &row)
        .await
        .expect("insert");
    drop(conn);
    let id = strict.send_test_event(&x, "saved-before").await;
    let refused = strict
        .delivery_until(&x, "saved-before", &id, |d| !attempts(d).is_empty())
        .await;
    let attempt = &attempts(&refused)[0];
    assert!(attempt["status_code"].is_null());
    assert!(
        attempt["error"]
            .as_str()
            .is_some_and(|e| e.contains("webhook_allow_private")),
        "{attempt}"
    );
    assert!(
        receiver.received().is_empty(),
        "nothing reached the receiver"
    );
}

async fn hiring_events_arrive_signed_for_the_jobs_owner_only(backend: Backend) {
    let Some(app) = spawn_app_with(backend, quick).await else {
        return;
    };
    let receiver = Receiver::start();
    let x = app.signed_in_recruiter().await;
    let (endpoint, secret) = app
        .new_endpoint(&x, &receiver.url("/hooks/viva"), &ALL_EVENTS)
        .await;
    receiver.set_secrets(&[&secret]);
    // A second endpoint of the same recruiter that only wants completions gets none of these.
    let (completions_only, _) = app
        .new_endpoint(&x, &receiver.url("/other"), &["interview.completed"])
        .await;
    let job = new_job(&app, &x, job_body("Backend engineer")).await;
    let job_id = job["id"].as_str().expect("id");

    // Another recruiter's candidate: nothing for this recruiter's endpoints.
    let y = app.signed_in_recruiter().await;
    let other_job = new_job(&app, &y, job_body("Other job")).await;
    let other_job_id = other_job["id"].as_str().expect("id");
    invite(&app, &y, other_job_id, person("Zed Other")).await;

    let (ann, _) = invite(&app, &x, job_id, person("Ann Lee")).await;
    let ann_interview = ann["candidate"]["interview_id"].as_str().expect("id");
    let r = app
        .post_json(
            &format!("/api/v1/interviews/{ann_interview}/invites"),
            &json!({}),
            Some(&x),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "a new link: {:?}", r.body);
    let ping = app.send_test_event(&x, &endpoint).await;

    let received = receiver.arrived(3).await;
    assert_eq!(received.len(), 3, "{received:?}");
    for message in &received {
        assert_eq!(message.path, "/hooks/viva");
        assert_eq!(
            message.verified_by,
            vec![0],
            "signed with the secret: {message:?}"
        );
        assert_eq!(message.content_type, "application/json");
        assert!(message.id.starts_with("msg_"), "{}", message.id);
        assert!(message.timestamp.parse::<i64>().is_ok(), "unix seconds");
        let body = message.json();
        assert!(body["timestamp"].is_string(), "{body}");
        assert_ne!(body["data"]["job"]["id"], other_job_id, "{body}");
    }
    // In the order they happened.
    let types: Vec<Value> = received.iter().map(|m| m.json()["type"].clone()).collect();
    assert_eq!(
        types,
        vec![
            json!("candidate.invited"),
            json!("candidate.invited"),
            json!("ping")
        ]
    );
    let invited = received[0].json();
    assert_eq!(
        invited["data"]["job"],
        json!({"id": job_id, "title": "Backend engineer"})
    );
    assert_eq!(invited["data"]["candidate"]["name"], "Ann Lee");
    assert_eq!(invited["data"]["candidate"]["email"], "ann.lee@example.com");
    assert_eq!(invited["data"]["interview_id"], ann_interview);
    assert!(invited["data"]["invite"]["expires_at"].is_string());
    assert!(
        !received[0].body.contains("/i/"),
        "the invite link (a bearer token) stays out of the payload"
    );
    assert_eq!(received[2].id, ping, "the webhook-id is the delivery's id");
    assert_eq!(received[2].json()["data"]["endpoint_id"], endpoint);
    assert_eq!(
        app.deliveries(&x, &completions_only).await,
        Vec::<Value>::new()
    );

    // The candidate's links run out: the sweep expires the interview and says so, once.
    let mut conn = app.pool().get().await.expect("connection");
    crate::hiring::backdate_invites(&mut conn, ann_interview).await;
    drop(conn);
    let received = receiver.arrived(4).await;
    assert_eq!(received.len(), 4, "{received:?}");
    let expired = received[3].json();
    assert_eq!(expired["type"], "invite.expired");
    assert_eq!(expired["data"]["interview_id"], ann_interview);
    assert_eq!(received[3].verified_by, vec![0]);
    let candidates = app
        .get(&format!("/api/v1/jobs/{job_id}/candidates"), Some(&x))
        .await;
    assert_eq!(candidates.body[0]["status"], "expired");

    // The log lists each with its 2xx attempt; the outbox is empty in /metrics' count.
    let log = app.deliveries(&x, &endpoint).await;
    assert_eq!(log.len(), 4);
    let mut log_ok = false;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !log_ok && Instant::now() < deadline {
        let log = app.deliveries(&x, &endpoint).await;
        log_ok = log.iter().all(|d| {
            delivered(d) && attempts(d).len() == 1 && attempts(d)[0]["status_code"] == 200
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(log_ok, "{:?}", app.deliveries(&x, &endpoint).await);
    // A later sweep announces nothing more.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(receiver.received().len(), 4);
}

async fn a_receiver_that_is_down_gets_the_message_when_it_comes_back(backend: Backend) {
    let Some(app) = spawn_app_with(backend, quick).await else {
        return;
    };
    let port = closed_port();
    let x = app.signed_in_recruiter().await;
    let url = format!("http://127.0.0.1:{port}/hook");
    let (endpoint, secret) = app.new_endpoint(&x, &url, &ALL_EVENTS).await;
    let first = app.send_test_event(&x, &endpoint).await;
    let second = app.send_test_event(&x, &endpoint).await;

    // Nothing listens: attempts fail with no status, and the message waits its turn.
    let failing = app
        .delivery_until(&x, &endpoint, &first, |d| attempts(d).len() >= 2)
        .await;
    assert_eq!(failing["status"], "pending");
    assert!(failing["next_attempt_at"].is_string());
    for attempt in attempts(&failing) {
        assert!(attempt["status_code"].is_null(), "{attempt}");
        assert!(
            attempt["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{attempt}"
        );
    }
    let log = app.deliveries(&x, &endpoint).await;
    let later = log.iter().find(|d| d["id"] == second).expect("second");
    assert_eq!(
        attempts(later).len(),
        0,
        "an endpoint's messages go in order: the second waits for the first"
    );

    let receiver = Receiver::start_on(port);
    receiver.set_secrets(&[&secret]);
    let received = receiver.arrived(2).await;
    assert_eq!(received.len(), 2, "{received:?}");
    assert_eq!(
        (received[0].id.as_str(), received[1].id.as_str()),
        (first.as_str(), second.as_str()),
        "in order, each with its own webhook-id"
    );
    assert!(received.iter().all(|m| m.verified_by == vec![0]));
    let done = app.delivery_until(&x, &endpoint, &first, delivered).await;
    let tries = attempts(&done);
    assert!(tries.len() >= 3, "{done}");
    let (last, failed) = tries.split_last().expect("attempts");
    assert_eq!(last["status_code"], 200);
    assert!(failed.iter().all(|a| a["status_code"].is_null()));
    let numbers: Vec<i64> = tries.iter().filter_map(|a| a["attempt"].as_i64()).collect();
    assert_eq!(numbers, (1..=tries.len() as i64).collect::<Vec<_>>());
}

async fn a_failing_receiver_is_retried_then_given_up_and_redelivered(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        quick(s);
        s.webhook_max_attempts = 3;
        s.metrics_token = Some(secrecy::SecretString::from(METRICS_TOKEN));
    })
    .await
    else {
        return;
    };
    let receiver = Receiver::start();
    let x = app.signed_in_recruiter().await;
    let (endpoint, secret) = app
        .new_endpoint(&x, &receiver.url("/hook"), &ALL_EVENTS)
        .await;
    receiver.set_secrets(&[&secret]);

    // Two 500s, then 200: the third attempt delivers it, with the same webhook-id each time.
    receiver.fail_next(2, 500);
    let id = app.send_test_event(&x, &endpoint).await;
    let done = app.delivery_until(&x, &endpoint, &id, delivered).await;
    let codes: Vec<Value> = attempts(&done)
        .iter()
        .map(|a| a["status_code"].clone())
        .collect();
    assert_eq!(codes, vec![json!(500), json!(500), json!(200)]);
    let received = receiver.received();
    assert_eq!(received.len(), 3);
    assert!(received
        .iter()
        .all(|m| m.id == id && m.verified_by == vec![0]));
    assert!(attempts(&done)
        .iter()
        .all(|a| a["duration_ms"].is_i64() && a["at"].is_string()));

    // Three failures in a row: given up (webhook_max_attempts = 3).
    receiver.fail_next(3, 503);
    let lost = app.send_test_event(&x, &endpoint).await;
    let failed = app
        .delivery_until(&x, &endpoint, &lost, |d| d["status"] == "failed")
        .await;
    assert_eq!(attempts(&failed).len(), 3);
    assert!(failed["next_attempt_at"].is_null());

    // Redelivered by hand: a fresh round, the same webhook-id, the attempts numbered on.
    let r = app
        .post_json(
            &format!("/api/v1/webhooks/{endpoint}/deliveries/{lost}/redeliver"),
            &json!({}),
            Some(&x),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let redone = app.delivery_until(&x, &endpoint, &lost, delivered).await;
    let tries = attempts(&redone);
    assert_eq!(tries.len(), 4);
    assert_eq!(
        (&tries[3]["attempt"], &tries[3]["status_code"]),
        (&json!(4), &json!(200))
    );
    let last = receiver.received().pop().expect("a request");
    assert_eq!(
        (last.id.as_str(), &last.verified_by),
        (lost.as_str(), &vec![0])
    );

    // A delivered message can be sent again too.
    let r = app
        .post_json(
            &format!("/api/v1/webhooks/{endpoint}/deliveries/{id}/redeliver"),
            &json!({}),
            Some(&x),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let received = receiver.arrived(8).await;
    assert_eq!(received.len(), 8, "{received:?}");
    assert_eq!(received[7].id, id);

    // /metrics counts the attempts by outcome, and the outbox is empty again.
    let expected = [
        "viva_webhook_delivery_attempts_total{outcome=\"delivered\"} 3",
        "viva_webhook_delivery_attempts_total{outcome=\"retrying\"} 4",
        "viva_webhook_delivery_attempts_total{outcome=\"failed\"} 1",
        "viva_webhook_outbox_pending 0",
    ];
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let req = TestApp::client()
            .get(app.url("/metrics"))
            .insert_header(("authorization", format!("Bearer {METRICS_TOKEN}")));
        let metrics = String::from_utf8_lossy(&app.send(req, None).await.raw).into_owned();
        if expected
            .iter()
            .all(|line| metrics.lines().any(|l| l == *line))
        {
            break;
        }
        assert!(Instant::now() < deadline, "{metrics}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn a_rotated_secret_signs_beside_the_old_one_during_the_grace(backend: Backend) {
    let Some(app) = spawn_app_with(backend, quick).await else {
        return;
    };
    let receiver = Receiver::start();
    let x = app.signed_in_recruiter().await;
    let (endpoint, old) = app
        .new_endpoint(&x, &receiver.url("/hook"), &ALL_EVENTS)
        .await;
    let r = app
        .post_json(
            &format!("/api/v1/webhooks/{endpoint}/rotate-secret"),
            &json!({}),
            Some(&x),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let new = r.body["secret"].as_str().expect("secret").to_owned();
    assert_ne!(new, old);
    assert!(r.body["previous_secret_expires_at"].is_string());
    let shown = app
        .get(&format!("/api/v1/webhooks/{endpoint}"), Some(&x))
        .await;
    assert_eq!(
        shown.body["previous_secret_expires_at"],
        r.body["previous_secret_expires_at"]
    );

    receiver.set_secrets(&[&old, &new]);
    app.send_test_event(&x, &endpoint).await;
    let received = receiver.arrived(1).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].signature.split(' ').count(), 2, "{received:?}");
    assert_eq!(received[0].verified_by, vec![0, 1], "both secrets verify");

    // Once the grace period is over, only the new secret signs.
    let mut conn = app.pool().get().await.expect("connection");
    end_grace(&mut conn, &endpoint).await;
    drop(conn);
    app.send_test_event(&x, &endpoint).await;
    let received = receiver.arrived(2).await;
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].signature.split(' ').count(), 1);
    assert_eq!(received[1].verified_by, vec![1], "only the new secret");
    let shown = app
        .get(&format!("/api/v1/webhooks/{endpoint}"), Some(&x))
        .await;
    assert!(shown.body["previous_secret_expires_at"].is_null());
}

/// Moves the end of the endpoint's rotation grace period into the past.
async fn end_grace(conn: &mut viva::db::DbConn, endpoint: &str) {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use viva::db::schema::webhook_endpoints;
    let past = viva::db::now() - chrono::Duration::seconds(1);
    let result: Result<usize, diesel::result::Error> = viva::db_run!(conn, {
        diesel::update(webhook_endpoints::table.find(endpoint))
            .set(webhook_endpoints::previous_secret_until.eq(Some(past)))
            .execute(conn)
            .await
    });
    assert_eq!(result.expect("end the grace period"), 1);
}

/// Sets the message's lease and makes it due now (as a worker that claimed it would leave it).
async fn hold(conn: &mut viva::db::DbConn, message: &str, until: chrono::NaiveDateTime) {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use viva::db::schema::webhook_messages;
    let result: Result<usize, diesel::result::Error> = viva::db_run!(conn, {
        diesel::update(webhook_messages::table.find(message))
            .set((
                webhook_messages::leased_until.eq(Some(until)),
                webhook_messages::next_attempt_at.eq(viva::db::now()),
            ))
            .execute(conn)
            .await
    });
    assert_eq!(result.expect("hold the message"), 1);
}

async fn a_message_held_by_a_dead_worker_is_sent_once_its_lease_runs_out(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        quick(s);
        // After its first failure the message waits: nothing but the lease decides below.
        s.webhook_retry_base = Duration::from_secs(3600);
        s.webhook_retry_max = Duration::from_secs(3600);
    })
    .await
    else {
        return;
    };
    let port = closed_port();
    let x = app.signed_in_recruiter().await;
    let url = format!("http://127.0.0.1:{port}/hook");
    let (endpoint, secret) = app.new_endpoint(&x, &url, &ALL_EVENTS).await;
    let id = app.send_test_event(&x, &endpoint).await;
    app.delivery_until(&x, &endpoint, &id, |d| attempts(d).len() == 1)
        .await;
    let receiver = Receiver::start_on(port);
    receiver.set_secrets(&[&secret]);

    // Due, but claimed by a worker (another node, or this one before a crash) for an hour.
    let mut conn = app.pool().get().await.expect("connection");
    let hour = chrono::Duration::hours(1);
    hold(&mut conn, &id, viva::db::now() + hour).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        receiver.received().is_empty(),
        "a held message is left alone"
    );

    // Its lease ran out (the worker died): taken again and delivered.
    hold(
        &mut conn,
        &id,
        viva::db::now() - chrono::Duration::seconds(1),
    )
    .await;
    drop(conn);
    let received = receiver.arrived(1).await;
    assert_eq!(received.len(), 1);
    assert_eq!(
        (received[0].id.as_str(), &received[0].verified_by),
        (id.as_str(), &vec![0])
    );
    let done = app.delivery_until(&x, &endpoint, &id, delivered).await;
    assert_eq!(attempts(&done).len(), 2);
}

/// A server of this test's own (not a `TestApp`: the test stops it and waits for its worker).
struct Node {
    address: String,
    handle: actix_web::dev::ServerHandle,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Node {
    async fn start(settings: Settings) -> Self {
        let app = Application::build_with_engines(settings, None)
            .await
            .expect("app starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        let handle = app.handle();
        let served = actix_web::rt::spawn(app.run_until_stopped());
        Self {
            address,
            handle,
            served,
        }
    }

    /// Stops the server and its delivery worker, and waits until both have.
    async fn stop(self) {
        self.handle.stop(true).await;
        let _ = self.served.await;
    }

    async fn post(&self, path: &str, body: &Value, cookie: Option<&str>) -> Reply {
        let mut req = TestApp::client()
            .post(format!("{}{path}", self.address))
            .insert_header(("content-type", "application/json"));
        if let Some(cookie) = cookie {
            req = req.insert_header(("cookie", cookie));
        }
        send_request(req, Some(body.to_string().into_bytes())).await
    }

    async fn get(&self, path: &str, cookie: &str) -> Reply {
        let req = TestApp::client()
            .get(format!("{}{path}", self.address))
            .insert_header(("cookie", cookie));
        send_request(req, None).await
    }
}

async fn a_restarted_server_delivers_what_the_stopped_one_left(backend: Backend) {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings(data_dir.path());
    quick(&mut settings);
    // Retries far apart: the stopped server must not get there first.
    settings.webhook_retry_base = Duration::from_secs(1);
    settings.webhook_retry_max = Duration::from_secs(1);
    let _postgres = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => {
            let Some(admin) = postgres_admin_url() else {
                loud("SKIPPED: Postgres variant not run; set VIVA_TEST_POSTGRES_URL");
                return;
            };
            let db = PostgresTestDb::create(&admin).await;
            settings.database_url = Some(viva::db::DatabaseUrl::parse(&db.url).expect("url"));
            Some(db)
        }
    };
    let first = Node::start(settings.clone()).await;

    let email = crate::helpers::unique_email();
    let r = first
        .post(
            "/api/v1/auth/register",
            &json!({"email": email, "password": STRONG_PASSWORD, "display_name": "Rex"}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let user_id = r.body["id"].as_str().expect("id").to_owned();
    let pool = DbPool::connect(
        &settings.database(),
        &PoolOptions {
            max_size: 1,
            timeout: Duration::from_secs(5),
        },
    )
    .expect("pool");
    let mut conn = pool.get().await.expect("connection");
    viva::db::users::set_role(&mut conn, &user_id.into(), viva::domain::Role::Recruiter)
        .await
        .expect("promote");
    drop(conn);
    let r = first
        .post(
            "/api/v1/auth/login",
            &json!({"email": email, "password": STRONG_PASSWORD}),
            None,
        )
        .await;
    let cookie = r.session_cookie().expect("cookie");

    let port = closed_port();
    let r = first
        .post(
            "/api/v1/webhooks",
            &json!({"url": format!("http://127.0.0.1:{port}/hook"), "events": ALL_EVENTS}),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let endpoint = r.body["id"].as_str().expect("id").to_owned();
    let secret = r.body["secret"].as_str().expect("secret").to_owned();
    let r = first
        .post(
            &format!("/api/v1/webhooks/{endpoint}/test"),
            &json!({}),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let id = r.body["delivery_id"].as_str().expect("id").to_owned();
    // One failed attempt (nothing listens), then the server stops.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let log = first
            .get(&format!("/api/v1/webhooks/{endpoint}/deliveries"), &cookie)
            .await;
        if attempts(&log.body[0]).len() == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "no attempt: {:?}", log.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.stop().await;

    let receiver = Receiver::start_on(port);
    receiver.set_secrets(&[&secret]);
    let second = Node::start(settings.clone()).await;
    let received = receiver.arrived(1).await;
    assert_eq!(received.len(), 1, "the restarted server delivered it");
    assert_eq!(received[0].id, id);
    assert_eq!(received[0].verified_by, vec![0]);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let log = second
            .get(&format!("/api/v1/webhooks/{endpoint}/deliveries"), &cookie)
            .await;
        let delivery = &log.body[0];
        if delivered(delivery) {
            let tries = attempts(delivery);
            let (last, failed) = tries.split_last().expect("attempts");
            assert!(!failed.is_empty(), "{delivery}");
            assert!(failed.iter().all(|a| a["status_code"].is_null()));
            assert_eq!(last["status_code"], 200);
            break;
        }
        assert!(Instant::now() < deadline, "not delivered: {delivery}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    second.stop().await;
}

/// The live side with the real models: a candidate starts and finishes; the recruiter's
/// endpoint gets `interview.started`, then `interview.completed` carrying the report.
async fn interviews_announce_their_start_and_completion_with_the_report(backend: Backend) {
    let Some(app) = spawn_live_app(backend, quick).await else {
        return;
    };
    let receiver = Receiver::start();
    let x = app.signed_in_recruiter().await;
    let (_, secret) = app
        .new_endpoint(
            &x,
            &receiver.url("/hook"),
            &["interview.started", "interview.completed"],
        )
        .await;
    receiver.set_secrets(&[&secret]);
    let mut body = job_body("Backend engineer");
    body["question_count"] = json!(1);
    let job = new_job(&app, &x, body).await;
    let job_id = job["id"].as_str().expect("id");
    let (candidate, token) = invite(&app, &x, job_id, person("Ann Lee")).await;
    let id = candidate["candidate"]["interview_id"]
        .as_str()
        .expect("id")
        .to_owned();

    let mut live = Live::connect_with_token(&app, &id, &token).await;
    live.until("ready").await;
    live.start().await;
    live.send_json(json!({"type": "text", "text": "I don't know."}))
        .await;
    live.until("ended").await;

    let received = receiver.arrived(2).await;
    assert_eq!(received.len(), 2, "{received:?}");
    assert!(received.iter().all(|m| m.verified_by == vec![0]));
    let started = received[0].json();
    assert_eq!(started["type"], "interview.started");
    assert_eq!(started["data"]["interview_id"], id.as_str());
    assert_eq!(started["data"]["candidate"]["name"], "Ann Lee");
    assert!(started["data"]["started_at"].is_string());
    let completed = received[1].json();
    assert_eq!(completed["type"], "interview.completed");
    assert_eq!(completed["data"]["job"]["id"], job_id);
    assert!(completed["data"]["completed_at"].is_string(), "{completed}");
    let report = &completed["data"]["report"];
    assert_eq!(report["questions_planned"], 1, "{completed}");
    let api_report = app
        .get(&format!("/api/v1/interviews/{id}/report"), Some(&x))
        .await;
    assert_eq!(
        report["overall"], api_report.body["overall"],
        "the report the API shows"
    );
    assert_eq!(completed["data"]["score"], api_report.body["overall"]);
}
