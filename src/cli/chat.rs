//! `viva chat`: talk with the interviewer model in the terminal.

use std::io::{BufRead, Write};
use std::ops::ControlFlow;
use std::path::PathBuf;

use viva::config::Settings;
use viva::inference::device::candle_device;
use viva::llm::{ChatMessage, ChatRole, GenerateOptions, LlmEngine};

pub fn run(
    settings: &Settings,
    model: Option<PathBuf>,
    seed: Option<u64>,
    temperature: Option<f64>,
) -> anyhow::Result<()> {
    let path = model.unwrap_or_else(|| settings.llm_model_file());
    let device = candle_device(settings.device)?;
    let engine = LlmEngine::load(&path, &device)?;
    let mut options = GenerateOptions::default();
    if let Some(seed) = seed {
        options.seed = seed;
    }
    if let Some(temperature) = temperature {
        options.temperature = temperature;
    }
    eprintln!(
        "{} loaded. Answer after each question; an empty line ends.",
        path.display()
    );
    let mut conversation = engine.new_conversation();
    let mut messages = vec![
        ChatMessage::new(
            ChatRole::System,
            viva::interview::prompts::INTERVIEWER_PERSONA,
        ),
        ChatMessage::new(ChatRole::User, "Hello, I am ready to start the interview."),
    ];
    let stdin = std::io::stdin();
    loop {
        print!("\ninterviewer> ");
        std::io::stdout().flush()?;
        let generation = engine.generate(&mut conversation, &messages, &options, &mut |delta| {
            print!("{delta}");
            let _ = std::io::stdout().flush();
            ControlFlow::Continue(())
        })?;
        println!();
        eprintln!(
            "[{} prompt tokens, {} reused, prefill {:.0} ms; {} tokens in {:.0} ms]",
            generation.prompt_tokens,
            generation.reused_tokens,
            generation.prefill_time.as_secs_f64() * 1000.0,
            generation.generated_tokens,
            generation.decode_time.as_secs_f64() * 1000.0,
        );
        messages.push(ChatMessage::new(
            ChatRole::Assistant,
            generation.text.trim(),
        ));
        print!("\nyou> ");
        std::io::stdout().flush()?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 || line.trim().is_empty() {
            return Ok(());
        }
        messages.push(ChatMessage::new(ChatRole::User, line.trim()));
    }
}
