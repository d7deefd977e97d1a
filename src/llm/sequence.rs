//! A reply being generated, advanced a step at a time. The language model worker keeps many
//! at once and runs every one's next tokens in a single batched forward pass
//! ([`LlmEngine::advance`]); [`LlmEngine::generate`] is the same with a batch of one.

use std::time::{Duration, Instant};

use candle_core::Tensor;

use super::engine::{Conversation, Generation, LlmEngine, StopReason};
use super::model::BatchInput;
use super::sampling::{GenerateOptions, Sampler};
use super::tokenizer::Utf8Stream;
use super::LlmError;

/// A rendered prompt that fits the context window with room for the reply.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub tokens: Vec<u32>,
    /// The oldest non-system messages left out so that the prompt and reply fit.
    pub dropped_messages: usize,
}

/// One generation in progress: its conversation (whose cache it extends), the prompt still to
/// run, and what it has written so far.
pub struct Sequence {
    conversation: Conversation,
    prompt: Vec<u32>,
    /// Prompt tokens whose keys and values are in the cache (reused or run).
    prefilled: usize,
    reused_tokens: usize,
    dropped_messages: usize,
    max_tokens: usize,
    sampler: Sampler,
    generated: Vec<u32>,
    /// The last token written, not yet run through the model.
    unread: Option<u32>,
    utf8: Utf8Stream,
    text: String,
    started: Instant,
    prefill_time: Option<Duration>,
    stop: Option<StopReason>,
}

/// What one step did for a sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Part of the prompt ran; no text yet.
    Prefilling,
    /// A token was written: its text (empty while a character's bytes are incomplete).
    Text(String),
    /// The generation is over; the text written last (possibly empty).
    Finished(String),
}

impl Sequence {
    /// Whether part of the prompt is still to run.
    pub fn is_prefilling(&self) -> bool {
        self.prefilled < self.prompt.len()
    }

    /// Prompt tokens still to run.
    pub fn prompt_left(&self) -> usize {
        self.prompt.len() - self.prefilled
    }

    pub fn is_finished(&self) -> bool {
        self.stop.is_some()
    }

    /// The conversation as far as it has run (e.g. to fork a copy of its common prefix).
    pub fn conversation(&self) -> &Conversation {
        &self.conversation
    }

    /// Whether a step with this prefill limit runs any of its tokens.
    pub fn runs_with(&self, prefill_limit: usize) -> bool {
        !self.input(prefill_limit).is_empty()
    }

    /// Stops the generation where it is; the text so far is its result.
    pub fn cancel(&mut self) {
        self.stop.get_or_insert(StopReason::Cancelled);
    }

    /// The conversation (to keep for the next turn) and what was generated.
    pub fn finish(mut self) -> (Conversation, Generation) {
        let stop = *self.stop.get_or_insert(StopReason::Cancelled);
        let prefill_time = self.prefill_time.unwrap_or_else(|| self.started.elapsed());
        let generation = Generation {
            text: self.text,
            prompt_tokens: self.prompt.len(),
            reused_tokens: self.reused_tokens,
            generated_tokens: self.generated.len(),
            prefill_time,
            decode_time: self.started.elapsed().saturating_sub(prefill_time),
            stop,
            dropped_messages: self.dropped_messages,
        };
        tracing::debug!(
            prompt = generation.prompt_tokens,
            reused = generation.reused_tokens,
            generated = generation.generated_tokens,
            prefill_ms = generation.prefill_time.as_millis() as u64,
            decode_ms = generation.decode_time.as_millis() as u64,
            "llm generation"
        );
        (self.conversation, generation)
    }

    /// The tokens this step runs (see [`step_tokens`]).
    fn input(&self, prefill_limit: usize) -> &[u32] {
        step_tokens(
            &self.prompt,
            self.prefilled,
            &self.unread,
            self.is_finished(),
            prefill_limit,
        )
    }

    /// Takes in the logits of the tokens just run: samples the next token once the prompt is
    /// done, and says what happened.
    fn receive(
        &mut self,
        ran: usize,
        logits: &Tensor,
        engine: &LlmEngine,
    ) -> Result<Progress, LlmError> {
        if self.unread.take().is_none() {
            self.prefilled += ran;
            if self.is_prefilling() {
                return Ok(Progress::Prefilling);
            }
            self.prefill_time = Some(self.started.elapsed());
            if self.max_tokens == 0 {
                return Ok(self.end(StopReason::MaxTokens, String::new()));
            }
        }
        let token = self.sampler.sample(logits, &self.generated)?;
        if engine.is_stop_token(token) {
            return Ok(self.end(StopReason::EndOfTurn, String::new()));
        }
        self.generated.push(token);
        let delta = self.utf8.push(engine.tokenizer().token_bytes(token));
        self.text.push_str(&delta);
        if self.generated.len() >= self.max_tokens {
            return Ok(self.end(StopReason::MaxTokens, delta));
        }
        self.unread = Some(token);
        Ok(Progress::Text(delta))
    }

