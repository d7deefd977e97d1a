//! The errors of the language model engine.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("cannot read the model file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a readable GGUF file: {source}")]
    NotGguf {
        path: PathBuf,
        source: candle_core::Error,
    },
    #[error("unsupported model architecture `{0}` (supported: llama, qwen2)")]
    UnsupportedArchitecture(String),
    #[error("bad GGUF model: {0}")]
    BadModel(String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("model computation failed: {0}")]
    Candle(#[from] candle_core::Error),
    /// The generation was stopped or could not run (cancelled, the worker busy or gone).
    #[error("generation stopped: {0}")]
    Stopped(String),
    /// The candidate barged in: the generation was stopped on purpose.
    #[error("generation stopped: interrupted")]
    Interrupted,
    #[error(
        "the conversation needs {needed} tokens (prompt plus reply) but the context window holds {limit}"
    )]
    ContextOverflow { needed: usize, limit: usize },
}
