//! The interviewer's own voice in the page (`voice = local`), in headless Chromium against the
//! real server with the real models and the real Piper voice: the page plays each sentence the
//! server speaks through its AudioWorklet (static/voice-worklet.js), shows the sentence heard as
//! a caption, and stops at once when the candidate talks over it.
//!
//! What the page did is read from `window.vivaVoice` (static/live.js), its read-only record of
//! the voice; times are the page's own clock (`performance.now()`), never this process's.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use crate::browser::{chromium, click, log_in, with_microphone};
use crate::helpers::{spawn_live_app_with_voice, Backend};
use crate::live::{new_interview, SUBSTANTIAL_ANSWER};
use crate::support::{write_wav, WavEncoding};

/// The page's record of the voice (`window.vivaVoice`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Voice {
    speaking: bool,
    sample_rate: f64,
    received: u64,
    played: Vec<Played>,
    ended: Vec<Ended>,
    samples_played: f64,
    last_stop_request_at: Option<f64>,
    stopped_at: Option<f64>,
    dropped_at_stop: Option<f64>,
}

#[derive(Debug, Deserialize, PartialEq)]
struct Played {
    message_id: String,
    sentence: u64,
}

#[derive(Debug, Deserialize)]
struct Ended {
    message_id: String,
    sentences: u64,
    interrupted: bool,
}

/// What the caption showed, each time it changed while shown (recorded by `WATCH_CAPTION`).
#[derive(Debug, Deserialize)]
struct Caption {
    text: String,
    message_id: String,
    sentence: String,
}

/// An interviewer message in the conversation.
#[derive(Debug, Deserialize)]
struct Bubble {
    id: String,
    text: String,
}

#[derive(Debug, Deserialize)]
struct Seen {
    voice: Voice,
    captions: Vec<Caption>,
    caption_shown: bool,
    interviewer: Vec<Bubble>,
    state: String,
}

const READ: &str = "(() => ({
    voice: JSON.parse(JSON.stringify(window.vivaVoice)),
    captions: window.__captions ?? [],
    caption_shown: !document.getElementById('voice-caption').hidden,
    interviewer: [...document.querySelectorAll('#transcript [data-role=interviewer][data-message-id]')]
        .map((el) => ({
            id: el.dataset.messageId,
            text: el.querySelector('.message__text').textContent,
        })),
    state: document.getElementById('state').dataset.state,
}))()";

/// Records every caption the page shows (one record per change, after the page's update).
const WATCH_CAPTION: &str = "(() => {
    window.__captions = [];
    const caption = document.getElementById('voice-caption');
    new MutationObserver(() => {
        if (!caption.hidden) window.__captions.push({
            text: caption.textContent,
            message_id: caption.dataset.messageId ?? '',
            sentence: caption.dataset.sentence ?? '',
        });
    }).observe(caption, { attributes: true, childList: true, characterData: true, subtree: true });
    return true;
})()";

/// Talks over the interviewer's reply (a message not in `known`) once about 0.1 s of it was
/// heard while it still plays: presses the Space bar, push-to-talk's key, as a person would.
/// Then notes the samples played 150 ms and 1 s after the press.
const BARGE_IN_ON_REPLY: &str = "((known) => {
    window.__bargeIn = null;
    let start = null;
    const timer = setInterval(() => {
        const voice = window.vivaVoice;
        const reply = voice.played.find((p) => !known.includes(p.message_id));
        if (!reply) return;
        start ??= voice.samplesPlayed;
        const caption = document.getElementById('voice-caption');
        if (voice.samplesPlayed - start < voice.sampleRate * 0.1) return;
        if (caption.hidden || caption.dataset.messageId !== reply.message_id) return;
        clearInterval(timer);
        const pressed = { message_id: reply.message_id, at: performance.now(), samples: voice.samplesPlayed };
        document.body.dispatchEvent(new KeyboardEvent('keydown', { code: 'Space', key: ' ', bubbles: true }));
        setTimeout(() => { pressed.after_150ms = window.vivaVoice.samplesPlayed; }, 150);
        setTimeout(() => {
            pressed.after_1s = window.vivaVoice.samplesPlayed;
            window.__bargeIn = pressed;
        }, 1000);
    }, 10);
    return true;
})";

#[derive(Debug, Deserialize)]
struct BargeIn {
    message_id: String,
    at: f64,
    samples: f64,
    after_150ms: f64,
    after_1s: f64,
}

