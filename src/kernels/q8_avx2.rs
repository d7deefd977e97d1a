//! Q8_0 matrix products on AVX2, for processors without AVX-512 VNNI (`super::q8` has those).
//!
//! candle's CPU product for Q8_0 takes one activation row at a time through all the weights, so
//! a prompt of m tokens reads every weight m times from memory: prefill is bound by memory, and
//! a batch costs nearly as much per token as decoding. Here each 32-byte weight block, once
//! loaded, serves up to 4 activation rows (which stay in the L1 cache), so prefill is bound by
//! arithmetic instead.
//!
//! Numbers: as in candle and ggml, activations are quantized per block of 32 to signed bytes
//! with scale max|x| / 127 (kept through f16), each block's byte products are summed exactly in
//! i32, and each block adds `weight scale × activation scale × sum` in f32, so results agree
//! with candle's up to the order of f32 additions. `vpmaddubsw` multiplies unsigned by signed
//! bytes: as in ggml, the weight's magnitude is the unsigned side and the activation takes the
//! weight's sign; activations are at most 127 in magnitude, so no pair of products saturates.
//!
//! Used where the processor has AVX2 and FMA and no VNNI, unless `VIVA_CPU_AVX2=off`.

use std::sync::OnceLock;

use candle_core::quantized::QTensor;
use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use half::f16;
use rayon::prelude::*;

use super::{contiguous_f32, linear_shapes, turned_off};

/// Inputs per Q8_0 block.
const BLOCK: usize = 32;
/// Bytes of one ggml Q8_0 block: an f16 scale and 32 signed bytes.
const GGML_BLOCK_BYTES: usize = 34;
/// Activation rows that share each weight load. Their sums stay in registers (AVX2 has 16);
/// measured on Qwen2.5-1.5B's feed-forward shape, 4 rows run 30% faster than 8, which spill.
const ROWS: usize = 4;
/// Outputs per parallel task: their weights (up to 64 × 8960 bytes) stay in the L2 cache
/// while every row tile passes over them.
const OUTPUTS_PER_TASK: usize = 64;
/// Products (rows × outputs × inputs) below which one thread is faster than waking others.
const PARALLEL_PRODUCTS: usize = 4 << 20;

/// Whether this process uses the AVX2 kernel; asked once.
pub fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| !turned_off("VIVA_CPU_AVX2") && cpu_has_avx2())
}

fn cpu_has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// A Q8_0 weight `w` [n, k] with its bytes and scales apart: row `o`'s bytes at `o * k`, its
/// block scales (widened to f32 once) at `o * blocks`.
pub struct Avx2Q8 {
    n: usize,
    k: usize,
    blocks: usize,
    quants: Vec<i8>,
    scales: Vec<f32>,
}

impl Avx2Q8 {
    /// Splits a Q8_0 weight on the CPU; `None` when the kernel does not apply (another format
    /// or device, a row length off the 32-input blocks, no AVX2 here).
    pub fn from_qtensor(weight: &QTensor) -> Result<Option<Self>> {
        if !available() {
            return Ok(None);
        }
        let Some((n, k)) = crate::q8_0_cpu_shape(weight) else {
            return Ok(None);
        };
        let bytes = weight.data()?;
        Ok(Some(Self::from_ggml_blocks(&bytes, n, k)))
    }

    fn from_ggml_blocks(bytes: &[u8], n: usize, k: usize) -> Self {
        assert_eq!(
            bytes.len(),
            n * k / BLOCK * GGML_BLOCK_BYTES,
            "not [n, k] in Q8_0"
        );
        let blocks = k / BLOCK;
        let mut quants = Vec::with_capacity(n * k);
        let mut scales = Vec::with_capacity(n * blocks);
        for block in bytes.chunks(GGML_BLOCK_BYTES) {
            scales.push(f16::from_le_bytes([block[0], block[1]]).to_f32());
            quants.extend(block[2..].iter().map(|&q| q as i8));
        }
        Self {
            n,
            k,
            blocks,
            quants,
            scales,
        }
    }