    /// Ends a generation that ran to its end: the bytes of an incomplete character are written
    /// out after `delta`.
    fn end(&mut self, stop: StopReason, mut delta: String) -> Progress {
        let rest = self.utf8.finish();
        self.text.push_str(&rest);
        delta.push_str(&rest);
        self.stop = Some(stop);
        Progress::Finished(delta)
    }
}

impl LlmEngine {
    /// Renders `messages`, leaving out the oldest non-system turns until the prompt plus
    /// `max_tokens` fits the context window.
    pub fn prompt(
        &self,
        messages: &[super::ChatMessage],
        max_tokens: usize,
    ) -> Result<Prompt, LlmError> {
        let (tokens, dropped_messages) = self.fit_context(messages, max_tokens)?;
        Ok(Prompt {
            tokens,
            dropped_messages,
        })
    }

    /// A generation of the reply to `prompt` that extends `conversation`: its cache is kept
    /// for the longest common prefix with the prompt (at least the last prompt token runs,
    /// for its logits), and the rest of the prompt runs in the first steps.
    pub fn sequence(
        &self,
        mut conversation: Conversation,
        prompt: Prompt,
        options: &GenerateOptions,
    ) -> Sequence {
        if !self.fits(&conversation) {
            conversation = self.new_conversation();
        }
        let common = conversation.cached_prefix_of(&prompt.tokens);
        let reused_tokens = common.min(prompt.tokens.len().saturating_sub(1));
        conversation.truncate(reused_tokens);
        Sequence {
            conversation,
            prompt: prompt.tokens,
            prefilled: reused_tokens,
            reused_tokens,
            dropped_messages: prompt.dropped_messages,
            max_tokens: options.max_tokens,
            sampler: Sampler::new(options, self.stop_tokens().to_vec()),
            generated: Vec::new(),
            unread: None,
            utf8: Utf8Stream::default(),
            text: String::new(),
            started: Instant::now(),
            prefill_time: None,
            stop: None,
        }
    }

    /// One step for every sequence in `batch`, each with the most prompt tokens it may run
    /// this step (ignored once it is writing): one forward pass for all of them, then each
    /// samples its next token. Returns each sequence's progress, in order; a sequence given
    /// no tokens (finished, or a prefill limit of 0) does not run and reports
    /// [`Progress::Prefilling`] or [`Progress::Finished`]. An error fails the whole step.
    pub fn advance(&self, batch: &mut [(&mut Sequence, usize)]) -> Result<Vec<Progress>, LlmError> {
        let ran: Vec<usize> = batch
            .iter()
            .map(|(sequence, limit)| sequence.input(*limit).len())
            .collect();
        let mut inputs: Vec<BatchInput<'_>> = batch
            .iter_mut()
            .filter_map(|(sequence, limit)| {
                let Sequence {
                    conversation,
                    prompt,
                    prefilled,
                    unread,
                    stop,
                    ..
                } = &mut **sequence;
                let tokens = step_tokens(prompt, *prefilled, unread, stop.is_some(), *limit);
                (!tokens.is_empty()).then(|| BatchInput {
                    tokens,
                    cache: conversation.cache_mut(),
                })
            })
            .collect();
        let mut logits = self.model().forward_batch(&mut inputs)?.into_iter();
        drop(inputs);
        batch
            .iter_mut()
            .zip(ran)
            .map(|((sequence, _), ran)| {
                if sequence.is_finished() {
                    return Ok(Progress::Finished(String::new()));
                }
                if ran == 0 {
                    return Ok(Progress::Prefilling);
                }
                let logits = logits
                    .next()
                    .ok_or_else(|| LlmError::BadModel("a batch gave too few logits".into()))?;
                sequence.receive(ran, &logits, self)
            })
            .collect()
    }
}

/// What a sequence runs in its next step: nothing once finished, the last token written while
/// writing, else the next `prefill_limit` prompt tokens.
fn step_tokens<'a>(
    prompt: &'a [u32],
    prefilled: usize,
    unread: &'a Option<u32>,
    finished: bool,
    prefill_limit: usize,
) -> &'a [u32] {
    match unread {
        _ if finished => &[],
        Some(token) => std::slice::from_ref(token),
        None => &prompt[prefilled..(prefilled + prefill_limit).min(prompt.len())],
    }
}
