//! `viva loadtest`: many candidates at once against a running server, over its public API only.
//!
//! Each virtual candidate signs in (a new account, or one from a list), plans an interview,
//! opens its WebSocket, starts, and answers `turns` times: it hears the interviewer out (with
//! the server's voice, until every message's voice has ended and played, as the page waits
//! before it opens the microphone), pauses at random, then streams a
//! real recording at `pace` × real time in 20 ms frames, then `end_turn` (push-to-talk) or
//! silence until the server hears the answer end (hands-free). For every answer it times, from
//! the end of the speech, the `transcript`, the first
//! `reply_delta` and the whole `reply`; then it waits for `ended` (its last answers' feedback
//! and the report are ready), after `finish` if the interview was not over, and times that
//! from its last answer (or from `finish`). Refusals (503 `server_full`, 429) and errors are
//! counted, not retried.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use awc::ws::{Frame, Message};
use futures_util::{SinkExt, StreamExt};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::speech::audio;

/// Samples of 16 kHz audio in one frame sent (20 ms).
const FRAME_SAMPLES: usize = 320;
/// Longest wait for any one event before the candidate gives up.
const EVENT_TIMEOUT: Duration = Duration::from_secs(120);
/// Answers are given after a thinking pause of this many milliseconds, at random.
const PAUSE_MS: std::ops::Range<u64> = 300..2_000;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("no WAV answers in {0}")]
    NoAudio(PathBuf),
    #[error("cannot read {path}: {reason}")]
    Audio { path: PathBuf, reason: String },
    #[error("cannot read the accounts file {path}: {reason}")]
    Accounts { path: PathBuf, reason: String },
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The server's base URL, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    pub interviews: usize,
    pub turns: usize,
    /// Answers, 16 kHz mono PCM16; candidate `n` starts at answer `n`.
    pub answers: Vec<Vec<i16>>,
    /// How fast audio is sent, as a multiple of real time (1 = as spoken).
    pub pace: f64,
    /// `email:password` accounts to use; empty: register new ones.
    pub accounts: Vec<(String, String)>,
    pub seed: u64,
    /// Answers end by a pause the server hears (silence is streamed) instead of `end_turn`.
    pub hands_free: bool,
}

/// The largest event the load tool reads.
const MAX_EVENT_BYTES: usize = 8 << 20;

/// One answered turn's timings, from the end of the answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TurnTiming {
    pub transcript: Duration,
    pub first_delta: Duration,
    pub whole: Duration,
    /// The reply's first sentence of audio (`None`: the server does not speak itself).
    pub first_audio: Option<Duration>,
}

/// What a run measured.
#[derive(Debug, Default)]
pub struct Report {
    pub turns: Vec<TurnTiming>,
    /// Per interview, from its last answer (or `finish`) to `ended`.
    pub endings: Vec<Duration>,
    /// Interviews refused before the upgrade because the server was full or the user's limit
    /// was reached.
    pub refused: usize,
    /// Everything else that went wrong, one line each.
    pub errors: Vec<String>,
}

impl Report {
    /// p50, p95 and max of one timing, or `None` with no turns.
    pub fn summary(&self, pick: fn(&TurnTiming) -> Option<Duration>) -> Option<[Duration; 3]> {
        percentiles(self.turns.iter().filter_map(pick).collect())
    }

    /// p50, p95 and max of the waits for `ended`, or `None` when no interview ended.
    pub fn ending_summary(&self) -> Option<[Duration; 3]> {
        percentiles(self.endings.clone())
    }
}

fn percentiles(mut values: Vec<Duration>) -> Option<[Duration; 3]> {
    values.sort();
    let at = |p: f64| values[((values.len() - 1) as f64 * p).round() as usize];
    (!values.is_empty()).then(|| [at(0.5), at(0.95), at(1.0)])
}

