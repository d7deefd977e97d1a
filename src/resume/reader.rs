//! Reading an uploaded resume's text in a child process.
//!
//! PDF and Word parsers are third-party code fed bytes from people without an account. A
//! crafted file can make them recurse until the stack overflows (which aborts the process: no
//! `catch_unwind` can stop it), loop forever, or inflate a few kilobytes into gigabytes. So the
//! server never parses an upload itself: it runs its own executable again as
//! `viva read-upload KIND`, hands it the bytes on standard input and takes the text from
//! standard output. The child limits itself (address space, CPU time, no files) before it reads
//! a byte; the parent bounds the wall-clock time, the output and how many children run at once.
//! Whatever happens to the child, the upload is kept and its text status says what became of it.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use super::{self as resume, ResumeKind};

/// The hidden command the server runs itself as to read an upload.
pub const READ_COMMAND: &str = "read-upload";
/// Most bytes of text taken from a child (a little over what is kept; see `resume`).
const MAX_OUTPUT_BYTES: u64 = 256 * 1024;
/// Most bytes of a child's error output kept for the log.
const MAX_STDERR_BYTES: u64 = 4 * 1024;
/// Exit code of a child that could not parse the file.
const EXIT_UNREADABLE: i32 = 3;
/// How long an upload waits for a free reader before the request is refused.
const QUEUE_WAIT: Duration = Duration::from_secs(30);

pub use crate::domain::TextStatus;

/// An upload's text and how reading it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadText {
    pub text: String,
    pub status: TextStatus,
}

impl ReadText {
    fn failed(status: TextStatus) -> Self {
        Self {
            text: String::new(),
            status,
        }
    }
}

/// Limits on one child reader.
#[derive(Debug, Clone, Copy)]
pub struct ReaderLimits {
    /// Wall-clock time before the child is killed (its CPU time is capped at the same).
    pub timeout: Duration,
    /// Address space of the child.
    pub memory_bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ReaderError {
    #[error("every upload reader is busy; try again shortly")]
    Busy,
}

/// Runs upload readers: at most one child per core at a time.
pub struct ResumeReader {
    program: PathBuf,
    limits: ReaderLimits,
    slots: Arc<Semaphore>,
}

impl ResumeReader {
    /// `program` is a viva executable (normally this one).
    pub fn new(program: PathBuf, limits: ReaderLimits) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            program,
            limits,
            slots: Arc::new(Semaphore::new(cores)),
        }
    }

    /// Reads the text of `bytes` (already sniffed as `kind`) in a child process. Fails only
    /// when no reader came free in time; a child that crashes, hangs or runs out of memory is a
    /// status, not an error.
    pub async fn read(
        &self,
        kind: ResumeKind,
        bytes: Arc<Vec<u8>>,
    ) -> Result<ReadText, ReaderError> {
        if kind == ResumeKind::Text {
            // Plain text needs no parser.
            return Ok(ReadText {
                text: resume::tidy_text(&String::from_utf8_lossy(&bytes)),
                status: TextStatus::Ok,
            });
        }
        let _slot = tokio::time::timeout(QUEUE_WAIT, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| ReaderError::Busy)?
            .map_err(|_| ReaderError::Busy)?;
        let program = self.program.clone();
        let limits = self.limits;
        let outcome =
            actix_web::rt::task::spawn_blocking(move || run_child(&program, kind, &bytes, limits))
                .await;
        Ok(outcome.unwrap_or_else(|_| ReadText::failed(TextStatus::Unreadable)))
    }
}

/// Runs one child to its end, its deadline or its death.
fn run_child(
    program: &PathBuf,
    kind: ResumeKind,
    bytes: &Arc<Vec<u8>>,
    limits: ReaderLimits,
) -> ReadText {
    let spawned = Command::new(program)
        .arg(READ_COMMAND)
        .arg(kind.extension())
        .arg("--memory-bytes")
        .arg(limits.memory_bytes.to_string())
        .arg("--cpu-seconds")
        .arg(limits.timeout.as_secs().max(1).to_string())
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            tracing::error!(program = %program.display(), error = %e, "cannot start the upload reader");
            return ReadText::failed(TextStatus::Unreadable);
        }
    };
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        let _ = child.kill();
        let _ = child.wait();
        return ReadText::failed(TextStatus::Unreadable);
    };
    let input = Arc::clone(bytes);
    // A child that dies early closes its end: the write fails and the thread ends.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let reader = std::thread::spawn(move || capped(stdout, MAX_OUTPUT_BYTES));
    let errors = std::thread::spawn(move || capped(stderr, MAX_STDERR_BYTES));

    let deadline = Instant::now() + limits.timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let _ = writer.join();
    let output = reader.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&errors.join().unwrap_or_default()).into_owned();
    let outcome = judge(status, &stderr);
    if outcome != TextStatus::Ok {
        tracing::warn!(
            kind = kind.extension(),
            status = outcome.as_str(),
            exit = ?status,
            stderr = %stderr.trim(),
            "an upload's text could not be read"
        );
        return ReadText::failed(outcome);
    }
    ReadText {
        text: resume::tidy_text(&String::from_utf8_lossy(&output)),
        status: TextStatus::Ok,
    }
}

