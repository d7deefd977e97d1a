//! The live interview over a real WebSocket, against the in-process server with the real
//! models: real speech streamed in 20 ms chunks, typed answers, reconnects, barge-in,
//! supervision, and every way a client can get it wrong.

use std::time::Duration;

use actix_codec::Framed;
use awc::http::StatusCode;
use awc::ws::{Codec, Frame, Message};
use awc::BoxedSocket;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};

use viva::db::{DbPool, PoolOptions};

use crate::helpers::{spawn_app, spawn_live_app, Backend, TestApp};
use crate::on_both_backends;
use crate::support;

/// How long any one event may take to arrive (the models are real but small; CI is slow).
const EVENT_TIMEOUT: Duration = Duration::from_secs(60);
/// 20 ms of 16 kHz PCM16.
const CHUNK_SAMPLES: usize = 320;

/// A WebSocket client speaking the protocol.
pub(crate) struct Live {
    conn: Framed<BoxedSocket, Codec>,
    /// Every event received, in order.
    pub(crate) seen: Vec<Value>,
    /// How long one wait for an event may take.
    pub(crate) event_timeout: Duration,
}

pub(crate) enum Next {
    Event(Value),
    Closed(Option<u16>),
}

impl Live {
    pub(crate) async fn connect(app: &TestApp, interview_id: &str, cookie: &str) -> Self {
        Self::connect_to(app.port, interview_id, cookie).await
    }

    /// Connects with a session cookie to the server on `port` (in-process or a child process).
    pub(crate) async fn connect_to(port: u16, interview_id: &str, cookie: &str) -> Self {
        Self::try_connect_to(port, interview_id, cookie)
            .await
            .expect("the WebSocket upgrade succeeds")
    }

    /// [`Self::connect_to`], or `None` when the upgrade is refused or the connection fails (a
    /// load balancer with no node to send it to).
    pub(crate) async fn try_connect_to(
        port: u16,
        interview_id: &str,
        cookie: &str,
    ) -> Option<Self> {
        let url = format!("ws://127.0.0.1:{port}/api/v1/interviews/{interview_id}/ws");
        let (response, conn) = awc::Client::new()
            .ws(url)
            .header("cookie", cookie)
            .max_frame_size(1 << 20)
            .connect()
            .await
            .ok()?;
        (response.status() == StatusCode::SWITCHING_PROTOCOLS).then(|| Self {
            conn,
            seen: Vec::new(),
            event_timeout: EVENT_TIMEOUT,
        })
    }

    /// Connects as a candidate with an invite token (no cookie).
    pub(crate) async fn connect_with_token(app: &TestApp, interview_id: &str, token: &str) -> Self {
        let url = format!(
            "ws://127.0.0.1:{}/api/v1/interviews/{interview_id}/ws?token={token}",
            app.port
        );
        let (response, conn) = awc::Client::new()
            .ws(url)
            .max_frame_size(1 << 20)
            .connect()
            .await
            .expect("the WebSocket upgrade succeeds");
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        Self {
            conn,
            seen: Vec::new(),
            event_timeout: EVENT_TIMEOUT,
        }
    }

    pub(crate) async fn send_json(&mut self, message: Value) {
        self.send_text(&message.to_string()).await;
    }

    async fn send_text(&mut self, text: &str) {
        self.conn
            .send(Message::Text(text.to_owned().into()))
            .await
            .expect("send text frame");
    }

    async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.conn
            .send(Message::Binary(bytes.into()))
            .await
            .expect("send binary frame");
    }

    pub(crate) async fn next(&mut self) -> Next {
        // One deadline for the whole wait: the server's pings must not keep a stuck test alive.
        let deadline = std::time::Instant::now() + self.event_timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let frame = actix_web::rt::time::timeout(left, self.conn.next())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "no event within {:?}; seen: {:#?}",
                        self.event_timeout, self.seen
                    )
                });
            match frame {
                None => return Next::Closed(None),
                Some(Err(e)) => panic!("WebSocket error: {e}"),
                Some(Ok(Frame::Text(bytes))) => {
                    let event: Value = serde_json::from_slice(&bytes).expect("events are JSON");
                    self.seen.push(event.clone());
                    return Next::Event(event);
                }
                Some(Ok(Frame::Ping(payload))) => {
                    let _ = self.conn.send(Message::Pong(payload)).await;
                }
                Some(Ok(Frame::Close(reason))) => {
                    return Next::Closed(reason.map(|r| u16::from(r.code)))
                }
                Some(Ok(other)) => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// Waits for `count` of the server's pings (answering them); fails on anything else.
    pub(crate) async fn pings(&mut self, count: usize) {
        for _ in 0..count {
            let frame = actix_web::rt::time::timeout(EVENT_TIMEOUT, self.conn.next())
                .await
                .unwrap_or_else(|_| panic!("no ping within {EVENT_TIMEOUT:?}"));
            match frame {
                Some(Ok(Frame::Ping(payload))) => {
                    let _ = self.conn.send(Message::Pong(payload)).await;
                }
                other => panic!("expected a ping, got {other:?}; seen: {:#?}", self.seen),
            }
        }
    }

    pub(crate) async fn event(&mut self) -> Value {
        match self.next().await {
            Next::Event(event) => event,
            Next::Closed(code) => panic!("closed ({code:?}) while waiting; seen: {:#?}", self.seen),
        }
    }

    /// Reads events until one of `kind`, returning it and the events before it.
    pub(crate) async fn until(&mut self, kind: &str) -> (Value, Vec<Value>) {
        let mut before = Vec::new();
        loop {
            let event = self.event().await;
            if event["type"] == kind {
                return (event, before);
            }
            before.push(event);
        }
    }

    /// Reads events until the interviewer is listening again; returns the `reply` on the way.
    pub(crate) async fn until_listening(&mut self) -> Value {
        let mut reply = Value::Null;
        loop {
            let event = self.event().await;
            match event["type"].as_str() {
                Some("reply") => reply = event["message"].clone(),
                Some("state") if event["state"] == "listening" && !reply.is_null() => return reply,
                Some("error") => panic!("error event: {event}; seen: {:#?}", self.seen),
                _ => {}
            }
        }
    }

    /// Streams 16 kHz mono samples in 20 ms chunks at about 3x real time (the server refuses
    /// audio faster than 4x).
    async fn stream_audio(&mut self, samples: &[i16]) {
        for chunk in samples.chunks(CHUNK_SAMPLES) {
            let bytes = chunk.iter().flat_map(|s| s.to_le_bytes()).collect();
            self.send_binary(bytes).await;
            actix_web::rt::time::sleep(Duration::from_micros(6_700)).await;
        }
    }

    /// Sends `start` and waits for the greeting with the first question.
    pub(crate) async fn start(&mut self) -> Value {
        self.send_json(json!({"type": "start"})).await;
        let greeting = self.until_listening().await;
        assert_eq!(greeting["role"], "interviewer");
        assert_eq!(greeting["kind"], "question");
        assert_eq!(greeting["question_position"], 1);
        greeting
    }
}

