//! The files in `deploy/`, checked as shipped: the nginx site passes `nginx -t` and, run by a
//! real nginx in front of two small test servers, pins every interview to one node, spreads the
//! rest, fails over from a dead node and streams server-sent events unbuffered; the Compose file
//! passes the Compose specification's schema and keeps every node alike; the systemd units pass
//! `systemd-analyze verify` and give the drain its time.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::nginx::{self, Listen, Nginx};
use crate::support::unavailable;

/// VIVA_DRAIN_TIMEOUT's default: a stopping node's live interviews may run this long.
fn drain_timeout_default() -> Duration {
    viva::config::Settings::default().drain_timeout
}

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// nginx

#[test]
fn the_shipped_site_passes_nginx_t_with_tls() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let Some((certificate, key)) = self_signed(dir.path()) else {
        return;
    };
    let listen = Listen::Tls {
        http: nginx::free_port(),
        https: nginx::free_port(),
        certificate,
        key,
    };
    let nodes = [nginx::free_port(), nginx::free_port()];
    let Some((passed, said)) = nginx::test_config(&listen, &nodes) else {
        return;
    };
    assert!(
        passed && said.contains("test is successful"),
        "nginx -t refused deploy/nginx/viva.conf:\n{said}"
    );
    assert!(!said.contains("[warn]"), "nginx -t warned:\n{said}");

    // The same site running: plain HTTP answers with a redirect to HTTPS.
    let Some(started) = Nginx::start_with(&listen, &nodes) else {
        return;
    };
    let nginx = started.unwrap_or_else(|log| panic!("nginx with TLS did not start:\n{log}"));
    let Listen::Tls { http, .. } = listen else {
        unreachable!()
    };
    let answer = nginx::get(http, "/interviews?x=1", &[]).expect("nginx answers on HTTP");
    assert_eq!(answer.status, 301, "{answer:?}\n{}", nginx.log_text());
    assert!(
        answer
            .head
            .lines()
            .any(|line| line.eq_ignore_ascii_case("location: https://127.0.0.1/interviews?x=1")),
        "{}",
        answer.head
    );
}

