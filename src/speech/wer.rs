//! Word error rate, for measuring transcription quality against a reference transcript.

/// Lower-cases, turns everything but letters, digits and apostrophes into spaces, and splits
/// into words, so "Hello, World!" and "HELLO WORLD" compare equal. Small numbers and common
/// titles are spelled out ("10" → "ten", "Mr." → "mister"), since Whisper writes them one way
/// and reference transcripts the other.
pub fn normalize_words(text: &str) -> Vec<String> {
    text.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '\'' {
                c.to_lowercase().next().unwrap_or(c)
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
        .map(|w| spelled_out(w).unwrap_or(w).to_owned())
        .collect()
}

fn spelled_out(word: &str) -> Option<&'static str> {
    const NUMBERS: [&str; 21] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
    ];
    match word {
        "mr" => Some("mister"),
        "mrs" => Some("missus"),
        "dr" => Some("doctor"),
        _ => word
            .parse::<usize>()
            .ok()
            .and_then(|n| NUMBERS.get(n).copied()),
    }
}

/// The edit distance (substitutions + deletions + insertions) between the normalised words of
/// `reference` and `hypothesis`, and the number of reference words.
pub fn word_errors(reference: &str, hypothesis: &str) -> (usize, usize) {
    let reference = normalize_words(reference);
    let hypothesis = normalize_words(hypothesis);
    let mut previous: Vec<usize> = (0..=hypothesis.len()).collect();
    let mut current = vec![0; hypothesis.len() + 1];
    for (i, r) in reference.iter().enumerate() {
        current[0] = i + 1;
        for (j, h) in hypothesis.iter().enumerate() {
            let substitution = previous[j] + usize::from(r != h);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    (previous[hypothesis.len()], reference.len())
}

/// Word error rate: errors divided by reference words (0 for an empty reference and empty
/// hypothesis; 1 per inserted word when the reference is empty).
pub fn word_error_rate(reference: &str, hypothesis: &str) -> f64 {
    let (errors, words) = word_errors(reference, hypothesis);
    if words == 0 {
        return errors as f64;
    }
    errors as f64 / words as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn punctuation_and_case_do_not_count() {
        assert_eq!(word_error_rate("HELLO WORLD", "Hello, world!"), 0.0);
        assert_eq!(normalize_words("Don't stop."), vec!["don't", "stop"]);
        assert_eq!(
            normalize_words("Mr. Smith: 10 of clubs, 5-5, 1870"),
            vec!["mister", "smith", "ten", "of", "clubs", "five", "five", "1870"]
        );
    }

    #[test]
    fn counts_substitutions_deletions_and_insertions() {
        assert_eq!(word_errors("a b c d", "a x c d"), (1, 4));
        assert_eq!(word_errors("a b c d", "a c d"), (1, 4));
        assert_eq!(word_errors("a b c d", "a b c d e f"), (2, 4));
        assert_eq!(word_errors("a b", ""), (2, 2));
        assert_eq!(word_error_rate("", "thank you"), 2.0);
        assert_eq!(word_error_rate("", ""), 0.0);
    }
}
