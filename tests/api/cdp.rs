//! A minimal Chrome DevTools Protocol client for the browser tests: launch headless Chromium,
//! attach to its tab over a WebSocket, send commands and match answers by id (events are
//! ignored). Waiting is always a bounded poll of a condition, never a fixed sleep.
//! Written here, not taken from a CDP crate: the tests need a handful of commands over one
//! WebSocket client they already have (awc); the crates bring their own async stack and more.

use base64::Engine as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::Duration;

use awc::error::WsProtocolError;
use awc::ws::{Frame, Message};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::time::{timeout, Instant};

const STARTUP: Duration = Duration::from_secs(30);
const COMMAND: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(100);

/// Installs a recorder before any page script runs; DevTools-injected scripts are exempt from CSP.
const RECORD_CSP_VIOLATIONS: &str = "window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
        window.__cspViolations.push(`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'}`));";

pub fn find_chromium() -> Option<PathBuf> {
    let usual = PathBuf::from("/usr/bin/chromium");
    if usual.is_file() {
        return Some(usual);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|candidate| candidate.is_file())
}

/// A headless Chromium with a throwaway profile; killed when dropped.
pub struct Browser {
    process: Child,
    /// `127.0.0.1:PORT` of the DevTools HTTP endpoint.
    devtools: String,
    _profile: TempDir,
}

impl Browser {
    pub async fn launch(chromium: &Path) -> Self {
        Self::launch_with(chromium, &[]).await
    }

