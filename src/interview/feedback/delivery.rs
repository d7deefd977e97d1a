//! How an answer was said, measured from its transcript and audio: pace, filler words,
//! pauses. No model is involved, so these numbers are exact for what the recogniser heard.
//!
//! Typed answers have no audio: every time-based metric is then `None` (not 0, which a report
//! would chart as a very slow speaker).

use std::ops::RangeInclusive;

use serde::Serialize;

use crate::interview::words::{canonical_filler, tokens, word_count, Token};
use crate::speech::mel::SAMPLE_RATE;
use crate::speech::vad::{VoiceActivity, FRAME};

/// A comfortable interview pace. Our judgement, not a measured norm: conversational English
/// is usually put somewhere around 120–160 words per minute; below that an answer starts to
/// drag, above it a listener struggles to follow.
pub const RECOMMENDED_WPM: RangeInclusive<f64> = 120.0..=160.0;

/// Fillers per minute above which they become noticeable. Our judgement: a few per minute
/// pass unnoticed in speech; more start to distract.
pub const MAX_FILLERS_PER_MINUTE: f64 = 3.0;

/// The longest pause inside an answer that still reads as thinking. Our judgement: a pause of
/// a few seconds is natural before a hard point; longer ones sound like being lost.
pub const MAX_PAUSE_MS: u64 = 3_000;

/// The longest wait before starting an answer that still reads as collecting one's thoughts.
/// Our judgement, on the same reasoning as [`MAX_PAUSE_MS`].
pub const MAX_TIME_TO_FIRST_WORD_MS: u64 = 5_000;

/// Rates over less speech than this are noise (a two-word answer "per minute"): they are
/// reported as `None`.
pub const MIN_RATE_DURATION_MS: u64 = 1_000;

const FRAME_MS: u64 = (FRAME as u64 * 1000) / SAMPLE_RATE as u64;

/// One filler phrase and how often it was said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FillerCount {
    pub phrase: String,
    pub count: usize,
}

/// Delivery metrics of one answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    /// Words in the transcript (as a reader counts them).
    pub words: usize,
    /// The spoken span: from the first voiced 20 ms frame to the end of the last, so leading
    /// and trailing silence do not count; the whole clip when no frame sounded voiced. `None`
    /// without audio.
    pub duration_ms: Option<u64>,
    /// `words` over `duration_ms`; `None` without audio or under [`MIN_RATE_DURATION_MS`].
    pub words_per_minute: Option<f64>,
    pub filler_count: usize,
    /// `filler_count` over `duration_ms`, like `words_per_minute`.
    pub fillers_per_minute: Option<f64>,
    /// Each filler phrase said, most frequent first (ties in order of first use).
    pub fillers: Vec<FillerCount>,
    /// The longest run of unvoiced frames between the first and the last voiced one; `None`
    /// without audio or when nothing in it sounded voiced.
    pub longest_pause_ms: Option<u64>,
    /// From when the session started listening to the onset of speech, as the session measured
    /// it.
    pub time_to_first_word_ms: Option<u64>,
}

/// Measures one answer. `audio` is the answer's clip (16 kHz mono, as the turn detector cut
/// it); `None` for a typed answer.
pub fn measure(
    transcript: &str,
    audio: Option<&[f32]>,
    listening_to_onset_ms: Option<u64>,
) -> Delivery {
    let words = word_count(transcript);
    let found = fillers(transcript);
    let speech = audio.map(speech_timing);
    let duration_ms = speech.map(|s| s.duration_ms);
    let per_minute = |count: usize| {
        duration_ms
            .filter(|&ms| ms >= MIN_RATE_DURATION_MS)
            .map(|ms| count as f64 * 60_000.0 / ms as f64)
    };
    Delivery {
        words,
        duration_ms,
        words_per_minute: per_minute(words),
        filler_count: found.len(),
        fillers_per_minute: per_minute(found.len()),
        fillers: tally(&found),
        longest_pause_ms: speech.and_then(|s| s.longest_pause_ms),
        time_to_first_word_ms: listening_to_onset_ms,
    }
}

#[derive(Debug, Clone, Copy)]
struct SpeechTiming {
    duration_ms: u64,
    longest_pause_ms: Option<u64>,
}

