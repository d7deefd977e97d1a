//! The engine the inference worker calls: weights shared by all conversations, one KV
//! cache per conversation, streaming generation.

use std::fs::File;
use std::io::BufReader;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use candle_core::{Device, Tensor};

use super::chat::{ChatMessage, ChatRole, ChatTemplate};
use super::config::ModelConfig;
use super::kv_cache::KvCache;
use super::model::Model;
use super::sampling::GenerateOptions;
use super::sequence::Progress;
use super::tokenizer::Tokenizer;
use super::LlmError;

/// Prompts are prefilled in chunks of this many tokens, which bounds the attention
/// scores' memory on long prompts.
pub const PREFILL_CHUNK: usize = 256;

/// A loaded model. Cloning is cheap; all clones share the weights.
#[derive(Clone)]
pub struct LlmEngine {
    inner: Arc<Inner>,
}

struct Inner {
    model: Model,
    tokenizer: Tokenizer,
    template: ChatTemplate,
    stop_tokens: Vec<u32>,
}

/// One conversation's state between turns: the keys and values of the tokens seen so far.
/// Not `Clone`: the cache buffers are written in place.
#[derive(Debug)]
pub struct Conversation {
    cache: KvCache,
}

impl Conversation {
    /// How many tokens of the previous turns are cached.
    pub fn cached_tokens(&self) -> usize {
        self.cache.len()
    }

    /// A separate conversation holding a copy of this one's first `tokens` cached positions
    /// (e.g. a shared system prompt), so it starts without computing them again.
    pub fn fork(&self, tokens: usize) -> Result<Conversation, LlmError> {
        Ok(Conversation {
            cache: self.cache.fork(tokens)?,
        })
    }

    /// How many leading tokens of `prompt` this conversation has cached.
    pub fn cached_prefix_of(&self, prompt: &[u32]) -> usize {
        self.cache
            .tokens()
            .iter()
            .zip(prompt)
            .take_while(|(a, b)| a == b)
            .count()
    }

    /// Memory the cached keys and values take.
    pub fn cache_bytes(&self) -> usize {
        self.cache.allocated_bytes()
    }

    /// Forgets the cached history (the next turn prefills its whole prompt).
    pub fn reset(&mut self) {
        self.cache.truncate(0);
    }

    /// Forgets every cached position from `len` on.
    pub(super) fn truncate(&mut self, len: usize) {
        self.cache.truncate(len);
    }

    pub(super) fn cache_mut(&mut self) -> &mut KvCache {
        &mut self.cache
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The model ended its turn.
    EndOfTurn,
    /// `max_tokens` were generated.
    MaxTokens,
    /// The text callback asked to stop.
    Cancelled,
}

#[derive(Debug, Clone)]
pub struct Generation {
    pub text: String,
    /// Tokens in the rendered prompt.
    pub prompt_tokens: usize,
    /// Prompt tokens whose keys and values came from the conversation's cache.
    pub reused_tokens: usize,
    pub generated_tokens: usize,
    pub prefill_time: Duration,
    pub decode_time: Duration,
    pub stop: StopReason,
    /// The oldest non-system messages left out so that the prompt and reply fit the
    /// context window (0 when everything fit); the cache was rebuilt from the new prompt.
    pub dropped_messages: usize,
}

impl LlmEngine {
    /// Loads a GGUF model (llama or qwen2 family) with its tokenizer.
    pub fn load(gguf: &Path, device: &Device) -> Result<Self, LlmError> {
        let io_error = |source| LlmError::Io {
            path: gguf.to_owned(),
            source,
        };
        let mut reader = BufReader::new(File::open(gguf).map_err(io_error)?);
        let content = super::read_gguf_header(&mut reader).map_err(|source| LlmError::NotGguf {
            path: gguf.to_owned(),
            source,
        })?;
        let config = ModelConfig::from_metadata(&content.metadata)?;
        let tokenizer = Tokenizer::from_metadata(&content.metadata)?;
        let template = ChatTemplate::for_tokenizer(&tokenizer)?;
        let mut stop_tokens = vec![template.end_of_turn()];
        stop_tokens.extend(tokenizer.eos());
        stop_tokens.extend(tokenizer.token_id("<|endoftext|>"));
        stop_tokens.sort_unstable();
        stop_tokens.dedup();
        let model = Model::load(config, &content, &mut reader, device)?;
        Ok(Self {
            inner: Arc::new(Inner {
                model,
                tokenizer,
                template,
                stop_tokens,
            }),
        })
    }

