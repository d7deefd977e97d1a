//! espeak-ng's IPA phonemes for a text, as Piper voices were trained on them.
//!
//! espeak-ng is GPL-3, so viva never loads it: a small Python program of ours
//! (`phonemize.py`, standard library only) loads espeak-ng's library in a child process and
//! answers one line of phonemes for each line of text. The child starts once per worker and is
//! restarted if it dies.
//!
//! espeak-ng drops punctuation from its phonemes, but Piper voices use it (a comma is a short
//! pause, a question mark a rising end): the text is cut into clauses here, each phonemized
//! alone, and each clause's punctuation put back after its phonemes.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use super::{VoiceError, VoiceFiles};

const SCRIPT: &str = include_str!("phonemize.py");

/// Punctuation that ends a clause and that Piper voices have a symbol for.
const CLAUSE_ENDS: &[char] = &[',', '.', ';', ':', '!', '?'];

pub struct Phonemizer {
    command: (String, Vec<String>),
    child: Option<Running>,
}

struct Running {
    process: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Phonemizer {
    /// Starts the child process for espeak-ng's voice `espeak_voice` (e.g. `en-us`).
    pub fn start(files: &VoiceFiles, espeak_voice: &str) -> Result<Self, VoiceError> {
        for path in [&files.espeak_library, &files.espeak_data] {
            if !path.exists() {
                return Err(VoiceError::Files(format!("{} is missing", path.display())));
            }
        }
        let args = vec![
            "-c".to_owned(),
            SCRIPT.to_owned(),
            files.espeak_library.display().to_string(),
            files.espeak_data.display().to_string(),
            espeak_voice.to_owned(),
        ];
        let mut phonemizer = Self {
            command: (files.python.clone(), args),
            child: None,
        };
        phonemizer.child = Some(phonemizer.spawn()?);
        Ok(phonemizer)
    }

    fn spawn(&self) -> Result<Running, VoiceError> {
        let (program, args) = &self.command;
        let mut process = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| VoiceError::Phonemizer(format!("cannot run {program}: {e}")))?;
        let (Some(stdin), Some(stdout)) = (process.stdin.take(), process.stdout.take()) else {
            return Err(VoiceError::Phonemizer("no pipes to the child".into()));
        };
        let mut running = Running {
            process,
            stdin,
            stdout: BufReader::new(stdout),
        };
        let mut first = String::new();
        let read = running.stdout.read_line(&mut first);
        if read.is_err() || first.trim() != "ready" {
            // Stopped first, so reading what it said cannot block.
            let _ = running.process.kill();
            let _ = running.process.wait();
            let mut why = String::new();
            if let Some(mut stderr) = running.process.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut stderr, &mut why);
            }
            return Err(VoiceError::Phonemizer(format!(
                "espeak-ng did not start: {}",
                last_line(&why)
            )));
        }
        // Whatever it says later goes to the log (an unread pipe would fill and block it).
        if let Some(stderr) = running.process.stderr.take() {
            let _ = std::thread::Builder::new()
                .name("viva-phonemizer-log".into())
                .spawn(move || {
                    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                        tracing::warn!(line, "phonemizer");
                    }
                });
        }
        Ok(running)
    }

    /// Piper's input for `text`: IPA phonemes, clauses separated by their punctuation.
    pub fn phonemize(&mut self, text: &str) -> Result<String, VoiceError> {
        let mut phonemes = String::new();
        for (clause, end) in clauses(text) {
            let said = self.line(&clause)?;
            if said.is_empty() {
                continue;
            }
            if !phonemes.is_empty() {
                phonemes.push(' ');
            }
            phonemes.push_str(&said);
            if let Some(end) = end {
                phonemes.push(end);
            }
        }
        Ok(phonemes)
    }

    /// One clause through the child, restarting it once if it has died.
    fn line(&mut self, clause: &str) -> Result<String, VoiceError> {
        let mut last_error = None;
        for _ in 0..2 {
            let running = match self.child.take() {
                Some(running) => running,
                None => self.spawn()?,
            };
            match ask(running, clause) {
                Ok((running, said)) => {
                    self.child = Some(running);
                    return Ok(said);
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(VoiceError::Phonemizer(format!(
            "the phonemizer process stopped: {}",
            last_error.map_or_else(String::new, |e| e.to_string())
        )))
    }
}

fn ask(mut running: Running, clause: &str) -> std::io::Result<(Running, String)> {
    let line: String = clause
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    running.stdin.write_all(line.as_bytes())?;
    running.stdin.write_all(b"\n")?;
    running.stdin.flush()?;
    let mut said = String::new();
    if running.stdout.read_line(&mut said)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "no answer",
        ));
    }
    Ok((running, said.trim().to_owned()))
}

fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no output")
}

/// Cuts `text` at clause punctuation followed by a space or the end ("3.5" and "e.g." inside
/// a word stay whole): each clause with the punctuation that ended it.
pub fn clauses(text: &str) -> Vec<(String, Option<char>)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if !CLAUSE_ENDS.contains(&c) {
            current.push(c);
            continue;
        }
        // A run like "?!" or "..." ends one clause, when a space or the end follows it.
        let mut run = String::from(c);
        while let Some(&next) = chars.peek().filter(|n| CLAUSE_ENDS.contains(n)) {
            run.push(next);
            chars.next();
        }
        if chars.peek().is_none_or(|n| n.is_whitespace()) {
            push_clause(&mut out, &mut current, Some(c));
        } else {
            current.push_str(&run);
        }
    }
    push_clause(&mut out, &mut current, None);
    out
}

fn push_clause(out: &mut Vec<(String, Option<char>)>, current: &mut String, end: Option<char>) {
    let clause = current.trim();
    if clause.chars().any(char::is_alphanumeric) {
        out.push((clause.to_owned(), end));
    }
    current.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_keep_their_punctuation_and_leave_numbers_whole() {
        assert_eq!(
            clauses("Thanks, that helps. Version 3.5 of it? Yes!"),
            vec![
                ("Thanks".to_owned(), Some(',')),
                ("that helps".to_owned(), Some('.')),
                ("Version 3.5 of it".to_owned(), Some('?')),
                ("Yes".to_owned(), Some('!')),
            ]
        );
    }

    #[test]
    fn trailing_text_without_punctuation_is_a_clause_and_bare_punctuation_is_not() {
        assert_eq!(
            clauses("Well... and then"),
            vec![
                ("Well".to_owned(), Some('.')),
                ("and then".to_owned(), None)
            ]
        );
        assert!(clauses(" ... ?! ").is_empty());
    }
}
