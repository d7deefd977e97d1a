//! Whisper's encoder and decoder on candle, with Hugging Face weight names.
//!
//! Unlike candle-transformers' version, the decoder keeps a self-attention key/value cache, so
//! each new token costs one position instead of recomputing the whole sequence, and the
//! cross-attention keys/values of the audio are computed once per window.

use candle_core::quantized::{GgmlDType, QTensor};
#[cfg(test)]
use candle_core::IndexOp;
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Conv1d, Conv1dConfig, Embedding, LayerNorm, VarBuilder};

use super::config::WhisperConfig;
use viva_kernels::q8::Matmul;
use viva_kernels::{self as kernels, bf16};

/// Attention scores larger than this are computed one head at a time.
const SCORES_BYTES_AT_ONCE: usize = 16 << 20;

/// Where a layer's weights are kept. The decoder runs one token at a time, so every step reads
/// all of its weights: on the CPU those are Q8_0, a quarter of the bytes to read (multiplied by
/// viva's VNNI kernel where the processor has it, `kernels::q8`). The encoder
/// (and the cross-attention keys/values, computed once per window over all frames) run large
/// matrix products: in bf16 where the CPU has AMX or AVX-512 BF16 (`kernels::bf16`), else in
/// f32.
#[derive(Clone, Copy)]
enum Weights {
    /// f32 everywhere (the tests' exact reference).
    #[cfg_attr(not(test), allow(dead_code))]
    Dense,
    Q8OnCpu,
    Bf16OnCpu,
}

enum Linear {
    Candle {
        weight: Matmul,
        bias: Option<Tensor>,
    },
    Bf16(bf16::Linear),
}

impl Linear {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Linear::Candle { weight, bias } => {
                let y = weight.forward(x)?;
                match bias {
                    Some(bias) => y.broadcast_add(bias),
                    None => Ok(y),
                }
            }
            Linear::Bf16(linear) => linear.forward(x),
        }
    }
}

/// Whether large products with these weights run in bf16 (`kernels::bf16`).
fn on_bf16_unit(kind: Weights, device: &Device) -> bool {
    matches!(kind, Weights::Bf16OnCpu) && device.is_cpu() && bf16::available()
}

fn linear(
    vb: VarBuilder,
    d_in: usize,
    d_out: usize,
    bias: bool,
    kind: Weights,
) -> candle_core::Result<Linear> {
    let weight = vb.get((d_out, d_in), "weight")?;
    let bias = if bias {
        Some(vb.get(d_out, "bias")?)
    } else {
        None
    };
    if on_bf16_unit(kind, weight.device()) {
        return Ok(Linear::Bf16(bf16::Linear::new(&weight, bias.as_ref())?));
    }
    Ok(Linear::Candle {
        weight: matmul_weights(weight, kind)?,
        bias,
    })
}

fn matmul_weights(weight: Tensor, kind: Weights) -> candle_core::Result<Matmul> {
    match kind {
        Weights::Q8OnCpu if weight.device().is_cpu() => {
            Matmul::new(QTensor::quantize(&weight, GgmlDType::Q8_0)?)
        }
        _ => Ok(Matmul::dense(weight)),
    }
}

fn layer_norm(vb: VarBuilder, size: usize) -> candle_core::Result<LayerNorm> {
    Ok(LayerNorm::new(
        vb.get(size, "weight")?,
        vb.get(size, "bias")?,
        1e-5,
    ))
}

fn conv1d(vb: VarBuilder, c_in: usize, c_out: usize, stride: usize) -> candle_core::Result<Conv1d> {
    let config = Conv1dConfig {
        padding: 1,
        stride,
        ..Default::default()
    };
    Ok(Conv1d::new(
        vb.get((c_out, c_in, 3), "weight")?,
        Some(vb.get(c_out, "bias")?),
        config,
    ))
}

/// Projections of one attention layer. Keys have no bias in Whisper.
struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    out: Linear,
    heads: usize,
    /// Unmasked attention over many positions (the encoder's) runs in bf16.
    bf16: bool,
}

impl Attention {
    /// `queries` holds q and out; `keys_values` holds k and v (they differ for cross-attention).
    fn load(
        vb: VarBuilder,
        d: usize,
        heads: usize,
        queries: Weights,
        keys_values: Weights,
    ) -> candle_core::Result<Self> {
        Ok(Self {
            q: linear(vb.pp("q_proj"), d, d, true, queries)?,
            k: linear(vb.pp("k_proj"), d, d, false, keys_values)?,
            v: linear(vb.pp("v_proj"), d, d, true, keys_values)?,
            out: linear(vb.pp("out_proj"), d, d, true, queries)?,
            heads,
            bf16: on_bf16_unit(queries, vb.device()),
        })
    }

