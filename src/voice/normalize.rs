//! Makes interview text speakable: what a reader would say for the shorthand, symbols and
//! markup of technical questions and replies, before espeak-ng turns words into phonemes.
//!
//! espeak-ng already reads plain and grouped numbers, decimals, percentages, ordinals,
//! `snake_case`, `camelCase` and most initialisms ("API", "SQL") well. The rules here are for
//! what it reads wrongly (each checked against espeak-ng 1.52's phonemes): "e.g." as the
//! letters "E G", initialisms it takes for words ("CI" as "sigh", "AWS" as "awes", "IDE" as
//! "aid"), "k8s" as "K eight S", "C#" as "C hash", "2x" as "two ex", "->" and "n-1" with the
//! symbol dropped, "O(n)" without its "of", and Markdown's asterisks as "asterisk".
//!
//! Every rule is general (a kind of writing, not one question's words); the few words that no
//! rule can derive are in small tables.

use std::sync::OnceLock;

use regex::{Captures, Regex};

/// A pattern compiled once.
macro_rules! pattern {
    ($source:literal) => {{
        static PATTERN: OnceLock<Regex> = OnceLock::new();
        PATTERN.get_or_init(|| Regex::new($source).expect("a valid pattern"))
    }};
}

/// The text as it should be read aloud.
pub fn speakable(text: &str) -> String {
    let text = complexity(text);
    let text = markup(&text);
    let text = abbreviations(&text);
    let text = powers(&text);
    let text = operators(&text);
    let text = numbers(&text);
    let text = slashes(&text);
    let text = lexicon(&text);
    let text = initialisms(&text);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Markdown and code markup a language model may write: backticks, emphasis asterisks,
/// heading marks and list bullets are not read; a `*` between operands is "times".
fn markup(text: &str) -> String {
    let text = text.replace('`', "");
    let text = pattern!(r"(?m)^\s*(?:#{1,6}|[-•])\s+").replace_all(&text, "");
    let text = pattern!(r"(\w)(?:\*|\s+\*\s+)(\w)").replace_all(&text, "$1 times $2");
    text.replace('*', "")
}

/// Latin and English shorthand with periods, which espeak-ng spells out or clips: the words
/// they stand for. At the end of the text the period that also ends the sentence is kept.
fn abbreviations(text: &str) -> String {
    const SAID: &[(&str, &str)] = &[
        ("e.g.", "for example"),
        ("i.e.", "that is"),
        ("a.k.a.", "also known as"),
        ("etc.", "et cetera"),
        ("approx.", "approximately"),
        ("vs.", "versus"),
        ("vs", "versus"),
        ("w/o", "without"),
        ("w/", "with"),
    ];
    pattern!(r"(?i)\b(e\.g\.|i\.e\.|a\.k\.a\.|etc\.|approx\.|vs\b\.?|w/o\b|w/)(\s*$)?")
        .replace_all(text, |c: &Captures<'_>| {
            let written = c[1].to_lowercase();
            let said = SAID
                .iter()
                .find(|(short, _)| *short == written)
                .map_or(written.as_str(), |(_, said)| said);
            let end = if c.get(2).is_some() && written.ends_with('.') {
                "."
            } else {
                ""
            };
            format!("{said}{end}")
        })
        .into_owned()
}

/// `O(n log n)`, `Θ(n^2)`, `Ω(1)`: "O of n log n", "theta of n squared", "omega of one".
fn complexity(text: &str) -> String {
    pattern!(r"\b([OΘΩ])\(([^()]{1,40})\)")
        .replace_all(text, |c: &Captures<'_>| {
            let name = match &c[1] {
                "Θ" => "theta",
                "Ω" => "omega",
                _ => "O",
            };
            format!("{name} of {}", spoken_expression(&c[2]))
        })
        .into_owned()
}

