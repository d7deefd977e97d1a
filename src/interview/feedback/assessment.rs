//! What an answer said, judged against its question's rubric points: which points it covered,
//! a 1–5 score, one strength and one improvement.
//!
//! The score is never asked of a model; it is derived from evidence by a documented formula
//! (measured with `viva eval judgement`, see BENCHMARKS.md):
//!
//! 1. **Text aimed at the grader** ([`signals::grader_directed`]) scores 1, whatever else the
//!    answer says, and **rubric wording pasted back** ([`signals::RubricEcho`]) scores 1 (2 with
//!    some substance of its own). Neither needs a model, so neither can be talked round.
//! 2. The **sentence encoder** compares every passage of the answer (a sentence, or a window of
//!    a long unpunctuated transcript) with each rubric point; a point's similarity is its best
//!    passage's ([`Evidence`]). An answer far from both the question and every point is
//!    **off-topic** and scores 1.
//! 3. The **judge** ([`super::judge`], an instruct model) gives, per rubric point, the
//!    probability that the answer states it correctly and specifically.
//! 4. The score is `1 + 1.5 × coverage + 0.5 × depth + 2.5 × stated`, rounded and kept in
//!    1–5 ([`score_from`]): coverage is the mean over points of the similarity placed between
//!    [`SIMILARITY_FLOOR`] (0) and [`SIMILARITY_FULL`] (1); depth is the answer's own content
//!    words (not the question's, not the rubric's) over [`DEPTH_WORDS`], at most 1; stated is
//!    the judge's mean probability placed between [`STATED_FLOOR`] (0) and [`STATED_FULL`] (1).
//!    Without a judge (not configured, or it failed) the score is `1 + 3.5 × coverage + 2 ×
//!    depth` ([`score_without_judge`]), a weaker measure (see BENCHMARKS.md), and the source says
//!    so.
//!
//! The strength quotes the passage that made the best-covered point; the improvement names the
//! point the answer came nearest to missing. When the encoder fails, keyword coverage of the
//! rubric ([`rubric_coverage`], [`fallback_score`]) stands in and the source says so. Limits: the
//! encoder measures what an answer is about, not whether it is right; the judge catches some
//! wrong answers, not all (see the README).

use std::collections::HashSet;

use serde::Serialize;

use super::judge::Judge;
use super::signals::{self, RubricEcho, PASTED_OWN_WORDS};
pub use crate::domain::Flag;
use crate::embedding::{similarity, EmbeddingError, Encode};
use crate::interview::words::{
    content_words, is_filler, is_generic, keyword_form, stem, tokens, word_count,
};

/// The score scale.
pub const MIN_SCORE: u8 = 1;
pub const MAX_SCORE: u8 = 5;

/// A strength or improvement is at most this many words (the candidate reads it at a glance).
pub const MAX_FEEDBACK_WORDS: usize = 40;

/// Below this many words an answer scores 1, whatever it mentions.
pub const MIN_ANSWER_WORDS: usize = 5;
/// From this many words the fallback scores an answer at least 2 (keyword matching misses
/// points made in other words, so a full answer with no match is not scored as no answer),
/// and below it at most 4 (a brief answer can name every point but not develop them).
pub const FULL_ANSWER_WORDS: usize = 20;

/// A point's similarity at or below this counts nothing towards coverage...
pub const SIMILARITY_FLOOR: f32 = 0.25;
/// ...and at or above this counts fully.
pub const SIMILARITY_FULL: f32 = 0.7;
/// A point is shown as covered from this similarity.
pub const COVERED_SIMILARITY: f32 = 0.5;
/// An answer this close to the question or less...
pub const OFF_TOPIC_RELEVANCE: f32 = 0.3;
/// ...whose points average this similarity or less is about something else.
pub const OFF_TOPIC_COVERAGE: f32 = 0.3;
/// Own content words for full depth.
pub const DEPTH_WORDS: usize = 30;
/// The judge's mean probability at or below this counts nothing...
pub const STATED_FLOOR: f32 = 0.5;
/// ...and at or above this counts fully.
pub const STATED_FULL: f32 = 0.75;
/// With a judge, a point is shown as covered from this probability.
pub const COVERED_STATED: f32 = 0.7;
/// With a judge, an answer the encoder finds off-topic is flagged only when the judge also
/// finds little in it (its mean probability under this).
pub const OFF_TOPIC_STATED: f32 = 0.6;
const WEIGHTS_WITH_JUDGE: Weights = Weights {
    coverage: 1.5,
    depth: 0.5,
    stated: 2.5,
};
const WEIGHTS_WITHOUT_JUDGE: Weights = Weights {
    coverage: 3.5,
    depth: 2.0,
    stated: 0.0,
};

