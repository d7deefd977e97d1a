//! Matrix products in bf16 with f32 sums: on the AMX tile unit of recent Intel Xeons (Sapphire
//! Rapids and later), else with AVX-512 BF16 (`vdpbf16ps`, AMD since Zen 4, Intel since Cooper
//! Lake).
//!
//! One `tdpbf16ps` multiplies a 16 x 32 bf16 tile by a 32 x 16 one into 16 x 16 f32 sums, far
//! more work per instruction than AVX-512 FMA; one `vdpbf16ps` does 32 products, twice an f32
//! FMA's, on half the bytes. Whisper's encoder on a 30 s window is ~37 GFLOP of such products.
//! Weights are rounded to bf16 and packed once into the tile layout the instructions read (the
//! vector unit reads one tile row, 2 inputs of 16 outputs, per instruction); activations are
//! rounded to bf16 per call. Which unit runs is decided once ([`unit`]): the tile unit when the
//! processor has AMX-BF16 and Linux lets this process use the tile registers, unless
//! `VIVA_CPU_AMX=off`; else AVX-512 BF16; neither when `VIVA_CPU_BF16=off`.
//!
//! Layouts: a product is `x · wᵀ` with `x` [m, k] and `w` [n, k], as in a linear layer. Every
//! dimension is padded with zeros to the tile grid (m, n to 32; k to 32). The packed weights
//! hold, for each 16 outputs and each 32 inputs, one 1 KB tile whose row `r` holds the input
//! pairs `2r, 2r+1` of each of the 16 outputs, interleaved (the "VNNI" layout of the B operand).

use std::sync::OnceLock;

use candle_core::{CpuStorage, CustomOp1, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::{contiguous_f32, linear_shapes, turned_off, without_padding};

/// Rows (and columns) of one output block: two tiles in each direction.
const BLOCK: usize = 32;
/// Inputs per tile (32 bf16 = 64 bytes, a tile row).
const K_TILE: usize = 32;

/// What runs the bf16 products.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// AMX tiles.
    Tiles,
    /// AVX-512 BF16 vector instructions.
    Vector,
}

/// The unit this process uses for bf16 products, if any; decided once.
pub fn unit() -> Option<Unit> {
    static UNIT: OnceLock<Option<Unit>> = OnceLock::new();
    *UNIT.get_or_init(|| {
        if turned_off("VIVA_CPU_BF16") {
            None
        } else if !turned_off("VIVA_CPU_AMX") && tiles::request_permission() {
            Some(Unit::Tiles)
        } else if vector::supported() {
            Some(Unit::Vector)
        } else {
            None
        }
    })
}

pub fn available() -> bool {
    unit().is_some()
}

/// Prepares this thread for [`block`]s (the tile unit's configuration).
fn begin() {
    if unit() == Some(Unit::Tiles) {
        tiles::configure();
    }
}

/// Ends a run of [`block`]s on this thread.
fn end() {
    if unit() == Some(Unit::Tiles) {
        tiles::release();
    }
}

/// `c[0..32][0..32] = a[0..32] · (b0 | b1)ᵀ` on this process's unit (see `tiles::block`).
fn block(a: &[u16], a_width: usize, b0: &[Tile], b1: &[Tile], c: &mut [f32], c_width: usize) {
    match unit() {
        Some(Unit::Tiles) => tiles::block(a, a_width, b0, b1, c, c_width),
        _ => vector::block(a, a_width, b0, b1, c, c_width),
    }
}

/// Panics unless a [`block`]'s operands hold what it reads and writes: the unsafe loads and
/// stores of both units rely on it.
fn check_block(a: &[u16], a_width: usize, b0: &[Tile], b1: &[Tile], c: &[f32], c_width: usize) {
    let k_tiles = b0.len();
    assert!(b1.len() == k_tiles && a_width >= k_tiles * K_TILE);
    assert!(a.len() >= BLOCK * a_width, "activations block too short");
    assert!(
        c.len() >= (BLOCK - 1) * c_width + BLOCK,
        "output block too short"
    );
}

/// One 16 x 64-byte tile, aligned as the tile loads like it.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Tile([u16; 512]);

/// A right-hand operand `w` [n, k] in bf16, packed into tiles.
pub struct PackedWeights {
    n: usize,
    k: usize,
    n_pad: usize,
    k_tiles: usize,
    /// Tile (16-output group `g`, input tile `t`) at `g * k_tiles + t`.
    tiles: Vec<Tile>,
}

