//! The language-model worker: one thread owns the engine and the per-conversation KV caches,
//! generates one reply at a time, and streams text deltas back as they are produced.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use super::stats::{WorkerSnapshot, WorkerStats};
use super::{ComputeGate, InferenceError};
use crate::llm::{ChatMessage, ChatRole, Conversation, GenerateOptions, Generation, LlmEngine};

/// Deltas buffered per reply before the worker waits for the reader.
const STREAM_BUFFER: usize = 256;

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

struct Job {
    conversation: String,
    messages: Vec<ChatMessage>,
    options: GenerateOptions,
    events: mpsc::Sender<ReplyEvent>,
    cancelled: Arc<AtomicBool>,
    span: tracing::Span,
    queued_at: Instant,
}

/// A reply being generated. Dropping it (or calling [`ReplyStream::cancel`]) stops the
/// generation at the next token.
pub struct ReplyStream {
    events: mpsc::Receiver<ReplyEvent>,
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
    jobs: SyncSender<Job>,
    stats: Arc<WorkerStats>,
}

impl LlmWorker {
    /// Starts the worker with a queue of `capacity` waiting replies, keeping the KV caches of at
    /// most `max_conversations` conversations within 128 MB (least recently used evicted first).
    pub fn start(
        engine: LlmEngine,
        capacity: usize,
        max_conversations: usize,
        gate: ComputeGate,
    ) -> std::io::Result<Self> {
        let (jobs, queue) = sync_channel::<Job>(capacity);
        let stats = Arc::new(WorkerStats::default());
        let counted = stats.clone();
        std::thread::Builder::new()
            .name("viva-llm".into())
            .spawn(move || {
                let mut caches =
                    ConversationCaches::new(max_conversations.max(1), CACHE_BUDGET_BYTES);
                warm_up(&engine, &gate);
                for job in queue {
                    let _span = job.span.clone().entered();
                    let cached = caches.take(&job.conversation);
                    let is_new = cached.is_none();
                    let conversation =
                        cached.unwrap_or_else(|| start_conversation(&engine, &mut caches));
                    let (conversation, result, wait, busy) = {
                        let _compute = gate.lock();
                        let started = Instant::now();
                        let (conversation, result) = run(&engine, conversation, &job);
                        (
                            conversation,
                            result,
                            started - job.queued_at,
                            started.elapsed(),
                        )
                    };
                    let tokens = result.as_ref().map_or(0, |g| g.generated_tokens);
                    counted.finished(wait, busy, u64::try_from(tokens).unwrap_or(u64::MAX));
                    if is_new {
                        keep_system_prompt(&engine, &conversation, &job.messages, &mut caches);
                    }
                    caches.put(job.conversation.clone(), conversation);
                    // The reader may be gone (cancelled); nothing to do then.
                    let _ = job.events.blocking_send(ReplyEvent::Done(result));
                }
            })?;
        Ok(Self { jobs, stats })
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
        let (events, receiver) = mpsc::channel(STREAM_BUFFER);
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
        self.stats.queued();
        match self.jobs.try_send(job) {
            Ok(()) => Ok(ReplyStream {
                events: receiver,
                cancelled,
            }),
            Err(e) => {
                self.stats.unqueued();
                Err(match e {
                    TrySendError::Full(_) => InferenceError::Busy("llm"),
                    TrySendError::Disconnected(_) => InferenceError::Stopped("llm"),
                })
            }
        }
    }
}

fn run(
    engine: &LlmEngine,
    mut conversation: Conversation,
    job: &Job,
) -> (Conversation, Result<Generation, InferenceError>) {
    if job.cancelled.load(Ordering::Relaxed) {
        return (conversation, Err(InferenceError::Cancelled));
    }
    let mut on_text = |delta: &str| {
        if job.cancelled.load(Ordering::Relaxed) {
            return ControlFlow::Break(());
        }
        match job
            .events
            .blocking_send(ReplyEvent::Delta(delta.to_owned()))
        {
            Ok(()) => ControlFlow::Continue(()),
            Err(_) => ControlFlow::Break(()),
        }
    };
    let result = engine
        .generate(&mut conversation, &job.messages, &job.options, &mut on_text)
        .map_err(InferenceError::from);
    (conversation, result)
}

/// Where the worker keeps the system prompt's cached positions, shared by new conversations
/// (every interview starts with the same persona). Not a valid conversation id of callers'.
const SHARED_PREFIX: &str = "\0system-prompt";