struct Weights {
    coverage: f32,
    depth: f32,
    stated: f32,
}

/// A passage is a sentence, or a window of this many words of a longer one...
pub const PASSAGE_WORDS: usize = 24;
/// ...the windows starting this many words apart (they overlap, so no point falls between two).
pub const PASSAGE_STRIDE: usize = 20;

/// Who produced an assessment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AssessmentSource {
    /// The evidence and formula above.
    Model,
    /// Keyword coverage and templates, or the encoder without the judge, because of `reason`
    /// (the encoder's or the judge's error, or "no answer").
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
    pub flag: Option<Flag>,
    pub source: AssessmentSource,
}

/// What the encoder found in an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// Per rubric point: the best passage's similarity to it...
    pub point_similarity: Vec<f32>,
    /// ...and that passage.
    pub point_passage: Vec<String>,
    /// The whole answer's similarity to the question.
    pub relevance: f32,
    /// Per rubric point: the judge's probability that the answer states it (`None` without a
    /// judge).
    pub stated: Option<Vec<f32>>,
}

impl Evidence {
    pub fn gather(
        encoder: &dyn Encode,
        question: &str,
        rubric: &[String],
        answer: &str,
    ) -> Result<Self, EmbeddingError> {
        let passages = passages(answer);
        let passage_vectors = passages
            .iter()
            .map(|p| encoder.encode(p))
            .collect::<Result<Vec<_>, _>>()?;
        let mut point_similarity = Vec::with_capacity(rubric.len());
        let mut point_passage = Vec::with_capacity(rubric.len());
        for point in rubric {
            let vector = encoder.encode(point)?;
            let (best, sim) = passage_vectors
                .iter()
                .map(|p| similarity(p, &vector))
                .enumerate()
                .fold(
                    (0, f32::MIN),
                    |best, (i, s)| if s > best.1 { (i, s) } else { best },
                );
            point_similarity.push(if passages.is_empty() { 0.0 } else { sim });
            point_passage.push(passages.get(best).cloned().unwrap_or_default());
        }
        let relevance = similarity(&encoder.encode(answer)?, &encoder.encode(question)?);
        Ok(Self {
            point_similarity,
            point_passage,
            relevance,
            stated: None,
        })
    }

    /// The judge's mean probability placed between the floor (0) and full (1); `None` without
    /// a judge.
    pub fn stated_share(&self) -> Option<f32> {
        let stated = self.stated.as_ref()?;
        let mean = mean(stated.iter().copied());
        Some(((mean - STATED_FLOOR) / (STATED_FULL - STATED_FLOOR)).clamp(0.0, 1.0))
    }

    /// The mean similarity over the rubric's points (0 without points).
    pub fn mean_similarity(&self) -> f32 {
        mean(self.point_similarity.iter().copied())
    }

    /// The mean over points of each similarity placed between the floor (0) and full (1).
    pub fn coverage(&self) -> f32 {
        mean(self.point_similarity.iter().map(|s| {
            ((s - SIMILARITY_FLOOR) / (SIMILARITY_FULL - SIMILARITY_FLOOR)).clamp(0.0, 1.0)
        }))
    }

    pub fn is_off_topic(&self) -> bool {
        let far =
            self.relevance <= OFF_TOPIC_RELEVANCE && self.mean_similarity() <= OFF_TOPIC_COVERAGE;
        match &self.stated {
            Some(stated) => far && mean(stated.iter().copied()) < OFF_TOPIC_STATED,
            None => far,
        }
    }
}

fn mean(values: impl Iterator<Item = f32>) -> f32 {
    let (sum, count) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if count == 0 {
        0.0
    } else {
        sum / count as f32
    }
}

