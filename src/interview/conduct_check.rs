//! What a good interviewer turn is, as checks a program can run: it stays in the interviewer's
//! role, asks exactly one question (none when it closes the interview), stays under
//! [`MAX_WORDS`] words, and a follow-up refers to something the candidate said. A *good*
//! follow-up also asks for something the answer did not already say ([`restated_sentence`]),
//! stays on the question's topic ([`on_topic`]) and is one short question
//! ([`MAX_FOLLOW_UP_WORDS`]).
//!
//! `viva eval conduct` measures the conductor with these checks, and the conductor validates
//! every model output with the same ones before it is spoken, so the measure and the guard
//! cannot drift apart. (The eval therefore also reports how often the model's own text passed
//! and how often a template had to stand in.)

use std::collections::HashSet;

use super::words::{content_words, is_generic, keyword_form, lower_words, stem};

/// A turn must stay under this many words.
pub const MAX_WORDS: usize = 60;
/// A follow-up's question is at most this many words.
pub const MAX_FOLLOW_UP_WORDS: usize = 30;
/// A follow-up restates the answer when at least this share of its question's content words
/// come from one sentence of the answer...
pub const RESTATEMENT_SHARE: f64 = 0.75;
/// ...and it has at least this many content words (a two-word question cannot be judged).
pub const RESTATEMENT_MIN_WORDS: usize = 2;

/// Word sequences (lowercase, contractions expanded) that an interviewer in role never says:
/// speaking as the candidate, as an AI assistant, or labelling the speakers.
const ROLE_PHRASES: &[&str] = &[
    // The candidate's side.
    "as a candidate",
    "as the candidate",
    "as an interviewee",
    "as a job seeker",
    "i am the candidate",
    "i am a candidate",
    "i am applying",
    "should i",
    "do i need",
    "my answer",
    "my resume",
    "hire me",
    "thank you for the opportunity",
    "thank you for having me",
    "thanks for having me",
    "thank you for your question",
    "thanks for your question",
    "thank you for the question",
    "thanks for the question",
    "thanks for asking",
    "thank you for asking",
    "great question",
    "good question",
    "the interviewer",
    // An AI assistant's habits.
    "i am an ai",
    "as an ai",
    "language model",
    "ai assistant",
    "i am an assistant",
    "i am a chatbot",
    "how can i help",
    "how can i assist",
    "happy to help",
    "here to help",
    "i hope this helps",
    "let me know if",
    "feel free to",
    "here is a",
    "here are some",
    "here is an",
    // The candidate's experience, claimed in the first person.
    "in my experience",
    "my experience",
    "my team",
    "my company",
    "my manager",
    "my colleague",
    "my project",
    "my previous",
    "my last",
    "my current",
    "my role",
    "our team",
    "at my",
    "i worked",
    "i have worked",
    "i was working",
    "i built",
    "i have built",
    "i used",
    "i have used",
    "i led",
    "i managed",
    "i implemented",
    "i designed",
    "i wrote",
    "i developed",
    "i created",
    "i handled",
    "i fixed",
    "i solved",
    "i deployed",
    "i learned",
    "i decided",
    "i would use",
    "i would start",
    "i would add",
    "i would check",
    "i would do",
    "i would say",
    "i usually",
    "i always",
    "i had to",
    "we used",
    "we built",
    "we had",
    "we decided",
];

/// `Name:` at the start of a line, or anywhere: a transcript, not a turn.
const ROLE_LABELS: &[&str] = &[
    "interviewer:",
    "candidate:",
    "interviewee:",
    "assistant:",
    "user:",
    "viva:",
    "answer:",
    "question:",
    "follow-up:",
    "q:",
    "a:",
];

