//! The language model worker under concurrent replies (continuous batching, issue 16): N
//! greedy replies of 32 tokens to different questions asked at the same moment, N = 1, 4, 8,
//! 16, through `LlmWorker` exactly as live interviews use it. Throughput is in generated
//! tokens, so tokens/s across N shows what batching buys; each reply's own pace is the time
//! divided by 32 tokens.
//!
//! Run: `cargo bench --bench llm_batch` (model: target/test-models, fetched like the tests').

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use candle_core::Device;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use viva::inference::{ComputeGate, LlmWorker};
use viva::llm::{ChatMessage, ChatRole, GenerateOptions, LlmEngine};

const REPLY_TOKENS: usize = 32;

const TOPICS: [&str; 16] = [
    "databases",
    "testing",
    "caching",
    "code review",
    "deadlines",
    "mentoring",
    "logging",
    "security",
    "APIs",
    "refactoring",
    "on-call",
    "estimates",
    "documentation",
    "hiring",
    "performance",
    "teamwork",
];

fn question(topic: &str) -> Vec<ChatMessage> {
    vec![
        ChatMessage::new(
            ChatRole::System,
            viva::interview::prompts::INTERVIEWER_PERSONA,
        ),
        ChatMessage::new(
            ChatRole::User,
            format!("I would like to talk about {topic}. Ask me one question about it."),
        ),
    ]
}

fn llm_batch(c: &mut Criterion) {
    let models = support::test_models().expect("default models");
    let engine = LlmEngine::load(&models.llm_file, &Device::Cpu).expect("loading the LLM");
    let worker = LlmWorker::start(engine, 64, 64, ComputeGate::default()).expect("worker");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let options = GenerateOptions {
        max_tokens: REPLY_TOKENS,
        temperature: 0.0,
        ..GenerateOptions::default()
    };
    let mut group = c.benchmark_group("llm_batch");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20));
    let mut round = 0u64;
    for replies in [1usize, 4, 8, 16] {
        group.throughput(Throughput::Elements((replies * REPLY_TOKENS) as u64));
        group.bench_with_input(
            BenchmarkId::new("replies_at_once", replies),
            &replies,
            |b, &replies| {
                b.iter(|| {
                    round += 1;
                    runtime.block_on(async {
                        // A new conversation per reply and round: each prefills its question.
                        let streams: Vec<_> = TOPICS[..replies]
                            .iter()
                            .map(|topic| {
                                worker
                                    .reply(
                                        &format!("{topic}-{round}"),
                                        question(topic),
                                        options.clone(),
                                    )
                                    .expect("queued")
                            })
                            .collect();
                        for stream in streams {
                            stream.finish().await.expect("reply");
                        }
                    })
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, llm_batch);
criterion_main!(benches);
