//! The inference workers on real weights: they run on their own threads, stream replies, keep
//! each conversation's KV cache between turns, refuse work when their queue is full, and stop a
//! reply when it is cancelled.

mod support;

use candle_core::Device;
use std::time::Instant;

use viva::inference::{ComputeGate, InferenceError, LlmWorker, Priority, ReplyEvent, SpeechWorker};
use viva::interview::conductor::follow_up_messages;
use viva::interview::live::writer::{cache_follow_up_prompt, FOLLOW_UP_CONVERSATION};
use viva::llm::{ChatMessage, ChatRole, GenerateOptions, LlmEngine, StopReason};
use viva::speech::audio::read_wav;
use viva::speech::wer::word_error_rate;
use viva::speech::whisper::WhisperEngine;

fn llm_worker(capacity: usize) -> LlmWorker {
    llm_worker_on(capacity, ComputeGate::default())
}

fn llm_worker_on(capacity: usize, gate: ComputeGate) -> LlmWorker {
    let models = support::test_models().expect("fetching the default models for tests");
    let engine = LlmEngine::load(&models.llm_file, &Device::Cpu).expect("loading the LLM");
    LlmWorker::start(engine, capacity, 8, gate).expect("starting the LLM worker")
}

fn speech_worker(capacity: usize) -> SpeechWorker {
    let models = support::test_models().expect("fetching the default models for tests");
    let engine = WhisperEngine::load(&models.whisper_dir, &Device::Cpu).expect("loading Whisper");
    SpeechWorker::start(engine, capacity, ComputeGate::default()).expect("starting the worker")
}

fn greedy(max_tokens: usize) -> GenerateOptions {
    GenerateOptions {
        max_tokens,
        temperature: 0.0,
        ..GenerateOptions::default()
    }
}

fn question() -> Vec<ChatMessage> {
    vec![
        ChatMessage::new(
            ChatRole::System,
            "You are a helpful assistant. Answer briefly.",
        ),
        ChatMessage::new(ChatRole::User, "What is the capital of France?"),
    ]
}

/// Caching the follow-up prompt once (as the server does at start) leaves every follow-up only
/// its own answer to run, not the ~400 tokens of instructions and examples before it.
#[test]
fn with_the_follow_up_prompt_cached_a_follow_up_runs_only_its_answer() {
    let worker = llm_worker(4);
    cache_follow_up_prompt(&worker).expect("caching the follow-up prompt");
    let shared = worker.stats().prompt_tokens;
    assert!(shared >= 100, "the shared prefix ran {shared} tokens");

    let answer = "I moved our integration tests to run in parallel, which cut the build from \
                  forty minutes to ten.";
    worker
        .reply(
            FOLLOW_UP_CONVERSATION,
            follow_up_messages(answer, Some("parallel tests")),
            greedy(8),
        )
        .expect("queued")
        .blocking_finish()
        .expect("the follow-up");
    let ran = worker.stats().prompt_tokens - shared;
    assert!(
        ran > 0 && ran * 4 < shared,
        "the follow-up ran {ran} prompt tokens; the shared prefix is {shared}"
    );
}

#[tokio::test]
async fn replies_stream_and_the_next_turn_reuses_the_cache() {
    let worker = llm_worker(4);
    let mut stream = worker
        .reply("interview-1", question(), greedy(24))
        .expect("queued");
    let mut streamed = String::new();
    let generation = loop {
        match stream.next().await.expect("the stream ends with Done") {
            ReplyEvent::Delta(text) => streamed.push_str(&text),
            ReplyEvent::Done(result) => break result.expect("reply"),
        }
    };
    assert_eq!(streamed, generation.text, "deltas add up to the reply");
    assert!(generation.text.contains("Paris"), "{:?}", generation.text);

    let mut history = question();
    history.push(ChatMessage::new(
        ChatRole::Assistant,
        generation.text.trim(),
    ));
    history.push(ChatMessage::new(ChatRole::User, "And of Italy?"));
    let second = worker
        .reply("interview-1", history.clone(), greedy(24))
        .expect("queued")
        .finish()
        .await
        .expect("second reply");
    assert!(
        second.reused_tokens >= generation.prompt_tokens,
        "second turn reused {} of {} tokens; the first prompt alone was {}",
        second.reused_tokens,
        second.prompt_tokens,
        generation.prompt_tokens
    );
    // A new conversation starts from the shared system prompt's cached positions and computes
    // the rest (exact equality with the cached turn is checked below the API, in
    // src/llm/engine.rs: kernels of different sizes round differently).
    let fresh = worker
        .reply("interview-2", history, greedy(24))
        .expect("queued")
        .finish()
        .await
        .expect("fresh reply");
    assert!(
        fresh.reused_tokens > 0 && fresh.reused_tokens < generation.prompt_tokens,
        "a new conversation reused {} tokens; the system prompt is shared, the turns are not",
        fresh.reused_tokens
    );
    assert_eq!(second.prompt_tokens, fresh.prompt_tokens);
    assert!(!second.text.trim().is_empty() && !fresh.text.trim().is_empty());
}