async fn expect_error(live: &mut Live, code: &str) {
    let (error, _) = live.until("error").await;
    assert_eq!(error["code"], code, "{error}");
    assert!(!error["message"].as_str().unwrap_or("").is_empty());
}

/// A signed-in user's new interview of `questions` questions, connected (past `ready`).
async fn connected(app: &TestApp, questions: i64) -> (String, String, Live) {
    let (_, cookie) = app.signed_in_user().await;
    let id = new_interview(app, &cookie, questions).await;
    let mut live = Live::connect(app, &id, &cookie).await;
    live.until("ready").await;
    (cookie, id, live)
}

/// [`connected`], and past the greeting.
async fn started(app: &TestApp, questions: i64) -> (String, String, Live) {
    let (cookie, id, mut live) = connected(app, questions).await;
    live.start().await;
    (cookie, id, live)
}

/// The kinds of the messages a `ready` event carries, in order.
fn history_kinds(ready: &Value) -> Vec<String> {
    ready["interview"]["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["kind"].as_str().unwrap_or("").to_owned())
        .collect()
}

pub(crate) fn events_of<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

/// A planned behavioral interview of `questions` questions; returns its id.
pub(crate) async fn new_interview(app: &TestApp, cookie: &str, questions: i64) -> String {
    new_interview_of_type(app, cookie, "behavioral", questions).await
}

/// A planned interview of `interview_type` with `questions` questions; returns its id.
pub(crate) async fn new_interview_of_type(
    app: &TestApp,
    cookie: &str,
    interview_type: &str,
    questions: i64,
) -> String {
    let r = app
        .post_json(
            "/api/v1/interviews",
            &json!({
                "interview_type": interview_type,
                "skills": [],
                "difficulty": "medium",
                "question_count": questions,
                "time_limit_minutes": 30,
            }),
            Some(cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["id"].as_str().expect("id").to_owned()
}

async fn stored_messages(app: &TestApp, cookie: &str, id: &str) -> (Value, Vec<Value>) {
    let r = app
        .get(&format!("/api/v1/interviews/{id}"), Some(cookie))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let messages = r.body["messages"].as_array().expect("messages").clone();
    (r.body, messages)
}

fn pcm16(path: &std::path::Path) -> Vec<i16> {
    let mut reader = hound::WavReader::open(path).expect("a WAV file");
    let spec = reader.spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (16_000, 1, 16)
    );
    reader
        .samples::<i16>()
        .collect::<Result<_, _>>()
        .expect("samples")
}

static SILENCE_2S: [i16; 32_000] = [0; 32_000];

/// A typed answer with enough substance for a follow-up.
pub(crate) const SUBSTANTIAL_ANSWER: &str =
    "Last year our checkout service kept timing out during sales, \
so I profiled it, found that every request opened a new database connection, and introduced a \
connection pool with a circuit breaker. Timeouts dropped from five percent to almost zero and \
the team adopted the pattern for two other services.";

// ---- the upgrade ------------------------------------------------------------------------

async fn the_upgrade_needs_access_to_the_interview(backend: Backend) {
    let Some(app) = spawn_live_app(backend, |_| {}).await else {
        return;
    };
    let (_, owner) = app.signed_in_user().await;
    let (_, other) = app.signed_in_user().await;
    let id = new_interview(&app, &owner, 2).await;
    let path = format!("/api/v1/interviews/{id}/ws");

    let r = app.get(&path, None).await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    let r = app.get(&path, Some(&other)).await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let r = app
        .get("/api/v1/interviews/no-such-id/ws", Some(&owner))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .send(
            TestApp::client()
                .get(app.url(&path))
                .insert_header(("cookie", owner.as_str()))
                .insert_header(("origin", "https://evil.example")),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::FORBIDDEN, "cross_site_request")
    );

    // A real WebSocket client is refused the same way, before any upgrade.
    let refused = awc::Client::new()
        .ws(format!("ws://127.0.0.1:{}{path}", app.port))
        .header("cookie", other.as_str())
        .connect()
        .await;
    match refused {
        Err(awc::error::WsClientError::InvalidResponseStatus(status)) => {
            assert_eq!(status, StatusCode::NOT_FOUND)
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("another user's interview must not upgrade"),
    }
}

#[actix_web::test]
async fn without_models_the_upgrade_answers_503() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let (_, cookie) = app.signed_in_user().await;
    let id = new_interview(&app, &cookie, 1).await;
    let r = app
        .get(&format!("/api/v1/interviews/{id}/ws"), Some(&cookie))
        .await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::SERVICE_UNAVAILABLE, "models_unavailable")
    );
}

