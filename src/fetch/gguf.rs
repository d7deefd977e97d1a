//! Re-quantising a GGUF file's Q4_1 and k-quant tensors to Q8_0: candle 0.11 has no SIMD
//! kernel for Q4_1, so a Q4_1 model runs about three times slower than the same model in Q8_0,
//! and viva's own kernels (`viva-kernels`) run Q8_0 matmuls only.

use std::io::Cursor;

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::Device;

/// llama.cpp's `general.file_type` codes for "mostly Q4_1" and "mostly Q8_0".
const FILE_TYPE_Q4_1: u32 = 3;
const FILE_TYPE_Q8_0: u32 = 7;

#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    #[error("reading or writing GGUF: {0}")]
    Candle(#[from] candle_core::Error),
    #[error("the GGUF file asks for {0}-byte alignment; only the default 32 can be rewritten")]
    Alignment(u64),
}

/// What the re-quantisation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requantized {
    pub bytes: Vec<u8>,
    pub converted: usize,
    pub kept: usize,
}

/// Reads a GGUF file's bytes and returns a GGUF file with every Q4_1 tensor re-quantised to
/// Q8_0; other tensors and all metadata are kept (`general.file_type` is updated to match).
pub fn requantize_q4_1_to_q8_0(src: &[u8]) -> Result<Requantized, GgufError> {
    requantize_to_q8_0(src, &[GgmlDType::Q4_1])
}

/// The k-quant types llama.cpp's Q4_K_M files mix.
pub const K_QUANTS: [GgmlDType; 4] = [
    GgmlDType::Q4K,
    GgmlDType::Q5K,
    GgmlDType::Q6K,
    GgmlDType::Q8K,
];

/// Like [`requantize_q4_1_to_q8_0`], for every tensor of one of the types `from` (rows whose
/// length is not a multiple of Q8_0's 32-value block are kept as they are).
pub fn requantize_to_q8_0(src: &[u8], from: &[GgmlDType]) -> Result<Requantized, GgufError> {
    let mut reader = Cursor::new(src);
    let content = crate::llm::read_gguf_header(&mut reader)?;
    if let Some(v) = content.metadata.get("general.alignment") {
        let alignment = v.to_u64().or_else(|_| v.to_u32().map(u64::from))?;
        if alignment != gguf_file::DEFAULT_ALIGNMENT {
            return Err(GgufError::Alignment(alignment));
        }
    }
    let cpu = Device::Cpu;
    // Keep the original tensor order (the file's data order) so the output is deterministic.
    let mut names: Vec<(&String, u64)> = content
        .tensor_infos
        .iter()
        .map(|(name, info)| (name, info.offset))
        .collect();
    names.sort_by_key(|&(name, offset)| (offset, name.clone()));
    let mut tensors = Vec::with_capacity(names.len());
    let (mut converted, mut kept) = (0, 0);
    for (name, _) in names {
        let tensor = content.tensor(&mut reader, name, &cpu)?;
        let row = tensor.shape().dims().last().copied().unwrap_or(0);
        let tensor = if from.contains(&tensor.dtype()) && row % 32 == 0 {
            converted += 1;
            QTensor::quantize(&tensor.dequantize(&cpu)?, GgmlDType::Q8_0)?
        } else {
            kept += 1;
            tensor
        };
        tensors.push((name.as_str(), tensor));
    }

    let mut metadata: Vec<(&str, Value)> = content
        .metadata
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    metadata.sort_by(|a, b| a.0.cmp(b.0));
    for (key, value) in &mut metadata {
        let was_q4_1 = value.to_u32().ok() == Some(FILE_TYPE_Q4_1);
        if *key == "general.file_type"
            && (was_q4_1 || (converted > 0 && kept_quantized_none(&tensors)))
        {
            *value = Value::U32(FILE_TYPE_Q8_0);
        }
    }
    let metadata_refs: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let tensor_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, t)| (*k, t)).collect();
    let mut out = Cursor::new(Vec::with_capacity(src.len() * 2));
    gguf_file::write(&mut out, &metadata_refs, &tensor_refs)?;
    Ok(Requantized {
        bytes: out.into_inner(),
        converted,
        kept,
    })
}

/// Whether no tensor is left in a quantized type other than Q8_0 (only then is the file
/// "mostly Q8_0").
fn kept_quantized_none(tensors: &[(&str, QTensor)]) -> bool {
    tensors
        .iter()
        .all(|(_, t)| matches!(t.dtype(), GgmlDType::Q8_0 | GgmlDType::F32 | GgmlDType::F16))
}

#[cfg(test)]
mod tests {
    use candle_core::Tensor;
    use proptest::prelude::*;

    use super::*;
    use crate::fuzzing;

