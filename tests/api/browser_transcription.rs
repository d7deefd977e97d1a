//! Batch transcription of what a browser records: headless Chromium's MediaRecorder records
//! the fake microphone (JFK's recording) in its default format (WebM with Opus), the page
//! uploads the recording to `POST /api/v1/transcriptions` with the recruiter's session, and the
//! transcript that comes back holds the words spoken.
//!
//! Needs Chromium, like the other browser tests (a loud SKIPPED line without it, a failure
//! under CI).

use std::time::Duration;

use serde::Deserialize;

use crate::browser::{chromium, microphone, with_microphone};
use crate::helpers::{spawn_live_app, Backend, STRONG_PASSWORD};

/// What the page's upload got back.
#[derive(Debug, Deserialize)]
struct Upload {
    status: u16,
    mime: String,
    size: u64,
    body: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct Task {
    status: String,
    #[serde(default)]
    text: Option<String>,
    format: String,
}

#[actix_web::test]
async fn a_recording_made_by_the_browser_is_transcribed() {
    let Some(chromium) = chromium() else { return };
    let Some(jfk) = crate::support::jfk() else {
        return;
    };
    let Some(app) = spawn_live_app(Backend::Sqlite, |_| {}).await else {
        return;
    };
    // A recruiter account; the page signs in with it, so the upload carries its session.
    let cookie = app.signed_in_recruiter().await;
    let me = app.get("/api/v1/auth/me", Some(&cookie)).await;
    let email = me.body["email"].as_str().expect("email").to_owned();

    let browser = with_microphone(&chromium, &microphone(&jfk)).await;
    let mut page = browser.open_page().await;
    page.navigate(&app.url("/")).await;
    let login = format!(
        "fetch('/api/v1/auth/login', {{method: 'POST', headers: {{'content-type': 'application/json'}}, \
         body: JSON.stringify({{email: {email:?}, password: {STRONG_PASSWORD:?}}})}}).then(r => r.status)"
    );
    assert_eq!(page.eval(&login).await, 200, "the page signs in");

    // 0.5 s of silence, 11 s of speech, then silence: 13 s holds the whole sentence.
    page.eval(
        r#"void (async () => {
            const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
            const recorder = new MediaRecorder(stream);
            const chunks = [];
            recorder.ondataavailable = (e) => chunks.push(e.data);
            const stopped = new Promise((resolve) => (recorder.onstop = resolve));
            recorder.start(1000);
            await new Promise((resolve) => setTimeout(resolve, 13000));
            recorder.stop();
            await stopped;
            stream.getTracks().forEach((t) => t.stop());
            const blob = new Blob(chunks, { type: recorder.mimeType });
            const response = await fetch('/api/v1/transcriptions', {
                method: 'POST',
                headers: { 'x-filename': 'answer.webm' },
                body: blob,
            });
            window.__upload = {
                status: response.status,
                mime: recorder.mimeType,
                size: blob.size,
                body: await response.json(),
            };
        })().catch((e) => (window.__upload = { status: 0, mime: '', size: 0, body: String(e) }))"#,
    )
    .await;
    let upload: Upload = page
        .wait_for_within(
            Duration::from_secs(60),
            "the recording's upload",
            "window.__upload ?? null",
            |u: &Option<Upload>| u.is_some(),
        )
        .await
        .expect("uploaded");
    assert_eq!(upload.status, 202, "{upload:?}");
    assert!(upload.mime.starts_with("audio/webm"), "{upload:?}");
    assert!(upload.size > 10_000, "{upload:?}");
    let id = upload.body["id"].as_str().expect("task id").to_owned();
    assert_eq!(upload.body["format"], "webm", "{upload:?}");

    let task: Task = page
        .wait_for_within(
            Duration::from_secs(180),
            "the transcription",
            &format!("fetch('/api/v1/transcriptions/{id}').then(r => r.json())"),
            |t: &Task| t.status == "done" || t.status == "failed",
        )
        .await;
    assert_eq!(task.status, "done", "{task:?}");
    assert_eq!(task.format, "webm");
    // What the browser recorded went through a live capture and Opus at the browser's bitrate:
    // the transcript is compared with the sentence word by word (Whisper tiny on a clean copy
    // makes no error here; a few words may blur, e.g. "asked not", "fellow american").
    let text = task.text.unwrap_or_default();
    let sentence = "And so my fellow Americans, ask not what your country can do for you, \
                    ask what you can do for your country.";
    let wer = viva::speech::wer::word_error_rate(sentence, &text);
    assert!(wer <= 0.2, "word error rate {wer:.2}: `{text}`");
    assert!(
        text.to_lowercase()
            .contains("what your country can do for you"),
        "`{text}`"
    );
}