/// A certificate and key for `localhost`, made with the openssl CLI; `None` after `unavailable`.
fn self_signed(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let (certificate, key) = (dir.join("fullchain.pem"), dir.join("privkey.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&certificate)
        .output();
    match made {
        Ok(output) if output.status.success() => Some((certificate, key)),
        Ok(output) => panic!(
            "openssl could not make a certificate: {}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(e) => {
            unavailable(&format!(
                "the openssl command, to make a test certificate for nginx: {e}"
            ));
            None
        }
    }
}

/// A test server standing in for a viva node: answers every request with its name and the head
/// of the request it got, and `.../events` with two server-sent events a second apart. Closes
/// its listening socket when stopped, so connections to it are refused from then on.
struct Node {
    name: &'static str,
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

const EVENT_GAP: Duration = Duration::from_millis(1500);

impl Node {
    fn start(name: &'static str) -> Node {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a test node");
        let port = listener.local_addr().expect("its address").port();
        listener.set_nonblocking(true).expect("non-blocking accept");
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        std::thread::spawn(move || answer(name, stream));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Node {
            name,
            port,
            stop,
            thread: Some(thread),
        }
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.stop();
    }
}

fn answer(name: &str, stream: TcpStream) {
    let _ = stream.set_nonblocking(false);
    let mut reader = BufReader::new(&stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line == "\r\n" => break,
            Ok(_) => head.push_str(&line),
        }
    }
    let path = head
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let mut stream = &stream;
    if path.ends_with("/events") {
        // No X-Accel-Buffering here (viva sends one): the site itself must not buffer.
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n\
              data: one\n\n",
        );
        let _ = stream.flush();
        std::thread::sleep(EVENT_GAP);
        let _ = stream.write_all(b"data: two\n\n");
    } else {
        let body = format!("{name}\n{head}");
        let _ = stream.write_all(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
    }
}

/// Which node answered `path` through nginx (the first line of its answer).
fn answered_by(nginx: &Nginx, path: &str) -> String {
    let answer = nginx::get(nginx.port, path, &[])
        .unwrap_or_else(|e| panic!("GET {path} through nginx: {e}\n{}", nginx.log_text()));
    assert_eq!(
        answer.status,
        200,
        "GET {path}: {answer:?}\n{}",
        nginx.log_text()
    );
    answer.body.lines().next().unwrap_or_default().to_string()
}

fn interview_id(i: usize) -> String {
    format!("6f1c2a4e-0000-4000-8000-{i:012}")
}

#[test]
fn an_interview_stays_on_one_node_other_requests_spread_and_a_dead_nodes_share_moves() {
    let mut nodes = [Node::start("node-a"), Node::start("node-b")];
    let Some(nginx) = Nginx::start(&[nodes[0].port, nodes[1].port]) else {
        return;
    };

    // Every request of one interview reaches the same node, whatever follows the id.
    let mut owner = BTreeMap::new();
    for i in 0..24 {
        let id = interview_id(i);
        let paths = [
            format!("/api/v1/interviews/{id}/ws"),
            format!("/api/v1/interviews/{id}/ws?token=abc"),
            format!("/api/v1/interviews/{id}/report"),
            format!("/api/v1/interviews/{id}"),
        ];
        let seen: BTreeSet<String> = paths
            .iter()
            .cycle()
            .take(8)
            .map(|path| answered_by(&nginx, path))
            .collect();
        assert_eq!(seen.len(), 1, "interview {id} reached {seen:?}");
        owner.insert(id, seen.into_iter().next().unwrap_or_default());
    }
    let owners: BTreeSet<&String> = owner.values().collect();
    assert_eq!(owners.len(), 2, "24 interviews all went to {owners:?}");

    // Other requests spread over both nodes.
    let others: BTreeSet<String> = (0..40)
        .map(|i| answered_by(&nginx, &format!("/api/v1/jobs?page={i}")))
        .collect();
    assert_eq!(others.len(), 2, "40 other requests all went to {others:?}");

    // What a node hears: the client's address and scheme, and a WebSocket upgrade passed on.
    let answer = nginx::get(
        nginx.port,
        &format!("/api/v1/interviews/{}/ws", interview_id(0)),
        &[
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade, close"),
            ("X-Forwarded-For", "203.0.113.9"),
        ],
    )
    .expect("an upgrade request through nginx");
    let heard = answer.body.to_ascii_lowercase();
    for header in [
        "upgrade: websocket",
        "connection: upgrade",
        "x-forwarded-proto: http",
        // Appended to what the client wrote: viva with trusted_proxies = 1 takes the last hop.
        "x-forwarded-for: 203.0.113.9, 127.0.0.1",
    ] {
        assert!(
            heard.contains(header),
            "the node did not hear `{header}`:\n{heard}"
        );
    }

    // node-b dies: its interviews move to node-a, the others stay where they were.
    let dead = nodes[1].name;
    nodes[1].stop();
    for (id, before) in &owner {
        for _ in 0..3 {
            let now = answered_by(&nginx, &format!("/api/v1/interviews/{id}/ws"));
            assert_eq!(
                now, "node-a",
                "interview {id} (was on {before}) after {dead} died"
            );
        }
    }
    assert!(
        nginx.log_text().contains("connect() failed"),
        "nginx's log should show the refused connections:\n{}",
        nginx.log_text()
    );
}

#[test]
fn a_jobs_event_stream_passes_through_unbuffered() {
    let node = Node::start("node-a");
    let Some(nginx) = Nginx::start(&[node.port]) else {
        return;
    };
    let mut stream = TcpStream::connect(("127.0.0.1", nginx.port)).expect("connect to nginx");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    let started = Instant::now();
    stream
        .write_all(b"GET /api/v1/jobs/j1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("send the request");
    let mut seen = Vec::new();
    let mut first_at = None;
    let mut buffer = [0u8; 1024];
    loop {
        let read = stream.read(&mut buffer).unwrap_or_else(|e| {
            panic!(
                "reading the event stream: {e}, after {:?}\n{}",
                String::from_utf8_lossy(&seen),
                nginx.log_text()
            )
        });
        if read == 0 {
            break;
        }
        seen.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&seen);
        if first_at.is_none() && text.contains("data: one") {
            first_at = Some(started.elapsed());
        }
    }
    let text = String::from_utf8_lossy(&seen);
    assert!(
        text.contains("data: two"),
        "the stream ended early:\n{text}"
    );
    let first_at = first_at.expect("the first event arrived");
    assert!(
        first_at < EVENT_GAP / 2,
        "the first event took {first_at:?}, so nginx held it back until the second"
    );
}

// ---------------------------------------------------------------------------------------------
// Compose

/// Pinned: it carries the Compose specification's schema, part of what the test checks.
const CHECK_JSONSCHEMA: &str = "check-jsonschema==0.39.0";

/// check-jsonschema and its packages (ruamel.yaml among them), installed with pip into
/// target/test-python/ the first time; `None` after `unavailable` when pip fails.
fn check_jsonschema_path() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/test-python/check-jsonschema-0.39.0");
        match crate::support::pip_install(CHECK_JSONSCHEMA, &dir, "check_jsonschema") {
            Ok(()) => Some(dir),
            Err(reason) => {
                unavailable(&format!(
                    "`pip install {CHECK_JSONSCHEMA}` (the Compose schema check) failed: {reason}"
                ));
                None
            }
        }
    })
    .as_deref()
}

