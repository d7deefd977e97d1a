//! Attention for one new token over a sequence's cached keys and values, on the CPU.
//!
//! Written out because candle's general path costs more in per-operation overhead than in
//! arithmetic here: for a decoding step of SmolLM2-135M (9 query heads over ~160 cached
//! positions, 30 layers) its transpose, two small matrix products, softmax and copies took
//! ~9 ms of a 23 ms token, and a batch of 16 replies pays that 16 times per step. This reads
//! the cache buffers in place: about 0.2 M multiply-adds per layer.

use candle_core::{DType, Result, Storage, Tensor};

use crate::math::{dispatch, simd, softmax_row_portable, Simd};

/// `softmax(q · kᵀ × scale) · v` for one query token: `q` holds `head_count` heads of
/// `head_dim` values; `keys` and `values` are a layer's cache buffers (1, kv_heads, capacity,
/// head_dim), of which the first `len` positions count. Query head `h` reads key/value head
/// `h / (head_count / kv_heads)`, as grouped-query attention stacks them. Returns the heads'
/// outputs one after another, or `None` when the buffers are not f32 in CPU memory (then the
/// caller takes candle's path).
pub fn attend_one(
    q: &[f32],
    keys: &Tensor,
    values: &Tensor,
    len: usize,
    head_count: usize,
    scale: f32,
) -> Result<Option<Vec<f32>>> {
    let (_, kv_heads, capacity, head_dim) = keys.dims4()?;
    if keys.dtype() != DType::F32
        || values.dtype() != DType::F32
        || !keys.is_contiguous()
        || !values.is_contiguous()
        || values.dims4()? != (1, kv_heads, capacity, head_dim)
        || kv_heads == 0
        || !head_count.is_multiple_of(kv_heads)
        || q.len() != head_count * head_dim
        || len == 0
        || len > capacity
    {
        return Ok(None);
    }
    let (k_storage, k_layout) = keys.storage_and_layout();
    let (v_storage, v_layout) = values.storage_and_layout();
    let (Storage::Cpu(k_cpu), Storage::Cpu(v_cpu)) = (&*k_storage, &*v_storage) else {
        return Ok(None);
    };
    let cache = LayerCache {
        keys: &k_cpu.as_slice::<f32>()?[k_layout.start_offset()..],
        values: &v_cpu.as_slice::<f32>()?[v_layout.start_offset()..],
        len,
        capacity,
        head_dim,
        group: head_count / kv_heads,
        scale,
    };
    let mut out = vec![0f32; head_count * head_dim];
    let mut weights = vec![0f32; len];
    attend_heads(simd(), q, &cache, &mut weights, &mut out);
    Ok(Some(out))
}

/// One layer's cached keys and values as [`attend_one`] reads them.
struct LayerCache<'a> {
    keys: &'a [f32],
    values: &'a [f32],
    len: usize,
    capacity: usize,
    head_dim: usize,
    /// Query heads per key/value head.
    group: usize,
    scale: f32,
}

#[allow(unsafe_code)]
fn attend_heads(
    simd: Simd,
    q: &[f32],
    cache: &LayerCache<'_>,
    weights: &mut [f32],
    out: &mut [f32],
) {
    match simd {
        // SAFETY: `simd()` saw the features these variants are compiled for.
        #[cfg(target_arch = "x86_64")]
        Simd::Avx512 => unsafe { attend_heads_avx512(q, cache, weights, out) },
        #[cfg(target_arch = "x86_64")]
        Simd::Avx2 => unsafe { attend_heads_avx2(q, cache, weights, out) },
        _ => attend_heads_portable(q, cache, weights, out),
    }
}

