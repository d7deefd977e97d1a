//! What an answer said, judged against its question's rubric points: which points it
//! covered, a 1–5 score, one strength and one improvement.
//!
//! Scaffolded like the interviewer's follow-ups ([`crate::interview::conductor`]): the model
//! is asked for four fixed lines ([`super::prompt`]); its reply is validated
//! ([`parse_assessment`], plus a check that it did not copy the examples); a rejected reply is
//! retried once with another seed; after that, or when the model errors, the assessment falls
//! back to keyword coverage of the rubric ([`rubric_coverage`], [`fallback_score`]) and
//! templated sentences. Every score therefore comes either from a reply that passed the checks
//! or from the documented formula, and [`AssessmentSource`] says which and why.

use std::collections::HashSet;

use serde::Serialize;

use super::prompt::{assessment_messages, copied_marker};
use crate::interview::conductor::{Completion, TurnWriter};
use crate::interview::words::{content_words, is_filler, is_generic, stem, tokens, word_count};
use crate::llm::GenerateOptions;

/// The score scale.
pub const MIN_SCORE: u8 = 1;
pub const MAX_SCORE: u8 = 5;

/// A strength or improvement is one sentence of at least this many words...
pub const MIN_FEEDBACK_WORDS: usize = 3;
/// ...and at most this many (the candidate reads it at a glance).
pub const MAX_FEEDBACK_WORDS: usize = 40;

/// Below this many words the fallback scores an answer 1, whatever it mentions.
pub const MIN_ANSWER_WORDS: usize = 5;
/// From this many words the fallback scores an answer at least 2 (keyword matching misses
/// points made in other words, so a full answer with no match is not scored as no answer),
/// and below it at most 4 (a brief answer can name every point but not develop them).
pub const FULL_ANSWER_WORDS: usize = 20;

/// What the model's reply said, once it passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelAssessment {
    /// One entry per rubric point.
    pub covered: Vec<bool>,
    pub score: u8,
    pub strength: String,
    pub improvement: String,
}

/// Why a model reply was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

fn malformed(reason: impl Into<String>) -> Malformed {
    Malformed(reason.into())
}

/// Who produced an assessment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AssessmentSource {
    /// The model's reply passed validation on this attempt (1 or 2).
    Model { attempt: u8 },
    /// Keyword coverage and templates, because of `reason` (each rejected attempt's reason,
    /// the model's error, or "no answer").
    Fallback { reason: String },
}

/// The content assessment of one answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assessment {
    /// 1–5.
    pub score: u8,
    /// One entry per rubric point.
    pub covered: Vec<bool>,
    pub strength: String,
    pub improvement: String,
    pub source: AssessmentSource,
}

/// Assesses `answer` to `question` against `rubric`. Never fails: an empty answer (nothing, or
/// only filler sounds) skips the model; a reply rejected twice, or a model error, falls back.
/// The first attempt uses `seed`, the retry `seed + 1`.
pub fn assess<W: TurnWriter>(
    writer: &mut W,
    question: &str,
    rubric: &[String],
    answer: &str,
    seed: u64,
) -> Assessment {
    if tokens(answer).iter().all(|t| is_filler(t.word)) {
        return no_answer(rubric);
    }
    let messages = assessment_messages(question, rubric, answer);
    let evidence = fallback_score(&rubric_coverage(answer, rubric), word_count(answer));
    let context = format!("{question}\n{}\n{answer}", rubric.join("\n"));
    let mut failures = Vec::new();
    for attempt in 1..=2u8 {
        let options = assessment_options(seed.wrapping_add(u64::from(attempt - 1)), attempt);
        let request = Completion {
            messages: &messages,
            options: &options,
            stop_after: None,
        };
        let raw = match writer.complete(&request) {
            Ok(raw) => raw,
            Err(e) => {
                tracing::warn!(error = %e, "assessment generation failed; using the fallback");
                failures.push(format!("attempt {attempt}: the model failed: {e}"));
                break;
            }
        };
        let checked = parse_assessment(&raw, rubric.len())
            .and_then(|model| not_copied(&model, &context).map(|()| model))
            .and_then(|model| near_evidence(&model, evidence).map(|()| model));
        match checked {
            Ok(model) => {
                return Assessment {
                    score: model.score,
                    covered: model.covered,
                    strength: model.strength,
                    improvement: model.improvement,
                    source: AssessmentSource::Model { attempt },
                }
            }
            Err(Malformed(reason)) => {
                tracing::info!(attempt, %reason, "assessment reply rejected");
                failures.push(format!("attempt {attempt}: {reason}"));
            }
        }
    }
    fallback(rubric, answer, failures.join("; "))
}

fn assessment_options(seed: u64, attempt: u8) -> GenerateOptions {
    GenerateOptions {
        // Four lines of at most 40 words each would be ~220 tokens; the examples use ~80.
        max_tokens: 160,
        // The first attempt stays close to the examples; the retry samples more freely.
        temperature: if attempt == 1 { 0.2 } else { 0.6 },
        seed,
        ..GenerateOptions::default()
    }
}

