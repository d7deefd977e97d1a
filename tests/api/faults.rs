//! Faults in the middle of a live interview, with the real models:
//! - the real `viva` binary killed with SIGKILL (after an answer was acknowledged, and while a
//!   reply streams), then started again on the same data directory;
//! - a private PostgreSQL cluster stopped (`-m immediate`) under a running server, then started
//!   again.
//!
//! Either way every message the client saw acknowledged (`transcript`, `reply`) is still there
//! and the interview goes on.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use awc::http::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{send_request, spawn_live_app, Backend, Reply, TestApp, STRONG_PASSWORD};
use crate::live::{Live, Next};
use crate::support;

/// How long a server process may take to load its models and answer (a busy 2-core machine).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(600);

const FIRST_ANSWER: &str = "Last year our checkout service kept timing out during sales, so I \
profiled it, found that every request opened a new database connection, and introduced a \
connection pool with a circuit breaker. Timeouts dropped from five percent to almost zero.";
const SECOND_ANSWER: &str = "We watched the p99 latency dashboards and the error budget for a \
month, and I wrote a runbook so the on-call engineers knew how to tune the pool.";

// ---- the server killed ----------------------------------------------------------------------

/// The real `viva` binary serving `data_dir` (its SQLite file and cookie key) on a free port.
pub(crate) struct ServerProcess {
    child: Child,
    pub(crate) port: u16,
    log: PathBuf,
}

impl ServerProcess {
    /// Starts the binary and waits for its "serving on" line.
    fn start(data_dir: &Path, log: PathBuf) -> Option<Self> {
        Self::start_with(data_dir, log, &[])
    }

