//! The interview's critical path: the candidate stops talking after a ~5 s answer → the first
//! token of the interviewer's reply. Runs the real workers (the same ones the server uses):
//! the Whisper worker transcribes the answer, the LLM worker prefills the new turn on top of
//! the conversation's cached history and streams the first delta.
//!
//! Run: `cargo bench --bench pipeline`

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use candle_core::Device;
use criterion::{criterion_group, criterion_main, Criterion};
use viva::inference::{ComputeGate, LlmWorker, ReplyEvent, SpeechWorker};
use viva::interview::prompts::INTERVIEWER_PERSONA;
use viva::llm::{ChatMessage, ChatRole, GenerateOptions, LlmEngine};
use viva::speech::audio::read_wav;
use viva::speech::whisper::{WhisperEngine, WindowPolicy};

fn message(role: ChatRole, content: &str) -> ChatMessage {
    ChatMessage {
        role,
        content: content.to_owned(),
    }
}

fn bench_pipeline(c: &mut Criterion) {
    let models = support::test_models().expect("default models");
    let answer_file = support::librivox()
        .into_iter()
        .map(|(path, _)| path)
        .find(|p| p.to_string_lossy().contains("0890"))
        .expect("pocketsphinx-testdata LibriVox recording 0890 (5.3 s)");
    let answer = read_wav(&answer_file).expect("answer audio");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let gate = ComputeGate::default();
    let mut group = c.benchmark_group("pipeline");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    for policy in [WindowPolicy::Padded, WindowPolicy::AudioLength] {
        let mut whisper = WhisperEngine::load(&models.whisper_dir, &Device::Cpu).expect("Whisper");
        whisper.window_policy = policy;
        let speech = SpeechWorker::start(whisper, 4, gate.clone()).expect("speech worker");
        let llm = LlmEngine::load(&models.llm_file, &Device::Cpu).expect("LLM");
        let llm = LlmWorker::start(llm, 4, 64, gate.clone()).expect("llm worker");
        let options = GenerateOptions {
            max_tokens: 48,
            ..GenerateOptions::default()
        };
        let mut next_conversation = 0u64;
        group.bench_function(format!("answer_5s_to_first_reply_token/{policy}"), |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        // Untimed: the interviewer's opening question, so the conversation's
                        // history sits in the KV cache as it does in a live interview.
                        next_conversation += 1;
                        let id = next_conversation.to_string();
                        let mut history = vec![
                            message(ChatRole::System, INTERVIEWER_PERSONA),
                            message(ChatRole::User, "Hello, I am ready to start."),
                        ];
                        let question = llm
                            .reply(&id, history.clone(), options.clone())
                            .expect("queue question")
                            .finish()
                            .await
                            .expect("question");
                        history.push(message(ChatRole::Assistant, &question.text));

                        let started = Instant::now();
                        let transcript =
                            speech.transcribe(answer.clone()).await.expect("transcribe");
                        history.push(message(ChatRole::User, &transcript.text));
                        let mut stream = llm
                            .reply(&id, history, options.clone())
                            .expect("queue reply");
                        match stream.next().await {
                            Some(ReplyEvent::Delta(_)) => {}
                            Some(ReplyEvent::Done(result)) => {
                                result.expect("reply");
                            }
                            None => panic!("reply stream ended without a token"),
                        }
                        total += started.elapsed();
                        stream.cancel();
                        drop(stream);
                    }
                    total
                })
            })
        });
        report_memory(policy);
        if policy == WindowPolicy::Padded {
            bench_opening(&runtime, &llm, &options);
        }
    }
    group.finish();
}

/// A new interview's first reply (persona + the candidate's hello) to its first token: the
/// worker starts each new conversation from the shared persona's cached positions.
fn bench_opening(runtime: &tokio::runtime::Runtime, llm: &LlmWorker, options: &GenerateOptions) {
    let mut samples = Vec::new();
    runtime.block_on(async {
        for i in 0..12 {
            let messages = vec![
                message(ChatRole::System, INTERVIEWER_PERSONA),
                message(ChatRole::User, "Hello, I am ready to start."),
            ];
            let started = Instant::now();
            let mut stream = llm
                .reply(&format!("opening-{i}"), messages, options.clone())
                .expect("queue opening");
            let _ = stream.next().await;
            samples.push(started.elapsed());
            stream.cancel();
            let _ = stream.finish().await;
        }
    });
    samples.sort();
    eprintln!(
        "opening_first_token_new_conversation: median {:?}, fastest {:?} over {} new conversations",
        samples[samples.len() / 2],
        samples[0],
        samples.len()
    );
}

/// Peak and current resident memory of this process. After the first window policy it has held
/// one set of workers with both default models; later figures include freed memory the
/// allocator kept.
fn report_memory(after: WindowPolicy) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in status.lines() {
        if line.starts_with("VmHWM") || line.starts_with("VmRSS") {
            eprintln!("MEMORY after {after}: {line}");
        }
    }
}

criterion_group!(benches, bench_pipeline);
criterion_main!(benches);