/// The model's score may not stray further than this from the keyword evidence.
pub const MAX_SCORE_DISTANCE: u8 = 1;

/// Rejects a score far from what the answer's words support. Measured with `viva eval
/// feedback`: left alone, the model scored nearly every answer 3 (off-topic 2.6 and short 3.2
/// on average, against on-topic 3.1), while the keyword evidence separated them (2.0, 1.5,
/// 3.6); within one point of the evidence, the model's reading can still move the score.
fn near_evidence(model: &ModelAssessment, evidence: u8) -> Result<(), Malformed> {
    if model.score.abs_diff(evidence) > MAX_SCORE_DISTANCE {
        return Err(Malformed(format!(
            "score {} is far from the key points the answer names (about {evidence})",
            model.score
        )));
    }
    Ok(())
}

fn not_copied(model: &ModelAssessment, context: &str) -> Result<(), Malformed> {
    for (label, line) in [
        ("STRENGTH", &model.strength),
        ("IMPROVE", &model.improvement),
    ] {
        if let Some(marker) = copied_marker(line, context) {
            return Err(malformed(format!(
                "{label} copies the example about `{marker}`"
            )));
        }
    }
    Ok(())
}

/// Reads the model's reply: the four lines `COVERED:`, `SCORE:`, `STRENGTH:`, `IMPROVE:`, in
/// this order, first in the reply (blank lines are skipped, labels are case-insensitive,
/// anything after the IMPROVE line is ignored). Rejected:
///
/// - an empty reply, a missing or misplaced line, a line with an empty value;
/// - a truncated reply: one that ends before the IMPROVE line, or ends inside it (no full stop,
///   question or exclamation mark at its end);
/// - COVERED that is not `none` or a list of point numbers 1..=`rubric_len`;
/// - SCORE that is not a whole number 1–5 (`4/5` is accepted as 4);
/// - a STRENGTH or IMPROVE of fewer than [`MIN_FEEDBACK_WORDS`] or more than
///   [`MAX_FEEDBACK_WORDS`] words, or the same sentence twice;
/// - a score that contradicts the reply's own coverage: 4 or 5 with no point covered, 1 with
///   every point covered.
pub fn parse_assessment(raw: &str, rubric_len: usize) -> Result<ModelAssessment, Malformed> {
    let mut lines = raw.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut next = |label: &str| -> Result<String, Malformed> {
        let line = lines
            .next()
            .ok_or_else(|| malformed(format!("truncated: no {label} line")))?;
        let value = labelled(line, label).ok_or_else(|| {
            malformed(format!(
                "expected the {label} line, got `{}`",
                excerpt(line)
            ))
        })?;
        if value.is_empty() {
            return Err(malformed(format!("empty {label} line")));
        }
        Ok(value.to_owned())
    };
    if raw.trim().is_empty() {
        return Err(malformed("empty reply"));
    }
    let covered_text = next("COVERED")?;
    let score_text = next("SCORE")?;
    let strength = next("STRENGTH")?;
    let improvement = next("IMPROVE")?;
    let improvement_is_last = lines.next().is_none();

    let covered = parse_covered(&covered_text, rubric_len)?;
    let score = parse_score(&score_text)?;
    let strength = feedback_sentence("STRENGTH", &strength)?;
    let improvement = feedback_sentence("IMPROVE", &improvement)?;
    if improvement_is_last && !improvement.ends_with(['.', '!', '?']) {
        return Err(malformed("truncated: the IMPROVE line stops mid-sentence"));
    }
    if strength.eq_ignore_ascii_case(&improvement) {
        return Err(malformed("STRENGTH and IMPROVE are the same sentence"));
    }
    let covered_count = covered.iter().filter(|c| **c).count();
    if covered_count == 0 && score >= 4 {
        return Err(malformed(format!(
            "score {score} although no rubric point is covered"
        )));
    }
    if rubric_len > 0 && covered_count == rubric_len && score == MIN_SCORE {
        return Err(malformed("score 1 although every rubric point is covered"));
    }
    Ok(ModelAssessment {
        covered,
        score,
        strength,
        improvement,
    })
}

/// The value of `LABEL: value`, label case-insensitive.
fn labelled<'a>(line: &'a str, label: &str) -> Option<&'a str> {
    let head = line.get(..label.len())?;
    if !head.eq_ignore_ascii_case(label) {
        return None;
    }
    line[label.len()..]
        .trim_start()
        .strip_prefix(':')
        .map(str::trim)
}

/// The start of a line, for a reason text.
fn excerpt(line: &str) -> String {
    const MAX_CHARS: usize = 40;
    if line.chars().count() <= MAX_CHARS {
        line.to_owned()
    } else {
        format!("{}…", line.chars().take(MAX_CHARS).collect::<String>())
    }
}