/// What a child's end says about the file. `None`: killed at the deadline.
fn judge(status: Option<ExitStatus>, stderr: &str) -> TextStatus {
    use std::os::unix::process::ExitStatusExt;
    let Some(status) = status else {
        return TextStatus::TooComplex;
    };
    if status.success() {
        return TextStatus::Ok;
    }
    // SIGXCPU (CPU limit) and SIGKILL mean time ran out; an allocation the address-space limit
    // refused aborts with Rust's "memory allocation … failed".
    const SIGKILL: i32 = 9;
    const SIGXCPU: i32 = 24;
    let out_of_time = matches!(status.signal(), Some(SIGKILL | SIGXCPU));
    if out_of_time || stderr.contains("memory allocation") {
        TextStatus::TooComplex
    } else {
        TextStatus::Unreadable
    }
}

fn capped(from: impl Read, limit: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = from.take(limit).read_to_end(&mut out);
    out
}

#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    #[error("unknown upload kind {0:?} (pdf or docx)")]
    Kind(String),
    #[error("cannot limit the reader's resources: {0}")]
    Limit(std::io::Error),
    #[error("cannot read the upload from standard input: {0}")]
    Input(std::io::Error),
}

/// The child's side (`viva read-upload KIND`): limits itself, reads the upload from standard
/// input, writes its text to standard output. Exits [`EXIT_UNREADABLE`] when the parser fails.
pub fn serve_child(kind: &str, memory_bytes: u64, cpu_seconds: u64) -> Result<i32, ChildError> {
    use rlimit::Resource;
    let kind = match kind {
        "pdf" => ResumeKind::Pdf,
        "docx" => ResumeKind::Docx,
        other => return Err(ChildError::Kind(other.to_owned())),
    };
    // The soft CPU limit sends SIGXCPU, the hard one a second later SIGKILL.
    Resource::CPU
        .set(cpu_seconds, cpu_seconds + 1)
        .map_err(ChildError::Limit)?;
    Resource::AS
        .set(memory_bytes, memory_bytes)
        .map_err(ChildError::Limit)?;
    // A reader writes no files and leaves no core dumps.
    Resource::FSIZE.set(0, 0).map_err(ChildError::Limit)?;
    Resource::CORE.set(0, 0).map_err(ChildError::Limit)?;

    let mut bytes = Vec::new();
    std::io::stdin()
        .take(resume::MAX_BYTES as u64)
        .read_to_end(&mut bytes)
        .map_err(ChildError::Input)?;
    let Some(text) = resume::parse_text(kind, &bytes) else {
        return Ok(EXIT_UNREADABLE);
    };
    let text: String = text.chars().take(MAX_OUTPUT_BYTES as usize / 4).collect();
    let mut stdout = std::io::stdout().lock();
    // A parent that went away is no concern of the child's.
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_killed_child_ran_out_of_time_and_a_crashed_one_could_not_read() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(judge(None, ""), TextStatus::TooComplex);
        assert_eq!(judge(Some(ExitStatus::from_raw(0)), ""), TextStatus::Ok);
        // Raw wait statuses: a signal in the low bits, an exit code in the next byte.
        assert_eq!(
            judge(Some(ExitStatus::from_raw(9)), ""),
            TextStatus::TooComplex
        );
        assert_eq!(
            judge(Some(ExitStatus::from_raw(24)), ""),
            TextStatus::TooComplex
        );
        assert_eq!(
            judge(
                Some(ExitStatus::from_raw(6)),
                "thread 'main' has overflowed its stack"
            ),
            TextStatus::Unreadable
        );
        assert_eq!(
            judge(
                Some(ExitStatus::from_raw(6)),
                "memory allocation of 1073741824 bytes failed"
            ),
            TextStatus::TooComplex
        );
        assert_eq!(
            judge(Some(ExitStatus::from_raw(EXIT_UNREADABLE << 8)), ""),
            TextStatus::Unreadable
        );
    }
}