/// Text compared word for word (the voice's sentences are the message's text, modulo spacing).
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A practice interview with the server's voice: the first question is heard and captioned,
/// the typed answer's reply is heard, and holding the talk key over it stops the audio within
/// 100 ms and the server's voice (`voice_end` with `interrupted: true`).
#[actix_web::test]
async fn the_page_plays_captions_and_stops_the_servers_voice() {
    let Some(chromium) = chromium() else { return };
    let Some(app) = spawn_live_app_with_voice(Backend::Sqlite, |_| {}).await else {
        return;
    };
    // A silent microphone: push-to-talk needs one, and nothing it hears may barge in.
    let silence = write_wav(
        "silence-2s.wav",
        &[0.0; 32_000],
        16_000,
        1,
        WavEncoding::Int(16),
    );
    let browser = with_microphone(&chromium, &silence).await;
    let (email, cookie) = app.signed_in_user().await;
    let interview = new_interview(&app, &cookie, 2).await;

    let mut page = browser.open_page().await;
    log_in(&mut page, &app, &email).await;
    page.navigate(&app.url(&format!("/interview.html?id={interview}")))
        .await;
    // Connected once `ready` said who speaks (the start button is enabled before that).
    page.wait_for(
        "the start button on the connected interview",
        "(() => !document.getElementById('start-button').disabled
            && document.getElementById('connection').textContent === ''
            && window.vivaVoice.mode !== null)()",
        |ok: &bool| *ok,
    )
    .await;
    let mode = page.eval("window.vivaVoice.mode").await;
    assert_eq!(mode, json!("local"), "ready.voice names the server's voice");
    page.eval(WATCH_CAPTION).await;
    click(&mut page, "mode-toggle").await;
    click(&mut page, "start-button").await;

    // The opening (the greeting and the first question): heard to its end, then silent.
    let seen: Seen = page
        .wait_for_within(
            Duration::from_secs(180),
            "the opening heard to its end",
            READ,
            |seen: &Seen| {
                !seen.interviewer.is_empty()
                    && seen.state == "listening"
                    && !seen.voice.speaking
                    && seen.interviewer.iter().all(|bubble| {
                        seen.voice
                            .ended
                            .iter()
                            .any(|end| end.message_id == bubble.id)
                    })
            },
        )
        .await;
    let opening = &seen.interviewer[0];
    let voice = &seen.voice;
    assert!(
        voice.played.contains(&Played {
            message_id: opening.id.clone(),
            sentence: 0
        }),
        "the opening's first sentence was played: {voice:?}"
    );
    let end = voice
        .ended
        .iter()
        .find(|end| end.message_id == opening.id)
        .expect("its voice_end");
    assert!(!end.interrupted && end.sentences >= 1, "{end:?}");
    assert!(voice.received >= end.sentences, "{voice:?}");
    assert!(
        voice.samples_played > voice.sample_rate,
        "more than a second of it was played: {voice:?}"
    );
    assert!(!seen.caption_shown, "no caption once the voice is silent");
    let first_caption = seen
        .captions
        .iter()
        .find(|c| c.message_id == opening.id && c.sentence == "0")
        .unwrap_or_else(|| panic!("a caption for its first sentence: {:?}", seen.captions));
    assert!(
        !first_caption.text.trim().is_empty()
            && words(&opening.text).starts_with(&words(&first_caption.text)),
        "the caption shows the sentence the message begins with: {first_caption:?} of {:?}",
        opening.text
    );
    page.screenshot("voice-opening-heard").await;

    // The answer, typed; the reply to it is talked over as soon as it is heard.
    let known: Vec<&str> = seen.interviewer.iter().map(|b| b.id.as_str()).collect();
    page.eval(&format!("{BARGE_IN_ON_REPLY}({})", json!(known)))
        .await;
    page.eval(&format!(
        "(() => {{
            document.getElementById('text-input').value = {};
            document.getElementById('text-form').requestSubmit();
        }})()",
        json!(SUBSTANTIAL_ANSWER)
    ))
    .await;
    let pressed: BargeIn = page
        .wait_for_within(
            Duration::from_secs(180),
            "the reply heard, then talked over",
            "window.__bargeIn",
            |pressed: &Option<BargeIn>| pressed.is_some(),
        )
        .await
        .expect("waited for it");
    page.eval("document.body.dispatchEvent(new KeyboardEvent('keyup', { code: 'Space', key: ' ', bubbles: true }))")
        .await;
    let seen: Seen = page
        .wait_for_within(
            Duration::from_secs(60),
            "the server's voice_end for the interrupted reply",
            READ,
            |seen: &Seen| {
                seen.voice
                    .ended
                    .iter()
                    .any(|end| end.message_id == pressed.message_id)
            },
        )
        .await;
    let voice = &seen.voice;
    let end = voice
        .ended
        .iter()
        .find(|end| end.message_id == pressed.message_id)
        .expect("its voice_end");
    assert!(
        end.interrupted,
        "the interrupt stopped the server's voice: {end:?}"
    );
    let reply = seen
        .interviewer
        .iter()
        .find(|bubble| bubble.id == pressed.message_id)
        .unwrap_or_else(|| panic!("the reply in the conversation: {:?}", seen.interviewer));
    assert!(
        voice.played.contains(&Played {
            message_id: reply.id.clone(),
            sentence: 0
        }),
        "{voice:?}"
    );
    let reply_caption = seen
        .captions
        .iter()
        .find(|c| c.message_id == reply.id && c.sentence == "0")
        .unwrap_or_else(|| panic!("a caption for the reply: {:?}", seen.captions));
    assert!(
        words(&reply.text).starts_with(&words(&reply_caption.text)),
        "{reply_caption:?} of {reply:?}"
    );

    // Stopped at once: the worklet answered the stop within 100 ms (page time), with audio
    // still queued, and nothing more was played after it.
    let requested = voice.last_stop_request_at.expect("a stop was sent");
    let stopped = voice.stopped_at.expect("the worklet answered it");
    assert!(
        requested >= pressed.at && requested - pressed.at < 50.0,
        "the key press sent the stop: {pressed:?} {voice:?}"
    );
    assert!(
        stopped - requested <= 100.0,
        "stopped {} ms after the request",
        stopped - requested
    );
    assert!(
        voice.dropped_at_stop.is_some_and(|dropped| dropped > 0.0),
        "it was still playing: {voice:?}"
    );
    assert!(
        pressed.after_150ms - pressed.samples <= voice.sample_rate * 0.15,
        "at most 150 ms more was played after the press (progress comes every 50 ms): {pressed:?}"
    );
    assert_eq!(
        pressed.after_150ms, pressed.after_1s,
        "nothing was played after the stop: {pressed:?}"
    );
    assert_eq!(voice.samples_played, pressed.after_1s, "{voice:?}");
    assert!(!seen.caption_shown, "the caption went with the voice");
    page.screenshot("voice-interrupted").await;
    assert_eq!(page.csp_violations().await, Vec::<String>::new());
}
