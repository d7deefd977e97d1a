//! nginx in front of test servers, serving the shipped site `deploy/nginx/viva.conf`.
//!
//! nginx is Debian's package, fetched once with `apt-get download` (no root needed) and unpacked
//! under `target/test-nginx/`; an installed `/usr/sbin/nginx` is used only when that fails. Each
//! `Nginx` runs it in a temporary directory of its own (prefix, pid file, temporary files, error
//! log) as one process (`master_process off`), so it needs no root and dies with a kill.
//!
//! The site file is rendered, not rewritten: only the lines between its `# [test:NAME]` and
//! `# [/test:NAME]` markers change (listen addresses, node addresses, certificate paths), and a
//! missing marker or an unexpected line between them fails loudly, so the shipped file and the
//! tests cannot drift apart.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::unavailable;

const PACKAGE: &str = "nginx";
/// Where the binary lies inside the package (and, installed, under `/`).
const BINARY: &str = "usr/sbin/nginx";

/// The shipped site, as the tests use it.
pub fn site_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/nginx/viva.conf")
}

/// How the rendered site listens on 127.0.0.1.
pub enum Listen {
    /// The proxying server (the site's HTTPS one) over plain HTTP on `port`, without TLS; the
    /// redirecting server on `redirect_port`.
    Plain { port: u16, redirect_port: u16 },
    /// The site as shipped: the redirect on `http`, TLS on `https` with this certificate.
    Tls {
        http: u16,
        https: u16,
        certificate: PathBuf,
        key: PathBuf,
    },
}

