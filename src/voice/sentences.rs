//! Cuts a reply into sentences as its pieces arrive, so each sentence can be spoken as soon as
//! it is known.

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
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.pending);
        let rest = rest.trim();
        rest.chars()
            .any(char::is_alphanumeric)
            .then(|| rest.to_owned())
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
        sentences.push(text.to_owned());
    }
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
        assert_eq!(splitter.finish().as_deref(), Some("And why now"));
        assert_eq!(splitter.finish(), None);
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
    fn punctuation_alone_is_not_a_sentence() {
        assert!(split(" ... ?! ").is_empty());
    }
}