/// Classifies the clip's whole 20 ms frames with a fresh [`VoiceActivity`] (which learns the
/// noise floor from the first 200 ms: the turn detector's pre-roll, normally quiet). A single
/// voiced frame counts as speech, so a click inside a long pause splits it in two.
fn speech_timing(audio: &[f32]) -> SpeechTiming {
    let mut vad = VoiceActivity::new();
    let mut frame = [0.0f32; FRAME];
    let mut first_voiced: Option<u64> = None;
    let mut last_voiced = 0u64;
    let mut gap = 0u64;
    let mut longest_gap = 0u64;
    for (index, chunk) in (0u64..).zip(audio.chunks_exact(FRAME)) {
        for (slot, &sample) in frame.iter_mut().zip(chunk) {
            *slot = if sample.is_finite() {
                sample.clamp(-1.0, 1.0)
            } else {
                0.0
            };
        }
        if vad.classify(&frame).voiced {
            if first_voiced.is_none() {
                first_voiced = Some(index);
            }
            longest_gap = longest_gap.max(gap);
            gap = 0;
            last_voiced = index;
        } else if first_voiced.is_some() {
            gap += 1;
        }
    }
    match first_voiced {
        Some(first) => SpeechTiming {
            duration_ms: (last_voiced - first + 1) * FRAME_MS,
            longest_pause_ms: Some(longest_gap * FRAME_MS),
        },
        None => SpeechTiming {
            duration_ms: (audio.len() as u64 * 1000) / SAMPLE_RATE as u64,
            longest_pause_ms: None,
        },
    }
}

/// Phrases that are fillers whenever they are said.
const ALWAYS_FILLERS: &[&str] = &["basically", "literally"];

/// Words before "kind of" / "sort of" that make it a noun ("what kind of database", "some
/// sort of queue") rather than a hedge ("it was kind of slow").
const DETERMINERS: &[&str] = &[
    "a",
    "all",
    "an",
    "another",
    "any",
    "different",
    "each",
    "every",
    "her",
    "his",
    "its",
    "my",
    "no",
    "one",
    "only",
    "our",
    "right",
    "same",
    "some",
    "that",
    "the",
    "their",
    "these",
    "this",
    "those",
    "what",
    "whatever",
    "which",
    "wrong",
    "your",
];

/// Words before "like" that make it the verb even when a pause follows ("I like, uh, Rust",
/// "we'd like, ideally, …").
const LIKE_AS_VERB_AFTER: &[&str] = &[
    "did", "didn't", "do", "does", "doesn't", "don't", "he", "i", "i'd", "people", "she", "they",
    "they'd", "to", "we", "we'd", "who", "would", "you", "you'd",
];

/// The filler phrases of a transcript, in order, in their reported spelling. The rules
/// (case-insensitive, whole words only; punctuation is what the recogniser or the typist
/// wrote):
///
/// - Filler sounds (um, uh, er, erm, ah, hmm and their spellings, see
///   [`canonical_filler`]), "basically" and "literally": always.
/// - "you know", "I mean": only set off from the sentence, i.e. followed by a pause mark
///   ("you know, the cache") or standing as a clause of their own (", you know."); not "do you
///   know the answer" or "that's what I mean".
/// - "kind of", "sort of": unless a determiner precedes them ("what kind of database").
/// - "like": only set off the same way ("it was, like, slow", "Like, we…", "…, like.") and
///   not after a subject or auxiliary that makes it the verb ("I like, uh, Rust"); or right
///   before a filler sound at the start of a clause ("and, like um"). Never "I like Rust",
///   "looks like a bug" or "like I said": when unsure, a filler is not counted, because a
///   report should not accuse a candidate of one they did not say.
pub fn fillers(transcript: &str) -> Vec<&'static str> {
    let toks = tokens(transcript);
    let lower: Vec<String> = toks.iter().map(|t| t.word.to_lowercase()).collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let word = lower[i].as_str();
        let next = lower.get(i + 1).map(String::as_str);
        let joined_with_next = !toks[i].ends_clause && next.is_some();
        let clause_start = i == 0 || toks[i - 1].ends_clause;
        if joined_with_next {
            let phrase = match (word, next) {
                ("you", Some("know")) if set_off(&toks, i, i + 1) => Some("you know"),
                ("i", Some("mean")) if set_off(&toks, i, i + 1) => Some("I mean"),
                ("kind", Some("of")) if !after_determiner(&lower, i) => Some("kind of"),
                ("sort", Some("of")) if !after_determiner(&lower, i) => Some("sort of"),
                _ => None,
            };
            if let Some(phrase) = phrase {
                found.push(phrase);
                i += 2;
                continue;
            }
        }
        if let Some(sound) = canonical_filler(word) {
            found.push(sound);
        } else if let Some(always) = ALWAYS_FILLERS.iter().find(|f| **f == word) {
            found.push(*always);
        } else if word == "like" {
            let verb = i > 0 && LIKE_AS_VERB_AFTER.contains(&lower[i - 1].as_str());
            let before_sound = clause_start
                && !toks[i].ends_clause
                && next.is_some_and(|n| canonical_filler(n).is_some());
            if (set_off(&toks, i, i) && !verb) || before_sound {
                found.push("like");
            }
        }
        i += 1;
    }
    found
}

