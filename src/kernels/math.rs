//! GELU (erf form) and row softmax over f32 slices.
//!
//! candle computes both one element at a time through libm's `erf` and `exp`, GELU on one
//! thread: in Whisper's encoder on a 30 s window that is ~9 million GELUs and ~54 million
//! exponentials per window. Here `exp` and `erf` are polynomials the compiler can vectorise
//! (the loops are compiled again with AVX-512 or AVX2 and picked at run time), and the work is
//! split across candle's thread count with rayon.

use rayon::prelude::*;

/// Elements per parallel work item: large enough that scheduling is noise.
const CHUNK: usize = 16 * 1024;

/// `exp(x)` to within ~2 ulp for the range f32 can hold (Cephes' `expf` polynomial on the
/// reduced argument; below −87.3 it returns ~1e-38 rather than 0, harmless for softmax).
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding then subtracting 1.5 * 2^23 rounds to the nearest integer without a branch.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.3, 88.3);
    let t = x * LOG2E + ROUND;
    let n = t - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let p = p * r * r + r + 1.0;
    // `t`'s low mantissa bits hold n itself (its exponent is fixed by ROUND), so 2^n is built
    // from bits: `n as i32` would not vectorise (it saturates and maps NaN to 0).
    let n_bits = t.to_bits().wrapping_sub(ROUND.to_bits());
    p * f32::from_bits(n_bits.wrapping_add(127) << 23)
}

/// `erf(x)` to within 1.5e-7 absolute (Abramowitz and Stegun 7.1.26).
#[inline(always)]
fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let magnitude = 1.0 - poly * exp(-a * a);
    magnitude.copysign(x)
}

#[inline(always)]
fn gelu_erf_portable(xs: &[f32], out: &mut [f32]) {
    for (o, &x) in out.iter_mut().zip(xs) {
        *o = 0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// Softmax of one row in place.
#[inline(always)]
pub(crate) fn softmax_row_portable(row: &mut [f32]) {
    // Sixteen independent lanes so that the reductions vectorise.
    const LANES: usize = 16;
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (m, &x) in lanes.iter_mut().zip(chunk) {
            *m = m.max(x);
        }
    }
    let max = chunks.remainder().iter().fold(
        lanes.iter().copied().fold(f32::NEG_INFINITY, f32::max),
        |m, &x| m.max(x),
    );
    if max == f32::NEG_INFINITY {
        // A fully masked row: candle yields NaN here; zeros say "attends to nothing".
        row.fill(0.0);
        return;
    }
    let mut sums = [0f32; LANES];
    let mut chunks = row.chunks_exact_mut(LANES);
    for chunk in &mut chunks {
        for (s, x) in sums.iter_mut().zip(chunk.iter_mut()) {
            *x = exp(*x - max);
            *s += *x;
        }
    }
    let mut sum: f32 = sums.iter().sum();
    for x in chunks.into_remainder() {
        *x = exp(*x - max);
        sum += *x;
    }
    let scale = 1.0 / sum;
    for x in row.iter_mut() {
        *x *= scale;
    }
}

/// The same loop compiled for AVX-512 and for AVX2 + FMA, chosen at run time.
macro_rules! dispatch {
    ($portable:ident, $avx512:ident, $avx2:ident, ($($arg:ident: $ty:ty),*)) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
        fn $avx512($($arg: $ty),*) {
            $portable($($arg),*)
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        fn $avx2($($arg: $ty),*) {
            $portable($($arg),*)
        }
    };
}
pub(crate) use dispatch;

dispatch!(gelu_erf_portable, gelu_erf_avx512, gelu_erf_avx2, (xs: &[f32], out: &mut [f32]));
dispatch!(softmax_row_portable, softmax_row_avx512, softmax_row_avx2, (row: &mut [f32]));

#[derive(Clone, Copy)]
pub(crate) enum Simd {
    Avx512,
    Avx2,
    Portable,
}

pub(crate) fn simd() -> Simd {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512vl")
        {
            return Simd::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Simd::Avx2;
        }
    }
    Simd::Portable
}

#[allow(unsafe_code)]
fn gelu_erf_chunk(simd: Simd, xs: &[f32], out: &mut [f32]) {
    match simd {
        // SAFETY: `simd()` saw the features these variants are compiled for.
        #[cfg(target_arch = "x86_64")]
        Simd::Avx512 => unsafe { gelu_erf_avx512(xs, out) },
        #[cfg(target_arch = "x86_64")]
        Simd::Avx2 => unsafe { gelu_erf_avx2(xs, out) },
        _ => gelu_erf_portable(xs, out),
    }
}

