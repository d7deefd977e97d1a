//! CTranslate2 Whisper models (`model.bin`) converted to Hugging Face transformers safetensors.
//! (Written here: no crate reads `model.bin`, and it is how Whisper's weights reach a machine
//! whose only source of models is the package index.)
//!
//! The `model.bin` layout (little-endian, no padding): `u32` version, spec name, `u32` revision,
//! `u32` variable count; each variable is a name, `u8` rank, rank × `u32` dims, `u8` dtype,
//! `u32` byte count and the raw row-major data; then a `u32` alias count and (alias, target)
//! name pairs. Strings are a `u16` length (counting a trailing NUL) and that many bytes.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use safetensors::tensor::TensorView;
use safetensors::Dtype;
use serde_json::{json, Value};

const SUPPORTED_VERSION: u32 = 6;
const WHISPER_SPEC: &str = "WhisperSpec";
/// Hugging Face ties the output projection to the token embeddings and stores it once.
const TIED_OUTPUT_PROJECTION: &str = "proj_out.weight";
const EMBED_TOKENS: &str = "model.decoder.embed_tokens.weight";

#[derive(Debug, thiserror::Error)]
pub enum Ct2Error {
    #[error("model.bin is truncated at byte {0}")]
    Truncated(usize),
    #[error("model.bin format version {0} is not supported (expected {SUPPORTED_VERSION})")]
    UnsupportedVersion(u32),
    #[error("model.bin holds a {0}, not a {WHISPER_SPEC}")]
    NotWhisper(String),
    #[error("model.bin has a name that is not UTF-8 at byte {0}")]
    BadName(usize),
    #[error("variable {name}: unknown dtype code {code}")]
    UnknownDtype { name: String, code: u8 },
    #[error("variable {name}: {bytes} bytes do not fit its shape {shape:?}")]
    SizeMismatch {
        name: String,
        shape: Vec<usize>,
        bytes: usize,
    },
    #[error("variable {name}: {dtype:?} weights are not supported (convert the model with float16 or float32 weights)")]
    UnsupportedWeightDtype { name: String, dtype: Ct2Dtype },
    #[error("variable {0} has no Hugging Face Whisper equivalent")]
    UnknownVariable(String),
    #[error("variable {name}: cannot split {rows} rows into {parts} equal parts")]
    BadSplit {
        name: String,
        rows: usize,
        parts: usize,
    },
    #[error("variable {0}: the key projection's bias part is not zero, which Hugging Face's Whisper cannot hold")]
    NonZeroKeyBias(String),
    #[error("alias {alias} points at {target}, which is not in the model")]
    DanglingAlias { alias: String, target: String },
    #[error(
        "the aliases of model.bin ask for {written} bytes of tensors from {stored} stored; \
         at most twice the stored bytes are written"
    )]
    TooManyCopies { written: usize, stored: usize },
    #[error("two variables or aliases both become {0}")]
    Duplicate(String),
    #[error("the model lacks {0}, needed to describe it")]
    Missing(&'static str),
    #[error("{name} has shape {shape:?}, but a Whisper model's has {rank} dimensions")]
    BadRank {
        name: &'static str,
        shape: Vec<usize>,
        rank: usize,
    },
    #[error("config.json of the CTranslate2 model is not valid JSON: {0}")]
    BadConfig(#[from] serde_json::Error),
    #[error("writing safetensors: {0}")]
    Safetensors(#[from] safetensors::SafeTensorError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ct2Dtype {
    F32,
    I8,
    I16,
    I32,
    F16,
    Bf16,
}

impl Ct2Dtype {
    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::F32,
            1 => Self::I8,
            2 => Self::I16,
            3 => Self::I32,
            4 => Self::F16,
            5 => Self::Bf16,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Self::I8 => 1,
            Self::I16 | Self::F16 | Self::Bf16 => 2,
            Self::F32 | Self::I32 => 4,
        }
    }

    fn float(self) -> Option<Dtype> {
        match self {
            Self::F32 => Some(Dtype::F32),
            Self::F16 => Some(Dtype::F16),
            Self::Bf16 => Some(Dtype::BF16),
            Self::I8 | Self::I16 | Self::I32 => None,
        }
    }
}

/// One variable of a CTranslate2 model, borrowing its data from the file's bytes.
#[derive(Debug, Clone)]
pub struct Variable<'a> {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: Ct2Dtype,
    pub data: &'a [u8],
}

#[derive(Debug)]
pub struct Ct2Model<'a> {
    pub spec: String,
    pub revision: u32,
    pub variables: Vec<Variable<'a>>,
    /// (alias, target) pairs.
    pub aliases: Vec<(String, String)>,
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Ct2Error> {
        let end = self.at.checked_add(n).ok_or(Ct2Error::Truncated(self.at))?;
        let slice = self
            .bytes
            .get(self.at..end)
            .ok_or(Ct2Error::Truncated(self.at))?;
        self.at = end;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8, Ct2Error> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, Ct2Error> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, Ct2Error> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn string(&mut self) -> Result<String, Ct2Error> {
        let start = self.at;
        let len = usize::from(self.u16()?);
        let raw = self.take(len)?;
        let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
        String::from_utf8(raw.to_vec()).map_err(|_| Ct2Error::BadName(start))
    }
}