/// A running nginx; stopped (and reaped) when dropped.
pub struct Nginx {
    /// Where the proxying server listens (plain HTTP with `start`).
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl Nginx {
    /// nginx serving the shipped site over plain HTTP on a free 127.0.0.1 port, proxying to
    /// nodes on 127.0.0.1:`upstream_ports`. `None` after `unavailable` when nginx cannot be had.
    pub fn start(upstream_ports: &[u16]) -> Option<Nginx> {
        let binary = binary()?;
        // Free ports are found by binding and letting go, so another process can take one in
        // between: start again with new ones when that happens.
        for _ in 0..3 {
            let listen = Listen::Plain {
                port: free_port(),
                redirect_port: free_port(),
            };
            match Self::spawn(binary, &listen, upstream_ports) {
                Ok(nginx) => return Some(nginx),
                Err(log) if log.contains("Address already in use") => continue,
                Err(log) => panic!("nginx did not start:\n{log}"),
            }
        }
        panic!("nginx found no free port in three tries");
    }

    /// nginx with the site rendered for `listen`; `Err` holds its log when it did not start.
    pub fn start_with(listen: &Listen, upstream_ports: &[u16]) -> Option<Result<Nginx, String>> {
        Some(Self::spawn(binary()?, listen, upstream_ports))
    }

    fn spawn(binary: &Path, listen: &Listen, upstream_ports: &[u16]) -> Result<Nginx, String> {
        let dir = prepare(listen, upstream_ports);
        let stderr = std::fs::File::create(dir.path().join("stderr.log"))
            .unwrap_or_else(|e| panic!("cannot create nginx's stderr.log: {e}"));
        let child = nginx_command(binary, dir.path())
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
        let port = match listen {
            Listen::Plain { port, .. } => *port,
            Listen::Tls { https, .. } => *https,
        };
        let mut nginx = Nginx { port, child, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = nginx.child.try_wait() {
                return Err(format!("nginx exited ({status}):\n{}", nginx.log_text()));
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(nginx);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "nginx did not listen on {port} within 10 s:\n{}",
                    nginx.log_text()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// nginx's error log (and anything it wrote to stderr), for assertion messages.
    pub fn log_text(&self) -> String {
        ["stderr.log", "error.log"]
            .iter()
            .map(|name| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("")
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: a fast stop that closes open connections (a graceful one would wait for a
        // test's WebSocket). One process, so a kill after that leaves nothing behind.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `nginx -t` on the site rendered for `listen`: whether it passed, and what it said (its output
/// and its error log). `None` after `unavailable` when nginx cannot be had.
pub fn test_config(listen: &Listen, upstream_ports: &[u16]) -> Option<(bool, String)> {
    let binary = binary()?;
    let dir = prepare(listen, upstream_ports);
    let output = nginx_command(binary, dir.path())
        .arg("-t")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
    let said = format!(
        "{}{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
    );
    Some((output.status.success(), said))
}

/// A free port on 127.0.0.1 (free when this returns).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|e| panic!("no free port on 127.0.0.1: {e}"))
}

fn nginx_command(binary: &Path, dir: &Path) -> Command {
    let mut command = Command::new(binary);
    command
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-e")
        .arg(dir.join("error.log"));
    command
}

/// A temporary directory holding `nginx.conf` and the rendered `site.conf`.
fn prepare(listen: &Listen, upstream_ports: &[u16]) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("viva-nginx-")
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot make a temporary directory: {e}"));
    let site_file = site_path();
    let site = std::fs::read_to_string(&site_file)
        .unwrap_or_else(|e| panic!("{}: {e}", site_file.display()));
    let write = |name: &str, text: String| {
        std::fs::write(dir.path().join(name), text)
            .unwrap_or_else(|e| panic!("cannot write {name}: {e}"))
    };
    write("site.conf", render_site(&site, listen, upstream_ports));
    write("nginx.conf", main_config(dir.path()));
    dir
}

/// What Debian's /etc/nginx/nginx.conf would be, with every path in `dir`.
fn main_config(dir: &Path) -> String {
    let dir = dir.display();
    format!(
        "# Written by tests/support/nginx.rs around the shipped site.\n\
         master_process off;\n\
         pid {dir}/nginx.pid;\n\
         lock_file {dir}/nginx.lock;\n\
         error_log {dir}/error.log notice;\n\
         events {{\n    worker_connections 256;\n}}\n\
         http {{\n\
         \x20   access_log off;\n\
         \x20   client_body_temp_path {dir}/client_body;\n\
         \x20   proxy_temp_path {dir}/proxy;\n\
         \x20   fastcgi_temp_path {dir}/fastcgi;\n\
         \x20   uwsgi_temp_path {dir}/uwsgi;\n\
         \x20   scgi_temp_path {dir}/scgi;\n\
         \x20   include {dir}/site.conf;\n\
         }}\n"
    )
}

/// The site with its marked blocks replaced for `listen` and nodes on 127.0.0.1:`upstream_ports`.
pub fn render_site(site: &str, listen: &Listen, upstream_ports: &[u16]) -> String {
    assert!(!upstream_ports.is_empty(), "nginx needs at least one node");
    let local = |port: &u16| format!("127.0.0.1:{port}");
    let nodes: Vec<String> = upstream_ports.iter().map(local).collect();
    let site = replace_block(site, "nodes", |block| {
        readdress(block, "server", &nodes, true)
    });
    let (http, https, tls) = match listen {
        Listen::Plain {
            port,
            redirect_port,
        } => (*redirect_port, *port, None),
        Listen::Tls {
            http,
            https,
            certificate,
            key,
        } => (*http, *https, Some((certificate, key))),
    };
    let site = replace_block(&site, "listen-http", |block| {
        readdress(block, "listen", &[local(&http)], true)
    });
    let site = replace_block(&site, "listen-https", |block| {
        readdress(block, "listen", &[local(&https)], tls.is_some())
    });
    replace_block(&site, "certificate", |block| {
        let lines = directives(block);
        let names: Vec<&str> = lines.iter().map(|(_, name, _)| *name).collect();
        assert_eq!(
            names,
            ["ssl_certificate", "ssl_certificate_key"],
            "deploy/nginx/viva.conf: the [test:certificate] block should hold ssl_certificate \
             and ssl_certificate_key, in that order"
        );
        match tls {
            None => Vec::new(),
            Some((certificate, key)) => {
                let indent = lines[0].0;
                vec![
                    format!("{indent}ssl_certificate {};", certificate.display()),
                    format!("{indent}ssl_certificate_key {};", key.display()),
                ]
            }
        }
    })
}

/// Replaces the lines between `# [test:NAME]` and `# [/test:NAME]` (the markers stay) with what
/// `with` makes of them. Panics unless each marker is there exactly once, in that order.
fn replace_block(site: &str, name: &str, with: impl FnOnce(&[&str]) -> Vec<String>) -> String {
    let begin = format!("# [test:{name}]");
    let end = format!("# [/test:{name}]");
    let lines: Vec<&str> = site.lines().collect();
    let find = |marker: &str| {
        let found: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].trim() == marker)
            .collect();
        match found[..] {
            [one] => one,
            _ => panic!(
                "deploy/nginx/viva.conf should have the line `{marker}` once (it has it {} \
                 times): tests/support/nginx.rs replaces what lies between `{begin}` and `{end}`",
                found.len()
            ),
        }
    };
    let (first, last) = (find(&begin), find(&end));
    assert!(
        first < last,
        "deploy/nginx/viva.conf: `{begin}` comes after `{end}`"
    );
    let mut out: Vec<String> = lines[..=first].iter().map(|l| l.to_string()).collect();
    out.extend(with(&lines[first + 1..last]));
    out.extend(lines[last..].iter().map(|l| l.to_string()));
    out.join("\n") + "\n"
}

/// The block's directives as (indentation, name, arguments); comments and blank lines skipped.
/// Panics on a line that is not one whole `NAME ARGS;` directive.
fn directives<'a>(block: &[&'a str]) -> Vec<(&'a str, &'a str, Vec<&'a str>)> {
    block
        .iter()
        .filter(|line| !line.trim().is_empty() && !line.trim().starts_with('#'))
        .map(|line| {
            let body = line.trim().strip_suffix(';').unwrap_or_else(|| {
                panic!(
                    "deploy/nginx/viva.conf: `{line}` inside a [test:…] block is not one directive"
                )
            });
            let indent = &line[..line.len() - line.trim_start().len()];
            let mut words = body.split_whitespace();
            let name = words.next().unwrap_or_default();
            (indent, name, words.collect())
        })
        .collect()
}

/// The block's `directive ADDRESS PARAMETERS;` lines as one line per address, with the first
/// line's parameters (or none, without `keep_parameters`). Every line must be that directive with
/// the same parameters, so nothing the tests drop can differ from what they keep.
fn readdress(
    block: &[&str],
    directive: &str,
    addresses: &[String],
    keep_parameters: bool,
) -> Vec<String> {
    let lines = directives(block);
    let Some((indent, _, first)) = lines.first() else {
        panic!("deploy/nginx/viva.conf: an empty [test:…] block where `{directive}` lines belong");
    };
    for (_, name, arguments) in &lines {
        assert_eq!(
            *name, directive,
            "deploy/nginx/viva.conf: only `{directive}` lines belong in this [test:…] block"
        );
        assert!(
            !arguments.is_empty() && arguments[1..] == first[1..],
            "deploy/nginx/viva.conf: every `{directive}` line of a [test:…] block should have \
             the same parameters ({:?} against {:?})",
            &arguments[1..],
            &first[1..]
        );
    }
    let parameters = if keep_parameters {
        first[1..].iter().map(|p| format!(" {p}")).collect()
    } else {
        String::new()
    };
    addresses
        .iter()
        .map(|address| format!("{indent}{directive} {address}{parameters};"))
        .collect()
}

/// The nginx binary: unpacked under `target/test-nginx/` (fetched the first time), else the
/// installed one; `None` after `unavailable` when neither can be had.
pub fn binary() -> Option<&'static Path> {
    static BINARY_PATH: OnceLock<Option<PathBuf>> = OnceLock::new();
    BINARY_PATH
        .get_or_init(|| {
            let dir = test_nginx_dir();
            let unpacked = dir.join(PACKAGE);
            if !unpacked.join(BINARY).is_file() {
                // Concurrent test binaries each download into a work folder of their own; the
                // first to rename its unpacked tree into place wins, the others keep it.
                let work = dir.join(format!("apt-{}", std::process::id()));
                if let Err(e) = viva::fetch::deb::fetch(PACKAGE, &unpacked, &work) {
                    let installed = Path::new("/").join(BINARY);
                    if installed.is_file() {
                        return Some(installed);
                    }
                    unavailable(&format!(
                        "nginx from the Debian package {PACKAGE}, because fetching it failed: \
                         {e}. The tests fetch it with `apt-get download` (no root needed); \
                         without apt, unpack the package into {}.",
                        unpacked.display()
                    ));
                    return None;
                }
            }
            let binary = unpacked.join(BINARY);
            if !binary.is_file() {
                unavailable(&format!("the Debian package {PACKAGE} has no {BINARY}"));
                return None;
            }
            Some(binary)
        })
        .as_deref()
}

/// `target/test-nginx/`.
fn test_nginx_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is `<target dir>/tmp`, so this follows a custom CARGO_TARGET_DIR.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf)
        .join("test-nginx");
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// An answer read by [`get`].
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// The status line and headers.
    pub head: String,
    pub body: String,
}

/// `GET path` on 127.0.0.1:`port` with `headers`, read whole (the connection closes after it).
/// Good enough for small answers with a Content-Length; the tests' other clients are real ones.
pub fn get(port: u16, path: &str, headers: &[(&str, &str)]) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("connection"))
    {
        request.push_str("Connection: close\r\n");
    }
    request.push_str("\r\n");
    std::io::Write::write_all(&mut stream, request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or((response.as_str(), ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    Ok(Response {
        status,
        head: head.to_string(),
        body: body.to_string(),
    })
}