/// The Compose file as JSON, read by ruamel.yaml (anchors and merge keys resolved).
fn compose_json(python_path: &Path, file: &Path) -> Value {
    let output = Command::new("python3")
        .env("PYTHONPATH", python_path)
        .args([
            "-c",
            "import json, sys\n\
             from ruamel.yaml import YAML\n\
             print(json.dumps(YAML(typ='safe').load(open(sys.argv[1]))))",
        ])
        .arg(file)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "cannot read {}: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON from python")
}

#[test]
fn the_compose_file_is_valid_and_every_node_is_alike() {
    let Some(python_path) = check_jsonschema_path() else {
        return;
    };
    let file = deploy_dir().join("compose.yaml");
    let output = Command::new("python3")
        .env("PYTHONPATH", python_path)
        .args([
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
        ])
        .arg(&file)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "deploy/compose.yaml breaks the Compose specification:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    let compose = compose_json(python_path, &file);
    let services = compose["services"].as_object().expect("services");
    let nodes: BTreeMap<&String, &Value> = services
        .iter()
        .filter(|(name, _)| name.starts_with("viva-"))
        .collect();
    assert!(
        nodes.len() >= 2,
        "two viva nodes at least: {:?}",
        nodes.keys()
    );

    // The same settings on every node but its name.
    let shared = |node: &Value| {
        let mut env = node["environment"]
            .as_object()
            .expect("environment")
            .clone();
        let name = env.remove("VIVA_NODE_NAME");
        (env, name)
    };
    let (first_env, _) = shared(nodes.values().next().expect("a node"));
    let mut names = BTreeSet::new();
    for (service, node) in &nodes {
        let (env, name) = shared(node);
        assert_eq!(
            env, first_env,
            "{service}'s settings differ from the first node's"
        );
        assert_eq!(
            name.as_ref().and_then(Value::as_str),
            Some(service.as_str())
        );
        names.insert(service.to_string());
        for key in [
            "image",
            "volumes",
            "stop_signal",
            "stop_grace_period",
            "healthcheck",
        ] {
            assert_eq!(
                node[key],
                nodes.values().next().expect("a node")[key],
                "{service}: {key}"
            );
        }
    }
    for key in [
        "VIVA_DATABASE_URL",
        "VIVA_SECRET_KEY",
        "VIVA_PUBLIC_URL",
        "VIVA_SESSION_STORE",
        "VIVA_REDIS_URL",
    ] {
        assert!(first_env.contains_key(key), "the nodes need a shared {key}");
    }
    let env: Vec<(String, String)> = first_env
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("a string value").to_string()))
        .collect();
    check_settings(&env, "deploy/compose.yaml");

    let node = nodes.values().next().expect("a node");
    let health = node["healthcheck"]["test"].to_string();
    assert!(health.contains("http://127.0.0.1:8080/readyz"), "{health}");
    assert_eq!(node["stop_signal"], "SIGTERM");
    let grace = node["stop_grace_period"]
        .as_str()
        .expect("stop_grace_period");
    assert!(
        parse_duration(grace) > drain_timeout_default(),
        "stop_grace_period {grace} must outlast the drain"
    );
    let dockerfile = node["build"]["dockerfile"].as_str().expect("a build");
    let dockerfile = read(
        &deploy_dir()
            .join(node["build"]["context"].as_str().expect("context"))
            .join(dockerfile),
    );
    for line in [
        "VIVA_BIND=0.0.0.0:8080",
        "STOPSIGNAL SIGTERM",
        "cargo build --release --locked",
    ] {
        assert!(dockerfile.contains(line), "deploy/Dockerfile lost `{line}`");
    }

    // nginx serves the shipped site, and its nodes are the Compose file's.
    let mounts = services["nginx"]["volumes"].to_string();
    assert!(
        mounts.contains("./nginx/viva.conf:/etc/nginx/conf.d/default.conf"),
        "nginx should mount the shipped site: {mounts}"
    );
    let site = read(&nginx::site_path());
    let site_nodes: BTreeSet<String> = site
        .split("# [test:nodes]")
        .nth(1)
        .and_then(|rest| rest.split("# [/test:nodes]").next())
        .expect("the site's node block")
        .lines()
        .filter_map(|line| line.trim().strip_prefix("server "))
        .filter_map(|rest| rest.split(':').next())
        .map(str::to_string)
        .collect();
    assert_eq!(
        site_nodes, names,
        "deploy/nginx/viva.conf's nodes against the Compose file's"
    );
}