    /// [batch, seq, d] → [batch, heads, seq, d_head]
    fn split_heads(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        x.reshape((b, t, self.heads, d / self.heads))?
            .transpose(1, 2)?
            .contiguous()
    }

    /// Keys and values, [batch, heads, seq, d_head].
    fn keys_values(&self, x: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        Ok((
            self.split_heads(&self.k.forward(x)?)?,
            self.split_heads(&self.v.forward(x)?)?,
        ))
    }

    /// Scaled dot-product attention of `x`'s queries over the keys (transposed, [batch, heads,
    /// d_head, seq]) and values ([batch, heads, seq, d_head]), already split into heads.
    fn attend(
        &self,
        x: &Tensor,
        k_t: &Tensor,
        v: &Tensor,
        mask: Option<&Tensor>,
    ) -> candle_core::Result<Tensor> {
        let q = self.split_heads(&self.q.forward(x)?)?;
        let (b, heads, t, d_head) = q.dims4()?;
        let q = (q * (1.0 / (d_head as f64).sqrt()))?;
        if self.bf16 && mask.is_none() {
            let merged = bf16::Attention::forward(&q, &k_t.t()?, v)?;
            let merged = merged.transpose(1, 2)?.reshape((b, t, ()))?;
            return self.out.forward(&merged);
        }
        let attend = |q: &Tensor, k_t: &Tensor, v: &Tensor| -> candle_core::Result<Tensor> {
            let mut scores = q.matmul(k_t)?;
            if let Some(mask) = mask {
                scores = scores.broadcast_add(mask)?;
            }
            kernels::softmax_last_dim(&scores)?.matmul(v)
        };
        // The encoder's scores over a 30 s window are 1500 x 1500 per head; one head at a time
        // keeps the transient buffers at 9 MB instead of 54 MB per product.
        let per_head = heads * t * k_t.dim(3)? * 4 > SCORES_BYTES_AT_ONCE;
        let merged = if per_head {
            let outputs = (0..heads)
                .map(|h| {
                    attend(
                        &q.narrow(1, h, 1)?,
                        &k_t.narrow(1, h, 1)?,
                        &v.narrow(1, h, 1)?,
                    )
                })
                .collect::<candle_core::Result<Vec<_>>>()?;
            Tensor::cat(&outputs, 1)?
        } else {
            attend(&q, k_t, v)?
        };
        let merged = merged.transpose(1, 2)?.reshape((b, t, ()))?;
        self.out.forward(&merged)
    }
}

struct Mlp {
    fc1: Linear,
    fc2: Linear,
}