/// The WAV files in `dir` (sorted by name), as 16 kHz PCM16.
pub fn read_answers(dir: &Path) -> Result<Vec<Vec<i16>>, LoadError> {
    let unreadable = |reason: String| LoadError::Audio {
        path: dir.to_path_buf(),
        reason,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| unreadable(e.to_string()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("wav")))
        .collect();
    files.sort();
    let answers = files
        .iter()
        .map(|path| {
            let samples = audio::read_wav(path).map_err(|e| LoadError::Audio {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            Ok(samples
                .iter()
                .map(|s| (s.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16)
                .collect())
        })
        .collect::<Result<Vec<Vec<i16>>, LoadError>>()?;
    if answers.is_empty() {
        return Err(LoadError::NoAudio(dir.to_path_buf()));
    }
    Ok(answers)
}

/// `email:password` per line (blank lines and `#` comments skipped).
pub fn read_accounts(path: &Path) -> Result<Vec<(String, String)>, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| LoadError::Accounts {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            line.split_once(':')
                .map(|(e, p)| (e.trim().to_owned(), p.to_owned()))
                .ok_or_else(|| LoadError::Accounts {
                    path: path.to_path_buf(),
                    reason: format!("`{line}` is not email:password"),
                })
        })
        .collect()
}

/// Runs every candidate at once; `on_turn` is called after each answered turn (progress).
pub async fn run(plan: &Plan, on_turn: impl Fn() + Clone + 'static) -> Report {
    let candidates = (0..plan.interviews).map(|n| {
        let plan = plan.clone();
        let on_turn = on_turn.clone();
        actix_web::rt::spawn(async move { candidate(&plan, n, on_turn).await })
    });
    let mut report = Report::default();
    for outcome in futures_util::future::join_all(candidates).await {
        match outcome {
            Ok(Outcome {
                turns,
                ending,
                refused,
                error,
            }) => {
                report.turns.extend(turns);
                report.endings.extend(ending);
                report.refused += usize::from(refused);
                report.errors.extend(error);
            }
            Err(e) => report
                .errors
                .push(format!("a candidate's task failed: {e}")),
        }
    }
    report
}

/// What one candidate got.
struct Outcome {
    turns: Vec<TurnTiming>,
    /// From the last answer (or `finish`) to `ended`.
    ending: Option<Duration>,
    refused: bool,
    error: Option<String>,
}

async fn candidate(plan: &Plan, n: usize, on_turn: impl Fn()) -> Outcome {
    let mut outcome = Outcome {
        turns: Vec::new(),
        ending: None,
        refused: false,
        error: None,
    };
    let result = interview(plan, n, &mut outcome, on_turn).await;
    if let Err(e) = result {
        outcome.error = Some(format!("candidate {n}: {e}"));
    }
    outcome
}

type Socket = actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>;

async fn interview(
    plan: &Plan,
    n: usize,
    outcome: &mut Outcome,
    on_turn: impl Fn(),
) -> Result<(), String> {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(60))
        .finish();
    let cookie = sign_in(&client, plan, n).await?;
    let (status, body) = post(
        &client,
        &format!("{}/api/v1/interviews", plan.url),
        json!({"interview_type": "behavioral", "skills": [], "difficulty": "medium",
               "question_count": plan.turns.clamp(1, 10), "time_limit_minutes": 60}),
        Some(&cookie),
    )
    .await?;
    if status != 201 {
        return Err(format!("planning an interview: HTTP {status} {body}"));
    }
    let id = body["id"].as_str().ok_or("the interview has no id")?;
    let ws_url = format!(
        "{}/api/v1/interviews/{id}/ws",
        plan.url.replacen("http", "ws", 1)
    );
    // A `voice` event carries a sentence of audio (a few hundred KiB).
    let connecting = client
        .ws(ws_url)
        .max_frame_size(MAX_EVENT_BYTES)
        .header("cookie", cookie);
    let socket = match connecting.connect().await {
        Ok((_, socket)) => socket,
        Err(awc::error::WsClientError::InvalidResponseStatus(status))
            if status.as_u16() == 503 || status.as_u16() == 429 =>
        {
            outcome.refused = true;
            return Ok(());
        }
        Err(e) => return Err(format!("opening the WebSocket: {e}")),
    };
    let mut line = Line::new(socket, plan.pace);
    let mode = if plan.hands_free {
        "hands_free"
    } else {
        "push_to_talk"
    };
    line.send(json!({"type": "mode", "mode": mode})).await?;
    let ready = line.until(|e| e["type"] == "ready").await?;
    let voiced = ready["voice"] == "local";
    line.ear.voiced = voiced;
    line.send(json!({"type": "start"})).await?;
    line.until(is_listening).await?;

    let mut rng = rand::rngs::StdRng::seed_from_u64(plan.seed.wrapping_add(n as u64));
    let frame_time = Duration::from_secs_f64(0.02 / plan.pace.max(0.01));
    for turn in 0..plan.turns {
        let pcm = &plan.answers[(n + turn) % plan.answers.len()];
        line.hear_out().await?;
        actix_web::rt::time::sleep(Duration::from_millis(rng.gen_range(PAUSE_MS))).await;
        for chunk in pcm.chunks(FRAME_SAMPLES) {
            line.send_audio(chunk).await?;
            actix_web::rt::time::sleep(frame_time).await;
        }
        let mut clock = TurnClock::new();
        if plan.hands_free {
            // Silence, as a microphone sends it, until the server hears that the answer ended.
            let silence = [0i16; FRAME_SAMPLES];
            while clock.transcript.is_none() {
                if clock.started.elapsed() > EVENT_TIMEOUT {
                    return Err(format!(
                        "turn {}: the server never heard the answer end",
                        turn + 1
                    ));
                }
                line.send_audio(&silence).await?;
                if let Ok(event) = actix_web::rt::time::timeout(frame_time, line.next_event()).await
                {
                    clock.see(&event?, turn)?;
                }
            }
        } else {
            line.send(json!({"type": "end_turn"})).await?;
        }
        let mut timing = loop {
            if let Some(timing) = clock.see(&line.next_event().await?, turn)? {
                break timing;
            }
        };
        // The voice of a reply can outlast its text: wait for its first sentence too.
        let mut over = None;
        let mut heard = !voiced || timing.first_audio.is_some();
        while over.is_none() || !heard {
            let event = line.next_event().await?;
            match event["type"].as_str() {
                Some("voice") if !heard && clock.is_reply(&event) => {
                    timing.first_audio = Some(clock.started.elapsed());
                    heard = true;
                }
                Some("voice_end") if clock.is_reply(&event) => heard = true,
                Some("error") => return Err(format!("turn {}: {event}", turn + 1)),
                _ if is_listening(&event) || event["type"] == "ended" => over = Some(event),
                _ => {}
            }
        }
        outcome.turns.push(timing);
        on_turn();
        if over.is_some_and(|e| e["type"] == "ended") {
            // Every planned question was asked.
            outcome.ending = Some(clock.started.elapsed());
            return Ok(());
        }
    }
    let finished = Instant::now();
    line.send(json!({"type": "finish"})).await?;
    line.until(|e| e["type"] == "ended").await?;
    outcome.ending = Some(finished.elapsed());
    Ok(())
}