#[inline(always)]
fn bf16_bits(x: f32) -> u16 {
    // Round to nearest even (NaN is not expected in activations or weights).
    let bits = x.to_bits();
    (bits.wrapping_add(0x7fff + ((bits >> 16) & 1)) >> 16) as u16
}

fn round_up(x: usize, to: usize) -> usize {
    x.div_ceil(to) * to
}

impl PackedWeights {
    fn zeros(n: usize, k: usize) -> Self {
        let n_pad = round_up(n.max(1), BLOCK);
        let k_tiles = k.div_ceil(K_TILE).max(1);
        Self {
            n,
            k,
            n_pad,
            k_tiles,
            tiles: vec![Tile([0; 512]); n_pad / 16 * k_tiles],
        }
    }

    /// Where `w[i][j]` goes: its tile, and its place in the tile.
    #[inline(always)]
    fn slot(&self, i: usize, j: usize) -> (usize, usize) {
        let tile = (i / 16) * self.k_tiles + j / K_TILE;
        (tile, ((j % K_TILE) / 2) * 32 + (i % 16) * 2 + j % 2)
    }

    /// Packs a row-major [n, k] matrix `w` (a linear layer's weight; attention's keys).
    pub fn from_rows(w: &[f32], n: usize, k: usize) -> Self {
        let mut packed = Self::zeros(n, k);
        for (i, row) in w.chunks(k).take(n).enumerate() {
            for (j, &x) in row.iter().enumerate() {
                let (tile, at) = packed.slot(i, j);
                packed.tiles[tile].0[at] = bf16_bits(x);
            }
        }
        packed
    }

    /// Packs the transpose of a row-major [k, n] matrix `wt` (attention's values).
    pub fn from_columns(wt: &[f32], n: usize, k: usize) -> Self {
        let mut packed = Self::zeros(n, k);
        for (j, row) in wt.chunks(n).take(k).enumerate() {
            for (i, &x) in row.iter().enumerate() {
                let (tile, at) = packed.slot(i, j);
                packed.tiles[tile].0[at] = bf16_bits(x);
            }
        }
        packed
    }
}

/// `x` [m, k] rounded to bf16, zero-padded to [round_up(m, 32), k_tiles * 32].
fn activations(x: &[f32], m: usize, k: usize, k_tiles: usize) -> Vec<u16> {
    let width = k_tiles * K_TILE;
    let mut out = vec![0u16; round_up(m.max(1), BLOCK) * width];
    out.par_chunks_mut(BLOCK * width)
        .zip(x.par_chunks(BLOCK * k))
        .for_each(|(rows, xs)| to_bf16_rows(xs, k, rows, width));
    out
}

