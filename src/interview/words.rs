//! Plain lexical helpers shared by the interviewer's turn logic ([`super::conductor`]) and the
//! checks that measure it ([`super::conduct_check`]): splitting text into words, stopwords and
//! spoken fillers. No part-of-speech tagging: a "content word" is a word that is not on the
//! lists below.

use std::collections::HashSet;
use std::sync::OnceLock;

/// Function words, pronouns, very common verbs and adverbs, and words of spoken English that
/// carry no topic ("like", "basically").
const STOPWORDS: &str = "a about above actually after again against ago all almost also although always am an and \
another any anybody anyone anything anyway anyways are aren't around as ask asked at away back bad \
be became because become been before being below best better between big bit both but by came can \
can't cannot case certain certainly come comes could couldn't day did didn't do does doesn't doing \
don't done down during each easy either else end ended enough especially etc even ever every \
everyone everything exactly fact fairly far few fine first for found from full further get gets \
getting give given go goes going gone good got great guess had hadn't happen happened has hasn't \
have haven't having he he'd he's her here here's hers herself him himself his honestly how however \
i i'd i'll i'm i've if in instead into is isn't it it'd it's its itself just keep kind kinds knew \
know known last later least less let let's like likely little long look looked lot lots made main \
make makes making many may maybe me mean means meant might mine more most mostly much must my \
myself need needed needs never new next nice no nobody none nor not nothing now of off often oh ok \
okay old on once one only onto or other others otherwise our ours ourselves out over own part \
per perhaps plus point pretty probably put quite rather real really right said same saw say saying says see \
seem seemed seems several shall she she'd she's should shouldn't show since so some somebody \
someone something sometimes somewhat soon sort sorry still stuff such sure take taken takes taking \
tell than thank thanks that that's the their theirs them themselves then there there's these they \
they'd they'll they're they've thing things think thinking this those though thought through thus \
to told too took totally toward towards tried try trying two under until up upon us use \
used uses using usually very via want wanted wants was wasn't way ways we we'd we'll we're we've \
well went were weren't what what's whatever when whenever where wherever whether which while who whole whom whose \
why will with within without won't work worked working works would wouldn't yeah yes yet you you'd \
you'll you're you've your yours yourself";

/// Sounds that fill a spoken answer without saying anything, each with the one spelling it is
/// reported under (transcripts spell the same sound several ways).
const FILLERS: &[(&str, &str)] = &[
    ("ah", "ah"),
    ("ahh", "ah"),
    ("eh", "eh"),
    ("er", "er"),
    ("erm", "erm"),
    ("hm", "hmm"),
    ("hmm", "hmm"),
    ("hmmm", "hmm"),
    ("huh", "huh"),
    ("mm", "mm"),
    ("mmm", "mm"),
    ("uh", "uh"),
    ("uhh", "uh"),
    ("uhm", "um"),
    ("um", "um"),
    ("umm", "um"),
];

fn set(words: &'static str) -> HashSet<&'static str> {
    words.split_whitespace().collect()
}

pub fn is_stopword(word: &str) -> bool {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    let word = word.to_lowercase();
    SET.get_or_init(|| set(STOPWORDS)).contains(word.as_str()) || is_filler(&word)
}

pub fn is_filler(word: &str) -> bool {
    canonical_filler(word).is_some()
}

/// The spelling a filler sound is reported under ("Umm" → "um", "hm" → "hmm"); `None` for a
/// word that is not a filler sound.
pub fn canonical_filler(word: &str) -> Option<&'static str> {
    let word = word.to_lowercase();
    FILLERS
        .iter()
        .find(|(spelling, _)| *spelling == word)
        .map(|(_, canonical)| *canonical)
}

/// Words a follow-up may use whatever the answer was ("can you give an example?"): they show
/// no listening, and they make a poor topic.
const GENERIC: &str = "answer answers approach detail details describe elaborate example examples \
experience explain interview mentioned question questions situation specific specifically through walk";

pub fn is_generic(word: &str) -> bool {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| set(GENERIC))
        .contains(word.to_lowercase().as_str())
}

/// A word as written, and the punctuation right after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token<'a> {
    pub word: &'a str,
    /// Punctuation ends a phrase right after the word.
    pub ends_clause: bool,
    /// That punctuation is a pause inside a sentence (comma, semicolon, colon, dash, ellipsis)
    /// rather than, or as well as, a sentence's end.
    pub pause_after: bool,
}

/// Splits text into words: letters, digits, hyphens and apostrophes inside a word are kept
/// ("fan-out", "don't", "p-value", "429"); other characters separate words. A comma, full stop,
/// semicolon, colon, question or exclamation mark, dash or bracket after a word ends a clause;
/// a comma, semicolon, colon, dash or ellipsis ("…" or "..") is also a pause.
pub fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut out: Vec<Token<'_>> = Vec::new();
    let mut start = None;
    let is_word_char = |c: char| c.is_alphanumeric() || c == '\'' || c == '’' || c == '-';
    for (i, c) in text.char_indices() {
        if is_word_char(c) {
            if start.is_none() {
                start = Some(i);
            }
            continue;
        }
        if let Some(s) = start.take() {
            push_word(&mut out, &text[s..i]);
        }
        let ellipsis = c == '.' && text[i + 1..].starts_with('.');
        let pause = ellipsis || matches!(c, ',' | ';' | ':' | '—' | '–' | '…');
        if pause || matches!(c, '.' | '?' | '!' | '(' | ')' | '"') {
            if let Some(last) = out.last_mut() {
                last.ends_clause = true;
                last.pause_after |= pause;
            }
        }
    }
    if let Some(s) = start {
        push_word(&mut out, &text[s..]);
    }
    out
}

