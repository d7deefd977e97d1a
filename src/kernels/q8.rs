//! Q8_0 matrix products on AVX-512 VNNI (`vpdpbusd`: 64 byte products summed into 16 lanes by
//! one instruction), for decoding (one row) and prompt prefill (many rows) alike.
//!
//! candle's CPU product for Q8_0 runs one AVX2 dot product per row and column, so a batch of
//! tokens costs nearly as much per token as decoding them one by one. Here the weights are
//! repacked once at load so that one 64-byte load holds 4 consecutive inputs of 16 outputs,
//! and every such load serves up to 8 activation rows.
//!
//! Numbers: as in ggml, activations are quantized per block of 32 to signed bytes with an f16
//! scale, the block's byte products are summed exactly in i32, and each block adds
//! `weight scale × activation scale × sum` in f32: the same arithmetic as candle's Q8_0 path, so
//! results agree with it up to the order of f32 additions. `vpdpbusd` multiplies unsigned by
//! signed bytes: activations are stored plus 128, and 128 × (the weights' sum), found with one
//! more `vpdpbusd` per load, is taken off.
//!
//! Used where the processor has AVX-512 F, BW and VNNI (Intel since Ice Lake / Cascade Lake,
//! AMD since Zen 4), unless `VIVA_CPU_VNNI=off`; elsewhere [`Matmul`] takes the AVX2 kernel
//! (`crate::q8_avx2`) or candle's product.

use std::sync::OnceLock;

use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{CpuStorage, CustomOp1, Layout, Module, Result, Shape, Tensor};
use half::f16;
use rayon::prelude::*;

use super::q8_avx2::Avx2Q8;
use super::{contiguous_f32, linear_shapes, turned_off, without_padding};

/// Inputs per Q8_0 block.
const BLOCK: usize = 32;
/// Outputs per group: one 512-bit register of i32 or f32 sums.
const LANES: usize = 16;
/// Bytes of one ggml Q8_0 block: an f16 scale and 32 signed bytes.
const GGML_BLOCK_BYTES: usize = 34;
/// Activation rows that share each weight load.
const ROWS: usize = 8;
/// Products (rows × outputs × inputs) below which one thread is faster than waking others:
/// a decoding step's projections (about 1 M) take a few microseconds, about what handing work
/// to the thread pool and waiting for it costs.
const PARALLEL_PRODUCTS: usize = 4 << 20;

/// Whether this process uses the VNNI kernels; asked once.
pub fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| !turned_off("VIVA_CPU_VNNI") && cpu_has_vnni())
}

fn cpu_has_vnni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// A Q8_0 weight `w` [n, k] repacked for the kernel: the same bytes as ggml's blocks, reordered.
pub struct PackedQ8 {
    n: usize,
    k: usize,
    /// Groups of 16 outputs (the last one padded with zero rows).
    groups: usize,
    blocks: usize,
    /// Group `g`, block `b`: 512 bytes at `(g * blocks + b) * 512`, as 8 steps of 16 outputs ×
    /// 4 consecutive inputs.
    quants: Vec<i8>,
    /// Group `g`, block `b`: the 16 outputs' scales at `(g * blocks + b) * 16`.
    scales: Vec<f16>,
}