/// A candidate's WebSocket, with what they have heard on it.
struct Line {
    socket: Socket,
    ear: Ear,
}

impl Line {
    fn new(socket: Socket, pace: f64) -> Self {
        Self {
            socket,
            ear: Ear {
                pace: pace.max(0.01),
                ..Ear::default()
            },
        }
    }

    async fn send(&mut self, message: Value) -> Result<(), String> {
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .map_err(|e| format!("sending {message}: {e}"))
    }

    async fn send_audio(&mut self, samples: &[i16]) -> Result<(), String> {
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        self.socket
            .send(Message::Binary(bytes.into()))
            .await
            .map_err(|e| format!("sending audio: {e}"))
    }

    async fn next_event(&mut self) -> Result<Value, String> {
        let event = next_event(&mut self.socket).await?;
        self.ear.hear(&event);
        Ok(event)
    }

    /// Reads events until one satisfies `done`; returns it.
    async fn until(&mut self, done: impl Fn(&Value) -> bool) -> Result<Value, String> {
        loop {
            let event = self.next_event().await?;
            if event["type"] == "error" {
                return Err(format!("error event: {event}"));
            }
            if done(&event) {
                return Ok(event);
            }
        }
    }

    /// Waits until everything the interviewer said has been spoken and played, as the page
    /// does before it opens the microphone (at once when the server does not speak).
    async fn hear_out(&mut self) -> Result<(), String> {
        while self.ear.is_waiting_for_voice() {
            self.next_event().await?;
        }
        if let Some(until) = self.ear.played_until {
            actix_web::rt::time::sleep_until(until.into()).await;
        }
        Ok(())
    }
}

/// What a candidate hears of the interviewer's own voice: each message's sentences, played
/// one after another without gaps from the moment each arrives, at the candidate's pace.
#[derive(Debug, Default)]
struct Ear {
    /// The server speaks (`ready.voice` is `local`).
    voiced: bool,
    pace: f64,
    /// Messages whose voice has not ended yet.
    speaking: HashSet<String>,
    /// Messages whose voice has ended (a `voice_end` may come before its `reply` is read).
    ended: HashSet<String>,
    /// When the audio received so far will have played out.
    played_until: Option<Instant>,
}