// ---- a spoken answer ----------------------------------------------------------------------

async fn a_spoken_answer_is_transcribed_answered_and_stored(backend: Backend) {
    let Some(jfk) = support::jfk() else { return };
    let Some(app) = spawn_live_app(backend, |_| {}).await else {
        return;
    };
    let (_, cookie) = app.signed_in_user().await;
    let id = new_interview(&app, &cookie, 2).await;
    let mut live = Live::connect(&app, &id, &cookie).await;

    let (ready, _) = live.until("ready").await;
    assert_eq!(ready["state"], "idle");
    assert_eq!(ready["interview"]["status"], "pending");
    assert_eq!(ready["interview"]["messages"], json!([]));
    let greeting = live.start().await;
    let first_question = ready["interview"]["questions"][0]["text"]
        .as_str()
        .expect("q1");
    assert!(
        greeting["text"]
            .as_str()
            .expect("text")
            .ends_with(first_question),
        "the greeting reads the first planned question: {greeting}"
    );

    live.stream_audio(&pcm16(&jfk)).await;
    live.stream_audio(&SILENCE_2S).await;
    let (transcript, before) = live.until("transcript").await;
    assert_eq!(events_of(&before, "speech_started").len(), 1, "{before:#?}");
    assert!(before
        .iter()
        .any(|e| e["type"] == "state" && e["state"] == "transcribing"));
    let answer = &transcript["message"];
    let text = answer["text"].as_str().expect("text").to_lowercase();
    for words in [
        "ask not what your country can do for you",
        "fellow americans",
    ] {
        assert!(text.contains(words), "transcript `{text}` lacks `{words}`");
    }
    assert_eq!(answer["role"], "candidate");
    let audio_ms = answer["audio_ms"].as_i64().expect("audio_ms");
    assert!((10_000..=14_000).contains(&audio_ms), "audio_ms {audio_ms}");
    assert!(
        answer["transcription_ms"]
            .as_i64()
            .expect("transcription_ms")
            > 0
    );

    let start = live.seen.len();
    let reply = live.until_listening().await;
    let after: Vec<Value> = live.seen[start..].to_vec();
    let streamed: String = events_of(&after, "reply_delta")
        .iter()
        .map(|e| e["text"].as_str().expect("delta text"))
        .collect();
    assert!(!streamed.is_empty(), "the reply streams: {after:#?}");
    assert_eq!(streamed, reply["text"].as_str().expect("reply text"));
    assert!(after
        .iter()
        .any(|e| e["type"] == "state" && e["state"] == "speaking"));
    assert_eq!(reply["role"], "interviewer");
    assert_eq!(reply["interrupted"], false);
    assert!(reply["generation_ms"].as_i64().is_some());

    // Feedback on the answer follows the reply, computed off the critical path.
    let (feedback, _) = live.until("feedback").await;
    let feedback = &feedback["feedback"];
    assert_eq!(feedback["message_id"], answer["id"]);
    assert_eq!(feedback["question_position"], 1);
    let score = feedback["score"].as_i64().expect("score");
    assert!((1..=5).contains(&score), "{feedback}");
    let rubric = feedback["rubric"].as_array().expect("rubric points");
    assert!((2..=5).contains(&rubric.len()), "{feedback}");
    assert!(["model", "fallback"].contains(&feedback["source"].as_str().unwrap_or("")));
    assert!(!feedback["strength"].as_str().unwrap_or("").is_empty());
    assert!(!feedback["improvement"].as_str().unwrap_or("").is_empty());
    let delivery = &feedback["delivery"];
    assert_eq!(delivery["words"], text.split_whitespace().count());
    let wpm = delivery["words_per_minute"]
        .as_f64()
        .expect("spoken: a rate");
    assert!((60.0..=260.0).contains(&wpm), "JFK's pace: {wpm}");
    assert!(
        delivery["longest_pause_ms"].as_u64().is_some(),
        "{delivery}"
    );
    let first_word = delivery["time_to_first_word_ms"]
        .as_u64()
        .expect("time to first word");
    assert!(
        first_word < 3_000,
        "the recording starts speaking at once: {first_word} ms"
    );

    let (interview, messages) = stored_messages(&app, &cookie, &id).await;
    assert_eq!(interview["status"], "in_progress");
    assert!(interview["started_at"].is_string());
    assert_eq!(interview["feedback"][0]["message_id"], answer["id"]);
    assert_eq!(interview["feedback"][0]["score"], score);
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(roles, ["interviewer", "candidate", "interviewer"]);
    assert_eq!(messages[1]["text"], answer["text"]);
    assert_eq!(messages[1]["audio_ms"], answer["audio_ms"]);
    assert_eq!(messages[2]["text"], reply["text"]);
    assert_eq!(
        messages
            .iter()
            .map(|m| m["seq"].as_i64().unwrap_or(0))
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
}

#[actix_web::test]
async fn push_to_talk_ends_the_answer_on_end_turn() {
    let Some(jfk) = support::jfk() else { return };
    let Some(app) = spawn_live_app(Backend::Sqlite, |_| {}).await else {
        return;
    };
    let (_, _, mut live) = connected(&app, 2).await;
    live.send_json(json!({"type": "mode", "mode": "push_to_talk"}))
        .await;
    live.start().await;
    // In push-to-talk, a pause while the button is held does not end the answer...
    live.stream_audio(&pcm16(&jfk)).await;
    live.stream_audio(&SILENCE_2S).await;
    live.send_json(json!({"type": "start"})).await;
    let (state, before) = live.until("state").await;
    assert_eq!(
        state["state"], "listening",
        "still the same answer: {before:#?}"
    );
    assert!(
        before.iter().all(|e| e["type"] != "transcript"),
        "{before:#?}"
    );
    // ...only `end_turn` does.
    live.send_json(json!({"type": "end_turn"})).await;
    let (transcript, _) = live.until("transcript").await;
    let text = transcript["message"]["text"]
        .as_str()
        .expect("text")
        .to_lowercase();
    assert!(text.contains("your country"), "{text}");
    live.until_listening().await;
}

#[actix_web::test]
async fn silence_and_noise_alone_produce_no_answer() {
    let Some(app) = spawn_live_app(Backend::Sqlite, |_| {}).await else {
        return;
    };
    let (cookie, id, mut live) = started(&app, 2).await;
    let mut noise = Vec::new();
    let mut state = 12345u32;
    for _ in 0..(16_000 * 6) {
        // Quiet white noise (about -50 dBFS) from a fixed linear congruential sequence.
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        noise.push(((state >> 16) as i16) / 300);
    }
    live.stream_audio(&SILENCE_2S).await;
    live.stream_audio(&noise).await;
    live.stream_audio(&SILENCE_2S).await;
    // Give the server time to act on the last frames, then prove it is still just listening.
    live.send_json(json!({"type": "start"})).await;
    let (state_event, before) = live.until("state").await;
    assert_eq!(state_event["state"], "listening");
    assert!(
        before
            .iter()
            .all(|e| e["type"] != "transcript" && e["type"] != "speech_started"),
        "{before:#?}"
    );
    let (_, messages) = stored_messages(&app, &cookie, &id).await;
    assert_eq!(messages.len(), 1, "only the greeting: {messages:#?}");
}

// ---- typed answers, reconnects, take-over ---------------------------------------------------

async fn a_reconnect_resumes_with_the_whole_history(backend: Backend) {
    let Some(app) = spawn_live_app(backend, |_| {}).await else {
        return;
    };
    let (cookie, id, mut live) = started(&app, 2).await;
    live.send_json(json!({"type": "text", "text": SUBSTANTIAL_ANSWER}))
        .await;
    let (transcript, _) = live.until("transcript").await;
    assert_eq!(transcript["message"]["text"], SUBSTANTIAL_ANSWER);
    assert_eq!(transcript["message"]["audio_ms"], Value::Null);
    let follow_up = live.until_listening().await;
    assert_eq!(follow_up["kind"], "follow_up", "{follow_up}");
    assert_eq!(follow_up["question_position"], 1);
    assert!(follow_up["text"].as_str().expect("text").ends_with('?'));
    drop(live);

    let mut live = Live::connect(&app, &id, &cookie).await;
    let (ready, _) = live.until("ready").await;
    let history = ready["interview"]["messages"].as_array().expect("messages");
    let kinds: Vec<&str> = history
        .iter()
        .map(|m| m["kind"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds, ["question", "answer", "follow_up"]);
    assert_eq!(history[2]["text"], follow_up["text"]);
    assert_eq!(ready["state"], "listening");
    // Resuming does not greet again; the next answer moves on to question 2.
    live.send_json(json!({"type": "start"})).await;
    let (state, _) = live.until("state").await;
    assert_eq!(state["state"], "listening");
    live.send_json(json!({"type": "text", "text": "We measured it with the p99 latency dashboards and the error budget."}))
        .await;
    let next = live.until_listening().await;
    assert_eq!(next["kind"], "question", "{next}");
    assert_eq!(next["question_position"], 2);
    let second = ready["interview"]["questions"][1]["text"]
        .as_str()
        .expect("q2");
    assert!(next["text"].as_str().expect("text").ends_with(second));
}

#[actix_web::test]
async fn a_second_connection_takes_over_the_interview() {
    let Some(app) = spawn_live_app(Backend::Sqlite, |_| {}).await else {
        return;
    };
    let (cookie, id, mut first) = connected(&app, 1).await;
    let mut second = Live::connect(&app, &id, &cookie).await;
    second.until("ready").await;
    let (error, _) = first.until("error").await;
    assert_eq!(error["code"], "taken_over");
    match first.next().await {
        Next::Closed(code) => assert_eq!(code, Some(4000)),
        Next::Event(e) => panic!("expected the close frame, got {e}"),
    }
    second.start().await;
}

// ---- bad input ------------------------------------------------------------------------------

#[actix_web::test]
async fn malformed_oversized_and_too_fast_frames_get_error_events() {
    let Some(app) = spawn_live_app(Backend::Sqlite, |_| {}).await else {
        return;
    };
    let (cookie, id, mut live) = connected(&app, 1).await;

    live.send_text("this is not json").await;
    expect_error(&mut live, "invalid_message").await;
    live.send_json(json!({"type": "dance"})).await;
    expect_error(&mut live, "invalid_message").await;
    live.send_json(json!({"type": "text", "text": ""})).await;
    expect_error(&mut live, "invalid_message").await;
    live.send_json(json!({"type": "debug_panic_please"})).await;
    expect_error(&mut live, "invalid_message").await;
    live.send_json(json!({"type": "text", "text": "hello"}))
        .await;
    expect_error(&mut live, "not_started").await;
    live.send_binary(vec![1, 2, 3]).await;
    expect_error(&mut live, "invalid_audio").await;
    live.send_binary(vec![0; 70_000]).await;
    expect_error(&mut live, "frame_too_large").await;
    live.send_text(&"x".repeat(20_000)).await;
    expect_error(&mut live, "invalid_message").await;

    live.start().await;
    // 2 s of audio is the allowance; 4 s at once is far faster than 4x real time.
    live.send_binary(vec![0; 64_000]).await;
    live.send_binary(vec![0; 64_000]).await;
    expect_error(&mut live, "audio_too_fast").await;

    // The connection survived all of it.
    live.send_json(json!({"type": "text", "text": SUBSTANTIAL_ANSWER}))
        .await;
    live.until("transcript").await;
    // Answering while the interviewer is busy is refused, not queued.
    live.send_json(json!({"type": "text", "text": "and another thing"}))
        .await;
    let (error, _) = live.until("error").await;
    assert_eq!(error["code"], "not_your_turn");
    live.until_listening().await;
    let (_, messages) = stored_messages(&app, &cookie, &id).await;
    assert_eq!(messages.len(), 3, "{messages:#?}");
}

// ---- barge-in, finish, supervision -----------------------------------------------------------

#[actix_web::test]
async fn interrupt_stops_the_reply_and_stores_it_as_interrupted() {
    let Some(app) = spawn_live_app(Backend::Sqlite, |_| {}).await else {
        return;
    };
    let (cookie, id, mut live) = started(&app, 2).await;
    live.send_json(json!({"type": "text", "text": SUBSTANTIAL_ANSWER}))
        .await;
    // The acknowledgement comes first; the model is still writing the question.
    let (delta, _) = live.until("reply_delta").await;
    live.send_json(json!({"type": "interrupt"})).await;
    let reply = live.until_listening().await;
    assert_eq!(reply["interrupted"], true, "{reply}");
    assert_eq!(
        reply["text"], delta["text"],
        "only what was said before the barge-in"
    );
    let (_, messages) = stored_messages(&app, &cookie, &id).await;
    assert_eq!(messages[2]["interrupted"], true);
    assert_eq!(messages[2]["kind"], "follow_up");
    // The interview carries on: the next answer moves to question 2.
    live.send_json(json!({"type": "text", "text": "It was mostly about the connection pool."}))
        .await;
    let next = live.until_listening().await;
    assert_eq!(next["question_position"], 2, "{next}");
}

async fn finish_completes_the_interview(backend: Backend) {
    let Some(app) = spawn_live_app(backend, |_| {}).await else {
        return;
    };
    let (cookie, id, mut live) = started(&app, 3).await;
    live.send_json(json!({"type": "finish"})).await;
    let (ended, before) = live.until("ended").await;
    assert_eq!(ended["reason"], "finished");
    let closing = events_of(&before, "reply");
    assert_eq!(closing.len(), 1);
    assert_eq!(closing[0]["message"]["kind"], "closing");
    match live.next().await {
        Next::Closed(code) => assert_eq!(code, Some(1000)),
        Next::Event(e) => panic!("expected the close frame, got {e}"),
    }
    let (interview, messages) = stored_messages(&app, &cookie, &id).await;
    assert_eq!(interview["status"], "completed");
    assert!(interview["completed_at"].is_string());
    assert_eq!(messages.len(), 2);
    let r = app
        .get(&format!("/api/v1/interviews/{id}/ws"), Some(&cookie))
        .await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::CONFLICT, "interview_closed")
    );
}

