//! The language model worker's loop (continuous batching): every step it takes in new
//! requests, runs one batched forward pass for all active replies under the compute gate,
//! streams what each wrote, and retires the finished and cancelled ones at once. A new reply's
//! prompt runs in chunks between the others' tokens, so it never holds them up for long.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::caches::ConversationCaches;
use super::ReplyEvent;
use crate::inference::stats::WorkerStats;
use crate::inference::{Claim, ComputeGate, InferenceError, Priority};
use crate::llm::{
    ChatMessage, ChatRole, Conversation, GenerateOptions, LlmEngine, LlmError, Progress, Sequence,
    PREFILL_CHUNK,
};

/// Replies written at once; later requests wait in arrival order. Sixteen rows are two passes
/// of the Q8_0 kernel's eight rows per weight load.
pub(super) const MAX_BATCH: usize = 16;

/// Prompt tokens one step runs while other replies are writing: a step of 64 new tokens costs
/// about what a few decoding steps do, so writers slow down a little while a new prompt
/// goes in rather than stopping for all of it.
const PREFILL_WHILE_WRITING: usize = 64;

/// Where the worker keeps the system prompt's cached positions, shared by new conversations
/// (every interview starts with the same persona). Not a valid conversation id of callers'.
const SHARED_PREFIX: &str = "\0system-prompt";

/// A requested reply.
pub(super) struct Job {
    pub conversation: String,
    pub messages: Vec<ChatMessage>,
    pub options: GenerateOptions,
    pub events: UnboundedSender<ReplyEvent>,
    pub cancelled: Arc<AtomicBool>,
    pub span: tracing::Span,
    pub queued_at: Instant,
}

impl Job {
    fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed) || self.events.is_closed()
    }
}

/// A reply being written.
struct Active {
    job: Job,
    sequence: Sequence,
    /// Its conversation started here (not from a cache): its system prompt may be worth keeping.
    new_conversation: bool,
    waited: Duration,
    failure: Option<InferenceError>,
}

pub(super) struct Batcher {
    engine: LlmEngine,
    gate: ComputeGate,
    stats: Arc<WorkerStats>,
    caches: ConversationCaches<Conversation>,
    waiting: VecDeque<Job>,
    active: Vec<Active>,
    /// Held while replies are being written: the voice and background work wait for a moment
    /// with no reply to write instead of taking the gate between two of its steps.
    claim: Option<Claim>,
}

impl Batcher {
    pub fn new(
        engine: LlmEngine,
        gate: ComputeGate,
        stats: Arc<WorkerStats>,
        caches: ConversationCaches<Conversation>,
    ) -> Self {
        Self {
            engine,
            gate,
            stats,
            caches,
            waiting: VecDeque::new(),
            active: Vec::new(),
            claim: None,
        }
    }

    /// Serves `queue` until every sender is gone and the last reply is written.
    pub fn run(mut self, queue: Receiver<Job>) {
        loop {
            if self.active.is_empty() && self.waiting.is_empty() {
                match queue.recv() {
                    Ok(job) => self.waiting.push_back(job),
                    Err(_) => return,
                }
            }
            self.waiting.extend(queue.try_iter());
            self.drop_cancelled_waiting();
            self.admit();
            self.step();
            self.retire();
            if self.active.is_empty() {
                self.claim = None;
            }
        }
    }

    fn drop_cancelled_waiting(&mut self) {
        let (cancelled, waiting): (Vec<Job>, Vec<Job>) =
            self.waiting.drain(..).partition(Job::is_cancelled);
        self.waiting = waiting.into();
        for job in cancelled {
            self.stats
                .finished(job.queued_at.elapsed(), Duration::ZERO, 0);
            let _ = job
                .events
                .send(ReplyEvent::Done(Err(InferenceError::Cancelled)));
        }
    }

    /// Starts waiting requests while there is room in the batch.
    fn admit(&mut self) {
        while self.active.len() < MAX_BATCH {
            let Some(job) = self.waiting.pop_front() else {
                return;
            };
            let _span = job.span.clone().entered();
            let prompt = match self.engine.prompt(&job.messages, job.options.max_tokens) {
                Ok(prompt) => prompt,
                Err(e) => {
                    self.stats
                        .finished(job.queued_at.elapsed(), Duration::ZERO, 0);
                    let _ = job.events.send(ReplyEvent::Done(Err(e.into())));
                    continue;
                }
            };
            let (conversation, new_conversation) =
                self.conversation_for(&job.conversation, &prompt.tokens);
            let prompt_tokens = prompt.tokens.len();
            let sequence = self.engine.sequence(conversation, prompt, &job.options);
            let waited = job.queued_at.elapsed();
            tracing::debug!(
                prompt_tokens,
                to_prefill = sequence.prompt_left(),
                waited_ms = waited.as_millis(),
                "reply admitted"
            );
            self.active.push(Active {
                waited,
                job,
                sequence,
                new_conversation,
                failure: None,
            });
        }
    }

