//! LLM benchmarks on SmolLM2-135M-Instruct Q8_0 (CPU): first token of a ~300-token prompt,
//! first token of a second turn with the conversation's cache, and greedy decode of 64
//! tokens. When `VIVA_BENCH_PYTHON` names a Python with `llama_cpp` installed, llama.cpp runs
//! the same file, tokens and thread count in the same process run
//! (benches/reference/llama_cpp_llm.py) and the ratios are printed.
//!
//! Run: `cargo bench --bench llm` (model: `VIVA_BENCH_LLM_MODEL`, default
//! target/test-models/SmolLM2-135M-Instruct.Q8_0.gguf; threads: `RAYON_NUM_THREADS`).

use std::io::Write;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use candle_core::Device;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use viva::llm::{ChatMessage, ChatRole, Conversation, GenerateOptions, Generation, LlmEngine};

const DECODE_TOKENS: usize = 64;

fn model_file() -> PathBuf {
    std::env::var_os("VIVA_BENCH_LLM_MODEL").map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("target/test-models/SmolLM2-135M-Instruct.Q8_0.gguf")
        },
        PathBuf::from,
    )
}

/// A system prompt and a candidate's answer: about 300 tokens.
fn first_turn() -> Vec<ChatMessage> {
    vec![
        ChatMessage::new(
            ChatRole::System,
            viva::interview::prompts::INTERVIEWER_PERSONA,
        ),
        ChatMessage::new(ChatRole::User, "Hello, I am ready to start the interview."),
        ChatMessage::new(
            ChatRole::Assistant,
            "Welcome. Could you describe a project you are proud of and the part you played in it?",
        ),
        ChatMessage::new(
            ChatRole::User,
            "Last year I led the migration of our billing system from a monolith to three \
             services. The old system ran nightly batch jobs that often failed at month end, and \
             every failure meant two engineers spent a day reconciling invoices by hand. I wrote \
             the migration plan, split the work into six milestones, and paired with each of the \
             four developers on the first service so that we agreed on the patterns early. We \
             kept both systems running side by side for two months and compared every invoice \
             they produced; that found eleven rounding bugs in the old code that customers had \
             never noticed. The hardest part was not technical: the finance team depended on \
             reports that only the monolith produced, so I sat with them for a week to learn \
             which numbers they really used and we rebuilt those first. In the end the month-end \
             failures stopped completely, the invoice run went from four hours to twenty \
             minutes, and the on-call load for the team dropped by about half. If I did it \
             again I would involve finance from the first day instead of the third milestone.",
        ),
    ]
}

fn second_turn(first_reply: &str) -> Vec<ChatMessage> {
    let mut messages = first_turn();
    messages.push(ChatMessage::new(ChatRole::Assistant, first_reply));
    messages.push(ChatMessage::new(
        ChatRole::User,
        "We measured it with the incident tracker over the following quarter.",
    ));
    messages
}

fn run(
    engine: &LlmEngine,
    conversation: &mut Conversation,
    messages: &[ChatMessage],
    max_tokens: usize,
) -> Generation {
    let options = GenerateOptions {
        max_tokens,
        temperature: 0.0,
        repeat_penalty: 1.0,
        ..GenerateOptions::default()
    };
    engine
        .generate(conversation, messages, &options, &mut |_| {
            ControlFlow::Continue(())
        })
        .expect("generation")
}

