//! viva's hand-written CPU kernels for the hot spots candle's CPU backend leaves slow, behind
//! functions on candle tensors that fall back to candle's own ops on other devices (CUDA) and
//! layouts. A package of its own so that tests build it optimised without building all of
//! viva that way.
//!
//! `math`: GELU and softmax, vectorised and threaded. `bf16`: matrix products in bf16 on the
//! tile unit of recent Intel Xeons (Sapphire Rapids and later) or with AVX-512 BF16 (recent
//! AMD and Intel processors). `q8`: Q8_0 products with AVX-512 VNNI; `q8_avx2`: the same
//! with AVX2, for processors without VNNI. `attention`: one new token's attention over a cached
//! sequence (decoding), reading the cache in place.

pub mod attention;
pub mod bf16;
mod math;
pub mod q8;
pub mod q8_avx2;

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};

/// The f32 values of a contiguous CPU tensor's storage; an error naming `op` for any other kind.
fn contiguous_f32<'a>(storage: &'a CpuStorage, layout: &Layout, op: &str) -> Result<&'a [f32]> {
    match (storage, layout.contiguous_offsets()) {
        (CpuStorage::F32(values), Some((start, end))) => Ok(&values[start..end]),
        _ => candle_core::bail!("{op} needs a contiguous f32 tensor"),
    }
}

/// For a linear layer's op taking `k` inputs to `n` outputs: the rows of an input laid out as
/// `layout` and the output's shape (the input's with its last dimension `n`); an error naming
/// `op` when the last dimension is not `k`.
fn linear_shapes(layout: &Layout, k: usize, n: usize, op: &str) -> Result<(usize, Shape)> {
    let dims = layout.shape().dims();
    if dims.last() != Some(&k) {
        candle_core::bail!("{op}: input {dims:?}, the weight takes {k} inputs");
    }
    let mut out = dims.to_vec();
    if let Some(last) = out.last_mut() {
        *last = n;
    }
    Ok((
        layout.shape().elem_count() / k.max(1),
        Shape::from_dims(&out),
    ))
}

/// `(n, k)` of a Q8_0 weight [n, k] on the CPU whose rows are whole 32-input blocks: what the
/// Q8_0 kernels take; `None` for anything else.
fn q8_0_cpu_shape(weight: &candle_core::quantized::QTensor) -> Option<(usize, usize)> {
    match weight.shape().dims() {
        &[n, k]
            if weight.dtype() == candle_core::quantized::GgmlDType::Q8_0
                && weight.device().is_cpu()
                && k.is_multiple_of(32) =>
        {
            Some((n, k))
        }
        _ => None,
    }
}

/// Rows of `width` values (outputs padded to a kernel's grid) cut to their first `n`.
fn without_padding(values: Vec<f32>, width: usize, n: usize) -> Vec<f32> {
    if width == n {
        return values;
    }
    values
        .chunks(width)
        .flat_map(|row| &row[..n])
        .copied()
        .collect()
}

/// Whether the environment variable `name` turns a kernel off (`off` or `0`).
fn turned_off(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "off" || v == "0")
}

/// Test inputs in [-1, 1): a small linear congruential sequence, the same on every run.
#[cfg(test)]
fn test_values(len: usize, seed: u32) -> Vec<f32> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1 << 23) as f32 - 1.0
        })
        .collect()
}

/// A random [n, k] weight quantized to Q8_0 (the same for the same seed).
#[cfg(test)]
fn quantized_q8(n: usize, k: usize, seed: u32) -> candle_core::quantized::QTensor {
    use candle_core::quantized::{GgmlDType, QTensor};
    let w = Tensor::from_vec(test_values(n * k, seed), (n, k), &candle_core::Device::Cpu)
        .expect("weights");
    QTensor::quantize(&w, GgmlDType::Q8_0).expect("quantize")
}

/// Checks a Q8_0 product (`product(weight, x)`, `None` when it does not apply to the weight)
/// against candle's `QMatMul` at each (rows, outputs, inputs) size: same quantized arithmetic,
/// so only rounding ties and the order of f32 sums may differ.
#[cfg(test)]
fn assert_q8_matches_candle(
    sizes: &[(usize, usize, usize)],
    product: impl Fn(&candle_core::quantized::QTensor, &Tensor) -> Option<Tensor>,
) {
    use candle_core::quantized::QMatMul;
    use candle_core::Module;
    for &(m, n, k) in sizes {
        let q = quantized_q8(n, k, (m * n + k) as u32);
        let x = Tensor::from_vec(test_values(m * k, 11), (1, m, k), &candle_core::Device::Cpu)
            .expect("activations");
        let got = product(&q, &x).expect("a Q8_0 weight fits");
        let want = QMatMul::from_qtensor(q)
            .and_then(|matmul| matmul.forward(&x))
            .expect("candle's product");
        assert_eq!(got.dims(), &[1, m, n]);
        let diff = max_difference(&got, &want);
        assert!(diff < 2e-3, "({m},{n},{k}): differs from candle by {diff}");
    }
}

/// The largest absolute difference between two tensors' elements.
#[cfg(test)]
fn max_difference(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .and_then(|d| d.abs())
        .and_then(|d| d.flatten_all())
        .and_then(|d| d.max(0))
        .and_then(|d| d.to_scalar())
        .expect("comparable tensors")
}

struct GeluErf;

impl CustomOp1 for GeluErf {
    fn name(&self) -> &'static str {
        "viva-gelu-erf"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let xs = contiguous_f32(storage, layout, self.name())?;
        Ok((CpuStorage::F32(math::gelu_erf(xs)), layout.shape().clone()))
    }
}

struct SoftmaxLastDim;

impl CustomOp1 for SoftmaxLastDim {
    fn name(&self) -> &'static str {
        "viva-softmax-last-dim"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let xs = contiguous_f32(storage, layout, self.name())?;
        let mut values = xs.to_vec();
        math::softmax_rows(
            &mut values,
            layout.shape().dims().last().copied().unwrap_or(1),
        );
        Ok((CpuStorage::F32(values), layout.shape().clone()))
    }
}

fn is_cpu_f32(x: &Tensor) -> bool {
    x.device().is_cpu() && x.dtype() == candle_core::DType::F32
}

/// The exact (erf) GELU, as `Tensor::gelu_erf`.
pub fn gelu_erf(x: &Tensor) -> Result<Tensor> {
    if is_cpu_f32(x) {
        x.contiguous()?.apply_op1_no_bwd(&GeluErf)
    } else {
        x.gelu_erf()
    }
}

/// Softmax over the last dimension, as `candle_nn::ops::softmax_last_dim`.
pub fn softmax_last_dim(x: &Tensor) -> Result<Tensor> {
    if is_cpu_f32(x) {
        x.contiguous()?.apply_op1_no_bwd(&SoftmaxLastDim)
    } else {
        candle_nn::ops::softmax_last_dim(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn tensor_ops_agree_with_candle_including_strided_inputs() {
        let x = Tensor::randn(0f32, 3.0, (7, 33, 40), &Device::Cpu).unwrap();
        let strided = x.transpose(1, 2).unwrap();
        assert!(max_difference(&gelu_erf(&strided).unwrap(), &strided.gelu_erf().unwrap()) < 2e-6);
        let ours = softmax_last_dim(&strided).unwrap();
        let candle = candle_nn::ops::softmax_last_dim(&strided.contiguous().unwrap()).unwrap();
        assert_eq!(ours.dims(), &[7, 40, 33]);
        assert!(max_difference(&ours, &candle) < 1e-6);
    }
}
