//! The language model engine: quantized GGUF models (llama and qwen2 families) run
//! in-process on candle, with a tokenizer built from the file's metadata, the ChatML
//! template, sampling, streaming text and a per-conversation KV cache reused across turns.
//!
//! Nothing here knows about HTTP, actors or the database; the inference worker owns an
//! [`LlmEngine`] and one [`Conversation`] per live interview.

mod chat;
mod config;
mod engine;
mod error;
mod gguf;
mod kv_cache;
mod model;
mod sampling;
mod sequence;
mod tokenizer;

pub use chat::{ChatMessage, ChatRole};
pub use config::{Architecture, ModelConfig};
pub use engine::{Conversation, Generation, LlmEngine, StopReason, PREFILL_CHUNK};
pub use error::LlmError;
pub use gguf::read_gguf_header;
pub use sampling::GenerateOptions;
pub use sequence::{Progress, Prompt, Sequence};
pub use tokenizer::{Tokenizer, Utf8Stream};