    /// A small valid Q4_1 GGUF file written by candle: two tensors and a few metadata types.
    fn small_q4_1_file() -> Vec<u8> {
        let ramp = Tensor::arange(0f32, 64.0, &Device::Cpu)
            .and_then(|t| t.reshape((2, 32)))
            .and_then(|t| QTensor::quantize(&t, GgmlDType::Q4_1))
            .unwrap_or_else(|e| panic!("{e}"));
        let norm = Tensor::ones(4, candle_core::DType::F32, &Device::Cpu)
            .and_then(|t| QTensor::quantize(&t, GgmlDType::F32))
            .unwrap_or_else(|e| panic!("{e}"));
        let metadata = [
            ("general.alignment", Value::U32(32)),
            ("general.file_type", Value::U32(FILE_TYPE_Q4_1)),
            ("general.name", Value::String("tiny".into())),
            (
                "tokenizer.ggml.scores",
                Value::Array(vec![Value::F32(0.5); 3]),
            ),
        ];
        let metadata: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
        let mut out = Cursor::new(Vec::new());
        gguf_file::write(&mut out, &metadata, &[("blk.0.w", &ramp), ("norm", &norm)])
            .unwrap_or_else(|e| panic!("{e}"));
        out.into_inner()
    }

    /// A GGUF header written field by field, so any field can hold anything.
    #[derive(Debug, Clone)]
    struct RawGguf {
        version: u32,
        declared_tensors: Option<u64>,
        declared_metadata: Option<u64>,
        alignment: Option<u32>,
        /// (declared length, bytes) of a string value.
        name: Option<(u64, Vec<u8>)>,
        /// (element type, declared length, bytes) of an array value.
        array: Option<(u32, u64, Vec<u8>)>,
        tensors: Vec<RawTensor>,
        data: Vec<u8>,
    }

    #[derive(Debug, Clone)]
    struct RawTensor {
        dims: Vec<u64>,
        dtype: u32,
        offset: u64,
    }

    impl RawGguf {
        fn length(&self, out: &mut Vec<u8>, n: u64) {
            if self.version == 1 {
                out.extend((n as u32).to_le_bytes());
            } else {
                out.extend(n.to_le_bytes());
            }
        }

        fn string(&self, out: &mut Vec<u8>, s: &str) {
            self.length(out, s.len() as u64);
            out.extend(s.as_bytes());
        }

        fn bytes(&self) -> Vec<u8> {
            let mut out = b"GGUF".to_vec();
            out.extend(self.version.to_le_bytes());
            let metadata = usize::from(self.alignment.is_some())
                + usize::from(self.name.is_some())
                + usize::from(self.array.is_some());
            let tensors = self.tensors.len() as u64;
            self.length(&mut out, self.declared_tensors.unwrap_or(tensors));
            self.length(&mut out, self.declared_metadata.unwrap_or(metadata as u64));
            if let Some(alignment) = self.alignment {
                self.string(&mut out, "general.alignment");
                out.extend(4u32.to_le_bytes()); // u32
                out.extend(alignment.to_le_bytes());
            }
            if let Some((len, bytes)) = &self.name {
                self.string(&mut out, "general.name");
                out.extend(8u32.to_le_bytes()); // string
                self.length(&mut out, *len);
                out.extend(bytes);
            }
            if let Some((kind, len, bytes)) = &self.array {
                self.string(&mut out, "tokenizer.ggml.tokens");
                out.extend(9u32.to_le_bytes()); // array
                out.extend(kind.to_le_bytes());
                self.length(&mut out, *len);
                out.extend(bytes);
            }
            for (i, tensor) in self.tensors.iter().enumerate() {
                self.string(&mut out, &format!("t{i}"));
                out.extend((tensor.dims.len() as u32).to_le_bytes());
                for &d in &tensor.dims {
                    self.length(&mut out, d);
                }
                out.extend(tensor.dtype.to_le_bytes());
                out.extend(tensor.offset.to_le_bytes());
            }
            out.resize(out.len().next_multiple_of(32), 0);
            out.extend(&self.data);
            out
        }
    }

    fn big() -> impl Strategy<Value = u64> {
        prop_oneof![
            Just(0u64),
            Just(u64::from(u32::MAX)),
            Just(1 << 32),
            Just(1 << 40),
            Just(1 << 62),
            Just(u64::MAX),
            any::<u64>(),
        ]
    }

