//! Several nodes as a deployment runs them: two real `viva` processes on one PostgreSQL and one
//! Redis, behind a real nginx serving the shipped site (`deploy/nginx/viva.conf`). A candidate's
//! interview goes through nginx; its node is killed with SIGKILL mid-interview and the client,
//! reconnecting through nginx as the page does, lands on the other node and goes on; the dead
//! node comes back, and the node now holding the interview is drained with SIGTERM and hands it
//! over. Every acknowledged message is stored exactly once.
//!
//! The failover times it prints are the README's numbers ("Running several nodes").

use std::time::{Duration, Instant};

use awc::http::StatusCode;
use serde_json::{json, Value};

use crate::faults::{acknowledged_messages, assert_all_present, ServerProcess};
use crate::helpers::{
    loud, postgres_admin_url, redis_test_url, send_request, PostgresTestDb, Reply, TestApp,
    STRONG_PASSWORD,
};
use crate::live::{Live, Next};
use crate::support::nginx::Nginx;

/// Short, so the test waits little for a dead node's lease (the default is 15 s).
const LEASE: &str = "3s";

const ANSWERS: [&str; 3] = [
    "I split a monolith's reporting queries onto a read replica, measured the lag we could \
     tolerate with the finance team, and moved the heaviest dashboards first.",
    "We rolled it out behind a flag to five percent of customers, watched the error rate and \
     replica lag for a week, then went to everyone.",
    "The biggest lesson was to agree on what stale data means with the people who read it \
     before changing anything.",
];

/// The deployment: nodes by name, the database and Redis they share, nginx in front.
struct Deployment {
    scratch: tempfile::TempDir,
    database: PostgresTestDb,
    redis_url: String,
    secret_key: String,
    nodes: Vec<(&'static str, ServerProcess)>,
}

impl Deployment {
    /// `None` after a loud SKIPPED line when PostgreSQL or Redis is not configured.
    async fn new() -> Option<Self> {
        let (Some(admin_url), Some(redis_url)) = (postgres_admin_url(), redis_test_url()) else {
            loud("SKIPPED: failover test not run; set VIVA_TEST_POSTGRES_URL and VIVA_TEST_REDIS_URL");
            return None;
        };
        Some(Self {
            scratch: tempfile::tempdir().expect("temp dir"),
            database: PostgresTestDb::create(&admin_url).await,
            redis_url,
            secret_key: hex::encode(rand::random::<[u8; 32]>())
                + &hex::encode(rand::random::<[u8; 32]>()),
            nodes: Vec::new(),
        })
    }

    /// Starts node `name` (on `port`, or a free one); `false` when the models cannot be had.
    fn start(&mut self, name: &'static str, port: Option<u16>) -> bool {
        let data_dir = self.scratch.path().join(name);
        let bind = format!("127.0.0.1:{}", port.unwrap_or(0));
        let log = self
            .scratch
            .path()
            .join(format!("{name}-{}.log", self.nodes.len()));
        let env = [
            ("VIVA_DATABASE_URL", self.database.url.as_str()),
            ("VIVA_SESSION_STORE", "redis"),
            ("VIVA_REDIS_URL", self.redis_url.as_str()),
            ("VIVA_SECRET_KEY", self.secret_key.as_str()),
            ("VIVA_NODE_NAME", name),
            ("VIVA_INTERVIEW_LEASE", LEASE),
            ("VIVA_BIND", bind.as_str()),
        ];
        let Some(node) = ServerProcess::start_with(&data_dir, log, &env) else {
            return false;
        };
        self.nodes.retain(|(n, _)| *n != name);
        self.nodes.push((name, node));
        true
    }

    fn node(&mut self, name: &str) -> &mut ServerProcess {
        &mut self
            .nodes
            .iter_mut()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("no node {name}"))
            .1
    }

    /// The node whose `/readyz` counts one live interview (a dead node does not answer).
    async fn owner(&self) -> &'static str {
        for _ in 0..100 {
            for (name, node) in &self.nodes {
                let ready = TestApp::client().get(node.url("/readyz")).send().await.ok();
                let body = match ready {
                    Some(mut ready) => ready.json::<Value>().await.unwrap_or_default(),
                    None => continue,
                };
                if body["live_interviews"] == 1 {
                    return name;
                }
            }
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no node holds the interview; logs:\n{}", self.logs());
    }