    pub fn config(&self) -> &ModelConfig {
        self.inner.model.config()
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.inner.tokenizer
    }

    /// The prompt tokens `messages` render to, ending with the assistant's turn opening.
    pub fn render(&self, messages: &[ChatMessage]) -> Result<Vec<u32>, LlmError> {
        self.inner.template.render(&self.inner.tokenizer, messages)
    }

    pub(super) fn model(&self) -> &Model {
        &self.inner.model
    }

    /// The tokens that end the assistant's turn.
    pub(super) fn stop_tokens(&self) -> &[u32] {
        &self.inner.stop_tokens
    }

    pub(super) fn is_stop_token(&self, token: u32) -> bool {
        self.inner.stop_tokens.contains(&token)
    }

    /// Whether `conversation`'s cache was made for this model's layers.
    pub(super) fn fits(&self, conversation: &Conversation) -> bool {
        conversation.cache.layer_count() == self.config().block_count
    }

    pub fn new_conversation(&self) -> Conversation {
        Conversation {
            cache: KvCache::new(self.config().block_count),
        }
    }

    /// Generates the assistant's next turn after `messages`, streaming text deltas (whole
    /// UTF-8 characters) to `on_text`, which can stop generation by returning `Break`.
    ///
    /// The conversation's cache is reused for the longest common prefix of its tokens and
    /// the new prompt, so usually only the newest messages are prefilled.
    pub fn generate(
        &self,
        conversation: &mut Conversation,
        messages: &[ChatMessage],
        options: &GenerateOptions,
        on_text: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Generation, LlmError> {
        let prompt = self.prompt(messages, options.max_tokens)?;
        let taken = std::mem::replace(conversation, self.new_conversation());
        let mut sequence = self.sequence(taken, prompt, options);
        let outcome = loop {
            let progress = match self.advance(&mut [(&mut sequence, PREFILL_CHUNK)]) {
                Ok(mut progress) => progress.pop(),
                Err(e) => break Err(e),
            };
            match progress {
                Some(Progress::Text(delta)) if !delta.is_empty() && on_text(&delta).is_break() => {
                    sequence.cancel();
                    break Ok(());
                }
                Some(Progress::Finished(delta)) => {
                    if !delta.is_empty() {
                        // The reply is complete; a stop asked now changes nothing.
                        let _ = on_text(&delta);
                    }
                    break Ok(());
                }
                _ => {}
            }
        };
        let (kept, generation) = sequence.finish();
        *conversation = kept;
        outcome.map(|()| generation)
    }

    /// The logits of the token that follows `messages` (which end with the assistant's turn
    /// opening), reusing the conversation's cached prefix as [`LlmEngine::generate`] does.
    /// A prompt longer than the context window is an error, not cut.
    pub fn next_token_logits(
        &self,
        conversation: &mut Conversation,
        messages: &[ChatMessage],
    ) -> Result<Vec<f32>, LlmError> {
        if conversation.cache.layer_count() != self.config().block_count {
            *conversation = self.new_conversation();
        }
        let prompt = self.render(messages)?;
        self.next_token_logits_of(conversation, &prompt)
    }

    /// [`LlmEngine::next_token_logits`] for a rendered prompt (so a caller can run a long one
    /// in pieces: each call runs only what the cache does not hold yet).
    pub fn next_token_logits_of(
        &self,
        conversation: &mut Conversation,
        prompt: &[u32],
    ) -> Result<Vec<f32>, LlmError> {
        if conversation.cache.layer_count() != self.config().block_count {
            *conversation = self.new_conversation();
        }
        if prompt.len() >= self.config().context_length {
            return Err(LlmError::BadModel(format!(
                "a prompt of {} tokens does not fit the context window of {}",
                prompt.len(),
                self.config().context_length
            )));
        }
        let (logits, _) = self.prefill(prompt, &mut conversation.cache)?;
        Ok(logits.to_vec1::<f32>()?)
    }

    /// Runs the part of `prompt` the cache does not already hold (at least its last token, for
    /// the logits); returns the last token's logits and how many tokens were reused.
    fn prefill(&self, prompt: &[u32], cache: &mut KvCache) -> Result<(Tensor, usize), LlmError> {
        let common = cache
            .tokens()
            .iter()
            .zip(prompt)
            .take_while(|(a, b)| a == b)
            .count();
        let reused_tokens = common.min(prompt.len().saturating_sub(1));
        cache.truncate(reused_tokens);
        let mut logits = None;
        for chunk in prompt[reused_tokens..].chunks(PREFILL_CHUNK) {
            logits = Some(self.inner.model.forward(chunk, cache)?);
        }
        let logits = logits.ok_or_else(|| LlmError::BadModel("empty prompt".into()))?;
        Ok((logits, reused_tokens))
    }

    /// Renders the prompt, leaving out the oldest non-system turns until the prompt plus
    /// `max_tokens` fits the context window. Returns the prompt and how many messages were
    /// left out.
    pub(super) fn fit_context(
        &self,
        messages: &[ChatMessage],
        max_tokens: usize,
    ) -> Result<(Vec<u32>, usize), LlmError> {
        let limit = self.config().context_length;
        let mut kept: Vec<ChatMessage> = messages.to_vec();
        let mut dropped = 0;
        loop {
            let prompt = self.render(&kept)?;
            let needed = prompt.len() + max_tokens;
            if needed <= limit {
                return Ok((prompt, dropped));
            }
            let last = kept.len().saturating_sub(1);
            let oldest = kept
                .iter()
                .position(|m| m.role != ChatRole::System)
                .filter(|&i| i < last);
            let Some(oldest) = oldest else {
                return Err(LlmError::ContextOverflow { needed, limit });
            };
            kept.remove(oldest);
            dropped += 1;
            // Keep whole turns: a reply without its question goes too.
            if let Some(next) = kept.get(oldest) {
                if next.role == ChatRole::Assistant && oldest < kept.len() - 1 {
                    kept.remove(oldest);
                    dropped += 1;
                }
            }
        }
    }
}

#[allow(dead_code)]
fn assert_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<LlmEngine>();
    check::<Conversation>();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default model, fetched once per checkout by the same code as `viva models fetch`.
    fn engine() -> LlmEngine {
        let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-models");
        let models = crate::fetch::ensure_default_models(&models)
            .expect("fetching the default models for tests");
        LlmEngine::load(&models.llm_file, &Device::Cpu).expect("loading the LLM")
    }

