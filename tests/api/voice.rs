//! The interviewer's own voice over the live WebSocket, with the real Piper voice: every
//! interviewer message is spoken sentence by sentence, in order, its words those of the
//! message; an interrupt stops it; with the browser's voice the server sends no audio.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};

use crate::helpers::{spawn_live_app, spawn_live_app_with_voice, Backend};
use crate::live::{load_plan, new_interview, Live, SUBSTANTIAL_ANSWER};

/// The voice's audio for one message: its sentences in arrival order.
#[derive(Debug, Default)]
struct Heard {
    sentences: Vec<(u64, String, Vec<i16>)>,
    end: Option<Value>,
}

/// Reads events until the `voice_end` of `message_id`, collecting its `voice` events.
async fn hear(live: &mut Live, message_id: &str) -> Heard {
    let mut heard = Heard::default();
    // Audio that came before this call (e.g. while waiting for `listening`).
    for event in live.seen.clone() {
        take(&mut heard, &event, message_id);
    }
    while heard.end.is_none() {
        let event = live.event().await;
        take(&mut heard, &event, message_id);
    }
    heard
}

fn take(heard: &mut Heard, event: &Value, message_id: &str) {
    if event["message_id"] != message_id {
        return;
    }
    match event["type"].as_str() {
        Some("voice") => {
            assert_eq!(event["sample_rate"], 22_050, "{event}");
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(event["audio"].as_str().expect("audio is base64 text"))
                .expect("valid base64");
            assert_eq!(bytes.len() % 2, 0, "whole 16-bit samples");
            let samples = bytes
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]))
                .collect();
            let text = event["text"].as_str().unwrap_or_default().to_owned();
            heard
                .sentences
                .push((event["sentence"].as_u64().expect("index"), text, samples));
        }
        Some("voice_end") => heard.end = Some(event.clone()),
        _ => {}
    }
}

fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Root mean square of the samples, 0..1.
fn loudness(samples: &[i16]) -> f64 {
    let sum: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
    (sum / samples.len().max(1) as f64).sqrt() / 32768.0
}

/// Every sentence in order, each real speech (long enough, not silence), and together the
/// message's whole text.
fn assert_spoken_whole(heard: &Heard, message: &Value) {
    let indexes: Vec<u64> = heard.sentences.iter().map(|(i, _, _)| *i).collect();
    let expected: Vec<u64> = (0..heard.sentences.len() as u64).collect();
    assert_eq!(indexes, expected, "sentences in order, none missing");
    assert!(!heard.sentences.is_empty(), "the message was spoken");
    for (index, text, samples) in &heard.sentences {
        let seconds = samples.len() as f64 / 22_050.0;
        assert!(
            seconds > 0.25 && seconds < 30.0,
            "sentence {index} ({text:?}) lasts {seconds:.2} s"
        );
        assert!(
            loudness(samples) > 0.01,
            "sentence {index} ({text:?}) is nearly silent"
        );
    }
    let said: Vec<&str> = heard.sentences.iter().map(|(_, t, _)| t.as_str()).collect();
    assert_eq!(
        words(&said.join(" ")),
        words(message["text"].as_str().unwrap_or_default())
    );
    let end = heard.end.as_ref().expect("voice_end");
    assert_eq!(end["interrupted"], false, "{end}");
    assert_eq!(end["sentences"], heard.sentences.len(), "{end}");
}

#[actix_web::test]
async fn the_interviewer_speaks_each_message_sentence_by_sentence() {
    let Some(app) = spawn_live_app_with_voice(Backend::Sqlite, |_| {}).await else {
        return;
    };
    let (_, cookie) = app.signed_in_user().await;
    let id = new_interview(&app, &cookie, 2).await;
    let mut live = Live::connect(&app, &id, &cookie).await;
    let (ready, _) = live.until("ready").await;
    assert_eq!(ready["voice"], "local", "{ready}");

    let greeting = live.start().await;
    let heard = hear(&mut live, greeting["id"].as_str().expect("id")).await;
    assert_spoken_whole(&heard, &greeting);

    live.seen.clear();
    live.send_json(json!({"type": "text", "text": SUBSTANTIAL_ANSWER}))
        .await;
    let reply = live.until_listening().await;
    let heard = hear(&mut live, reply["id"].as_str().expect("id")).await;
    assert_spoken_whole(&heard, &reply);
}

