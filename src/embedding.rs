//! The sentence encoder: a small BERT (all-MiniLM-L6-v2 by default) that turns a sentence into
//! a unit vector, so that two texts about the same thing have a high dot product. The
//! assessment uses it to tell how well an answer covers each rubric point and whether it is
//! about the question at all.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::Tokenizer;

/// The encoder was trained on at most this many word pieces; longer texts are cut.
pub const MAX_TOKENS: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum EmbeddingError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{file}: {reason}")]
    Format { file: &'static str, reason: String },
    #[error("tokenizing: {0}")]
    Tokenize(String),
    #[error("inference failed: {0}")]
    Candle(#[from] candle_core::Error),
}

/// A loaded sentence encoder. Its forward pass only reads the weights, so one encoder can be
/// shared by threads.
pub struct SentenceEncoder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
}

impl SentenceEncoder {
    /// Loads `config.json`, `tokenizer.json` and `model.safetensors` (a sentence-transformers
    /// BERT with mean pooling) from `dir`.
    pub fn load(dir: &Path, device: &Device) -> Result<Self, EmbeddingError> {
        let read = |file: &'static str| {
            let path = dir.join(file);
            std::fs::read(&path).map_err(|source| EmbeddingError::Io {
                path: path.display().to_string(),
                source,
            })
        };
        let config: Config =
            serde_json::from_slice(&read("config.json")?).map_err(|e| EmbeddingError::Format {
                file: "config.json",
                reason: e.to_string(),
            })?;
        let mut tokenizer =
            Tokenizer::from_bytes(read("tokenizer.json")?).map_err(|e| EmbeddingError::Format {
                file: "tokenizer.json",
                reason: e.to_string(),
            })?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| EmbeddingError::Tokenize(e.to_string()))?;
        // 90 MB: read into memory (no memory map, so no unsafe code).
        let vb =
            VarBuilder::from_buffered_safetensors(read("model.safetensors")?, DType::F32, device)?;
        let model = BertModel::load(vb, &config)?;
        Ok(Self {
            model,
            tokenizer,
            device: device.clone(),
        })
    }

    /// The unit-length mean of the last layer over `text`'s word pieces (the first
    /// [`MAX_TOKENS`]). An empty text gets the encoding of its special tokens alone.
    pub fn encode(&self, text: &str) -> Result<Vec<f32>, EmbeddingError> {
        let encoding = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| EmbeddingError::Tokenize(e.to_string()))?;
        let mut ids = encoding.get_ids().to_vec();
        if ids.len() > MAX_TOKENS {
            // Keep the closing [SEP] the model expects.
            let last = ids[ids.len() - 1];
            ids.truncate(MAX_TOKENS);
            ids[MAX_TOKENS - 1] = last;
        }
        let count = ids.len();
        let input = Tensor::new(ids.as_slice(), &self.device)?.unsqueeze(0)?;
        let types = input.zeros_like()?;
        let hidden = self.model.forward(&input, &types, None)?;
        let mean = (hidden.sum(1)? / count as f64)?.squeeze(0)?;
        let mut vector: Vec<f32> = mean.to_vec1()?;
        let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            vector.iter_mut().for_each(|x| *x /= norm);
        }
        Ok(vector)
    }
}

/// The dot product: the cosine similarity of two unit vectors.
pub fn similarity(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Turns a text into a unit vector: what the answer assessment needs of an encoder.
pub trait Encode {
    fn encode(&self, text: &str) -> Result<Vec<f32>, EmbeddingError>;
}

impl Encode for SentenceEncoder {
    fn encode(&self, text: &str) -> Result<Vec<f32>, EmbeddingError> {
        SentenceEncoder::encode(self, text)
    }
}
