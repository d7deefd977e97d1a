//! Makes interview text speakable: what a reader would say for the symbols and shorthand of
//! technical questions, before espeak-ng turns words into phonemes (it reads plain numbers,
//! dates and most abbreviations well on its own).

use std::sync::OnceLock;

use regex::Regex;

/// The text as it should be read aloud.
pub fn speakable(text: &str) -> String {
    static BIG_O: OnceLock<Regex> = OnceLock::new();
    let big_o =
        BIG_O.get_or_init(|| Regex::new(r"\b([OΘΩ])\(([^()]{1,40})\)").expect("a valid pattern"));
    let text = big_o.replace_all(text, |c: &regex::Captures<'_>| {
        let name = match &c[1] {
            "Θ" => "theta",
            "Ω" => "omega",
            _ => "O",
        };
        format!("{name} of {}", spoken_expression(&c[2]))
    });
    text.replace(" & ", " and ").replace('&', " and ")
}

/// `n log n`, `n^2`, `n*m`, `1`: as said.
fn spoken_expression(expression: &str) -> String {
    expression
        .replace("^2", " squared")
        .replace("^3", " cubed")
        .replace('^', " to the ")
        .replace('*', " times ")
        .replace('+', " plus ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
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
        assert_eq!(speakable("R&D & QA"), "R and D and QA");
    }
}