/// Rows of `k` f32 in `x` to rows of `width` bf16 in `out` (its padding left as it is).
#[allow(unsafe_code)]
fn to_bf16_rows(x: &[f32], k: usize, out: &mut [u16], width: usize) {
    #[inline(always)]
    fn portable(x: &[f32], k: usize, out: &mut [u16], width: usize) {
        for (row, xs) in out.chunks_mut(width).zip(x.chunks(k)) {
            for (o, &v) in row.iter_mut().zip(xs) {
                *o = bf16_bits(v);
            }
        }
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2")]
    fn avx512(x: &[f32], k: usize, out: &mut [u16], width: usize) {
        portable(x, k, out, width)
    }
    // SAFETY: every feature `avx512` enables is checked just before.
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512vl")
        && std::arch::is_x86_feature_detected!("avx2")
    {
        return unsafe { avx512(x, k, out, width) };
    }
    portable(x, k, out, width)
}

/// `x · wᵀ (+ bias)`: x [m, k] → [m, n]. Panics if no unit is `available()`.
pub fn matmul(x: &[f32], m: usize, w: &PackedWeights, bias: Option<&[f32]>) -> Vec<f32> {
    assert!(available(), "bf16 matmul called without a bf16 unit");
    assert_eq!(x.len(), m * w.k, "x is not [m, k]");
    let a = activations(x, m, w.k, w.k_tiles);
    let a_width = w.k_tiles * K_TILE;
    let mut out = vec![0f32; round_up(m.max(1), BLOCK) * w.n_pad];
    out.par_chunks_mut(BLOCK * w.n_pad)
        .zip(a.par_chunks(BLOCK * a_width))
        .for_each(|(c, a)| {
            begin();
            for group in (0..w.n_pad / 16).step_by(2) {
                let b0 = &w.tiles[group * w.k_tiles..(group + 1) * w.k_tiles];
                let b1 = &w.tiles[(group + 1) * w.k_tiles..(group + 2) * w.k_tiles];
                block(a, a_width, b0, b1, &mut c[group * 16..], w.n_pad);
            }
            end();
            if let Some(bias) = bias {
                for row in c.chunks_mut(w.n_pad) {
                    for (o, b) in row.iter_mut().zip(bias) {
                        *o += b;
                    }
                }
            }
        });
    out.truncate(m * w.n_pad);
    without_padding(out, w.n_pad, w.n)
}

/// Scaled dot-product attention, no mask, for contiguous [heads, t, d] q and [heads, s, d] k,
/// v (q already scaled): softmax(q · kᵀ) · v.
///
/// Fused per block of 32 queries: their scores (32 x s f32), softmax and bf16 copy stay in the
/// cache, instead of a t x s score matrix per head (9 MB on a 30 s window) going to memory
/// three times.
pub fn attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    heads: usize,
    t: usize,
    s: usize,
    d: usize,
) -> Vec<f32> {
    assert!(available(), "bf16 attention called without a bf16 unit");
    let packed: Vec<(PackedWeights, PackedWeights)> = (0..heads)
        .into_par_iter()
        .map(|h| {
            let k = &k[h * s * d..(h + 1) * s * d];
            let v = &v[h * s * d..(h + 1) * s * d];
            (
                PackedWeights::from_rows(k, s, d),
                PackedWeights::from_columns(v, d, s),
            )
        })
        .collect();
    let blocks_per_head = t.div_ceil(BLOCK);
    let mut out = vec![0f32; heads * t * d];
    let mut pieces: Vec<&mut [f32]> = out
        .chunks_mut(t * d)
        .flat_map(|head| head.chunks_mut(BLOCK * d))
        .collect();
    pieces.par_iter_mut().enumerate().for_each_init(
        Vec::new,
        |scratch: &mut Vec<f32>, (index, out)| {
            let (h, block) = (index / blocks_per_head, index % blocks_per_head);
            let (keys, values) = &packed[h];
            let rows = out.len() / d;
            let first = h * t + block * BLOCK;
            attend_block(
                &q[first * d..(first + rows) * d],
                rows,
                keys,
                values,
                scratch,
                out,
            );
        },
    );
    out
}

/// One block of up to 32 queries against every key: `out` [rows, d].
fn attend_block(
    q: &[f32],
    rows: usize,
    keys: &PackedWeights,
    values: &PackedWeights,
    scores: &mut Vec<f32>,
    out: &mut [f32],
) {
    // No rayon call between `begin` and `end`: a task stolen while waiting could release this
    // thread's tiles under us.
    let a_width = keys.k_tiles * K_TILE;
    let mut a = vec![0u16; BLOCK * a_width];
    to_bf16_rows(q, keys.k, &mut a, a_width);
    scores.clear();
    scores.resize(BLOCK * keys.n_pad, 0.0);
    begin();
    for group in (0..keys.n_pad / 16).step_by(2) {
        let b0 = &keys.tiles[group * keys.k_tiles..(group + 1) * keys.k_tiles];
        let b1 = &keys.tiles[(group + 1) * keys.k_tiles..(group + 2) * keys.k_tiles];
        block(&a, a_width, b0, b1, &mut scores[group * 16..], keys.n_pad);
    }
    let s = keys.n;
    for row in scores.chunks_mut(keys.n_pad).take(rows) {
        super::math::softmax_in_place(&mut row[..s]);
    }
    // The probabilities as the left operand of the product with the values: [32, s] in bf16.
    let p_width = values.k_tiles * K_TILE;
    let mut p = vec![0u16; BLOCK * p_width];
    for (dst, src) in p
        .chunks_mut(p_width)
        .zip(scores.chunks(keys.n_pad))
        .take(rows)
    {
        to_bf16_rows(&src[..s], s, dst, p_width);
    }
    let mut product = [0f32; BLOCK * BLOCK];
    let d = values.n;
    for group in (0..values.n_pad / 16).step_by(2) {
        let b0 = &values.tiles[group * values.k_tiles..(group + 1) * values.k_tiles];
        let b1 = &values.tiles[(group + 1) * values.k_tiles..(group + 2) * values.k_tiles];
        block(&p, p_width, b0, b1, &mut product, BLOCK);
        let columns = (d - group * 16).min(BLOCK);
        for (dst, src) in out.chunks_mut(d).zip(product.chunks(BLOCK)).take(rows) {
            dst[group * 16..group * 16 + columns].copy_from_slice(&src[..columns]);
        }
    }
    end();
}

