//! A real OpenID Connect provider for the sign-in tests: the npm package `oidc-provider`
//! (installed once with npm into `target/test-oidc/`), run by Node with
//! `tests/support/oidc-provider.mjs`: one confidential client, and a sign-in form that signs in
//! whoever it names.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Pinned: the tests drive its sign-in pages and cookies.
const OIDC_PROVIDER: &str = "oidc-provider@9.13.3";

pub const OIDC_CLIENT_ID: &str = "viva-tests";
pub const OIDC_CLIENT_SECRET: &str = "a secret only the tests know";

/// A running provider; stopped when dropped.
pub struct TestProvider {
    pub issuer: String,
    child: Child,
}

impl Drop for TestProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free port for a provider: viva's settings name the issuer before the provider starts
/// (it needs viva's callback URL, which needs viva's port). Not one the system hands out for
/// port 0 or as an outgoing connection's own port: the app under test binds port 0, and a port
/// released here could be given to it (or to another test's provider) before the provider
/// binds it, which happened. So: ports below the system's ephemeral range, each handed out once
/// per run, checked free.
pub fn free_port() -> u16 {
    static HANDED_OUT: AtomicU16 = AtomicU16::new(0);
    let ephemeral_from = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768);
    // Runs of the suite at the same time (two checkouts) start in different places.
    let first = ephemeral_from.saturating_sub(12_000) + (std::process::id() % 100) as u16 * 100;
    loop {
        let port = first + HANDED_OUT.fetch_add(1, Ordering::Relaxed);
        assert!(
            port < ephemeral_from,
            "no free port left below {ephemeral_from}"
        );
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Starts the provider at `http://127.0.0.1:{port}` for a client whose redirect URI is
/// `redirect_uri`; `None` after a loud line (a failure under CI) when Node or the package
/// cannot be had.
pub fn start_provider(port: u16, redirect_uri: &str) -> Option<TestProvider> {
    start_provider_with(port, redirect_uri, false)
}

/// [`start_provider`]; with `claims_at_userinfo`, the person's email and name are not in the ID
/// token, only at the userinfo endpoint.
pub fn start_provider_with(
    port: u16,
    redirect_uri: &str,
    claims_at_userinfo: bool,
) -> Option<TestProvider> {
    let module = match install() {
        Ok(module) => module,
        Err(e) => {
            super::unavailable(&format!(
                "an OpenID Connect provider (the npm package {OIDC_PROVIDER}, run by Node): {e}"
            ));
            return None;
        }
    };
    let issuer = format!("http://127.0.0.1:{port}");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/oidc-provider.mjs");
    // What Node says goes to a file, for the failure messages below.
    let log_path = module
        .ancestors()
        .nth(4)
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        .join(format!("provider-{port}.log"));
    let said = || std::fs::read_to_string(&log_path).unwrap_or_default();
    // Up in about a second on an idle machine. Twice, with the whole suite running on two
    // cores, a provider that had loaded its package never listened; so one that is not up in
    // 40 s is killed (its state noted) and started again, three times at most.
    let mut stuck = Vec::new();
    for _ in 0..3 {
        let log = std::fs::File::create(&log_path).expect("the provider's log file");
        let mut command = Command::new("node");
        if claims_at_userinfo {
            command.env("OIDC_CLAIMS_AT_USERINFO", "1");
        }
        let child = command
            .arg(&script)
            .env("OIDC_PROVIDER_MODULE", &module)
            .env("OIDC_ISSUER", &issuer)
            .env("OIDC_CLIENT_ID", OIDC_CLIENT_ID)
            .env("OIDC_CLIENT_SECRET", OIDC_CLIENT_SECRET)
            .env("OIDC_REDIRECT_URI", redirect_uri)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(e) => {
                super::unavailable(&format!("Node, to run an OpenID Connect provider: {e}"));
                return None;
            }
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "the test OpenID Connect provider exited: {status}\n{}",
                    said()
                );
            }
            if started.elapsed() > Duration::from_secs(40) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(TestProvider { issuer, child });
        }
        let state =
            std::fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap_or_default();
        stuck.push(format!("{state}\n{}", said()));
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!(
        "the test OpenID Connect provider did not start listening in three tries of 40 s:\n{}",
        stuck.join("\n---\n")
    );
}

/// The package's entry module, installed under `target/test-oidc/` the first time.
fn install() -> Result<PathBuf, String> {
    static INSTALL: Mutex<()> = Mutex::new(());
    let _one_at_a_time = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf);
    let dir = target.join("test-oidc");
    let module = dir.join("node_modules/oidc-provider/lib/index.js");
    let version = OIDC_PROVIDER.rsplit('@').next().unwrap_or_default();
    let installed = std::fs::read_to_string(dir.join("node_modules/oidc-provider/package.json"))
        .is_ok_and(|package| package.contains(&format!("\"version\": \"{version}\"")));
    if installed && module.is_file() {
        return Ok(module);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // A package.json of its own, so npm installs here and not into a parent folder's project.
    std::fs::write(dir.join("package.json"), "{\"private\": true}\n").map_err(|e| e.to_string())?;
    let output = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
        .arg(&dir)
        .arg(OIDC_PROVIDER)
        .output()
        .map_err(|e| format!("npm: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "npm install failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    if module.is_file() {
        Ok(module)
    } else {
        Err(format!("npm installed no {}", module.display()))
    }
}