impl PackedQ8 {
    /// Repacks a Q8_0 weight on the CPU; `None` when the kernel does not apply (another
    /// format or device, a row length off the 32-input blocks, no VNNI here).
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
        let groups = n.div_ceil(LANES);
        let blocks = k / BLOCK;
        let mut quants = vec![0i8; groups * blocks * LANES * BLOCK];
        let mut scales = vec![f16::ZERO; groups * blocks * LANES];
        for (row, row_bytes) in bytes.chunks(blocks * GGML_BLOCK_BYTES).enumerate() {
            let (group, lane) = (row / LANES, row % LANES);
            for (b, block) in row_bytes.chunks(GGML_BLOCK_BYTES).enumerate() {
                let at = group * blocks + b;
                scales[at * LANES + lane] = f16::from_le_bytes([block[0], block[1]]);
                for (j, &q) in block[2..].iter().enumerate() {
                    let (step, byte) = (j / 4, j % 4);
                    quants[at * LANES * BLOCK + step * LANES * 4 + lane * 4 + byte] = q as i8;
                }
            }
        }
        Self {
            n,
            k,
            groups,
            blocks,
            quants,
            scales,
        }
    }

    /// `x · wᵀ` for `x` [m, k] → [m, n]. Panics without VNNI (a `PackedQ8` exists only with it).
    pub fn matmul(&self, x: &[f32], m: usize) -> Vec<f32> {
        assert_eq!(x.len(), m * self.k, "x is not [m, k]");
        let activations = QuantizedRows::new(x, m, self.k);
        let width = self.groups * LANES;
        let mut out = vec![0f32; m * width];
        let target = OutputPtr(out.as_mut_ptr());
        let group = |group: usize| {
            for first in (0..m).step_by(ROWS) {
                let rows = (m - first).min(ROWS);
                // SAFETY: `available()` held when `self` was built; each group writes only its
                // own 16 columns of `out`, rows `first..first + rows`, inside `out`.
                #[allow(unsafe_code)]
                unsafe {
                    kernel::group_rows(self, group, &activations, first, rows, target, width)
                };
            }
        };
        if m * width * self.k < PARALLEL_PRODUCTS {
            (0..self.groups).for_each(group);
        } else {
            let per_thread = self.groups.div_ceil(rayon::current_num_threads());
            (0..self.groups)
                .into_par_iter()
                .with_min_len(per_thread.max(1))
                .for_each(group);
        }
        without_padding(out, width, self.n)
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.contiguous()?.apply_op1_no_bwd(self)
    }
}

impl CustomOp1 for PackedQ8 {
    fn name(&self) -> &'static str {
        "viva-q8-vnni-matmul"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(storage, layout, self.name())?;
        let (m, shape) = linear_shapes(layout, self.k, self.n, self.name())?;
        Ok((CpuStorage::F32(self.matmul(x, m)), shape))
    }
}

/// Where the groups write their columns: shared by the threads, each writing its own.
#[derive(Clone, Copy)]
struct OutputPtr(*mut f32);

// SAFETY: the threads write disjoint columns (see `PackedQ8::matmul`).
#[allow(unsafe_code)]
unsafe impl Send for OutputPtr {}
#[allow(unsafe_code)]
unsafe impl Sync for OutputPtr {}

/// Activation rows quantized per block of 32 as ggml's Q8_0 does, stored plus 128 as unsigned
/// bytes for `vpdpbusd`.
struct QuantizedRows {
    biased: Vec<u8>,
    /// Row `r`, block `b` at `r * blocks + b`.
    scales: Vec<f32>,
    k: usize,
    blocks: usize,
}

impl QuantizedRows {
    fn new(x: &[f32], m: usize, k: usize) -> Self {
        let blocks = k / BLOCK;
        let mut biased = vec![0u8; m * k];
        let mut scales = vec![0f32; m * blocks];
        let row = |((biased, scales), x): ((&mut [u8], &mut [f32]), &[f32])| {
            for ((q, d), x) in biased
                .chunks_mut(BLOCK)
                .zip(scales.iter_mut())
                .zip(x.chunks(BLOCK))
            {
                // SAFETY: rows are made only for a `PackedQ8`, which exists only with
                // AVX-512 (`available()`); the chunks are whole blocks of 32.
                #[allow(unsafe_code)]
                {
                    *d = unsafe { kernel::quantize_block(x, q) };
                }
            }
        };
        if m < 16 {
            biased
                .chunks_mut(k)
                .zip(scales.chunks_mut(blocks))
                .zip(x.chunks(k))
                .for_each(row);
        } else {
            biased
                .par_chunks_mut(k)
                .zip(scales.par_chunks_mut(blocks))
                .zip(x.par_chunks(k))
                .with_min_len(8)
                .for_each(row);
        }
        Self {
            biased,
            scales,
            k,
            blocks,
        }
    }
}

#[allow(unsafe_code)]
mod kernel {
    use super::{OutputPtr, PackedQ8, QuantizedRows, BLOCK, LANES, ROWS};