/// Parses a CTranslate2 `model.bin`.
pub fn parse(bytes: &[u8]) -> Result<Ct2Model<'_>, Ct2Error> {
    let mut c = Cursor { bytes, at: 0 };
    let version = c.u32()?;
    if version != SUPPORTED_VERSION {
        return Err(Ct2Error::UnsupportedVersion(version));
    }
    let spec = c.string()?;
    let revision = c.u32()?;
    let count = c.u32()?;
    let mut variables = Vec::new();
    for _ in 0..count {
        let name = c.string()?;
        let rank = c.u8()?;
        let shape = (0..rank)
            .map(|_| c.u32().map(|d| d as usize))
            .collect::<Result<Vec<_>, _>>()?;
        let code = c.u8()?;
        let dtype = Ct2Dtype::from_code(code).ok_or_else(|| Ct2Error::UnknownDtype {
            name: name.clone(),
            code,
        })?;
        let bytes = c.u32()? as usize;
        let elements = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        if elements.and_then(|n| n.checked_mul(dtype.size())) != Some(bytes) {
            return Err(Ct2Error::SizeMismatch { name, shape, bytes });
        }
        let data = c.take(bytes)?;
        variables.push(Variable {
            name,
            shape,
            dtype,
            data,
        });
    }
    let alias_count = c.u32()?;
    let mut aliases = Vec::new();
    for _ in 0..alias_count {
        let alias = c.string()?;
        let target = c.string()?;
        aliases.push((alias, target));
    }
    Ok(Ct2Model {
        spec,
        revision,
        variables,
        aliases,
    })
}

/// A tensor ready for safetensors, borrowing (part of) a variable's data.
#[derive(Debug, Clone)]
pub struct HfTensor<'a> {
    pub name: String,
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    pub data: &'a [u8],
}

/// What one CTranslate2 variable becomes.
enum Mapping {
    /// Not a weight (a scalar setting such as `num_heads`).
    Setting,
    Whole(String),
    /// Rows split in equal parts, one name per part; `None` marks a zero bias part to drop.
    Split(Vec<Option<String>>),
}

fn layer_part(side: &str, layer: &str, rest: &[&str]) -> Option<Mapping> {
    let prefix = format!("model.{side}.layers.{layer}");
    let param = |p: &str| match p {
        "gamma" | "weight" => Some("weight"),
        "beta" | "bias" => Some("bias"),
        _ => None,
    };
    let whole =
        |module: &str, p: &str| Some(Mapping::Whole(format!("{prefix}.{module}.{}", param(p)?)));
    match rest {
        ["self_attention", "layer_norm", p] => whole("self_attn_layer_norm", p),
        ["self_attention", "linear_0", p] => {
            let p = param(p)?;
            let key = (p == "weight").then(|| format!("{prefix}.self_attn.k_proj.{p}"));
            Some(Mapping::Split(vec![
                Some(format!("{prefix}.self_attn.q_proj.{p}")),
                key,
                Some(format!("{prefix}.self_attn.v_proj.{p}")),
            ]))
        }
        ["self_attention", "linear_1", p] => whole("self_attn.out_proj", p),
        ["attention", "layer_norm", p] if side == "decoder" => whole("encoder_attn_layer_norm", p),
        ["attention", "linear_0", p] if side == "decoder" => whole("encoder_attn.q_proj", p),
        ["attention", "linear_1", p] if side == "decoder" => {
            let p = param(p)?;
            let key = (p == "weight").then(|| format!("{prefix}.encoder_attn.k_proj.{p}"));
            Some(Mapping::Split(vec![
                key,
                Some(format!("{prefix}.encoder_attn.v_proj.{p}")),
            ]))
        }
        ["attention", "linear_2", p] if side == "decoder" => whole("encoder_attn.out_proj", p),
        ["ffn", "layer_norm", p] => whole("final_layer_norm", p),
        ["ffn", "linear_0", p] => whole("fc1", p),
        ["ffn", "linear_1", p] => whole("fc2", p),
        _ => None,
    }
}