impl Ear {
    fn hear(&mut self, event: &Value) {
        if !self.voiced {
            return;
        }
        match event["type"].as_str() {
            Some("reply") => {
                if let Some(id) = event["message"]["id"].as_str() {
                    if !self.ended.contains(id) {
                        self.speaking.insert(id.to_owned());
                    }
                }
            }
            Some("voice_end") => {
                if let Some(id) = event["message_id"].as_str() {
                    self.speaking.remove(id);
                    self.ended.insert(id.to_owned());
                }
            }
            Some("voice") => {
                let seconds = audio_seconds(event).unwrap_or(0.0) / self.pace;
                let now = Instant::now();
                let start = self.played_until.map_or(now, |until| until.max(now));
                self.played_until = Some(start + Duration::from_secs_f64(seconds));
            }
            _ => {}
        }
    }

    fn is_waiting_for_voice(&self) -> bool {
        !self.speaking.is_empty()
    }
}

/// The length of a `voice` event's audio (base64 of 16-bit samples at `sample_rate`).
fn audio_seconds(event: &Value) -> Option<f64> {
    let audio = event["audio"].as_str()?;
    let sample_rate = event["sample_rate"].as_f64().filter(|rate| *rate > 0.0)?;
    let padding = audio.bytes().rev().take_while(|&b| b == b'=').count();
    let bytes = (audio.len() / 4 * 3).saturating_sub(padding);
    Some((bytes / 2) as f64 / sample_rate)
}

/// One turn's events timed from the end of the answer's speech.
struct TurnClock {
    started: Instant,
    transcript: Option<Duration>,
    first_delta: Option<Duration>,
    first_audio: Option<Duration>,
    /// The reply's message (from its first piece): audio of earlier messages is not its own.
    reply_id: Option<String>,
}

impl TurnClock {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            transcript: None,
            first_delta: None,
            first_audio: None,
            reply_id: None,
        }
    }

    fn is_reply(&self, event: &Value) -> bool {
        self.reply_id
            .as_deref()
            .is_some_and(|id| event["message_id"] == id)
    }

    /// Notes `event`; the turn's timings once its reply is complete.
    fn see(&mut self, event: &Value, turn: usize) -> Result<Option<TurnTiming>, String> {
        let now = self.started.elapsed();
        match event["type"].as_str() {
            Some("transcript") => self.transcript = Some(now),
            Some("reply_delta") => {
                self.first_delta.get_or_insert(now);
                self.reply_id
                    .get_or_insert_with(|| event["message_id"].as_str().unwrap_or("").to_owned());
            }
            Some("voice") if self.is_reply(event) => {
                self.first_audio.get_or_insert(now);
            }
            Some("reply") => {
                return Ok(Some(TurnTiming {
                    transcript: self.transcript.unwrap_or(now),
                    first_delta: self.first_delta.unwrap_or(now),
                    whole: now,
                    first_audio: self.first_audio,
                }))
            }
            Some("error") => return Err(format!("turn {}: {event}", turn + 1)),
            _ => {}
        }
        Ok(None)
    }
}

fn is_listening(event: &Value) -> bool {
    event["type"] == "state" && event["state"] == "listening"
}

async fn sign_in(client: &awc::Client, plan: &Plan, n: usize) -> Result<String, String> {
    let (email, password) = match plan.accounts.get(n % plan.accounts.len().max(1)) {
        Some((email, password)) => (email.clone(), password.clone()),
        None => {
            let email = format!(
                "loadtest-{}-{n}-{}@example.com",
                std::process::id(),
                plan.seed
            );
            let password = format!("load-test-{}-{n}-Passw0rd!", plan.seed);
            let (status, body) = post(
                client,
                &format!("{}/api/v1/auth/register", plan.url),
                json!({"email": email, "password": password, "display_name": format!("Load test {n}")}),
                None,
            )
            .await?;
            if status != 201 && status != 200 {
                return Err(format!(
                    "registering an account: HTTP {status} {body} (many candidates from one \
                     address meet the registration limit: give --accounts FILE)"
                ));
            }
            (email, password)
        }
    };
    let mut res = client
        .post(format!("{}/api/v1/auth/login", plan.url))
        .send_json(&json!({"email": email, "password": password}))
        .await
        .map_err(|e| format!("signing in: {e}"))?;
    if res.status() != 200 {
        let body = res.body().await.unwrap_or_default();
        return Err(format!(
            "signing in as {email}: HTTP {} {}",
            res.status(),
            String::from_utf8_lossy(&body)
        ));
    }
    res.headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
        .ok_or_else(|| "signing in gave no session cookie".to_owned())
}

