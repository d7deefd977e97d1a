//! The hostile-input corpus (issue 13): the real `viva serve` as a child process, with its own
//! SQLite data directory and the real models, gets well over a hundred hostile uploads,
//! WebSocket frames and HTTP requests. For each one the server must answer within a generous
//! deadline (no hang), stay alive, answer `/healthz` afterwards and grow its peak resident
//! memory by less than 300 MB, read from its own `/proc/<pid>/status` (the peak reset before
//! each case through `/proc/<pid>/clear_refs`). A crash or a hang is recorded and the server
//! restarted on the same data directory, so one run reports every failing case.
//!
//! Its own test binary (not a module of `tests/api`): it shares nothing with the in-process
//! helpers there, and it must not run beside that binary's parallel tests, whose CPU use would
//! turn slow answers into false hangs and whose memory is not what is measured here.
//!
//! Linux only (it reads `/proc`). Run it with `cargo test -j 1 --test hostile`; set
//! `HOSTILE_ONLY=<part of a case's name>` to run only the matching cases.

mod audio;
mod corpus;
mod files;
mod net;
#[path = "../support/mod.rs"]
mod support;

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use net::{NetError, Reply};

/// How long one request (or one WebSocket exchange) may take before it counts as a hang.
/// Generous: the machine running the tests may be busy.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(45);
/// Peak resident memory one case may add to the server.
const MAX_GROWTH_BYTES: u64 = 300 * 1024 * 1024;
const PASSWORD: &str = "correct horse battery staple";
const RECRUITER: &str = "recruiter@example.com";

/// What a case found wrong.
#[derive(Debug)]
pub enum Problem {
    /// No answer before [`ANSWER_TIMEOUT`].
    Hang(String),
    /// An answer that breaks a rule: a 5xx, a leak, a connection that should have closed.
    Wrong(String),
}

impl From<NetError> for Problem {
    fn from(e: NetError) -> Self {
        match e {
            NetError::TimedOut => Self::Hang(e.to_string()),
            other => Self::Wrong(other.to_string()),
        }
    }
}

pub type Outcome = Result<String, Problem>;

/// One hostile input: what it is and how to send it. `run` returns what the server answered,
/// for the table.
pub struct Case {
    pub area: &'static str,
    pub name: String,
    pub run: Box<dyn Fn(&Ctx) -> Outcome>,
}

/// What the cases act on: the server's address and what the setup created.
pub struct Ctx {
    pub addr: SocketAddr,
    pub cookie: String,
    /// A practice interview of the recruiter's, never started (WebSocket cases connect to it).
    pub interview: String,
    /// A candidate's interview and invite token.
    pub candidate_interview: String,
    pub token: String,
    pub job: String,
}

pub fn deadline() -> Instant {
    Instant::now() + ANSWER_TIMEOUT
}

impl Ctx {
    /// One raw request on a new connection.
    pub fn send(&self, raw: &[u8]) -> Result<Reply, NetError> {
        net::exchange(self.addr, raw, deadline())
    }

    pub fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Reply, NetError> {
        self.send(&net::request(method, path, headers, body))
    }