/// A linear layer (`x · wᵀ + b`) in bf16.
pub struct Linear {
    weight: PackedWeights,
    bias: Option<Vec<f32>>,
}

impl Linear {
    /// `weight` [out, in] and `bias` [out], f32 on the CPU.
    pub fn new(weight: &Tensor, bias: Option<&Tensor>) -> Result<Self> {
        let (n, k) = weight.dims2()?;
        let w = weight.flatten_all()?.to_vec1::<f32>()?;
        let bias = bias.map(|b| b.to_vec1::<f32>()).transpose()?;
        Ok(Self {
            weight: PackedWeights::from_rows(&w, n, k),
            bias,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.contiguous()?.apply_op1_no_bwd(self)
    }
}

impl CustomOp1 for Linear {
    fn name(&self) -> &'static str {
        "viva-bf16-linear"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(storage, layout, self.name())?;
        let (m, shape) = linear_shapes(layout, self.weight.k, self.weight.n, self.name())?;
        let y = matmul(x, m, &self.weight, self.bias.as_deref());
        Ok((CpuStorage::F32(y), shape))
    }
}

/// Attention over [batch, heads, t, d] tensors in bf16 (see [`attention`]).
pub struct Attention;

impl Attention {
    pub fn forward(q: &Tensor, k: &Tensor, v: &Tensor) -> Result<Tensor> {
        q.contiguous()?
            .apply_op3_no_bwd(&k.contiguous()?, &v.contiguous()?, &Attention)
    }
}

impl CustomOp3 for Attention {
    fn name(&self) -> &'static str {
        "viva-bf16-attention"
    }

    fn cpu_fwd(
        &self,
        q: &CpuStorage,
        q_layout: &Layout,
        k: &CpuStorage,
        k_layout: &Layout,
        v: &CpuStorage,
        v_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let q_values = contiguous_f32(q, q_layout, self.name())?;
        let k_values = contiguous_f32(k, k_layout, self.name())?;
        let v_values = contiguous_f32(v, v_layout, self.name())?;
        let (b, heads, t, d) = q_layout.shape().dims4()?;
        let (_, _, s, _) = k_layout.shape().dims4()?;
        if k_layout.shape() != v_layout.shape() || k_layout.shape().dims4()? != (b, heads, s, d) {
            candle_core::bail!("bf16 attention: q, k and v shapes do not fit");
        }
        let out = attention(q_values, k_values, v_values, b * heads, t, s, d);
        Ok((CpuStorage::F32(out), q_layout.shape().clone()))
    }
}

/// The tile instructions. Tiles 0–3 hold the 2 x 2 f32 sums of a 32 x 32 block, 4–5 two rows
/// of activations, 6–7 two columns of weights; every tile is 16 rows of 64 bytes.
#[allow(unsafe_code)]
mod tiles {
    use super::{check_block, Tile, K_TILE};

    /// Asks Linux for this process's permission to use the tile data registers (off by
    /// default since Linux 5.16), after checking CPUID for AMX-TILE and AMX-BF16.
    pub fn request_permission() -> bool {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        {
            const ARCH_REQ_XCOMP_PERM: libc::c_int = 0x1023;
            const XFEATURE_XTILEDATA: libc::c_ulong = 18;
            // CPUID leaf 7: EDX bit 22 is AMX-BF16, bit 24 AMX-TILE.
            #[allow(unused_unsafe)]
            // SAFETY: CPUID is present on every x86_64 processor.
            let edx = unsafe { core::arch::x86_64::__cpuid_count(7, 0) }.edx;
            if edx & (1 << 22) == 0 || edx & (1 << 24) == 0 {
                return false;
            }
            // SAFETY: arch_prctl with these arguments only changes this process's permissions.
            let granted = unsafe {
                libc::syscall(
                    libc::SYS_arch_prctl,
                    ARCH_REQ_XCOMP_PERM,
                    XFEATURE_XTILEDATA,
                )
            };
            granted == 0
        }
        #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
        {
            false
        }
    }

