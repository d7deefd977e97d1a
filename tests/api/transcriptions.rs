//! Batch transcription over the API, with the real speech model: every format a recording
//! comes in, long recordings cut into timestamped segments, live transcriptions served before
//! a running batch task, the queue, size and duration limits, refusals of what is not audio,
//! tasks left by a stopped server, and the retention sweep. On PostgreSQL, several nodes on
//! one database: each transcribes the uploads it received.

use std::time::{Duration, Instant};

use awc::http::StatusCode;
use serde_json::Value;
use viva::config::Settings;
use viva::db::transcriptions::{self as queries, TranscriptionRow};
use viva::domain::{AudioFormat, TranscriptionId, TranscriptionStatus, UserId};

use crate::helpers::{
    shared_engines, spawn_app, spawn_app_with, spawn_live_app, Backend, Reply, TestApp,
};
use crate::on_both_backends;
use crate::support::{self, Encoding};

const WORDS: &str = "ask not what your country can do for you";
const METRICS_TOKEN: &str = "transcription-metrics-token";

on_both_backends!(
    a_recording_in_every_format_is_transcribed,
    a_long_recording_gives_segments_in_order,
    a_live_transcription_finishes_before_a_running_batch_task,
    what_is_not_allowed_or_not_audio_is_refused_clearly,
    a_full_queue_is_refused_with_retry_after,
    tasks_left_by_a_stopped_server_are_queued_again_or_failed,
    finished_tasks_are_deleted_after_the_retention_time,
);

impl TestApp {
    async fn upload(&self, cookie: Option<&str>, name: &str, bytes: Vec<u8>) -> Reply {
        let mut req = Self::client()
            .post(self.url("/api/v1/transcriptions"))
            .insert_header(("x-filename", name))
            .insert_header(("content-type", "application/octet-stream"));
        if let Some(cookie) = cookie {
            req = req.insert_header(("cookie", cookie));
        }
        self.send(req, Some(bytes)).await
    }