/// The answer's sentences, long ones cut into overlapping windows of [`PASSAGE_WORDS`]
/// (speech transcripts often have no punctuation at all).
pub fn passages(answer: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut sentence: Vec<&str> = Vec::new();
    let mut flush = |sentence: &mut Vec<&str>| {
        if sentence.len() <= PASSAGE_WORDS {
            if !sentence.is_empty() {
                out.push(sentence.join(" "));
            }
        } else {
            let mut start = 0;
            loop {
                let end = (start + PASSAGE_WORDS).min(sentence.len());
                out.push(sentence[start..end].join(" "));
                if end == sentence.len() {
                    break;
                }
                start += PASSAGE_STRIDE;
            }
        }
        sentence.clear();
    };
    for word in answer.split_whitespace() {
        sentence.push(word);
        if word.ends_with(['.', '!', '?', ';']) {
            flush(&mut sentence);
        }
    }
    flush(&mut sentence);
    out
}

/// `1 + 1.5 × coverage + 0.5 × depth + 2.5 × stated`, rounded, within 1–5.
pub fn score_from(coverage: f32, own_words: usize, stated: f32) -> u8 {
    weighted(&WEIGHTS_WITH_JUDGE, coverage, own_words, stated)
}

/// `1 + 3.5 × coverage + 2 × depth`, rounded, within 1–5.
pub fn score_without_judge(coverage: f32, own_words: usize) -> u8 {
    weighted(&WEIGHTS_WITHOUT_JUDGE, coverage, own_words, 0.0)
}

fn weighted(weights: &Weights, coverage: f32, own_words: usize, stated: f32) -> u8 {
    let depth = (own_words as f32 / DEPTH_WORDS as f32).min(1.0);
    let raw = 1.0
        + weights.coverage * coverage.clamp(0.0, 1.0)
        + weights.depth * depth
        + weights.stated * stated.clamp(0.0, 1.0);
    (raw.round() as u8).clamp(MIN_SCORE, MAX_SCORE)
}

/// Assesses `answer` to `question` against `rubric`. Never fails: an empty answer (nothing,
/// or only filler sounds) scores 1 at once; an encoder error falls back to keyword coverage,
/// a judge error (or no judge) to the encoder alone.
pub fn assess(
    encoder: &dyn Encode,
    judge: Option<&dyn Judge>,
    question: &str,
    rubric: &[String],
    answer: &str,
) -> Assessment {
    if tokens(answer).iter().all(|t| is_filler(t.word)) {
        return no_answer(rubric);
    }
    if let Some(quote) = signals::grader_directed(answer) {
        return flagged(Flag::AddressesGrader, MIN_SCORE, rubric, &quote);
    }
    let echo = RubricEcho::measure(answer, question, rubric);
    if echo.is_pasted() {
        let score = if echo.own_words >= PASTED_OWN_WORDS {
            2
        } else {
            1
        };
        return flagged(Flag::PastedRubric, score, rubric, question);
    }
    let mut evidence = match Evidence::gather(encoder, question, rubric, answer) {
        Ok(evidence) => evidence,
        Err(e) => {
            tracing::warn!(error = %e, "the sentence encoder failed; using keyword coverage");
            return fallback(rubric, answer, format!("the sentence encoder failed: {e}"));
        }
    };
    let judge_failure = match judge.map(|j| j.points_stated(question, answer, rubric)) {
        Some(Ok(stated)) if stated.len() == rubric.len() => {
            evidence.stated = Some(stated);
            None
        }
        Some(Ok(stated)) => Some(format!(
            "the judge returned {} points for {}",
            stated.len(),
            rubric.len()
        )),
        Some(Err(e)) => {
            tracing::warn!(error = %e, "the judge failed; scoring with the encoder alone");
            Some(format!("the judge failed: {e}"))
        }
        None => Some("no judge model is loaded".to_owned()),
    };
    let mut assessment = verdict(&evidence, &echo, question, rubric, answer);
    if let Some(reason) = judge_failure {
        assessment.source = AssessmentSource::Fallback {
            reason: format!("{reason}; scored by the sentence encoder alone"),
        };
    }
    assessment
}

