//! The model's hyper-parameters, read from a Hugging Face `config.json`.

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WhisperConfig {
    pub num_mel_bins: usize,
    /// Encoder positions: 1500 for 30 s of audio.
    pub max_source_positions: usize,
    /// Decoder positions: the longest token sequence per window.
    pub max_target_positions: usize,
    pub d_model: usize,
    pub encoder_attention_heads: usize,
    pub encoder_layers: usize,
    pub decoder_attention_heads: usize,
    pub decoder_layers: usize,
    pub vocab_size: usize,
    /// Tokens never to emit (non-speech symbols).
    #[serde(default)]
    pub suppress_tokens: Vec<u32>,
    /// Tokens never to emit first (a bare space, end of text).
    #[serde(default)]
    pub begin_suppress_tokens: Vec<u32>,
}

impl WhisperConfig {
    /// Multilingual checkpoints have one more token (51865) than English-only ones (51864).
    pub fn is_multilingual(&self) -> bool {
        self.vocab_size >= 51865
    }
}