    /// [`Self::start`] with `env` set on top (another database, a node name, a fixed port…).
    pub(crate) fn start_with(data_dir: &Path, log: PathBuf, env: &[(&str, &str)]) -> Option<Self> {
        let models = match support::test_models() {
            Ok(models) => models,
            Err(e) => {
                support::unavailable(&format!("the default models: {e}"));
                return None;
            }
        };
        let stderr = std::fs::File::create(&log).expect("create the server's log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_viva"))
            .arg("serve")
            .env("VIVA_DATA_DIR", data_dir)
            .env("VIVA_BIND", "127.0.0.1:0")
            .env("VIVA_FETCH_MODELS", "false")
            .env("VIVA_WHISPER_MODEL", &models.whisper_dir)
            .env("VIVA_LLM_MODEL", &models.llm_file)
            .env("VIVA_ENCODER_MODEL", &models.encoder_dir)
            .env("VIVA_JUDGE_MODEL", "none")
            .env("VIVA_WORKERS", "1")
            .env("VIVA_LOG", "info")
            .env_remove("VIVA_DATABASE_URL")
            .env_remove("DATABASE_URL")
            .env_remove("VIVA_CONFIG")
            .envs(env.iter().copied())
            .current_dir(data_dir.parent().unwrap_or(data_dir))
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("run viva");
        // Read stdout to its end on a thread: the wait for the first line stays bounded, and
        // the server never writes into a closed pipe.
        let stdout = child.stdout.take().expect("stdout");
        let (lines, first_line) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let mut server = Self {
            child,
            port: 0,
            log,
        };
        let line = match first_line.recv_timeout(STARTUP_TIMEOUT) {
            Ok(line) => line,
            Err(_) => panic!(
                "viva printed no startup line within {STARTUP_TIMEOUT:?}; its log:\n{}",
                server.log_text()
            ),
        };
        server.port = line
            .trim()
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("no port in the startup line {line:?}"));
        Some(server)
    }

    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no shutdown code runs.
    pub(crate) fn kill(&mut self) {
        self.child.kill().expect("SIGKILL the server");
        let status = self.child.wait().expect("reap the server");
        assert!(!status.success(), "{status:?}");
    }

    /// SIGTERM: the server drains (README: Running several nodes).
    pub(crate) fn terminate(&self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM: {status:?}");
    }

    /// Waits for the process to exit by itself; `None` when it is still running after `wait`.
    pub(crate) fn exits_within(&mut self, wait: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + wait;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("poll the server") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub(crate) async fn post_json(&self, path: &str, body: &Value, cookie: Option<&str>) -> Reply {
        let mut req = TestApp::client()
            .post(self.url(path))
            .insert_header(("content-type", "application/json"));
        if let Some(cookie) = cookie {
            req = req.insert_header(("cookie", cookie));
        }
        send_request(req, Some(body.to_string().into_bytes())).await
    }

    pub(crate) async fn get(&self, path: &str, cookie: &str) -> Reply {
        send_request(
            TestApp::client()
                .get(self.url(path))
                .insert_header(("cookie", cookie)),
            None,
        )
        .await
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KillWhen {
    /// Right after the answer's `transcript` arrived.
    AnswerAcknowledged,
    /// After the first `reply_delta` of the interviewer's reply to it.
    ReplyStreaming,
}

#[actix_web::test]
async fn a_server_killed_after_an_acknowledged_answer_resumes_with_it() {
    killed_and_restarted(KillWhen::AnswerAcknowledged).await;
}

#[actix_web::test]
async fn a_server_killed_while_a_reply_streams_resumes_the_interview() {
    killed_and_restarted(KillWhen::ReplyStreaming).await;
}

async fn killed_and_restarted(when: KillWhen) {
    let scratch = tempfile::tempdir().expect("temp dir");
    let data_dir = scratch.path().join("data");
    let Some(mut server) = ServerProcess::start(&data_dir, scratch.path().join("first.log")) else {
        return;
    };

    let email = crate::helpers::unique_email();
    let r = server
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": email, "password": STRONG_PASSWORD, "display_name": "Kill Test"}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let r = server
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": email, "password": STRONG_PASSWORD}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let cookie = r.session_cookie().expect("login sets a session cookie");
    let r = server
        .post_json("/api/v1/interviews", &interview_request(), Some(&cookie))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_str().expect("id").to_owned();

    let mut live = Live::connect_to(server.port, &id, &cookie).await;
    live.until("ready").await;
    live.start().await;
    live.send_json(json!({"type": "text", "text": FIRST_ANSWER}))
        .await;
    let (transcript, _) = live.until("transcript").await;
    assert_eq!(transcript["message"]["text"], FIRST_ANSWER);
    if when == KillWhen::ReplyStreaming {
        live.until("reply_delta").await;
    }
    server.kill();
    let acknowledged = acknowledged_messages(&live.seen);
    assert_eq!(acknowledged.len(), 2, "the greeting and the answer");
    drop(live);

    // The same data directory: the same SQLite file and the same cookie key.
    let Some(server) = ServerProcess::start(&data_dir, scratch.path().join("second.log")) else {
        return;
    };
    let mut live = Live::connect_to(server.port, &id, &cookie).await;
    let (ready, _) = live.until("ready").await;
    let history = ready["interview"]["messages"]
        .as_array()
        .expect("messages")
        .clone();
    assert_all_present(&acknowledged, &history, &server.log_text());
    assert_eq!(ready["state"], "listening", "{ready}");

    // As the page does after a reconnect: `start` resumes, and the answer that lost its reply
    // to the kill gets one now (and, after it, its feedback).
    live.send_json(json!({"type": "start"})).await;
    let first_answer = transcript["message"]["id"].clone();
    let reply_was_lost = history.last().is_some_and(|m| m["id"] == first_answer);
    if reply_was_lost {
        let reply = live.until_listening().await;
        assert_eq!(reply["role"], "interviewer", "{reply}");
        assert_eq!(
            reply["question_position"], 1,
            "the reply to the first answer"
        );
    } else {
        let (state, _) = live.until("state").await;
        assert_eq!(state["state"], "listening");
    }

    // A further answer is stored and answered.
    live.send_json(json!({"type": "text", "text": SECOND_ANSWER}))
        .await;
    let (transcript, _) = live.until("transcript").await;
    assert_eq!(transcript["message"]["text"], SECOND_ANSWER);
    let reply = live.until_listening().await;
    assert_eq!(reply["role"], "interviewer", "{reply}");
    let mut assessed = vec![transcript["message"]["id"].clone()];
    if reply_was_lost {
        assessed.push(first_answer);
    }
    wait_for_feedback(&mut live, &assessed).await;

    let stored = server
        .get(&format!("/api/v1/interviews/{id}"), &cookie)
        .await;
    assert_eq!(stored.status, StatusCode::OK, "{:?}", stored.body);
    let mut expected = acknowledged_messages(&live.seen);
    expected.extend(acknowledged);
    assert_all_present(
        &expected,
        stored.body["messages"].as_array().expect("messages"),
        &server.log_text(),
    );
}

// ---- PostgreSQL restarted -------------------------------------------------------------------

/// A PostgreSQL cluster of this test's own (never the shared server other tests use), in a
/// temporary directory, on a free port.
struct PrivateCluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    /// Runs the server binaries as `postgres`: initdb refuses to run as root.
    as_postgres: bool,
}

impl PrivateCluster {
    /// `None` after a loud SKIPPED line (a failure under CI) when the binaries are missing.
    fn start() -> Option<Self> {
        let Some(bin) = postgres_bin_dir() else {
            support::unavailable(
                "PostgreSQL server binaries (/usr/lib/postgresql/*/bin, apt package postgresql) \
                 for the private cluster of the PostgreSQL restart test",
            );
            return None;
        };
        let as_postgres = is_root();
        let dir = tempfile::tempdir().expect("temp dir");
        if as_postgres {
            let owned = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .is_ok_and(|s| s.success());
            if !owned {
                support::unavailable("a `postgres` user to run the private PostgreSQL cluster as");
                return None;
            }
        }
        let free = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = free.local_addr().expect("local address").port();
        drop(free);
        let cluster = Self {
            bin,
            dir,
            port,
            as_postgres,
        };
        let data = cluster.data_dir();
        if let Err(e) = cluster.run(
            "initdb",
            &["-D", &data, "-U", "postgres", "-A", "trust", "--no-sync"],
        ) {
            support::unavailable(&format!("initdb for the private PostgreSQL cluster: {e}"));
            return None;
        }
        cluster.start_server();
        Some(cluster)
    }

    fn data_dir(&self) -> String {
        self.dir.path().join("data").to_string_lossy().into_owned()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn start_server(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log");
        let started = self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data_dir(),
                "-l",
                &log.to_string_lossy(),
                "-o",
                &options,
                "-w",
                "-t",
                "300",
                "start",
            ],
        );
        if let Err(e) = started {
            panic!(
                "the private PostgreSQL cluster did not start: {e}\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
    }

    /// Stops the server at once: its connections die, nothing is shut down cleanly.
    fn stop_immediately(&self) {
        self.run(
            "pg_ctl",
            &["-D", &self.data_dir(), "-m", "immediate", "-w", "stop"],
        )
        .expect("the private PostgreSQL cluster stops");
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let program = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let output = command
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{} failed ({}): {}{}",
                program.display(),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = self.run(
            "pg_ctl",
            &["-D", &self.data_dir(), "-m", "immediate", "-w", "stop"],
        );
    }
}

/// The newest installed PostgreSQL's server binaries.
fn postgres_bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("pg_ctl").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

#[actix_web::test]
async fn postgres_restarted_mid_interview_gives_errors_then_the_interview_continues() {
    let Some(cluster) = PrivateCluster::start().map(std::sync::Arc::new) else {
        return;
    };
    let url = cluster.url();
    // The live app with its database on the private cluster.
    let Some(app) = spawn_live_app(Backend::Sqlite, |s| {
        s.database_url = Some(viva::db::DatabaseUrl::parse(&url).expect("a postgres URL"));
    })
    .await
    else {
        return;
    };
    let (_, cookie) = app.signed_in_user().await;
    let r = app
        .post_json("/api/v1/interviews", &interview_request(), Some(&cookie))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_str().expect("id").to_owned();
    let mut live = Live::connect(&app, &id, &cookie).await;
    live.until("ready").await;
    live.start().await;
    live.send_json(json!({"type": "text", "text": FIRST_ANSWER}))
        .await;
    live.until_listening().await;

    let stopping = cluster.clone();
    keeping_alive(&mut live, move || stopping.stop_immediately()).await;
    // Twice: the second attempt meets the pool after its connections died, too.
    for _ in 0..2 {
        live.send_json(json!({"type": "text", "text": SECOND_ANSWER}))
            .await;
        let (error, before) = live.until("error").await;
        assert!(
            events_of_type(&before, "transcript").is_empty(),
            "nothing is acknowledged while the database is down: {before:#?}"
        );
        assert_eq!(error["code"], "database_unavailable", "{error}");
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains("database")),
            "{error}"
        );
        let (state, _) = live.until("state").await;
        assert_eq!(state["state"], "listening", "the answer can be sent again");
    }

    let starting = cluster.clone();
    keeping_alive(&mut live, move || starting.start_server()).await;
    live.send_json(json!({"type": "text", "text": SECOND_ANSWER}))
        .await;
    let (transcript, _) = live.until("transcript").await;
    assert_eq!(transcript["message"]["text"], SECOND_ANSWER);
    let reply = live.until_listening().await;
    assert_eq!(reply["role"], "interviewer", "{reply}");
    let acknowledged = acknowledged_messages(&live.seen);
    assert_eq!(acknowledged.len(), 5, "greeting, two answers, two replies");
    drop(live);

    let stored = app
        .get(&format!("/api/v1/interviews/{id}"), Some(&cookie))
        .await;
    assert_eq!(stored.status, StatusCode::OK, "{:?}", stored.body);
    let messages = stored.body["messages"].as_array().expect("messages");
    assert_all_present(&acknowledged, messages, "");
    assert_eq!(
        messages.len(),
        acknowledged.len(),
        "nothing unacknowledged was stored: {messages:#?}"
    );
}

