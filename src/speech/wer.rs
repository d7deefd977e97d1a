//! Word error rate, for measuring transcription quality against a reference transcript.

use std::sync::OnceLock;

use regex::{Captures, Regex};

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
    match word {
        "mr" => Some("mister"),
        "mrs" => Some("missus"),
        "dr" => Some("doctor"),
        _ => word
            .parse::<usize>()
            .ok()
            .and_then(|n| ONES.get(n).copied().or((n == 20).then_some("twenty"))),
    }
}

/// The edit distance (substitutions + deletions + insertions) between the normalised words of
/// `reference` and `hypothesis`, and the number of reference words.
pub fn word_errors(reference: &str, hypothesis: &str) -> (usize, usize) {
    let reference = normalize_words(reference);
    let hypothesis = normalize_words(hypothesis);
    (edit_distance(&reference, &hypothesis), reference.len())
}

/// Substitutions, deletions and insertions that turn the words `reference` into `hypothesis`.
pub fn edit_distance(reference: &[String], hypothesis: &[String]) -> usize {
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
    previous[hypothesis.len()]
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

/// The words of a text as they are said, for comparing a transcript with text that was
/// written to be read aloud, whose numbers, symbols and initialisms may be written another way
/// than the transcriber writes them. On top of [`normalize_words`]:
///
/// - numbers are words, whole ("100,000", "99th", "3.5" as "one hundred thousand", "ninety
///   ninth", "three point five"), and "a hundred" is "one hundred";
/// - `%`, `&`, `+` and the `#` of "C#" are "percent", "and", "plus" and "sharp";
/// - words joined in camelCase are apart ("useEffect" as "use effect"), and so are the parts of
///   hyphenated words (as in [`normalize_words`]);
/// - an initialism is one word however it is written ("A.W.S", "A-W-S", "A W S", "AWS"), and so
///   are letters in a row ("A/B" and "A-B" as "ab");
/// - a complexity class `O(…)` is "O of …".
///
/// Both texts of a comparison go through it, so it decides nothing about which is right.
pub fn said_words(text: &str) -> Vec<String> {
    let mut spaced = String::with_capacity(text.len() + 16);
    let mut previous = ' ';
    for c in text.chars() {
        if previous.is_lowercase() && c.is_uppercase() {
            spaced.push(' ');
        }
        match c {
            '%' => spaced.push_str(" percent "),
            '&' => spaced.push_str(" and "),
            '+' => spaced.push_str(" plus "),
            '#' if previous.is_alphabetic() => spaced.push_str(" sharp "),
            _ => spaced.push(c),
        }
        previous = c;
    }
    let spaced = complexity_of(&spaced);
    let spaced = numbers_as_words(&spaced);
    let words = normalize_words(&spaced);
    let mut said: Vec<String> = Vec::with_capacity(words.len());
    let mut letters = String::new();
    for (i, word) in words.iter().enumerate() {
        let next = words.get(i + 1).map(String::as_str);
        let single = word.chars().count() == 1 && word.chars().all(char::is_alphabetic);
        // "a" alone is the article; "a" before another single letter is one ("a b test").
        let letter = single
            && (!matches!(word.as_str(), "a" | "i")
                || !letters.is_empty()
                || next
                    .is_some_and(|n| n.chars().count() == 1 && n.chars().all(char::is_alphabetic)));
        if letter {
            letters.push_str(word);
            continue;
        }
        if !letters.is_empty() {
            said.push(std::mem::take(&mut letters));
        }
        if word == "a" && next.is_some_and(|n| SCALES.contains(&n)) {
            said.push("one".to_owned());
        } else {
            said.push(word.clone());
        }
    }
    if !letters.is_empty() {
        said.push(letters);
    }
    said
}

/// [`word_errors`] on [`said_words`].
pub fn said_word_errors(reference: &str, hypothesis: &str) -> (usize, usize) {
    let reference = said_words(reference);
    let hypothesis = said_words(hypothesis);
    (edit_distance(&reference, &hypothesis), reference.len())
}

const SCALES: [&str; 5] = ["hundred", "thousand", "million", "billion", "trillion"];

fn complexity_of(text: &str) -> String {
    static CLASS: OnceLock<Regex> = std::sync::OnceLock::new();
    let class = CLASS.get_or_init(|| Regex::new(r"\bO\(").expect("a valid pattern"));
    class.replace_all(text, "O of (").into_owned()
}

/// Digits as words: "100,000" as "one hundred thousand", "99th" as "ninety ninth", "3.5" as
/// "three point five".
fn numbers_as_words(text: &str) -> String {
    static NUMBER: OnceLock<Regex> = std::sync::OnceLock::new();
    let number = NUMBER.get_or_init(|| {
        Regex::new(r"\b(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(st|nd|rd|th)?\b")
            .expect("a valid pattern")
    });
    number
        .replace_all(text, |c: &Captures<'_>| {
            let whole = c[1].replace(',', "");
            let Ok(value) = whole.parse::<u64>() else {
                return c[0].to_owned();
            };
            let mut said = cardinal(value);
            if let Some(fraction) = c.get(2) {
                said.push_str(" point");
                for digit in fraction.as_str().chars() {
                    said.push(' ');
                    said.push_str(ONES[digit.to_digit(10).unwrap_or(0) as usize]);
                }
            } else if c.get(3).is_some() {
                said = ordinal(&said);
            }
            format!(" {said} ")
        })
        .into_owned()
}

