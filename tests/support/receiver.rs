//! A real webhook receiver for the webhook tests: an HTTP/1.1 server on a std `TcpListener`
//! (its own thread, one request per connection) that checks each request's Standard Webhooks
//! signature against the secrets it was given, written here from the specification and
//! independent of viva's own signing code, and records what arrived. It answers with the status
//! it is told to (200 by default; a number of failures first when asked).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: String,
    /// `webhook-signature`.
    pub signature: String,
    pub content_type: String,
    pub body: String,
    /// Which of the receiver's secrets (by index) a signature of the request verifies with.
    pub verified_by: Vec<usize>,
    /// The status it was answered with.
    pub answered: u16,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

#[derive(Default)]
struct State {
    secrets: Vec<String>,
    /// Requests answered with `failure_status` before the receiver answers 200.
    failures_left: usize,
    failure_status: u16,
    received: Vec<Received>,
}

pub struct Receiver {
    pub port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A port nothing listens on now (for a receiver that is down, then starts there).
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("address").port()
}

/// Whether `header` carries a `v1` signature of `id.timestamp.body` under `secret`
/// (`whsec_<base64 key>`), exactly as the specification describes verification.
pub fn verify_signature(
    secret: &str,
    id: &str,
    timestamp: &str,
    body: &[u8],
    header: &str,
) -> bool {
    let Ok(key) = STANDARD.decode(secret.trim_start_matches("whsec_")) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
        return false;
    };
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    header.split(' ').any(|sig| sig == expected)
}

impl Receiver {
    /// A receiver on a free port.
    pub fn start() -> Self {
        Self::start_on(0)
    }

    /// A receiver on `port` (0: a free one).
    pub fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the receiver");
        let port = listener.local_addr().expect("address").port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let state = state.clone();
                    std::thread::spawn(move || serve(stream, &state));
                }
            })
        };
        Self {
            port,
            state,
            stop,
            thread: Some(thread),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The secrets signatures are checked against (index order is `verified_by`'s).
    pub fn set_secrets(&self, secrets: &[&str]) {
        self.state().secrets = secrets.iter().map(|s| s.to_string()).collect();
    }

    /// Answers the next `count` requests with `status`, then 200 again.
    pub fn fail_next(&self, count: usize, status: u16) {
        let mut state = self.state();
        state.failures_left = count;
        state.failure_status = status;
    }

    pub fn received(&self) -> Vec<Received> {
        self.state().received.clone()
    }

    /// Waits (up to 60 s) until `count` requests arrived, without blocking the thread (the
    /// in-process server may be driven by this thread's runtime).
    pub async fn arrived(&self, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let received = self.received();
            if received.len() >= count || Instant::now() > deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() || request_line.is_empty() {
        return;
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let header = |name: &str| headers.get(name).cloned().unwrap_or_default();
    let (id, timestamp, signature) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    );
    let answered = {
        let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
        let verified_by = state
            .secrets
            .iter()
            .enumerate()
            .filter(|(_, secret)| verify_signature(secret, &id, &timestamp, &body, &signature))
            .map(|(i, _)| i)
            .collect();
        let answered = if state.failures_left > 0 {
            state.failures_left -= 1;
            state.failure_status
        } else {
            200
        };
        state.received.push(Received {
            path,
            id,
            timestamp,
            signature,
            content_type: header("content-type"),
            body: String::from_utf8_lossy(&body).into_owned(),
            verified_by,
            answered,
        });
        answered
    };
    let _ = write!(
        writer,
        "HTTP/1.1 {answered} Answer\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let _ = writer.flush();
}