    /// [`Browser::launch`] with more command-line switches (e.g. a fake microphone).
    pub async fn launch_with(chromium: &Path, extra_args: &[String]) -> Self {
        let profile = tempfile::tempdir().expect("temp dir for the Chromium profile");
        let mut process = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1280,900",
                "--remote-debugging-port=0",
            ])
            .args(extra_args)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", chromium.display()));
        let stderr = process.stderr.take().expect("stderr is piped");
        let (announced, devtools_url) = oneshot::channel();
        std::thread::spawn(move || watch_stderr(stderr, announced));
        // From here on, a panic drops (and so kills) the browser.
        let mut browser = Self {
            process,
            devtools: String::new(),
            _profile: profile,
        };
        let url = match timeout(STARTUP, devtools_url).await {
            Ok(Ok(Ok(url))) => url,
            Ok(Ok(Err(stderr))) => {
                panic!("Chromium exited before DevTools listened:\n{stderr}")
            }
            Ok(Err(_)) => panic!("Chromium's stderr reader stopped"),
            Err(_) => panic!("Chromium did not announce DevTools within {STARTUP:?}"),
        };
        // ws://127.0.0.1:PORT/devtools/browser/<id>
        browser.devtools = url
            .strip_prefix("ws://")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("unexpected DevTools address {url}"))
            .to_owned();
        browser
    }

    /// Attaches to the browser's tab.
    pub async fn open_page(&self) -> Page<impl Socket> {
        let ws_url = self.page_target().await;
        let (_, socket) = awc::Client::new()
            .ws(ws_url.as_str())
            .max_frame_size(64 << 20)
            .connect()
            .await
            .unwrap_or_else(|e| panic!("connect to {ws_url}: {e}"));
        let mut page = Page { socket, next_id: 0 };
        page.call("Page.enable", json!({}))
            .await
            .expect("enable the Page domain");
        page.call(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": RECORD_CSP_VIOLATIONS }),
        )
        .await
        .expect("install the CSP violation recorder");
        page
    }

    /// The WebSocket URL of the first page target, waiting for Chromium to open one.
    async fn page_target(&self) -> String {
        let list = format!("http://{}/json/list", self.devtools);
        let deadline = Instant::now() + WAIT;
        loop {
            let targets: Value = match awc::Client::new().get(&list).send().await {
                Ok(mut res) => res
                    .body()
                    .await
                    .ok()
                    .and_then(|body| serde_json::from_slice(&body).ok())
                    .unwrap_or_default(),
                Err(_) => Value::Null,
            };
            let page = targets
                .as_array()
                .into_iter()
                .flatten()
                .find(|t| t["type"] == "page")
                .and_then(|t| t["webSocketDebuggerUrl"].as_str());
            if let Some(url) = page {
                return url.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no page target at {list}: {targets}"
            );
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Sends the `DevTools listening on ws://…` address, or everything Chromium said if it
/// exits first; then keeps draining stderr so Chromium never blocks on a full pipe.
fn watch_stderr(stderr: ChildStderr, announced: oneshot::Sender<Result<String, String>>) {
    let mut announced = Some(announced);
    let mut seen = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        if let Some(url) = line.strip_prefix("DevTools listening on ") {
            if let Some(tx) = announced.take() {
                let _ = tx.send(Ok(url.trim().to_owned()));
            }
        } else if announced.is_some() {
            seen.push(line);
        }
    }
    if let Some(tx) = announced {
        let _ = tx.send(Err(seen.join("\n")));
    }
}

/// The DevTools WebSocket as awc hands it over.
pub trait Socket:
    Stream<Item = Result<Frame, WsProtocolError>> + Sink<Message, Error = WsProtocolError> + Unpin
{
}

impl<S> Socket for S where
    S: Stream<Item = Result<Frame, WsProtocolError>>
        + Sink<Message, Error = WsProtocolError>
        + Unpin
{
}

/// One tab, driven over its DevTools WebSocket.
pub struct Page<S> {
    socket: S,
    next_id: u64,
}

impl<S: Socket> Page<S> {
    /// Loads `url` and waits until the new document has loaded.
    pub async fn navigate(&mut self, url: &str) {
        self.load(
            &format!("navigate to {url}"),
            "Page.navigate",
            json!({ "url": url }),
        )
        .await;
    }

    /// Reloads the page and waits until the new document has loaded.
    pub async fn reload(&mut self) {
        self.load("reload", "Page.reload", json!({})).await;
    }

    /// Runs `method` and waits for a fresh document: the old one is marked first, so a
    /// check cannot pass on the page that is being replaced.
    async fn load(&mut self, what: &str, method: &str, params: Value) {
        self.eval("window.__cdpOldDocument = true").await;
        let result = self
            .call(method, params)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        if let Some(error) = result["errorText"].as_str() {
            panic!("{what}: {error}");
        }
        let loaded = "document.readyState === 'complete' && window.__cdpOldDocument === undefined";
        self.wait_for(what, loaded, |done: &bool| *done).await;
    }

    /// The value of a JavaScript expression (promises are awaited); panics if it throws.
    pub async fn eval(&mut self, expression: &str) -> Value {
        self.try_eval(expression)
            .await
            .unwrap_or_else(|e| panic!("{e}\nin: {expression}"))
    }

    /// Evaluates `expression` every 100 ms until `done` accepts its value (read as `T`);
    /// panics after 15 s with the last value and what the page showed.
    pub async fn wait_for<T: DeserializeOwned + std::fmt::Debug>(
        &mut self,
        what: &str,
        expression: &str,
        done: impl Fn(&T) -> bool,
    ) -> T {
        self.wait_for_within(WAIT, what, expression, done).await
    }

    /// [`Page::wait_for`] with another time limit.
    pub async fn wait_for_within<T: DeserializeOwned + std::fmt::Debug>(
        &mut self,
        limit: Duration,
        what: &str,
        expression: &str,
        done: impl Fn(&T) -> bool,
    ) -> T {
        let deadline = Instant::now() + limit;
        loop {
            // Errors are expected while a navigation swaps documents: keep polling.
            let last = match self.try_eval(expression).await {
                Ok(value) => match serde_json::from_value::<T>(value.clone()) {
                    Ok(read) if done(&read) => return read,
                    Ok(read) => format!("{read:?}"),
                    Err(e) => format!("{value} ({e})"),
                },
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                let page_text = self
                    .try_eval("document.body?.innerText")
                    .await
                    .unwrap_or_default();
                panic!("timed out after {limit:?} waiting for {what}\nlast: {last}\npage text:\n{page_text}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Saves a PNG of the whole page as `target/browser-screens/{name}.png`.
    pub async fn screenshot(&mut self, name: &str) -> PathBuf {
        // The document's whole size: without a clip, some pages capture only the viewport.
        let metrics = self
            .call("Page.getLayoutMetrics", json!({}))
            .await
            .expect("read the layout metrics");
        let size = &metrics["cssContentSize"];
        let clip = json!({
            "x": 0, "y": 0, "scale": 1,
            "width": size["width"].as_f64().unwrap_or(1280.0),
            "height": size["height"].as_f64().unwrap_or(800.0),
        });
        let shot = self
            .call(
                "Page.captureScreenshot",
                json!({ "format": "png", "captureBeyondViewport": true, "clip": clip }),
            )
            .await
            .expect("capture a screenshot");
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap_or_default())
            .expect("screenshot is base64");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-screens");
        std::fs::create_dir_all(&dir).expect("create target/browser-screens");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }

    /// Content-Security-Policy violations the current document has reported.
    pub async fn csp_violations(&mut self) -> Vec<String> {
        let value = self.eval("window.__cspViolations").await;
        serde_json::from_value(value).expect("the CSP recorder ran in this document")
    }

    async fn try_eval(&mut self, expression: &str) -> Result<Value, String> {
        let params =
            json!({ "expression": expression, "awaitPromise": true, "returnByValue": true });
        let mut result = self.call("Runtime.evaluate", params).await?;
        if let Some(thrown) = result.get("exceptionDetails") {
            let why = thrown["exception"]["description"]
                .as_str()
                .or(thrown["text"].as_str());
            return Err(format!(
                "JavaScript threw: {}",
                why.unwrap_or("(no description)")
            ));
        }
        Ok(result["result"]["value"].take())
    }

    /// Sends one command and returns its `result`, skipping the events in between.
    async fn call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        let command = json!({ "id": id, "method": method, "params": params }).to_string();
        self.socket
            .send(Message::Text(command.into()))
            .await
            .map_err(|e| format!("{method}: send: {e}"))?;
        let deadline = Instant::now() + COMMAND;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .map_err(|_| format!("{method}: no answer within {COMMAND:?}"))?
                .ok_or_else(|| format!("{method}: Chromium closed the DevTools socket"))?
                .map_err(|e| format!("{method}: receive: {e}"))?;
            let text = match frame {
                Frame::Text(text) => text,
                // Chromium sends every message as one frame.
                Frame::Continuation(_) => {
                    return Err(format!("{method}: unexpected fragmented frame"))
                }
                Frame::Close(reason) => return Err(format!("{method}: socket closed: {reason:?}")),
                Frame::Binary(_) | Frame::Ping(_) | Frame::Pong(_) => continue,
            };
            let mut message: Value = serde_json::from_slice(&text)
                .map_err(|e| format!("{method}: bad JSON from Chromium: {e}"))?;
            if message["id"] != id {
                continue;
            }
            if let Some(error) = message.get("error") {
                return Err(format!("{method}: {error}"));
            }
            return Ok(message["result"].take());
        }
    }
}
