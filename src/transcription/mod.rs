//! Batch transcription: recordings uploaded whole (`POST /api/v1/transcriptions`) and
//! transcribed in the background.
//!
//! - **Accepting** ([`Transcriptions::submit`]): the size is checked, the format sniffed from
//!   the bytes, and the recording decoded once (on a blocking thread, one upload at a time) so
//!   a file that is not audio, is damaged or is too long is refused at once with a clear
//!   error. The bytes are then kept privately under `data_dir/files/transcriptions/<id>` and a
//!   `queued` row records the task. The queue is bounded (`transcription_queue`).
//! - **Running** ([`Transcriptions::spawn`]): one runner per server takes the oldest queued
//!   task, decodes it again, cuts it at its silences into pieces of at most one 30 s window
//!   (`speech::segment`) and sends them one at a time to the speech worker as background work,
//!   which serves every live transcription first. Progress is stored after each piece; the
//!   text and timestamped segments when it is done; the audio is deleted then (or when it
//!   fails).
//! - **Restarts** ([`Transcriptions::recover`]): a task queued or running when the server
//!   stopped is queued again if its audio is still stored, and marked failed with the reason
//!   otherwise.
//! - **Retention**: a sweep deletes finished tasks `transcription_retention` after they
//!   finished, and recordings stored here whose task is no longer pending (deleted through
//!   another node).
//! - **Several nodes** (sharing PostgreSQL): a task belongs to the node that received the
//!   upload (`node`), because the recording is on that node's disk. Its runner, its recovery
//!   on start and its queue bound see only its own tasks ([`Queue`]); reading, listing and
//!   deleting work from any node. A node that is down leaves its queued tasks waiting until it
//!   comes back under the same name. On SQLite (one node by construction) every task is the
//!   node's, whatever its name was when it queued them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{Notify, Semaphore};

use crate::db::transcriptions::{self as queries, Queue, TranscriptionRow};
use crate::db::{self, DbError, DbPool};
use crate::domain::{AudioFormat, TranscriptionId, TranscriptionStatus, UserId};
use crate::inference::{InferenceError, SpeechWorker};
use crate::speech::audio::AudioError;
use crate::speech::decode::{self, DecodedAudio};
use crate::speech::segment::{split_at_silences, MAX_PIECE};

/// How many of a user's tasks the list shows, newest first.
pub const LIST_LIMIT: i64 = 50;
/// What a client that found the queue full is told to wait before trying again.
pub const QUEUE_FULL_RETRY: Duration = Duration::from_secs(30);
/// How often the runner looks for queued tasks even when nobody woke it.
const IDLE_POLL: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum TranscriptionError {
    #[error("the recording is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    TooLong(String),
    #[error(
        "{limit} transcriptions are queued or running, the most this server takes; try again later"
    )]
    QueueFull { limit: usize },
    #[error("batch transcription is unavailable: this server runs without its speech model")]
    ModelsUnavailable,
    #[error("no such transcription")]
    NotFound,
    #[error("storing the recording: {0}")]
    Storage(#[from] std::io::Error),
    #[error("the decoder stopped unexpectedly: {0}")]
    Decoder(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<AudioError> for TranscriptionError {
    fn from(e: AudioError) -> Self {
        match e {
            AudioError::NotAudio | AudioError::UnsupportedCodec(_) => {
                Self::Unsupported(e.to_string())
            }
            AudioError::LongerThan { .. } | AudioError::TooLong { .. } => {
                Self::TooLong(e.to_string())
            }
            other => Self::Invalid(other.to_string()),
        }
    }
}

/// The limits a server sets on batch transcription (from its settings).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_duration: Duration,
    pub queue: usize,
    pub retention: Duration,
    /// How old a stored recording whose task is gone must be before the sweep removes it:
    /// longer than an upload can take between storing its recording and recording its task.
    pub orphan_after: Duration,
}

/// One timestamped piece of a transcript (seconds from the start of the recording).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[schema(as = TranscriptionSegment)]
pub struct Segment {
    pub start: f64,
    pub end: f64,
    pub text: String,
}

/// A task as its owner sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Transcription)]
pub struct TaskView {
    pub id: TranscriptionId,
    pub status: TranscriptionStatus,
    pub filename: String,
    pub format: AudioFormat,
    pub size_bytes: i64,
    pub duration_seconds: f64,
    /// Segments done and their total (`null` until the task runs).
    pub progress: Progress,
    /// The whole text, once done.
    pub text: Option<String>,
    /// The timestamped segments, once done (only in a single task's view).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segments: Option<Vec<Segment>>,
    pub error: Option<String>,
    pub created_at: chrono::NaiveDateTime,
    pub started_at: Option<chrono::NaiveDateTime>,
    pub finished_at: Option<chrono::NaiveDateTime>,
}

#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
#[schema(as = TranscriptionProgress)]
pub struct Progress {
    pub segments_done: i32,
    pub segments_total: Option<i32>,
}

impl TaskView {
    fn from_row(row: TranscriptionRow, with_segments: bool) -> Self {
        let segments = with_segments
            .then_some(row.segments.as_deref())
            .flatten()
            .map(|json| serde_json::from_str(json).unwrap_or_default());
        Self {
            id: row.id,
            status: row.status,
            filename: row.filename,
            format: row.format,
            size_bytes: row.size_bytes,
            duration_seconds: row.duration_ms as f64 / 1000.0,
            progress: Progress {
                segments_done: row.segments_done,
                segments_total: row.segments_total,
            },
            text: row.text,
            segments,
            error: row.error,
            created_at: row.created_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
        }
    }
}

/// What this server's batch transcription has done (for `/metrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchSnapshot {
    /// Tasks accepted by this server and not yet running.
    pub queued: u64,
    /// Tasks running now (0 or 1).
    pub running: u64,
    pub done: u64,
    pub failed: u64,
}