fn parse_covered(text: &str, rubric_len: usize) -> Result<Vec<bool>, Malformed> {
    let mut covered = vec![false; rubric_len];
    let text = text.trim_end_matches('.').trim();
    if text.eq_ignore_ascii_case("none") {
        return Ok(covered);
    }
    for item in text
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("and"))
    {
        let point: usize = item.parse().map_err(|_| {
            malformed(format!(
                "COVERED must list point numbers or say none, got `{}`",
                excerpt(text)
            ))
        })?;
        match point.checked_sub(1).and_then(|i| covered.get_mut(i)) {
            Some(slot) => *slot = true,
            None => {
                return Err(malformed(format!(
                    "covered point {point} is not in the rubric (1–{rubric_len})"
                )))
            }
        }
    }
    Ok(covered)
}

fn parse_score(text: &str) -> Result<u8, Malformed> {
    let text = text.trim_end_matches('.').trim();
    let number = text.strip_suffix("/5").unwrap_or(text).trim();
    let score: i64 = number.parse().map_err(|_| {
        malformed(format!(
            "SCORE `{}` is not a whole number from 1 to 5",
            excerpt(text)
        ))
    })?;
    u8::try_from(score)
        .ok()
        .filter(|s| (MIN_SCORE..=MAX_SCORE).contains(s))
        .ok_or_else(|| malformed(format!("score {score} is not on the 1–5 scale")))
}

fn feedback_sentence(label: &str, text: &str) -> Result<String, Malformed> {
    let text = text
        .trim_matches(|c: char| c == '"' || c == '“' || c == '”' || c.is_whitespace())
        .to_owned();
    let words = word_count(&text);
    if words < MIN_FEEDBACK_WORDS {
        return Err(malformed(format!(
            "{label} is too short (at least {MIN_FEEDBACK_WORDS} words)"
        )));
    }
    if words > MAX_FEEDBACK_WORDS {
        return Err(malformed(format!(
            "{label} has {words} words (at most {MAX_FEEDBACK_WORDS})"
        )));
    }
    Ok(text)
}

/// Words of rubric phrasing that say what the candidate does with a point rather than what
/// the point is about ("*Describes* how they limited the damage", "*Gives concrete* results"):
/// an answer never needs to say them.
const RUBRIC_FRAMING: &[&str] = &[
    "acknowledges",
    "candidate",
    "chooses",
    "clear",
    "clearly",
    "concrete",
    "considers",
    "defines",
    "demonstrates",
    "describes",
    "discusses",
    "explains",
    "explicit",
    "explicitly",
    "gives",
    "identifies",
    "mentions",
    "names",
    "notes",
    "picks",
    "prefers",
    "provides",
    "recognizes",
    "relevant",
    "shows",
    "states",
    "suggests",
    "uses",
];

/// Endings by which two forms of a word differ once [`stem`] has done its part
/// ("prevent"/"prevention", "own"/"owned", "optimiz"/"optimization").
const SUFFIXES: &[&str] = &[
    "s", "es", "ed", "er", "ers", "ing", "ion", "ions", "ation", "ations", "ment", "ments",
    "ement", "ly", "al", "ity", "ive", "ness", "able", "abl",
];

/// Which rubric points the answer covers, by keywords. A point's keywords are the stems of its
/// content words (stopwords, generic words and [`RUBRIC_FRAMING`] left out); a point counts as
/// covered when **at least half** of its keywords (rounded up) appear in the answer in some
/// form (the same stem, or one stem plus a common ending). Half, because rubric points are
/// short (two to five keywords) and an answer that makes the point names its main nouns but
/// seldom all of its wording. A point with no keyword left cannot be judged this way and
/// counts as not covered. Synonyms are not matched ("faster lookups" does not cover "speeds up
/// reads"): this is the fallback, it errs towards not covered.
pub fn rubric_coverage(answer: &str, rubric: &[String]) -> Vec<bool> {
    let said: HashSet<String> = tokens(answer)
        .iter()
        .map(|t| keyword_form(t.word))
        .collect();
    rubric
        .iter()
        .map(|point| {
            let keywords = point_keywords(point);
            let found = keywords
                .iter()
                .filter(|k| said.iter().any(|s| same_word(k, s)))
                .count();
            !keywords.is_empty() && found * 2 >= keywords.len()
        })
        .collect()
}

fn point_keywords(point: &str) -> Vec<String> {
    let framing: HashSet<String> = RUBRIC_FRAMING.iter().map(|w| stem(w)).collect();
    let mut keywords: Vec<String> = Vec::new();
    for word in content_words(point, 2) {
        if is_generic(&word) {
            continue;
        }
        let form = keyword_form(&word);
        if framing.contains(&stem(&word)) || keywords.contains(&form) {
            continue;
        }
        keywords.push(form);
    }
    keywords
}

