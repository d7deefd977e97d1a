//! The language-model worker: one thread owns the engine and the per-conversation KV caches,
//! writes every requested reply at once in batched steps (`batcher`), and streams text deltas
//! back as they are produced.

mod batcher;
mod caches;

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use super::stats::{WorkerSnapshot, WorkerStats};
use super::{ComputeGate, InferenceError, Priority};
use crate::llm::{ChatMessage, ChatRole, GenerateOptions, Generation, LlmEngine};
use batcher::{Batcher, Job};
use caches::ConversationCaches;

/// Memory for the cached conversations' keys and values. A SmolLM2-135M conversation's cache
/// takes 23.6 MB per 512 positions of room, so this keeps about five interviews' histories on a
/// small machine; an evicted conversation costs one full prefill on its next turn.
const CACHE_BUDGET_BYTES: usize = 128 << 20;

/// What a reply stream yields.
#[derive(Debug)]
pub enum ReplyEvent {
    /// The next piece of text (always whole UTF-8 characters).
    Delta(String),
    /// The reply is over: the whole generation, or why it failed.
    Done(Result<Generation, InferenceError>),
}

/// A reply being generated. Dropping it (or calling [`ReplyStream::cancel`]) stops the
/// generation at the next token.
pub struct ReplyStream {
    events: mpsc::UnboundedReceiver<ReplyEvent>,
    cancelled: Arc<AtomicBool>,
}

impl ReplyStream {
    pub async fn next(&mut self) -> Option<ReplyEvent> {
        self.events.recv().await
    }

    /// [`ReplyStream::next`] for a blocking thread (never call it on the async runtime).
    pub fn blocking_next(&mut self) -> Option<ReplyEvent> {
        self.events.blocking_recv()
    }

    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Reads the stream to its end and returns the finished generation.
    pub async fn finish(mut self) -> Result<Generation, InferenceError> {
        while let Some(event) = self.next().await {
            if let ReplyEvent::Done(result) = event {
                return result;
            }
        }
        Err(InferenceError::Stopped("llm"))
    }

    /// [`ReplyStream::finish`] for a blocking thread (never call it on the async runtime).
    pub fn blocking_finish(mut self) -> Result<Generation, InferenceError> {
        while let Some(event) = self.blocking_next() {
            if let ReplyEvent::Done(result) = event {
                return result;
            }
        }
        Err(InferenceError::Stopped("llm"))
    }
}

impl Drop for ReplyStream {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// A handle to the LLM worker thread. Cheap to clone; the thread ends when every handle is
/// dropped.
#[derive(Clone)]
pub struct LlmWorker {
    jobs: Sender<Job>,
    stats: Arc<WorkerStats>,
    capacity: usize,
}

impl LlmWorker {
    /// Starts the worker, which holds at most `capacity` replies (written or waiting; up to 16
    /// are written at once) and keeps the KV caches of at most `max_conversations`
    /// conversations within 128 MB (least recently used evicted first).
    pub fn start(
        engine: LlmEngine,
        capacity: usize,
        max_conversations: usize,
        gate: ComputeGate,
    ) -> std::io::Result<Self> {
        let (jobs, queue) = channel::<Job>();
        let stats = Arc::new(WorkerStats::default());
        let batcher = Batcher::new(
            engine.clone(),
            gate.clone(),
            stats.clone(),
            ConversationCaches::new(max_conversations.max(1), CACHE_BUDGET_BYTES),
        );
        std::thread::Builder::new()
            .name("viva-llm".into())
            .spawn(move || {
                warm_up(&engine, &gate);
                batcher.run(queue);
            })?;
        Ok(Self {
            jobs,
            stats,
            capacity: capacity.max(1),
        })
    }

    /// What the worker has done so far.
    pub fn stats(&self) -> WorkerSnapshot {
        self.stats.snapshot()
    }

    /// Queues a reply for `conversation` (any stable id, e.g. the interview id) to `messages`,
    /// the whole history including the system prompt. Turns that extend the previous call's
    /// history reuse its KV cache.
    pub fn reply(
        &self,
        conversation: &str,
        messages: Vec<ChatMessage>,
        options: GenerateOptions,
    ) -> Result<ReplyStream, InferenceError> {
        if !self.stats.try_queue(self.capacity) {
            return Err(InferenceError::Busy("llm"));
        }
        let (events, receiver) = mpsc::unbounded_channel();
        let cancelled = Arc::new(AtomicBool::new(false));
        let job = Job {
            conversation: conversation.to_owned(),
            messages,
            options,
            events,
            cancelled: cancelled.clone(),
            span: tracing::Span::current(),
            queued_at: Instant::now(),
        };
        if self.jobs.send(job).is_err() {
            self.stats.unqueued();
            return Err(InferenceError::Stopped("llm"));
        }
        Ok(ReplyStream {
            events: receiver,
            cancelled,
        })
    }
}

/// One short generation so the first real reply does not pay for lazy initialisation.
fn warm_up(engine: &LlmEngine, gate: &ComputeGate) {
    let started = Instant::now();
    let _compute = gate.lock(Priority::Reply);
    let mut conversation = engine.new_conversation();
    let messages = [ChatMessage {
        role: ChatRole::User,
        content: "Hello".into(),
    }];
    let options = GenerateOptions {
        max_tokens: 2,
        ..GenerateOptions::default()
    };
    match engine.generate(&mut conversation, &messages, &options, &mut |_| {
        ControlFlow::Continue(())
    }) {
        Ok(_) => tracing::info!(elapsed = ?started.elapsed(), "language model warmed up"),
        Err(e) => tracing::warn!(error = %e, "language model warm-up failed"),
    }
}