// ---- shared ---------------------------------------------------------------------------------

/// Runs `work` on a blocking thread (not on the runtime the in-process server shares), while
/// answering the server's pings so that it keeps the connection.
async fn keeping_alive<T: Send + 'static>(
    live: &mut Live,
    work: impl FnOnce() -> T + Send + 'static,
) -> T {
    let mut task = actix_web::rt::task::spawn_blocking(work);
    loop {
        if let Ok(done) = actix_web::rt::time::timeout(Duration::from_millis(200), &mut task).await
        {
            return done.expect("the blocking work finished");
        }
        if let Ok(Next::Closed(code)) =
            actix_web::rt::time::timeout(Duration::from_secs(1), live.next()).await
        {
            panic!("the connection closed ({code:?}); seen: {:#?}", live.seen);
        }
    }
}

/// A planned behavioral interview of three questions: two answers never end it.
fn interview_request() -> Value {
    json!({
        "interview_type": "behavioral",
        "skills": [],
        "difficulty": "medium",
        "question_count": 3,
        "time_limit_minutes": 30,
    })
}

fn events_of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

/// The messages the server acknowledged as stored: those of `transcript` and `reply` events.
pub(crate) fn acknowledged_messages(events: &[Value]) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e["type"] == "transcript" || e["type"] == "reply")
        .map(|e| e["message"].clone())
        .collect()
}

/// Reads events until each answer in `answers` (message ids) has had its `feedback`.
async fn wait_for_feedback(live: &mut Live, answers: &[Value]) {
    loop {
        let assessed = events_of_type(&live.seen, "feedback")
            .iter()
            .map(|e| e["feedback"]["message_id"].clone())
            .collect::<Vec<_>>();
        if answers.iter().all(|id| assessed.contains(id)) {
            return;
        }
        live.until("feedback").await;
    }
}

/// Every acknowledged message is in `history`, unchanged.
pub(crate) fn assert_all_present(acknowledged: &[Value], history: &[Value], log: &str) {
    for message in acknowledged {
        let found = history.iter().find(|m| m["id"] == message["id"]);
        assert_eq!(
            found.map(|m| (&m["seq"], &m["role"], &m["kind"], &m["text"])),
            Some((
                &message["seq"],
                &message["role"],
                &message["kind"],
                &message["text"]
            )),
            "acknowledged message lost: {message:#}\nhistory: {history:#?}\nserver log:\n{log}"
        );
    }
}