#[allow(unsafe_code)]
fn softmax_row(simd: Simd, row: &mut [f32]) {
    match simd {
        // SAFETY: `simd()` saw the features these variants are compiled for.
        #[cfg(target_arch = "x86_64")]
        Simd::Avx512 => unsafe { softmax_row_avx512(row) },
        #[cfg(target_arch = "x86_64")]
        Simd::Avx2 => unsafe { softmax_row_avx2(row) },
        _ => softmax_row_portable(row),
    }
}

/// GELU with the exact (erf) form Whisper uses: `0.5 x (1 + erf(x / √2))`.
pub fn gelu_erf(xs: &[f32]) -> Vec<f32> {
    let simd = simd();
    let mut out = vec![0f32; xs.len()];
    out.par_chunks_mut(CHUNK)
        .zip(xs.par_chunks(CHUNK))
        .for_each(|(out, xs)| gelu_erf_chunk(simd, xs, out));
    out
}

/// Softmax of one row in place, on the calling thread.
pub fn softmax_in_place(row: &mut [f32]) {
    softmax_row(simd(), row)
}

/// Softmax over each run of `row_len` values, in place.
pub fn softmax_rows(values: &mut [f32], row_len: usize) {
    if row_len == 0 {
        return;
    }
    let simd = simd();
    let rows_per_item = (CHUNK / row_len).max(1);
    values
        .par_chunks_mut(rows_per_item * row_len)
        .for_each(|rows| {
            rows.chunks_mut(row_len)
                .for_each(|row| softmax_row(simd, row))
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference_erf(x: f64) -> f64 {
        let a = x.abs();
        if a > 3.0 {
            // The asymptotic series of erfc, to within ~1e-3 of its (tiny) value here.
            let inv = 1.0 / (2.0 * a * a);
            let series = 1.0 - inv + 3.0 * inv * inv - 15.0 * inv.powi(3) + 105.0 * inv.powi(4);
            let erfc = (-a * a).exp() / (a * std::f64::consts::PI.sqrt()) * series;
            return x.signum() * (1.0 - erfc);
        }
        // Taylor series: converges quickly for |x| <= 3.
        let mut term = x;
        let mut sum = x;
        for n in 1..80 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn exp_is_close_to_the_true_value_across_the_range() {
        let mut worst = 0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let relative = (exp(x) as f64 - (x as f64).exp()).abs() / (x as f64).exp();
            worst = worst.max(relative);
            x += 0.013;
        }
        assert!(worst < 5e-7, "worst relative error {worst}");
    }

    #[test]
    fn gelu_matches_the_erf_definition_on_every_code_path() {
        let xs: Vec<f32> = (0..40_001)
            .map(|i| (i as f32 - 20_000.0) / 2_000.0)
            .collect();
        let fast = gelu_erf(&xs);
        let mut portable = vec![0f32; xs.len()];
        gelu_erf_portable(&xs, &mut portable);
        for ((&x, &y), &p) in xs.iter().zip(&fast).zip(&portable) {
            let x64 = x as f64;
            let want = 0.5 * x64 * (1.0 + reference_erf(x64 / std::f64::consts::SQRT_2));
            assert!(
                (y as f64 - want).abs() < 2e-6,
                "gelu({x}) = {y}, want {want}"
            );
            assert!(
                (y - p).abs() < 1e-6,
                "vectorised {y} and portable {p} differ at {x}"
            );
        }
    }

    #[test]
    fn softmax_rows_sum_to_one_and_keep_the_order() {
        let row_len = 1500;
        let mut values: Vec<f32> = (0..3 * row_len)
            .map(|i| ((i * 37) % 101) as f32 / 7.0 - 5.0)
            .collect();
        let original = values.clone();
        softmax_rows(&mut values, row_len);
        for (row, input) in values.chunks(row_len).zip(original.chunks(row_len)) {
            let sum: f64 = row.iter().map(|&v| v as f64).sum();
            assert!((sum - 1.0).abs() < 1e-5, "row sums to {sum}");
            let max = input.iter().copied().fold(f32::MIN, f32::max) as f64;
            let total: f64 = input.iter().map(|&v| (v as f64 - max).exp()).sum();
            for (&p, &x) in row.iter().zip(input) {
                let want = (x as f64 - max).exp() / total;
                assert!(
                    (p as f64 - want).abs() < 1e-7 + 1e-5 * want,
                    "{p} vs {want}"
                );
            }
        }
    }

    #[test]
    fn a_masked_row_attends_to_nothing_instead_of_nan() {
        let mut values = vec![f32::NEG_INFINITY; 8];
        values[4..].copy_from_slice(&[0.0, 1.0, f32::NEG_INFINITY, 2.0]);
        softmax_rows(&mut values, 4);
        assert_eq!(&values[..4], &[0.0; 4]);
        assert!((values[4..].iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(values[6] < 1e-30, "a masked position weighs {}", values[6]);
    }
}