    fn logits(engine: &LlmEngine, cache: &mut KvCache, tokens: &[u32]) -> Vec<f32> {
        let mut last = None;
        for chunk in tokens.chunks(PREFILL_CHUNK) {
            last = Some(engine.inner.model.forward(chunk, cache).expect("forward"));
        }
        last.expect("at least one token")
            .flatten_all()
            .and_then(|t| t.to_vec1())
            .expect("logits")
    }

    /// The next turn on a conversation's cache (truncated to the common prefix, the rest
    /// prefilled) computes exactly what the same steps compute on a fresh cache.
    ///
    /// Only the same steps compare exactly: candle runs Q8_0 matmuls of few rows on quantized
    /// activations and larger ones differently, so a cached turn and a one-shot prefill of
    /// the whole prompt differ by a few percent in the logits (measured: up to 1.07 on a
    /// top logit of 33) and may pick a different greedy token at a near-tie.
    #[test]
    fn a_cached_turn_computes_what_the_same_steps_compute_from_scratch() {
        let engine = engine();
        let options = GenerateOptions {
            max_tokens: 12,
            temperature: 0.0,
            ..GenerateOptions::default()
        };
        let mut messages = vec![
            ChatMessage::new(
                ChatRole::System,
                "You are a helpful assistant. Answer briefly.",
            ),
            ChatMessage::new(ChatRole::User, "Name one fruit."),
        ];
        let first_prompt = engine.render(&messages).expect("render");
        let mut conversation = engine.new_conversation();
        let first = engine
            .generate(&mut conversation, &messages, &options, &mut |_| {
                ControlFlow::Continue(())
            })
            .expect("first turn");
        messages.push(ChatMessage::new(ChatRole::Assistant, first.text.clone()));
        messages.push(ChatMessage::new(ChatRole::User, "And one vegetable?"));
        let prompt = engine.render(&messages).expect("render");
        let cached_tokens = conversation.cache.tokens().to_vec();
        let common = cached_tokens
            .iter()
            .zip(&prompt)
            .take_while(|(a, b)| a == b)
            .count();
        assert!(
            common > first_prompt.len(),
            "the reply's tokens are reused too"
        );

        conversation.cache.truncate(common);
        let cached = logits(&engine, &mut conversation.cache, &prompt[common..]);

        let mut fresh = KvCache::new(engine.config().block_count);
        logits(&engine, &mut fresh, &first_prompt);
        for &token in &cached_tokens[first_prompt.len()..common] {
            engine
                .inner
                .model
                .forward(&[token], &mut fresh)
                .expect("step");
        }
        let recomputed = logits(&engine, &mut fresh, &prompt[common..]);
        assert_eq!(fresh.tokens(), prompt.as_slice());
        assert_eq!(cached, recomputed);
    }

