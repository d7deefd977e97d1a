//! The conductor's [`TurnWriter`] over the LLM worker's queue, for live interviews. It runs on a
//! blocking thread (the conductor is synchronous) and reads the worker's stream there.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::inference::{InferenceError, LlmWorker, ReplyEvent};
use crate::interview::conductor::{follow_up_messages, Completion, TurnWriter};
use crate::llm::{GenerateOptions, LlmError};

/// Every follow-up request starts with the same system prompt and examples, so all interviews
/// share one conversation in the worker: its KV cache keeps that prefix, and each request
/// prefills only its own answer.
pub const FOLLOW_UP_CONVERSATION: &str = "follow-up";

/// Runs the follow-up prompt's shared prefix (system prompt and examples, ~400 tokens) through
/// the worker once, so that its cache holds it for every interview's follow-ups: each then
/// runs only its own answer. Waits until done.
pub fn cache_follow_up_prompt(llm: &LlmWorker) -> Result<(), InferenceError> {
    let options = GenerateOptions {
        max_tokens: 1,
        ..GenerateOptions::default()
    };
    llm.reply(
        FOLLOW_UP_CONVERSATION,
        follow_up_messages("", None),
        options,
    )?
    .blocking_finish()
    .map(|_| ())
}

/// [`cache_follow_up_prompt`] on a thread of its own, at start: without it, every interview
/// that ended an answer before the first follow-up was written ran the whole prefix itself
/// (about 3 s each on a 2-core AVX2 machine).
pub fn cache_follow_up_prompt_in_background(llm: LlmWorker) {
    let spawned = std::thread::Builder::new()
        .name("viva-prime".into())
        .spawn(move || {
            let started = Instant::now();
            match cache_follow_up_prompt(&llm) {
                Ok(()) => tracing::info!(elapsed = ?started.elapsed(), "follow-up prompt cached"),
                Err(e) => tracing::warn!(error = %e, "caching the follow-up prompt failed"),
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "could not start caching the follow-up prompt");
    }
}

pub struct WorkerWriter {
    llm: LlmWorker,
    conversation: &'static str,
    cancelled: Arc<AtomicBool>,
}

impl WorkerWriter {
    /// A writer for `conversation` whose requests stop when `cancelled` is set (barge-in).
    pub fn new(llm: LlmWorker, conversation: &'static str, cancelled: Arc<AtomicBool>) -> Self {
        Self {
            llm,
            conversation,
            cancelled,
        }
    }
}

impl TurnWriter for WorkerWriter {
    fn complete(&mut self, request: &Completion<'_>) -> Result<String, LlmError> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(LlmError::Interrupted);
        }
        let mut stream = self
            .llm
            .reply(
                self.conversation,
                request.messages.to_vec(),
                request.options.clone(),
            )
            .map_err(|e| LlmError::Stopped(e.to_string()))?;
        let mut text = String::new();
        while let Some(event) = stream.blocking_next() {
            match event {
                ReplyEvent::Delta(delta) => {
                    if self.cancelled.load(Ordering::Relaxed) {
                        stream.cancel();
                        return Err(LlmError::Interrupted);
                    }
                    text.push_str(&delta);
                    if request.stop_after.is_some_and(|stop| delta.contains(stop)) {
                        stream.cancel();
                        return Ok(text);
                    }
                }
                ReplyEvent::Done(Ok(_)) => return Ok(text),
                ReplyEvent::Done(Err(e)) => return Err(LlmError::Stopped(e.to_string())),
            }
        }
        Err(LlmError::Stopped(
            "the language model worker stopped".into(),
        ))
    }
}