    fn logs(&self) -> String {
        self.nodes
            .iter()
            .map(|(name, node)| format!("--- node {name}:\n{}", node.log_text()))
            .collect()
    }
}

async fn get(port: u16, path: &str, cookie: Option<&str>) -> Reply {
    let mut req = TestApp::client().get(format!("http://127.0.0.1:{port}{path}"));
    if let Some(cookie) = cookie {
        req = req.insert_header(("cookie", cookie));
    }
    send_request(req, None).await
}

async fn post(port: u16, path: &str, body: &Value, cookie: Option<&str>) -> Reply {
    let mut req = TestApp::client()
        .post(format!("http://127.0.0.1:{port}{path}"))
        .insert_header(("content-type", "application/json"));
    if let Some(cookie) = cookie {
        req = req.insert_header(("cookie", cookie));
    }
    send_request(req, Some(body.to_string().into_bytes())).await
}

/// Connects through `port` as the page does after losing its connection: again and again
/// while the interview is held by a node that is gone (close code 4003) or shutting down,
/// until a node serves it. Returns the connection and its `ready`.
async fn reconnect(port: u16, id: &str, cookie: &str, log: impl Fn() -> String) -> (Live, Value) {
    for _ in 0..120 {
        if let Some(mut live) = Live::try_connect_to(port, id, cookie).await {
            match live.next().await {
                Next::Event(event) if event["type"] == "ready" => return (live, event),
                Next::Event(event) if event["code"] == "held_elsewhere" => {}
                Next::Event(event) => panic!("unexpected first event {event}\n{}", log()),
                Next::Closed(_) => {}
            }
        }
        actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("no node took the interview over; logs:\n{}", log());
}

/// Answers and waits for the reply (both acknowledged).
async fn answer(live: &mut Live, text: &str) {
    live.send_json(json!({"type": "text", "text": text})).await;
    let (transcript, _) = live.until("transcript").await;
    assert_eq!(transcript["message"]["text"], text);
    live.until_listening().await;
}

#[actix_web::test]
async fn an_interview_survives_its_node_being_killed_and_drained() {
    let Some(mut deployment) = Deployment::new().await else {
        return;
    };
    if !deployment.start("a", None) || !deployment.start("b", None) {
        return;
    }
    let ports = [deployment.node("a").port, deployment.node("b").port];
    let Some(nginx) = Nginx::start(&ports) else {
        return;
    };
    let lb = nginx.port;

    let email = crate::helpers::unique_email();
    let r = post(
        lb,
        "/api/v1/auth/register",
        &json!({"email": email, "password": STRONG_PASSWORD, "display_name": "Failover Test"}),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let r = post(
        lb,
        "/api/v1/auth/login",
        &json!({"email": email, "password": STRONG_PASSWORD}),
        None,
    )
    .await;
    let cookie = r.session_cookie().expect("login sets a session cookie");
    let r = post(
        lb,
        "/api/v1/interviews",
        &json!({"interview_type": "behavioral", "skills": [], "difficulty": "medium",
                "question_count": 5, "time_limit_minutes": 30}),
        Some(&cookie),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_str().expect("id").to_owned();

    // Through nginx: start and answer once.
    let mut live = Live::connect_to(lb, &id, &cookie).await;
    live.until("ready").await;
    live.start().await;
    answer(&mut live, ANSWERS[0]).await;
    let mut acknowledged = acknowledged_messages(&live.seen);

    // The owner dies mid-interview.
    let first_owner = deployment.owner().await;
    deployment.node(first_owner).kill();
    let killed_at = Instant::now();
    drop(live);
    let (mut live, ready) = reconnect(lb, &id, &cookie, || deployment_logs(&deployment)).await;
    let failover = killed_at.elapsed();
    loud(&format!(
        "failover: SIGKILL of the owner to the interview ready on the other node: {:.1} s \
         (lease {LEASE})",
        failover.as_secs_f64()
    ));
    let history = ready["interview"]["messages"].as_array().expect("messages");
    assert_all_present(&acknowledged, history, &deployment_logs(&deployment));
    let second_owner = deployment.owner().await;
    assert_ne!(second_owner, first_owner);
    live.send_json(json!({"type": "start"})).await;
    let (state, _) = live.until("state").await;
    assert_eq!(state["state"], "listening", "{state}");
    answer(&mut live, ANSWERS[1]).await;
    acknowledged.extend(acknowledged_messages(&live.seen));

    // The dead node comes back on its port, under its name.
    let port = ports[usize::from(first_owner == "b")];
    assert!(
        deployment.start(first_owner, Some(port)),
        "the node restarts"
    );
    // nginx (passive health checks) sends it requests again once its fail_timeout has passed.
    let mut back = false;
    for _ in 0..300 {
        let ready = TestApp::client()
            .get(format!("http://127.0.0.1:{lb}/readyz"))
            .send()
            .await;
        if let Ok(mut ready) = ready {
            if ready.json::<Value>().await.unwrap_or_default()["node"] == first_owner {
                back = true;
                break;
            }
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        back,
        "nginx never sent a request to the restarted node: {}",
        nginx.log_text()
    );

    // The owner is asked to stop: it takes no new interview, the live one goes on...
    deployment.node(second_owner).terminate();
    let owner_port = deployment.node(second_owner).port;
    let mut draining = Value::Null;
    for _ in 0..100 {
        let r = get(owner_port, "/readyz", None).await;
        if r.status == StatusCode::SERVICE_UNAVAILABLE {
            draining = r.body;
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(draining["status"], "draining", "{draining}");
    let r = get(
        owner_port,
        &format!("/api/v1/interviews/{id}"),
        Some(&cookie),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "a draining node still serves requests"
    );
    live.send_json(json!({"type": "no_such_message"})).await;
    let (error, _) = live.until("error").await;
    assert_eq!(
        error["code"], "invalid_message",
        "the live interview is still served"
    );

    // ...until a second signal hands it over: the client is told to reconnect at once, and
    // the restarted node takes the released lease without waiting for it to run out.
    deployment.node(second_owner).terminate();
    let handed_at = Instant::now();
    let (error, _) = live.until("error").await;
    assert_eq!(error["code"], "draining", "{error}");
    match live.next().await {
        Next::Closed(code) => assert_eq!(code, Some(1012)),
        Next::Event(event) => panic!("still open after the hand-over: {event}"),
    }
    let (mut live, ready) = reconnect(lb, &id, &cookie, || deployment_logs(&deployment)).await;
    let handover = handed_at.elapsed();
    loud(&format!(
        "failover: second SIGTERM (hand-over) to the interview ready on another node: {:.1} s",
        handover.as_secs_f64()
    ));
    let history = ready["interview"]["messages"].as_array().expect("messages");
    assert_all_present(&acknowledged, history, &deployment_logs(&deployment));
    assert_eq!(deployment.owner().await, first_owner);
    let exit = deployment
        .node(second_owner)
        .exits_within(Duration::from_secs(60))
        .expect("the drained node exits");
    assert!(exit.success(), "a drained node exits cleanly: {exit:?}");

    live.send_json(json!({"type": "start"})).await;
    live.until("state").await;
    answer(&mut live, ANSWERS[2]).await;
    acknowledged.extend(acknowledged_messages(&live.seen));
    live.send_json(json!({"type": "finish"})).await;
    live.until("ended").await;

    // From the node that runs it now (nginx may still be checking whether that node is back:
    // with passive health checks, the long-lived WebSocket it let through is that check).
    let owner_port = deployment.node(first_owner).port;
    let stored = get(
        owner_port,
        &format!("/api/v1/interviews/{id}"),
        Some(&cookie),
    )
    .await;
    assert_eq!(stored.status, StatusCode::OK, "{:?}", stored.body);
    assert_eq!(stored.body["status"], "completed");
    let messages = stored.body["messages"].as_array().expect("messages");
    assert_all_present(&acknowledged, messages, &deployment_logs(&deployment));
    assert_stored_once(&acknowledged, messages);
    drop(nginx);
}

fn deployment_logs(deployment: &Deployment) -> String {
    deployment.logs()
}

/// Each acknowledged answer is stored once (not again under another id by the node that took
/// over), and no message id twice.
fn assert_stored_once(acknowledged: &[Value], stored: &[Value]) {
    for message in acknowledged.iter().filter(|m| m["role"] == "candidate") {
        let copies = stored
            .iter()
            .filter(|m| m["role"] == message["role"] && m["text"] == message["text"])
            .count();
        assert_eq!(copies, 1, "{message:#}\nstored: {stored:#?}");
    }
    let mut ids: Vec<&str> = stored.iter().filter_map(|m| m["id"].as_str()).collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "message ids are unique");
}