/// The assessment the evidence supports (steps 2 to 4 of the module's method).
pub fn verdict(
    evidence: &Evidence,
    echo: &RubricEcho,
    question: &str,
    rubric: &[String],
    answer: &str,
) -> Assessment {
    if evidence.is_off_topic() {
        return flagged(Flag::OffTopic, MIN_SCORE, rubric, question);
    }
    // How strongly each point is made: the judge's probability, or the encoder's similarity.
    let (strength_of, covered_from) = match &evidence.stated {
        Some(stated) => (stated.clone(), COVERED_STATED),
        None => (evidence.point_similarity.clone(), COVERED_SIMILARITY),
    };
    let covered: Vec<bool> = strength_of.iter().map(|s| *s >= covered_from).collect();
    let score = if word_count(answer) < MIN_ANSWER_WORDS {
        MIN_SCORE
    } else {
        match evidence.stated_share() {
            Some(stated) => score_from(evidence.coverage(), echo.own_words, stated),
            None => score_without_judge(evidence.coverage(), echo.own_words),
        }
    };
    let best_covered = (0..covered.len())
        .filter(|i| covered[*i])
        .max_by(|a, b| strength_of[*a].total_cmp(&strength_of[*b]));
    let strength = match best_covered {
        Some(i) => format!(
            "You made this point in your own words: “{}”",
            quote(&evidence.point_passage[i], 24)
        ),
        None if score >= 3 => "You answered with substance of your own; tie it more \
                               closely to the key points of the question."
            .to_owned(),
        None => "You gave an answer, but it does not yet make any of the key points.".to_owned(),
    };
    let weakest = (0..covered.len())
        .filter(|i| !covered[*i])
        .min_by(|a, b| strength_of[*a].total_cmp(&strength_of[*b]));
    let improvement = match weakest.and_then(|i| rubric.get(i)) {
        Some(point) => format!("Cover this point too: {}.", point_phrase(point)),
        None if echo.own_words < DEPTH_WORDS => {
            "Back each point with a concrete example or a measured result.".to_owned()
        }
        None => "You covered every key point; close with the trade-off you would accept and why."
            .to_owned(),
    };
    Assessment {
        score,
        covered,
        strength,
        improvement,
        flag: None,
        source: AssessmentSource::Model,
    }
}

/// An answer that gets no credit for its wording, with the reason in its feedback.
/// `detail` is the quoted instruction (grader), or the question (pasted, off-topic).
fn flagged(flag: Flag, score: u8, rubric: &[String], detail: &str) -> Assessment {
    let (strength, improvement) = match flag {
        Flag::AddressesGrader => (
            "Nothing is credited: part of the answer addresses the grader instead of the \
             question."
                .to_owned(),
            format!(
                "Answer the question itself; text aimed at the grader (“{}”) is not an answer and \
                 scores 1.",
                quote(detail, 12)
            ),
        ),
        Flag::PastedRubric => (
            "Nothing is credited: the answer repeats the wording of the key points.".to_owned(),
            "Answer in your own words, with an example, a number or your reasoning; repeating \
             the key points is not evidence that you know them."
                .to_owned(),
        ),
        Flag::OffTopic => (
            "Nothing is credited: the answer is about something other than the question."
                .to_owned(),
            format!(
                "Answer the question that was asked: “{}”",
                quote(detail, 24)
            ),
        ),
    };
    Assessment {
        score,
        covered: vec![false; rubric.len()],
        strength,
        improvement,
        flag: Some(flag),
        source: AssessmentSource::Model,
    }
}