fn mapping(name: &str, rank: usize) -> Option<Mapping> {
    if rank == 0 {
        return Some(Mapping::Setting);
    }
    let parts: Vec<&str> = name.split('/').collect();
    let whole = |s: String| Some(Mapping::Whole(s));
    match parts.as_slice() {
        [side @ ("encoder" | "decoder"), layer, rest @ ..]
            if layer
                .strip_prefix("layer_")
                .is_some_and(|i| i.parse::<usize>().is_ok()) =>
        {
            layer_part(side, layer.trim_start_matches("layer_"), rest)
        }
        ["encoder", conv @ ("conv1" | "conv2"), p @ ("weight" | "bias")] => {
            whole(format!("model.encoder.{conv}.{p}"))
        }
        [side @ ("encoder" | "decoder"), "position_encodings", "encodings"] => {
            whole(format!("model.{side}.embed_positions.weight"))
        }
        [side @ ("encoder" | "decoder"), "layer_norm", "gamma"] => {
            whole(format!("model.{side}.layer_norm.weight"))
        }
        [side @ ("encoder" | "decoder"), "layer_norm", "beta"] => {
            whole(format!("model.{side}.layer_norm.bias"))
        }
        ["decoder", "embeddings", "weight"] => whole(EMBED_TOKENS.to_owned()),
        ["decoder", "projection", "weight"] => whole(TIED_OUTPUT_PROJECTION.to_owned()),
        _ => None,
    }
}

fn is_zero(data: &[u8]) -> bool {
    data.iter().all(|&b| b == 0)
}

/// Converts one variable, published under `name`, into zero or more Hugging Face tensors.
fn convert_variable<'a>(
    name: &str,
    var: &Variable<'a>,
    out: &mut Vec<HfTensor<'a>>,
) -> Result<(), Ct2Error> {
    let mapped =
        mapping(name, var.shape.len()).ok_or_else(|| Ct2Error::UnknownVariable(name.to_owned()))?;
    let names = match mapped {
        Mapping::Setting => return Ok(()),
        Mapping::Whole(hf) => vec![Some(hf)],
        Mapping::Split(names) => names,
    };
    let dtype = var
        .dtype
        .float()
        .ok_or_else(|| Ct2Error::UnsupportedWeightDtype {
            name: name.to_owned(),
            dtype: var.dtype,
        })?;
    let parts = names.len();
    let rows = var.shape[0];
    if !rows.is_multiple_of(parts) {
        return Err(Ct2Error::BadSplit {
            name: name.to_owned(),
            rows,
            parts,
        });
    }
    let mut shape = var.shape.clone();
    shape[0] = rows / parts;
    let chunk = var.data.len() / parts;
    for (i, hf) in names.into_iter().enumerate() {
        let data = &var.data[i * chunk..(i + 1) * chunk];
        match hf {
            Some(hf) => out.push(HfTensor {
                name: hf,
                dtype,
                shape: shape.clone(),
                data,
            }),
            None if is_zero(data) => {}
            None => return Err(Ct2Error::NonZeroKeyBias(name.to_owned())),
        }
    }
    Ok(())
}

/// Maps every variable and alias of a Whisper model to Hugging Face tensors.
pub fn hf_tensors<'a>(model: &Ct2Model<'a>) -> Result<Vec<HfTensor<'a>>, Ct2Error> {
    if model.spec != WHISPER_SPEC {
        return Err(Ct2Error::NotWhisper(model.spec.clone()));
    }
    let mut out = Vec::new();
    for var in &model.variables {
        convert_variable(&var.name, var, &mut out)?;
    }
    for (alias, target) in &model.aliases {
        let var = model
            .variables
            .iter()
            .find(|v| &v.name == target)
            .ok_or_else(|| Ct2Error::DanglingAlias {
                alias: alias.clone(),
                target: target.clone(),
            })?;
        let mut aliased = Vec::new();
        convert_variable(alias, var, &mut aliased)?;
        let mut target_names = Vec::new();
        convert_variable(target, var, &mut target_names)?;
        let tied = aliased.len() == 1
            && aliased[0].name == TIED_OUTPUT_PROJECTION
            && target_names.first().map(|t| t.name.as_str()) == Some(EMBED_TOKENS);
        if !tied {
            out.extend(aliased);
        }
    }
    // An output projection that is stored (not an alias) but equals the embeddings is tied too.
    let embed = out.iter().find(|t| t.name == EMBED_TOKENS).map(|t| t.data);
    out.retain(|t| t.name != TIED_OUTPUT_PROJECTION || Some(t.data) != embed);
    let mut names = BTreeSet::new();
    if let Some(twice) = out.iter().find(|t| !names.insert(t.name.as_str())) {
        return Err(Ct2Error::Duplicate(twice.name.clone()));
    }
    // Aliases are written as copies: without a bound, a small model.bin naming one large
    // variable under many aliases would make the output (and memory) many times its size.
    let stored: usize = model.variables.iter().map(|v| v.data.len()).sum();
    let written: usize = out.iter().map(|t| t.data.len()).sum();
    if written > stored.saturating_mul(2) {
        return Err(Ct2Error::TooManyCopies { written, stored });
    }
    Ok(out)
}

/// The dimensions a Hugging Face Whisper `config.json` needs, read from the tensors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhisperDims {
    pub d_model: usize,
    pub vocab_size: usize,
    pub num_mel_bins: usize,
    pub encoder_layers: usize,
    pub decoder_layers: usize,
    pub encoder_attention_heads: usize,
    pub decoder_attention_heads: usize,
    pub encoder_ffn_dim: usize,
    pub decoder_ffn_dim: usize,
    pub max_source_positions: usize,
    pub max_target_positions: usize,
}