    #[repr(C, align(64))]
    struct Config {
        palette: u8,
        start_row: u8,
        reserved: [u8; 14],
        bytes_per_row: [u16; 16],
        rows: [u8; 16],
    }

    /// Sets this thread's tiles to 8 of 16 rows x 64 bytes.
    pub fn configure() {
        let mut config = Config {
            palette: 1,
            start_row: 0,
            reserved: [0; 14],
            bytes_per_row: [0; 16],
            rows: [0; 16],
        };
        config.bytes_per_row[..8].fill(64);
        config.rows[..8].fill(16);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: only reached when `available()` said the tile unit may be used; the config
        // is a valid palette-1 layout.
        unsafe {
            std::arch::asm!("ldtilecfg ({0})", in(reg) &config, options(att_syntax, nostack));
        }
    }

    /// Returns this thread's tiles to their initial state (cheaper context switches).
    pub fn release() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as for `configure`.
        unsafe {
            std::arch::asm!("tilerelease", options(att_syntax, nostack));
        }
    }

    /// `c[0..32][0..32] = a[0..32] · (b0 | b1)ᵀ`: `a` holds 32 bf16 rows of `a_width` values
    /// (at least as many as the weight tiles cover), `b0`, `b1` the input tiles of two groups of
    /// 16 outputs, `c` 32 rows of `c_width` f32 from its start.
    pub fn block(
        a: &[u16],
        a_width: usize,
        b0: &[Tile],
        b1: &[Tile],
        c: &mut [f32],
        c_width: usize,
    ) {
        check_block(a, a_width, b0, b1, c, c_width);
        let a_stride = a_width * 2;
        let c_stride = c_width * 4;
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `check_block` keeps every tile load and store inside `a`, `b0`, `b1` and
        // `c`; `configure` ran on this thread first.
        unsafe {
            use std::arch::asm;
            asm!(
                "tilezero %tmm0",
                "tilezero %tmm1",
                "tilezero %tmm2",
                "tilezero %tmm3",
                options(att_syntax, nostack)
            );
            for t in 0..b0.len() {
                let a_top = a.as_ptr().add(t * K_TILE);
                let a_bottom = a_top.add(16 * a_width);
                asm!(
                    "tileloadd ({a0},{sa},1), %tmm4",
                    "tileloadd ({a1},{sa},1), %tmm5",
                    "tileloadd ({b0},{sb},1), %tmm6",
                    "tileloadd ({b1},{sb},1), %tmm7",
                    "tdpbf16ps %tmm6, %tmm4, %tmm0",
                    "tdpbf16ps %tmm7, %tmm4, %tmm1",
                    "tdpbf16ps %tmm6, %tmm5, %tmm2",
                    "tdpbf16ps %tmm7, %tmm5, %tmm3",
                    a0 = in(reg) a_top,
                    a1 = in(reg) a_bottom,
                    b0 = in(reg) b0.as_ptr().add(t),
                    b1 = in(reg) b1.as_ptr().add(t),
                    sa = in(reg) a_stride,
                    sb = in(reg) 64usize,
                    options(att_syntax, nostack, readonly)
                );
            }
            let c_top = c.as_mut_ptr();
            let c_bottom = c_top.add(16 * c_width);
            asm!(
                "tilestored %tmm0, ({c0},{sc},1)",
                "tilestored %tmm1, ({c1},{sc},1)",
                "tilestored %tmm2, ({c2},{sc},1)",
                "tilestored %tmm3, ({c3},{sc},1)",
                c0 = in(reg) c_top,
                c1 = in(reg) c_top.add(16),
                c2 = in(reg) c_bottom,
                c3 = in(reg) c_bottom.add(16),
                sc = in(reg) c_stride,
                options(att_syntax, nostack)
            );
        }
    }
}

/// The same products as [`tiles`] with AVX-512 BF16: one `vdpbf16ps` adds, for 16 outputs at
/// once, the products of one pair of inputs (a weight tile's row) with one activation row's
/// pair (broadcast). A block is computed 8 rows at a time, 2 x 16 outputs wide: 16 sums in
/// registers.
#[allow(unsafe_code)]
mod vector {
    use super::{check_block, Tile, BLOCK, K_TILE};