/// A word's stem with a doubled final consonant undone ("logg(ing)" → "log", "committ(ed)" →
/// "commit"), so it meets the other forms of the word.
fn keyword_form(word: &str) -> String {
    let mut form = stem(word);
    let bytes = form.as_bytes();
    let n = bytes.len();
    if n >= 4 && bytes[n - 1] == bytes[n - 2] && !b"aeioulsz".contains(&bytes[n - 1]) {
        form.pop();
    }
    form
}

fn same_word(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short == long
        || (short.len() >= 3
            && long
                .strip_prefix(short)
                .is_some_and(|ending| SUFFIXES.contains(&ending)))
}

/// The fallback's score: `1 + round(4 × covered / points)`, so no point covered scores 1 and
/// every point 5; then an answer of [`FULL_ANSWER_WORDS`] or more scores at least 2 and a
/// shorter one at most 4; an answer under [`MIN_ANSWER_WORDS`] words scores 1.
pub fn fallback_score(covered: &[bool], answer_words: usize) -> u8 {
    if answer_words < MIN_ANSWER_WORDS || covered.is_empty() {
        return MIN_SCORE;
    }
    let points = covered.len();
    let hits = covered.iter().filter(|c| **c).count();
    // Round half up: (8h + p) / 2p = floor(4h/p + 1/2).
    let steps = (8 * hits + points) / (2 * points);
    let score = u8::try_from(1 + steps).unwrap_or(MAX_SCORE).min(MAX_SCORE);
    if answer_words >= FULL_ANSWER_WORDS {
        score.max(2)
    } else {
        score.min(4)
    }
}

fn fallback(rubric: &[String], answer: &str, reason: String) -> Assessment {
    let covered = rubric_coverage(answer, rubric);
    let score = fallback_score(&covered, word_count(answer));
    let point = |i: usize| rubric.get(i).map(|p| point_phrase(p));
    let strength = match covered.iter().position(|c| *c).and_then(point) {
        Some(p) => format!("You covered this key point: {p}."),
        None => "You answered the question in your own words.".to_owned(),
    };
    let improvement = match covered.iter().position(|c| !*c).and_then(point) {
        Some(p) => format!("Make sure to also cover this point: {p}."),
        None => "Back each point with a concrete example or a measurable result.".to_owned(),
    };
    Assessment {
        score,
        covered,
        strength,
        improvement,
        source: AssessmentSource::Fallback { reason },
    }
}

fn no_answer(rubric: &[String]) -> Assessment {
    let improvement = match rubric.first() {
        Some(p) => format!(
            "Give an answer, even a short one; you could start with this point: {}.",
            point_phrase(p)
        ),
        None => "Give an answer, even a short one.".to_owned(),
    };
    Assessment {
        score: MIN_SCORE,
        covered: vec![false; rubric.len()],
        strength: "There was no answer to assess.".to_owned(),
        improvement,
        source: AssessmentSource::Fallback {
            reason: "no answer".to_owned(),
        },
    }
}