/// An expression inside a complexity class, as said.
fn spoken_expression(expression: &str) -> String {
    let expression = powers(expression)
        .replace('*', " times ")
        .replace('+', " plus ")
        .replace(" - ", " minus ")
        .replace('/', " over ")
        .replace('!', " factorial ");
    expression.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `n^2`, `n²`, `2^n`, `10^6`: "n squared", "2 to the power of n".
fn powers(text: &str) -> String {
    let text = text.replace('²', "^2").replace('³', "^3");
    pattern!(r"(\w)\s?\^\s?(\w+)")
        .replace_all(&text, |c: &Captures<'_>| match &c[2] {
            "2" => format!("{} squared", &c[1]),
            "3" => format!("{} cubed", &c[1]),
            power => format!("{} to the power of {power}", &c[1]),
        })
        .into_owned()
}

/// Arrows and operators espeak-ng drops or reads symbol by symbol, and the sharp of C# and F#.
fn operators(text: &str) -> String {
    let text = pattern!(r"\s*(?:->|=>|→)\s*").replace_all(text, " to ");
    let text = pattern!(r"\s*(?:&&|&)\s*").replace_all(&text, " and ");
    let text = pattern!(r"\s*\|\|\s*").replace_all(&text, " or ");
    let text = pattern!(r"\s*==\s*").replace_all(&text, " equals ");
    let text = pattern!(r"\b([A-Z])#").replace_all(&text, "$1 sharp");
    let text = pattern!(r"#(\d)").replace_all(&text, "number $1");
    let text = pattern!(r"~\s?(\d)").replace_all(&text, "about $1");
    text.replace('×', " times ")
}

/// Numbers with what espeak-ng misreads around them: multipliers ("2x"), units ("50ms",
/// "10GB", "100k"), currency ("$5M"), ranges ("5-10"), `n-1`, letter ordinals ("kth") and
/// versions ("v1.2").
fn numbers(text: &str) -> String {
    let text = pattern!(r"\b(\d+(?:\.\d+)?)[x×]\b").replace_all(text, "$1 times");
    let text =
        pattern!(r"([$€£])(\d[\d,]*(?:\.\d+)?)(?:\s?(k|K|M|B|bn|thousand|million|billion)\b)?")
            .replace_all(&text, |c: &Captures<'_>| {
                let amount = &c[2];
                let scale = c.get(3).map_or("", |s| scale_word(s.as_str()));
                let currency = match (&c[1], amount == "1" && scale.is_empty()) {
                    ("$", true) => "dollar",
                    ("$", false) => "dollars",
                    ("€", true) => "euro",
                    ("€", false) => "euros",
                    (_, true) => "pound",
                    (_, false) => "pounds",
                };
                [amount, scale, currency]
                    .iter()
                    .filter(|w| !w.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ")
            });
    let text = pattern!(r"\b(\d+(?:\.\d+)?)\s?(ms|µs|ns|KB|kB|MB|GB|TB|PB|Kbps|Mbps|Gbps)\b")
        .replace_all(&text, |c: &Captures<'_>| {
            format!("{} {}", &c[1], unit_words(&c[2]))
        });
    // Without a space only: "the top 10 k" is not ten thousand.
    let text = pattern!(r"\b(\d+(?:\.\d+)?)(k|K|M|bn)\b").replace_all(&text, |c: &Captures<'_>| {
        format!("{} {}", &c[1], scale_word(&c[2]))
    });
    let text = pattern!(r"\b\d+(?:\.\d+)?(?:\s?[-–]\s?\d+(?:\.\d+)?)+\b").replace_all(
        &text,
        |c: &Captures<'_>| {
            let parts: Vec<&str> = c[0].split(['-', '–']).map(str::trim).collect();
            match parts.as_slice() {
                [from, to] => format!("{from} to {to}"),
                _ => c[0].to_owned(),
            }
        },
    );
    let text = pattern!(r"\b([a-z])\s?-\s?(\d+)\b").replace_all(&text, "$1 minus $2");
    let text = pattern!(r"\b([a-z])-?th\b").replace_all(&text, "$1'th");
    pattern!(r"\bv(\d+(?:\.\d+)*)\b")
        .replace_all(&text, "version $1")
        .into_owned()
}

fn scale_word(written: &str) -> &'static str {
    match written {
        "k" | "K" | "thousand" => "thousand",
        "M" | "million" => "million",
        _ => "billion",
    }
}