    /// Rows of the block computed together.
    const ROWS: usize = 8;

    pub fn supported() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bf16")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// As `tiles::block`.
    pub fn block(
        a: &[u16],
        a_width: usize,
        b0: &[Tile],
        b1: &[Tile],
        c: &mut [f32],
        c_width: usize,
    ) {
        check_block(a, a_width, b0, b1, c, c_width);
        assert!(
            supported(),
            "AVX-512 BF16 block called without AVX-512 BF16"
        );
        #[cfg(target_arch = "x86_64")]
        for first in (0..BLOCK).step_by(ROWS) {
            // SAFETY: `check_block` keeps every load inside `a`, `b0`, `b1` and every store
            // inside `c`; the processor has AVX-512 BF16 (asserted).
            unsafe {
                rows(
                    a.as_ptr().add(first * a_width),
                    a_width,
                    b0,
                    b1,
                    c.as_mut_ptr().add(first * c_width),
                    c_width,
                )
            };
        }
    }

    /// `ROWS` rows of a block: `a` and `c` point at the first row.
    ///
    /// # Safety
    /// The CPU has avx512f and avx512bf16 ([`supported`]), and `a`, `b0`, `b1`, `c` and the
    /// widths are those of a block `check_block` accepted, offset to one of its row groups.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bf16")]
    unsafe fn rows(
        a: *const u16,
        a_width: usize,
        b0: &[Tile],
        b1: &[Tile],
        c: *mut f32,
        c_width: usize,
    ) {
        use std::arch::x86_64::*;
        let mut sums = [[_mm512_setzero_ps(); 2]; ROWS];
        for (t, (w0, w1)) in b0.iter().zip(b1).enumerate() {
            for pair in 0..K_TILE / 2 {
                let w0 = as_bf16(_mm512_loadu_si512(w0.0.as_ptr().add(pair * 32).cast()));
                let w1 = as_bf16(_mm512_loadu_si512(w1.0.as_ptr().add(pair * 32).cast()));
                for (r, sum) in sums.iter_mut().enumerate() {
                    let at = a.add(r * a_width + t * K_TILE + pair * 2);
                    let x = as_bf16(_mm512_set1_epi32(at.cast::<i32>().read_unaligned()));
                    sum[0] = _mm512_dpbf16_ps(sum[0], x, w0);
                    sum[1] = _mm512_dpbf16_ps(sum[1], x, w1);
                }
            }
        }
        for (r, sum) in sums.iter().enumerate() {
            _mm512_storeu_ps(c.add(r * c_width), sum[0]);
            _mm512_storeu_ps(c.add(r * c_width + 16), sum[1]);
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn as_bf16(v: std::arch::x86_64::__m512i) -> std::arch::x86_64::__m512bh {
        // SAFETY: both are 64 bytes of plain data; bf16 pairs are what the integer lanes hold.
        unsafe { std::mem::transmute(v) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_values as values;

    fn reference(x: &[f32], m: usize, w: &[f32], n: usize, k: usize) -> Vec<f32> {
        let mut out = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k)
                    .map(|l| x[i * k + l] as f64 * w[j * k + l] as f64)
                    .sum::<f64>() as f32;
            }
        }
        out
    }

    /// Loud, not silent: this machine has neither AMX-BF16 nor AVX-512 BF16 (or they are
    /// turned off).
    fn skip_without_unit() -> bool {
        if let Some(unit) = unit() {
            eprintln!("bf16 products run on {unit:?}");
            return false;
        }
        eprintln!(
            "SKIPPED: no AMX-BF16 or AVX-512 BF16 here (or VIVA_CPU_BF16=off); candle's f32 products are used instead"
        );
        true
    }

    #[test]
    fn bf16_rounding_is_to_nearest_even() {
        assert_eq!(bf16_bits(1.0), 0x3f80);
        assert_eq!(bf16_bits(f32::from_bits(0x3f80_8000)), 0x3f80); // a tie: stays even
        assert_eq!(bf16_bits(f32::from_bits(0x3f81_8000)), 0x3f82); // a tie: up to even
        assert_eq!(bf16_bits(f32::from_bits(0x3f80_8001)), 0x3f81);
    }

    #[test]
    fn products_match_f64_within_bf16_rounding_at_ragged_sizes() {
        if skip_without_unit() {
            return;
        }
        for &(m, n, k) in &[(1, 16, 32), (37, 50, 70), (100, 384, 384), (33, 1152, 96)] {
            let x = values(m * k, 1);
            let w = values(n * k, 2);
            let bias = values(n, 3);
            let got = matmul(&x, m, &PackedWeights::from_rows(&w, n, k), Some(&bias));
            let want = reference(&x, m, &w, n, k);
            assert_eq!(got.len(), m * n);
            // Each input is rounded to 8 significant bits: relative 2^-9 per factor.
            let tolerance = 2.0 * (k as f32).sqrt() * 2f32.powi(-8);
            for (i, (g, r)) in got.iter().zip(&want).enumerate() {
                let r = r + bias[i % n];
                assert!(
                    (g - r).abs() < tolerance,
                    "({m},{n},{k}) at {i}: {g} vs {r}"
                );
            }
        }
    }

    #[test]
    fn attention_matches_a_plain_softmax_of_scores() {
        if skip_without_unit() {
            return;
        }
        let (heads, t, s, d) = (2, 45, 70, 64);
        let q = values(heads * t * d, 4);
        let k = values(heads * s * d, 5);
        let v = values(heads * s * d, 6);
        let got = attention(&q, &k, &v, heads, t, s, d);
        for h in 0..heads {
            for i in 0..t {
                let scores: Vec<f64> = (0..s)
                    .map(|j| {
                        (0..d)
                            .map(|l| q[(h * t + i) * d + l] as f64 * k[(h * s + j) * d + l] as f64)
                            .sum()
                    })
                    .collect();
                let max = scores.iter().copied().fold(f64::MIN, f64::max);
                let total: f64 = scores.iter().map(|x| (x - max).exp()).sum();
                for l in 0..d {
                    let want: f64 = (0..s)
                        .map(|j| (scores[j] - max).exp() / total * v[(h * s + j) * d + l] as f64)
                        .sum();
                    let g = got[(h * t + i) * d + l] as f64;
                    assert!(
                        (g - want).abs() < 0.02,
                        "head {h} row {i} col {l}: {g} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_vector_block_matches_f64_on_bf16_inputs() {
        if !vector::supported() {
            eprintln!("SKIPPED: no AVX-512 BF16 here");
            return;
        }
        let (n, k) = (32, 96);
        let x = values(BLOCK * k, 21);
        let w = values(n * k, 22);
        let packed = PackedWeights::from_rows(&w, n, k);
        let mut a = vec![0u16; BLOCK * k];
        to_bf16_rows(&x, k, &mut a, k);
        let mut c = vec![0f32; BLOCK * n];
        let (b0, b1) = packed.tiles.split_at(packed.k_tiles);
        vector::block(&a, k, b0, b1, &mut c, n);
        let widen = |v: &[f32]| -> Vec<f32> {
            v.iter()
                .map(|&x| f32::from_bits((bf16_bits(x) as u32) << 16))
                .collect()
        };
        let want = reference(&widen(&x), BLOCK, &widen(&w), n, k);
        for (i, (g, r)) in c.iter().zip(&want).enumerate() {
            assert!((g - r).abs() < 1e-4, "at {i}: {g} vs {r}");
        }
    }

    #[test]
    fn the_linear_op_keeps_leading_dimensions() {
        if skip_without_unit() {
            return;
        }
        let w = Tensor::from_vec(values(40 * 64, 7), (40, 64), &candle_core::Device::Cpu).unwrap();
        let b = Tensor::from_vec(values(40, 8), 40, &candle_core::Device::Cpu).unwrap();
        let x =
            Tensor::from_vec(values(2 * 3 * 64, 9), (2, 3, 64), &candle_core::Device::Cpu).unwrap();
        let linear = Linear::new(&w, Some(&b)).unwrap();
        let got = linear.forward(&x).unwrap();
        let want = x
            .broadcast_matmul(&w.t().unwrap())
            .unwrap()
            .broadcast_add(&b)
            .unwrap();
        assert_eq!(got.dims(), &[2, 3, 40]);
        let diff = crate::max_difference(&got, &want);
        assert!(diff < 0.05, "differs by {diff}");
        let wrong =
            Tensor::zeros((3, 63), candle_core::DType::F32, &candle_core::Device::Cpu).unwrap();
        assert!(linear.forward(&wrong).is_err());
    }
}
