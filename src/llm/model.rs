//! The quantized transformer: weights loaded once from GGUF and shared, a forward pass that
//! reads and extends a caller-owned [`KvCache`].

use std::io::{Read, Seek};

use candle_core::quantized::{gguf_file, QTensor};
use candle_core::{DType, Device, Result, Tensor};

use super::config::ModelConfig;
use super::kv_cache::KvCache;
// Quantized weights: Q8_0 runs on viva's VNNI kernel where the processor has it, other formats
// and processors on candle's product.
use viva_kernels::q8::Matmul;

struct Attention {
    q: Matmul,
    k: Matmul,
    v: Matmul,
    output: Matmul,
    /// q, k and v biases (qwen2 only).
    biases: Option<(Tensor, Tensor, Tensor)>,
}

struct FeedForward {
    gate: Matmul,
    up: Matmul,
    down: Matmul,
}

struct Layer {
    attention_norm: Tensor,
    attention: Attention,
    ffn_norm: Tensor,
    feed_forward: FeedForward,
}

/// One sequence's part of a batched forward pass: the tokens that follow its cached positions.
pub struct BatchInput<'a> {
    pub tokens: &'a [u32],
    pub cache: &'a mut KvCache,
}

/// Where a sequence's tokens sit in the batch, with its rotary angles and causal mask.
struct Span {
    offset: usize,
    len: usize,
    cos: Tensor,
    sin: Tensor,
    mask: Option<Tensor>,
}

pub struct Model {
    config: ModelConfig,
    /// Token embeddings for lookup, kept in f16: half the memory of f32 (56 MB less for
    /// SmolLM2-135M), and rows are widened to f32 when looked up.
    embeddings: Tensor,
    layers: Vec<Layer>,
    output_norm: Tensor,
    output: Matmul,
    /// Rotary tables of shape (context_length, head_dim / 2).
    cos: Tensor,
    sin: Tensor,
    device: Device,
}

struct Loader<'a, R> {
    content: &'a gguf_file::Content,
    reader: &'a mut R,
    device: &'a Device,
}

impl<R: Read + Seek> Loader<'_, R> {
    fn quantized(&mut self, name: &str) -> Result<QTensor> {
        self.content.tensor(self.reader, name, self.device)
    }

    fn projection(&mut self, name: &str) -> Result<Matmul> {
        Matmul::new(self.quantized(name)?)
    }

    fn dense(&mut self, name: &str) -> Result<Tensor> {
        self.quantized(name)?.dequantize(self.device)
    }
}