#[tokio::test]
async fn a_cancelled_reply_stops_early_and_the_worker_goes_on() {
    let worker = llm_worker(4);
    let mut stream = worker.reply("c", question(), greedy(200)).expect("queued");
    match stream.next().await {
        Some(ReplyEvent::Delta(_)) => stream.cancel(),
        other => panic!("expected a first delta, got {other:?}"),
    }
    let generation = stream.finish().await.expect("cancelled reply");
    assert_eq!(generation.stop, StopReason::Cancelled);
    assert!(generation.generated_tokens < 200);

    let after = worker
        .reply("d", question(), greedy(8))
        .expect("queued")
        .finish()
        .await
        .expect("the worker still answers");
    assert!(after.generated_tokens > 0);
}

/// While a reply is being written the worker keeps its place at the gate between its steps:
/// the voice (less urgent) waits for the reply to end instead of taking the cores between two
/// of its steps, and a transcription (more urgent) still goes first.
#[tokio::test]
async fn a_reply_being_written_keeps_less_urgent_work_out_but_not_more_urgent() {
    let gate = ComputeGate::default();
    let worker = llm_worker_on(4, gate.clone());
    let counting = vec![ChatMessage::new(
        ChatRole::User,
        "Count from 1 to 100, separated by commas.",
    )];
    let mut stream = worker.reply("c", counting, greedy(64)).expect("queued");
    assert!(
        matches!(stream.next().await, Some(ReplyEvent::Delta(_))),
        "the reply started"
    );
    let enter = |priority: Priority| {
        let gate = gate.clone();
        std::thread::spawn(move || {
            let _held = gate.lock(priority);
            Instant::now()
        })
    };
    let voice = enter(Priority::Voice);
    let transcription = enter(Priority::Transcription);
    let mut deltas = Vec::new();
    while let Some(event) = stream.next().await {
        match event {
            ReplyEvent::Delta(_) => deltas.push(Instant::now()),
            ReplyEvent::Done(result) => {
                result.expect("the reply was written");
                break;
            }
        }
    }
    assert!(
        deltas.len() >= 16,
        "too short a reply to test: {} pieces",
        deltas.len()
    );
    let after = |entered: Instant| deltas.iter().filter(|&&at| at > entered).count();
    let voice = after(voice.join().expect("the voice's thread"));
    let transcription = after(transcription.join().expect("the transcription's thread"));
    // The last piece may still be on its way to this task when the gate is let go.
    assert!(
        voice <= 1,
        "the voice took the gate between steps: {voice} pieces came after it"
    );
    assert!(
        transcription >= 4,
        "the transcription waited for the reply: {transcription} pieces came after it"
    );
}