    /// Polls the task until it is done or failed.
    async fn finished_task(&self, cookie: &str, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let r = self
                .get(&format!("/api/v1/transcriptions/{id}"), Some(cookie))
                .await;
            assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
            if r.body["status"] == "done" || r.body["status"] == "failed" {
                return r.body;
            }
            assert!(
                Instant::now() < deadline,
                "task {id} never finished: {:?}",
                r.body
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn user_id(&self, cookie: &str) -> UserId {
        let me = self.get("/api/v1/auth/me", Some(cookie)).await;
        UserId::from(me.body["id"].as_str().expect("id"))
    }
}

fn id_of(reply: &Reply) -> String {
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{:?}", reply.body);
    reply.body["id"].as_str().expect("task id").to_owned()
}

fn text_of(task: &Value) -> String {
    assert_eq!(task["status"], "done", "{task}");
    task["text"].as_str().expect("text").to_lowercase()
}

/// 16-bit WAV bytes of 16 kHz samples.
fn wav_bytes(samples: &[f32]) -> Vec<u8> {
    let mut bytes = Vec::new();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer =
        hound::WavWriter::new(std::io::Cursor::new(&mut bytes), spec).expect("wav writer");
    for s in samples {
        writer
            .write_sample((s * 32_767.0).round() as i16)
            .expect("sample");
    }
    writer.finalize().expect("finalize");
    bytes
}

/// JFK's sentence `times` times, 1.5 s of silence after each.
fn repeated_jfk(jfk: &[f32], times: usize) -> Vec<f32> {
    let mut audio = Vec::new();
    for _ in 0..times {
        audio.extend_from_slice(jfk);
        audio.extend(std::iter::repeat_n(0.0, 24_000));
    }
    audio
}

/// A task row as a server leaves it, for the tests that set the queue's state directly.
fn row(owner: &UserId, status: TranscriptionStatus) -> TranscriptionRow {
    TranscriptionRow {
        id: TranscriptionId::random(),
        owner_id: owner.clone(),
        status,
        filename: "left-behind.wav".into(),
        format: AudioFormat::Wav,
        size_bytes: 1,
        duration_ms: 11_000,
        segments_total: None,
        segments_done: 0,
        text: None,
        segments: None,
        error: None,
        created_at: viva::db::now(),
        started_at: None,
        finished_at: None,
        node: None,
    }
}

async fn a_recording_in_every_format_is_transcribed(backend: Backend) {
    let Some(jfk) = support::jfk() else { return };
    let Some(app) = spawn_live_app(backend, |s| {
        s.metrics_token = Some(METRICS_TOKEN.to_owned().into());
    })
    .await
    else {
        return;
    };
    let cookie = app.signed_in_recruiter().await;
    let mut files = vec![("wav", std::fs::read(&jfk).expect("jfk.wav"))];
    for encoding in Encoding::ALL {
        let Some(file) = support::encoded(&jfk, encoding, None, None) else {
            return;
        };
        files.push((encoding.name(), std::fs::read(file).expect("encoded")));
    }
    let mut ids = Vec::new();
    for (format, bytes) in files {
        // A misleading name: the format comes from the bytes.
        let r = app.upload(Some(&cookie), "recording.mp4", bytes).await;
        let id = id_of(&r);
        assert_eq!(r.body["format"], format, "{:?}", r.body);
        assert_eq!(r.body["status"], "queued", "{:?}", r.body);
        let seconds = r.body["duration_seconds"].as_f64().expect("duration");
        assert!((10.5..=11.5).contains(&seconds), "{format}: {seconds} s");
        assert_eq!(
            r.header("location"),
            Some(format!("/api/v1/transcriptions/{id}").as_str())
        );
        ids.push((format, id));
    }
    for (format, id) in &ids {
        let task = app.finished_task(&cookie, id).await;
        let text = text_of(&task);
        assert!(text.contains(WORDS), "{format}: `{text}` lacks `{WORDS}`");
        let segments = task["segments"].as_array().expect("segments");
        assert!(!segments.is_empty(), "{format}: {task}");
        for segment in segments {
            let (start, end) = (
                segment["start"].as_f64().expect("start"),
                segment["end"].as_f64().expect("end"),
            );
            assert!(
                0.0 <= start && start < end && end <= 11.5,
                "{format}: {segment}"
            );
        }
        assert_eq!(
            task["progress"]["segments_done"],
            task["progress"]["segments_total"]
        );
        assert!(task["finished_at"].is_string(), "{task}");
    }
    // The stored recordings are gone once transcribed.
    let stored = app.data_dir.path().join("files/transcriptions");
    let left = std::fs::read_dir(&stored).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "recordings left in {}", stored.display());

    let list = app.get("/api/v1/transcriptions", Some(&cookie)).await;
    let listed = list.body["transcriptions"].as_array().expect("list");
    assert_eq!(listed.len(), ids.len(), "{:?}", list.body);
    assert_eq!(listed[0]["id"], ids[ids.len() - 1].1, "newest first");
    assert!(listed.iter().all(|t| t.get("segments").is_none()));

    let (_, first) = &ids[0];
    let r = app
        .delete(&format!("/api/v1/transcriptions/{first}"), Some(&cookie))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .get(&format!("/api/v1/transcriptions/{first}"), Some(&cookie))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let req = TestApp::client()
        .get(app.url("/metrics"))
        .insert_header(("authorization", format!("Bearer {METRICS_TOKEN}")));
    let metrics = String::from_utf8(app.send(req, None).await.raw).expect("text");
    assert!(
        metrics.contains(&format!(
            "viva_transcriptions_total{{outcome=\"done\"}} {}",
            ids.len()
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("viva_transcription_tasks{status=\"queued\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("viva_model_requests_total{model=\"speech_batch\"}"),
        "{metrics}"
    );
}

async fn a_long_recording_gives_segments_in_order(backend: Backend) {
    let Some(jfk) = support::jfk() else { return };
    let Some(app) = spawn_live_app(backend, |_| {}).await else {
        return;
    };
    let cookie = app.signed_in_recruiter().await;
    let samples = viva::speech::audio::read_wav(&jfk).expect("jfk.wav");
    let audio = repeated_jfk(&samples, 6);
    let r = app
        .upload(Some(&cookie), "long.wav", wav_bytes(&audio))
        .await;
    let id = id_of(&r);
    let task = app.finished_task(&cookie, &id).await;
    let text = text_of(&task);
    let segments = task["segments"].as_array().expect("segments");
    assert!(
        segments.len() >= 3,
        "{} s in {} segments: {task}",
        audio.len() / 16_000,
        segments.len()
    );
    let mut last_end = 0.0;
    for segment in segments {
        let (start, end) = (
            segment["start"].as_f64().expect("start"),
            segment["end"].as_f64().expect("end"),
        );
        assert!(
            start >= last_end && end > start,
            "segments out of order: {segments:?}"
        );
        assert!(end - start <= 30.0, "a segment over one window: {segment}");
        assert!(!segment["text"].as_str().unwrap_or_default().is_empty());
        last_end = end;
    }
    let duration = task["duration_seconds"].as_f64().expect("duration");
    assert!(
        last_end <= duration + 0.01 && last_end > duration - 3.0,
        "{last_end} of {duration}"
    );
    let heard = text.matches(WORDS).count();
    assert!(
        heard >= 3,
        "the sentence heard {heard} times of 6 in `{text}`"
    );
    let pieces = task["progress"]["segments_total"]
        .as_i64()
        .expect("segments_total");
    assert!(pieces >= segments.len() as i64, "{task}");
}

async fn a_live_transcription_finishes_before_a_running_batch_task(backend: Backend) {
    let Some(jfk) = support::jfk() else { return };
    let Some(app) = spawn_live_app(backend, |_| {}).await else {
        return;
    };
    let Some(engines) = shared_engines() else {
        return;
    };
    let cookie = app.signed_in_recruiter().await;
    let samples = viva::speech::audio::read_wav(&jfk).expect("jfk.wav");
    // About 100 s: four or more windows of batch work.
    let r = app
        .upload(
            Some(&cookie),
            "long.wav",
            wav_bytes(&repeated_jfk(&samples, 8)),
        )
        .await;
    let id = id_of(&r);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let r = app
            .get(&format!("/api/v1/transcriptions/{id}"), Some(&cookie))
            .await;
        if r.body["status"] == "running" {
            break;
        }
        assert_eq!(r.body["status"], "queued", "{:?}", r.body);
        assert!(Instant::now() < deadline, "the batch task never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A live answer's transcription, asked for while the batch task runs.
    let live = engines
        .speech
        .transcribe(samples.clone())
        .await
        .expect("live transcription");
    assert!(live.text.to_lowercase().contains(WORDS), "{}", live.text);
    let after_live = app
        .get(&format!("/api/v1/transcriptions/{id}"), Some(&cookie))
        .await;
    assert_eq!(
        after_live.body["status"], "running",
        "the live transcription finished after the batch task: {:?}",
        after_live.body
    );
    let done = after_live.body["progress"]["segments_done"]
        .as_i64()
        .unwrap_or(0);
    let total = after_live.body["progress"]["segments_total"]
        .as_i64()
        .unwrap_or(i64::MAX);
    assert!(done < total, "{:?}", after_live.body);
    // And the batch task still finishes, whole.
    let task = app.finished_task(&cookie, &id).await;
    assert!(text_of(&task).matches(WORDS).count() >= 4, "{task}");
}

async fn what_is_not_allowed_or_not_audio_is_refused_clearly(backend: Backend) {
    let Some(jfk) = support::jfk() else { return };
    let Some(app) = spawn_live_app(backend, |s| {
        s.transcription_max_upload_mb = 1;
        s.transcription_max_duration = Duration::from_secs(5);
    })
    .await
    else {
        return;
    };
    let samples = viva::speech::audio::read_wav(&jfk).expect("jfk.wav");
    let short = wav_bytes(&samples[..16_000 * 4]);

    let r = app.upload(None, "a.wav", short.clone()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let (_, candidate) = app.signed_in_user().await;
    let r = app.upload(Some(&candidate), "a.wav", short.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let cookie = app.signed_in_recruiter().await;
    let r = app
        .upload(Some(&cookie), "big.wav", vec![0u8; 2 << 20])
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{:?}", r.body);
    assert_eq!(r.error_code(), "payload_too_large");
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("1048576"));

    let r = app
        .upload(
            Some(&cookie),
            "notes.wav",
            b"hello, these are notes".to_vec(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{:?}", r.body);
    assert_eq!(r.error_code(), "unsupported_audio");
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("FLAC"));

    let r = app.upload(Some(&cookie), "empty.wav", Vec::new()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);

    let mut damaged = b"fLaC".to_vec();
    damaged.extend(std::iter::repeat_n(0xab_u8, 4_000));
    let r = app.upload(Some(&cookie), "damaged.flac", damaged).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.error_code(), "invalid_audio");

    // 11 s against a 5 s limit.
    let r = app
        .upload(Some(&cookie), "jfk.wav", std::fs::read(&jfk).expect("jfk"))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.error_code(), "audio_too_long");

    // Nobody else sees, lists or deletes a task.
    let id = id_of(&app.upload(Some(&cookie), "short.wav", short).await);
    let other = app.signed_in_recruiter().await;
    let path = format!("/api/v1/transcriptions/{id}");
    assert_eq!(
        app.get(&path, Some(&other)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete(&path, Some(&other)).await.status,
        StatusCode::NOT_FOUND
    );
    let list = app.get("/api/v1/transcriptions", Some(&other)).await;
    assert_eq!(list.body["transcriptions"], serde_json::json!([]));
    let unknown = app
        .get("/api/v1/transcriptions/no-such-task", Some(&cookie))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&path, Some(&cookie)).await.status, StatusCode::OK);
    assert_eq!(app.get("/healthz", None).await.status, StatusCode::OK);
}

async fn a_full_queue_is_refused_with_retry_after(backend: Backend) {
    let Some(jfk) = support::jfk() else { return };
    let Some(app) = spawn_live_app(backend, |s| s.transcription_queue = 1).await else {
        return;
    };
    let cookie = app.signed_in_recruiter().await;
    // One task running already (as the runner leaves it while it transcribes).
    let owner = app.user_id(&cookie).await;
    let mut conn = app.pool().get().await.expect("connection");
    let mut running = row(&owner, TranscriptionStatus::Running);
    running.started_at = Some(viva::db::now());
    queries::insert(&mut conn, &running).await.expect("insert");
    drop(conn);
    let r = app
        .upload(Some(&cookie), "jfk.wav", std::fs::read(&jfk).expect("jfk"))
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", r.body);
    assert_eq!(r.error_code(), "transcription_queue_full");
    assert_eq!(r.header("retry-after"), Some("30"));
    let list = app.get("/api/v1/transcriptions", Some(&cookie)).await;
    assert_eq!(
        list.body["transcriptions"].as_array().map(Vec::len),
        Some(1)
    );
}

async fn tasks_left_by_a_stopped_server_are_queued_again_or_failed(backend: Backend) {
    let Some(jfk) = support::jfk() else { return };
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let cookie = app.signed_in_recruiter().await;
    let owner = app.user_id(&cookie).await;
    // What a server stopped mid-task leaves: one task running with its audio stored, one
    // queued whose audio is gone.
    let mut running = row(&owner, TranscriptionStatus::Running);
    running.started_at = Some(viva::db::now());
    running.segments_total = Some(1);
    let lost = row(&owner, TranscriptionStatus::Queued);
    let audio = app
        .data_dir
        .path()
        .join("files/transcriptions")
        .join(running.id.as_str());
    viva::storage::write_private(&audio, &std::fs::read(&jfk).expect("jfk")).expect("store");
    let mut conn = app.pool().get().await.expect("connection");
    queries::insert(&mut conn, &running).await.expect("insert");
    queries::insert(&mut conn, &lost).await.expect("insert");
    drop(conn);

    let Some(app) = app.restart_live().await else {
        return;
    };
    let cookie = app.signed_in_recruiter().await;
    // A new login of the same owner is not needed: read the rows behind the API.
    let mut conn = app.pool().get().await.expect("connection");
    let failed = queries::get(&mut conn, &lost.id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(failed.status, TranscriptionStatus::Failed);
    assert!(
        failed
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("upload it again"),
        "{failed:?}"
    );
    drop(conn);
    let deadline = Instant::now() + Duration::from_secs(300);
    let done = loop {
        let mut conn = app.pool().get().await.expect("connection");
        let row = queries::get(&mut conn, &running.id)
            .await
            .expect("read")
            .expect("row");
        if !row.status.is_pending() {
            break row;
        }
        assert!(
            Instant::now() < deadline,
            "the recovered task never finished: {row:?}"
        );
        drop(conn);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(done.status, TranscriptionStatus::Done, "{done:?}");
    let text = done.text.unwrap_or_default().to_lowercase();
    assert!(text.contains(WORDS), "`{text}`");
    assert!(!audio.exists(), "the recording is deleted once transcribed");
    // The other user of the new server sees none of it.
    let list = app.get("/api/v1/transcriptions", Some(&cookie)).await;
    assert_eq!(list.body["transcriptions"], serde_json::json!([]));
}

async fn finished_tasks_are_deleted_after_the_retention_time(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        s.transcription_retention = Duration::from_secs(2);
    })
    .await
    else {
        return;
    };
    let cookie = app.signed_in_recruiter().await;
    let owner = app.user_id(&cookie).await;
    let mut old = row(&owner, TranscriptionStatus::Done);
    old.finished_at = Some(viva::db::now() - chrono::Duration::hours(1));
    old.text = Some("old".into());
    let mut fresh = row(&owner, TranscriptionStatus::Done);
    fresh.finished_at = Some(viva::db::now() + chrono::Duration::hours(1));
    let pending = row(&owner, TranscriptionStatus::Queued);
    let mut conn = app.pool().get().await.expect("connection");
    for r in [&old, &fresh, &pending] {
        queries::insert(&mut conn, r).await.expect("insert");
    }
    drop(conn);
    let old_path = format!("/api/v1/transcriptions/{}", old.id);
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.get(&old_path, Some(&cookie)).await.status == StatusCode::OK {
        assert!(Instant::now() < deadline, "the old task was never swept");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for kept in [&fresh.id, &pending.id] {
        let r = app
            .get(&format!("/api/v1/transcriptions/{kept}"), Some(&cookie))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{kept} was swept too early");
    }
}

/// Another node on `first`'s PostgreSQL database, named `name`, with the real models: its own
/// data directory (so its own recordings) and `first`'s cookie key (a session works on
/// both, as behind a load balancer). Its own test database goes unused.
async fn another_node(
    first: &TestApp,
    name: &str,
    tweak: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    let database = first.database.clone();
    let key =
        std::fs::read_to_string(first.data_dir.path().join("secret.key")).expect("secret key");
    spawn_live_app(Backend::Postgres, |s| {
        s.database_url = Some(database);
        s.secret_key = Some(key.trim().to_owned().into());
        s.node_name = Some(name.to_owned());
        tweak(s);
    })
    .await
}

fn stored_recordings(app: &TestApp) -> usize {
    let dir = app.data_dir.path().join("files/transcriptions");
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

#[actix_web::test]
async fn on_postgres_each_node_transcribes_the_uploads_it_received() {
    let Some(jfk) = support::jfk() else { return };
    let Some(a) = spawn_live_app(Backend::Postgres, |s| s.node_name = Some("a".into())).await
    else {
        return;
    };
    let Some(b) = another_node(&a, "b", |_| {}).await else {
        return;
    };
    let cookie = a.signed_in_recruiter().await;
    let wav = std::fs::read(&jfk).expect("jfk");
    let on_a = id_of(&a.upload(Some(&cookie), "a.wav", wav.clone()).await);
    let on_b = id_of(&b.upload(Some(&cookie), "b.wav", wav).await);
    // Each is read through the other node. B's runner runs all along, yet never takes A's task
    // (without A's recording it would fail it), nor A B's.
    let task_a = b.finished_task(&cookie, &on_a).await;
    let task_b = a.finished_task(&cookie, &on_b).await;
    assert!(text_of(&task_a).contains(WORDS), "{task_a}");
    assert!(text_of(&task_b).contains(WORDS), "{task_b}");
    let mut conn = a.pool().get().await.expect("connection");
    for (id, node) in [(&on_a, "a"), (&on_b, "b")] {
        let row = queries::get(&mut conn, &TranscriptionId::from(id.as_str()))
            .await
            .expect("read")
            .expect("row");
        assert_eq!(row.node.as_deref(), Some(node), "{row:?}");
    }
    drop(conn);
    assert_eq!((stored_recordings(&a), stored_recordings(&b)), (0, 0));
    let list = b.get("/api/v1/transcriptions", Some(&cookie)).await;
    assert_eq!(
        list.body["transcriptions"].as_array().map(Vec::len),
        Some(2)
    );
}

#[actix_web::test]
async fn on_postgres_a_nodes_queue_is_its_own_and_a_delete_elsewhere_reaches_its_recording() {
    let Some(jfk) = support::jfk() else { return };
    let wav = std::fs::read(&jfk).expect("jfk");
    // Node A without models: what it queued stays queued (as while it is busy or down).
    let Some(a) = spawn_app_with(Backend::Postgres, |s| s.node_name = Some("a".into())).await
    else {
        return;
    };
    let cookie = a.signed_in_recruiter().await;
    let owner = a.user_id(&cookie).await;
    let mut queued = row(&owner, TranscriptionStatus::Queued);
    queued.node = Some("a".into());
    let mut waiting = row(&owner, TranscriptionStatus::Queued);
    waiting.node = Some("a".into());
    let mut running = row(&owner, TranscriptionStatus::Running);
    running.node = Some("a".into());
    running.started_at = Some(viva::db::now());
    let recording = |task: &TranscriptionRow| {
        a.data_dir
            .path()
            .join("files/transcriptions")
            .join(task.id.as_str())
    };
    let mut conn = a.pool().get().await.expect("connection");
    for task in [&queued, &waiting, &running] {
        viva::storage::write_private(&recording(task), &wav).expect("store");
        queries::insert(&mut conn, task).await.expect("insert");
    }
    drop(conn);

    // B starts (its recovery runs), its runner runs, and its queue holds one task.
    let Some(b) = another_node(&a, "b", |s| s.transcription_queue = 1).await else {
        return;
    };
    let on_b = id_of(&b.upload(Some(&cookie), "b.wav", wav.clone()).await);
    assert!(text_of(&b.finished_task(&cookie, &on_b).await).contains(WORDS));
    let mut conn = a.pool().get().await.expect("connection");
    for task in [&queued, &running] {
        let now = queries::get(&mut conn, &task.id)
            .await
            .expect("read")
            .expect("row");
        assert_eq!(now.status, task.status, "B touched A's task: {now:?}");
        assert_eq!(now.node.as_deref(), Some("a"));
    }
    // B's queue is full with a task of its own running.
    let mut b_running = row(&owner, TranscriptionStatus::Running);
    b_running.node = Some("b".into());
    queries::insert(&mut conn, &b_running)
        .await
        .expect("insert");
    drop(conn);
    let r = b.upload(Some(&cookie), "b.wav", wav).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", r.body);
    assert_eq!(r.error_code(), "transcription_queue_full");

    // A's task read and deleted through B: A's sweep removes the recording it held, and
    // keeps the running task's.
    let path = format!("/api/v1/transcriptions/{}", queued.id);
    let r = b.get(&path, Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["status"], "queued");
    assert_eq!(
        b.delete(&path, Some(&cookie)).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        a.get(&path, Some(&cookie)).await.status,
        StatusCode::NOT_FOUND
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    while recording(&queued).exists() {
        assert!(
            Instant::now() < deadline,
            "A kept the deleted task's recording"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // B's runner, done with its own task, looked for more long ago, and left A's alone.
    let mut conn = a.pool().get().await.expect("connection");
    for task in [&waiting, &running] {
        let now = queries::get(&mut conn, &task.id)
            .await
            .expect("read")
            .expect("row");
        assert_eq!(now.status, task.status, "B touched A's task: {now:?}");
        assert!(
            recording(task).exists(),
            "A removed a pending task's recording"
        );
    }
}