/// Whether the phrase `toks[start..=end]` is set off from its sentence: a pause mark right
/// after it, or punctuation on both sides (a clause of its own).
fn set_off(toks: &[Token<'_>], start: usize, end: usize) -> bool {
    let alone = toks[end].ends_clause && (start == 0 || toks[start - 1].ends_clause);
    toks[end].pause_after || alone
}

fn after_determiner(lower: &[String], i: usize) -> bool {
    i > 0 && DETERMINERS.contains(&lower[i - 1].as_str())
}

/// Counts per phrase, most frequent first; ties keep the order of first use.
fn tally(found: &[&'static str]) -> Vec<FillerCount> {
    let mut counts: Vec<FillerCount> = Vec::new();
    for phrase in found {
        match counts.iter_mut().find(|c| c.phrase == *phrase) {
            Some(c) => c.count += 1,
            None => counts.push(FillerCount {
                phrase: (*phrase).to_owned(),
                count: 1,
            }),
        }
    }
    counts.sort_by_key(|c| std::cmp::Reverse(c.count));
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(text: &str) -> usize {
        fillers(text).len()
    }

    #[test]
    fn filler_sounds_and_phrases_are_found_in_order() {
        assert_eq!(
            fillers("Um, so, like, I think we, uh, used Redis, you know."),
            ["um", "like", "uh", "you know"]
        );
        assert_eq!(
            fillers("UMM I basically, erm, literally rewrote it. Hmm."),
            ["um", "basically", "erm", "literally", "hmm"]
        );
    }

    #[test]
    fn only_whole_words_match() {
        assert_eq!(
            count("The umbrella likely helped Uhura; literal likeness, errors, ahead."),
            0
        );
        assert_eq!(count("I'm unlike her; it's lifelike."), 0);
    }

    #[test]
    fn like_as_a_verb_or_preposition_is_not_a_filler() {
        for text in [
            "I like Rust.",
            "It looks like a bug in the parser.",
            "Like I said, the cache was stale.",
            "That is the part I like.",
            "We would like to ship it weekly.",
            "I like, uh, Rust a lot.",
            "Something like 500 users.",
            "Languages like Go, like Rust, like Zig.",
        ] {
            let found = fillers(text);
            assert!(!found.contains(&"like"), "{text}: {found:?}");
        }
    }

    #[test]
    fn like_set_off_by_pauses_is_a_filler() {
        assert_eq!(fillers("It was like, really slow."), ["like"]);
        assert_eq!(fillers("Like, we had no tests at all."), ["like"]);
        assert_eq!(fillers("It was, like... fine."), ["like"]);
        assert_eq!(fillers("We shipped it late, like."), ["like"]);
        assert_eq!(fillers("And, like um the cache broke."), ["like", "um"]);
        assert_eq!(
            fillers("Uh, like, like, you know, it worked."),
            ["uh", "like", "like", "you know"]
        );
    }

    #[test]
    fn you_know_and_i_mean_count_only_when_set_off() {
        assert_eq!(fillers("You know, the cache was cold."), ["you know"]);
        assert_eq!(fillers("It failed, you know."), ["you know"]);
        assert_eq!(fillers("I mean, it worked in the end."), ["I mean"]);
        for text in [
            "Do you know the answer?",
            "As you know the service is old.",
            "I mean the cache, not the database.",
            "That's what I mean.",
            "You, know this.",
        ] {
            assert_eq!(count(text), 0, "{text}");
        }
    }

    #[test]
    fn kind_of_and_sort_of_count_as_hedges_not_as_nouns() {
        assert_eq!(fillers("It was kind of slow."), ["kind of"]);
        assert_eq!(fillers("I sort of knew it would fail."), ["sort of"]);
        for text in [
            "What kind of database would you pick?",
            "We used some sort of queue.",
            "That kind of bug is rare.",
            "It is the only kind of test we have.",
            "Kinds of tests vary.",
        ] {
            assert_eq!(count(text), 0, "{text}");
        }
    }

    #[test]
    fn fillers_are_tallied_most_frequent_first() {
        let delivery = measure("Um, uh, well, um... umm, you know, uh, um.", None, None);
        assert_eq!(delivery.filler_count, 7);
        assert_eq!(
            delivery.fillers,
            [
                FillerCount {
                    phrase: "um".into(),
                    count: 4
                },
                FillerCount {
                    phrase: "uh".into(),
                    count: 2
                },
                FillerCount {
                    phrase: "you know".into(),
                    count: 1
                },
            ]
        );
    }

    #[test]
    fn a_typed_answer_has_no_time_based_metrics() {
        let delivery = measure("I would add an index on the user id.", None, Some(1200));
        assert_eq!(delivery.words, 9);
        assert_eq!(delivery.duration_ms, None);
        assert_eq!(delivery.words_per_minute, None);
        assert_eq!(delivery.fillers_per_minute, None);
        assert_eq!(delivery.longest_pause_ms, None);
        assert_eq!(delivery.time_to_first_word_ms, Some(1200));
        assert!(delivery.fillers.is_empty());
    }

    /// `ms` of a 1 kHz tone at -23 dBFS (voiced) or of digital silence (unvoiced).
    fn segment(ms: usize, voiced: bool) -> Vec<f32> {
        let samples = ms * SAMPLE_RATE / 1000;
        (0..samples)
            .map(|n| {
                if voiced {
                    let t = n as f32 / SAMPLE_RATE as f32;
                    0.1 * (std::f32::consts::TAU * 1000.0 * t).sin()
                } else {
                    0.0
                }
            })
            .collect()
    }

    fn clip(parts: &[(usize, bool)]) -> Vec<f32> {
        parts
            .iter()
            .flat_map(|&(ms, voiced)| segment(ms, voiced))
            .collect()
    }

    #[test]
    fn pace_and_pauses_are_measured_over_the_spoken_span() {
        // 500 ms lead-in, 1 s speech, 2 s pause, 1 s speech, a short dip, 1 s speech, 700 ms
        // trailing silence: 5.3 s spoken, of which 2 s is the longest pause.
        let audio = clip(&[
            (500, false),
            (1000, true),
            (2000, false),
            (1000, true),
            (300, false),
            (1000, true),
            (700, false),
        ]);
        let transcript =
            "So the first thing I did was add tracing, and, um, then I found the slow \
                          query and added an index.";
        let delivery = measure(transcript, Some(&audio), Some(800));
        assert_eq!(delivery.duration_ms, Some(5300));
        assert_eq!(delivery.longest_pause_ms, Some(2000));
        assert_eq!(delivery.words, 21);
        let wpm = delivery.words_per_minute.expect("a rate over 5.3 s");
        assert!((wpm - 21.0 * 60.0 / 5.3).abs() < 1e-9, "{wpm}");
        let fpm = delivery.fillers_per_minute.expect("a rate over 5.3 s");
        assert!((fpm - 60.0 / 5.3).abs() < 1e-9, "{fpm}");
        assert_eq!(delivery.time_to_first_word_ms, Some(800));
        assert_eq!(FRAME_MS, 20);
    }

    #[test]
    fn leading_and_trailing_silence_are_not_pauses() {
        let audio = clip(&[(4000, false), (1500, true), (4000, false)]);
        let delivery = measure("Mostly with snapshot tests.", Some(&audio), None);
        assert_eq!(delivery.duration_ms, Some(1500));
        assert_eq!(delivery.longest_pause_ms, Some(0));
        assert_eq!(delivery.words_per_minute, Some(4.0 * 60.0 / 1.5));
    }

    #[test]
    fn too_little_speech_has_no_rate() {
        let audio = clip(&[(500, false), (600, true), (500, false)]);
        let delivery = measure("Yes, definitely.", Some(&audio), None);
        assert_eq!(delivery.duration_ms, Some(600));
        assert_eq!(delivery.words_per_minute, None);
        assert_eq!(delivery.fillers_per_minute, None);
    }

    #[test]
    fn audio_without_voice_counts_as_a_whole_and_has_no_pause() {
        let audio = clip(&[(2000, false)]);
        let delivery = measure("Sorry, I was muted.", Some(&audio), None);
        assert_eq!(delivery.duration_ms, Some(2000));
        assert_eq!(delivery.longest_pause_ms, None);
        assert_eq!(delivery.words_per_minute, Some(4.0 * 60.0 / 2.0));
    }

    #[test]
    fn odd_audio_does_not_panic() {
        for audio in [
            vec![],
            vec![0.0; 100],
            vec![f32::NAN; FRAME * 30],
            vec![f32::INFINITY, -1e30, 1e30, f32::NEG_INFINITY],
        ] {
            let delivery = measure("", Some(&audio), None);
            assert_eq!(delivery.words, 0);
            assert!(delivery.duration_ms.is_some());
            assert_eq!(delivery.longest_pause_ms, None);
        }
    }

    #[test]
    fn delivery_serializes_with_nulls_for_missing_metrics() {
        let json = serde_json::to_value(measure("Um, yes.", None, None)).expect("serializable");
        assert_eq!(json["words"], 2);
        assert_eq!(json["words_per_minute"], serde_json::Value::Null);
        assert_eq!(json["fillers"][0]["phrase"], "um");
        assert_eq!(json["fillers"][0]["count"], 1);
    }
}
