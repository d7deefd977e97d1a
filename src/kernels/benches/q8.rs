//! Q8_0 products on SmolLM2-135M's shapes: candle's `QMatMul` against viva's VNNI kernel, one
//! row (decoding) and batches (prompt prefill), on random weights quantized the same way.
//!
//! Run: `cargo bench -p viva-kernels --bench q8`

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use viva_kernels::q8::{self, PackedQ8};

fn bench_q8(c: &mut Criterion) {
    if !q8::available() {
        eprintln!("SKIPPED: no AVX-512 VNNI here (or VIVA_CPU_VNNI=off): nothing to compare");
        return;
    }
    let device = Device::Cpu;
    let mut group = c.benchmark_group("q8_0");
    // (rows, outputs, inputs): attention q/o, ffn gate/up, ffn down, the vocabulary projection.
    let shapes = [
        (1, 576, 576),
        (1, 1536, 576),
        (1, 576, 1536),
        (1, 49152, 576),
        (64, 1536, 576),
        (256, 1536, 576),
    ];
    for (m, n, k) in shapes {
        let w = Tensor::randn(0f32, 0.05, (n, k), &device).expect("weights");
        let q = QTensor::quantize(&w, GgmlDType::Q8_0).expect("quantize");
        let packed = PackedQ8::from_qtensor(&q)
            .expect("repack")
            .expect("VNNI present");
        let candle = QMatMul::from_qtensor(q).expect("QMatMul");
        let x = Tensor::randn(0f32, 1.0, (1, m, k), &device).expect("activations");
        group.throughput(Throughput::Elements((m * n * k) as u64));
        let shape = format!("{m}x{n}x{k}");
        group.bench_with_input(BenchmarkId::new("candle", &shape), &x, |b, x| {
            b.iter(|| candle.forward(x).expect("candle"))
        });
        group.bench_with_input(BenchmarkId::new("viva_vnni", &shape), &x, |b, x| {
            b.iter(|| packed.forward(x).expect("viva"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_q8);
criterion_main!(benches);