    /// A JSON request the setup needs to succeed, with the recruiter's cookie.
    pub fn setup_json(&self, method: &str, path: &str, body: &Value) -> Value {
        let reply = self
            .call(
                method,
                path,
                &[
                    ("Content-Type", "application/json"),
                    ("Cookie", self.cookie.as_str()),
                ],
                body.to_string().as_bytes(),
            )
            .unwrap_or_else(|e| panic!("setup {method} {path}: {e}"));
        assert!(
            (200..300).contains(&reply.status),
            "setup {method} {path}: {} {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        );
        reply.json()
    }

    /// A new job; returns its id.
    pub fn new_job(&self) -> String {
        let job = self.setup_json("POST", "/api/v1/jobs", &job_body());
        job["id"].as_str().expect("job id").to_owned()
    }

    /// A new candidate on a new job; returns (job id, interview id, invite token).
    pub fn new_candidate(&self) -> (String, String, String) {
        let job = self.new_job();
        let created = self.setup_json(
            "POST",
            &format!("/api/v1/jobs/{job}/candidates"),
            &json!({"name": "Ann Lee", "email": unique_email()}),
        );
        let interview = created["candidate"]["interview_id"]
            .as_str()
            .expect("interview id")
            .to_owned();
        let token = created["invite_url"]
            .as_str()
            .and_then(|url| url.rsplit('/').next())
            .expect("invite token")
            .to_owned();
        (job, interview, token)
    }

    /// A new practice interview of the recruiter's; returns its id.
    pub fn new_interview(&self) -> String {
        let created = self.setup_json("POST", "/api/v1/interviews", &interview_body());
        created["id"].as_str().expect("interview id").to_owned()
    }
}

pub fn unique_email() -> String {
    format!("c-{}@example.com", uuid::Uuid::new_v4().simple())
}

pub fn job_body() -> Value {
    json!({
        "title": "Backend engineer",
        "description": "Build and run our payment APIs.",
        "location": "Remote",
        "skills": [],
        "interview_type": "backend",
        "difficulty": "medium",
        "question_count": 2,
        "time_limit_minutes": 30,
    })
}

pub fn interview_body() -> Value {
    json!({
        "interview_type": "behavioral",
        "skills": [],
        "difficulty": "medium",
        "question_count": 3,
        "time_limit_minutes": 30,
    })
}

/// `viva serve` running as a child process.
struct Server {
    child: Child,
    addr: SocketAddr,
    stderr: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn viva(data_dir: &Path, models: Option<&viva::fetch::DefaultModels>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_viva"));
    // Only this test's settings: none from the environment of whoever runs it.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("VIVA_") {
            cmd.env_remove(name);
        }
    }
    cmd.env_remove("DATABASE_URL")
        .env("VIVA_DATA_DIR", data_dir)
        .env("VIVA_LOG", "warn")
        .env("VIVA_FETCH_MODELS", "false")
        .env("VIVA_WORKERS", "2")
        .env("VIVA_SHUTDOWN_TIMEOUT", "1s")
        // The corpus makes a fresh interview (and job candidate) for most cases, and holds
        // several live ones: the per-user caps are not what it tests.
        .env("VIVA_MAX_INTERVIEWS_PER_HOUR", "100000")
        .env("VIVA_MAX_LIVE_INTERVIEWS_PER_USER", "1000")
        // Recordings that decode are queued: the queue's own limit is tested elsewhere.
        .env("VIVA_TRANSCRIPTION_QUEUE", "1000")
        .env(
            "VIVA_STATIC_DIR",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("static"),
        )
        .current_dir(data_dir);
    if let Some(models) = models {
        cmd.env("VIVA_WHISPER_MODEL", &models.whisper_dir)
            .env("VIVA_LLM_MODEL", &models.llm_file)
            .env("VIVA_ENCODER_MODEL", &models.encoder_dir)
            .env("VIVA_JUDGE_MODEL", "none");
    }
    cmd
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Server {
    fn start(data_dir: &Path, models: Option<&viva::fetch::DefaultModels>, run: usize) -> Self {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port())
            .parse()
            .expect("address");
        let stderr = data_dir.join(format!("serve-{run}.log"));
        let log = std::fs::File::create(&stderr).expect("log file");
        let child = viva(data_dir, models)
            .env("VIVA_BIND", addr.to_string())
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("run viva serve");
        let mut server = Self {
            child,
            addr,
            stderr,
        };
        // Loading the models on a busy machine takes a while.
        let ready_by = Instant::now() + Duration::from_secs(300);
        loop {
            if let Some(status) = server.exited() {
                panic!(
                    "viva serve exited at start ({status}): {}",
                    server.stderr_tail()
                );
            }
            if server.healthz().is_ok() {
                return server;
            }
            assert!(
                Instant::now() < ready_by,
                "viva serve not ready: {}",
                server.stderr_tail()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    fn healthz(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        match net::exchange(
            self.addr,
            &net::request("GET", "/healthz", &[], b""),
            deadline,
        ) {
            Ok(reply) if reply.status == 200 => Ok(()),
            Ok(reply) => Err(format!("/healthz answered {}", reply.summary())),
            Err(e) => Err(format!("/healthz: {e}")),
        }
    }

    fn stderr_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(5)..].join(" | ")
    }
}

/// A field of `/proc/<pid>/status`, in bytes (`VmRSS`: resident now, `VmHWM`: the peak).
fn proc_status_bytes(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let kb = line
            .strip_prefix(field)?
            .strip_prefix(':')?
            .trim()
            .strip_suffix("kB")?;
        kb.trim().parse::<u64>().ok().map(|kb| kb * 1024)
    })
}

/// Resets the process's peak resident memory (VmHWM) to its current resident memory.
fn reset_peak(pid: u32) -> std::io::Result<()> {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
}

/// Logs in as the recruiter `viva admin create` made, and creates what the cases need.
fn set_up(addr: SocketAddr) -> Ctx {
    let body = json!({"email": RECRUITER, "password": PASSWORD}).to_string();
    let login = net::exchange(
        addr,
        &net::request(
            "POST",
            "/api/v1/auth/login",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        ),
        deadline(),
    )
    .expect("log in");
    assert_eq!(
        login.status,
        200,
        "{}",
        String::from_utf8_lossy(&login.body)
    );
    let cookie = login
        .headers
        .iter()
        .filter(|(name, _)| name == "set-cookie")
        .find_map(|(_, value)| {
            value
                .starts_with("viva_session=")
                .then(|| value.split(';').next())
                .flatten()
        })
        .expect("a session cookie")
        .to_owned();
    let mut ctx = Ctx {
        addr,
        cookie,
        interview: String::new(),
        candidate_interview: String::new(),
        token: String::new(),
        job: String::new(),
    };
    ctx.interview = ctx.new_interview();
    let (job, interview, token) = ctx.new_candidate();
    ctx.job = job;
    ctx.candidate_interview = interview;
    ctx.token = token;
    ctx
}