/// Every `VIVA_*` name is a setting viva knows, and every concrete value parses as it would at
/// start-up (placeholders such as `${VAR:?…}` or CHANGE_ME are left out).
fn check_settings(env: &[(String, String)], origin: &str) {
    for (name, value) in env {
        let known = viva::config::SETTINGS.iter().any(|spec| spec.env == name);
        assert!(known, "{origin}: viva has no setting {name}");
        // `${VAR:-default}` stands for its default; other placeholders for what people fill in.
        let whole_default = value
            .strip_prefix("${")
            .and_then(|rest| rest.strip_suffix('}'))
            .and_then(|rest| rest.split_once(":-"))
            .map(|(_, default)| default.to_string());
        let value = match whole_default {
            Some(default) => default,
            None if value.contains("${") || value.contains("CHANGE_ME") => continue,
            None => value.clone(),
        };
        let mut settings = viva::config::Settings::default();
        if let Err(e) = settings.apply_env(|wanted| (wanted == name).then(|| value.clone())) {
            panic!("{origin}: {e}");
        }
    }
}

/// `90s`, `11m`, `11min`, `1h` (Compose and systemd both write durations so).
fn parse_duration(text: &str) -> Duration {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    let number: u64 = digits
        .parse()
        .unwrap_or_else(|_| panic!("a duration: {text}"));
    let seconds = match &text[digits.len()..] {
        "" | "s" | "sec" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        unit => panic!("unexpected unit {unit:?} in {text}"),
    };
    Duration::from_secs(number * seconds)
}

// ---------------------------------------------------------------------------------------------
// systemd

/// A unit's `Key=value` lines (comments and sections left out), in order.
fn directives(unit: &str) -> Vec<(String, String)> {
    unit.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with('['))
        .map(|line| {
            let (key, value) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("not a directive: {line}"));
            (key.to_string(), value.to_string())
        })
        .collect()
}

#[test]
fn the_systemd_units_give_the_drain_its_time_and_stay_in_step() {
    let unit = read(&deploy_dir().join("systemd/viva.service"));
    let lines = directives(&unit);
    let value = |key: &str| {
        lines
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("viva.service has no {key}="))
    };
    assert_eq!(value("KillSignal"), "SIGTERM");
    assert_eq!(value("EnvironmentFile"), "/etc/viva/viva.env");
    assert_eq!(value("Restart"), "on-failure");
    assert_eq!(value("User"), "viva");
    assert_eq!(value("NoNewPrivileges"), "yes");
    assert_eq!(value("ProtectSystem"), "strict");
    assert!(
        parse_duration(value("TimeoutStopSec")) > drain_timeout_default(),
        "TimeoutStopSec={} must outlast the drain ({:?})",
        value("TimeoutStopSec"),
        drain_timeout_default()
    );

    // The template is the same unit but for its description and the port it listens on.
    let template = read(&deploy_dir().join("systemd/viva@.service"));
    let differs = |key: &str| key == "Description" || key == "ExecStart";
    let same = |lines: &[(String, String)]| -> Vec<(String, String)> {
        lines.iter().filter(|(k, _)| !differs(k)).cloned().collect()
    };
    let template_lines = directives(&template);
    assert_eq!(
        same(&template_lines),
        same(&lines),
        "viva@.service drifted from viva.service"
    );
    assert!(template_lines
        .iter()
        .any(|(k, v)| k == "ExecStart" && v.contains("VIVA_BIND=127.0.0.1:%i")));

    // The example environment file names real settings with values that parse.
    let example = read(&deploy_dir().join("systemd/viva.env.example"));
    let env: Vec<(String, String)> = example
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (k, v) = line.split_once('=').expect("NAME=value");
            (k.to_string(), v.to_string())
        })
        .collect();
    check_settings(&env, "deploy/systemd/viva.env.example");

    verify_with_systemd(&unit, &template);
}

/// `systemd-analyze verify` on both units (the template as an instance), with the viva built
/// for the tests standing in for /usr/local/bin/viva. Any warning about them fails the test.
fn verify_with_systemd(unit: &str, template: &str) {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        // The assertions above still ran; say loudly what did not.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: systemd-analyze verify of deploy/systemd (no systemd-analyze here)"
        );
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let viva = env!("CARGO_BIN_EXE_viva");
    let files = [("viva.service", unit), ("viva@.service", template)];
    for (name, text) in files {
        std::fs::write(
            dir.path().join(name),
            text.replace("/usr/local/bin/viva", viva),
        )
        .expect("write the unit");
    }
    for name in ["viva.service", "viva@8081.service"] {
        let output = Command::new("systemd-analyze")
            .arg("verify")
            .arg(dir.path().join(name))
            .output()
            .expect("systemd-analyze runs");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let about_ours: Vec<&str> = said.lines().filter(|line| line.contains("viva")).collect();
        assert!(
            output.status.success() && about_ours.is_empty(),
            "systemd-analyze verify {name}:\n{said}"
        );
    }
}
