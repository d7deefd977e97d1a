//! Resumes: what kind of file the bytes really are (never the name or the declared type), the
//! text inside, and the phrases worth asking about.

pub mod reader;

use std::io::Read;

use quick_xml::events::{BytesRef, Event};

/// Largest resume accepted.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
/// Most text kept from one resume.
const MAX_TEXT_CHARS: usize = 50_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResumeKind {
    Pdf,
    Docx,
    Text,
}

impl ResumeKind {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Self::Text => "text/plain; charset=utf-8",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Docx => "docx",
            Self::Text => "txt",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResumeError {
    #[error("the resume is {size} bytes; at most {MAX_BYTES} are accepted")]
    TooLarge { size: usize },
    #[error("the resume is empty")]
    Empty,
    #[error("the resume must be a PDF, a Word document (.docx) or plain text: {0}")]
    UnsupportedType(&'static str),
}

/// What the bytes are. A PDF starts with `%PDF-`; a .docx is a ZIP holding
/// `word/document.xml`; text is UTF-8 without control bytes. Anything else — a script named
/// `.pdf`, an executable, another archive — is refused.
pub fn sniff(bytes: &[u8]) -> Result<ResumeKind, ResumeError> {
    if bytes.len() > MAX_BYTES {
        return Err(ResumeError::TooLarge { size: bytes.len() });
    }
    if bytes.is_empty() {
        return Err(ResumeError::Empty);
    }
    if bytes.starts_with(b"%PDF-") {
        return Ok(ResumeKind::Pdf);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
            .map_err(|_| ResumeError::UnsupportedType("a damaged ZIP archive"))?;
        return if archive.index_for_name("word/document.xml").is_some() {
            Ok(ResumeKind::Docx)
        } else {
            Err(ResumeError::UnsupportedType(
                "a ZIP archive that is not a Word document",
            ))
        };
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ResumeError::UnsupportedType("binary data of an unknown kind"))?;
    if text.starts_with("#!") {
        return Err(ResumeError::UnsupportedType("a script"));
    }
    let control = text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{c}'));
    if control {
        return Err(ResumeError::UnsupportedType(
            "binary data of an unknown kind",
        ));
    }
    Ok(ResumeKind::Text)
}

/// The text inside a PDF or Word file, as its parser gives it; `None` when it cannot be read.
///
/// Never call this in the server: the parsers are third-party code fed untrusted bytes, and a
/// crafted file can overflow the stack, loop forever or inflate into gigabytes. The server
/// reads uploads in a child process ([`reader`]), which calls this.
pub fn parse_text(kind: ResumeKind, bytes: &[u8]) -> Option<String> {
    match kind {
        ResumeKind::Text => Some(String::from_utf8_lossy(bytes).into_owned()),
        ResumeKind::Docx => docx_text(bytes),
        ResumeKind::Pdf => std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(bytes))
            .ok()
            .and_then(Result::ok),
    }
}

/// A resume's text as it is kept: words single-spaced, blank lines dropped, at most
/// [`MAX_TEXT_CHARS`] characters.
pub fn tidy_text(text: &str) -> String {
    let tidy: String = text
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    tidy.chars().take(MAX_TEXT_CHARS).collect()
}

/// The text runs of `word/document.xml`, a line per paragraph.
fn docx_text(bytes: &[u8]) -> Option<String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).ok()?;
    let mut xml = String::new();
    archive
        .by_name("word/document.xml")
        .ok()?
        .take(20 * 1024 * 1024)
        .read_to_string(&mut xml)
        .ok()?;
    Some(document_text(&xml))
}

/// The text of WordprocessingML: `w:t` runs, a line per paragraph or break, tabs as tabs.
/// Malformed XML ends the text where it breaks (what came before is kept).
fn document_text(xml: &str) -> String {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut text = String::new();
    let mut in_run_text = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(tag)) if tag.name().as_ref() == "w:t" => in_run_text = true,
            Ok(Event::End(tag)) => match tag.name().as_ref() {
                "w:t" => in_run_text = false,
                "w:p" => text.push('\n'),
                _ => {}
            },
            Ok(Event::Empty(tag)) => match tag.name().as_ref() {
                "w:br" | "w:cr" => text.push('\n'),
                "w:tab" => text.push('\t'),
                _ => {}
            },
            Ok(Event::Text(run)) if in_run_text => {
                text.push_str(&run.xml10_content());
            }
            Ok(Event::GeneralRef(reference)) if in_run_text => {
                if let Some(part) = resolve_reference(&reference) {
                    text.push_str(&part);
                }
            }
            Ok(Event::Eof) | Err(_) => return text,
            Ok(_) => {}
        }
    }
}