    /// `x · wᵀ` for `x` [m, k] → [m, n]. Panics without AVX2 (an `Avx2Q8` exists only with it).
    pub fn matmul(&self, x: &[f32], m: usize) -> Vec<f32> {
        assert_eq!(x.len(), m * self.k, "x is not [m, k]");
        let activations = QuantizedRows::new(x, m, self.k);
        // Each task returns its outputs' columns, output-major: [outputs][m].
        let task = |task: usize| -> Vec<f32> {
            let outputs = task * OUTPUTS_PER_TASK..((task + 1) * OUTPUTS_PER_TASK).min(self.n);
            let mut columns = vec![0f32; outputs.len() * m];
            for first in (0..m).step_by(ROWS) {
                let rows = (m - first).min(ROWS);
                for (local, output) in outputs.clone().enumerate() {
                    let sums = &mut columns[local * m + first..local * m + first + rows];
                    self.output_rows(output, &activations, first, sums);
                }
            }
            columns
        };
        let tasks = self.n.div_ceil(OUTPUTS_PER_TASK);
        let columns: Vec<Vec<f32>> = if m * self.n * self.k < PARALLEL_PRODUCTS {
            (0..tasks).map(task).collect()
        } else {
            (0..tasks).into_par_iter().map(task).collect()
        };
        let mut out = vec![0f32; m * self.n];
        for (task, columns) in columns.iter().enumerate() {
            for (local, column) in columns.chunks(m.max(1)).enumerate() {
                let output = task * OUTPUTS_PER_TASK + local;
                for (row, &value) in column.iter().enumerate() {
                    out[row * self.n + output] = value;
                }
            }
        }
        out
    }

    /// Output `output` of rows `first..first + sums.len()` (at most [`ROWS`]) into `sums`.
    fn output_rows(&self, output: usize, x: &QuantizedRows, first: usize, sums: &mut [f32]) {
        let rows = sums.len();
        assert!((1..=ROWS).contains(&rows) && first + rows <= x.rows());
        let weights = &self.quants[output * self.k..(output + 1) * self.k];
        let scales = &self.scales[output * self.blocks..(output + 1) * self.blocks];
        let row_quants = &x.quants[first * self.k..(first + rows) * self.k];
        let row_scales = &x.scales[first * self.blocks..(first + rows) * self.blocks];
        let run = match rows {
            4 => kernel::dot_rows::<4>,
            3 => kernel::dot_rows::<3>,
            2 => kernel::dot_rows::<2>,
            _ => kernel::dot_rows::<1>,
        };
        // SAFETY: `available()` held when `self` was built; the slices hold `rows` rows of
        // `blocks` blocks each, as `dot_rows` reads.
        #[allow(unsafe_code)]
        unsafe {
            run(weights, scales, row_quants, row_scales, sums)
        };
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.contiguous()?.apply_op1_no_bwd(self)
    }
}

impl CustomOp1 for Avx2Q8 {
    fn name(&self) -> &'static str {
        "viva-q8-avx2-matmul"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(storage, layout, self.name())?;
        let (m, shape) = linear_shapes(layout, self.k, self.n, self.name())?;
        Ok((CpuStorage::F32(self.matmul(x, m)), shape))
    }
}

/// Activation rows quantized per block of 32 exactly as candle's Q8_0 does.
struct QuantizedRows {
    quants: Vec<i8>,
    /// Row `r`, block `b` at `r * blocks + b`.
    scales: Vec<f32>,
    k: usize,
}

impl QuantizedRows {
    fn new(x: &[f32], m: usize, k: usize) -> Self {
        let mut quants = vec![0i8; m * k];
        let mut scales = vec![0f32; m * k / BLOCK];
        for ((q, scale), x) in quants
            .chunks_mut(BLOCK)
            .zip(scales.iter_mut())
            .zip(x.chunks(BLOCK))
        {
            let max = x.iter().fold(0f32, |max, v| max.max(v.abs()));
            let step = max / 127.0;
            let inverse = if step == 0.0 { 0.0 } else { 1.0 / step };
            for (q, &v) in q.iter_mut().zip(x) {
                *q = (v * inverse).round() as i8;
            }
            *scale = f16::from_f32(step).to_f32();
        }
        Self { quants, scales, k }
    }

    fn rows(&self) -> usize {
        self.quants.len() / self.k.max(1)
    }
}

#[allow(unsafe_code)]
mod kernel {
    use super::BLOCK;

