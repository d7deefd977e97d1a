//! The `viva` command line: parses the command and hands it to its module in `cli/`.

mod cli;

use std::process::ExitCode;

use anyhow::bail;
use clap::Parser;

use cli::{Cli, Command, EvalCommand};
use viva::config::Settings;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::ReadUpload {
        kind,
        memory_bytes,
        cpu_seconds,
    }) = &cli.command
    {
        // Before settings and logging: the child reads nothing but its input.
        return match viva::resume::reader::serve_child(kind, *memory_bytes, *cpu_seconds) {
            Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    viva::telemetry::init_tracing(&settings);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Chat {
            model,
            seed,
            temperature,
        } => cli::chat::run(&settings, model, seed, temperature),
        Command::Transcribe { files, window } => {
            cli::transcribe::run(&settings, &files, window.as_deref())
        }
        Command::Eval {
            command:
                EvalCommand::Conduct {
                    model,
                    cases,
                    seed,
                    verbose,
                },
        } => cli::eval::conduct(&settings, model, cases, seed, verbose),
        Command::Eval {
            command:
                EvalCommand::Judgement {
                    encoder,
                    judge,
                    no_judge,
                    repeat,
                    split,
                    verbose,
                    answers,
                    evidence,
                },
        } => cli::eval::judgement(
            &settings,
            encoder,
            if no_judge {
                None
            } else {
                judge.or_else(|| settings.judge_model_file())
            },
            (&split, &answers),
            (verbose, repeat),
            evidence,
        ),
        Command::Eval {
            command: EvalCommand::Voice(options),
        } => cli::eval::voice(&settings, options),
        command => actix_web::rt::System::new().block_on(run(command, settings)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The commands that need the async runtime.
async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => cli::serve::serve(settings).await,
        Command::Migrate => cli::serve::migrate(&settings).await,
        Command::Models { command } => cli::models::run(command, &settings),
        Command::Admin { command } => cli::admin::run(command, &settings).await,
        Command::Loadtest(options) => cli::loadtest::run(options, &settings.data_dir).await,
        Command::Chat { .. } | Command::Transcribe { .. } | Command::Eval { .. } => {
            bail!("model commands run outside the async runtime")
        }
        Command::ReadUpload { .. } => bail!("read-upload runs before the async runtime"),
    }
}