#[tokio::test]
async fn a_full_queue_is_a_busy_error_not_a_wait() {
    let worker = llm_worker(1);
    let mut accepted = Vec::new();
    let mut busy = 0;
    for i in 0..4 {
        match worker.reply(&format!("q{i}"), question(), greedy(32)) {
            Ok(stream) => accepted.push(stream),
            Err(InferenceError::Busy("llm")) => busy += 1,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert!(
        busy >= 2,
        "one running and one queued at most; {busy} refused"
    );
    for stream in accepted {
        stream.finish().await.expect("accepted replies finish");
    }
}

#[tokio::test]
async fn the_speech_worker_transcribes_off_the_runtime() {
    let Some(jfk) = support::jfk() else {
        support::unavailable("jfk.wav from the npm package nodejs-whisper");
        return;
    };
    let worker = speech_worker(2);
    let samples = read_wav(&jfk).expect("jfk.wav");
    let transcript = worker.transcribe(samples).await.expect("transcript");
    let wer = word_error_rate(
        "and so my fellow americans ask not what your country can do for you ask what you can do for your country",
        &transcript.text,
    );
    assert!(wer <= 0.05, "WER {wer:.3}: {:?}", transcript.text);
}

/// Questions one of which the model answers at length (greedy, so the same every time).
const LONG_QUESTIONS: [&str; 4] = [
    "Write a long story about a dragon who learns to cook.",
    "Explain in detail how a computer works, step by step.",
    "List one hundred animals, one per line.",
    "Count from one to two hundred in words, separated by commas.",
];

fn ask(text: &str) -> Vec<ChatMessage> {
    vec![
        ChatMessage::new(
            ChatRole::System,
            "You are a helpful assistant. Answer briefly.",
        ),
        ChatMessage::new(ChatRole::User, text),
    ]
}

#[tokio::test]
async fn replies_written_together_are_the_replies_written_alone() {
    let worker = llm_worker(8);
    let questions = [
        "What is the capital of France?",
        "Name three primary colours.",
        "What does a compiler do?",
    ];
    let mut alone = Vec::new();
    for (i, question) in questions.iter().enumerate() {
        let generation = worker
            .reply(&format!("alone-{i}"), ask(question), greedy(40))
            .expect("queued")
            .finish()
            .await
            .expect("reply");
        alone.push(generation.text);
    }
    let before = worker.stats();
    let streams: Vec<_> = questions
        .iter()
        .enumerate()
        .map(|(i, question)| {
            worker
                .reply(&format!("together-{i}"), ask(question), greedy(40))
                .expect("queued")
        })
        .collect();
    let mut together = Vec::new();
    for stream in streams {
        together.push(stream.finish().await.expect("reply").text);
    }
    assert_eq!(
        together, alone,
        "greedy replies do not depend on their batch"
    );
    let after = worker.stats();
    let (steps, rows) = (
        after.steps - before.steps,
        after.step_rows - before.step_rows,
    );
    assert!(
        rows > steps,
        "three replies at once shared steps: {rows} replies advanced in {steps} steps"
    );
}

#[tokio::test]
async fn a_short_reply_does_not_wait_for_a_long_one_to_end() {
    let worker = llm_worker(8);
    let mut long_question = None;
    for question in LONG_QUESTIONS {
        let alone = worker
            .reply("trial", ask(question), greedy(160))
            .expect("queued")
            .finish()
            .await
            .expect("reply");
        if alone.stop == StopReason::MaxTokens {
            long_question = Some(question);
            break;
        }
    }
    let long_question = long_question.expect("one of the questions gets a 160-token answer");
    let mut long = worker
        .reply("long", ask(long_question), greedy(160))
        .expect("queued");
    match long.next().await {
        Some(ReplyEvent::Delta(_)) => {}
        other => panic!("expected the long reply's first delta, got {other:?}"),
    }
    let short = worker
        .reply("short", question(), greedy(4))
        .expect("queued")
        .finish()
        .await
        .expect("short reply");
    assert_eq!(short.generated_tokens, 4);
    let mut long_tokens_then = 0;
    let generation = loop {
        match long.next().await.expect("the long stream ends with Done") {
            ReplyEvent::Delta(_) => long_tokens_then += 1,
            ReplyEvent::Done(result) => break result.expect("long reply"),
        }
    };
    assert_eq!(
        generation.stop,
        StopReason::MaxTokens,
        "the long reply ran to its limit ({:?})",
        generation.text
    );
    assert!(
        long_tokens_then >= 20,
        "the short reply finished while the long one still had {long_tokens_then} deltas to write"
    );
}

#[tokio::test]
async fn requests_on_a_conversation_in_use_share_its_cached_prefix() {
    let worker = llm_worker(8);
    // Every live follow-up uses one conversation: its cache holds the instructions they share.
    worker
        .reply("follow-up", ask("Name one fruit."), greedy(8))
        .expect("queued")
        .finish()
        .await
        .expect("first reply");
    let system_tokens = 10;
    let streams: Vec<_> = ["Name one vegetable.", "Name one tree.", "Name one bird."]
        .iter()
        .map(|question| {
            worker
                .reply("follow-up", ask(question), greedy(8))
                .expect("queued")
        })
        .collect();
    for stream in streams {
        let generation = stream.finish().await.expect("reply");
        assert!(
            generation.reused_tokens >= system_tokens,
            "a request on the busy conversation reused {} of {} prompt tokens",
            generation.reused_tokens,
            generation.prompt_tokens
        );
    }
}

#[tokio::test]
async fn a_short_answer_is_transcribed_before_a_long_one_that_came_first() {
    let Some(jfk) = support::jfk() else {
        support::unavailable("jfk.wav from the npm package nodejs-whisper");
        return;
    };
    let worker = speech_worker(4);
    let sentence = read_wav(&jfk).expect("jfk.wav");
    // 88 s: three 30 s windows.
    let long: Vec<f32> = sentence
        .iter()
        .copied()
        .cycle()
        .take(sentence.len() * 8)
        .collect();
    let (finished_tx, mut finished_rx) = tokio::sync::mpsc::unbounded_channel();
    let long_task = {
        let (worker, finished) = (worker.clone(), finished_tx.clone());
        tokio::spawn(async move {
            let transcript = worker.transcribe(long).await;
            finished.send("long").unwrap_or(());
            transcript
        })
    };
    // The short answer arrives while the long one's first window is being transcribed.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let short = worker.transcribe(sentence).await.expect("short transcript");
    finished_tx.send("short").unwrap_or(());
    let long = long_task.await.expect("task").expect("long transcript");
    assert_eq!(
        finished_rx.recv().await,
        Some("short"),
        "the short answer waited"
    );
    assert_eq!(long.windows, 3);
    assert!(
        short.text.to_lowercase().contains("your country"),
        "{:?}",
        short.text
    );
    assert!(
        long.text.to_lowercase().matches("your country").count() >= 6,
        "every window of the long answer was transcribed: {:?}",
        long.text
    );
}