fn unit_words(unit: &str) -> &'static str {
    match unit {
        "ms" => "milliseconds",
        "µs" => "microseconds",
        "ns" => "nanoseconds",
        "KB" | "kB" => "kilobytes",
        "MB" => "megabytes",
        "GB" => "gigabytes",
        "TB" => "terabytes",
        "PB" => "petabytes",
        "Kbps" => "kilobits per second",
        "Mbps" => "megabits per second",
        _ => "gigabits per second",
    }
}

/// A slash between words is not read: "CI/CD" is "C I C D", "read/write" "read write",
/// "HTTP/2" "HTTP 2". Initialisms on both sides are spelled together ("A/B" as "A B", where
/// a lone "A" would be read as the article). Numbers on both sides ("1/2", "24/7") are left.
fn slashes(text: &str) -> String {
    let slash = pattern!(r"\b([A-Za-z][\w+#]*)/([A-Za-z0-9][\w+#]*)\b");
    let mut text = text.to_owned();
    // "a/b/c" needs a second pass: matches do not overlap.
    for _ in 0..3 {
        let next = slash
            .replace_all(&text, |c: &Captures<'_>| {
                let (left, right) = (&c[1], &c[2]);
                if is_capitals(left) && is_capitals(right) {
                    spelled(&format!("{left}{right}"))
                } else {
                    format!("{left} {right}")
                }
            })
            .into_owned();
        if next == text {
            break;
        }
        text = next;
    }
    text
}

/// Words whose spelling hides how they are said: numeronyms, and framework names whose
/// ".js" is said as the letters without the dot.
fn lexicon(text: &str) -> String {
    const SAID: &[(&str, &str)] = &[
        ("k8s", "Kubernetes"),
        ("i18n", "internationalization"),
        ("l10n", "localization"),
        ("a11y", "accessibility"),
        ("o11y", "observability"),
    ];
    let text =
        pattern!(r"(?i)\b(k8s|i18n|l10n|a11y|o11y)\b").replace_all(text, |c: &Captures<'_>| {
            let written = c[1].to_lowercase();
            SAID.iter()
                .find(|(short, _)| *short == written)
                .map_or_else(|| c[1].to_owned(), |(_, said)| (*said).to_owned())
        });
    pattern!(r"\b(\w+)\.(js|ts)\b")
        .replace_all(&text, |c: &Captures<'_>| {
            format!("{} {}", &c[1], c[2].to_uppercase())
        })
        .into_owned()
}

/// Initialisms that are said as words, and ordinary words sometimes written in capitals for
/// emphasis: everything else in capitals is spelled letter by letter.
const SAID_AS_WORDS: &[&str] = &[
    "ACID", "AJAX", "ASCII", "BASIC", "COBOL", "CORS", "CRUD", "CUDA", "DAG", "FIFO", "GIF", "GUI",
    "JPEG", "JSON", "LAN", "LIFO", "LINQ", "NASA", "NAT", "PIN", "POSIX", "RAID", "RAM", "REST",
    "ROM", "SCSI", "SIM", "SOAP", "SWOT", "TODO", "TOML", "UNIX", "WAN", "WASM", "YAML",
    // Emphasis.
    "ALL", "AND", "ANY", "ARE", "BOTH", "BUT", "DO", "EACH", "EVERY", "FIRST", "HOW", "IS", "LAST",
    "LESS", "MORE", "MUST", "NEVER", "NO", "NONE", "NOT", "NOW", "ONE", "ONLY", "OR", "THAT",
    "THE", "THIS", "VERY", "WHAT", "WHEN", "WHY", "YES", "YOU",
];

/// Two to five capitals (with a plural "s", a possessive or a number after them) are an
/// initialism, spelled letter by letter: espeak-ng spells most, but reads some as words ("CI",
/// "AWS", "QA", "IDE"). Written with periods between the letters ("A.W.S"), espeak-ng says
/// each letter with the stress of a spelled word; a trailing number is said apart ("EC2").
fn initialisms(text: &str) -> String {
    pattern!(r"\b([A-Z]{2,5})(s|'s|\d+)?\b")
        .replace_all(text, |c: &Captures<'_>| {
            let letters = &c[1];
            if SAID_AS_WORDS.contains(&letters) {
                return c[0].to_owned();
            }
            match c.get(2).map(|m| m.as_str()) {
                None => spelled(letters),
                Some("s" | "'s") => format!("{}'s", spelled(letters)),
                Some(number) => format!("{} {number}", spelled(letters)),
            }
        })
        .into_owned()
}

