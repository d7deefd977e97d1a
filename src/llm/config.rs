//! Architecture and hyper-parameters read from GGUF metadata.

use std::collections::HashMap;

use candle_core::quantized::gguf_file::Value;

use super::LlmError;

/// Widest attention head accepted (real models use 64 to 256): the rotary tables are sized by
/// it.
const MAX_HEAD_DIM: usize = 512;
/// Most positions used: a model declaring a longer context runs with this many (the rotary
/// tables are sized by it, and no interview comes near it).
pub const MAX_CONTEXT_LENGTH: usize = 1 << 16;

/// The transformer families this engine runs. They share one forward pass; they differ in
/// the rotary embedding layout and in whether q/k/v projections carry biases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    Llama,
    Qwen2,
}

impl Architecture {
    fn parse(name: &str) -> Result<Self, LlmError> {
        match name {
            "llama" => Ok(Self::Llama),
            "qwen2" => Ok(Self::Qwen2),
            other => Err(LlmError::UnsupportedArchitecture(other.to_owned())),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Llama => "llama",
            Self::Qwen2 => "qwen2",
        }
    }

    /// llama.cpp's converter permutes llama's q/k weights so that rotary pairs are
    /// interleaved (2i, 2i+1); qwen2 keeps the halves layout (i, i + d/2).
    pub fn interleaved_rope(self) -> bool {
        matches!(self, Self::Llama)
    }

    pub fn has_qkv_bias(self) -> bool {
        matches!(self, Self::Qwen2)
    }
}

#[derive(Debug, Clone)]
pub struct ModelConfig {
    pub architecture: Architecture,
    pub block_count: usize,
    pub embedding_length: usize,
    pub head_count: usize,
    pub head_count_kv: usize,
    pub head_dim: usize,
    pub context_length: usize,
    pub rms_norm_eps: f64,
    pub rope_freq_base: f32,
}

impl ModelConfig {
    pub fn from_metadata(metadata: &HashMap<String, Value>) -> Result<Self, LlmError> {
        let architecture = metadata
            .get("general.architecture")
            .and_then(|v| v.to_string().ok())
            .ok_or_else(|| LlmError::BadModel("no general.architecture".into()))?;
        let architecture = Architecture::parse(architecture)?;
        let arch = architecture.name();
        let number = |key: &str| -> Result<usize, LlmError> {
            let full = format!("{arch}.{key}");
            metadata
                .get(&full)
                .and_then(|v| v.to_u32().ok())
                .map(|v| v as usize)
                .ok_or_else(|| LlmError::BadModel(format!("missing or non-integer {full}")))
        };
        let float = |key: &str| -> Option<f32> {
            metadata
                .get(&format!("{arch}.{key}"))
                .and_then(|v| v.to_f32().ok())
        };
        let embedding_length = number("embedding_length")?;
        let head_count = number("attention.head_count")?;
        let head_count_kv = number("attention.head_count_kv")?;
        if head_count == 0 || head_count_kv == 0 || head_count % head_count_kv != 0 {
            return Err(LlmError::BadModel(format!(
                "{head_count} attention heads cannot share {head_count_kv} key/value heads"
            )));
        }
        if embedding_length % head_count != 0 {
            return Err(LlmError::BadModel(format!(
                "embedding length {embedding_length} is not a multiple of {head_count} heads"
            )));
        }
        let head_dim = embedding_length / head_count;
        if head_dim > MAX_HEAD_DIM {
            return Err(LlmError::BadModel(format!(
                "attention heads of {head_dim} dimensions (at most {MAX_HEAD_DIM} are supported)"
            )));
        }
        if let Ok(rope_dim) = number("rope.dimension_count") {
            if rope_dim != head_dim {
                return Err(LlmError::BadModel(format!(
                    "partial rotary embeddings ({rope_dim} of {head_dim}) are not supported"
                )));
            }
        }
        Ok(Self {
            architecture,
            block_count: number("block_count")?,
            embedding_length,
            head_count,
            head_count_kv,
            head_dim,
            context_length: number("context_length")?.min(MAX_CONTEXT_LENGTH),
            rms_norm_eps: float("attention.layer_norm_rms_epsilon").unwrap_or(1e-5) as f64,
            rope_freq_base: float("rope.freq_base").unwrap_or(10_000.0),
        })
    }
}