async fn post(
    client: &awc::Client,
    url: &str,
    body: Value,
    cookie: Option<&str>,
) -> Result<(u16, Value), String> {
    let mut req = client.post(url);
    if let Some(cookie) = cookie {
        req = req.insert_header(("cookie", cookie));
    }
    let mut res = req
        .send_json(&body)
        .await
        .map_err(|e| format!("POST {url}: {e}"))?;
    let bytes = res.body().await.unwrap_or_default();
    Ok((
        res.status().as_u16(),
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

async fn next_event(socket: &mut Socket) -> Result<Value, String> {
    // One deadline for the event, not per frame: the server's pings must not keep a client
    // waiting forever for an event that never comes.
    let deadline = tokio::time::Instant::now() + EVENT_TIMEOUT;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .map_err(|_| format!("no event for {} s", EVENT_TIMEOUT.as_secs()))?;
        match frame {
            Some(Ok(Frame::Text(bytes))) => {
                return serde_json::from_slice(&bytes).map_err(|e| format!("bad event: {e}"))
            }
            Some(Ok(Frame::Ping(p))) => {
                let _ = socket.send(Message::Pong(p)).await;
            }
            Some(Ok(Frame::Close(reason))) => return Err(format!("closed: {reason:?}")),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(format!("connection failed: {e}")),
            None => return Err("connection ended".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voice(id: &str, seconds: usize) -> Value {
        use base64::Engine;
        let pcm = vec![0u8; seconds * 16_000 * 2];
        json!({"type": "voice", "message_id": id, "sentence": 0, "sample_rate": 16_000,
               "audio": base64::engine::general_purpose::STANDARD.encode(pcm)})
    }

    #[test]
    fn a_voice_event_lasts_as_long_as_its_samples() {
        let seconds = audio_seconds(&voice("m", 2)).expect("a voice event has audio");
        assert!((seconds - 2.0).abs() < 1e-9, "{seconds}");
        let odd = json!({"audio": "AAA=", "sample_rate": 1});
        assert_eq!(audio_seconds(&odd), Some(1.0));
        assert_eq!(audio_seconds(&json!({"audio": "AAAA"})), None);
    }

    #[test]
    fn the_candidate_waits_for_every_spoken_message_and_its_audio_to_play_out() {
        let mut ear = Ear {
            voiced: true,
            pace: 2.0,
            ..Ear::default()
        };
        let before = Instant::now();
        ear.hear(&json!({"type": "reply", "message": {"id": "a"}}));
        ear.hear(&voice("a", 2));
        ear.hear(&voice("a", 4));
        assert!(ear.is_waiting_for_voice());
        // A voice_end read before its reply still counts.
        ear.hear(&json!({"type": "voice_end", "message_id": "b"}));
        ear.hear(&json!({"type": "reply", "message": {"id": "b"}}));
        ear.hear(&json!({"type": "voice_end", "message_id": "a"}));
        assert!(!ear.is_waiting_for_voice());
        // Six seconds of audio, played back to back at twice the speed.
        let until = ear.played_until.expect("audio was heard");
        let played = until - before;
        assert!(
            played >= Duration::from_secs(3) && played < Duration::from_secs(4),
            "{played:?}"
        );

        let mut deaf = Ear::default();
        deaf.hear(&json!({"type": "reply", "message": {"id": "a"}}));
        assert!(!deaf.is_waiting_for_voice() && deaf.played_until.is_none());
    }

    #[test]
    fn the_summary_is_p50_p95_and_max() {
        let report = Report {
            turns: (1..=20)
                .map(|ms| TurnTiming {
                    transcript: Duration::from_millis(ms),
                    first_delta: Duration::from_millis(ms * 10),
                    whole: Duration::from_millis(ms * 100),
                    first_audio: None,
                })
                .collect(),
            ..Report::default()
        };
        let [p50, p95, max] = report.summary(|t| Some(t.transcript)).expect("turns");
        assert_eq!(
            (p50, p95, max),
            (
                Duration::from_millis(11),
                Duration::from_millis(19),
                Duration::from_millis(20)
            )
        );
        assert!(Report::default().summary(|t| Some(t.whole)).is_none());
    }

    #[test]
    fn accounts_are_read_one_per_line() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("accounts.txt");
        std::fs::write(
            &path,
            "# test\na@example.com:pass:word\n\n b@example.com : x\n",
        )
        .expect("write");
        assert_eq!(
            read_accounts(&path).expect("valid"),
            [
                ("a@example.com".to_owned(), "pass:word".to_owned()),
                ("b@example.com".to_owned(), " x".to_owned())
            ]
        );
        std::fs::write(&path, "nobody\n").expect("write");
        assert!(read_accounts(&path).is_err());
    }
}