    /// One block of 32 values to bytes (plus 128), rounded to nearest; returns the scale as
    /// ggml stores it (f16).
    ///
    /// # Safety
    /// The processor has AVX-512 F and BW.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw")]
    pub unsafe fn quantize_block(x: &[f32], out: &mut [u8]) -> f32 {
        use std::arch::x86_64::*;
        assert!(x.len() == BLOCK && out.len() == BLOCK, "one block of 32");
        let low = _mm512_loadu_ps(x.as_ptr());
        let high = _mm512_loadu_ps(x.as_ptr().add(16));
        let max = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(low), _mm512_abs_ps(high)));
        let scale = max / 127.0;
        let inverse = _mm512_set1_ps(if scale == 0.0 { 0.0 } else { 1.0 / scale });
        let bias = _mm512_set1_epi32(128);
        for (half, values) in [low, high].into_iter().enumerate() {
            let q = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(values, inverse)), bias);
            _mm_storeu_si128(
                out.as_mut_ptr().add(half * 16).cast(),
                _mm512_cvtepi32_epi8(q),
            );
        }
        half::f16::from_f32(scale).to_f32()
    }

    #[cfg(not(target_arch = "x86_64"))]
    pub unsafe fn quantize_block(_: &[f32], _: &mut [u8]) -> f32 {
        unreachable!("PackedQ8 is only built on x86_64");
    }

    /// Rows `first..first + rows` (at most [`ROWS`]) of the product, for outputs
    /// `group * 16..group * 16 + 16`, into `out` (rows of `width` f32).
    ///
    /// # Safety
    /// The processor has AVX-512 F, BW and VNNI; `out` holds `(first + rows) * width` f32 and
    /// nothing else writes these 16 columns of these rows meanwhile.
    pub unsafe fn group_rows(
        w: &PackedQ8,
        group: usize,
        x: &QuantizedRows,
        first: usize,
        rows: usize,
        out: OutputPtr,
        width: usize,
    ) {
        #[cfg(target_arch = "x86_64")]
        {
            let run = match rows {
                8 => vnni::<8>,
                7 => vnni::<7>,
                6 => vnni::<6>,
                5 => vnni::<5>,
                4 => vnni::<4>,
                3 => vnni::<3>,
                2 => vnni::<2>,
                _ => vnni::<1>,
            };
            debug_assert!((1..=ROWS).contains(&rows));
            run(
                w,
                group,
                x,
                first,
                out.0.add(first * width + group * LANES),
                width,
            );
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (w, group, x, first, rows, out, width);
            unreachable!("PackedQ8 is only built on x86_64");
        }
    }

    /// `R` rows of `x` from `first` against one group of `w`'s outputs, into `out`.
    ///
    /// # Safety
    /// As [`group_rows`], with `out` already offset to row `first`, column `group * LANES`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn vnni<const R: usize>(
        w: &PackedQ8,
        group: usize,
        x: &QuantizedRows,
        first: usize,
        out: *mut f32,
        width: usize,
    ) {
        use std::arch::x86_64::*;
        let bias = _mm512_set1_epi8(-128); // 0x80: 128 as an unsigned byte
        let mut sums = [_mm512_setzero_ps(); R];
        for b in 0..w.blocks {
            let at = group * w.blocks + b;
            let weights = w.quants.as_ptr().add(at * LANES * BLOCK);
            let mut exact = [_mm512_setzero_si512(); R];
            let mut offset = _mm512_setzero_si512();
            for step in 0..BLOCK / 4 {
                let wv = _mm512_loadu_si512(weights.add(step * LANES * 4).cast());
                offset = _mm512_dpbusd_epi32(offset, bias, wv);
                for (r, sum) in exact.iter_mut().enumerate() {
                    let row = x
                        .biased
                        .as_ptr()
                        .add((first + r) * x.k + b * BLOCK + step * 4);
                    let xv = _mm512_set1_epi32(row.cast::<i32>().read_unaligned());
                    *sum = _mm512_dpbusd_epi32(*sum, xv, wv);
                }
            }
            let scales =
                _mm512_cvtph_ps(_mm256_loadu_si256(w.scales.as_ptr().add(at * LANES).cast()));
            for (r, (sum, exact)) in sums.iter_mut().zip(exact).enumerate() {
                let scale = _mm512_mul_ps(
                    scales,
                    _mm512_set1_ps(*x.scales.get_unchecked((first + r) * x.blocks + b)),
                );
                let value = _mm512_cvtepi32_ps(_mm512_sub_epi32(exact, offset));
                *sum = _mm512_fmadd_ps(value, scale, *sum);
            }
        }
        for (r, sum) in sums.iter().enumerate() {
            _mm512_storeu_ps(out.add(r * width), *sum);
        }
    }
}