#[actix_web::test]
async fn the_last_answer_closes_the_interview() {
    let Some(app) = spawn_live_app(Backend::Sqlite, |_| {}).await else {
        return;
    };
    let (cookie, id, mut live) = started(&app, 1).await;
    // "I don't know" moves on; with no question left, the interviewer closes.
    live.send_json(json!({"type": "text", "text": "I don't know."}))
        .await;
    let (ended, before) = live.until("ended").await;
    assert_eq!(ended["reason"], "completed");
    let replies = events_of(&before, "reply");
    assert_eq!(replies[0]["message"]["kind"], "closing");
    // The report comes just before the end, with the score written to the interview.
    let report_event = events_of(&before, "report");
    assert_eq!(report_event.len(), 1, "{before:#?}");
    // The interview waits for the last answer's feedback before it says it is over.
    let feedback = events_of(&before, "feedback");
    assert_eq!(feedback.len(), 1, "{before:#?}");
    assert!(
        feedback[0]["feedback"]["delivery"]["words_per_minute"].is_null(),
        "typed"
    );
    let (interview, _) = stored_messages(&app, &cookie, &id).await;
    assert_eq!(interview["status"], "completed");

    // The report follows from the stored feedback: one question, one answer scored s of 5
    // gives 100 × (s − 1) / 4 overall.
    let score = feedback[0]["feedback"]["score"].as_f64().expect("score");
    let r = app
        .get(&format!("/api/v1/interviews/{id}/report"), Some(&cookie))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let report = &r.body;
    assert_eq!(
        report["overall"],
        (100.0 * (score - 1.0) / 4.0).round() as u64
    );
    assert_eq!(report, &report_event[0]["report"]);
    assert_eq!(interview["score"].as_f64(), report["overall"].as_f64());
    assert_eq!(interview["summary"], report["summary"]);
    assert_eq!(report["questions_planned"], 1);
    assert_eq!(report["questions_answered"], 1);
    assert_eq!(report["questions"][0]["score"].as_f64(), Some(score));
    assert!(
        !report["skills"].as_array().expect("skills").is_empty(),
        "{report}"
    );
    let summary = report["summary"].as_str().unwrap_or("");
    assert!(
        summary.starts_with("You answered 1 of 1 questions"),
        "{summary}"
    );
    let (_, stranger) = app.signed_in_user().await;
    let r = app
        .get(&format!("/api/v1/interviews/{id}/report"), Some(&stranger))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn a_panicking_session_is_restarted_from_the_database() {
    let Some(app) = spawn_live_app(Backend::Sqlite, |_| {}).await else {
        return;
    };
    let (_, _, mut live) = started(&app, 2).await;
    live.send_json(json!({"type": "text", "text": "I don't know."}))
        .await;
    let moved_on = live.until_listening().await;
    assert_eq!(moved_on["question_position"], 2);

    live.send_json(json!({"type": "debug_panic"})).await;
    let (error, _) = live.until("error").await;
    assert_eq!(error["code"], "session_restarted");
    // The supervisor restarted the actor; it reloaded everything and says so.
    let (ready, _) = live.until("ready").await;
    assert_eq!(history_kinds(&ready), ["question", "answer", "question"]);
    assert_eq!(ready["state"], "listening");
    // And the interview carries on where it was: question 2 is the last.
    live.send_json(json!({"type": "text", "text": "I don't know that one either."}))
        .await;
    let (ended, _) = live.until("ended").await;
    assert_eq!(ended["reason"], "completed");
}

// ---- time, restarts, abandonment -------------------------------------------------------------

/// Moves the interview's start `minutes` into the past, as if it had been running that long.
async fn backdate_start(app: &TestApp, id: &str, minutes: i64) {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use viva::db::schema::interviews;

    let pool = DbPool::connect(
        &app.database,
        &PoolOptions {
            max_size: 1,
            timeout: Duration::from_secs(5),
        },
    )
    .expect("pool");
    let mut conn = pool.get().await.expect("connection");
    let started = viva::db::now() - chrono::Duration::minutes(minutes);
    let conn = &mut conn;
    let changed: usize = viva::db_run!(conn, {
        diesel::update(interviews::table.find(id))
            .set(interviews::started_at.eq(Some(started)))
            .execute(conn)
            .await
            .expect("update started_at")
    });
    assert_eq!(changed, 1);
}

#[actix_web::test]
async fn the_time_limit_closes_the_interview() {
    let Some(app) = spawn_live_app(Backend::Sqlite, |_| {}).await else {
        return;
    };
    let (cookie, id, live) = started(&app, 3).await;
    drop(live);
    // 31 minutes into a 30-minute interview, rebuilt from the database by a server that has no
    // session in memory (a restart, another node): it finds the interview past its limit.
    backdate_start(&app, &id, 31).await;
    let Some(second) = second_server(&app).await else {
        return;
    };
    let mut live = Live::connect(&second, &id, &cookie).await;
    let (ended, before) = live.until("ended").await;
    assert_eq!(ended["reason"], "time_limit");
    let closing = events_of(&before, "reply");
    assert_eq!(closing.len(), 1, "{before:#?}");
    assert_eq!(closing[0]["message"]["kind"], "closing");
    let (interview, _) = stored_messages(&second, &cookie, &id).await;
    assert_eq!(interview["status"], "completed");
}

/// Another server (a restart, or another node) on `first`'s database and data directory, so
/// the same cookie key.
async fn second_server(first: &TestApp) -> Option<TestApp> {
    let data_dir = first.data_dir.path().to_path_buf();
    let database = first.database.clone();
    spawn_live_app(Backend::Sqlite, move |s| {
        s.data_dir = data_dir;
        s.database_url = Some(database);
    })
    .await
}

#[actix_web::test]
async fn another_server_on_the_same_database_resumes_the_interview() {
    let Some(first) = spawn_live_app(Backend::Sqlite, |_| {}).await else {
        return;
    };
    let (cookie, id, mut live) = started(&first, 2).await;
    live.send_json(json!({"type": "text", "text": "I don't know."}))
        .await;
    live.until_listening().await;
    drop(live);

    let Some(second) = second_server(&first).await else {
        return;
    };
    let mut live = Live::connect(&second, &id, &cookie).await;
    let (ready, _) = live.until("ready").await;
    assert_eq!(history_kinds(&ready), ["question", "answer", "question"]);
    assert_eq!(ready["state"], "listening");
    live.send_json(json!({"type": "text", "text": "No idea, sorry."}))
        .await;
    let (ended, _) = live.until("ended").await;
    assert_eq!(ended["reason"], "completed", "question 2 was the last");
}

async fn stale_interviews_are_marked_abandoned(backend: Backend) {
    let Some(app) = spawn_live_app(backend, |_| {}).await else {
        return;
    };
    let (_, cookie) = app.signed_in_user().await;
    let left = new_interview(&app, &cookie, 2).await;
    let recent = new_interview(&app, &cookie, 2).await;
    for id in [&left, &recent] {
        let mut live = Live::connect(&app, id, &cookie).await;
        live.until("ready").await;
        live.start().await;
    }
    backdate_start(&app, &left, 30 + 61).await;
    backdate_start(&app, &recent, 30 + 59).await;
    let pool = DbPool::connect(
        &app.database,
        &PoolOptions {
            max_size: 1,
            timeout: Duration::from_secs(5),
        },
    )
    .expect("pool");
    let abandoned = viva::interview::interviews::abandon_stale(&pool, viva::db::now())
        .await
        .expect("clean-up runs");
    assert_eq!(abandoned, 1);
    let (interview, _) = stored_messages(&app, &cookie, &left).await;
    assert_eq!(interview["status"], "abandoned");
    assert!(interview["completed_at"].is_string());
    let (interview, _) = stored_messages(&app, &cookie, &recent).await;
    assert_eq!(interview["status"], "in_progress");
    let r = app
        .get(&format!("/api/v1/interviews/{left}/ws"), Some(&cookie))
        .await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::CONFLICT, "interview_closed")
    );
}