/// Why a turn is out of role, or `None` when it is in role. Also rejects markdown and lists:
/// a turn is spoken, one plain paragraph.
pub fn role_problem(turn: &str) -> Option<String> {
    let raw = turn.to_lowercase().replace('’', "'");
    for label in ROLE_LABELS {
        let at_word_start = raw.match_indices(label).any(|(i, _)| {
            raw[..i]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric() && c != '-')
        });
        if at_word_start {
            return Some(format!("speaker label `{label}`"));
        }
    }
    if let Some(problem) = markdown_problem(turn) {
        return Some(problem);
    }
    let expanded = format!(" {} ", expanded_words(turn).join(" "));
    ROLE_PHRASES
        .iter()
        .find(|p| expanded.contains(&format!(" {p} ")))
        .map(|p| format!("says `{p}`"))
}

fn markdown_problem(turn: &str) -> Option<String> {
    if turn.contains("**") || turn.contains("__") || turn.contains('`') || turn.contains('#') {
        return Some("markdown".into());
    }
    for line in turn.lines() {
        let line = line.trim_start();
        let bullet = ["- ", "* ", "• "].iter().any(|b| line.starts_with(b));
        let digits = line.chars().take_while(char::is_ascii_digit).count();
        let numbered = digits > 0 && matches!(line[digits..].chars().next(), Some('.' | ')'));
        if bullet || (numbered && line[digits + 1..].starts_with(' ')) {
            return Some("a list".into());
        }
    }
    None
}

/// Lowercase words with the first person's contractions written out ("i'd" → "i would").
fn expanded_words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in lower_words(text) {
        let word = word.replace('’', "'");
        let expansion: &[&str] = match word.as_str() {
            "i'd" => &["i", "would"],
            "i've" => &["i", "have"],
            "i'm" => &["i", "am"],
            "i'll" => &["i", "will"],
            "we'd" => &["we", "would"],
            "we've" => &["we", "have"],
            "we're" => &["we", "are"],
            _ => {
                out.push(word);
                continue;
            }
        };
        out.extend(expansion.iter().map(|w| (*w).to_owned()));
    }
    out
}

/// How many questions `turn` asks. A planned question from the bank read verbatim counts as one
/// question even when it is written as two sentences ("How would you …? Why …?").
pub fn question_count(turn: &str, planned: Option<&str>) -> usize {
    match planned.filter(|p| !p.is_empty() && turn.contains(*p)) {
        Some(planned) => turn.replacen(planned, "?", 1).matches('?').count(),
        None => turn.matches('?').count(),
    }
}

/// Whether a follow-up picks up something the answer said: one of `mentions` (phrases of the
/// answer, compared case-insensitively), or a content word of at least five letters from the
/// answer that the question did not already use and that is not a stock word of follow-ups
/// ("example", "detail").
pub fn refers_to_answer(
    follow_up: &str,
    answer: &str,
    question: &str,
    mentions: &[String],
) -> bool {
    let lower = follow_up.to_lowercase();
    if mentions
        .iter()
        .any(|m| !m.trim().is_empty() && lower.contains(&m.trim().to_lowercase()))
    {
        return true;
    }
    let from_question: HashSet<String> =
        content_words(question, 3).iter().map(|w| stem(w)).collect();
    let from_answer: HashSet<String> = content_words(answer, 5)
        .iter()
        .filter(|w| !is_generic(w))
        .map(|w| stem(w))
        .filter(|s| !from_question.contains(s))
        .collect();
    content_words(follow_up, 5)
        .iter()
        .any(|w| from_answer.contains(&stem(w)))
}

/// The question of a turn: its last sentence that ends with a question mark (the
/// acknowledgement and any "You mentioned …" lead-in before it are not asked).
pub fn asked_sentence(turn: &str) -> &str {
    let Some(end) = turn.rfind('?') else {
        return turn.trim();
    };
    let start = turn[..end].rfind(['.', '!', '?']).map_or(0, |i| i + 1);
    turn[start..=end].trim()
}