fn scalar(model: &Ct2Model<'_>, name: &str) -> Option<usize> {
    let var = model
        .variables
        .iter()
        .find(|v| v.name == name && v.shape.is_empty())?;
    let d = var.data;
    let value = match var.dtype {
        Ct2Dtype::I8 => i64::from(*d.first()? as i8),
        Ct2Dtype::I16 => i64::from(i16::from_le_bytes([*d.first()?, *d.get(1)?])),
        Ct2Dtype::I32 => i64::from(i32::from_le_bytes(d.get(..4)?.try_into().ok()?)),
        _ => return None,
    };
    usize::try_from(value).ok()
}

fn layer_count(tensors: &[HfTensor<'_>], side: &str) -> usize {
    let prefix = format!("model.{side}.layers.");
    tensors
        .iter()
        .filter_map(|t| t.name.strip_prefix(&prefix)?.split('.').next())
        .collect::<BTreeSet<_>>()
        .len()
}

/// Reads the model's dimensions from its converted tensors and scalar settings.
pub fn dims(model: &Ct2Model<'_>, tensors: &[HfTensor<'_>]) -> Result<WhisperDims, Ct2Error> {
    // The dimensions of tensor `name`, which must have `rank` of them.
    let shape = |name: &'static str, rank: usize| {
        let shape = tensors
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.shape.clone())
            .ok_or(Ct2Error::Missing(name))?;
        if shape.len() != rank {
            return Err(Ct2Error::BadRank { name, shape, rank });
        }
        Ok(shape)
    };
    let embed = shape(EMBED_TOKENS, 2)?;
    let conv1 = shape("model.encoder.conv1.weight", 3)?;
    let enc_fc1 = shape("model.encoder.layers.0.fc1.weight", 2)?;
    let dec_fc1 = shape("model.decoder.layers.0.fc1.weight", 2)?;
    Ok(WhisperDims {
        d_model: embed[1],
        vocab_size: embed[0],
        num_mel_bins: conv1[1],
        encoder_layers: layer_count(tensors, "encoder"),
        decoder_layers: layer_count(tensors, "decoder"),
        encoder_attention_heads: scalar(model, "encoder/num_heads")
            .ok_or(Ct2Error::Missing("encoder/num_heads"))?,
        decoder_attention_heads: scalar(model, "decoder/num_heads")
            .ok_or(Ct2Error::Missing("decoder/num_heads"))?,
        encoder_ffn_dim: enc_fc1[0],
        decoder_ffn_dim: dec_fc1[0],
        max_source_positions: shape("model.encoder.embed_positions.weight", 2)?[0],
        max_target_positions: shape("model.decoder.embed_positions.weight", 2)?[0],
    })
}

/// Whisper's token suppression lists as OpenAI's English-only models ship them.
const SUPPRESS_TOKENS: [u32; 90] = [
    1, 2, 7, 8, 9, 10, 14, 25, 26, 27, 28, 29, 31, 58, 59, 60, 61, 62, 63, 90, 91, 92, 93, 357,
    366, 438, 532, 685, 705, 796, 930, 1058, 1220, 1267, 1279, 1303, 1343, 1377, 1391, 1635, 1782,
    1875, 2162, 2361, 2488, 3467, 4008, 4211, 4600, 4808, 5299, 5855, 6329, 7203, 9609, 9959,
    10563, 10786, 11420, 11709, 11907, 13163, 13697, 13700, 14808, 15306, 16410, 16791, 17992,
    19203, 19510, 20724, 22305, 22935, 27007, 30109, 30420, 33409, 34949, 40283, 40493, 40549,
    47282, 49146, 50257, 50357, 50358, 50359, 50360, 50361,
];
const BEGIN_SUPPRESS_TOKENS: [u32; 2] = [220, 50256];
/// English-only Whisper models have this vocabulary size; multilingual ones have one more token.
const ENGLISH_VOCAB: usize = 51864;