on_both_backends!(
    stale_interviews_are_marked_abandoned,
    the_upgrade_needs_access_to_the_interview,
    a_spoken_answer_is_transcribed_answered_and_stored,
    a_reconnect_resumes_with_the_whole_history,
    finish_completes_the_interview,
    one_live_interview_more_than_allowed_is_refused_before_the_upgrade,
);

// ---- per-user caps ----------------------------------------------------------------------

async fn one_live_interview_more_than_allowed_is_refused_before_the_upgrade(backend: Backend) {
    let Some(app) = spawn_live_app(backend, |s| {
        s.max_live_interviews_per_user = 2;
        s.interview_grace = Duration::from_secs(1);
    })
    .await
    else {
        return;
    };
    let (_, cookie) = app.signed_in_user().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(new_interview(&app, &cookie, 1).await);
    }
    let mut first = Live::connect(&app, &ids[0], &cookie).await;
    first.until("ready").await;
    let mut second = Live::connect(&app, &ids[1], &cookie).await;
    second.until("ready").await;

    // A real WebSocket client gets 429 instead of the upgrade.
    let refused = awc::Client::new()
        .ws(format!(
            "ws://127.0.0.1:{}/api/v1/interviews/{}/ws",
            app.port, ids[2]
        ))
        .header("cookie", cookie.as_str())
        .connect()
        .await;
    match refused {
        Err(awc::error::WsClientError::InvalidResponseStatus(status)) => {
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS)
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a third live interview must not upgrade"),
    }
    // A plain request says why, in the usual JSON shape.
    let r = app
        .get(&format!("/api/v1/interviews/{}/ws", ids[2]), Some(&cookie))
        .await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_live_interviews")
    );
    assert!(r.body["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains('2')));

    // Coming back to an interview that is already live is not one more (it takes over).
    let mut again = Live::connect(&app, &ids[1], &cookie).await;
    again.until("ready").await;
    expect_error(&mut second, "taken_over").await;
    // Someone else is not held back by this user.
    let (_, other) = app.signed_in_user().await;
    let theirs = new_interview(&app, &other, 1).await;
    Live::connect(&app, &theirs, &other)
        .await
        .until("ready")
        .await;

    // Once a closed interview's session ends (after its 1 s grace), its slot is free again.
    drop((first, second, again));
    let url = format!(
        "ws://127.0.0.1:{}/api/v1/interviews/{}/ws",
        app.port, ids[2]
    );
    upgrades_once_refusals_end(&url, &cookie, StatusCode::TOO_MANY_REQUESTS).await;
}

/// Tries the upgrade at `url` until it succeeds, each refusal being `refused`, within
/// `EVENT_TIMEOUT`.
async fn upgrades_once_refusals_end(url: &str, cookie: &str, refused: StatusCode) {
    let deadline = std::time::Instant::now() + EVENT_TIMEOUT;
    loop {
        match awc::Client::new()
            .ws(url)
            .header("cookie", cookie)
            .connect()
            .await
        {
            Ok(_) => return,
            Err(awc::error::WsClientError::InvalidResponseStatus(status)) => {
                assert_eq!(status, refused)
            }
            Err(e) => panic!("unexpected error {e}"),
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the place never came back"
        );
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
}

// ---- the node's capacity ----------------------------------------------------------------

/// Beyond `max_live_interviews` a new interview is refused before the upgrade with 503
/// `server_full` and Retry-After (whoever opens it), while the running ones carry on and can be
/// rejoined; the refusals and the count show in /metrics; a place frees when a page closes.
#[actix_web::test]
async fn a_full_server_refuses_a_new_live_interview_with_503_and_retry_after() {
    let Some(app) = spawn_live_app(Backend::Sqlite, |s| {
        s.max_live_interviews = Some(2);
        // Longer than the test: a place must free when a page closes, not when its grace ends.
        s.interview_grace = Duration::from_secs(600);
        s.metrics_bind = Some("127.0.0.1:0".parse().expect("an address"));
    })
    .await
    else {
        return;
    };
    let (_, first_user) = app.signed_in_user().await;
    let (_, second_user) = app.signed_in_user().await;
    let a = new_interview(&app, &first_user, 1).await;
    let b = new_interview(&app, &second_user, 1).await;
    let c = new_interview(&app, &second_user, 1).await;
    let mut live_a = Live::connect(&app, &a, &first_user).await;
    live_a.until("ready").await;
    let mut live_b = Live::connect(&app, &b, &second_user).await;
    live_b.until("ready").await;

    let url = format!("ws://127.0.0.1:{}/api/v1/interviews/{c}/ws", app.port);
    let refused = awc::Client::new()
        .ws(url.as_str())
        .header("cookie", second_user.as_str())
        .connect()
        .await;
    match refused {
        Err(awc::error::WsClientError::InvalidResponseStatus(status)) => {
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE)
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a third live interview must not upgrade on a full server"),
    }
    let r = app
        .get(&format!("/api/v1/interviews/{c}/ws"), Some(&second_user))
        .await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::SERVICE_UNAVAILABLE, "server_full")
    );
    assert_eq!(r.header("retry-after"), Some("60"));
    assert!(r.body["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("try again")));

    // The running interviews are not disturbed, and rejoining one is never refused.
    let mut again = Live::connect(&app, &a, &first_user).await;
    again.until("ready").await;
    expect_error(&mut live_a, "taken_over").await;
    again.send_json(json!({"type": "start"})).await;
    again.until("reply").await;
    again
        .send_json(json!({"type": "text", "text": "I led the migration of our billing service to Postgres, and cut its p95 latency in half."}))
        .await;
    again.until("reply").await;

    let metrics = scrape_metrics(&app).await;
    for line in [
        "viva_live_interviews 2",
        "viva_live_interview_capacity 2",
        "viva_live_interviews_refused_total{reason=\"full\"} 2",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no `{line}` in\n{metrics}"
        );
    }
    assert!(metric(&metrics, "viva_model_requests_in_queue{model=\"speech\"}") >= 0.0);
    // The model workers' counters: the reply to the typed answer went through the LLM worker
    // (which may still be stopping the generation the reply no longer needed).
    // The first request is the follow-up prompt the server caches at start.
    let metrics =
        metrics_once_at_least(&app, "viva_model_requests_total{model=\"llm\"}", 2.0).await;
    assert!(metric(&metrics, "viva_model_busy_seconds_total{model=\"llm\"}") > 0.0);
    assert!(metric(&metrics, "viva_model_tokens_total{model=\"llm\"}") >= 1.0);
    assert!(metric(&metrics, "viva_model_prompt_tokens_total{model=\"llm\"}") >= 1.0);
    let steps = metric(&metrics, "viva_model_batch_steps_total{model=\"llm\"}");
    let rows = metric(&metrics, "viva_model_batch_rows_total{model=\"llm\"}");
    assert!(
        steps >= 1.0 && rows >= steps,
        "every batched step advances at least one reply: {rows} rows in {steps} steps"
    );
    // The typed answer's assessment ran through the background queue once its reply was out.
    metrics_once_at_least(&app, "viva_model_requests_total{model=\"assessment\"}", 1.0).await;

    // A closed page frees its place at once: its session waits out its grace doing nothing.
    drop((live_a, live_b, again));
    upgrades_once_refusals_end(&url, &second_user, StatusCode::SERVICE_UNAVAILABLE).await;
}

/// The app's /metrics text once its `name` has reached `at_least` (counters of work that
/// finishes after the event the test saw).
async fn metrics_once_at_least(app: &TestApp, name: &str, at_least: f64) -> String {
    let deadline = std::time::Instant::now() + EVENT_TIMEOUT;
    loop {
        let metrics = scrape_metrics(app).await;
        if metric(&metrics, name) >= at_least {
            return metrics;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "`{name}` never reached {at_least}:\n{metrics}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The app's /metrics text (its `metrics_bind` listener).
async fn scrape_metrics(app: &TestApp) -> String {
    let port = app.metrics_port.expect("a metrics port");
    let body = TestApp::client()
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .expect("metrics")
        .body()
        .await
        .expect("metrics body");
    String::from_utf8_lossy(&body).into_owned()
}

/// The value of the sample `name` (with its labels) in metrics text.
fn metric(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no `{name}` in\n{metrics}"))
}

// ---- the load tool ------------------------------------------------------------------------

/// A load plan against `app`: `interviews` candidates answering `turns` times with two
/// LibriVox recordings, 4× real time, push-to-talk; `None` after a loud line without them.
pub(crate) fn load_plan(
    app: &TestApp,
    interviews: usize,
    turns: usize,
) -> Option<viva::loadtest::Plan> {
    let recordings = support::librivox();
    if recordings.is_empty() {
        support::unavailable("the LibriVox recordings (pocketsphinx-testdata)");
        return None;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, _) in recordings.iter().take(2) {
        std::fs::copy(path, dir.path().join(path.file_name().expect("a name"))).expect("copy");
    }
    Some(viva::loadtest::Plan {
        url: app.address.clone(),
        interviews,
        turns,
        answers: viva::loadtest::read_answers(dir.path()).expect("answers"),
        pace: 4.0,
        accounts: Vec::new(),
        seed: 7,
        hands_free: false,
    })
}

/// `viva loadtest`'s engine against a real server: every candidate answers with real speech and
/// gets timed turns; beyond the node's capacity the extra candidate is counted as refused.
#[actix_web::test]
async fn the_load_tool_times_real_turns_and_counts_refusals() {
    let Some(app) = spawn_live_app(Backend::Sqlite, |s| s.max_live_interviews = Some(2)).await
    else {
        return;
    };
    let Some(plan) = load_plan(&app, 3, 2) else {
        return;
    };
    let answered = std::rc::Rc::new(std::cell::Cell::new(0));
    let counter = answered.clone();
    let report = viva::loadtest::run(&plan, move || counter.set(counter.get() + 1)).await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.refused, 1, "three candidates, room for two");
    assert_eq!(report.turns.len(), 4, "two candidates answered twice");
    assert_eq!(answered.get(), 4, "progress was reported per turn");
    assert_eq!(
        report.endings.len(),
        2,
        "both interviews that ran were seen to end"
    );
    for turn in &report.turns {
        assert!(turn.transcript <= turn.first_delta && turn.first_delta <= turn.whole);
        assert!(turn.transcript > Duration::ZERO);
    }
    let [p50, p95, max] = report.summary(|t| Some(t.whole)).expect("turns");
    assert!(p50 <= p95 && p95 <= max);

    // Hands-free: the answer ends when the server hears the silence that follows it.
    let hands_free = viva::loadtest::Plan {
        interviews: 1,
        turns: 1,
        seed: 8,
        hands_free: true,
        ..plan
    };
    let report = viva::loadtest::run(&hands_free, || {}).await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.turns.len(), 1, "refused {}", report.refused);
    let turn = report.turns[0];
    let end_silence = viva::config::Settings::default().turn_end_silence;
    assert!(
        turn.transcript >= end_silence.div_f64(hands_free.pace),
        "the transcript came {:?} after the speech, before the end silence was streamed",
        turn.transcript
    );
    assert!(turn.transcript <= turn.first_delta && turn.first_delta <= turn.whole);
}