#[actix_web::test]
async fn an_interrupt_stops_the_voice_of_a_message_already_written() {
    let Some(app) = spawn_live_app_with_voice(Backend::Sqlite, |_| {}).await else {
        return;
    };
    let (_, cookie) = app.signed_in_user().await;
    let id = new_interview(&app, &cookie, 2).await;
    let mut live = Live::connect(&app, &id, &cookie).await;
    live.until("ready").await;
    live.send_json(json!({"type": "start"})).await;
    // The greeting is written at once; its voice follows sentence by sentence.
    let (first, _) = live.until("voice").await;
    let message_id = first["message_id"].as_str().expect("id").to_owned();
    live.send_json(json!({"type": "interrupt"})).await;
    let mut sentences = BTreeMap::new();
    let end = loop {
        let event = live.event().await;
        if event["message_id"] != message_id.as_str() {
            continue;
        }
        match event["type"].as_str() {
            Some("voice") => {
                sentences.insert(event["sentence"].as_u64(), ());
            }
            Some("voice_end") => break event,
            _ => {}
        }
    };
    assert_eq!(end["interrupted"], true, "{end}");
    let sent = end["sentences"].as_u64().expect("count");
    assert!(
        sent >= 1 && sent as usize == 1 + sentences.len(),
        "voice_end counts what was sent: {end}, after the first: {sentences:?}"
    );
    // Nothing more of it arrives, and the interview goes on: `start` on a running interview
    // answers with its state, after anything already on its way.
    actix_web::rt::time::sleep(Duration::from_secs(1)).await;
    live.send_json(json!({"type": "start"})).await;
    let (state, before) = live.until("state").await;
    assert_eq!(state["state"], "listening", "{state}");
    let late: Vec<&Value> = before
        .iter()
        .filter(|e| e["type"] == "voice" && e["message_id"] == message_id.as_str())
        .collect();
    assert!(late.is_empty(), "audio after the interrupt: {late:?}");
}

#[actix_web::test]
async fn with_the_browser_voice_the_server_sends_no_audio() {
    let Some(app) = spawn_live_app(Backend::Sqlite, |_| {}).await else {
        return;
    };
    let (_, cookie) = app.signed_in_user().await;
    let id = new_interview(&app, &cookie, 1).await;
    let mut live = Live::connect(&app, &id, &cookie).await;
    let (ready, _) = live.until("ready").await;
    assert_eq!(ready["voice"], "browser", "{ready}");
    live.start().await;
    live.send_json(json!({"type": "text", "text": SUBSTANTIAL_ANSWER}))
        .await;
    live.until_listening().await;
    let audio: Vec<&Value> = live
        .seen
        .iter()
        .filter(|e| e["type"] == "voice" || e["type"] == "voice_end")
        .collect();
    assert!(audio.is_empty(), "{audio:?}");
}

#[actix_web::test]
async fn the_load_tool_times_the_first_audio_of_each_reply() {
    let Some(app) = spawn_live_app_with_voice(Backend::Sqlite, |_| {}).await else {
        return;
    };
    let Some(plan) = load_plan(&app, 1, 2) else {
        return;
    };
    let report = viva::loadtest::run(&plan, || {}).await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.turns.len(), 2);
    for turn in &report.turns {
        let first_audio = turn.first_audio.expect("every reply was spoken");
        assert!(turn.first_delta <= first_audio, "{turn:?}");
    }
    let [p50, p95, max] = report.summary(|t| t.first_audio).expect("timed");
    assert!(p50 <= p95 && p95 <= max);
}