/// A quantized weight's product: for Q8_0 on the CPU the VNNI kernel where the processor has
/// it, else the AVX2 one ([`crate::q8_avx2`]); candle's otherwise (other formats, CUDA, other
/// processors).
pub enum Matmul {
    Packed(PackedQ8),
    Avx2(Avx2Q8),
    Candle(QMatMul),
}

impl Matmul {
    pub fn new(weight: QTensor) -> Result<Self> {
        if let Some(packed) = PackedQ8::from_qtensor(&weight)? {
            return Ok(Self::Packed(packed));
        }
        if let Some(avx2) = Avx2Q8::from_qtensor(&weight)? {
            return Ok(Self::Avx2(avx2));
        }
        QMatMul::from_qtensor(weight).map(Self::Candle)
    }

    /// Dense weights (f32 tensors) stay dense, on candle.
    pub fn dense(weight: Tensor) -> Self {
        Self::Candle(QMatMul::Tensor(weight))
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Self::Packed(packed) => packed.forward(x),
            Self::Avx2(avx2) => avx2.forward(x),
            Self::Candle(matmul) => matmul.forward(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_values as values;
    use candle_core::quantized::GgmlDType;
    use candle_core::Device;

    /// Loud, not silent: this processor has no AVX-512 VNNI (or `VIVA_CPU_VNNI=off`).
    fn skip_without_vnni() -> bool {
        if available() {
            return false;
        }
        eprintln!("SKIPPED: no AVX-512 VNNI here (or VIVA_CPU_VNNI=off); candle's Q8_0 product is used instead");
        true
    }

    use crate::quantized_q8 as quantized;

    #[test]
    fn products_match_candle_on_the_same_weights_at_ragged_sizes() {
        if skip_without_vnni() {
            return;
        }
        // Rows 1 (decoding) to past two register blocks; outputs off the 16-lane grid.
        let sizes = [
            (1, 16, 32),
            (3, 40, 96),
            (9, 64, 576),
            (19, 51, 160),
            (70, 33, 64),
        ];
        crate::assert_q8_matches_candle(&sizes, |q, x| {
            let packed = PackedQ8::from_qtensor(q).unwrap()?;
            Some(packed.forward(x).unwrap())
        });
    }

    #[test]
    fn quantized_activations_round_trip_within_half_a_step() {
        if skip_without_vnni() {
            return;
        }
        #[allow(unsafe_code)]
        // SAFETY: VNNI (and so AVX-512 F and BW) is present.
        let quantize = |x: &[f32], q: &mut [u8]| unsafe { kernel::quantize_block(x, q) };
        let x = values(64, 5);
        let mut q = [0u8; 32];
        for block in x.chunks(32) {
            let scale = quantize(block, &mut q);
            let max = block.iter().fold(0f32, |m, v| m.max(v.abs()));
            assert!((scale - max / 127.0).abs() <= max / 127.0 * 1e-3);
            for (v, &b) in block.iter().zip(&q) {
                let back = (b as i32 - 128) as f32 * scale;
                assert!(
                    (back - v).abs() <= scale * 0.5 + 1e-6,
                    "{v} came back as {back}"
                );
            }
        }
        let zeros = [0f32; 32];
        assert_eq!(quantize(&zeros, &mut q), 0.0);
        assert!(q.iter().all(|&b| b == 128));
    }

    #[test]
    fn other_formats_and_wrong_inputs_stay_on_candle_or_fail_clearly() {
        let w = Tensor::from_vec(values(32 * 64, 3), (32, 64), &Device::Cpu).unwrap();
        let q4 = QTensor::quantize(&w, GgmlDType::Q4_0).unwrap();
        assert!(PackedQ8::from_qtensor(&q4).unwrap().is_none());
        assert!(matches!(Matmul::new(q4).unwrap(), Matmul::Candle(_)));
        if skip_without_vnni() {
            return;
        }
        let packed = Matmul::new(quantized(32, 64, 4)).unwrap();
        assert!(matches!(packed, Matmul::Packed(_)));
        let wrong = Tensor::zeros((2, 63), candle_core::DType::F32, &Device::Cpu).unwrap();
        let err = packed.forward(&wrong).unwrap_err().to_string();
        assert!(err.contains("takes 64"), "{err}");
    }
}