/// The Hugging Face `config.json` for a Whisper model. The CTranslate2 `config.json`, when given,
/// supplies the suppression lists (`suppress_ids`, `suppress_ids_begin`).
pub fn hf_config(dims: &WhisperDims, ct2_config: Option<&Value>) -> Value {
    let list = |key: &str, fallback: &[u32]| {
        ct2_config
            .and_then(|c| c.get(key))
            .filter(|v| v.is_array())
            .cloned()
            .unwrap_or_else(|| json!(fallback))
    };
    let english = dims.vocab_size == ENGLISH_VOCAB;
    // Special token ids sit right after the text vocabulary; multilingual models shift them by one.
    let (eos, start, no_timestamps) = if english {
        (50256, 50257, 50362)
    } else {
        (50257, 50258, 50363)
    };
    let mut config = json!({
        "_name_or_path": if english { "openai/whisper-tiny.en" } else { "openai/whisper" },
        "activation_dropout": 0.0,
        "activation_function": "gelu",
        "architectures": ["WhisperForConditionalGeneration"],
        "attention_dropout": 0.0,
        "begin_suppress_tokens": list("suppress_ids_begin", &BEGIN_SUPPRESS_TOKENS),
        "bos_token_id": 50257,
        "d_model": dims.d_model,
        "decoder_attention_heads": dims.decoder_attention_heads,
        "decoder_ffn_dim": dims.decoder_ffn_dim,
        "decoder_layerdrop": 0.0,
        "decoder_layers": dims.decoder_layers,
        "decoder_start_token_id": start,
        "dropout": 0.0,
        "encoder_attention_heads": dims.encoder_attention_heads,
        "encoder_ffn_dim": dims.encoder_ffn_dim,
        "encoder_layerdrop": 0.0,
        "encoder_layers": dims.encoder_layers,
        "eos_token_id": eos,
        "init_std": 0.02,
        "is_encoder_decoder": true,
        "max_length": dims.max_target_positions,
        "max_source_positions": dims.max_source_positions,
        "max_target_positions": dims.max_target_positions,
        "model_type": "whisper",
        "num_hidden_layers": dims.encoder_layers,
        "num_mel_bins": dims.num_mel_bins,
        "pad_token_id": eos,
        "scale_embedding": false,
        "suppress_tokens": list("suppress_ids", &SUPPRESS_TOKENS),
        "torch_dtype": "float16",
        "use_cache": true,
        "vocab_size": dims.vocab_size,
    });
    if english {
        config["forced_decoder_ids"] = json!([[1, no_timestamps]]);
    }
    config
}

/// A converted model: the bytes of `model.safetensors` and of `config.json`.
#[derive(Debug)]
pub struct Converted {
    pub safetensors: Vec<u8>,
    pub config_json: Vec<u8>,
    pub tensor_count: usize,
    pub dims: WhisperDims,
}

