//! `viva loadtest`: runs [`viva::loadtest`] with a progress bar and prints its table.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use viva::loadtest::{self, Plan, Report, TurnTiming};

#[derive(clap::Args)]
pub struct Options {
    /// The server, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub url: String,
    /// Candidates at once.
    #[arg(long, default_value_t = 4)]
    pub interviews: usize,
    /// Answers each candidate gives.
    #[arg(long, default_value_t = 3)]
    pub turns: usize,
    /// A folder of WAV recordings to answer with (any rate, mono or stereo). Default: the
    /// LibriVox sentences of Debian's `pocketsphinx-testdata`, fetched once with `apt-get
    /// download` (no root needed) into DATA_DIR/loadtest-audio.
    #[arg(long)]
    pub audio: Option<PathBuf>,
    /// How fast audio is sent, as a multiple of real time.
    #[arg(long, default_value_t = 1.0)]
    pub pace: f64,
    /// `email:password` lines to sign in with (default: register new accounts; a server
    /// allows 10 registrations per address per 15 minutes).
    #[arg(long)]
    pub accounts: Option<PathBuf>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// End answers the way a hands-free microphone does (silence until the server hears the
    /// answer end) instead of with `end_turn` (push-to-talk). Timings still start at the end of
    /// the speech, so they include the server's end-of-turn silence (turn_end_silence).
    #[arg(long)]
    pub hands_free: bool,
}

/// The Debian package whose LibriVox sentences are the default answers, and where they lie in it.
const DEFAULT_AUDIO_PACKAGE: &str = "pocketsphinx-testdata";
const DEFAULT_AUDIO_DIR: &str = "usr/share/pocketsphinx/test/data/librivox";

pub async fn run(options: Options, data_dir: &Path) -> anyhow::Result<()> {
    if options.interviews == 0 || options.turns == 0 {
        bail!("--interviews and --turns must be at least 1");
    }
    if !(0.1..=4.0).contains(&options.pace) {
        bail!("--pace must be between 0.1 and 4 (the server refuses audio faster than 4x)");
    }
    let audio = match &options.audio {
        Some(dir) => dir.clone(),
        None => default_audio(data_dir)?,
    };
    let answers = loadtest::read_answers(&audio)
        .with_context(|| format!("reading answers from {}", audio.display()))?;
    let accounts = match &options.accounts {
        Some(path) => loadtest::read_accounts(path)?,
        None => Vec::new(),
    };
    let plan = Plan {
        url: options.url.trim_end_matches('/').to_owned(),
        interviews: options.interviews,
        turns: options.turns,
        answers,
        pace: options.pace,
        accounts,
        seed: options.seed,
        hands_free: options.hands_free,
    };
    let total = (plan.interviews * plan.turns) as u64;
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} turns answered, {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = bar.clone();
    let report = loadtest::run(&plan, move || progress.inc(1)).await;
    bar.finish_and_clear();
    print_report(&plan, &report);
    if report.turns.is_empty() {
        bail!("no turn was answered");
    }
    Ok(())
}

/// A timing of a turn, picked from it.
type Pick = fn(&TurnTiming) -> Option<Duration>;

/// `first audio` only where the server speaks itself (`voice = local`).
const ROWS: [(&str, Pick); 4] = [
    ("transcript", |t| Some(t.transcript)),
    ("first reply_delta", |t| Some(t.first_delta)),
    ("whole reply", |t| Some(t.whole)),
    ("first audio", |t| t.first_audio),
];

/// The default answers: fetched once into `data_dir/loadtest-audio`.
fn default_audio(data_dir: &Path) -> anyhow::Result<PathBuf> {
    let package = data_dir.join("loadtest-audio").join(DEFAULT_AUDIO_PACKAGE);
    let answers = package.join(DEFAULT_AUDIO_DIR);
    if !answers.is_dir() {
        eprintln!(
            "fetching the default answers (LibriVox sentences from the Debian package \
             {DEFAULT_AUDIO_PACKAGE}) into {} …",
            package.display()
        );
        let work = data_dir.join("loadtest-audio").join("work");
        viva::fetch::deb::fetch(DEFAULT_AUDIO_PACKAGE, &package, &work).with_context(|| {
            format!("fetching {DEFAULT_AUDIO_PACKAGE}; give --audio DIR with WAV answers instead")
        })?;
    }
    Ok(answers)
}

fn print_report(plan: &Plan, report: &Report) {
    println!(
        "{} interviews × {} turns against {} (pace {}×, {}): {} turns answered, {} interviews \
         refused (server full or user limit), {} errors",
        plan.interviews,
        plan.turns,
        plan.url,
        plan.pace,
        if plan.hands_free {
            "hands-free"
        } else {
            "push-to-talk"
        },
        report.turns.len(),
        report.refused,
        report.errors.len()
    );
    println!(
        "{:<28} {:>9} {:>9} {:>9}",
        "from the end of the answer", "p50", "p95", "max"
    );
    let print_row = |name: &str, [p50, p95, max]: [Duration; 3]| {
        println!(
            "{name:<28} {:>8.2}s {:>8.2}s {:>8.2}s",
            p50.as_secs_f64(),
            p95.as_secs_f64(),
            max.as_secs_f64()
        );
    };
    for (name, pick) in ROWS {
        if let Some(row) = report.summary(pick) {
            print_row(name, row);
        }
    }
    // Per interview: its last answers' feedback and the report, after the last answer.
    if let Some(row) = report.ending_summary() {
        print_row("ended (report ready)", row);
    }
    for error in &report.errors {
        eprintln!("error: {error}");
    }
}