    fn raw_tensor() -> impl Strategy<Value = RawTensor> {
        (
            proptest::collection::vec(prop_oneof![4 => 1u64..65, 1 => big()], 0..6),
            // F32, F16, Q4_1, Q8_0, an unknown code, anything.
            prop_oneof![
                Just(0u32),
                Just(1),
                Just(3),
                Just(8),
                Just(99),
                any::<u32>()
            ],
            prop_oneof![Just(0u64), Just(32), 0u64..4096, big()],
        )
            .prop_map(|(dims, dtype, offset)| RawTensor {
                dims,
                dtype,
                offset,
            })
    }

    fn raw_gguf() -> impl Strategy<Value = RawGguf> {
        let string = (
            prop_oneof![Just(None), Just(Some(0u64)), big().prop_map(Some)],
            proptest::collection::vec(any::<u8>(), 0..32),
        )
            .prop_map(|(len, bytes)| (len.unwrap_or(bytes.len() as u64), bytes));
        let array = (
            prop_oneof![Just(0u32), Just(8), Just(9), Just(13), any::<u32>()],
            prop_oneof![0u64..64, big()],
            proptest::collection::vec(any::<u8>(), 0..64),
        );
        (
            prop_oneof![4 => Just(3u32), 1 => Just(2), 1 => Just(1), 1 => any::<u32>()],
            proptest::option::weighted(0.2, big()),
            proptest::option::weighted(0.2, big()),
            proptest::option::of(prop_oneof![
                Just(0u32),
                Just(1),
                Just(3),
                Just(32),
                Just(u32::MAX),
                any::<u32>()
            ]),
            proptest::option::of(string),
            proptest::option::of(array),
            proptest::collection::vec(raw_tensor(), 0..4),
            proptest::collection::vec(any::<u8>(), 0..1024),
        )
            .prop_map(
                |(
                    version,
                    declared_tensors,
                    declared_metadata,
                    alignment,
                    name,
                    array,
                    tensors,
                    data,
                )| {
                    RawGguf {
                        version,
                        declared_tensors,
                        declared_metadata,
                        alignment,
                        name,
                        array,
                        tensors,
                        data,
                    }
                },
            )
    }

    /// What re-quantising any bytes must lead to: a GGUF file that reads back, or an error.
    fn check_requantized(bytes: &[u8]) -> Result<(), TestCaseError> {
        match requantize_q4_1_to_q8_0(bytes) {
            Ok(out) => {
                let content = gguf_file::Content::read(&mut Cursor::new(&out.bytes))
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(content.tensor_infos.len(), out.converted + out.kept);
                // Q8_0 takes 34 bytes where Q4_1 takes 20: the output is bounded by the input.
                prop_assert!(out.bytes.len() <= 2 * bytes.len() + 4096);
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
        Ok(())
    }

    #[test]
    fn the_small_file_is_requantized() {
        let out = requantize_q4_1_to_q8_0(&small_q4_1_file()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((out.converted, out.kept), (1, 1));
    }

    fn empty_header() -> RawGguf {
        RawGguf {
            version: 3,
            declared_tensors: None,
            declared_metadata: None,
            alignment: None,
            name: None,
            array: None,
            tensors: Vec::new(),
            data: Vec::new(),
        }
    }

    #[test]
    fn an_alignment_of_zero_is_an_error_not_a_panic() {
        // Found by `any_header_is_requantized_or_refused`: candle divided by it.
        let raw = RawGguf {
            alignment: Some(0),
            ..empty_header()
        };
        let err = requantize_q4_1_to_q8_0(&raw.bytes()).unwrap_err();
        assert!(err.to_string().contains("alignment"), "{err}");
    }

    #[test]
    fn tensors_larger_than_the_file_are_an_error_not_a_panic() {
        // Found by `mutated_files_are_requantized_or_refused`: candle multiplied the dimensions
        // unchecked ("attempt to multiply with overflow").
        // Found by `mutated_files_are_requantized_or_refused` too: an empty tensor aborted the
        // process (candle made a misaligned slice of an empty buffer).
        for dims in [
            vec![1 << 32, 1 << 32, 1 << 8],
            vec![1 << 40, 64],
            vec![64],
            vec![0, 32],
        ] {
            let raw = RawGguf {
                tensors: vec![RawTensor {
                    dims: dims.clone(),
                    dtype: 3,
                    offset: 0,
                }],
                ..empty_header()
            };
            let err = requantize_q4_1_to_q8_0(&raw.bytes()).unwrap_err();
            assert!(err.to_string().contains("t0"), "{dims:?}: {err}");
        }
    }

    proptest! {
        #![proptest_config(fuzzing::config(512))]

        #[test]
        fn mutated_files_are_requantized_or_refused(bytes in fuzzing::mutated(small_q4_1_file())) {
            check_requantized(&bytes)?;
        }

        #[test]
        fn any_header_is_requantized_or_refused(raw in raw_gguf()) {
            check_requantized(&raw.bytes())?;
        }
    }
}