fn is_capitals(word: &str) -> bool {
    (1..=5).contains(&word.len()) && word.chars().all(|c| c.is_ascii_uppercase())
}

/// "AWS" as "A.W.S" (no final period: that would end the clause).
fn spelled(letters: &str) -> String {
    letters
        .chars()
        .map(String::from)
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complexity_is_read_as_said() {
        assert_eq!(
            speakable("Is it O(n log n) or O(n^2)?"),
            "Is it O of n log n or O of n squared?"
        );
        assert_eq!(
            speakable("O(1), O(V + E), Θ(2^n), O(n!)"),
            "O of 1, O of V plus E, theta of 2 to the power of n, O of n factorial"
        );
        assert_eq!(speakable("n² and n^3 steps"), "n squared and n cubed steps");
    }

    #[test]
    fn ampersands_and_operators_are_words() {
        assert_eq!(speakable("R&D & QA"), "R and D and Q.A");
        assert_eq!(
            speakable("maps keys -> values, a => b, x == y, a && b || c"),
            "maps keys to values, a to b, x equals y, a and b or c"
        );
    }

    #[test]
    fn latin_and_english_shorthand_is_said_in_full() {
        assert_eq!(
            speakable("Pick one, e.g. a queue, i.e. something durable, vs. a log."),
            "Pick one, for example a queue, that is something durable, versus a log."
        );
        assert_eq!(
            speakable("Caches, queues, etc. Tests w/ and w/o mocks, etc."),
            "Caches, queues, et cetera Tests with and without mocks, et cetera."
        );
    }

    #[test]
    fn initialisms_are_spelled_unless_said_as_words() {
        assert_eq!(
            speakable("Your CI/CD on AWS, an A/B test, EC2 and two APIs."),
            "Your C.I.C.D on A.W.S, an A.B test, E.C 2 and two A.P.I's."
        );
        assert_eq!(
            speakable("A REST API returning JSON, NOT YAML."),
            "A REST A.P.I returning JSON, NOT YAML."
        );
        // Capitals inside a word are espeak-ng's to read: it splits them well.
        assert_eq!(
            speakable("PostgreSQL, gRPC, iOS, NoSQL"),
            "PostgreSQL, gRPC, iOS, NoSQL"
        );
    }

    #[test]
    fn code_words_are_read_as_a_developer_says_them() {
        assert_eq!(
            speakable("Compare C++, C# and F# with Node.js on k8s and `user_id` in a11y."),
            "Compare C++, C sharp and F sharp with Node J.S on Kubernetes and user_id in accessibility."
        );
        assert_eq!(speakable("Upgrade to v1.2.3"), "Upgrade to version 1.2.3");
        assert_eq!(
            speakable("read/write and TCP/IP over HTTP/2, 24/7"),
            "read write and T.C.P.I.P over H.T.T.P 2, 24/7"
        );
    }

    #[test]
    fn numbers_with_units_multipliers_and_ranges() {
        assert_eq!(
            speakable("It got 2x faster, 10x cheaper: 50ms, 1.5 GB, 100k users, $5M, $1."),
            "It got 2 times faster, 10 times cheaper: 50 milliseconds, 1.5 gigabytes, 100 thousand users, 5 million dollars, 1 dollar."
        );
        assert_eq!(
            speakable("Retry 3-5 times at 5–10% load, from 2020-2024, not 2024-01-15."),
            "Retry 3 to 5 times at 5 to 10% load, from 2020 to 2024, not 2024-01-15."
        );
        assert_eq!(
            speakable("the kth largest, the n-th, and n-1 or n - 2 steps"),
            "the k'th largest, the n'th, and n minus 1 or n minus 2 steps"
        );
    }

    #[test]
    fn markup_is_not_read() {
        assert_eq!(
            speakable("## Next\n- **Why** is `a * b` *slow*?"),
            "Next Why is a times b slow?"
        );
    }

    #[test]
    fn plain_questions_are_left_alone() {
        let plain = "Tell me about a time you helped a teammate who was stuck. What did you do?";
        assert_eq!(speakable(plain), plain);
    }
}
