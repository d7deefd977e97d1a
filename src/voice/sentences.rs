//! Cuts a reply into sentences as its pieces arrive, so each sentence can be spoken as soon as
//! it is known.

/// The longest piece spoken at once, in characters (about 10 s of speech): a longer sentence is
/// cut at its commas (or, without any, between words), so no one `voice` event grows large and
/// the first words of a long sentence are not held back by its end.
pub const MAX_PIECE_CHARS: usize = 160;

/// Words that end with a period without ending the sentence.
const ABBREVIATIONS: &[&str] = &["e.g.", "i.e.", "etc.", "vs.", "mr.", "mrs.", "ms.", "dr."];

/// Collects a reply's text and hands out its complete sentences.
#[derive(Debug, Default)]
pub struct SentenceSplitter {
    pending: String,
}

impl SentenceSplitter {
    /// Adds the next piece of text; returns the sentences it completed. A sentence is complete
    /// at `.`, `!`, `?` or `…` (with any closing quotes or brackets) followed by a space or by
    /// the end of the piece: a reply arrives in whole pieces (an acknowledgement, then the
    /// question), never cut inside a sentence.
    pub fn push(&mut self, text: &str) -> Vec<String> {
        self.pending.push_str(text);
        let mut sentences = Vec::new();
        let mut start = 0;
        let chars: Vec<(usize, char)> = self.pending.char_indices().collect();
        let mut i = 0;
        while i < chars.len() {
            let (_, c) = chars[i];
            if matches!(c, '.' | '!' | '?' | '…') {
                let mut end = i + 1;
                while end < chars.len()
                    && matches!(
                        chars[end].1,
                        '.' | '!' | '?' | '…' | '"' | '”' | '’' | ')' | '\''
                    )
                {
                    end += 1;
                }
                let at_boundary = end == chars.len() || chars[end].1.is_whitespace();
                let byte_end = chars.get(end).map_or(self.pending.len(), |(b, _)| *b);
                if at_boundary && !ends_with_abbreviation(&self.pending[start..byte_end]) {
                    push_sentence(&mut sentences, &self.pending[start..byte_end]);
                    start = byte_end;
                }
                i = end;
            } else {
                i += 1;
            }
        }
        self.pending.drain(..start);
        sentences
    }

    /// The rest of the reply (its last sentence may have no closing punctuation).
    pub fn finish(&mut self) -> Vec<String> {
        let rest = std::mem::take(&mut self.pending);
        let mut sentences = Vec::new();
        push_sentence(&mut sentences, &rest);
        sentences
    }
}

fn ends_with_abbreviation(text: &str) -> bool {
    let last = text
        .split_whitespace()
        .last()
        .unwrap_or_default()
        .to_lowercase();
    ABBREVIATIONS.contains(&last.as_str())
}

fn push_sentence(sentences: &mut Vec<String>, text: &str) {
    let text = text.trim();
    if text.chars().any(char::is_alphanumeric) {
        sentences.extend(pieces(text));
    }
}

/// `sentence` in pieces of at most [`MAX_PIECE_CHARS`]: cut after the last clause mark
/// (`,` `;` `:`) that fits, else before the last word that fits.
fn pieces(sentence: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = sentence.trim();
    while rest.chars().count() > MAX_PIECE_CHARS {
        let limit = rest
            .char_indices()
            .nth(MAX_PIECE_CHARS)
            .map_or(rest.len(), |(at, _)| at);
        let head = &rest[..limit];
        let clause = head
            .rmatch_indices([',', ';', ':'])
            .map(|(at, _)| at + 1)
            .find(|&at| rest[at..].starts_with(' '));
        let cut = clause
            .or_else(|| head.rfind(' '))
            .filter(|&at| at > 0)
            .unwrap_or(limit);
        out.push(rest[..cut].trim().to_owned());
        rest = rest[cut..].trim_start();
    }
    if !rest.is_empty() {
        out.push(rest.to_owned());
    }
    out
}

/// Every sentence of a whole text.
pub fn split(text: &str) -> Vec<String> {
    let mut splitter = SentenceSplitter::default();
    let mut sentences = splitter.push(text);
    sentences.extend(splitter.finish());
    sentences
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_piece_ending_in_a_full_stop_is_a_sentence_at_once() {
        let mut splitter = SentenceSplitter::default();
        assert_eq!(splitter.push("I see."), vec!["I see."]);
        assert_eq!(
            splitter.push(" What made you pick Rust? And why"),
            vec!["What made you pick Rust?"]
        );
        assert_eq!(splitter.push(" now"), Vec::<String>::new());
        assert_eq!(splitter.finish(), vec!["And why now"]);
        assert!(splitter.finish().is_empty());
    }

    #[test]
    fn numbers_abbreviations_and_quotes_do_not_cut_a_sentence() {
        assert_eq!(
            split("Version 3.5 is out, e.g. on Linux. He said \"done.\" Next?!"),
            vec![
                "Version 3.5 is out, e.g. on Linux.",
                "He said \"done.\"",
                "Next?!"
            ]
        );
    }

    #[test]
    fn a_long_sentence_is_cut_at_its_commas_then_between_words() {
        let clause = "we measured the latency of every request in the service";
        let long = format!("{clause}, {clause}, {clause}, {clause}.");
        let cut = split(&long);
        assert!(cut.len() >= 2, "{cut:?}");
        assert!(cut.iter().all(|p| p.chars().count() <= MAX_PIECE_CHARS));
        assert!(
            cut[..cut.len() - 1].iter().all(|p| p.ends_with(',')),
            "{cut:?}"
        );
        assert_eq!(cut.join(" "), long);

        let words = "word ".repeat(100);
        let cut = split(words.trim());
        assert!(cut.iter().all(|p| p.chars().count() <= MAX_PIECE_CHARS));
        assert_eq!(cut.join(" "), words.trim());
    }

    #[test]
    fn punctuation_alone_is_not_a_sentence() {
        assert!(split(" ... ?! ").is_empty());
    }
}