    #[test]
    fn a_fork_continues_exactly_like_its_original_and_leaves_it_alone() {
        let engine = engine();
        let prompt = engine
            .render(&[
                ChatMessage::new(ChatRole::System, "You are a helpful assistant."),
                ChatMessage::new(ChatRole::User, "Name one fruit."),
            ])
            .expect("render");
        let mut original = KvCache::new(engine.config().block_count);
        logits(&engine, &mut original, &prompt);
        let keep = prompt.len() - 4;

        let mut fork = original.fork(keep).expect("fork");
        assert_eq!(fork.tokens(), &prompt[..keep]);
        let from_fork = logits(&engine, &mut fork, &prompt[keep..]);
        assert_eq!(original.len(), prompt.len(), "the original is untouched");
        original.truncate(keep);
        let from_original = logits(&engine, &mut original, &prompt[keep..]);
        assert_eq!(from_fork, from_original);
    }

    /// Continuous batching rests on this: a sequence's logits are the same whichever other
    /// sequences share its forward pass (prompts of different lengths, then one decoding step
    /// each), exactly.
    #[test]
    fn a_batch_computes_for_each_sequence_exactly_what_it_computes_alone() {
        use crate::llm::model::BatchInput;
        let engine = engine();
        let prompts: Vec<Vec<u32>> = [
            "Name one fruit.",
            "What is two plus two? Answer with a number only, please.",
            "Hi",
        ]
        .iter()
        .map(|question| {
            engine
                .render(&[ChatMessage::new(ChatRole::User, *question)])
                .expect("render")
        })
        .collect();
        let next = [17u32, 42, 1000];
        let alone: Vec<(Vec<f32>, Vec<f32>)> = prompts
            .iter()
            .zip(next)
            .map(|(prompt, token)| {
                let mut cache = KvCache::new(engine.config().block_count);
                let first = logits(&engine, &mut cache, prompt);
                let second = logits(&engine, &mut cache, &[token]);
                (first, second)
            })
            .collect();

        let mut caches: Vec<KvCache> = prompts
            .iter()
            .map(|_| KvCache::new(engine.config().block_count))
            .collect();
        // One batched forward: each sequence's `tokens` after what its cache holds.
        let batched = |tokens: Vec<&[u32]>, caches: &mut [KvCache]| -> Vec<Vec<f32>> {
            let mut inputs: Vec<BatchInput<'_>> = tokens
                .into_iter()
                .zip(caches.iter_mut())
                .map(|(tokens, cache)| BatchInput { tokens, cache })
                .collect();
            engine
                .inner
                .model
                .forward_batch(&mut inputs)
                .expect("batched forward")
                .into_iter()
                .map(|t| t.to_vec1().expect("logits"))
                .collect()
        };
        let first = batched(prompts.iter().map(Vec::as_slice).collect(), &mut caches);
        let steps: Vec<[u32; 1]> = next.iter().map(|&token| [token]).collect();
        let second = batched(steps.iter().map(|s| s.as_slice()).collect(), &mut caches);
        for (i, (alone_first, alone_second)) in alone.iter().enumerate() {
            assert!(
                first[i] == *alone_first,
                "prompt {i}'s logits differ in a batch"
            );
            assert!(
                second[i] == *alone_second,
                "step {i}'s logits differ in a batch"
            );
        }
        for (cache, prompt) in caches.iter().zip(&prompts) {
            assert_eq!(cache.len(), prompt.len() + 1);
        }
    }

    mod properties {
        use candle_core::quantized::gguf_file::{self, Value};
        use candle_core::quantized::{GgmlDType, QTensor};
        use proptest::prelude::*;