/// A new conversation, starting from a copy of the shared system prompt when there is one.
/// (A copy whose prompt differs costs nothing extra: generation keeps only the common prefix.)
fn start_conversation(
    engine: &LlmEngine,
    caches: &mut ConversationCaches<Conversation>,
) -> Conversation {
    let Some(shared) = caches.take(SHARED_PREFIX) else {
        return engine.new_conversation();
    };
    let conversation = shared
        .fork(shared.cached_tokens())
        .unwrap_or_else(|_| engine.new_conversation());
    caches.put(SHARED_PREFIX.to_owned(), shared);
    conversation
}

/// Keeps a copy of `conversation`'s system-prompt positions for the next new conversation.
fn keep_system_prompt(
    engine: &LlmEngine,
    conversation: &Conversation,
    messages: &[ChatMessage],
    caches: &mut ConversationCaches<Conversation>,
) {
    let Some(system) = messages.first().filter(|m| m.role == ChatRole::System) else {
        return;
    };
    let Ok(system_prompt) = engine.render(std::slice::from_ref(system)) else {
        return;
    };
    let shared = conversation.cached_prefix_of(&system_prompt);
    let already_kept = caches
        .peek(SHARED_PREFIX)
        .is_some_and(|kept| kept.cached_prefix_of(&system_prompt) >= shared);
    if shared > 0 && !already_kept {
        if let Ok(copy) = conversation.fork(shared) {
            caches.put(SHARED_PREFIX.to_owned(), copy);
        }
    }
}

/// One short generation so the first real reply does not pay for lazy initialisation.
fn warm_up(engine: &LlmEngine, gate: &ComputeGate) {
    let started = Instant::now();
    let _compute = gate.lock();
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

/// Memory a cached value holds (for the caches' byte budget).
trait CacheSize {
    fn cache_bytes(&self) -> usize;
}

impl CacheSize for Conversation {
    fn cache_bytes(&self) -> usize {
        Conversation::cache_bytes(self)
    }
}

/// KV caches by conversation id, least recently used evicted first.
struct ConversationCaches<T> {
    capacity: usize,
    budget_bytes: usize,
    entries: HashMap<String, (T, u64)>,
    clock: u64,
}

impl<T: CacheSize> ConversationCaches<T> {
    fn new(capacity: usize, budget_bytes: usize) -> Self {
        Self {
            capacity,
            budget_bytes,
            entries: HashMap::new(),
            clock: 0,
        }
    }

    fn peek(&self, id: &str) -> Option<&T> {
        self.entries.get(id).map(|(conversation, _)| conversation)
    }

    fn take(&mut self, id: &str) -> Option<T> {
        self.entries
            .remove(id)
            .map(|(conversation, _)| conversation)
    }

    /// Keeps `conversation`, then evicts the least recently used ones while there are more
    /// than `capacity` or they hold more than `budget_bytes` (the newest is always kept).
    fn put(&mut self, id: String, conversation: T) {
        self.clock += 1;
        self.entries.insert(id, (conversation, self.clock));
        while self.entries.len() > 1
            && (self.entries.len() > self.capacity || self.bytes() > self.budget_bytes)
        {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(id, _)| id.clone());
            match oldest {
                Some(id) => {
                    self.entries.remove(&id);
                }
                None => break,
            }
        }
    }

    fn bytes(&self) -> usize {
        self.entries.values().map(|(c, _)| c.cache_bytes()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::{CacheSize, ConversationCaches};

    impl CacheSize for u32 {
        fn cache_bytes(&self) -> usize {
            *self as usize
        }
    }

    #[test]
    fn evicts_the_least_recently_used_conversation() {
        let mut caches = ConversationCaches::new(2, usize::MAX);
        caches.put("a".into(), 1);
        caches.put("b".into(), 2);
        let a = caches.take("a").expect("a is cached");
        caches.put("a".into(), a);
        caches.put("c".into(), 3);
        assert_eq!(caches.take("b"), None, "b was used least recently");
        assert_eq!(caches.take("a"), Some(1));
        assert_eq!(caches.take("c"), Some(3));
    }

    #[test]
    fn evicts_the_oldest_conversations_past_the_byte_budget() {
        let mut caches = ConversationCaches::new(10, 100);
        caches.put("a".into(), 40);
        caches.put("b".into(), 40);
        caches.put("c".into(), 40);
        assert_eq!(
            caches.take("a"),
            None,
            "a, the oldest, made the total 120 > 100"
        );
        assert_eq!(caches.take("b"), Some(40));
        caches.put("big".into(), 500);
        assert_eq!(
            caches.take("big"),
            Some(500),
            "the newest is kept even over budget"
        );
        assert_eq!(caches.take("c"), None);
    }
}