fn push_word<'a>(out: &mut Vec<Token<'a>>, raw: &'a str) {
    let word = raw.trim_matches(|c: char| c == '\'' || c == '’' || c == '-');
    if word.is_empty() {
        // A lone hyphen or quote between words: treat it like a dash.
        if let Some(last) = out.last_mut() {
            last.ends_clause = true;
            last.pause_after = true;
        }
        return;
    }
    out.push(Token {
        word,
        ends_clause: false,
        pause_after: false,
    });
}

/// The words of `text`, lowercased.
pub fn lower_words(text: &str) -> Vec<String> {
    tokens(text).iter().map(|t| t.word.to_lowercase()).collect()
}

/// The number of words, counted the way a reader would (whitespace-separated).
pub fn word_count(text: &str) -> usize {
    text.split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count()
}

/// A crude stem for matching "caches" with "cache" and "retried" with "retry": lowercase, then
/// a plural or past-tense ending off.
///
/// Written here, not with a Snowball stemmer (rust-stemmers): this one only undoes inflection,
/// while Porter-style stemmers also cut derivations and so join words of different topics
/// ("organization" and "organ", "university" and "universe"); the conductor's on-topic test
/// and the rubric-paste signal were tuned and measured with this one.
pub fn stem(word: &str) -> String {
    let w = word.to_lowercase().replace('’', "'");
    let w = w.trim_end_matches("'s");
    let n = w.len();
    let cut = |k: usize| strip_e(w[..n - k].to_owned());
    if n >= 5 && (w.ends_with("ies") || w.ends_with("ied")) {
        return format!("{}y", &w[..n - 3]);
    }
    if n >= 5
        && ["sses", "xes", "zes", "ches", "shes"]
            .iter()
            .any(|s| w.ends_with(s))
    {
        return cut(2);
    }
    if n >= 4 && w.ends_with('s') && !["ss", "us", "is"].iter().any(|s| w.ends_with(s)) {
        return cut(1);
    }
    if n >= 6 && w.ends_with("ed") {
        return cut(2);
    }
    if n >= 7 && w.ends_with("ing") {
        return cut(3);
    }
    strip_e(w.to_owned())
}

/// A word's stem with a doubled final consonant undone ("logg(ing)" → "log", "committ(ed)" →
/// "commit"), so it meets the other forms of the word.
pub fn keyword_form(word: &str) -> String {
    let mut form = stem(word);
    let bytes = form.as_bytes();
    let n = bytes.len();
    if n >= 4 && bytes[n - 1] == bytes[n - 2] && !b"aeioulsz".contains(&bytes[n - 1]) {
        form.pop();
    }
    form
}

/// "cache" and "cach(es)" meet at "cach".
fn strip_e(mut w: String) -> String {
    if w.len() >= 4 && w.ends_with('e') {
        w.pop();
    }
    w
}

/// Content words: not a stopword or filler, at least `min_letters` letters (digits count).
pub fn content_words(text: &str, min_letters: usize) -> Vec<String> {
    tokens(text)
        .iter()
        .map(|t| t.word.to_lowercase())
        .filter(|w| {
            !is_stopword(w) && w.chars().filter(|c| c.is_alphanumeric()).count() >= min_letters
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_hyphenated_words_and_mark_clause_ends() {
        let t = tokens("Well, fan-out on write - it's fine. Really?");
        let words: Vec<&str> = t.iter().map(|t| t.word).collect();
        assert_eq!(
            words,
            ["Well", "fan-out", "on", "write", "it's", "fine", "Really"]
        );
        assert!(t[0].ends_clause);
        assert!(!t[1].ends_clause);
        assert!(t[3].ends_clause, "a spaced hyphen is a dash");
        assert!(t[5].ends_clause);
        assert!(t[0].pause_after && t[3].pause_after);
        assert!(
            !t[5].pause_after,
            "a full stop ends a sentence, not a pause"
        );
    }

    #[test]
    fn pauses_are_told_from_sentence_ends() {
        let t = tokens("It was like... slow; I mean. Done — then “quoted” (aside)");
        let pauses: Vec<(&str, bool, bool)> = t
            .iter()
            .map(|t| (t.word, t.ends_clause, t.pause_after))
            .collect();
        assert_eq!(
            pauses,
            [
                ("It", false, false),
                ("was", false, false),
                ("like", true, true),
                ("slow", true, true),
                ("I", false, false),
                ("mean", true, false),
                ("Done", true, true),
                ("then", false, false),
                ("quoted", true, false),
                ("aside", true, false),
            ]
        );
    }

    #[test]
    fn filler_sounds_have_one_spelling() {
        assert_eq!(canonical_filler("Umm"), Some("um"));
        assert_eq!(canonical_filler("uhm"), Some("um"));
        assert_eq!(canonical_filler("hm"), Some("hmm"));
        assert_eq!(canonical_filler("UH"), Some("uh"));
        assert_eq!(canonical_filler("umbrella"), None);
        assert!(is_filler("Erm") && !is_filler("error"));
    }

    #[test]
    fn stems_match_plurals_and_past_tense() {
        assert_eq!(stem("caches"), stem("cache"));
        assert_eq!(stem("Retries"), "retry");
        assert_eq!(stem("deployed"), "deploy");
        assert_eq!(stem("class"), "class");
        assert_eq!(stem("caused"), stem("cause"));
        assert_eq!(stem("matches"), stem("match"));
        assert_eq!(stem("bus"), "bus");
    }

    #[test]
    fn content_words_skip_stopwords_and_fillers() {
        assert_eq!(
            content_words("Um, I think we used a token bucket, uh, in Redis.", 3),
            ["token", "bucket", "redis"]
        );
        assert_eq!(word_count("  I paired — with her.  "), 4);
    }
}