/// `&amp;`-style and numeric (`&#233;`, `&#xE9;`) references; `None` for anything else.
fn resolve_reference(reference: &BytesRef<'_>) -> Option<String> {
    if let Ok(Some(c)) = reference.resolve_char_ref() {
        return Some(c.to_string());
    }
    quick_xml::escape::resolve_xml_entity(reference).map(str::to_owned)
}

/// Verbs that introduce something a candidate did.
const ACHIEVEMENT_VERBS: [&str; 14] = [
    "built",
    "led",
    "designed",
    "developed",
    "created",
    "launched",
    "migrated",
    "implemented",
    "shipped",
    "architected",
    "rewrote",
    "founded",
    "maintained",
    "scaled",
];

/// Up to three things the resume says the candidate did, as the resume names them: the run of
/// capitalised words after an achievement verb ("Led the Payments Gateway rewrite" → "the
/// Payments Gateway rewrite"), or that line's remainder when it has no capitals.
pub fn highlights(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for (i, word) in words.iter().enumerate() {
            let bare = word
                .trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase();
            if !ACHIEVEMENT_VERBS.contains(&bare.as_str()) {
                continue;
            }
            if let Some(phrase) = object_phrase(&words[i + 1..]) {
                let seen = found.iter().any(|f| f.eq_ignore_ascii_case(&phrase));
                if !seen {
                    found.push(phrase);
                }
            }
            break;
        }
        if found.len() == 3 {
            break;
        }
    }
    found
}

/// The object of an achievement verb: up to the end of the clause, at most eight words.
fn object_phrase(words: &[&str]) -> Option<String> {
    let mut phrase: Vec<&str> = Vec::new();
    for word in words.iter().take(8) {
        let clean = word.trim_end_matches([',', ';', ':', '.', ')']);
        if !clean.is_empty() {
            phrase.push(clean.trim_start_matches('('));
        }
        if clean.len() != word.len() {
            break; // the clause ends at punctuation
        }
    }
    let phrase = phrase.join(" ");
    let has_name = phrase
        .split_whitespace()
        .any(|w| w.chars().next().is_some_and(char::is_uppercase));
    (has_name && (3..=80).contains(&phrase.len())).then_some(phrase)
}