    /// One output's sums for `R` activation rows: `sums[r] = Σ_b weight_scales[b] ×
    /// row_scales[r][b] × (weights[b] · rows[r][b])`.
    ///
    /// # Safety
    /// The processor has AVX2 and FMA; `weights` holds `blocks` blocks of 32 bytes,
    /// `weight_scales` `blocks` scales, `rows` `R` rows of `blocks` blocks, `row_scales`
    /// `R × blocks` scales and `sums` `R` values.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot_rows<const R: usize>(
        weights: &[i8],
        weight_scales: &[f32],
        rows: &[i8],
        row_scales: &[f32],
        sums: &mut [f32],
    ) {
        use std::arch::x86_64::*;
        let blocks = weight_scales.len();
        debug_assert!(weights.len() == blocks * BLOCK && rows.len() == R * blocks * BLOCK);
        debug_assert!(row_scales.len() == R * blocks && sums.len() == R);
        let k = blocks * BLOCK;
        let ones = _mm256_set1_epi16(1);
        let mut acc = [_mm256_setzero_ps(); R];
        for b in 0..blocks {
            let w = _mm256_loadu_si256(weights.as_ptr().add(b * BLOCK).cast());
            let magnitude = _mm256_sign_epi8(w, w);
            let weight_scale = *weight_scales.get_unchecked(b);
            for (r, acc) in acc.iter_mut().enumerate() {
                let x = _mm256_loadu_si256(rows.as_ptr().add(r * k + b * BLOCK).cast());
                let pairs = _mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(x, w));
                let exact = _mm256_madd_epi16(pairs, ones);
                let scale =
                    _mm256_set1_ps(weight_scale * *row_scales.get_unchecked(r * blocks + b));
                *acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(exact), scale, *acc);
            }
        }
        for (sum, acc) in sums.iter_mut().zip(acc) {
            let half = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
            let pair = _mm_add_ps(half, _mm_movehl_ps(half, half));
            *sum = _mm_cvtss_f32(_mm_add_ss(pair, _mm_shuffle_ps(pair, pair, 1)));
        }
    }

    #[cfg(not(target_arch = "x86_64"))]
    pub unsafe fn dot_rows<const R: usize>(
        _: &[i8],
        _: &[f32],
        _: &[i8],
        _: &[f32],
        _: &mut [f32],
    ) {
        unreachable!("Avx2Q8 is only built on x86_64");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_values as values;
    use candle_core::quantized::GgmlDType;
    use candle_core::Device;

    /// Loud, not silent: this processor has no AVX2 (or `VIVA_CPU_AVX2=off`).
    fn skip_without_avx2() -> bool {
        if available() {
            return false;
        }
        eprintln!(
            "SKIPPED: no AVX2 here (or VIVA_CPU_AVX2=off); candle's Q8_0 product is used instead"
        );
        true
    }

    use crate::quantized_q8 as quantized;

    #[test]
    fn products_match_candle_on_the_same_weights_at_ragged_sizes() {
        if skip_without_avx2() {
            return;
        }
        // Rows 1 (decoding) to past two row tiles; outputs off the 64-output tasks.
        let sizes = [
            (1, 16, 32),
            (3, 40, 96),
            (9, 64, 576),
            (19, 130, 160),
            (70, 33, 64),
            (17, 300, 1536),
        ];
        crate::assert_q8_matches_candle(&sizes, |q, x| {
            let avx2 = Avx2Q8::from_qtensor(q).unwrap()?;
            Some(avx2.forward(x).unwrap())
        });
    }

    #[test]
    fn extreme_bytes_do_not_saturate() {
        if skip_without_avx2() {
            return;
        }
        // Every weight byte -128 (a file may hold it) against activations at ±127.
        let (n, k) = (2, 64);
        let mut bytes = Vec::new();
        for _ in 0..n * k / BLOCK {
            bytes.extend(f16::ONE.to_le_bytes());
            bytes.extend([0x80u8; BLOCK]);
        }
        let w = Avx2Q8::from_ggml_blocks(&bytes, n, k);
        let x: Vec<f32> = (0..k)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let got = w.matmul(&x, 1);
        // Σ -128 × (±127 × 1/127 after quantizing) = 0 exactly over pairs of ±1.
        assert!(got.iter().all(|v| v.abs() < 1e-3), "{got:?}");
        let x = vec![-1.0f32; k];
        let got = w.matmul(&x, 1);
        let want = 128.0 * 127.0 * k as f32 * f16::from_f32(1.0 / 127.0).to_f32();
        assert!(
            got.iter().all(|v| (v - want).abs() < 1e-2 * want),
            "{got:?} vs {want}"
        );
    }

    #[test]
    fn wrong_inputs_fail_clearly() {
        if skip_without_avx2() {
            return;
        }
        let w = Avx2Q8::from_qtensor(&quantized(32, 64, 4))
            .unwrap()
            .unwrap();
        let wrong = Tensor::zeros((2, 63), candle_core::DType::F32, &Device::Cpu).unwrap();
        let err = w.forward(&wrong).unwrap_err().to_string();
        assert!(err.contains("takes 64"), "{err}");
        let q4 = QTensor::quantize(
            &Tensor::from_vec(values(32 * 64, 3), (32, 64), &Device::Cpu).unwrap(),
            GgmlDType::Q4_0,
        )
        .unwrap();
        assert!(Avx2Q8::from_qtensor(&q4).unwrap().is_none());
    }
}
