//! Q8_0 products on SmolLM2-135M's and Qwen2.5-1.5B's shapes: candle's `QMatMul` against
//! viva's kernels (VNNI and AVX2, each where the processor has it), one row (decoding) and
//! batches (prompt prefill), on random weights quantized the same way.
//!
//! Run: `cargo bench -p viva-kernels --bench q8`

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use viva_kernels::q8::{self, PackedQ8};
use viva_kernels::q8_avx2::{self, Avx2Q8};

fn bench_q8(c: &mut Criterion) {
    if !q8::available() && !q8_avx2::available() {
        eprintln!(
            "SKIPPED: neither AVX-512 VNNI nor AVX2 here (or both turned off): nothing to compare"
        );
        return;
    }
    let device = Device::Cpu;
    let mut group = c.benchmark_group("q8_0");
    // (rows, outputs, inputs): SmolLM2-135M's attention q/o, ffn gate/up, ffn down, vocabulary
    // projection, prefill batches; Qwen2.5-1.5B's ffn gate/up and down for a 16-token piece.
    let shapes = [
        (1, 576, 576),
        (1, 1536, 576),
        (1, 576, 1536),
        (1, 49152, 576),
        (64, 1536, 576),
        (256, 1536, 576),
        (16, 8960, 1536),
        (16, 1536, 8960),
    ];
    for (m, n, k) in shapes {
        let w = Tensor::randn(0f32, 0.05, (n, k), &device).expect("weights");
        let q = QTensor::quantize(&w, GgmlDType::Q8_0).expect("quantize");
        let vnni = PackedQ8::from_qtensor(&q).expect("repack");
        let avx2 = Avx2Q8::from_qtensor(&q).expect("split");
        let candle = QMatMul::from_qtensor(q).expect("QMatMul");
        let x = Tensor::randn(0f32, 1.0, (1, m, k), &device).expect("activations");
        group.throughput(Throughput::Elements((m * n * k) as u64));
        let shape = format!("{m}x{n}x{k}");
        group.bench_with_input(BenchmarkId::new("candle", &shape), &x, |b, x| {
            b.iter(|| candle.forward(x).expect("candle"))
        });
        if let Some(vnni) = &vnni {
            group.bench_with_input(BenchmarkId::new("viva_vnni", &shape), &x, |b, x| {
                b.iter(|| vnni.forward(x).expect("viva"))
            });
        }
        if let Some(avx2) = &avx2 {
            group.bench_with_input(BenchmarkId::new("viva_avx2", &shape), &x, |b, x| {
                b.iter(|| avx2.forward(x).expect("viva"))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_q8);
criterion_main!(benches);