/// Converts the bytes of a CTranslate2 `model.bin` (and its optional `config.json`).
pub fn convert(model_bin: &[u8], ct2_config_json: Option<&[u8]>) -> Result<Converted, Ct2Error> {
    let model = parse(model_bin)?;
    let tensors = hf_tensors(&model)?;
    let dims = dims(&model, &tensors)?;
    let ct2_config = ct2_config_json
        .map(serde_json::from_slice::<Value>)
        .transpose()?;
    let config = hf_config(&dims, ct2_config.as_ref());
    let mut config_json = serde_json::to_vec_pretty(&config)?;
    config_json.push(b'\n');
    let mut views = BTreeMap::new();
    for t in &tensors {
        views.insert(
            t.name.clone(),
            TensorView::new(t.dtype, t.shape.clone(), t.data)?,
        );
    }
    let info = HashMap::from([("format".to_owned(), "pt".to_owned())]);
    let safetensors = safetensors::serialize(views, Some(info))?;
    Ok(Converted {
        safetensors,
        config_json,
        tensor_count: tensors.len(),
        dims,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::f16;

    /// Writes a CTranslate2 `model.bin` the way CTranslate2 does.
    #[derive(Default)]
    struct Writer {
        vars: Vec<(String, Vec<u32>, u8, Vec<u8>)>,
        aliases: Vec<(String, String)>,
    }

    fn put_string(out: &mut Vec<u8>, s: &str) {
        out.extend((s.len() as u16 + 1).to_le_bytes());
        out.extend(s.as_bytes());
        out.push(0);
    }

    impl Writer {
        fn f16(&mut self, name: &str, shape: &[u32], values: &[f32]) {
            let data = values
                .iter()
                .flat_map(|v| f16::from_f32(*v).to_le_bytes())
                .collect();
            self.vars.push((name.into(), shape.to_vec(), 4, data));
        }

        fn f32(&mut self, name: &str, shape: &[u32], values: &[f32]) {
            let data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            self.vars.push((name.into(), shape.to_vec(), 0, data));
        }

        fn i16_scalar(&mut self, name: &str, value: i16) {
            self.vars
                .push((name.into(), vec![], 2, value.to_le_bytes().to_vec()));
        }

        fn bytes(&self) -> Vec<u8> {
            let mut out = Vec::new();
            out.extend(6u32.to_le_bytes());
            put_string(&mut out, "WhisperSpec");
            out.extend(3u32.to_le_bytes());
            out.extend((self.vars.len() as u32).to_le_bytes());
            for (name, shape, dtype, data) in &self.vars {
                put_string(&mut out, name);
                out.push(shape.len() as u8);
                for d in shape {
                    out.extend(d.to_le_bytes());
                }
                out.push(*dtype);
                out.extend((data.len() as u32).to_le_bytes());
                out.extend(data);
            }
            out.extend((self.aliases.len() as u32).to_le_bytes());
            for (alias, target) in &self.aliases {
                put_string(&mut out, alias);
                put_string(&mut out, target);
            }
            out
        }
    }

    fn seq(n: usize, start: f32) -> Vec<f32> {
        (0..n).map(|i| start + i as f32).collect()
    }

    /// A two-layer-free miniature Whisper: d_model 4, 2 mels, 1 layer each side, vocab 6.
    fn tiny_model() -> Writer {
        let mut w = Writer::default();
        w.i16_scalar("encoder/num_heads", 2);
        w.i16_scalar("decoder/num_heads", 2);
        w.vars
            .push(("decoder/activation".into(), vec![], 1, vec![3]));
        w.f32("encoder/conv1/weight", &[4, 2, 3], &seq(24, 0.0));
        w.f32("encoder/conv1/bias", &[4], &seq(4, 0.0));
        w.f16(
            "encoder/position_encodings/encodings",
            &[5, 4],
            &seq(20, 0.0),
        );
        // Fused Q|K|V rows: q = 0..16, k = 16..32, v = 32..48; K bias zero.
        w.f16(
            "encoder/layer_0/self_attention/linear_0/weight",
            &[12, 4],
            &seq(48, 0.0),
        );
        let mut qkv_bias = seq(12, 1.0);
        qkv_bias[4..8].fill(0.0);
        w.f16(
            "encoder/layer_0/self_attention/linear_0/bias",
            &[12],
            &qkv_bias,
        );
        w.f16(
            "encoder/layer_0/ffn/linear_0/weight",
            &[8, 4],
            &seq(32, 0.0),
        );
        w.f16("encoder/layer_norm/gamma", &[4], &[1.0; 4]);
        w.f16("decoder/embeddings/weight", &[6, 4], &seq(24, 0.0));
        w.f16(
            "decoder/position_encodings/encodings",
            &[3, 4],
            &seq(12, 0.0),
        );
        // Fused cross-attention K|V: k = rows 0..4, v = rows 4..8.
        w.f16(
            "decoder/layer_0/attention/linear_1/weight",
            &[8, 4],
            &seq(32, 100.0),
        );
        let mut kv_bias = seq(8, 1.0);
        kv_bias[..4].fill(0.0);
        w.f16("decoder/layer_0/attention/linear_1/bias", &[8], &kv_bias);
        w.f16("decoder/layer_0/attention/layer_norm/beta", &[4], &[0.5; 4]);
        w.f16(
            "decoder/layer_0/ffn/linear_0/weight",
            &[8, 4],
            &seq(32, 0.0),
        );
        w.aliases.push((
            "decoder/projection/weight".into(),
            "decoder/embeddings/weight".into(),
        ));
        w
    }

    fn f16s(data: &[u8]) -> Vec<f32> {
        data.chunks(2)
            .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect()
    }

    fn find<'a>(tensors: &'a [HfTensor<'a>], name: &str) -> &'a HfTensor<'a> {
        tensors
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    }

    #[test]
    fn parses_header_variables_and_aliases() {
        let bytes = tiny_model().bytes();
        let model = parse(&bytes).unwrap();
        assert_eq!(model.spec, "WhisperSpec");
        assert_eq!(model.revision, 3);
        assert_eq!(model.variables.len(), 16);
        assert_eq!(model.variables[3].shape, vec![4, 2, 3]);
        assert_eq!(model.variables[3].dtype, Ct2Dtype::F32);
        assert_eq!(
            model.aliases,
            vec![(
                "decoder/projection/weight".to_owned(),
                "decoder/embeddings/weight".to_owned()
            )]
        );
    }

    #[test]
    fn splits_fused_self_attention_into_q_k_v() {
        let bytes = tiny_model().bytes();
        let model = parse(&bytes).unwrap();
        let t = hf_tensors(&model).unwrap();
        let p = "model.encoder.layers.0.self_attn";
        let q = find(&t, &format!("{p}.q_proj.weight"));
        let k = find(&t, &format!("{p}.k_proj.weight"));
        let v = find(&t, &format!("{p}.v_proj.weight"));
        assert_eq!(q.shape, vec![4, 4]);
        assert_eq!(q.dtype, Dtype::F16);
        assert_eq!(f16s(q.data), seq(16, 0.0));
        assert_eq!(f16s(k.data), seq(16, 16.0));
        assert_eq!(f16s(v.data), seq(16, 32.0));
        assert_eq!(
            f16s(find(&t, &format!("{p}.q_proj.bias")).data),
            seq(4, 1.0)
        );
        assert_eq!(
            f16s(find(&t, &format!("{p}.v_proj.bias")).data),
            seq(4, 9.0)
        );
        assert!(t.iter().all(|x| x.name != format!("{p}.k_proj.bias")));
    }

    #[test]
    fn splits_fused_cross_attention_into_k_v() {
        let bytes = tiny_model().bytes();
        let model = parse(&bytes).unwrap();
        let t = hf_tensors(&model).unwrap();
        let p = "model.decoder.layers.0.encoder_attn";
        assert_eq!(
            f16s(find(&t, &format!("{p}.k_proj.weight")).data),
            seq(16, 100.0)
        );
        assert_eq!(
            f16s(find(&t, &format!("{p}.v_proj.weight")).data),
            seq(16, 116.0)
        );
        assert_eq!(
            f16s(find(&t, &format!("{p}.v_proj.bias")).data),
            seq(4, 5.0)
        );
        assert!(t.iter().all(|x| x.name != format!("{p}.k_proj.bias")));
        let norm = find(&t, "model.decoder.layers.0.encoder_attn_layer_norm.bias");
        assert_eq!(f16s(norm.data), vec![0.5; 4]);
    }

    #[test]
    fn renames_keeps_f32_skips_settings_and_ties_the_projection() {
        let bytes = tiny_model().bytes();
        let model = parse(&bytes).unwrap();
        let t = hf_tensors(&model).unwrap();
        let conv = find(&t, "model.encoder.conv1.weight");
        assert_eq!(
            (conv.dtype, conv.shape.clone()),
            (Dtype::F32, vec![4, 2, 3])
        );
        let floats: Vec<f32> = conv
            .data
            .chunks(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(floats, seq(24, 0.0));
        find(&t, "model.encoder.embed_positions.weight");
        find(&t, "model.decoder.embed_positions.weight");
        find(&t, "model.encoder.layer_norm.weight");
        find(&t, "model.encoder.layers.0.fc1.weight");
        find(&t, EMBED_TOKENS);
        assert!(t.iter().all(|x| !x.name.contains("num_heads")
            && !x.name.contains("activation")
            && x.name != TIED_OUTPUT_PROJECTION));
    }

    #[test]
    fn an_alias_that_is_not_tied_is_written_as_a_copy() {
        let mut w = tiny_model();
        w.aliases.push((
            "encoder/layer_norm/beta".into(),
            "encoder/layer_norm/gamma".into(),
        ));
        let bytes = w.bytes();
        let t = hf_tensors(&parse(&bytes).unwrap()).unwrap();
        assert_eq!(
            f16s(find(&t, "model.encoder.layer_norm.bias").data),
            vec![1.0; 4]
        );
    }

    #[test]
    fn config_and_safetensors_describe_the_model() {
        let bytes = tiny_model().bytes();
        let ct2_config = br#"{"suppress_ids": [1, 2], "suppress_ids_begin": [220]}"#;
        let out = convert(&bytes, Some(ct2_config)).unwrap();
        let config: Value = serde_json::from_slice(&out.config_json).unwrap();
        assert_eq!(config["d_model"], 4);
        assert_eq!(config["num_mel_bins"], 2);
        assert_eq!(config["encoder_layers"], 1);
        assert_eq!(config["encoder_attention_heads"], 2);
        assert_eq!(config["vocab_size"], 6);
        assert_eq!(config["max_source_positions"], 5);
        assert_eq!(config["max_target_positions"], 3);
        assert_eq!(config["suppress_tokens"], json!([1, 2]));
        assert_eq!(config["begin_suppress_tokens"], json!([220]));
        let st = safetensors::SafeTensors::deserialize(&out.safetensors).unwrap();
        assert_eq!(st.len(), out.tensor_count);
        let q = st
            .tensor("model.encoder.layers.0.self_attn.q_proj.weight")
            .unwrap();
        assert_eq!(q.shape(), &[4, 4]);
        assert_eq!(f16s(q.data()), seq(16, 0.0));
    }

    #[test]
    fn rejects_bad_input() {
        let bytes = tiny_model().bytes();
        for cut in [0, 3, 10, 40, bytes.len() - 1] {
            assert!(parse(&bytes[..cut]).is_err(), "truncated at {cut}");
        }
        let mut w = tiny_model();
        let mut bias = seq(12, 1.0);
        bias[4] = 3.0;
        w.f16("encoder/layer_0/self_attention/linear_0/bias", &[12], &bias);
        let bytes = w.bytes();
        let err = hf_tensors(&parse(&bytes).unwrap()).unwrap_err();
        assert!(matches!(err, Ct2Error::NonZeroKeyBias(_)), "{err}");
        let mut w = tiny_model();
        w.f16("encoder/something_new/weight", &[4], &[0.0; 4]);
        let bytes = w.bytes();
        let err = hf_tensors(&parse(&bytes).unwrap()).unwrap_err();
        assert!(matches!(err, Ct2Error::UnknownVariable(_)), "{err}");
        let mut w = tiny_model();
        w.vars
            .push(("encoder/conv2/weight".into(), vec![4], 1, vec![0; 4]));
        let bytes = w.bytes();
        let err = hf_tensors(&parse(&bytes).unwrap()).unwrap_err();
        assert!(
            matches!(err, Ct2Error::UnsupportedWeightDtype { .. }),
            "{err}"
        );
    }

    #[test]
    fn a_variable_of_the_wrong_rank_is_an_error_not_a_panic() {
        // Rank-1 token embeddings panicked on `embed[1]`.
        let mut w = tiny_model();
        for var in &mut w.vars {
            if var.0 == "decoder/embeddings/weight" {
                var.1 = vec![24];
            }
        }
        let err = convert(&w.bytes(), None).unwrap_err();
        assert!(matches!(err, Ct2Error::BadRank { rank: 2, .. }), "{err}");
    }

    #[test]
    fn two_tensors_of_one_name_are_an_error() {
        // Found by `aliases_convert_or_fail_clearly`: the alias silently replaced the variable.
        let mut w = tiny_model();
        w.aliases.push((
            "encoder/conv1/weight".into(),
            "decoder/layer_0/attention/linear_1/bias".into(),
        ));
        let err = convert(&w.bytes(), None).unwrap_err();
        assert!(matches!(err, Ct2Error::Duplicate(_)), "{err}");
    }

    #[test]
    fn many_aliases_of_one_variable_are_refused() {
        let mut w = tiny_model();
        for i in 0..20 {
            w.aliases.push((
                format!("encoder/layer_{i}/ffn/linear_1/weight"),
                "encoder/conv1/weight".into(),
            ));
        }
        let err = convert(&w.bytes(), None).unwrap_err();
        assert!(matches!(err, Ct2Error::TooManyCopies { .. }), "{err}");
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;
        use crate::fuzzing;

        /// Names the converter maps, to aim aliases and renamed variables at.
        const NAMES: [&str; 8] = [
            "decoder/embeddings/weight",
            "decoder/projection/weight",
            "encoder/conv1/weight",
            "encoder/conv2/bias",
            "encoder/layer_0/ffn/linear_0/weight",
            "encoder/layer_7/self_attention/linear_0/weight",
            "decoder/layer_0/attention/linear_1/bias",
            "decoder/position_encodings/encodings",
        ];

        /// What converting any bytes must lead to: safetensors that read back, with no more
        /// data than twice the model's own, or an error that says what is wrong.
        fn check_converted(bytes: &[u8]) -> Result<(), TestCaseError> {
            match convert(bytes, None) {
                Ok(out) => {
                    let st = safetensors::SafeTensors::deserialize(&out.safetensors)
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert_eq!(st.len(), out.tensor_count);
                    let written: usize = st.tensors().iter().map(|(_, t)| t.data().len()).sum();
                    let stored: usize = parse(bytes)
                        .map_err(|e| TestCaseError::fail(e.to_string()))?
                        .variables
                        .iter()
                        .map(|v| v.data.len())
                        .sum();
                    prop_assert!(
                        written <= 2 * stored,
                        "{written} bytes written from {stored}"
                    );
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
            Ok(())
        }

        /// Dimensions of any rank, and data of the size they need.
        fn reshaped() -> impl Strategy<Value = (Vec<u32>, u8)> {
            (
                proptest::collection::vec(0u32..7, 0..5),
                prop_oneof![Just(0u8), Just(4), 0u8..8],
            )
        }

        proptest! {
            #![proptest_config(fuzzing::config(512))]

            #[test]
            fn mutated_models_convert_or_fail_clearly(bytes in fuzzing::mutated(tiny_model().bytes())) {
                check_converted(&bytes)?;
            }

            #[test]
            fn variables_of_any_shape_convert_or_fail_clearly(
                which in any::<proptest::sample::Index>(),
                rename in proptest::option::of(proptest::sample::select(NAMES.to_vec())),
                (shape, dtype) in reshaped(),
            ) {
                let mut w = tiny_model();
                let i = which.index(w.vars.len());
                let size = Ct2Dtype::from_code(dtype).map_or(1, Ct2Dtype::size);
                let elements: usize = shape.iter().map(|&d| d as usize).product();
                let var = &mut w.vars[i];
                if let Some(name) = rename {
                    var.0 = name.to_owned();
                }
                var.1 = shape;
                var.2 = dtype;
                var.3 = vec![0; elements * size];
                check_converted(&w.bytes())?;
            }

            #[test]
            fn aliases_convert_or_fail_clearly(
                aliases in proptest::collection::vec(
                    (
                        prop_oneof![
                            proptest::sample::select(NAMES.to_vec()).prop_map(str::to_owned),
                            (0u32..1000).prop_map(|i| format!("encoder/layer_{i}/ffn/linear_1/weight")),
                        ],
                        prop_oneof![
                            proptest::sample::select(NAMES.to_vec()).prop_map(str::to_owned),
                            "\\PC{0,12}",
                        ],
                    ),
                    0..64,
                )
            ) {
                let mut w = tiny_model();
                w.aliases.extend(aliases);
                check_converted(&w.bytes())?;
            }

            /// The reader the Whisper model loads its weights with, on a damaged converted file.
            #[test]
            fn damaged_safetensors_are_read_or_refused(
                bytes in fuzzing::mutated(
                    convert(&tiny_model().bytes(), None)
                        .map(|c| c.safetensors)
                        .unwrap_or_default()
                )
            ) {
                match candle_core::safetensors::load_buffer(&bytes, &candle_core::Device::Cpu) {
                    Ok(tensors) => {
                        let total: usize = tensors.values().map(|t| t.elem_count()).sum();
                        prop_assert!(total <= bytes.len());
                    }
                    Err(e) => prop_assert!(!e.to_string().is_empty()),
                }
            }
        }
    }
}
