//! Reading a GGUF file's header with the checks candle's reader leaves out, so that a damaged
//! or hostile file is an error: never a panic, and never a tensor whose size or place the file
//! cannot hold.

use std::io::{Read, Seek, SeekFrom};
use std::panic::{catch_unwind, AssertUnwindSafe};

use candle_core::quantized::gguf_file::{Content, TensorInfo};
use candle_core::{Error, Result};

/// Reads the metadata and tensor table of the GGUF file in `reader` (from its current
/// position), and checks that every tensor lies whole inside the file.
pub fn read_gguf_header<R: Read + Seek>(reader: &mut R) -> Result<Content> {
    let start = reader.stream_position()?;
    let end = reader.seek(SeekFrom::End(0))?;
    reader.seek(SeekFrom::Start(start))?;
    // candle 0.11 rounds the tensor data offset up to `general.alignment` without checking
    // it, and an alignment of 0 divides by zero. A panic in the parser is a file we cannot
    // read, not a crashed process.
    let content = catch_unwind(AssertUnwindSafe(|| Content::read(reader)))
        .map_err(|_| Error::Msg("malformed GGUF header (general.alignment 0?)".into()))??;
    for (name, info) in &content.tensor_infos {
        let size = tensor_bytes(info).ok_or_else(|| {
            Error::Msg(format!(
                "tensor {name}: shape {:?} is empty or not a whole number of {:?} blocks",
                info.shape, info.ggml_dtype
            ))
        })?;
        let inside = content
            .tensor_data_offset
            .checked_add(info.offset)
            .and_then(|at| at.checked_add(size))
            .is_some_and(|tensor_end| tensor_end <= end);
        if !inside {
            return Err(Error::Msg(format!(
                "tensor {name}: {size} bytes at offset {} lie beyond the end of the file",
                info.offset
            )));
        }
    }
    Ok(content)
}

/// The bytes a tensor takes in the file; `None` when its element count overflows (candle would
/// multiply unchecked), is not a whole number of blocks, or is zero (candle casts an empty
/// buffer's dangling pointer to the block type, which is misaligned: an abort in debug builds).
fn tensor_bytes(info: &TensorInfo) -> Option<u64> {
    let elements = info
        .shape
        .dims()
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(u64::try_from(d).ok()?))?;
    let block = u64::try_from(info.ggml_dtype.block_size()).ok()?;
    if elements == 0 || block == 0 || elements % block != 0 {
        return None;
    }
    (elements / block).checked_mul(u64::try_from(info.ggml_dtype.type_size()).ok()?)
}