/// The first `words` words of `text`, with an ellipsis when cut.
fn quote(text: &str, words: usize) -> String {
    let all: Vec<&str> = text.split_whitespace().collect();
    if all.len() <= words {
        all.join(" ")
    } else {
        format!("{}…", all[..words].join(" "))
    }
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
        flag: None,
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
        flag: None,
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

    #[test]
    fn passages_are_sentences_and_windows_of_long_runs() {
        assert_eq!(
            passages("One two. Three four? Five"),
            ["One two.", "Three four?", "Five"]
        );
        let run: Vec<String> = (0..50).map(|i| format!("w{i}")).collect();
        let windows = passages(&run.join(" "));
        assert_eq!(windows.len(), 3);
        assert!(windows[0].starts_with("w0 ") && windows[0].ends_with(" w23"));
        assert!(windows[1].starts_with("w20 ") && windows[1].ends_with(" w43"));
        assert!(windows[2].starts_with("w40 ") && windows[2].ends_with(" w49"));
        assert!(passages("  ").is_empty());
    }

    #[test]
    fn the_score_follows_its_formula() {
        assert_eq!(score_from(0.0, 0, 0.0), 1);
        assert_eq!(score_from(1.0, DEPTH_WORDS, 1.0), 5);
        assert_eq!(score_from(1.0, 1000, 1.0), 5, "capped");
        assert_eq!(score_from(0.0, 0, 1.0), 4, "1 + 2.5 rounds to 4");
        assert_eq!(
            score_from(1.0, DEPTH_WORDS, 0.0),
            3,
            "the judge weighs most"
        );
        assert_eq!(
            score_from(0.5, DEPTH_WORDS, 0.5),
            4,
            "1 + 0.75 + 0.5 + 1.25"
        );

        assert_eq!(score_without_judge(0.0, 0), 1);
        assert_eq!(score_without_judge(1.0, DEPTH_WORDS), 5);
        assert_eq!(score_without_judge(0.5, 0), 3, "1 + 1.75 rounds to 3");
        assert_eq!(
            score_without_judge(0.0, DEPTH_WORDS),
            3,
            "depth alone is worth 2"
        );
        assert_eq!(score_without_judge(0.4, DEPTH_WORDS / 2), 3, "1 + 1.4 + 1");
    }

    fn evidence(similarities: &[f32], relevance: f32) -> Evidence {
        Evidence {
            point_similarity: similarities.to_vec(),
            point_passage: similarities
                .iter()
                .map(|s| format!("passage {s}"))
                .collect(),
            relevance,
            stated: None,
        }
    }

    #[test]
    fn the_verdict_quotes_the_best_point_and_names_the_weakest() {
        let echo = RubricEcho::measure(ANSWER, "Tell me about a mistake.", &rubric());
        let a = verdict(
            &evidence(&[0.6, 0.65, 0.2], 0.5),
            &echo,
            "Q?",
            &rubric(),
            ANSWER,
        );
        assert_eq!(a.covered, [true, true, false]);
        assert_eq!(a.flag, None);
        assert!(a.strength.contains("“passage 0.65”"), "{}", a.strength);
        assert_eq!(
            a.improvement,
            "Cover this point too: explains what changed afterward to prevent a repeat."
        );
        assert_eq!(
            a.score,
            score_without_judge(evidence(&[0.6, 0.65, 0.2], 0.5).coverage(), echo.own_words)
        );
        // With a judge, its probabilities decide what is covered and what is weakest.
        let mut judged = evidence(&[0.6, 0.65, 0.2], 0.5);
        judged.stated = Some(vec![0.9, 0.3, 0.6]);
        let a = verdict(&judged, &echo, "Q?", &rubric(), ANSWER);
        assert_eq!(a.covered, [true, false, false]);
        assert!(a.strength.contains("“passage 0.6”"), "{}", a.strength);
        assert!(
            a.improvement.contains("limited the damage"),
            "{}",
            a.improvement
        );
    }

    #[test]
    fn far_from_the_question_and_every_point_is_off_topic() {
        let echo = RubricEcho::measure(ANSWER, "Q?", &rubric());
        let a = verdict(
            &evidence(&[0.2, 0.3, 0.25], 0.2),
            &echo,
            "Why?",
            &rubric(),
            ANSWER,
        );
        assert_eq!((a.score, a.flag), (1, Some(Flag::OffTopic)));
        assert!(a.improvement.contains("“Why?”"));
        // The judge finding the points made overrules the encoder.
        let mut judged = evidence(&[0.2, 0.3, 0.25], 0.2);
        judged.stated = Some(vec![0.8, 0.7, 0.75]);
        assert_eq!(
            verdict(&judged, &echo, "Why?", &rubric(), ANSWER).flag,
            None
        );
        // Near one of the two is not off-topic.
        let a = verdict(
            &evidence(&[0.2, 0.3, 0.25], 0.4),
            &echo,
            "Why?",
            &rubric(),
            ANSWER,
        );
        assert_eq!(a.flag, None);
    }

    #[test]
    fn flags_are_stored_by_name() {
        for flag in [Flag::AddressesGrader, Flag::PastedRubric, Flag::OffTopic] {
            assert_eq!(Flag::parse(flag.as_str()), Ok(flag));
        }
        assert!(Flag::parse("other").is_err());
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
}
