//! The `viva` command line: what it accepts (here) and one module per command.

pub mod admin;
pub mod chat;
pub mod eval;
pub mod loadtest;
pub mod models;
pub mod serve;
pub mod transcribe;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use viva::config::Settings;

#[derive(Parser)]
#[command(
    name = "viva",
    version,
    about = "Self-hosted realtime AI voice interviewer"
)]
#[command(after_help = Settings::help_text())]
pub struct Cli {
    /// Config file (default: ./viva.toml when it exists).
    #[arg(long, env = "VIVA_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the app (the default when no command is given).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Transcribe recordings (WAV, FLAC, MP3, Ogg Vorbis/Opus, WebM) with the speech model: one
    /// `PATH<TAB>TEXT` line per file on standard output (then, for a recording cut into
    /// several segments at its silences, one `  [m:ss.s → m:ss.s] TEXT` line per segment),
    /// timings on standard error.
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
    /// Many candidates at once against a running server: each signs in, plans an interview and
    /// answers with real recordings at real-time pace; prints p50/p95/max of the transcript,
    /// the first reply_delta and the whole reply, from the end of each answer.
    Loadtest(loadtest::Options),
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
pub enum AdminCommand {
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
pub enum EvalCommand {
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
    /// Speak every question of the bank with the interviewer's voice (one sentence at a time,
    /// as in an interview), transcribe the audio with the speech model and print the word
    /// error rate against the question as written (overall, and for the questions with the
    /// most errors) and the voice's real-time factor; progress on standard error. Exits
    /// non-zero when the word error rate is over 5% (not checked with --question).
    Voice(eval::VoiceOptions),
}

#[derive(Subcommand)]
pub enum ModelsCommand {
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