    /// The conversation a request extends: its own cached one; else a copy of the prefix it
    /// shares with a reply of the same conversation being written now (all live follow-ups
    /// share one conversation, whose cache holds their common instructions); else a new one
    /// from the shared system prompt.
    fn conversation_for(&mut self, id: &str, prompt: &[u32]) -> (Conversation, bool) {
        if let Some(cached) = self.caches.take(id) {
            return (cached, false);
        }
        let running = self
            .active
            .iter()
            .filter(|active| active.job.conversation == id)
            .map(|active| active.sequence.conversation())
            .max_by_key(|conversation| conversation.cached_prefix_of(prompt));
        if let Some(running) = running {
            let common = running.cached_prefix_of(prompt);
            if common > 0 {
                if let Ok(copy) = running.fork(common) {
                    return (copy, false);
                }
            }
        }
        (self.start_conversation(), true)
    }

    /// A new conversation, starting from a copy of the shared system prompt when there is one.
    /// (A copy whose prompt differs costs nothing extra: generation keeps only the common prefix.)
    fn start_conversation(&mut self) -> Conversation {
        let Some(shared) = self.caches.take(SHARED_PREFIX) else {
            return self.engine.new_conversation();
        };
        let conversation = shared
            .fork(shared.cached_tokens())
            .unwrap_or_else(|_| self.engine.new_conversation());
        self.caches.put(SHARED_PREFIX.to_owned(), shared);
        conversation
    }

    /// One batched step for every active reply. Prompts run in arrival order within the
    /// step's prompt budget: a whole chunk when nobody is writing, a small one otherwise.
    fn step(&mut self) {
        for active in &mut self.active {
            if active.job.is_cancelled() {
                active.sequence.cancel();
            }
        }
        let writing = self.active.iter().any(|a| !a.sequence.is_prefilling());
        let mut budget = if writing {
            PREFILL_WHILE_WRITING
        } else {
            PREFILL_CHUNK
        };
        let mut rows = 0;
        let mut batch: Vec<(&mut Sequence, usize)> = Vec::with_capacity(self.active.len());
        for active in &mut self.active {
            let sequence = &mut active.sequence;
            let limit = if sequence.is_prefilling() {
                let limit = budget.min(sequence.prompt_left());
                budget -= limit;
                limit
            } else {
                0
            };
            rows += usize::from(sequence.runs_with(limit));
            batch.push((sequence, limit));
        }
        if rows == 0 {
            return;
        }
        let prefill: usize = batch.iter().map(|(_, limit)| limit).sum();
        let gate = &self.gate;
        self.claim
            .get_or_insert_with(|| gate.claim(Priority::Reply));
        let asked = Instant::now();
        let result = {
            let _compute = self.gate.lock(Priority::Reply);
            let started = Instant::now();
            let result = self.engine.advance(&mut batch);
            self.stats.stepped(rows, prefill, started.elapsed());
            tracing::debug!(
                rows,
                prefill,
                gate_wait_ms = (started - asked).as_millis(),
                step_ms = started.elapsed().as_millis(),
                "batched step"
            );
            result
        };
        drop(batch);
        match result {
            Ok(progress) => {
                for (active, progress) in self.active.iter_mut().zip(progress) {
                    let (Progress::Text(delta) | Progress::Finished(delta)) = progress else {
                        continue;
                    };
                    if !delta.is_empty()
                        && active.job.events.send(ReplyEvent::Delta(delta)).is_err()
                    {
                        active.sequence.cancel();
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, replies = self.active.len(), "a batched step failed");
                for active in &mut self.active {
                    active.failure = Some(LlmError::Stopped(e.to_string()).into());
                    active.sequence.cancel();
                }
            }
        }
    }

    /// Answers and leaves the finished replies, keeping their caches for the next turn.
    fn retire(&mut self) {
        let mut index = 0;
        while index < self.active.len() {
            if !self.active[index].sequence.is_finished() {
                index += 1;
                continue;
            }
            let active = self.active.remove(index);
            let _span = active.job.span.clone().entered();
            let (conversation, generation) = active.sequence.finish();
            let tokens = u64::try_from(generation.generated_tokens).unwrap_or(u64::MAX);
            self.stats.finished(active.waited, Duration::ZERO, tokens);
            let result = match active.failure {
                // A failed step may have left the cache half-written: it is not kept.
                Some(failure) => Err(failure),
                None => {
                    if active.new_conversation {
                        self.keep_system_prompt(&conversation, &active.job.messages);
                    }
                    self.caches
                        .put(active.job.conversation.clone(), conversation);
                    Ok(generation)
                }
            };
            // The reader may be gone (cancelled); nothing to do then.
            let _ = active.job.events.send(ReplyEvent::Done(result));
        }
    }

    /// Keeps a copy of `conversation`'s system-prompt positions for the next new conversation.
    fn keep_system_prompt(&mut self, conversation: &Conversation, messages: &[ChatMessage]) {
        let Some(system) = messages.first().filter(|m| m.role == ChatRole::System) else {
            return;
        };
        let Ok(system_prompt) = self.engine.render(std::slice::from_ref(system)) else {
            return;
        };
        let shared = conversation.cached_prefix_of(&system_prompt);
        let already_kept = self
            .caches
            .peek(SHARED_PREFIX)
            .is_some_and(|kept| kept.cached_prefix_of(&system_prompt) >= shared);
        if shared > 0 && !already_kept {
            if let Ok(copy) = conversation.fork(shared) {
                self.caches.put(SHARED_PREFIX.to_owned(), copy);
            }
        }
    }
}
