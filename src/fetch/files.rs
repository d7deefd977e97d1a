//! File plumbing for the fetcher: sha256, atomic writes, the cross-process lock and the
//! `SHA256SUMS` manifest that records what was written.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

/// The manifest in models_dir, in `sha256sum` format so `sha256sum -c SHA256SUMS` works too.
pub const MANIFEST: &str = "SHA256SUMS";
const LOCK: &str = ".fetch.lock";

pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// A path next to `path`, unique to this process and call, for writing before a rename.
pub fn temp_path(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

/// Writes `bytes` to `path` so that readers see either the old file or the whole new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let temp = temp_path(path);
    let result = (|| {
        let mut file = File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// An exclusive lock on models_dir, held until dropped. It serialises fetches across threads
/// and processes (each holder opens its own file description).
pub struct DirLock(#[allow(dead_code)] File);

pub fn lock_dir(dir: &Path) -> io::Result<DirLock> {
    fs::create_dir_all(dir)?;
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK))?;
    file.lock()?;
    Ok(DirLock(file))
}

/// Reads models_dir's manifest: relative path → sha256. A missing manifest is empty.
pub fn read_manifest(dir: &Path) -> io::Result<BTreeMap<String, String>> {
    let text = match fs::read_to_string(dir.join(MANIFEST)) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(e),
    };
    Ok(text
        .lines()
        .filter_map(|line| {
            let (hash, path) = line.split_once("  ")?;
            Some((path.to_owned(), hash.to_owned()))
        })
        .collect())
}

/// Adds or replaces entries in models_dir's manifest (call with the directory lock held).
pub fn record(dir: &Path, entries: &[(String, String)]) -> io::Result<()> {
    let mut manifest = read_manifest(dir)?;
    for (path, hash) in entries {
        manifest.insert(path.clone(), hash.clone());
    }
    let text: String = manifest
        .iter()
        .map(|(path, hash)| format!("{hash}  {path}\n"))
        .collect();
    write_atomic(&dir.join(MANIFEST), text.as_bytes())
}