impl Model {
    pub fn load<R: Read + Seek>(
        config: ModelConfig,
        content: &gguf_file::Content,
        reader: &mut R,
        device: &Device,
    ) -> Result<Self> {
        let mut load = Loader {
            content,
            reader,
            device,
        };
        let embeddings_q = load.quantized("token_embd.weight")?;
        // Buffers below are sized by the metadata: it must describe the weights the file holds.
        match embeddings_q.shape().dims() {
            [_, width] if *width == config.embedding_length => {}
            dims => candle_core::bail!(
                "token_embd.weight has shape {dims:?}, but the metadata says embeddings are {} wide",
                config.embedding_length
            ),
        }
        let embeddings = embeddings_q.dequantize_f16(device)?;
        // Small models tie the output projection to the token embeddings.
        let output = if content.tensor_infos.contains_key("output.weight") {
            load.projection("output.weight")?
        } else {
            Matmul::new(embeddings_q)?
        };
        let output_norm = load.dense("output_norm.weight")?;
        // block_count comes from the file: no more room than it has tensors.
        let mut layers = Vec::with_capacity(config.block_count.min(content.tensor_infos.len()));
        for i in 0..config.block_count {
            let name = |part: &str| format!("blk.{i}.{part}");
            let biases = if config.architecture.has_qkv_bias() {
                Some((
                    load.dense(&name("attn_q.bias"))?,
                    load.dense(&name("attn_k.bias"))?,
                    load.dense(&name("attn_v.bias"))?,
                ))
            } else {
                None
            };
            layers.push(Layer {
                attention_norm: load.dense(&name("attn_norm.weight"))?,
                attention: Attention {
                    q: load.projection(&name("attn_q.weight"))?,
                    k: load.projection(&name("attn_k.weight"))?,
                    v: load.projection(&name("attn_v.weight"))?,
                    output: load.projection(&name("attn_output.weight"))?,
                    biases,
                },
                ffn_norm: load.dense(&name("ffn_norm.weight"))?,
                feed_forward: FeedForward {
                    gate: load.projection(&name("ffn_gate.weight"))?,
                    up: load.projection(&name("ffn_up.weight"))?,
                    down: load.projection(&name("ffn_down.weight"))?,
                },
            });
        }
        let (cos, sin) = rotary_tables(&config, device)?;
        Ok(Self {
            config,
            embeddings,
            layers,
            output_norm,
            output,
            cos,
            sin,
            device: device.clone(),
        })
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Runs `tokens` (the positions right after the cached ones), appends their keys and
    /// values to `cache`, and returns the logits (f32, vocabulary-sized) of the last token.
    pub fn forward(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Tensor> {
        let mut logits = self.forward_batch(&mut [BatchInput { tokens, cache }])?;
        logits
            .pop()
            .ok_or_else(|| candle_core::Error::Msg("a batch of one gave no logits".into()))
    }

    /// [`Model::forward`] for several sequences in one pass: the projections and the
    /// feed-forward layers run on all their new tokens together (one weight load serves every
    /// row), attention runs per sequence on its own cache. Returns each sequence's logits, in
    /// order. A sequence's results do not depend on what else is in the batch.
    pub fn forward_batch(&self, batch: &mut [BatchInput<'_>]) -> Result<Vec<Tensor>> {
        let mut spans = Vec::with_capacity(batch.len());
        let mut ids = Vec::new();
        for input in batch.iter() {
            let len = input.tokens.len();
            if len == 0 {
                candle_core::bail!("forward needs at least one token per sequence");
            }
            let start = input.cache.len();
            if start + len > self.config.context_length {
                candle_core::bail!(
                    "{} positions exceed the context window of {}",
                    start + len,
                    self.config.context_length
                );
            }
            spans.push(Span {
                offset: ids.len(),
                len,
                cos: self.cos.narrow(0, start, len)?,
                sin: self.sin.narrow(0, start, len)?,
                mask: self.causal_mask(len, start)?,
            });
            ids.extend_from_slice(input.tokens);
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = Tensor::new(ids.as_slice(), &self.device)?;
        let mut x = self
            .embeddings
            .index_select(&ids, 0)?
            .to_dtype(DType::F32)?
            .unsqueeze(0)?;
        let eps = self.config.rms_norm_eps as f32;
        for (index, layer) in self.layers.iter().enumerate() {
            let normed = candle_nn::ops::rms_norm(&x, &layer.attention_norm, eps)?;
            let attended = self.attention(&layer.attention, &normed, &spans, index, batch)?;
            x = (x + attended)?;
            let normed = candle_nn::ops::rms_norm(&x, &layer.ffn_norm, eps)?;
            let ff = &layer.feed_forward;
            let gate = candle_nn::ops::silu(&ff.gate.forward(&normed)?)?;
            let hidden = (gate * ff.up.forward(&normed)?)?;
            x = (x + ff.down.forward(&hidden)?)?;
        }
        for input in batch.iter_mut() {
            input.cache.push_tokens(input.tokens);
        }
        let last = spans
            .iter()
            .map(|span| x.narrow(1, span.offset + span.len - 1, 1))
            .collect::<Result<Vec<_>>>()?;
        let last = Tensor::cat(&last, 1)?;
        let last = candle_nn::ops::rms_norm(&last, &self.output_norm, eps)?;
        let logits = self.output.forward(&last)?.to_dtype(DType::F32)?;
        (0..spans.len())
            .map(|row| logits.narrow(1, row, 1)?.flatten_all())
            .collect()
    }

    /// Attention for every sequence of the batch: `x` holds all their new tokens in a row.
    fn attention(
        &self,
        weights: &Attention,
        x: &Tensor,
        spans: &[Span],
        layer: usize,
        batch: &mut [BatchInput<'_>],
    ) -> Result<Tensor> {
        let c = &self.config;
        let mut q_all = weights.q.forward(x)?;
        let mut k_all = weights.k.forward(x)?;
        let mut v_all = weights.v.forward(x)?;
        if let Some((bq, bk, bv)) = &weights.biases {
            q_all = q_all.broadcast_add(bq)?;
            k_all = k_all.broadcast_add(bk)?;
            v_all = v_all.broadcast_add(bv)?;
        }
        let mut outputs = Vec::with_capacity(spans.len());
        for (span, input) in spans.iter().zip(batch.iter_mut()) {
            let seq_len = span.len;
            let heads = |all: &Tensor, n: usize| -> Result<Tensor> {
                all.narrow(1, span.offset, seq_len)?
                    .reshape((1, seq_len, n, c.head_dim))?
                    .transpose(1, 2)?
                    .contiguous()
            };
            let q = self.rope(&heads(&q_all, c.head_count)?, &span.cos, &span.sin)?;
            let k = self.rope(&heads(&k_all, c.head_count_kv)?, &span.cos, &span.sin)?;
            let v = heads(&v_all, c.head_count_kv)?;
            let (k, v) = input.cache.append(layer, &k, &v)?;
            if seq_len == 1 {
                if let Some(y) = self.attend_one(&q, input.cache, layer, k.dim(2)?)? {
                    outputs.push(y);
                    continue;
                }
            }

            // Grouped-query attention without copying keys/values: the query heads that share
            // a key/value head are stacked along the sequence axis of that head.
            let group = c.head_count / c.head_count_kv;
            let q = q.reshape((1, c.head_count_kv, group * seq_len, c.head_dim))?;
            let scores = (q.matmul(&k.t()?)? * (1.0 / (c.head_dim as f64).sqrt()))?;
            let scores = match &span.mask {
                Some(mask) => scores.broadcast_add(mask)?,
                None => scores,
            };
            let weights_ = candle_nn::ops::softmax_last_dim(&scores)?;
            let y = weights_.matmul(&v.contiguous()?)?;
            outputs.push(
                y.reshape((1, c.head_count, seq_len, c.head_dim))?
                    .transpose(1, 2)?
                    .reshape((1, seq_len, c.head_count * c.head_dim))?,
            );
        }
        let y = match outputs.len() {
            1 => outputs
                .pop()
                .ok_or_else(|| candle_core::Error::Msg("no output".into()))?,
            _ => Tensor::cat(&outputs, 1)?,
        };
        weights.output.forward(&y)
    }

    /// Attention of one new token through [`viva_kernels::attention::attend_one`], as a (1, 1, width)
    /// tensor; `None` where that does not apply (not f32 CPU buffers).
    fn attend_one(
        &self,
        q: &Tensor,
        cache: &KvCache,
        layer: usize,
        len: usize,
    ) -> Result<Option<Tensor>> {
        let c = &self.config;
        let Some((keys, values)) = cache.buffers(layer) else {
            return Ok(None);
        };
        if !matches!(self.device, Device::Cpu) {
            return Ok(None);
        }
        let q: Vec<f32> = q.flatten_all()?.to_vec1()?;
        let scale = 1.0 / (c.head_dim as f32).sqrt();
        let Some(y) =
            viva_kernels::attention::attend_one(&q, keys, values, len, c.head_count, scale)?
        else {
            return Ok(None);
        };
        Tensor::from_vec(y, (1, 1, c.head_count * c.head_dim), &self.device).map(Some)
    }

    fn rope(&self, x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
        if self.config.architecture.interleaved_rope() {
            candle_nn::rotary_emb::rope_i(x, cos, sin)
        } else {
            candle_nn::rotary_emb::rope(x, cos, sin)
        }
    }

    /// Additive mask (0 or -inf) for `seq_len` new queries after `start` cached positions,
    /// repeated for each query head of a key/value group; none for a single query.
    fn causal_mask(&self, seq_len: usize, start: usize) -> Result<Option<Tensor>> {
        if seq_len == 1 {
            return Ok(None);
        }
        let total = start + seq_len;
        let values: Vec<f32> = (0..seq_len)
            .flat_map(|i| {
                (0..total).map(move |j| {
                    if j > start + i {
                        f32::NEG_INFINITY
                    } else {
                        0.0
                    }
                })
            })
            .collect();
        let mask = Tensor::from_vec(values, (seq_len, total), &self.device)?;
        let group = self.config.head_count / self.config.head_count_kv;
        Tensor::cat(&vec![mask; group], 0).map(Some)
    }
}

fn rotary_tables(config: &ModelConfig, device: &Device) -> Result<(Tensor, Tensor)> {
    let half = config.head_dim / 2;
    let inverse_frequencies: Vec<f32> = (0..half)
        .map(|i| {
            1.0 / config
                .rope_freq_base
                .powf(2.0 * i as f32 / config.head_dim as f32)
        })
        .collect();
    let inverse_frequencies = Tensor::from_vec(inverse_frequencies, (1, half), device)?;
    let positions = Tensor::arange(0u32, config.context_length as u32, device)?
        .to_dtype(DType::F32)?
        .reshape((config.context_length, 1))?;
    let angles = positions.matmul(&inverse_frequencies)?;
    Ok((angles.cos()?, angles.sin()?))
}

#[allow(dead_code)]
fn assert_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<Model>();
}
