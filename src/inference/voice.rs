//! The voice worker: one thread owns the synthesizer and speaks the sentences of every live
//! reply, one forward pass at a time under the compute gate at [`Priority::Voice`] (after a
//! waiting transcription and the next step of a reply, before assessments). The next sentence
//! is the one earliest in its reply, so each reply's first words come before other replies'
//! later sentences; a sentence whose reply was interrupted is dropped unspoken.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::stats::{WorkerSnapshot, WorkerStats};
use super::{ComputeGate, InferenceError, Priority};
use crate::voice::{Audio, Synthesizer, VoiceError};

struct Job {
    text: String,
    /// The sentence's place in its reply (0 first).
    sentence: usize,
    cancelled: Arc<AtomicBool>,
    reply: oneshot::Sender<Result<Audio, InferenceError>>,
    queued_at: Instant,
}

/// A handle to the voice worker thread. Cheap to clone; the thread ends when every handle is
/// dropped.
#[derive(Clone)]
pub struct VoiceWorker {
    jobs: Sender<Job>,
    stats: Arc<WorkerStats>,
    capacity: usize,
    sample_rate: u32,
}

impl VoiceWorker {
    /// Starts the worker thread, which holds at most `capacity` sentences (speaking or
    /// waiting). One warm-up sentence runs first.
    pub fn start(
        synthesizer: Synthesizer,
        capacity: usize,
        gate: ComputeGate,
    ) -> std::io::Result<Self> {
        let (jobs, queue) = channel::<Job>();
        let stats = Arc::new(WorkerStats::default());
        let counted = stats.clone();
        let sample_rate = synthesizer.sample_rate();
        std::thread::Builder::new()
            .name("viva-voice".into())
            .spawn(move || {
                let mut synthesizer = synthesizer;
                warm_up(&mut synthesizer, &gate);
                serve(&mut synthesizer, &gate, &counted, &queue);
            })?;
        Ok(Self {
            jobs,
            stats,
            capacity: capacity.max(1),
            sample_rate,
        })
    }

    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Speaks one sentence of a reply (`sentence`: its place in the reply, 0 first). Answers
    /// [`InferenceError::Cancelled`] when `cancelled` was set before it was spoken.
    pub async fn speak(
        &self,
        text: String,
        sentence: usize,
        cancelled: Arc<AtomicBool>,
    ) -> Result<Audio, InferenceError> {
        if !self.stats.try_queue(self.capacity) {
            return Err(InferenceError::Busy("voice"));
        }
        let (reply, answer) = oneshot::channel();
        let job = Job {
            text,
            sentence,
            cancelled,
            reply,
            queued_at: Instant::now(),
        };
        if self.jobs.send(job).is_err() {
            self.stats.unqueued();
            return Err(InferenceError::Stopped("voice"));
        }
        answer.await.map_err(|_| InferenceError::Stopped("voice"))?
    }

    /// What the worker has done so far.
    pub fn stats(&self) -> WorkerSnapshot {
        self.stats.snapshot()
    }
}

fn serve(
    synthesizer: &mut Synthesizer,
    gate: &ComputeGate,
    stats: &WorkerStats,
    queue: &Receiver<Job>,
) {
    let mut waiting: Vec<Job> = Vec::new();
    loop {
        if waiting.is_empty() {
            match queue.recv() {
                Ok(job) => waiting.push(job),
                Err(_) => return,
            }
        }
        waiting.extend(queue.try_iter());
        let Some(next) = next_job(&waiting) else {
            continue;
        };
        let job = waiting.remove(next);
        if job.cancelled.load(Ordering::Relaxed) || job.reply.is_closed() {
            stats.finished(job.queued_at.elapsed(), Duration::ZERO, 0);
            let _ = job.reply.send(Err(InferenceError::Cancelled));
            continue;
        }
        let waited = job.queued_at.elapsed();
        let started = Instant::now();
        let result = speak(synthesizer, gate, &job);
        let busy = started.elapsed();
        tracing::debug!(
            sentence = job.sentence,
            waiting = waiting.len(),
            waited_ms = waited.as_millis(),
            busy_ms = busy.as_millis(),
            "voice sentence"
        );
        stats.finished(waited, busy, 0);
        let _ = job.reply.send(result);
    }
}

/// Phonemizes outside the gate (a child process answers in a millisecond or two), then runs
/// the voice under it.
fn speak(
    synthesizer: &mut Synthesizer,
    gate: &ComputeGate,
    job: &Job,
) -> Result<Audio, InferenceError> {
    let phonemes = synthesizer.phonemes(&job.text).map_err(voice_error)?;
    let _compute = gate.lock(Priority::Voice);
    if job.cancelled.load(Ordering::Relaxed) {
        return Err(InferenceError::Cancelled);
    }
    synthesizer.speak_phonemes(&phonemes).map_err(voice_error)
}

fn voice_error(error: VoiceError) -> InferenceError {
    InferenceError::Voice(error)
}

/// The sentence to speak next: the earliest in its reply, among equals the first to come
/// (`min_by_key` keeps the first of equal keys, and jobs are in arrival order).
fn next_job(waiting: &[Job]) -> Option<usize> {
    waiting
        .iter()
        .enumerate()
        .min_by_key(|(_, job)| job.sentence)
        .map(|(index, _)| index)
}

fn warm_up(synthesizer: &mut Synthesizer, gate: &ComputeGate) {
    let started = Instant::now();
    let phonemes = match synthesizer.phonemes("Hello.") {
        Ok(phonemes) => phonemes,
        Err(e) => {
            tracing::warn!(error = %e, "voice warm-up failed");
            return;
        }
    };
    let _compute = gate.lock(Priority::Voice);
    match synthesizer.speak_phonemes(&phonemes) {
        Ok(_) => tracing::info!(elapsed = ?started.elapsed(), "voice warmed up"),
        Err(e) => tracing::warn!(error = %e, "voice warm-up failed"),
    }
}