fn create_recruiter(data_dir: &Path) {
    let mut child = viva(data_dir, None)
        .args([
            "admin",
            "create",
            "--email",
            RECRUITER,
            "--role",
            "recruiter",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run viva admin create");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{PASSWORD}").expect("write the password");
    drop(stdin);
    let out = child
        .wait_with_output()
        .expect("viva admin create finishes");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn mb(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

fn loud(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

#[test]
fn the_server_survives_the_hostile_corpus() {
    if !Path::new("/proc/self/clear_refs").exists() {
        support::unavailable(
            "/proc/<pid>/clear_refs (the corpus measures the server's peak memory on Linux)",
        );
        return;
    }
    let models = match support::test_models() {
        Ok(models) => Some(models),
        Err(e) => {
            support::unavailable(&format!(
                "the default models ({e}): the WebSocket cases only reach the 503 `models_unavailable`"
            ));
            None
        }
    };
    let data_dir = tempfile::tempdir().expect("temp dir");
    create_recruiter(data_dir.path());
    let mut starts = 0;
    let mut server = Server::start(data_dir.path(), models.as_ref(), starts);
    let mut ctx = set_up(server.addr);

    let mut cases = corpus::cases(models.is_some());
    assert!(
        cases.len() >= 100,
        "the corpus has only {} cases",
        cases.len()
    );
    // HOSTILE_ONLY=<text>: only the cases whose name holds it (to retry one while fixing it).
    if let Ok(only) = std::env::var("HOSTILE_ONLY") {
        cases.retain(|case| case.name.contains(&only));
    }
    let mut failures = Vec::new();
    let mut table = vec![format!(
        "{:<9} {:<64} {:<34} {:>9}",
        "area", "case", "answer", "RSS +MB"
    )];
    for case in &cases {
        let pid = server.pid();
        let baseline = reset_peak(pid)
            .ok()
            .and_then(|()| proc_status_bytes(pid, "VmRSS"))
            .expect("the server's resident memory");
        // A case whose own setup fails (a panic) is a failure of that case, not of the run.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (case.run)(&ctx)))
            .unwrap_or_else(|panic| {
                let what = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                Err(Problem::Wrong(format!("the case panicked: {what}")))
            });
        let peak = proc_status_bytes(pid, "VmHWM");
        let growth = peak.map(|peak| peak.saturating_sub(baseline));

        let mut problems = Vec::new();
        let mut restart = false;
        let answer = match &outcome {
            Ok(answer) => answer.clone(),
            Err(Problem::Hang(what)) => {
                restart = true;
                problems.push(format!("hang: {what}"));
                "(no answer)".to_owned()
            }
            Err(Problem::Wrong(what)) => {
                problems.push(what.clone());
                "(wrong)".to_owned()
            }
        };
        if let Some(status) = server.exited() {
            restart = true;
            problems.push(format!(
                "the server died ({status}): {}",
                server.stderr_tail()
            ));
        } else if let Err(e) = server.healthz() {
            restart = true;
            problems.push(e);
        }
        match growth {
            Some(growth) if growth >= MAX_GROWTH_BYTES => {
                problems.push(format!("peak RSS grew by {} MB", mb(growth)))
            }
            _ => {}
        }
        table.push(format!(
            "{:<9} {:<64} {:<34} {:>9}{}",
            case.area,
            truncate(&case.name, 64),
            truncate(&answer, 34),
            growth.map_or("-".to_owned(), mb),
            if problems.is_empty() { "" } else { "  FAIL" }
        ));
        if !problems.is_empty() {
            failures.push(format!(
                "[{}] {}: {}",
                case.area,
                case.name,
                problems.join("; ")
            ));
        }
        if restart {
            drop(server);
            starts += 1;
            server = Server::start(data_dir.path(), models.as_ref(), starts);
            ctx.addr = server.addr;
        }
    }
    loud(&table.join("\n"));
    loud(&format!(
        "{} cases ({} uploads, {} WebSocket, {} HTTP), {} failed, {} server restarts",
        cases.len(),
        cases.iter().filter(|c| c.area == corpus::UPLOAD).count(),
        cases.iter().filter(|c| c.area == corpus::WEBSOCKET).count(),
        cases.iter().filter(|c| c.area == corpus::HTTP).count(),
        failures.len(),
        starts
    ));
    assert!(
        failures.is_empty(),
        "{} of {} hostile cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn truncate(text: &str, width: usize) -> String {
    let flat = text.replace('\n', " ");
    if flat.chars().count() <= width {
        flat
    } else {
        let mut cut: String = flat.chars().take(width - 1).collect();
        cut.push('…');
        cut
    }
}
