//! Log-mel features for one 30 s window (what every Whisper call computes): viva's
//! reference-exact `LogMel` beside candle's `whisper::audio::pcm_to_mel`, given the same
//! filterbank, so BENCHMARKS.md can state the ratio.
//!
//! Run: `cargo bench --bench mel`

use std::hint::black_box;

use candle_transformers::models::whisper::{self, audio::pcm_to_mel};
use criterion::{criterion_group, criterion_main, Criterion};
use viva::speech::mel::{LogMel, MelLength, CHUNK_SAMPLES, SAMPLE_RATE};

/// 30 s of a slow chirp over noise: the content does not change the work, only the length.
fn signal() -> Vec<f32> {
    let mut state = 0x2545_f491_u32;
    (0..CHUNK_SAMPLES)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let noise = state as f32 / u32::MAX as f32 - 0.5;
            let t = i as f32 / SAMPLE_RATE as f32;
            0.4 * (2.0 * std::f32::consts::PI * (200.0 + 50.0 * t) * t).sin() + 0.05 * noise
        })
        .collect()
}

fn candle_config() -> whisper::Config {
    // Only num_mel_bins is read by pcm_to_mel; the rest are whisper-tiny's values.
    whisper::Config {
        num_mel_bins: 80,
        max_source_positions: 1500,
        d_model: 384,
        encoder_attention_heads: 6,
        encoder_layers: 4,
        vocab_size: 51864,
        max_target_positions: 448,
        decoder_attention_heads: 6,
        decoder_layers: 4,
        suppress_tokens: Vec::new(),
    }
}

fn mel(c: &mut Criterion) {
    let samples = signal();
    let ours = LogMel::new(80).expect("80 mel bins are supported");
    let filters = ours.dense_filters();
    let config = candle_config();

    let mut group = c.benchmark_group("mel_30s");
    group.bench_function("viva_logmel", |b| {
        b.iter(|| ours.compute(black_box(&samples), MelLength::Chunk30s))
    });
    group.bench_function("candle_pcm_to_mel", |b| {
        b.iter(|| pcm_to_mel(&config, black_box(&samples), &filters))
    });
    group.finish();
}

criterion_group!(benches, mel);
criterion_main!(benches);