        use super::*;
        use crate::fuzzing;

        /// GPT-2's byte-level alphabet: one token per byte, so any text encodes.
        fn byte_tokens() -> Vec<String> {
            let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
            let mut shifted = 0u32;
            (0..=255u8)
                .map(|b| {
                    if printable(b) {
                        char::from(b).to_string()
                    } else {
                        shifted += 1;
                        char::from_u32(0xFF + shifted).map_or_else(String::new, String::from)
                    }
                })
                .collect()
        }

        const NUMBERS: [&str; 6] = [
            "llama.block_count",
            "llama.context_length",
            "llama.embedding_length",
            "llama.attention.head_count",
            "llama.attention.head_count_kv",
            "llama.rope.dimension_count",
        ];

        /// A complete llama model small enough to write per test case: 1 layer, 8-wide
        /// embeddings, 2 heads sharing 1 key/value head, f32 weights, a byte-level vocabulary
        /// with the ChatML markers. `numbers` replaces metadata numbers.
        fn tiny_llama(numbers: &[(&str, u32)]) -> Vec<u8> {
            let mut tokens = byte_tokens();
            tokens.extend(["ab", "<|im_start|>", "<|im_end|>"].map(String::from));
            let mut types = vec![Value::I32(1); tokens.len()];
            let n = types.len();
            types[n - 2..].fill(Value::I32(3));
            let mut metadata = vec![
                ("general.architecture", Value::String("llama".into())),
                ("llama.block_count", Value::U32(1)),
                ("llama.context_length", Value::U32(64)),
                ("llama.embedding_length", Value::U32(8)),
                ("llama.attention.head_count", Value::U32(2)),
                ("llama.attention.head_count_kv", Value::U32(1)),
                ("llama.rope.dimension_count", Value::U32(4)),
                ("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5)),
                ("tokenizer.ggml.model", Value::String("gpt2".into())),
                ("tokenizer.ggml.pre", Value::String("gpt2".into())),
                (
                    "tokenizer.ggml.tokens",
                    Value::Array(tokens.iter().cloned().map(Value::String).collect()),
                ),
                (
                    "tokenizer.ggml.merges",
                    Value::Array(vec![Value::String("a b".into())]),
                ),
                ("tokenizer.ggml.token_type", Value::Array(types)),
                ("tokenizer.ggml.eos_token_id", Value::U32(n as u32 - 1)),
            ];
            for (key, value) in numbers {
                if let Some(entry) = metadata.iter_mut().find(|(k, _)| k == key) {
                    entry.1 = Value::U32(*value);
                }
            }
            let weight = |rows: usize, columns: usize| {
                let values: Vec<f32> = (0..rows * columns)
                    .map(|i| ((i * 7 % 13) as f32 - 6.0) / 20.0)
                    .collect();
                Tensor::from_vec(values, (rows, columns), &Device::Cpu)
                    .and_then(|t| if rows == 1 { t.flatten_all() } else { Ok(t) })
                    .and_then(|t| QTensor::quantize(&t, GgmlDType::F32))
                    .unwrap_or_else(|e| panic!("{e}"))
            };
            let tensors = [
                ("token_embd.weight", weight(n, 8)),
                ("output_norm.weight", weight(1, 8)),
                ("blk.0.attn_norm.weight", weight(1, 8)),
                ("blk.0.attn_q.weight", weight(8, 8)),
                ("blk.0.attn_k.weight", weight(4, 8)),
                ("blk.0.attn_v.weight", weight(4, 8)),
                ("blk.0.attn_output.weight", weight(8, 8)),
                ("blk.0.ffn_norm.weight", weight(1, 8)),
                ("blk.0.ffn_gate.weight", weight(16, 8)),
                ("blk.0.ffn_up.weight", weight(16, 8)),
                ("blk.0.ffn_down.weight", weight(8, 16)),
            ];
            let metadata: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
            let tensors: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, t)| (*k, t)).collect();
            let mut out = std::io::Cursor::new(Vec::new());
            gguf_file::write(&mut out, &metadata, &tensors).unwrap_or_else(|e| panic!("{e}"));
            out.into_inner()
        }