/// A conversation that holds the first turn and the reply `reply` (as the worker would have
/// it after that turn).
fn after_first_turn(engine: &LlmEngine) -> (Conversation, String) {
    let mut conversation = engine.new_conversation();
    let reply = run(engine, &mut conversation, &first_turn(), 24).text;
    (conversation, reply)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

struct Numbers {
    prefill_ms: f64,
    second_turn_ms: f64,
    decode_tokens_per_s: f64,
}

fn measure_viva(engine: &LlmEngine, runs: usize) -> Numbers {
    let (mut prefill, mut second, mut decode) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let started = std::time::Instant::now();
        run(engine, &mut engine.new_conversation(), &first_turn(), 1);
        prefill.push(started.elapsed().as_secs_f64() * 1000.0);

        let generation = run(
            engine,
            &mut engine.new_conversation(),
            &first_turn(),
            DECODE_TOKENS,
        );
        assert_eq!(
            generation.generated_tokens, DECODE_TOKENS,
            "{}",
            generation.text
        );
        decode.push(DECODE_TOKENS as f64 / generation.decode_time.as_secs_f64());

        let (mut conversation, reply) = after_first_turn(engine);
        let started = std::time::Instant::now();
        run(engine, &mut conversation, &second_turn(&reply), 1);
        second.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Numbers {
        prefill_ms: median(prefill),
        second_turn_ms: median(second),
        decode_tokens_per_s: median(decode),
    }
}

fn measure_llama_cpp(
    engine: &LlmEngine,
    mut reference: Command,
    threads: usize,
    runs: usize,
) -> Numbers {
    let prompt = engine.render(&first_turn()).expect("render");
    let (conversation, reply) = after_first_turn(engine);
    let second = engine.render(&second_turn(&reply)).expect("render");
    // Like viva's cache, llama.cpp has already evaluated the first prompt and the reply.
    let common = conversation.cached_tokens().min(second.len() - 1);
    let job = serde_json::json!({
        "model": model_file(),
        "threads": threads,
        "prompt": prompt,
        "history": &second[..common],
        "second_turn": &second[common..],
        "decode_tokens": DECODE_TOKENS,
        "runs": runs,
    });
    let mut child = reference
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting the llama.cpp reference");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(job.to_string().as_bytes())
        .expect("writing the job");
    let output = child.wait_with_output().expect("llama.cpp reference");
    assert!(output.status.success(), "llama.cpp reference failed");
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let number = |key: &str| result[key].as_f64().expect(key);
    Numbers {
        prefill_ms: number("prefill_ms"),
        second_turn_ms: number("second_turn_ms"),
        decode_tokens_per_s: number("decode_tokens_per_s"),
    }
}

/// The llama.cpp reference runner: llama-cpp-python when VIVA_BENCH_PYTHON names a Python that
/// has it, else node-llama-cpp's prebuilt binaries when installed under benches/reference.
fn llama_cpp_reference() -> Option<Command> {
    let reference = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/reference");
    if let Ok(python) = std::env::var("VIVA_BENCH_PYTHON") {
        let mut command = Command::new(python);
        command.arg(format!("{reference}/llama_cpp_llm.py"));
        return Some(command);
    }
    let installed = PathBuf::from(reference)
        .join("node_modules/node-llama-cpp")
        .is_dir();
    installed.then(|| {
        let mut command = Command::new("node");
        command.arg(format!("{reference}/llama_cpp_llm.mjs"));
        command
    })
}

fn compare_with_llama_cpp(engine: &LlmEngine) {
    let Some(reference) = llama_cpp_reference() else {
        println!(
            "llama.cpp reference skipped: run `npm install --prefix benches/reference` (prebuilt \
             llama.cpp through node-llama-cpp) or set VIVA_BENCH_PYTHON to a Python with llama_cpp"
        );
        return;
    };
    let threads = candle_core::utils::get_num_threads();
    let runs = 5;
    let ours = measure_viva(engine, runs);
    let reference = measure_llama_cpp(engine, reference, threads, runs);
    let prompt_tokens = engine.render(&first_turn()).map_or(0, |p| p.len());
    println!(
        "LLM vs llama.cpp, {threads} threads, medians of {runs} runs, {prompt_tokens}-token prompt"
    );
    println!(
        "  first token      viva {:8.1} ms   llama.cpp {:8.1} ms   llama.cpp/viva speed {:.2}",
        ours.prefill_ms,
        reference.prefill_ms,
        reference.prefill_ms / ours.prefill_ms
    );
    println!(
        "  second turn      viva {:8.1} ms   llama.cpp {:8.1} ms   speed ratio {:.2}",
        ours.second_turn_ms,
        reference.second_turn_ms,
        reference.second_turn_ms / ours.second_turn_ms
    );
    println!(
        "  decode           viva {:8.1} t/s  llama.cpp {:8.1} t/s  viva/llama.cpp {:.2}",
        ours.decode_tokens_per_s,
        reference.decode_tokens_per_s,
        ours.decode_tokens_per_s / reference.decode_tokens_per_s
    );
}

fn llm(c: &mut Criterion) {
    let path = model_file();
    let engine = LlmEngine::load(&path, &Device::Cpu).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run the model fetcher or set VIVA_BENCH_LLM_MODEL)",
            path.display()
        )
    });
    compare_with_llama_cpp(&engine);

    let mut group = c.benchmark_group("llm");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    let prompt_tokens = engine.render(&first_turn()).map_or(0, |p| p.len());
    group.throughput(Throughput::Elements(prompt_tokens as u64));
    group.bench_function(format!("first_token_{prompt_tokens}_token_prompt"), |b| {
        b.iter(|| run(&engine, &mut engine.new_conversation(), &first_turn(), 1))
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("first_token_second_turn_cached", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (mut conversation, reply) = after_first_turn(&engine);
                let messages = second_turn(&reply);
                let started = std::time::Instant::now();
                run(&engine, &mut conversation, &messages, 1);
                total += started.elapsed();
            }
            total
        })
    });
    group.throughput(Throughput::Elements(DECODE_TOKENS as u64));
    group.bench_function(format!("decode_{DECODE_TOKENS}_tokens"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let generation = run(
                    &engine,
                    &mut engine.new_conversation(),
                    &first_turn(),
                    DECODE_TOKENS,
                );
                assert_eq!(generation.generated_tokens, DECODE_TOKENS);
                total += generation.decode_time;
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, llm);
criterion_main!(benches);