#[derive(Default)]
struct Counters {
    /// This node's queued tasks (a set: a task deleted through another node leaves it once,
    /// when the sweep removes its recording).
    queued: Mutex<HashSet<TranscriptionId>>,
    running: AtomicU64,
    done: AtomicU64,
    failed: AtomicU64,
}

/// Batch transcription on this server. Cheap to clone.
#[derive(Clone)]
pub struct Transcriptions {
    inner: Arc<Inner>,
}

struct Inner {
    pool: DbPool,
    speech: Option<SpeechWorker>,
    /// This node's name, recorded with every task it accepts.
    node: String,
    /// Whether several nodes may share the database (PostgreSQL): each then works on its own
    /// tasks only.
    shared: bool,
    dir: PathBuf,
    limits: Limits,
    wake: Notify,
    /// Uploads are decoded one at a time (a decode is CPU work outside the compute gate).
    decoding: Semaphore,
    counters: Counters,
}

impl Transcriptions {
    /// `speech` is `None` on a server without models: every upload is then refused. `node` is
    /// this node's name (`node_name`).
    pub fn new(
        pool: DbPool,
        speech: Option<SpeechWorker>,
        data_dir: &Path,
        node: &str,
        limits: Limits,
    ) -> Self {
        let shared = matches!(pool, DbPool::Postgres(_));
        Self {
            inner: Arc::new(Inner {
                pool,
                speech,
                node: node.to_owned(),
                shared,
                dir: data_dir.join("files").join("transcriptions"),
                limits,
                wake: Notify::new(),
                decoding: Semaphore::new(1),
                counters: Counters::default(),
            }),
        }
    }

    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// The tasks this node works on.
    fn queue(&self) -> Queue<'_> {
        if self.inner.shared {
            Queue::Node(&self.inner.node)
        } else {
            Queue::Every
        }
    }

    fn queued(&self) -> std::sync::MutexGuard<'_, HashSet<TranscriptionId>> {
        self.inner
            .counters
            .queued
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Where a task's audio is kept while it is pending. Ids are UUIDs made here.
    pub fn audio_path(&self, id: &TranscriptionId) -> PathBuf {
        self.inner.dir.join(id.as_str())
    }

    pub fn snapshot(&self) -> BatchSnapshot {
        let c = &self.inner.counters;
        BatchSnapshot {
            queued: self.queued().len() as u64,
            running: c.running.load(Ordering::Relaxed),
            done: c.done.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
        }
    }

    /// Accepts a recording for transcription: checks it (size, format, a full decode within
    /// the duration limit), stores it and queues the task.
    pub async fn submit(
        &self,
        owner: &UserId,
        filename: &str,
        bytes: Vec<u8>,
    ) -> Result<TaskView, TranscriptionError> {
        let inner = &self.inner;
        if inner.speech.is_none() {
            return Err(TranscriptionError::ModelsUnavailable);
        }
        if bytes.len() > inner.limits.max_bytes {
            return Err(TranscriptionError::TooLarge {
                limit: inner.limits.max_bytes,
            });
        }
        let format = decode::sniff(&bytes).ok_or(AudioError::NotAudio)?;
        self.check_queue().await?;
        let (bytes, decoded) = self.decode(bytes).await?;
        // Another upload may have filled the queue while this one decoded.
        self.check_queue().await?;
        let row = TranscriptionRow {
            id: TranscriptionId::random(),
            owner_id: owner.clone(),
            status: TranscriptionStatus::Queued,
            filename: clean_filename(filename),
            format,
            size_bytes: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
            duration_ms: i64::try_from(decoded.duration().as_millis()).unwrap_or(i64::MAX),
            segments_total: None,
            segments_done: 0,
            text: None,
            segments: None,
            error: None,
            created_at: db::now(),
            started_at: None,
            finished_at: None,
            node: Some(inner.node.clone()),
        };
        drop(decoded);
        let path = self.audio_path(&row.id);
        crate::storage::write_private(&path, &bytes)?;
        let mut conn = inner.pool.get().await?;
        if let Err(e) = queries::insert(&mut conn, &row).await {
            self.remove_audio(&row.id);
            return Err(e.into());
        }
        drop(conn);
        self.queued().insert(row.id.clone());
        inner.wake.notify_one();
        tracing::info!(transcription_id = %row.id, %format, bytes = row.size_bytes, "transcription queued");
        Ok(TaskView::from_row(row, true))
    }

    async fn check_queue(&self) -> Result<(), TranscriptionError> {
        let mut conn = self.inner.pool.get().await?;
        let pending = queries::count_pending(&mut conn, self.queue()).await?;
        let limit = self.inner.limits.queue;
        if usize::try_from(pending).unwrap_or(usize::MAX) >= limit {
            return Err(TranscriptionError::QueueFull { limit });
        }
        Ok(())
    }

    /// Decodes on a blocking thread, one recording at a time; gives the bytes back.
    async fn decode(&self, bytes: Vec<u8>) -> Result<(Vec<u8>, DecodedAudio), TranscriptionError> {
        let _one_at_a_time = self
            .inner
            .decoding
            .acquire()
            .await
            .map_err(|e| TranscriptionError::Decoder(e.to_string()))?;
        let max = self.inner.limits.max_duration;
        let (bytes, decoded) = tokio::task::spawn_blocking(move || {
            let decoded = decode::decode(&bytes, max);
            (bytes, decoded)
        })
        .await
        .map_err(|e| TranscriptionError::Decoder(e.to_string()))?;
        Ok((bytes, decoded?))
    }

    /// The task, if `owner` owns it.
    pub async fn get(
        &self,
        owner: &UserId,
        id: &TranscriptionId,
    ) -> Result<TaskView, TranscriptionError> {
        let mut conn = self.inner.pool.get().await?;
        queries::get_owned(&mut conn, owner, id)
            .await?
            .map(|row| TaskView::from_row(row, true))
            .ok_or(TranscriptionError::NotFound)
    }

    /// The owner's latest tasks, newest first, without their segments.
    pub async fn list(&self, owner: &UserId) -> Result<Vec<TaskView>, TranscriptionError> {
        let mut conn = self.inner.pool.get().await?;
        Ok(queries::list_owned(&mut conn, owner, LIST_LIMIT)
            .await?
            .into_iter()
            .map(|row| TaskView::from_row(row, false))
            .collect())
    }

    /// Deletes the owner's task and its audio. A running task stops after its current piece.
    /// Another node's task goes too: its runner stops it the same way, or its sweep removes
    /// the recording it holds.
    pub async fn delete(
        &self,
        owner: &UserId,
        id: &TranscriptionId,
    ) -> Result<(), TranscriptionError> {
        let mut conn = self.inner.pool.get().await?;
        let Some(row) = queries::get_owned(&mut conn, owner, id).await? else {
            return Err(TranscriptionError::NotFound);
        };
        if !queries::delete_owned(&mut conn, owner, id).await? {
            return Err(TranscriptionError::NotFound);
        }
        drop(conn);
        if row.status == TranscriptionStatus::Queued {
            self.queued().remove(id);
            self.remove_audio(id);
        }
        Ok(())
    }

    /// Called once on start: every task of this node's left queued or running is queued again
    /// if its audio is still stored, and failed with the reason otherwise (an unnamed one, from
    /// before nodes were named, is taken over the same way). Other nodes' tasks are theirs.
    /// Returns (queued again, failed).
    pub async fn recover(&self) -> Result<(usize, usize), TranscriptionError> {
        let mut conn = self.inner.pool.get().await?;
        let mut requeued = 0;
        let mut failed = 0;
        for row in queries::pending(&mut conn, self.queue()).await? {
            let was = row.node.as_deref();
            if self.audio_path(&row.id).is_file() {
                if queries::requeue_left(&mut conn, &row.id, was, &self.inner.node).await? {
                    self.queued().insert(row.id);
                    requeued += 1;
                }
            } else if queries::fail_left(
                &mut conn,
                &row.id,
                was,
                "the server stopped before this recording was transcribed, and its audio was no \
                 longer stored; upload it again",
            )
            .await?
            {
                failed += 1;
            }
        }
        if requeued + failed > 0 {
            tracing::info!(requeued, failed, "transcriptions left by the last run");
        }
        Ok((requeued, failed))
    }

    /// Starts the runner (it works through the queue) and the retention sweep on the current
    /// actix runtime. Call once, after [`Transcriptions::recover`].
    pub fn spawn(&self) {
        if self.inner.speech.is_some() {
            let runner = self.clone();
            actix_web::rt::spawn(async move { runner.run_queue().await });
        }
        let sweeper = self.clone();
        actix_web::rt::spawn(async move { sweeper.sweep_forever().await });
    }

    async fn run_queue(&self) {
        loop {
            let claimed = match self.inner.pool.get().await {
                Ok(mut conn) => queries::claim_next(&mut conn, self.queue()).await,
                Err(e) => Err(e),
            };
            match claimed {
                Ok(Some(row)) => self.run(row).await,
                Ok(None) => {
                    let _ = tokio::time::timeout(IDLE_POLL, self.inner.wake.notified()).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the transcription queue");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
        }
    }

    /// Transcribes one claimed task to its end (done, failed, or deleted meanwhile).
    async fn run(&self, row: TranscriptionRow) {
        let counters = &self.inner.counters;
        self.queued().remove(&row.id);
        counters.running.fetch_add(1, Ordering::Relaxed);
        let id = row.id.clone();
        let outcome = self.transcribe(&row).await;
        counters.running.fetch_sub(1, Ordering::Relaxed);
        let result = match outcome {
            Ok(Some((text, segments))) => {
                let json = serde_json::to_string(&segments).unwrap_or_else(|_| "[]".into());
                match self.inner.pool.get().await {
                    Ok(mut conn) => queries::finish(&mut conn, &id, &text, &json).await,
                    Err(e) => Err(e),
                }
                .map(|stored| {
                    if stored {
                        counters.done.fetch_add(1, Ordering::Relaxed);
                        tracing::info!(transcription_id = %id, segments = segments.len(), "transcription done");
                    }
                })
            }
            Ok(None) => {
                tracing::info!(transcription_id = %id, "transcription deleted while it ran");
                Ok(())
            }
            Err(reason) => {
                counters.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(transcription_id = %id, %reason, "transcription failed");
                match self.inner.pool.get().await {
                    Ok(mut conn) => queries::fail(&mut conn, &id, &reason).await,
                    Err(e) => Err(e),
                }
            }
        };
        match result {
            Ok(()) => self.remove_audio(&id),
            // The row still says running: a restart finds it with its audio and queues it again.
            Err(e) => {
                tracing::error!(transcription_id = %id, error = %e, "cannot record a transcription's result")
            }
        }
    }

    /// The text and segments, `None` when the task was deleted meanwhile, or the reason it
    /// failed.
    async fn transcribe(
        &self,
        row: &TranscriptionRow,
    ) -> Result<Option<(String, Vec<Segment>)>, String> {
        let Some(speech) = &self.inner.speech else {
            return Err("this server runs without its speech model".into());
        };
        let path = self.audio_path(&row.id);
        let bytes = tokio::task::spawn_blocking(move || std::fs::read(path))
            .await
            .map_err(|e| e.to_string())
            .and_then(|read| read.map_err(|e| e.to_string()))
            .map_err(|e| format!("the stored recording cannot be read: {e}"))?;
        let (_, decoded) = self.decode(bytes).await.map_err(|e| e.to_string())?;
        let samples = decoded.samples;
        let pieces = split_at_silences(&samples, MAX_PIECE);
        let total = i32::try_from(pieces.len()).unwrap_or(i32::MAX);
        if !self.progress(&row.id, total, 0).await? {
            return Ok(None);
        }
        let mut segments = Vec::with_capacity(pieces.len());
        for (done, piece) in pieces.iter().enumerate() {
            let transcript = speech
                .transcribe_background(samples[piece.range.clone()].to_vec())
                .await
                .map_err(|e| match e {
                    InferenceError::Stopped(_) => "the speech worker stopped".to_string(),
                    other => format!("transcription failed: {other}"),
                })?;
            let text = transcript.text.trim();
            if !text.is_empty() {
                segments.push(Segment {
                    start: round_ms(piece.start_seconds()),
                    end: round_ms(piece.end_seconds()),
                    text: text.to_owned(),
                });
            }
            let done = i32::try_from(done + 1).unwrap_or(i32::MAX);
            if !self.progress(&row.id, total, done).await? {
                return Ok(None);
            }
        }
        let text = segments
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Some((text, segments)))
    }

    /// Stores progress; `false` when the task is gone (deleted by its owner).
    async fn progress(&self, id: &TranscriptionId, total: i32, done: i32) -> Result<bool, String> {
        let mut conn = self
            .inner
            .pool
            .get()
            .await
            .map_err(|e| format!("database: {e}"))?;
        queries::set_progress(&mut conn, id, total, done)
            .await
            .map_err(|e| format!("database: {e}"))
    }

    async fn sweep_forever(&self) {
        let limits = self.inner.limits;
        let every = limits
            .retention
            .min(limits.orphan_after)
            .min(Duration::from_secs(60))
            .max(Duration::from_millis(100));
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match self.sweep().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "old transcriptions removed"),
                Err(e) => tracing::warn!(error = %e, "transcription clean-up failed"),
            }
        }
    }

    /// Deletes tasks that finished more than the retention time ago, and removes the recordings
    /// stored here whose task is no longer pending; returns how many tasks.
    pub async fn sweep(&self) -> Result<usize, TranscriptionError> {
        let retention = chrono::Duration::from_std(self.inner.limits.retention)
            .unwrap_or(chrono::Duration::MAX);
        let before = db::now()
            .checked_sub_signed(retention)
            .unwrap_or(chrono::NaiveDateTime::MIN);
        let mut conn = self.inner.pool.get().await?;
        let removed = queries::delete_finished_before(&mut conn, before).await?;
        for id in &removed {
            let path = self.audio_path(id);
            if path.exists() {
                self.remove_audio(id);
            }
        }
        // A recording written just now may be an upload about to record its task.
        let written_before = std::time::SystemTime::now()
            .checked_sub(self.inner.limits.orphan_after)
            .unwrap_or(std::time::UNIX_EPOCH);
        let stored = self.stored_before(written_before);
        if !stored.is_empty() {
            let pending: HashSet<TranscriptionId> = queries::pending_among(&mut conn, &stored)
                .await?
                .into_iter()
                .collect();
            drop(conn);
            for id in stored.into_iter().filter(|id| !pending.contains(id)) {
                tracing::info!(transcription_id = %id, "removing the recording of a deleted transcription");
                self.queued().remove(&id);
                self.remove_audio(&id);
            }
        }
        Ok(removed.len())
    }

    /// The tasks whose recordings are stored here and were last written before `before`.
    fn stored_before(&self, before: std::time::SystemTime) -> Vec<TranscriptionId> {
        let Ok(entries) = std::fs::read_dir(&self.inner.dir) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter(|entry| {
                entry
                    .metadata()
                    .ok()
                    .filter(std::fs::Metadata::is_file)
                    .and_then(|meta| meta.modified().ok())
                    .is_some_and(|modified| modified < before)
            })
            .filter_map(|entry| entry.file_name().into_string().ok())
            .map(TranscriptionId::from)
            .collect()
    }

    fn remove_audio(&self, id: &TranscriptionId) {
        if let Err(e) = std::fs::remove_file(self.audio_path(id)) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(transcription_id = %id, error = %e, "could not remove a recording");
            }
        }
    }
}

fn round_ms(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

/// The client's file name, for display only: its last path part, printable characters, at most
/// 200 of them.
fn clean_filename(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        "recording".to_owned()
    } else {
        cleaned.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_cleaned_for_display() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("C:\\rec\\a b.webm"), "a b.webm");
        assert_eq!(clean_filename("a\u{0}b\nc.wav"), "abc.wav");
        assert_eq!(clean_filename(""), "recording");
        assert_eq!(clean_filename("dir/"), "recording");
        assert_eq!(clean_filename(&"x".repeat(500)).len(), 200);
    }

    #[test]
    fn audio_errors_become_the_matching_refusal() {
        assert!(matches!(
            TranscriptionError::from(AudioError::NotAudio),
            TranscriptionError::Unsupported(_)
        ));
        assert!(matches!(
            TranscriptionError::from(AudioError::LongerThan {
                limit: Duration::from_secs(1)
            }),
            TranscriptionError::TooLong(_)
        ));
        assert!(matches!(
            TranscriptionError::from(AudioError::Malformed("x".into())),
            TranscriptionError::Invalid(_)
        ));
    }
}
