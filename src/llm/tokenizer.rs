//! A byte-level BPE tokenizer built from GGUF metadata (`tokenizer.ggml.*`).
//!
//! Encoding runs the `tokenizers` crate's BPE with the pre-tokenizer the file's
//! `tokenizer.ggml.pre` names. Decoding maps each token back to its raw bytes, so streamed
//! text can be cut at character boundaries (see [`Utf8Stream`]).

use std::collections::HashMap;

use candle_core::quantized::gguf_file::Value;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{PreTokenizerWrapper, SplitDelimiterBehavior};

use super::LlmError;

/// llama.cpp's token types: 3 is a control token, 4 a user-defined one. Both are matched
/// whole in text when special tokens are parsed and never shown as text.
const CONTROL: i32 = 3;
const USER_DEFINED: i32 = 4;

const QWEN2_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const LLAMA3_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    /// Raw bytes of each token; empty for special tokens.
    bytes: Vec<Vec<u8>>,
    /// Special tokens' text and id, longest first so that matching prefers the longest.
    specials: Vec<(String, u32)>,
    eos: Option<u32>,
    vocab: HashMap<String, u32>,
}

impl Tokenizer {
    pub fn from_metadata(metadata: &HashMap<String, Value>) -> Result<Self, LlmError> {
        let get = |key: &str| {
            metadata
                .get(key)
                .ok_or_else(|| LlmError::Tokenizer(format!("GGUF metadata has no {key}")))
        };
        let bad =
            |key: &str| LlmError::Tokenizer(format!("GGUF metadata {key} has the wrong type"));
        let model = get("tokenizer.ggml.model")?
            .to_string()
            .map_err(|_| bad("tokenizer.ggml.model"))?;
        if model != "gpt2" {
            return Err(LlmError::Tokenizer(format!(
                "tokenizer model `{model}` is not supported (only byte-level BPE, `gpt2`)"
            )));
        }
        let strings = |key: &str| -> Result<Vec<String>, LlmError> {
            get(key)?
                .to_vec()
                .map_err(|_| bad(key))?
                .iter()
                .map(|v| v.to_string().cloned().map_err(|_| bad(key)))
                .collect()
        };
        let tokens = strings("tokenizer.ggml.tokens")?;
        let merges = strings("tokenizer.ggml.merges")?;
        let types: Vec<i32> = match metadata.get("tokenizer.ggml.token_type") {
            Some(v) => v
                .to_vec()
                .map_err(|_| bad("tokenizer.ggml.token_type"))?
                .iter()
                .map(|t| t.to_i32().map_err(|_| bad("tokenizer.ggml.token_type")))
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let pre = match metadata.get("tokenizer.ggml.pre") {
            Some(v) => v
                .to_string()
                .map_err(|_| bad("tokenizer.ggml.pre"))?
                .as_str(),
            None => "default",
        };
        let eos = metadata
            .get("tokenizer.ggml.eos_token_id")
            .and_then(|v| v.to_u32().ok());

        let vocab: HashMap<String, u32> = tokens
            .iter()
            .enumerate()
            .map(|(id, token)| (token.clone(), id as u32))
            .collect();
        let merges = merges
            .iter()
            .map(|merge| {
                merge
                    .split_once(' ')
                    .map(|(a, b)| (a.to_owned(), b.to_owned()))
                    .ok_or_else(|| LlmError::Tokenizer(format!("malformed merge `{merge}`")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let bpe_vocab: Vocab = vocab.iter().map(|(k, v)| (k.clone(), *v)).collect();
        let bpe = BPE::builder()
            .vocab_and_merges(bpe_vocab, merges)
            .build()
            .map_err(|e| LlmError::Tokenizer(format!("building BPE: {e}")))?;
        let mut inner = tokenizers::Tokenizer::new(bpe);
        inner.with_pre_tokenizer(Some(pre_tokenizer(pre)?));

        let is_special = |id: usize| matches!(types.get(id), Some(&CONTROL | &USER_DEFINED));
        let unicode_to_byte = byte_level_decoding();
        let bytes = tokens
            .iter()
            .enumerate()
            .map(|(id, token)| {
                if is_special(id) {
                    return Vec::new();
                }
                let mut out = Vec::with_capacity(token.len());
                for c in token.chars() {
                    match unicode_to_byte.get(&c) {
                        Some(b) => out.push(*b),
                        None => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
                    }
                }
                out
            })
            .collect();
        let mut specials: Vec<(String, u32)> = tokens
            .iter()
            .enumerate()
            .filter(|(id, _)| is_special(*id))
            .map(|(id, token)| (token.clone(), id as u32))
            .collect();
        specials.sort_by_key(|(text, _)| std::cmp::Reverse(text.len()));
        Ok(Self {
            inner,
            bytes,
            specials,
            eos,
            vocab,
        })
    }

    pub fn vocab_size(&self) -> usize {
        self.bytes.len()
    }

    pub fn eos(&self) -> Option<u32> {
        self.eos
    }

    /// The id of a token given its exact text, such as `<|im_end|>`.
    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.vocab.get(text).copied()
    }

    pub fn is_special(&self, id: u32) -> bool {
        self.specials.iter().any(|(_, s)| *s == id)
    }

    /// Encodes plain text: special-token text such as `<|im_end|>` is tokenized as ordinary
    /// characters, so user input cannot forge turns.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, LlmError> {
        if text.is_empty() {
            return Ok(Vec::new());
        }
        let encoding = self
            .inner
            .encode_fast(text, false)
            .map_err(|e| LlmError::Tokenizer(format!("encoding: {e}")))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Encodes text in which special tokens written out (`<|im_start|>`…) become their ids,
    /// like llama.cpp's tokenizer with `parse_special`.
    pub fn encode_with_specials(&self, text: &str) -> Result<Vec<u32>, LlmError> {
        let mut ids = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let next = self
                .specials
                .iter()
                .filter_map(|(s, id)| rest.find(s.as_str()).map(|at| (at, s.len(), *id)))
                .min_by_key(|(at, _, _)| *at);
            match next {
                Some((at, len, id)) => {
                    ids.extend(self.encode(&rest[..at])?);
                    ids.push(id);
                    rest = &rest[at + len..];
                }
                None => {
                    ids.extend(self.encode(rest)?);
                    rest = "";
                }
            }
        }
        Ok(ids)
    }

    /// The raw bytes a token stands for (empty for special tokens and unknown ids).
    pub fn token_bytes(&self, id: u32) -> &[u8] {
        self.bytes.get(id as usize).map_or(&[], Vec::as_slice)
    }

    /// Decodes tokens to text, skipping special tokens; invalid UTF-8 becomes U+FFFD.
    pub fn decode(&self, ids: &[u32]) -> String {
        let bytes: Vec<u8> = ids
            .iter()
            .flat_map(|id| self.token_bytes(*id).iter().copied())
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

fn pre_tokenizer(pre: &str) -> Result<PreTokenizerWrapper, LlmError> {
    let byte_level = |use_regex| ByteLevel::new(false, true, use_regex).into();
    let regex_then_bytes = |pattern: &str| -> Result<PreTokenizerWrapper, LlmError> {
        let split = Split::new(
            SplitPattern::Regex(pattern.to_owned()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map_err(|e| LlmError::Tokenizer(format!("pre-tokenizer regex: {e}")))?;
        Ok(Sequence::new(vec![split.into(), byte_level(false)]).into())
    };
    match pre {
        // Digits one by one, then GPT-2's split without a prefix space (the HF tokenizer's
        // own definition for SmolLM; candle's GGUF tokenizer misses the digit split).
        "smollm" => Ok(Sequence::new(vec![Digits::new(true).into(), byte_level(true)]).into()),
        "default" | "gpt2" => Ok(byte_level(true)),
        "qwen2" => regex_then_bytes(QWEN2_PATTERN),
        "llama-bpe" | "llama3" => regex_then_bytes(LLAMA3_PATTERN),
        other => Err(LlmError::Tokenizer(format!(
            "pre-tokenizer `{other}` is not supported (smollm, gpt2, qwen2, llama-bpe)"
        ))),
    }
}

/// The inverse of GPT-2's byte-to-character table: printable bytes stand for themselves,
/// the other 68 are shifted to U+0100 and up, in byte order.
fn byte_level_decoding() -> HashMap<char, u8> {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let mut shifted = 0u32;
    (0..=255u8)
        .map(|b| {
            if printable(b) {
                (char::from(b), b)
            } else {
                let c = char::from_u32(256 + shifted).unwrap_or(char::REPLACEMENT_CHARACTER);
                shifted += 1;
                (c, b)
            }
        })
        .collect()
}

/// Turns a stream of token bytes into text deltas that never split a character.
#[derive(Debug, Default)]
pub struct Utf8Stream {
    pending: Vec<u8>,
}

impl Utf8Stream {
    /// Adds bytes and returns the text completed so far; an incomplete trailing character
    /// waits for the next bytes, invalid bytes become U+FFFD.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(text) => {
                    out.push_str(text);
                    self.pending.clear();
                    return out;
                }
                Err(error) => {
                    let valid = error.valid_up_to();
                    out.push_str(&String::from_utf8_lossy(&self.pending[..valid]));
                    match error.error_len() {
                        None => {
                            self.pending.drain(..valid);
                            return out;
                        }
                        Some(len) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            self.pending.drain(..valid + len);
                        }
                    }
                }
            }
        }
    }

    /// Flushes what is left (an unfinished character becomes U+FFFD).
    pub fn finish(&mut self) -> String {
        let out = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_table_covers_every_byte_once() {
        let table = byte_level_decoding();
        assert_eq!(table.len(), 256);
        assert_eq!(table.get(&'Ġ'), Some(&b' '));
        assert_eq!(table.get(&'Ċ'), Some(&b'\n'));
        assert_eq!(table.get(&'a'), Some(&b'a'));
    }

    #[test]
    fn utf8_stream_never_splits_a_character() {
        let text = "né 🙂 ok";
        let mut stream = Utf8Stream::default();
        let mut out = String::new();
        for byte in text.as_bytes() {
            let delta = stream.push(std::slice::from_ref(byte));
            assert!(!delta.contains(char::REPLACEMENT_CHARACTER));
            out.push_str(&delta);
        }
        out.push_str(&stream.finish());
        assert_eq!(out, text);
    }

    #[test]
    fn utf8_stream_replaces_invalid_bytes() {
        let mut stream = Utf8Stream::default();
        assert_eq!(stream.push(b"a\xFFb"), "a\u{FFFD}b");
        assert_eq!(stream.push(b"\xE2\x82"), "");
        assert_eq!(stream.finish(), "\u{FFFD}");
    }
}