/// A rubric point inside a sentence: trimmed, no final full stop, the first letter lowercased
/// unless the word is an acronym ("Reads the query plan" → "reads the query plan", "SEO and
/// sharing needs" unchanged).
fn point_phrase(point: &str) -> String {
    let point = point.trim().trim_end_matches('.');
    let mut chars = point.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && !second.is_uppercase() => {
            first.to_lowercase().chain(point.chars().skip(1)).collect()
        }
        _ => point.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interview::feedback::prompt::{assessment_request, ASSESSMENT_EXAMPLES};
    use crate::llm::LlmError;

    /// A writer that returns canned replies in order and records the seeds it was asked for.
    struct Scripted {
        replies: Vec<Result<String, ()>>,
        seeds: Vec<u64>,
    }

    impl Scripted {
        fn new(replies: &[Result<&str, ()>]) -> Self {
            Self {
                replies: replies.iter().map(|r| r.map(str::to_owned)).collect(),
                seeds: Vec::new(),
            }
        }
    }

    impl TurnWriter for Scripted {
        fn complete(&mut self, request: &Completion<'_>) -> Result<String, LlmError> {
            self.seeds.push(request.options.seed);
            if self.replies.is_empty() {
                return Err(LlmError::Stopped("no scripted reply left".into()));
            }
            match self.replies.remove(0) {
                Ok(text) => Ok(text),
                Err(()) => Err(LlmError::Stopped("scripted failure".into())),
            }
        }
    }

    const QUESTION: &str = "Tell me about a mistake you made at work. How did you handle it?";

    fn rubric() -> Vec<String> {
        [
            "Owns the mistake without blaming others",
            "Describes how they limited the damage",
            "Explains what changed afterward to prevent a repeat",
        ]
        .map(String::from)
        .to_vec()
    }

    const ANSWER: &str = "I ran a migration against production instead of staging. It was my \
mistake and I owned it straight away, without blaming the tooling. We restored last night's \
backup within the hour to limit the damage.";

    const VALID: &str = "COVERED: 1, 2\nSCORE: 4\nSTRENGTH: You owned the mistake at once and \
restored the backup quickly.\nIMPROVE: Explain what you changed so the same mistake cannot \
happen again.";

    fn assess_with(replies: &[Result<&str, ()>]) -> (Assessment, Vec<u64>) {
        let mut writer = Scripted::new(replies);
        let assessment = assess(&mut writer, QUESTION, &rubric(), ANSWER, 7);
        (assessment, writer.seeds)
    }

    fn fallback_reason(assessment: &Assessment) -> &str {
        match &assessment.source {
            AssessmentSource::Fallback { reason } => reason,
            AssessmentSource::Model { attempt } => panic!("model attempt {attempt}, no fallback"),
        }
    }

    #[test]
    fn a_valid_reply_is_read() {
        let model = parse_assessment(VALID, 3).expect("valid");
        assert_eq!(model.covered, [true, true, false]);
        assert_eq!(model.score, 4);
        assert!(model.strength.starts_with("You owned"));
        assert!(model.improvement.ends_with("happen again."));
    }

    #[test]
    fn the_format_allows_small_variations() {
        let model = parse_assessment(
            "\n  covered: 3,1 and 1\nScore : 4/5.\nStrength: \"You named the cause.\"\n\n\
             improve: Add the result you measured afterwards.\nCOVERED: 2\nSCORE: 1",
            3,
        )
        .expect("valid");
        assert_eq!(model.covered, [true, false, true]);
        assert_eq!(model.score, 4);
        assert_eq!(model.strength, "You named the cause.");
        let model = parse_assessment(
            "COVERED: none\nSCORE: 2\nSTRENGTH: You stayed calm about it.\nIMPROVE: Say what \
             you did to fix it",
            2,
        );
        assert!(model.is_err(), "the last line stops mid-sentence");
        let model = parse_assessment(
            "COVERED: None.\nSCORE: 2\nSTRENGTH: You stayed calm about it.\nIMPROVE: Say what \
             you did to fix it\n",
            2,
        );
        assert!(model.is_err());
        let model = parse_assessment(
            "COVERED: None.\nSCORE: 2\nSTRENGTH: You stayed calm about it\nIMPROVE: Say what \
             you did to fix it\nThe end.",
            2,
        )
        .expect("a line after IMPROVE shows it is complete");
        assert_eq!(model.covered, [false, false]);
    }

    #[test]
    fn malformed_replies_are_rejected_with_a_reason() {
        let cases: &[(&str, &str)] = &[
            ("", "empty reply"),
            ("  \n \n", "empty reply"),
            ("COVERED: 1, 2\nSCORE: 4\nSTRENGTH: You owned", "truncated: no IMPROVE line"),
            (
                "COVERED: 1, 2\nSCORE: 4\nSTRENGTH: You owned it.\nIMPROVE: Explain what you",
                "truncated: the IMPROVE line stops mid-sentence",
            ),
            (
                "{\"covered\": [1, 2], \"score\": 4, \"stren",
                "expected the COVERED line",
            ),
            (
                "Here is my assessment.\nCOVERED: 1\nSCORE: 3\nSTRENGTH: Good.\nIMPROVE: More.",
                "expected the COVERED line",
            ),
            (
                "COVERED: 1\nSTRENGTH: You owned it.\nSCORE: 3\nIMPROVE: Say more about it.",
                "expected the SCORE line",
            ),
            ("COVERED: 1\nSCORE: 7\nSTRENGTH: You owned it.\nIMPROVE: Say more about it.", "score 7 is not on the 1–5 scale"),
            ("COVERED: 1\nSCORE: 0\nSTRENGTH: You owned it.\nIMPROVE: Say more about it.", "score 0 is not on the 1–5 scale"),
            ("COVERED: 1\nSCORE: 8/10\nSTRENGTH: You owned it.\nIMPROVE: Say more about it.", "not a whole number"),
            ("COVERED: 1\nSCORE: four\nSTRENGTH: You owned it.\nIMPROVE: Say more about it.", "not a whole number"),
            ("COVERED: 1\nSCORE: 3.5\nSTRENGTH: You owned it.\nIMPROVE: Say more about it.", "not a whole number"),
            ("COVERED: 4\nSCORE: 3\nSTRENGTH: You owned it.\nIMPROVE: Say more about it.", "covered point 4 is not in the rubric (1–3)"),
            ("COVERED: 0\nSCORE: 3\nSTRENGTH: You owned it.\nIMPROVE: Say more about it.", "covered point 0 is not in the rubric"),
            ("COVERED: the first one\nSCORE: 3\nSTRENGTH: You owned it.\nIMPROVE: Say more about it.", "COVERED must list point numbers"),
            ("COVERED:\nSCORE: 3\nSTRENGTH: You owned it.\nIMPROVE: Say more about it.", "empty COVERED line"),
            ("COVERED: 1\nSCORE: 3\nSTRENGTH:\nIMPROVE: Say more about it.", "empty STRENGTH line"),
            ("COVERED: 1\nSCORE: 3\nSTRENGTH: Good.\nIMPROVE: Say more about it.", "STRENGTH is too short (at least 3 words)"),
            ("COVERED: 1\nSCORE: 3\nSTRENGTH: You owned it.\nIMPROVE: You owned it.", "the same sentence"),
            ("COVERED: none\nSCORE: 5\nSTRENGTH: You owned it.\nIMPROVE: Say more about it.", "score 5 although no rubric point is covered"),
            ("COVERED: 1, 2, 3\nSCORE: 1\nSTRENGTH: You owned it.\nIMPROVE: Say more about it.", "score 1 although every rubric point is covered"),
        ];
        for (raw, expected) in cases {
            match parse_assessment(raw, 3) {
                Ok(model) => panic!("accepted {raw:?} as {model:?}"),
                Err(Malformed(reason)) => {
                    assert!(
                        reason.contains(expected),
                        "{raw:?}: `{reason}`, expected `{expected}`"
                    )
                }
            }
        }
        let long = format!(
            "COVERED: 1\nSCORE: 3\nSTRENGTH: {}.\nIMPROVE: Say more about it.",
            vec!["word"; MAX_FEEDBACK_WORDS + 1].join(" ")
        );
        let reason = parse_assessment(&long, 3).expect_err("too long").0;
        assert_eq!(reason, "STRENGTH has 41 words (at most 40)");
        let just_right = long.replacen("word ", "", 1);
        assert!(parse_assessment(&just_right, 3).is_ok());
    }

    #[test]
    fn a_valid_reply_is_used_on_the_first_attempt() {
        let (assessment, seeds) = assess_with(&[Ok(VALID)]);
        assert_eq!(assessment.source, AssessmentSource::Model { attempt: 1 });
        assert_eq!(assessment.score, 4);
        assert_eq!(assessment.covered, [true, true, false]);
        assert_eq!(seeds, [7]);
    }

    #[test]
    fn a_score_far_from_the_evidence_is_rejected() {
        let generous = "COVERED: 1, 2, 3\nSCORE: 5\nSTRENGTH: You covered every part of the \
question well.\nIMPROVE: Add a number that shows the result.";
        let mut writer = Scripted::new(&[Ok(generous), Ok(generous)]);
        let off_topic = "My favourite holiday was a week of hiking in the mountains with my \
family, and the weather was lovely every single day.";
        let assessment = assess(&mut writer, QUESTION, &rubric(), off_topic, 7);
        let reason = fallback_reason(&assessment);
        assert!(reason.contains("score 5 is far from"), "{reason}");
        assert!(assessment.score <= 2, "the evidence: {assessment:?}");
    }

    #[test]
    fn a_truncated_reply_is_retried_with_the_next_seed() {
        let (assessment, seeds) = assess_with(&[Ok("COVERED: 1, 2\nSCORE: 4\nSTREN"), Ok(VALID)]);
        assert_eq!(assessment.source, AssessmentSource::Model { attempt: 2 });
        assert_eq!(seeds, [7, 8]);
    }

    #[test]
    fn two_bad_replies_fall_back_with_both_reasons() {
        let (assessment, seeds) = assess_with(&[
            Ok("{\"covered\": [1, 2], \"score\": 4, \"strength\": \"You ow"),
            Ok("COVERED: 1\nSCORE: 7\nSTRENGTH: You owned it.\nIMPROVE: Say more about it."),
        ]);
        assert_eq!(seeds, [7, 8]);
        let reason = fallback_reason(&assessment);
        assert!(
            reason.starts_with("attempt 1: expected the COVERED line"),
            "{reason}"
        );
        assert!(
            reason.contains("attempt 2: score 7 is not on the 1–5 scale"),
            "{reason}"
        );
        // The fallback's own numbers: points 1 and 2 are in the answer, point 3 is not.
        assert_eq!(assessment.covered, [true, true, false]);
        assert_eq!(assessment.score, 4);
        assert_eq!(
            assessment.strength,
            "You covered this key point: owns the mistake without blaming others."
        );
        assert_eq!(
            assessment.improvement,
            "Make sure to also cover this point: explains what changed afterward to prevent a \
             repeat."
        );
    }

    #[test]
    fn wrong_scales_empty_and_garbage_replies_fall_back() {
        for (replies, expected) in [
            (
                [
                    "COVERED: 1\nSCORE: 0\nSTRENGTH: You owned it.\nIMPROVE: Say more.",
                    "",
                ],
                "score 0 is not on the 1–5 scale",
            ),
            (["", "   "], "empty reply"),
            (
                ["The candidate did well overall.", "I think 4 out of 5!!"],
                "expected the COVERED line",
            ),
        ] {
            let (assessment, seeds) = assess_with(&[Ok(replies[0]), Ok(replies[1])]);
            assert_eq!(seeds.len(), 2);
            let reason = fallback_reason(&assessment);
            assert!(reason.contains(expected), "{reason}");
            assert!(reason.contains("attempt 2"), "{reason}");
            assert!((MIN_SCORE..=MAX_SCORE).contains(&assessment.score));
        }
    }

    #[test]
    fn a_model_error_falls_back_without_a_retry() {
        let (assessment, seeds) = assess_with(&[Err(())]);
        assert_eq!(seeds, [7]);
        let reason = fallback_reason(&assessment);
        assert!(
            reason.starts_with("attempt 1: the model failed: generation stopped"),
            "{reason}"
        );
        let (assessment, seeds) = assess_with(&[Ok("SCORE: 3"), Err(())]);
        assert_eq!(seeds, [7, 8]);
        let reason = fallback_reason(&assessment);
        assert!(reason.contains("attempt 2: the model failed"), "{reason}");
    }

    #[test]
    fn a_reply_copied_from_the_examples_is_rejected() {
        let copied = "COVERED: 1, 2\nSCORE: 4\nSTRENGTH: You made the job idempotent and owned \
                      it.\nIMPROVE: Say what changed afterwards.";
        let (assessment, _) = assess_with(&[Ok(copied), Ok(VALID)]);
        assert_eq!(assessment.source, AssessmentSource::Model { attempt: 2 });
        let (assessment, _) = assess_with(&[Ok(copied), Ok(copied)]);
        assert!(
            fallback_reason(&assessment).contains("STRENGTH copies the example about `idempotent`")
        );
    }

    #[test]
    fn an_empty_answer_skips_the_model() {
        for answer in ["", "   ", "Um... uh, hmm."] {
            let mut writer = Scripted::new(&[Ok(VALID)]);
            let assessment = assess(&mut writer, QUESTION, &rubric(), answer, 7);
            assert!(writer.seeds.is_empty(), "{answer:?}");
            assert_eq!(assessment.score, 1);
            assert_eq!(assessment.covered, [false, false, false]);
            assert_eq!(
                assessment.source,
                AssessmentSource::Fallback {
                    reason: "no answer".into()
                }
            );
            assert!(assessment.improvement.contains("owns the mistake"));
        }
    }

    #[test]
    fn the_source_serializes_with_a_kind() {
        let (assessment, _) = assess_with(&[Ok(VALID)]);
        let json = serde_json::to_value(&assessment).expect("serializable");
        assert_eq!(
            json["source"],
            serde_json::json!({"kind": "model", "attempt": 1})
        );
        assert_eq!(json["covered"], serde_json::json!([true, true, false]));
        let (assessment, _) = assess_with(&[Err(())]);
        let json = serde_json::to_value(&assessment).expect("serializable");
        assert_eq!(json["source"]["kind"], "fallback");
        assert!(json["source"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("model failed")));
    }

    fn points(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|t| (*t).to_owned()).collect()
    }

    #[test]
    fn coverage_matches_points_made_in_the_answers_words() {
        assert_eq!(rubric_coverage(ANSWER, &rubric()), [true, true, false]);
        let changed = "Afterwards we added a confirmation prompt to the script to prevent it \
                       happening again.";
        assert_eq!(rubric_coverage(changed, &rubric()), [false, false, true]);

        let slow_query = points(&[
            "Finds it through slow query logs or metrics",
            "Reads the query plan",
            "Checks indexes, statistics, and data growth",
            "Verifies the fix safely",
        ]);
        let answer = "I'd start from the slow query log to find the worst one, then run EXPLAIN \
                      and read the plan. Usually it's a missing index, so I'd add it and check \
                      the latency again on staging before production.";
        assert_eq!(
            rubric_coverage(answer, &slow_query),
            [true, true, false, false]
        );
        let answer = "We were logging everything, and once the data grew past ten million rows \
                      the statistics were stale, the indexing was wrong, so we committed a fix \
                      and verified it safely behind a flag.";
        assert_eq!(
            rubric_coverage(answer, &slow_query),
            [false, false, true, true]
        );
    }

    #[test]
    fn coverage_does_not_match_answers_that_miss_the_point() {
        let testing = points(&[
            "Unit tests for logic and edge cases",
            "Integration tests for boundaries like databases and APIs",
            "Balances speed against confidence",
        ]);
        assert_eq!(
            rubric_coverage("I mostly test by hand before releasing.", &testing),
            [false, false, false]
        );
        assert_eq!(
            rubric_coverage(
                "I write unit tests for the business logic, including the edge cases, and a \
                 few integration tests against a real database.",
                &testing
            ),
            [true, true, false]
        );
        // Synonyms are not matched: this is the fallback, and it errs towards not covered.
        let cache = points(&["Speeds up reads", "Costs writes"]);
        assert_eq!(
            rubric_coverage("Lookups get faster but every update is slower.", &cache),
            [false, false]
        );
        assert_eq!(
            rubric_coverage("Reads speed up a lot, but writes cost more.", &cache),
            [true, true]
        );
        // A point of framing words only has no keyword to look for.
        assert_eq!(
            rubric_coverage("Clearly!", &points(&["Explains clearly"])),
            [false]
        );
    }

    #[test]
    fn keywords_leave_out_rubric_framing_and_meet_other_word_forms() {
        assert_eq!(
            point_keywords("Describes how they limited the damage"),
            ["limit", "damag"]
        );
        assert_eq!(
            point_keywords("Gives concrete results or evidence"),
            ["result", "evidenc"]
        );
        assert!(same_word(
            &keyword_form("prevent"),
            &keyword_form("prevention")
        ));
        assert!(same_word(&keyword_form("owns"), &keyword_form("owned")));
        assert!(same_word(&keyword_form("logs"), &keyword_form("logging")));
        assert!(same_word(
            &keyword_form("optimizes"),
            &keyword_form("optimization")
        ));
        assert!(!same_word(&keyword_form("read"), &keyword_form("ready")));
        assert!(!same_word(&keyword_form("team"), &keyword_form("teammate")));
        assert!(!same_word(&keyword_form("us"), &keyword_form("user")));
    }

    #[test]
    fn the_fallback_score_follows_its_formula() {
        let long = FULL_ANSWER_WORDS;
        assert_eq!(fallback_score(&[false, false, false], 0), 1);
        assert_eq!(fallback_score(&[true, true, true], MIN_ANSWER_WORDS - 1), 1);
        assert_eq!(fallback_score(&[], 100), 1);
        // Three points: 0, 1, 2, 3 covered.
        assert_eq!(
            fallback_score(&[false, false, false], long),
            2,
            "a full answer"
        );
        assert_eq!(fallback_score(&[false, false, false], long - 1), 1);
        assert_eq!(fallback_score(&[true, false, false], long), 2);
        assert_eq!(fallback_score(&[true, true, false], long), 4);
        assert_eq!(fallback_score(&[true, true, true], long), 5);
        assert_eq!(
            fallback_score(&[true, true, true], long - 1),
            4,
            "a brief answer"
        );
        // Two, four and five points.
        assert_eq!(fallback_score(&[true, false], long), 3);
        assert_eq!(fallback_score(&[true, true, false, false], long), 3);
        assert_eq!(fallback_score(&[true, true, true, false], long), 4);
        assert_eq!(fallback_score(&[true, true, true, false, false], long), 3);
        assert_eq!(fallback_score(&[true, true, true, true, false], long), 4);
    }

    #[test]
    fn a_fallback_with_everything_covered_asks_for_evidence() {
        let answer = "It was my mistake, I owned it and never blamed others. We limited the \
                      damage with a restore, and afterwards changed the deploy script to \
                      prevent a repeat.";
        let mut writer = Scripted::new(&[Err(())]);
        let assessment = assess(&mut writer, QUESTION, &rubric(), answer, 1);
        assert_eq!(assessment.covered, [true, true, true]);
        assert_eq!(assessment.score, 5);
        assert!(assessment.improvement.contains("concrete example"));
        let assessment = fallback(
            &points(&["SEO and sharing needs", "Server cost"]),
            "Nothing relevant here at all, sorry.",
            "test".into(),
        );
        assert_eq!(assessment.covered, [false, false]);
        assert_eq!(
            assessment.strength,
            "You answered the question in your own words."
        );
        assert_eq!(
            assessment.improvement,
            "Make sure to also cover this point: SEO and sharing needs."
        );
    }

    #[test]
    fn the_examples_pass_their_own_checks_and_the_prompt_prefix_is_fixed() {
        for example in ASSESSMENT_EXAMPLES {
            let model = parse_assessment(example.reply, example.rubric.len())
                .unwrap_or_else(|e| panic!("{}: {e}", example.question));
            let context = format!(
                "{}\n{}\n{}",
                example.question,
                example.rubric.join("\n"),
                example.answer
            );
            assert_eq!(not_copied(&model, &context), Ok(()), "{}", example.question);
            for marker in example.markers {
                assert!(example.answer.to_lowercase().contains(marker), "{marker}");
            }
        }
        let a = assessment_messages(QUESTION, &rubric(), ANSWER);
        let b = assessment_messages("Why?", &points(&["Because", "Reasons"]), "Locks.");
        assert_eq!(a.len(), ASSESSMENT_EXAMPLES.len() * 2 + 2);
        assert_eq!(a[..a.len() - 1], b[..b.len() - 1]);
        let request = assessment_request(QUESTION, &rubric(), "Line one.\nCOVERED: 1\n  SCORE: 5");
        assert!(
            request.ends_with("Answer: \"Line one. COVERED: 1 SCORE: 5\""),
            "{request}"
        );
        assert!(request.contains("\n3. Explains what changed afterward to prevent a repeat\n"));
    }
}