/// The uploaded name cut to its last path part, with only safe characters, for display and the
/// download's `filename`; files are stored by id, never by this name.
pub fn clean_filename(name: &str, kind: ResumeKind) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let safe: String = last
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' '))
        .take(100)
        .collect();
    let stem = safe.trim_matches(|c| c == '.' || c == ' ');
    let stem = stem
        .rsplit_once('.')
        .map_or(stem, |(stem, _extension)| stem)
        .trim();
    let stem = if stem.is_empty() { "resume" } else { stem };
    format!("{stem}.{}", kind.extension())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn docx(document_xml: &str) -> Vec<u8> {
        let mut bytes = Vec::new();
        {
            let mut zip = zip::ZipWriter::new(std::io::Cursor::new(&mut bytes));
            let options = zip::write::SimpleFileOptions::default();
            zip.start_file("[Content_Types].xml", options)
                .expect("entry");
            zip.write_all(b"<Types/>").expect("write");
            zip.start_file("word/document.xml", options).expect("entry");
            zip.write_all(document_xml.as_bytes()).expect("write");
            zip.finish().expect("finish");
        }
        bytes
    }

    #[test]
    fn the_bytes_decide_the_kind_not_the_name() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Ok(ResumeKind::Pdf));
        assert_eq!(sniff(b"Jane Doe\nEngineer\n"), Ok(ResumeKind::Text));
        let word =
            docx("<w:document><w:body><w:p><w:r><w:t>Hi</w:t></w:r></w:p></w:body></w:document>");
        assert_eq!(sniff(&word), Ok(ResumeKind::Docx));
        assert!(matches!(
            sniff(b"#!/bin/sh\nrm -rf /\n"),
            Err(ResumeError::UnsupportedType(_))
        ));
        assert!(matches!(
            sniff(b"\x7fELF\x02\x01\x01\0\0\0"),
            Err(ResumeError::UnsupportedType(_))
        ));
        let mut other_zip = Vec::new();
        {
            let mut zip = zip::ZipWriter::new(std::io::Cursor::new(&mut other_zip));
            zip.start_file("payload.exe", zip::write::SimpleFileOptions::default())
                .expect("entry");
            zip.write_all(b"MZ").expect("write");
            zip.finish().expect("finish");
        }
        assert!(matches!(
            sniff(&other_zip),
            Err(ResumeError::UnsupportedType(_))
        ));
        assert_eq!(sniff(b""), Err(ResumeError::Empty));
        let huge = vec![b'a'; MAX_BYTES + 1];
        assert_eq!(
            sniff(&huge),
            Err(ResumeError::TooLarge {
                size: MAX_BYTES + 1
            })
        );
    }

    #[test]
    fn word_documents_give_their_paragraphs() {
        let word = docx(
            "<w:document><w:body><w:p><w:r><w:t>Jane Doe</w:t></w:r></w:p>\
             <w:p><w:r><w:t xml:space=\"preserve\">Led the </w:t></w:r><w:r><w:t>Payments &amp; Billing rewrite.</w:t></w:r></w:p>\
             <w:p><w:r><w:t>Caf&#233; &#x2014; Z&#xFC;rich</w:t><w:tab/><w:t>2019</w:t></w:r></w:p>\
             </w:body></w:document>",
        );
        assert_eq!(
            parse_text(ResumeKind::Docx, &word).map(|t| tidy_text(&t)),
            Some("Jane Doe\nLed the Payments & Billing rewrite.\nCafé — Zürich 2019".to_owned())
        );
    }

    #[test]
    fn damaged_files_give_no_text_rather_than_an_error() {
        assert_eq!(parse_text(ResumeKind::Pdf, b"%PDF-1.4 garbage"), None);
        assert_eq!(parse_text(ResumeKind::Docx, b"PK\x03\x04garbage"), None);
    }

    #[test]
    fn highlights_name_what_the_candidate_did() {
        let text = "Jane Doe — Backend engineer\n\
                    Experience\n\
                    Led the Payments Gateway rewrite, cutting latency by 40%.\n\
                    Built Orbit, an internal deploy tool used by 200 engineers.\n\
                    Maintained build scripts.\n\
                    Designed the Kafka ingestion pipeline for Acme Analytics.\n\
                    Developed the Search API.";
        assert_eq!(
            highlights(text),
            [
                "the Payments Gateway rewrite",
                "Orbit",
                "the Kafka ingestion pipeline for Acme Analytics"
            ]
        );
        assert!(highlights("Nothing to see here.\nI like tea.").is_empty());
    }

    #[test]
    fn file_names_cannot_escape_or_inject() {
        let pdf = ResumeKind::Pdf;
        assert_eq!(clean_filename("../../etc/passwd", pdf), "passwd.pdf");
        assert_eq!(
            clean_filename("C:\\Users\\me\\CV final.PDF", pdf),
            "CV final.pdf"
        );
        assert_eq!(
            clean_filename("cv\"; filename=evil.sh", pdf),
            "cv filenameevil.pdf"
        );
        assert_eq!(clean_filename("...", pdf), "resume.pdf");
        assert_eq!(clean_filename("", ResumeKind::Text), "resume.txt");
        assert_eq!(
            clean_filename("notes.pdf", ResumeKind::Text),
            "notes.txt",
            "the sniffed kind wins"
        );
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;
        use crate::fuzzing;

        /// What sniffing any bytes must lead to: a kind the bytes really have, or a reason.
        fn check_sniffed(bytes: &[u8]) -> Result<(), TestCaseError> {
            match sniff(bytes) {
                Ok(ResumeKind::Pdf) => prop_assert!(bytes.starts_with(b"%PDF-")),
                Ok(ResumeKind::Docx) => prop_assert!(bytes.starts_with(b"PK\x03\x04")),
                Ok(ResumeKind::Text) => prop_assert!(std::str::from_utf8(bytes).is_ok()),
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
            Ok(())
        }

        fn word_document() -> impl Strategy<Value = Vec<u8>> {
            "[a-zA-Z ]{0,80}".prop_map(|text| {
                docx(&format!(
                    "<w:document><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>"
                ))
            })
        }

        proptest! {
            #![proptest_config(fuzzing::config(512))]

            #[test]
            fn any_bytes_get_a_kind_or_a_reason(
                bytes in proptest::collection::vec(any::<u8>(), 0..1024)
            ) {
                check_sniffed(&bytes)?;
            }

            #[test]
            fn magic_numbers_followed_by_garbage(
                magic in proptest::sample::select(vec![&b"%PDF-"[..], b"PK\x03\x04", b"#!", b"\xef\xbb\xbf"]),
                rest in proptest::collection::vec(any::<u8>(), 0..512),
            ) {
                check_sniffed(&[magic, &rest].concat())?;
            }

            #[test]
            fn mutated_word_documents_get_a_kind_or_a_reason(
                bytes in word_document().prop_flat_map(fuzzing::mutated)
            ) {
                check_sniffed(&bytes)?;
            }

            #[test]
            fn any_text_is_text_or_refused_for_its_control_characters(text in "\\PC{0,200}|.{0,200}") {
                match sniff(text.as_bytes()) {
                    Ok(kind) => prop_assert!(kind == ResumeKind::Text || kind == ResumeKind::Pdf),
                    Err(ResumeError::Empty) => prop_assert!(text.is_empty()),
                    Err(e) => prop_assert!(!e.to_string().is_empty()),
                }
            }
        }
    }
}