const ONES: [&str; 20] = [
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
];
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

/// 1234 as "one thousand two hundred thirty four".
fn cardinal(n: u64) -> String {
    const GROUPS: [(u64, &str); 4] = [
        (1_000_000_000_000, "trillion"),
        (1_000_000_000, "billion"),
        (1_000_000, "million"),
        (1_000, "thousand"),
    ];
    if n == 0 {
        return ONES[0].to_owned();
    }
    let mut words = Vec::new();
    let mut rest = n;
    for (size, name) in GROUPS {
        if rest >= size {
            words.push(below_thousand(rest / size));
            words.push(name.to_owned());
            rest %= size;
        }
    }
    if rest > 0 {
        words.push(below_thousand(rest));
    }
    words.join(" ")
}

fn below_thousand(n: u64) -> String {
    let mut words = Vec::new();
    if n >= 100 {
        words.push(cardinal_below_hundred(n / 100));
        words.push("hundred".to_owned());
    }
    if !n.is_multiple_of(100) {
        words.push(cardinal_below_hundred(n % 100));
    }
    words.join(" ")
}

fn cardinal_below_hundred(n: u64) -> String {
    let n = n as usize;
    match (n / 10, n % 10) {
        (0 | 1, _) => ONES[n].to_owned(),
        (tens, 0) => TENS[tens].to_owned(),
        (tens, ones) => format!("{} {}", TENS[tens], ONES[ones]),
    }
}

/// "ninety nine" as "ninety ninth".
fn ordinal(cardinal: &str) -> String {
    let (head, last) = cardinal
        .rsplit_once(' ')
        .map_or(("", cardinal), |(head, last)| (head, last));
    let last = match last {
        "one" => "first".to_owned(),
        "two" => "second".to_owned(),
        "three" => "third".to_owned(),
        "five" => "fifth".to_owned(),
        "eight" => "eighth".to_owned(),
        "nine" => "ninth".to_owned(),
        "twelve" => "twelfth".to_owned(),
        tens if tens.ends_with('y') => format!("{}ieth", &tens[..tens.len() - 1]),
        other => format!("{other}th"),
    };
    if head.is_empty() {
        last
    } else {
        format!("{head} {last}")
    }
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

    #[test]
    fn numbers_are_words_however_written() {
        assert_eq!(
            said_words("100,000 rows"),
            said_words("a hundred thousand rows")
        );
        assert_eq!(
            said_words("the 99th percentile"),
            said_words("the ninety-ninth percentile")
        );
        assert_eq!(
            said_words("10% of 40 minutes"),
            said_words("ten percent of forty minutes")
        );
        assert_eq!(
            said_words("3.5 or 2024"),
            ["three", "point", "five", "or", "two", "thousand", "twenty", "four"]
        );
        assert_eq!(
            said_words("1st, 2nd, 3rd, 12th, 20th, 101st"),
            [
                "first",
                "second",
                "third",
                "twelfth",
                "twentieth",
                "one",
                "hundred",
                "first"
            ]
        );
    }

    #[test]
    fn initialisms_symbols_and_joined_words() {
        for written in ["AWS", "A.W.S.", "A-W-S", "a w s"] {
            assert_eq!(said_words(written), ["aws"], "{written}");
        }
        assert_eq!(said_words("an A/B test"), said_words("an A-B test"));
        assert_eq!(said_words("an A/B test"), ["an", "ab", "test"]);
        assert_eq!(said_words("a big test"), ["a", "big", "test"]);
        assert_eq!(
            said_words("C++ and C#"),
            ["c", "plus", "plus", "and", "c", "sharp"]
        );
        assert_eq!(
            said_words("the useEffect hook"),
            ["the", "use", "effect", "hook"]
        );
        assert_eq!(said_words("O(n log n)"), said_words("O of n log n"));
        assert_eq!(
            said_word_errors("What is a REST API?", "What is a rest A.P.I."),
            (0, 5)
        );
    }
}