        /// What loading any file must lead to: an engine that generates (or refuses to,
        /// clearly), or an error saying what is wrong with the file.
        fn check_loaded(bytes: &[u8]) -> Result<(), TestCaseError> {
            let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
            let path = dir.path().join("model.gguf");
            std::fs::write(&path, bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let engine = match LlmEngine::load(&path, &Device::Cpu) {
                Ok(engine) => engine,
                Err(e) => {
                    prop_assert!(!e.to_string().is_empty());
                    return Ok(());
                }
            };
            let options = GenerateOptions {
                max_tokens: 2,
                temperature: 0.0,
                ..GenerateOptions::default()
            };
            let messages = [ChatMessage::new(ChatRole::User, "ab")];
            let reply = engine.generate(
                &mut engine.new_conversation(),
                &messages,
                &options,
                &mut |_| ControlFlow::Continue(()),
            );
            if let Err(e) = reply {
                prop_assert!(!e.to_string().is_empty());
            }
            Ok(())
        }

        #[test]
        fn the_tiny_model_loads_and_generates() {
            let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
            let path = dir.path().join("model.gguf");
            std::fs::write(&path, tiny_llama(&[])).unwrap_or_else(|e| panic!("{e}"));
            let engine = LlmEngine::load(&path, &Device::Cpu).unwrap_or_else(|e| panic!("{e}"));
            let options = GenerateOptions {
                max_tokens: 2,
                temperature: 0.0,
                ..GenerateOptions::default()
            };
            let messages = [ChatMessage::new(ChatRole::User, "ab")];
            let reply = engine
                .generate(
                    &mut engine.new_conversation(),
                    &messages,
                    &options,
                    &mut |_| ControlFlow::Continue(()),
                )
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(reply.generated_tokens >= 1);
        }

        fn load_error(numbers: &[(&str, u32)]) -> String {
            let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
            let path = dir.path().join("model.gguf");
            std::fs::write(&path, tiny_llama(numbers)).unwrap_or_else(|e| panic!("{e}"));
            match LlmEngine::load(&path, &Device::Cpu) {
                Ok(_) => panic!("{numbers:?} loaded"),
                Err(e) => e.to_string(),
            }
        }

        #[test]
        fn a_huge_block_count_is_an_error_not_an_abort() {
            // Found by `absurd_numbers_in_the_metadata_are_refused_or_run`: the layer list was
            // allocated for every declared block up front ("memory allocation of
            // 1348330629600 bytes failed", the process aborted).
            let error = load_error(&[("llama.block_count", u32::MAX)]);
            assert!(error.contains("blk.1"), "{error}");
        }

        #[test]
        fn sizes_the_weights_do_not_have_are_errors_not_aborts() {
            // The rotary tables were sized by these numbers alone.
            let error = load_error(&[
                ("llama.embedding_length", 16),
                ("llama.rope.dimension_count", 8),
            ]);
            assert!(error.contains("token_embd.weight"), "{error}");
            let error = load_error(&[
                ("llama.embedding_length", 1 << 20),
                ("llama.rope.dimension_count", 1 << 20),
                ("llama.attention.head_count", 1),
                ("llama.attention.head_count_kv", 1),
            ]);
            assert!(error.contains("attention heads"), "{error}");
        }

        #[test]
        fn a_huge_context_is_capped() {
            let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
            let path = dir.path().join("model.gguf");
            let bytes = tiny_llama(&[("llama.context_length", u32::MAX)]);
            std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
            let engine = LlmEngine::load(&path, &Device::Cpu).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                engine.config().context_length,
                crate::llm::config::MAX_CONTEXT_LENGTH
            );
        }

        proptest! {
            #![proptest_config(fuzzing::config(256))]

            #[test]
            fn absurd_numbers_in_the_metadata_are_refused_or_run(
                numbers in proptest::collection::vec(
                    (
                        proptest::sample::select(NUMBERS.to_vec()),
                        prop_oneof![
                            Just(0u32), Just(1), Just(2), Just(3), Just(4), Just(16), Just(4096),
                            Just(1 << 20), Just(1 << 31), Just(u32::MAX), any::<u32>(),
                        ],
                    ),
                    1..4,
                )
            ) {
                check_loaded(&tiny_llama(&numbers))?;
            }

            #[test]
            fn mutated_models_are_refused_or_run(bytes in fuzzing::mutated(tiny_llama(&[]))) {
                check_loaded(&bytes)?;
            }
        }
    }
}
