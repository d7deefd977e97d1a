//! The `viva` command line.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use viva::auth::accounts::Registration;
use viva::auth::hashing::{HashLimits, Hasher};
use viva::auth::Accounts;
use viva::config::Settings;
use viva::db::{self, DbPool, PoolOptions};
use viva::domain::Role;
use viva::inference::device::candle_device;
use viva::speech::whisper::{WhisperEngine, WindowPolicy};
use viva::speech::{audio, mel, SpeechError};
use viva::startup::Application;

#[derive(Parser)]
#[command(
    name = "viva",
    version,
    about = "Self-hosted realtime AI voice interviewer"
)]
#[command(after_help = Settings::help_text())]
struct Cli {
    /// Config file (default: ./viva.toml when it exists).
    #[arg(long, env = "VIVA_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the app (the default when no command is given).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Transcribe WAV files with the speech model: one `PATH<TAB>TEXT` line per file on
    /// standard output, timings on standard error.
    Transcribe {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// How much audio the encoder sees: `padded` (the full 30 s window) or `audio` (only
        /// the audio's length). Default: the speech_window setting.
        #[arg(long)]
        window: Option<String>,
    },
    /// Talk with the interviewer in the terminal (the reply streams as it is generated).
    Chat {
        /// GGUF model file (default: the configured llm_model).
        #[arg(long)]
        model: Option<PathBuf>,
        #[arg(long)]
        seed: Option<u64>,
        /// 0 is greedy (deterministic).
        #[arg(long)]
        temperature: Option<f64>,
    },
    /// Measure the interviewer (the language model with its scaffolding) on fixed answers.
    Eval {
        #[command(subcommand)]
        command: EvalCommand,
    },
    /// Fetch, verify and convert model files.
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
    /// Manage accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Internal: read an upload's text from standard input under resource limits (the server
    /// runs this in a child process for every PDF or Word upload).
    #[command(name = "read-upload", hide = true)]
    ReadUpload {
        /// pdf or docx.
        kind: String,
        #[arg(long)]
        memory_bytes: u64,
        #[arg(long)]
        cpu_seconds: u64,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an account (or change an existing account's role). The password is read from
    /// standard input when it is not a terminal, otherwise prompted for twice.
    Create {
        #[arg(long)]
        email: String,
        /// candidate, recruiter or admin.
        #[arg(long, default_value = "admin")]
        role: String,
        #[arg(long, default_value = "Administrator")]
        display_name: String,
    },
}

#[derive(Subcommand)]
enum EvalCommand {
    /// Run every evaluation answer through the interviewer and check each turn: in role, one
    /// question, under 60 words, a follow-up that refers to the answer. Exits non-zero when a
    /// criterion passes under 90% of turns.
    Conduct {
        /// GGUF model file (default: the configured llm_model).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Evaluation answers (default: the bundled conduct_answers.toml).
        #[arg(long)]
        cases: Option<PathBuf>,
        /// Seed of the first attempt (a retry uses the next one).
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Print every turn, its source and any rejected model output.
        #[arg(long)]
        verbose: bool,
    },
    /// Score every answer of the graded set (src/interview/eval/judgement_answers.toml,
    /// labelled 1-5 by the team) and print how well the scores track the labels: Spearman and
    /// mean absolute error per split, mean score per kind of answer, the confusion of scores,
    /// seconds per assessment, and how far any score moved when everything is scored a
    /// second time. Exits non-zero when a target is missed.
    Judgement {
        /// Sentence encoder directory (default: the configured encoder_model).
        #[arg(long)]
        encoder: Option<PathBuf>,
        /// Judge model GGUF file (default: the configured judge_model).
        #[arg(long)]
        judge: Option<PathBuf>,
        /// Score without the judge (the encoder alone), for comparison.
        #[arg(long)]
        no_judge: bool,
        /// Score everything a second time and report how far any answer's score moved (the
        /// method has no sampling, so nothing should move).
        #[arg(long)]
        repeat: bool,
        /// `tune`, `heldout` or `all`.
        #[arg(long, default_value = "all")]
        split: String,
        /// Print every answer's label and score (and the judge's per-point probabilities).
        #[arg(long)]
        verbose: bool,
        /// Score only this answer (by id, e.g. ja-023; repeat for several), for studying one.
        #[arg(long = "answer", value_name = "ID")]
        answers: Vec<String>,
        /// Also write each answer's evidence (per-point similarity, relevance, own words,
        /// flags) to this file as JSON lines, for studying the method.
        #[arg(long)]
        evidence: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// Fetch the default models that are missing from models_dir and print where they are.
    Fetch,
    /// Check the models' files against the sha256 values recorded when they were fetched.
    Verify,
    /// Convert a CTranslate2 Whisper model (model.bin, config.json, tokenizer.json) to
    /// config.json, tokenizer.json and model.safetensors.
    ConvertCt2 {
        /// The CTranslate2 model's directory.
        dir: PathBuf,
        /// Where to write (default: the configured whisper_model directory).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::ReadUpload {
        kind,
        memory_bytes,
        cpu_seconds,
    }) = &cli.command
    {
        // Before settings and logging: the child reads nothing but its input.
        return match viva::hiring::resume_reader::serve_child(kind, *memory_bytes, *cpu_seconds) {
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
        } => chat(&settings, model, seed, temperature),
        Command::Transcribe { files, window } => transcribe(&settings, &files, window.as_deref()),
        Command::Eval {
            command:
                EvalCommand::Conduct {
                    model,
                    cases,
                    seed,
                    verbose,
                },
        } => eval_conduct(&settings, model, cases, seed, verbose),
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
        } => eval_judgement(
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

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Chat { .. } | Command::Transcribe { .. } | Command::Eval { .. } => {
            bail!("model commands run outside the async runtime")
        }
        Command::ReadUpload { .. } => bail!("read-upload runs before the async runtime"),
        Command::Serve => {
            let app = Application::build(settings).await?;
            println!("viva is serving on {}", app.public_url());
            app.run_until_stopped().await?;
            Ok(())
        }
        Command::Migrate => {
            let database = settings.database();
            let ran = db::migrate(&database).await?;
            println!("{ran} migration(s) applied to {database}");
            Ok(())
        }
        Command::Models { command } => run_models(command, &settings),
        Command::Admin {
            command:
                AdminCommand::Create {
                    email,
                    role,
                    display_name,
                },
        } => {
            let role = Role::parse(&role)?;
            let password = read_password()?;
            let database = settings.database();
            db::migrate(&database).await?;
            let pool = DbPool::connect(
                &database,
                &PoolOptions {
                    max_size: 1,
                    timeout: settings.db_timeout,
                },
            )?;
            let limits = HashLimits::new(
                settings.password_hash_concurrency,
                settings.password_hash_queue,
            );
            let accounts = Accounts::new(pool, Hasher::new(limits)?);
            let (user, created) = accounts
                .create_or_promote(Registration {
                    email: &email,
                    password: &password,
                    display_name: &display_name,
                    role,
                })
                .await?;
            let verb = if created {
                "created"
            } else {
                "updated (password unchanged)"
            };
            println!("{verb} {} <{}> as {}", user.id, user.email, user.role);
            Ok(())
        }
    }
}

fn transcribe(settings: &Settings, files: &[PathBuf], window: Option<&str>) -> anyhow::Result<()> {
    let window = match window {
        Some(text) => text
            .parse::<WindowPolicy>()
            .map_err(|e| anyhow::anyhow!("--window {text}: {e}"))?,
        None => settings.speech_window,
    };
    let device = candle_device(settings.device)?;
    let model_dir = settings.whisper_model_dir();
    let started = Instant::now();
    let mut engine = WhisperEngine::load(&model_dir, &device)
        .with_context(|| format!("loading the speech model from {}", model_dir.display()))?;
    engine.window_policy = window;
    eprintln!(
        "loaded {} in {:.2} s ({window} window)",
        model_dir.display(),
        started.elapsed().as_secs_f64()
    );
    let mut failed = 0;
    for file in files {
        let started = Instant::now();
        let result = audio::read_wav(file)
            .map_err(SpeechError::from)
            .and_then(|samples| Ok((samples.len(), engine.transcribe(&samples)?)));
        match result {
            Ok((samples, transcript)) => {
                println!("{}\t{}", file.display(), transcript.text);
                let audio_s = samples as f64 / mel::SAMPLE_RATE as f64;
                let total = started.elapsed().as_secs_f64();
                eprintln!(
                    "{}: {audio_s:.1} s of audio in {total:.2} s (mel {:.0} ms, encoder {:.0} ms, decoder {:.0} ms; {:.1}× real time)",
                    file.display(),
                    transcript.mel_time.as_secs_f64() * 1e3,
                    transcript.encode_time.as_secs_f64() * 1e3,
                    transcript.decode_time.as_secs_f64() * 1e3,
                    audio_s / total.max(1e-9),
                );
            }
            Err(e) => {
                failed += 1;
                eprintln!("{}: error: {e}", file.display());
            }
        }
    }
    if failed > 0 {
        bail!(
            "{failed} of {} file(s) could not be transcribed",
            files.len()
        );
    }
    Ok(())
}

fn run_models(command: ModelsCommand, settings: &Settings) -> anyhow::Result<()> {
    match command {
        ModelsCommand::Fetch => {
            let models = viva::fetch::ensure_default_models(&settings.models_dir)?;
            println!("whisper\t{}", models.whisper_dir.display());
            println!("llm\t{}", models.llm_file.display());
            println!("encoder\t{}", models.encoder_dir.display());
            println!("judge\t{}", models.judge_file.display());
        }
        ModelsCommand::Verify => {
            let checks = viva::fetch::verify(&settings.models_dir)?;
            if checks.is_empty() {
                bail!(
                    "no model files recorded in {}; run `viva models fetch`",
                    settings.models_dir.display()
                );
            }
            let mut bad = 0;
            for check in &checks {
                let state = match (&check.actual, check.ok()) {
                    (None, _) => "MISSING",
                    (Some(_), false) => "MISMATCH",
                    (Some(_), true) if check.pinned => "ok (pinned)",
                    (Some(_), true) => "ok",
                };
                bad += usize::from(!check.ok());
                println!("{state}\t{}", check.path);
            }
            if bad > 0 {
                bail!("{bad} model file(s) failed verification");
            }
        }
        ModelsCommand::ConvertCt2 { dir, out } => {
            let out = out.unwrap_or_else(|| settings.whisper_model_dir());
            let report = viva::fetch::convert_ct2_dir(&dir, &out)?;
            println!(
                "wrote {} tensors to {}",
                report.tensor_count,
                report.out_dir.display()
            );
        }
    }
    Ok(())
}

fn chat(
    settings: &Settings,
    model: Option<PathBuf>,
    seed: Option<u64>,
    temperature: Option<f64>,
) -> anyhow::Result<()> {
    use std::io::Write;
    use std::ops::ControlFlow;
    use viva::llm::{ChatMessage, ChatRole, GenerateOptions, LlmEngine};

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

fn eval_conduct(
    settings: &Settings,
    model: Option<PathBuf>,
    cases: Option<PathBuf>,
    seed: u64,
    verbose: bool,
) -> anyhow::Result<()> {
    use viva::interview::conductor::{Conductor, EngineWriter};
    use viva::interview::eval;
    use viva::llm::LlmEngine;

    let cases_text = match &cases {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => eval::BUNDLED_CASES.to_owned(),
    };
    let cases_name = cases.as_ref().map_or_else(
        || "bundled conduct_answers.toml".to_owned(),
        |p| p.display().to_string(),
    );
    let cases = eval::parse_cases(&cases_text).with_context(|| format!("parsing {cases_name}"))?;
    let path = model.unwrap_or_else(|| settings.llm_model_file());
    let device = candle_device(settings.device)?;
    let engine = LlmEngine::load(&path, &device)
        .with_context(|| format!("loading the language model {}", path.display()))?;
    let started = Instant::now();
    let mut conductor = Conductor::new(EngineWriter::new(engine), seed);
    let report = eval::run(&mut conductor, &cases, |result| {
        if verbose {
            eprint!("{}", eval::describe(result));
        }
    });
    println!(
        "viva eval conduct: {} answers from {cases_name}, model {}, seed {seed}, {:.0} s\n",
        cases.len(),
        path.display(),
        started.elapsed().as_secs_f64()
    );
    print!("{}", report.table());
    let failing = report.failing();
    if !failing.is_empty() {
        bail!("under target: {}", failing.join(", "));
    }
    Ok(())
}

fn eval_judgement(
    settings: &Settings,
    encoder: Option<PathBuf>,
    judge: Option<PathBuf>,
    (split, only): (&str, &[String]),
    (verbose, repeat): (bool, bool),
    evidence: Option<PathBuf>,
) -> anyhow::Result<()> {
    use viva::embedding::SentenceEncoder;
    use viva::inference::{ComputeGate, SharedJudge};
    use viva::interview::eval::judgement::{self, GradedSet, Split};
    use viva::interview::feedback::assess;
    use viva::interview::feedback::assessment::Evidence;
    use viva::interview::feedback::judge::Judge;
    use viva::interview::feedback::signals::{grader_directed, RubricEcho};
    use viva::llm::LlmEngine;

    let splits = match split {
        "all" => vec![Split::Tune, Split::Heldout],
        "tune" => vec![Split::Tune],
        "heldout" => vec![Split::Heldout],
        other => bail!("--split {other}: expected tune, heldout or all"),
    };
    let mut set = GradedSet::bundled().context("the bundled graded set")?;
    if !only.is_empty() {
        if let Some(unknown) = only
            .iter()
            .find(|id| !set.answers.iter().any(|a| &a.id == *id))
        {
            bail!("--answer {unknown}: the graded set has no such answer");
        }
        set.answers.retain(|a| only.contains(&a.id));
    }
    let path = encoder.unwrap_or_else(|| settings.encoder_model_dir());
    let device = candle_device(settings.device)?;
    let encoder = SentenceEncoder::load(&path, &device)
        .with_context(|| format!("loading the sentence encoder {}", path.display()))?;
    let judge = match &judge {
        Some(path) => Some(SharedJudge::new(
            LlmEngine::load(path, &device)
                .with_context(|| format!("loading the judge model {}", path.display()))?,
            ComputeGate::default(),
        )),
        None => None,
    };
    let judge = judge.map(RecordingJudge::new);
    let judge_ref = judge.as_ref().map(|j| j as &dyn Judge);
    let started = Instant::now();
    let score_all = |show: bool| {
        judgement::run(
            &set,
            &splits,
            |q, a| assess(&encoder, judge_ref, &q.text, &q.rubric, &a.answer).score,
            |s| {
                if show {
                    let stated = judge.as_ref().map_or(String::new(), |j| {
                        let points = j
                            .take_last()
                            .iter()
                            .map(|p| format!("{p:.2}"))
                            .collect::<Vec<_>>();
                        if points.is_empty() {
                            ", judge not run".to_owned()
                        } else {
                            format!(", judge {}", points.join(" "))
                        }
                    });
                    eprintln!(
                        "{} {} ({}): label {} score {} ({:.2} s{stated})",
                        s.answer.id,
                        s.answer.question_id,
                        s.answer.kind,
                        s.answer.label,
                        s.score,
                        s.seconds
                    );
                }
            },
        )
    };
    let report = score_all(verbose);
    println!(
        "viva eval judgement: {} answers, encoder {}, judge {}, {:.0} s\n",
        report.scored.len(),
        path.display(),
        judge
            .as_ref()
            .map_or("none".to_owned(), |_| "loaded".to_owned()),
        started.elapsed().as_secs_f64()
    );
    print!("{}", report.table());
    let mut missed = report.missed_targets();
    if repeat {
        let again = score_all(false);
        let moved = report
            .scored
            .iter()
            .zip(&again.scored)
            .map(|(a, b)| a.score.abs_diff(b.score))
            .max()
            .unwrap_or(0);
        println!("\nlargest move of one answer's score between two runs: {moved}");
        if moved > 1 {
            missed.push(format!("a score moved by {moved} between runs"));
        }
    }
    if let Some(out) = evidence {
        let mut lines = String::new();
        for answer in &set.answers {
            let Some(q) = set.question(&answer.question_id) else {
                continue;
            };
            let found = Evidence::gather(&encoder, &q.text, &q.rubric, &answer.answer)?;
            let echo = RubricEcho::measure(&answer.answer, &q.text, &q.rubric);
            let line = serde_json::json!({
                "id": answer.id, "kind": answer.kind, "label": answer.label,
                "split": format!("{:?}", q.split).to_lowercase(),
                "point_similarity": found.point_similarity, "relevance": found.relevance,
                "own_words": echo.own_words,
                "rubric_pairs_repeated": echo.rubric_pairs_repeated,
                "answer_from_rubric": echo.answer_from_rubric,
                "grader_directed": grader_directed(&answer.answer).is_some(),
            });
            lines.push_str(&format!("{line}\n"));
        }
        std::fs::write(&out, lines).with_context(|| format!("writing {}", out.display()))?;
        println!("evidence of every answer written to {}", out.display());
    }
    if !only.is_empty() {
        println!("\ntargets not checked: --answer scores only part of the set");
        Ok(())
    } else if missed.is_empty() {
        println!("\nall targets met");
        Ok(())
    } else {
        bail!("targets missed: {}", missed.join("; "))
    }
}

/// A judge that keeps its last answer's per-point probabilities, for `eval judgement --verbose`.
struct RecordingJudge {
    judge: viva::inference::SharedJudge,
    last: std::cell::RefCell<Vec<f32>>,
}

impl RecordingJudge {
    fn new(judge: viva::inference::SharedJudge) -> Self {
        Self {
            judge,
            last: Default::default(),
        }
    }

    /// The last answer's probabilities (empty when the judge did not run, e.g. for a flagged
    /// answer).
    fn take_last(&self) -> Vec<f32> {
        self.last.take()
    }
}

impl viva::interview::feedback::judge::Judge for RecordingJudge {
    fn points_stated(
        &self,
        question: &str,
        answer: &str,
        rubric: &[String],
    ) -> Result<Vec<f32>, viva::llm::LlmError> {
        let stated = self.judge.points_stated(question, answer, rubric)?;
        self.last.replace(stated.clone());
        Ok(stated)
    }
}

fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Repeat password: ")?;
        if first != second {
            bail!("the two passwords differ");
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(password)
}