impl Mlp {
    fn load(vb: VarBuilder, d: usize, kind: Weights) -> candle_core::Result<Self> {
        Ok(Self {
            fc1: linear(vb.pp("fc1"), d, 4 * d, true, kind)?,
            fc2: linear(vb.pp("fc2"), 4 * d, d, true, kind)?,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        // Whisper uses the exact (erf) GELU, not the tanh approximation.
        self.fc2.forward(&kernels::gelu_erf(&self.fc1.forward(x)?)?)
    }
}

struct EncoderLayer {
    attn_norm: LayerNorm,
    attn: Attention,
    mlp_norm: LayerNorm,
    mlp: Mlp,
}

pub struct Encoder {
    conv1: Conv1d,
    conv2: Conv1d,
    positions: Tensor,
    layers: Vec<EncoderLayer>,
    norm: LayerNorm,
}

impl Encoder {
    fn load(vb: VarBuilder, c: &WhisperConfig) -> candle_core::Result<Self> {
        let d = c.d_model;
        let layers = (0..c.encoder_layers)
            .map(|i| {
                let vb = vb.pp(format!("layers.{i}"));
                Ok(EncoderLayer {
                    attn_norm: layer_norm(vb.pp("self_attn_layer_norm"), d)?,
                    attn: Attention::load(
                        vb.pp("self_attn"),
                        d,
                        c.encoder_attention_heads,
                        Weights::Bf16OnCpu,
                        Weights::Bf16OnCpu,
                    )?,
                    mlp_norm: layer_norm(vb.pp("final_layer_norm"), d)?,
                    mlp: Mlp::load(vb.clone(), d, Weights::Bf16OnCpu)?,
                })
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self {
            conv1: conv1d(vb.pp("conv1"), c.num_mel_bins, d, 1)?,
            conv2: conv1d(vb.pp("conv2"), d, d, 2)?,
            positions: vb.get((c.max_source_positions, d), "embed_positions.weight")?,
            layers,
            norm: layer_norm(vb.pp("layer_norm"), d)?,
        })
    }

    /// mel [batch, n_mels, frames] → audio features [batch, frames / 2, d_model]. `frames` may be
    /// shorter than 3000 (encoding only the audio's own length).
    pub fn forward(&self, mel: &Tensor) -> candle_core::Result<Tensor> {
        let x = kernels::gelu_erf(&self.conv1.forward(mel)?)?;
        let x = kernels::gelu_erf(&self.conv2.forward(&x)?)?.transpose(1, 2)?;
        let seq = x.dim(1)?;
        let mut x = x.broadcast_add(&self.positions.narrow(0, 0, seq)?)?;
        for layer in &self.layers {
            let h = layer.attn_norm.forward(&x)?;
            let (k, v) = layer.attn.keys_values(&h)?;
            x = (&x + layer.attn.attend(&h, &k.t()?, &v, None)?)?;
            x = (&x + layer.mlp.forward(&layer.mlp_norm.forward(&x)?)?)?;
        }
        self.norm.forward(&x)
    }
}

struct DecoderLayer {
    self_norm: LayerNorm,
    self_attn: Attention,
    cross_norm: LayerNorm,
    cross_attn: Attention,
    mlp_norm: LayerNorm,
    mlp: Mlp,
}

pub struct Decoder {
    /// Token embeddings for lookup, in f16 (as stored in the weights file): 40 MB less than f32.
    embed_tokens: Embedding,
    /// The token embeddings again, as the output projection (Q8_0 on the CPU: at f32, reading
    /// this vocabulary × d_model matrix, 80 MB for tiny.en, took most of each step).
    output: Matmul,
    positions: Tensor,
    layers: Vec<DecoderLayer>,
    norm: LayerNorm,
    max_positions: usize,
}

/// Per-layer keys and values for one window's decoding: the audio's (fixed) and the tokens'
/// so far (growing).
pub struct DecoderCache {
    /// The audio's keys (transposed, [batch, heads, d_head, frames]) and values.
    cross: Vec<(Tensor, Tensor)>,
    self_kv: Vec<Option<(Tensor, Tensor)>>,
    /// Tokens already in the cache.
    pub len: usize,
}

impl Decoder {
    fn load(vb: VarBuilder, c: &WhisperConfig, kind: Weights) -> candle_core::Result<Self> {
        let d = c.d_model;
        let layers = (0..c.decoder_layers)
            .map(|i| {
                let vb = vb.pp(format!("layers.{i}"));
                Ok(DecoderLayer {
                    self_norm: layer_norm(vb.pp("self_attn_layer_norm"), d)?,
                    self_attn: Attention::load(
                        vb.pp("self_attn"),
                        d,
                        c.decoder_attention_heads,
                        kind,
                        kind,
                    )?,
                    cross_norm: layer_norm(vb.pp("encoder_attn_layer_norm"), d)?,
                    cross_attn: Attention::load(
                        vb.pp("encoder_attn"),
                        d,
                        c.decoder_attention_heads,
                        kind,
                        Weights::Bf16OnCpu,
                    )?,
                    mlp_norm: layer_norm(vb.pp("final_layer_norm"), d)?,
                    mlp: Mlp::load(vb.clone(), d, kind)?,
                })
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        let embeddings = vb.get((c.vocab_size, d), "embed_tokens.weight")?;
        let output = matmul_weights(embeddings.clone(), kind)?;
        Ok(Self {
            embed_tokens: Embedding::new(embeddings.to_dtype(DType::F16)?, d),
            output,
            positions: vb.get((c.max_target_positions, d), "embed_positions.weight")?,
            layers,
            norm: layer_norm(vb.pp("layer_norm"), d)?,
            max_positions: c.max_target_positions,
        })
    }

    /// A fresh cache for the audio features of one window.
    pub fn new_cache(&self, audio: &Tensor) -> candle_core::Result<DecoderCache> {
        let cross = self
            .layers
            .iter()
            .map(|l| {
                let (k, v) = l.cross_attn.keys_values(audio)?;
                // Transposed once per window, so each step's product reads them in order.
                Ok((k.t()?.contiguous()?, v))
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(DecoderCache {
            self_kv: (0..self.layers.len()).map(|_| None).collect(),
            cross,
            len: 0,
        })
    }

    pub fn max_positions(&self) -> usize {
        self.max_positions
    }

    /// Runs `tokens` (appended after what the cache holds) and returns the logits of every new
    /// position, [batch, tokens, vocab].
    pub fn forward(
        &self,
        tokens: &Tensor,
        cache: &mut DecoderCache,
    ) -> candle_core::Result<Tensor> {
        let (_, n) = tokens.dims2()?;
        let start = cache.len;
        let positions = self.positions.narrow(0, start, n)?;
        let mut x = self
            .embed_tokens
            .forward(tokens)?
            .to_dtype(DType::F32)?
            .broadcast_add(&positions)?;
        let mask = causal_mask(n, start, x.device())?;
        for (i, layer) in self.layers.iter().enumerate() {
            let h = layer.self_norm.forward(&x)?;
            let (k_new, v_new) = layer.self_attn.keys_values(&h)?;
            let (k, v) = match cache.self_kv[i].take() {
                Some((k, v)) => (
                    Tensor::cat(&[&k, &k_new], 2)?,
                    Tensor::cat(&[&v, &v_new], 2)?,
                ),
                None => (k_new, v_new),
            };
            x = (&x + layer.self_attn.attend(&h, &k.t()?, &v, mask.as_ref())?)?;
            cache.self_kv[i] = Some((k, v));

            let h = layer.cross_norm.forward(&x)?;
            let (ck, cv) = &cache.cross[i];
            x = (&x + layer.cross_attn.attend(&h, ck, cv, None)?)?;
            x = (&x + layer.mlp.forward(&layer.mlp_norm.forward(&x)?)?)?;
        }
        cache.len += n;
        self.output.forward(&self.norm.forward(&x)?)
    }
}

/// Mask for `n` new positions after `past` cached ones: each may see the past and itself.
/// `None` when a single token is added (it may see everything).
fn causal_mask(n: usize, past: usize, device: &Device) -> candle_core::Result<Option<Tensor>> {
    if n == 1 {
        return Ok(None);
    }
    let total = past + n;
    let values: Vec<f32> = (0..n)
        .flat_map(|i| (0..total).map(move |j| if j > past + i { f32::NEG_INFINITY } else { 0.0 }))
        .collect();
    Ok(Some(Tensor::from_vec(values, (n, total), device)?))
}

pub struct WhisperModel {
    pub encoder: Encoder,
    pub decoder: Decoder,
    pub config: WhisperConfig,
}

impl WhisperModel {
    /// Weights under `model.` in Hugging Face naming, computed in f32 (decoder weights in
    /// Q8_0 on the CPU).
    pub fn load(vb: VarBuilder, config: WhisperConfig) -> candle_core::Result<Self> {
        Self::load_with(vb, config, Weights::Q8OnCpu)
    }

    fn load_with(
        vb: VarBuilder,
        config: WhisperConfig,
        decoder_weights: Weights,
    ) -> candle_core::Result<Self> {
        let vb = vb.pp("model");
        Ok(Self {
            encoder: Encoder::load(vb.pp("encoder"), &config)?,
            decoder: Decoder::load(vb.pp("decoder"), &config, decoder_weights)?,
            config,
        })
    }

    pub fn dtype() -> DType {
        DType::F32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default Whisper weights, fetched once per checkout by the same code as
    /// `viva models fetch` (shared with the integration tests in target/test-models/).
    fn weights_dir() -> std::path::PathBuf {
        let models = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-models");
        crate::fetch::ensure_default_models(&models)
            .expect("fetching the default models for tests")
            .whisper_dir
    }

    fn load(dir: &std::path::Path) -> WhisperModel {
        let config: WhisperConfig =
            serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
        #[allow(unsafe_code)]
        let vb = unsafe {
            VarBuilder::from_mmaped_safetensors(
                &[dir.join("model.safetensors")],
                DType::F32,
                &Device::Cpu,
            )
            .unwrap()
        };
        // Dense f32 weights: Q8_0 quantizes activations, and its kernels round a batch of
        // tokens differently from one token at a time, which would hide what this checks.
        WhisperModel::load_with(vb, config, Weights::Dense).unwrap()
    }

    #[test]
    fn cached_decoding_matches_a_full_recompute() {
        let dir = weights_dir();
        let model = load(&dir);
        let mel = Tensor::randn(0f32, 1.0, (1, 80, 400), &Device::Cpu).unwrap();
        let audio = model.encoder.forward(&mel).unwrap();
        assert_eq!(audio.dims(), &[1, 200, 384]);

        let tokens: Vec<u32> = vec![50257, 50362, 400, 1002, 2003, 13];
        let mut full_cache = model.decoder.new_cache(&audio).unwrap();
        let all = Tensor::new(tokens.as_slice(), &Device::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let full = model.decoder.forward(&all, &mut full_cache).unwrap();

        let mut cache = model.decoder.new_cache(&audio).unwrap();
        let prefix = Tensor::new(&tokens[..2], &Device::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        model.decoder.forward(&prefix, &mut cache).unwrap();
        let mut last = None;
        for &t in &tokens[2..] {
            let one = Tensor::new(&[t], &Device::Cpu)
                .unwrap()
                .unsqueeze(0)
                .unwrap();
            last = Some(model.decoder.forward(&one, &mut cache).unwrap());
        }
        let step: Vec<f32> = last.unwrap().i((0, 0)).unwrap().to_vec1().unwrap();
        let whole: Vec<f32> = full.i((0, tokens.len() - 1)).unwrap().to_vec1().unwrap();
        let max_diff = step
            .iter()
            .zip(&whole)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(
            max_diff < 1e-3,
            "cached and full logits differ by {max_diff}"
        );
        assert_eq!(cache.len, tokens.len());
    }
}