dispatch!(
    attend_heads_portable,
    attend_heads_avx512,
    attend_heads_avx2,
    (q: &[f32], cache: &LayerCache<'_>, weights: &mut [f32], out: &mut [f32])
);

/// Every query head in turn: scores over the first `len` cached keys, softmax, the weighted
/// sum of values into `out` (zeroed by the caller).
#[inline(always)]
fn attend_heads_portable(q: &[f32], cache: &LayerCache<'_>, weights: &mut [f32], out: &mut [f32]) {
    let head_dim = cache.head_dim;
    for (head, (q, out)) in q
        .chunks_exact(head_dim)
        .zip(out.chunks_exact_mut(head_dim))
        .enumerate()
    {
        let start = (head / cache.group) * cache.capacity * head_dim;
        let k_head = &cache.keys[start..start + cache.len * head_dim];
        let v_head = &cache.values[start..start + cache.len * head_dim];
        for (weight, k) in weights.iter_mut().zip(k_head.chunks_exact(head_dim)) {
            *weight = dot(q, k) * cache.scale;
        }
        softmax_row_portable(weights);
        for (&weight, v) in weights.iter().zip(v_head.chunks_exact(head_dim)) {
            for (o, &v) in out.iter_mut().zip(v) {
                *o += weight * v;
            }
        }
    }
}

/// A dot product in 16 independent lanes, which the compiler keeps in vector registers.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut lanes = [0f32; LANES];
    let (a_body, a_tail) = a.split_at(a.len() - a.len() % LANES);
    let (b_body, b_tail) = b.split_at(a_body.len());
    for (a, b) in a_body.chunks_exact(LANES).zip(b_body.chunks_exact(LANES)) {
        for i in 0..LANES {
            lanes[i] += a[i] * b[i];
        }
    }
    let tail: f32 = a_tail.iter().zip(b_tail).map(|(a, b)| a * b).sum();
    lanes.iter().sum::<f32>() + tail
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// Against candle's general path (the one prompts take) on random values: 9 query heads
    /// sharing 3 key/value heads, 40 valid positions in a buffer of 64.
    #[test]
    fn matches_the_general_path() {
        let device = Device::Cpu;
        let (heads, kv_heads, capacity, len, head_dim) = (9, 3, 64, 40, 64);
        let keys = Tensor::randn(0f32, 1.0, (1, kv_heads, capacity, head_dim), &device).unwrap();
        let values = Tensor::randn(0f32, 1.0, (1, kv_heads, capacity, head_dim), &device).unwrap();
        let q = Tensor::randn(0f32, 1.0, (1, heads, 1, head_dim), &device).unwrap();
        let scale = 1.0 / (head_dim as f32).sqrt();

        let q_flat: Vec<f32> = q.flatten_all().unwrap().to_vec1().unwrap();
        let ours = attend_one(&q_flat, &keys, &values, len, heads, scale)
            .unwrap()
            .expect("f32 CPU buffers take this path");

        let k = keys.narrow(2, 0, len).unwrap();
        let v = values.narrow(2, 0, len).unwrap().contiguous().unwrap();
        let grouped = q
            .reshape((1, kv_heads, heads / kv_heads, head_dim))
            .unwrap();
        let scores = (grouped.matmul(&k.t().unwrap()).unwrap() * f64::from(scale)).unwrap();
        let weights = candle_nn::ops::softmax_last_dim(&scores).unwrap();
        let expected: Vec<f32> = weights
            .matmul(&v)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(ours.len(), expected.len());
        for (i, (a, b)) in ours.iter().zip(&expected).enumerate() {
            assert!((a - b).abs() < 1e-4, "value {i}: {a} vs {b}");
        }
    }

    #[test]
    fn other_layouts_are_left_to_the_general_path() {
        let device = Device::Cpu;
        let keys = Tensor::zeros((1, 2, 8, 4), DType::F16, &device).unwrap();
        let values = Tensor::zeros((1, 2, 8, 4), DType::F16, &device).unwrap();
        assert!(attend_one(&[0.0; 8], &keys, &values, 4, 2, 1.0)
            .unwrap()
            .is_none());
    }
}
