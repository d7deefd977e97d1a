//! `viva eval`: measure the interviewer's conduct, its judgement and its voice on the bundled
//! sets.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};

use viva::config::Settings;
use viva::embedding::SentenceEncoder;
use viva::inference::device::candle_device;
use viva::inference::{ComputeGate, SharedJudge};
use viva::interview::catalog::Bank;
use viva::interview::conductor::{Conductor, EngineWriter};
use viva::interview::eval;
use viva::interview::eval::judgement::{self, GradedSet, Split};
use viva::interview::feedback::assess;
use viva::interview::feedback::assessment::Evidence;
use viva::interview::feedback::judge::Judge;
use viva::interview::feedback::signals::{grader_directed, RubricEcho};
use viva::llm::{LlmEngine, LlmError};
use viva::speech::whisper::WhisperEngine;
use viva::voice::eval as voice_eval;
use viva::voice::Synthesizer;

pub fn conduct(
    settings: &Settings,
    model: Option<PathBuf>,
    cases: Option<PathBuf>,
    seed: u64,
    verbose: bool,
) -> anyhow::Result<()> {
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

pub fn judgement(
    settings: &Settings,
    encoder: Option<PathBuf>,
    judge: Option<PathBuf>,
    (split, only): (&str, &[String]),
    (verbose, repeat): (bool, bool),
    evidence: Option<PathBuf>,
) -> anyhow::Result<()> {
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
    judge: SharedJudge,
    last: std::cell::RefCell<Vec<f32>>,
}

impl RecordingJudge {
    fn new(judge: SharedJudge) -> Self {
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

impl Judge for RecordingJudge {
    fn points_stated(
        &self,
        question: &str,
        answer: &str,
        rubric: &[String],
    ) -> Result<Vec<f32>, LlmError> {
        let stated = self.judge.points_stated(question, answer, rubric)?;
        self.last.replace(stated.clone());
        Ok(stated)
    }
}

/// `viva eval voice`'s options.
#[derive(clap::Args)]
pub struct VoiceOptions {
    /// Speak only N questions, chosen the same way every time: spread over the bank, half of
    /// them written unlike they are said (initialisms, digits, symbols).
    #[arg(long, value_name = "N")]
    pub sample: Option<usize>,
    /// Speak only this question (by id, e.g. backend-001; repeat for several).
    #[arg(long = "question", value_name = "ID")]
    pub questions: Vec<String>,
    /// The voice's threads (default: the voice_threads setting).
    #[arg(long)]
    pub threads: Option<usize>,
    /// How many of the questions with the most errors to show.
    #[arg(long, default_value_t = 10)]
    pub worst: usize,
    /// Print every question's result and the totals as one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

pub fn voice(settings: &Settings, options: VoiceOptions) -> anyhow::Result<()> {
    let bank = Bank::bundled().context("the bundled question bank")?;
    let mut questions = match options.sample {
        Some(n) => voice_eval::sample(&bank.questions, n, |q| &q.text),
        None => bank.questions.iter().collect(),
    };
    if !options.questions.is_empty() {
        if let Some(unknown) = options
            .questions
            .iter()
            .find(|id| !bank.questions.iter().any(|q| q.id.as_str() == id.as_str()))
        {
            bail!("--question {unknown}: the bank has no such question");
        }
        questions.retain(|q| options.questions.iter().any(|id| id == q.id.as_str()));
    }
    let threads = options.threads.unwrap_or(settings.voice_threads);
    let files = settings.voice_files();
    let mut synthesizer = Synthesizer::load(&files, threads).with_context(|| {
        format!(
            "loading the voice {} (`viva models fetch` puts it in models_dir)",
            files.model.display()
        )
    })?;
    let device = candle_device(settings.device)?;
    let whisper_dir = settings.whisper_model_dir();
    let mut whisper = WhisperEngine::load(&whisper_dir, &device)
        .with_context(|| format!("loading the speech model from {}", whisper_dir.display()))?;
    whisper.window_policy = settings.speech_window;
    let started = Instant::now();
    let mut report = voice_eval::Report::default();
    for (i, question) in questions.iter().enumerate() {
        let heard = voice_eval::speak_and_hear(
            &mut synthesizer,
            &whisper,
            question.id.as_str(),
            &question.text,
        )
        .with_context(|| format!("question {}", question.id))?;
        eprintln!(
            "[{}/{}] {}: {} / {} words wrong; {:.1} s of speech in {:.2} s",
            i + 1,
            questions.len(),
            heard.id,
            heard.errors,
            heard.words,
            heard.audio_seconds,
            heard.synthesis_seconds
        );
        report.heard.push(heard);
    }
    let wer = report.word_error_rate();
    if options.json {
        let json = serde_json::json!({
            "questions": report.heard,
            "errors": report.errors(),
            "words": report.words(),
            "word_error_rate": wer,
            "real_time_factor": report.real_time_factor(),
            "audio_seconds": report.audio_seconds(),
            "threads": threads,
            "voice": files.model,
            "speech_model": whisper_dir,
        });
        println!("{json:#}");
    } else {
        println!(
            "viva eval voice: {} of {} bank questions, voice {} on {threads} thread(s), heard by {}, {:.0} s\n",
            report.heard.len(),
            bank.questions.len(),
            files.model.display(),
            whisper_dir.display(),
            started.elapsed().as_secs_f64()
        );
        print!("{}", report.table(options.worst));
    }
    if !options.questions.is_empty() {
        println!("\ntarget not checked: --question speaks only part of the bank");
        return Ok(());
    }
    if wer > voice_eval::TARGET_WORD_ERROR_RATE {
        bail!(
            "word error rate {:.2}% is over the target {:.0}%",
            100.0 * wer,
            100.0 * voice_eval::TARGET_WORD_ERROR_RATE
        );
    }
    Ok(())
}