/// Stems of content words of at least four letters that are not stock words of follow-ups,
/// a doubled final consonant undone ("debugg(ed)" meets "debug").
fn topic_stems(text: &str) -> Vec<String> {
    content_words(text, 4)
        .iter()
        .filter(|w| !is_generic(w))
        .map(|w| keyword_form(w))
        .collect()
}

/// The answer sentence that a follow-up's question merely turns back into a question ("How
/// would you detect a cycle in a linked list?" after "I'd detect a cycle in the linked list
/// with two pointers."): at least [`RESTATEMENT_SHARE`] of the question's content words are in
/// that one sentence. Such a question asks for nothing new.
pub fn restated_sentence(follow_up: &str, answer: &str) -> Option<String> {
    let asked: HashSet<String> = topic_stems(asked_sentence(follow_up)).into_iter().collect();
    if asked.len() < RESTATEMENT_MIN_WORDS {
        return None;
    }
    answer
        .split_inclusive(['.', '!', '?', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .find(|sentence| {
            let said: HashSet<String> = topic_stems(sentence).into_iter().collect();
            let shared = asked.intersection(&said).count();
            shared as f64 >= RESTATEMENT_SHARE * asked.len() as f64
        })
        .map(str::to_owned)
}

/// Whether a follow-up's question stays on the topic: it shares a content word with the
/// question or with the answer (a question about something neither mentions has wandered
/// off), or it asks only in stock words ("Can you say more about how that worked?").
pub fn on_topic(follow_up: &str, question: &str, answer: &str) -> bool {
    let asked = topic_stems(asked_sentence(follow_up));
    if asked.is_empty() {
        return true;
    }
    let context: HashSet<String> = topic_stems(question)
        .into_iter()
        .chain(topic_stems(answer))
        .collect();
    asked.iter().any(|w| context.contains(w)) || refers_to_answer(follow_up, answer, question, &[])
}

/// One turn measured against every criterion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Why the turn is out of role; `None` when it is in role.
    pub role_problem: Option<String>,
    pub questions: usize,
    /// How many questions the turn should ask: 1, or 0 for a closing line.
    pub expected_questions: usize,
    pub words: usize,
    /// For a follow-up: whether it refers to the answer. `None` for other turns.
    pub refers_to_answer: Option<bool>,
    /// For a follow-up: the answer sentence its question restates, if any.
    pub restates: Option<Option<String>>,
    /// For a follow-up: whether its question stays on the topic.
    pub on_topic: Option<bool>,
    /// For a follow-up: the words of its question.
    pub asked_words: Option<usize>,
}

/// What a turn is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Expectation<'a> {
    /// The planned question the turn reads out verbatim, if any.
    pub planned_question: Option<&'a str>,
    /// False for a closing line, which asks nothing.
    pub asks_question: bool,
    /// For a follow-up: the question, the answer it follows, and phrases of the answer.
    pub follow_up_of: Option<(&'a str, &'a str, &'a [String])>,
}

impl Verdict {
    pub fn of(turn: &str, expect: Expectation<'_>) -> Self {
        Self {
            role_problem: role_problem(turn),
            questions: question_count(turn, expect.planned_question),
            expected_questions: usize::from(expect.asks_question),
            words: super::words::word_count(turn),
            refers_to_answer: expect.follow_up_of.map(|(question, answer, mentions)| {
                refers_to_answer(turn, answer, question, mentions)
            }),
            restates: expect
                .follow_up_of
                .map(|(_, answer, _)| restated_sentence(turn, answer)),
            on_topic: expect
                .follow_up_of
                .map(|(question, answer, _)| on_topic(turn, question, answer)),
            asked_words: expect
                .follow_up_of
                .map(|_| super::words::word_count(asked_sentence(turn))),
        }
    }

    /// For a follow-up: asks for something new, on the topic, as one short question (and
    /// passes every other check). `None` for other turns.
    pub fn good_follow_up(&self) -> Option<bool> {
        let restates = self.restates.as_ref()?;
        Some(
            self.passes()
                && restates.is_none()
                && self.on_topic == Some(true)
                && self.asked_words.is_some_and(|w| w <= MAX_FOLLOW_UP_WORDS),
        )
    }

    pub fn in_role(&self) -> bool {
        self.role_problem.is_none()
    }

    pub fn one_question(&self) -> bool {
        self.questions == self.expected_questions
    }

    pub fn short_enough(&self) -> bool {
        self.words < MAX_WORDS
    }

    pub fn passes(&self) -> bool {
        self.in_role()
            && self.one_question()
            && self.short_enough()
            && self.refers_to_answer != Some(false)
    }

    /// The failed criteria, for logs and verbose output.
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(problem) = &self.role_problem {
            out.push(format!("out of role ({problem})"));
        }
        if !self.one_question() {
            out.push(format!(
                "{} questions, expected {}",
                self.questions, self.expected_questions
            ));
        }
        if !self.short_enough() {
            out.push(format!("{} words", self.words));
        }
        if self.refers_to_answer == Some(false) {
            out.push("does not refer to the answer".into());
        }
        if let Some(Some(sentence)) = &self.restates {
            out.push(format!("restates the answer's sentence `{sentence}`"));
        }
        if self.on_topic == Some(false) {
            out.push("wanders off the question's topic".into());
        }
        if let Some(words) = self.asked_words.filter(|w| *w > MAX_FOLLOW_UP_WORDS) {
            out.push(format!("a follow-up question of {words} words"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_question_that_turns_an_answer_sentence_around_is_a_restatement() {
        let answer = "I'd walk the list with a slow and a fast pointer. I would detect a cycle in \
                      the linked list when the two pointers meet.";
        assert!(restated_sentence(
            "Got it. How would you detect a cycle in a linked list?",
            answer
        )
        .is_some_and(|s| s.starts_with("I would detect")));
        let answer = "The endpoint took four seconds. I debugged the slow endpoint with a \
                      profiler and found an N+1 query.";
        assert!(restated_sentence("I see. How did you debug the slow endpoint?", answer).is_some());
        for fresh in [
            "I see. What did the profiler show besides the N+1 query?",
            "Thank you. How would you find where the cycle starts?",
            "You mentioned the slow endpoint. Can you say more about how that worked in practice?",
        ] {
            assert_eq!(restated_sentence(fresh, answer), None, "{fresh}");
        }
    }

    #[test]
    fn the_asked_sentence_is_the_last_question() {
        assert_eq!(
            asked_sentence("I see. You mentioned Redis. Why Redis?"),
            "Why Redis?"
        );
        assert_eq!(asked_sentence("No question here."), "No question here.");
    }

    #[test]
    fn a_follow_up_about_neither_question_nor_answer_is_off_topic() {
        let question = "How would you design a rate limiter shared by many API servers?";
        let answer = "A token bucket per key in Redis, refilled by a Lua script.";
        assert!(on_topic(
            "Why a token bucket rather than a sliding window?",
            question,
            answer
        ));
        assert!(on_topic(
            "Can you say more about how that worked?",
            question,
            answer
        ));
        assert!(!on_topic(
            "How do you like to spend your holidays?",
            question,
            answer
        ));
    }

    #[test]
    fn good_turns_are_in_role() {
        for turn in [
            "I see. How did you decide when the billing code was ready to move out?",
            "Thank you. Let's move on. What is a deadlock, and how have you prevented or debugged one?",
            "I'd like to hear more: what did the confirmation prompt print?",
            "Understood. I'm curious, how did the team react to the new roadmap?",
            "Thank you for your time today. That's the end of the interview.",
        ] {
            assert_eq!(role_problem(turn), None, "{turn}");
        }
    }

    #[test]
    fn role_confusion_is_caught() {
        for turn in [
            "As a candidate, I would say the cache is the hardest part.",
            "Interviewer: What did you do next?",
            "Candidate: I used Redis.",
            "I am an AI language model, so I cannot have experience.",
            "In my experience, a token bucket works best. What do you think?",
            "I worked on a billing system where we split the service.",
            "I'd use optimistic locking here. Do you agree?",
            "That's a great question! Let me explain.",
            "Thank you for your question. I think deadlocks are hard.",
            "Sure! Here is a follow-up question for you: what is Redis?",
            "Let me know if you have any other questions.",
            "My team used Kafka for that. Have you?",
            "When should I check the image sizes first?",
        ] {
            assert!(role_problem(turn).is_some(), "not caught: {turn}");
        }
    }

    #[test]
    fn markdown_and_lists_are_caught() {
        for turn in [
            "**Follow-up:** what did you do?",
            "Some options:\n- caching\n- sharding",
            "1. What is a cache?\n2. Why use one?",
            "Use `memo` here?",
        ] {
            assert!(role_problem(turn).is_some(), "not caught: {turn}");
        }
        assert_eq!(role_problem("We cut latency by 30%. Why 30?"), None);
    }

    #[test]
    fn questions_are_counted_with_a_planned_question_as_one() {
        let planned = "How would you count the islands? What traversal would you use?";
        assert_eq!(
            question_count(&format!("Thank you. Next: {planned}"), Some(planned)),
            1
        );
        assert_eq!(
            question_count(&format!("Ready? {planned}"), Some(planned)),
            2
        );
        assert_eq!(question_count("What happened? And why?", None), 2);
        assert_eq!(question_count("Thank you for your time.", None), 0);
    }

    #[test]
    fn a_follow_up_must_pick_up_the_answer() {
        let question = "How would you keep a cache consistent with the database?";
        let answer = "I'd just set a short TTL and invalidate entries on writes.";
        let mentions = vec!["short TTL".to_owned()];
        assert!(refers_to_answer(
            "Why a short TTL?",
            answer,
            question,
            &mentions
        ));
        assert!(refers_to_answer(
            "How do you invalidate them?",
            answer,
            question,
            &[]
        ));
        assert!(refers_to_answer(
            "What happens to those writes under load?",
            answer,
            question,
            &[]
        ));
        // Echoing the question, or a stock follow-up, is not listening.
        assert!(!refers_to_answer(
            "How else would you keep the cache consistent?",
            answer,
            question,
            &[]
        ));
        assert!(!refers_to_answer(
            "Can you give a specific example?",
            answer,
            question,
            &[]
        ));
        assert!(!refers_to_answer(
            "Tell me more about that.",
            answer,
            question,
            &mentions
        ));
    }

    #[test]
    fn verdicts_name_every_failure() {
        let mentions = vec!["billing code".to_owned()];
        let expect = Expectation {
            planned_question: None,
            asks_question: true,
            follow_up_of: Some((
                "Tell me about a disagreement.",
                "We split the billing code.",
                &mentions,
            )),
        };
        let good = Verdict::of("I see. Why did you split the billing code?", expect);
        assert!(good.passes(), "{:?}", good.failures());

        let long = format!("Why? {}", "word ".repeat(60));
        let bad = Verdict::of(&long, expect);
        assert!(!bad.short_enough());
        assert_eq!(bad.refers_to_answer, Some(false));

        let none = Verdict::of("Thanks for sharing that.", expect);
        assert!(!none.one_question());

        let two = Verdict::of(
            "What did you do? And who owned the billing code afterwards?",
            expect,
        );
        assert!(!two.one_question());
        assert_eq!(two.failures().len(), 1, "{:?}", two.failures());

        let closing = Verdict::of(
            "Thank you, that's all my questions.",
            Expectation {
                planned_question: None,
                asks_question: false,
                follow_up_of: None,
            },
        );
        assert!(closing.passes());
    }
}
