//! The interviewer's next turn after an answer: acknowledge and ask one follow-up about what
//! the candidate said, or acknowledge and read the next planned question, or close.
//!
//! A 135M model left alone drifts out of role (fluent text that asks nothing, or speaks as the
//! candidate), so it is scaffolded hard:
//!
//! - **Rules decide the move** ([`classify`], [`Conductor::next_turn`]): an empty answer or one
//!   about something else hears the question again; "I don't know" moves on; a question back
//!   is answered by restating the question; anything else gets one follow-up; never more than
//!   one follow-up per question.
//! - **Planned questions come from the bank, read verbatim**, after a templated acknowledgement
//!   and transition. The model never writes a main question.
//! - **The model writes only the follow-up question**, from a tight prompt with few-shot
//!   examples and a topic phrase picked from the answer by [`topic_phrase`]; generation stops
//!   at the first question mark.
//! - **Every model output is validated** with the same checks `viva eval conduct` measures
//!   ([`super::conduct_check`]); a failure is retried once with another seed, then a template
//!   built from the topic phrase is spoken instead.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::OnceLock;

use super::catalog::Bank;
use super::conduct_check::{Expectation, Verdict};
use super::prompts;
use super::words::{content_words, is_filler, is_generic, is_stopword, stem, tokens, word_count};
use crate::domain::MessageKind;
use crate::llm::{ChatMessage, ChatRole, Conversation, GenerateOptions, LlmEngine, LlmError};

/// A follow-up the model writes must stay under this many words (the acknowledgement comes on
/// top, and the whole turn must stay under [`super::conduct_check::MAX_WORDS`]).
pub use super::conduct_check::MAX_FOLLOW_UP_WORDS;

/// The interview at the moment the candidate finished an answer.
#[derive(Debug, Clone, Copy)]
pub struct TurnInput<'a> {
    /// The planned question being answered (or whose follow-up is being answered).
    pub question: &'a str,
    /// What the candidate said (a transcript; may be empty).
    pub answer: &'a str,
    /// Whether this question already had its follow-up, re-ask or clarification.
    pub follow_up_asked: bool,
    /// The next planned question; `None` when this was the last one.
    pub next_question: Option<&'a str>,
    /// What the candidate's resume says they did (hiring interviews with a resume).
    pub resume_highlights: &'a [String],
}

/// What kind of answer the rules see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerKind {
    /// Nothing, or only fillers ("um", "uh... hmm").
    Empty,
    /// "I don't know", "no idea".
    NoAnswer,
    /// A question back: "do you mean …?", "could you repeat the question?".
    QuestionBack,
    /// Words, but hardly any of the vocabulary of work and of the question bank.
    OffTopic,
    /// A real answer, however short.
    Answer,
}

/// What the interviewer does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// Acknowledge and ask one question about what the candidate said.
    FollowUp,
    /// Ask the same planned question again (after an empty or off-topic answer).
    Reask,
    /// Answer a question back by restating the planned question.
    Clarify,
    /// Acknowledge and read the next planned question.
    NextQuestion,
    /// Thank the candidate and end.
    Close,
}

impl Move {
    /// The kind of message this move produces.
    pub fn message_kind(self) -> MessageKind {
        match self {
            Self::FollowUp => MessageKind::FollowUp,
            Self::Reask => MessageKind::Reask,
            Self::Clarify => MessageKind::Clarify,
            Self::NextQuestion => MessageKind::Question,
            Self::Close => MessageKind::Closing,
        }
    }
}

/// Who wrote a follow-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The model's text passed validation on this attempt (1 or 2).
    Model { attempt: u8 },
    /// Both attempts failed (or the model errored): the template was spoken.
    Template,
    /// Turns the model is not asked to write (re-asks, planned questions, closing).
    Rules,
}

/// A model output that was rejected, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub text: String,
    pub reasons: Vec<String>,
}

/// The interviewer's next turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub action: Move,
    /// Everything the interviewer says, ready to speak.
    pub text: String,
    pub source: Source,
    pub answer_kind: AnswerKind,
    /// The planned question this turn reads verbatim (the same one again, or the next).
    pub planned_question: Option<String>,
    /// The phrase of the answer a follow-up is about.
    pub topic: Option<String>,
    /// Model outputs that failed validation before this turn was settled.
    pub rejected: Vec<Rejected>,
}

/// One generation request: the messages, the sampling options, and a character after which
/// the text is complete (generation may stop there).
pub struct Completion<'a> {
    pub messages: &'a [ChatMessage],
    pub options: &'a GenerateOptions,
    pub stop_after: Option<char>,
}

/// The language model as the conductor needs it: text for a prompt. Implemented over the
/// engine by [`EngineWriter`]; the inference worker can implement it over its queue.
pub trait TurnWriter {
    fn complete(&mut self, request: &Completion<'_>) -> Result<String, LlmError>;
}

/// The engine and one conversation whose cache keeps the follow-up prompt's fixed prefix (the
/// system prompt and the examples), so each request prefills only its own question and answer.
pub struct EngineWriter {
    engine: LlmEngine,
    conversation: Conversation,
}

impl EngineWriter {
    pub fn new(engine: LlmEngine) -> Self {
        let conversation = engine.new_conversation();
        Self {
            engine,
            conversation,
        }
    }
}

impl TurnWriter for EngineWriter {
    fn complete(&mut self, request: &Completion<'_>) -> Result<String, LlmError> {
        let generation = self.engine.generate(
            &mut self.conversation,
            request.messages,
            request.options,
            &mut |delta| match request.stop_after {
                Some(stop) if delta.contains(stop) => ControlFlow::Break(()),
                _ => ControlFlow::Continue(()),
            },
        )?;
        Ok(generation.text)
    }
}

/// Decides and writes the interviewer's turns.
pub struct Conductor<W> {
    writer: W,
    /// The first attempt's seed; the retry uses the next one.
    pub seed: u64,
}

impl<W: TurnWriter> Conductor<W> {
    pub fn new(writer: W, seed: u64) -> Self {
        Self { writer, seed }
    }

    /// The interviewer's turn after `input.answer`. Never fails: when the model errors, the
    /// template is spoken (and the error logged).
    pub fn next_turn(&mut self, input: &TurnInput<'_>) -> Turn {
        self.next_turn_speaking(input, &mut |_| {})
    }

    /// [`Conductor::next_turn`], saying the acknowledgement of a follow-up through `speak`
    /// before the model writes the question, so a live interview can start talking at once.
    /// The returned turn's text starts with what was spoken.
    pub fn next_turn_speaking(
        &mut self,
        input: &TurnInput<'_>,
        speak: &mut dyn FnMut(&str),
    ) -> Turn {
        let kind = classify(input.answer);
        let pick = variant(input.answer);
        let mut turn = Turn {
            action: Move::NextQuestion,
            text: String::new(),
            source: Source::Rules,
            answer_kind: kind,
            planned_question: None,
            topic: None,
            rejected: Vec::new(),
        };
        let question = input.question.trim();
        if !input.follow_up_asked {
            let again = match kind {
                AnswerKind::Empty => Some(prompts::REASK_EMPTY),
                AnswerKind::OffTopic => Some(prompts::REASK_OFF_TOPIC),
                AnswerKind::QuestionBack if asks_to_repeat(input.answer) => {
                    Some(prompts::REPEAT_QUESTION)
                }
                AnswerKind::QuestionBack => Some(prompts::CLARIFY_QUESTION),
                AnswerKind::NoAnswer | AnswerKind::Answer => None,
            };
            if let Some(lead) = again {
                turn.action = if kind == AnswerKind::QuestionBack {
                    Move::Clarify
                } else {
                    Move::Reask
                };
                turn.text = format!("{lead} {question}");
                turn.planned_question = Some(question.to_owned());
                return turn;
            }
            if kind == AnswerKind::Answer {
                self.follow_up(input, pick, &mut turn, speak);
                return turn;
            }
        }
        let ack = match kind {
            AnswerKind::NoAnswer | AnswerKind::Empty => prompts::NO_ANSWER_ACK,
            _ => prompts::ACKNOWLEDGEMENTS[pick % prompts::ACKNOWLEDGEMENTS.len()],
        };
        match input.next_question.map(str::trim) {
            Some(next) => {
                let transition = prompts::TRANSITIONS[pick % prompts::TRANSITIONS.len()];
                turn.action = Move::NextQuestion;
                turn.text = format!("{ack} {transition} {next}");
                turn.planned_question = Some(next.to_owned());
            }
            None => {
                turn.action = Move::Close;
                turn.text = prompts::CLOSING.to_owned();
            }
        }
        turn
    }

    fn follow_up(
        &mut self,
        input: &TurnInput<'_>,
        pick: usize,
        turn: &mut Turn,
        speak: &mut dyn FnMut(&str),
    ) {
        turn.action = Move::FollowUp;
        let ack = prompts::ACKNOWLEDGEMENTS[pick % prompts::ACKNOWLEDGEMENTS.len()];
        speak(ack);
        // An answer about something the resume names gets the follow-up about it.
        if let Some(highlight) = mentioned_highlight(input.answer, input.resume_highlights) {
            turn.text = format!(
                "{ack} {}",
                prompts::RESUME_FOLLOW_UP.replace("{highlight}", highlight)
            );
            turn.source = Source::Template;
            turn.topic = Some(highlight.to_owned());
            return;
        }
        let topic = topic_phrase(input.answer, input.question);
        let messages = follow_up_messages(input.answer, topic.as_deref());
        for attempt in 1..=2u8 {
            let options = follow_up_options(self.seed + u64::from(attempt) - 1, attempt);
            let request = Completion {
                messages: &messages,
                options: &options,
                stop_after: Some('?'),
            };
            let raw = match self.writer.complete(&request) {
                Ok(text) => text,
                // Stopped by a barge-in: expected, and nothing more is said anyway.
                Err(LlmError::Interrupted) => {
                    tracing::debug!("follow-up generation stopped by a barge-in");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "follow-up generation failed; using the template");
                    break;
                }
            };
            let question = tidy(&raw);
            let text = format!("{ack} {question}");
            let reasons = validate_follow_up(&question, &text, input, topic.as_deref());
            if reasons.is_empty() {
                turn.text = text;
                turn.source = Source::Model { attempt };
                turn.topic = topic;
                return;
            }
            turn.rejected.push(Rejected { text: raw, reasons });
        }
        let template = prompts::FOLLOW_UP_TEMPLATES[pick % prompts::FOLLOW_UP_TEMPLATES.len()];
        let phrase = topic.clone().unwrap_or_else(|| "that".to_owned());
        turn.text = format!("{ack} {}", template.replace("{topic}", &phrase));
        turn.source = Source::Template;
        turn.topic = topic;
    }
}

/// The first resume highlight the answer talks about: one of the highlight's names (its
/// capitalised words, "the" and "a" aside) said in the answer.
fn mentioned_highlight<'h>(answer: &str, highlights: &'h [String]) -> Option<&'h str> {
    let said: Vec<String> = answer
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    highlights.iter().map(String::as_str).find(|highlight| {
        highlight
            .split_whitespace()
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
            .filter(|w| w.chars().next().is_some_and(char::is_uppercase))
            .filter(|w| !matches!(*w, "The" | "A" | "An"))
            .any(|name| said.iter().any(|s| *s == name.to_lowercase()))
    })
}

fn follow_up_options(seed: u64, attempt: u8) -> GenerateOptions {
    GenerateOptions {
        max_tokens: 48,
        // The first attempt stays close to the examples; the retry samples more freely.
        temperature: if attempt == 1 { 0.2 } else { 0.6 },
        seed,
        ..GenerateOptions::default()
    }
}

/// The system prompt, the few-shot examples as earlier turns, then this answer. The prefix
/// before the last message is the same for every request (the engine's cache reuses it).
pub fn follow_up_messages(answer: &str, topic: Option<&str>) -> Vec<ChatMessage> {
    let mut messages = vec![ChatMessage::new(
        ChatRole::System,
        prompts::FOLLOW_UP_SYSTEM,
    )];
    for example in prompts::FOLLOW_UP_EXAMPLES {
        messages.push(ChatMessage::new(
            ChatRole::User,
            prompts::follow_up_request(example.answer, example.topic),
        ));
        messages.push(ChatMessage::new(ChatRole::Assistant, example.follow_up));
    }
    messages.push(ChatMessage::new(
        ChatRole::User,
        prompts::follow_up_request(answer.trim(), topic.unwrap_or("their answer")),
    ));
    messages
}

/// The model's text as a spoken question: trimmed, up to its first question mark, wrapping
/// quotes off. Nothing else is repaired; validation judges the rest.
fn tidy(raw: &str) -> String {
    let mut text = raw.trim();
    if let Some(end) = text.find('?') {
        text = &text[..=end];
    }
    text.trim_matches(|c: char| c == '"' || c == '“' || c == '”' || c.is_whitespace())
        .to_owned()
}

/// Why a model-written follow-up cannot be spoken (empty when it can).
fn validate_follow_up(
    question: &str,
    turn: &str,
    input: &TurnInput<'_>,
    topic: Option<&str>,
) -> Vec<String> {
    let topic: Vec<String> = topic.map(str::to_owned).into_iter().collect();
    let mut reasons = Verdict::of(
        turn,
        Expectation {
            planned_question: None,
            asks_question: true,
            follow_up_of: Some((input.question, input.answer, &topic)),
        },
    )
    .failures();
    if !question.ends_with('?') {
        reasons.push("does not end with its question".into());
    }
    let words = word_count(question);
    if words < 4 {
        reasons.push("too short to be a question".into());
    }
    if repeats_question(question, input.question) {
        reasons.push("repeats the planned question".into());
    }
    if let Some(example) = copied_example(question, input.answer) {
        reasons.push(format!("copies the example about `{example}`"));
    }
    reasons
}

/// The topic of a few-shot example the follow-up talks about although the answer never
/// mentioned it (the model copying its examples).
fn copied_example(follow_up: &str, answer: &str) -> Option<&'static str> {
    let follow_up = follow_up.to_lowercase();
    let answer = answer.to_lowercase();
    prompts::FOLLOW_UP_EXAMPLES
        .iter()
        .map(|e| e.topic)
        .find(|topic| {
            let topic = topic.to_lowercase();
            follow_up.contains(&topic) && !answer.contains(&topic)
        })
}

/// Whether the follow-up is mostly the planned question again.
fn repeats_question(follow_up: &str, question: &str) -> bool {
    let asked: HashSet<String> = content_words(question, 3).iter().map(|w| stem(w)).collect();
    let words: Vec<String> = content_words(follow_up, 3)
        .iter()
        .map(|w| stem(w))
        .collect();
    !words.is_empty() && words.iter().filter(|w| asked.contains(*w)).count() * 10 >= words.len() * 8
}

/// A small stable number from the answer, to vary the templated phrases without randomness.
fn variant(answer: &str) -> usize {
    answer.bytes().fold(7usize, |h, b| {
        h.wrapping_mul(31).wrapping_add(usize::from(b))
    })
}

/// Sorts an answer into the kinds the rules act on.
pub fn classify(answer: &str) -> AnswerKind {
    let words: Vec<String> = tokens(answer)
        .iter()
        .map(|t| t.word.to_lowercase())
        .filter(|w| !is_filler(w))
        .collect();
    if words.is_empty() {
        return AnswerKind::Empty;
    }
    let joined = format!(" {} ", words.join(" ").replace('’', "'"));
    const NO_ANSWER: &[&str] = &[
        " don't know ",
        " do not know ",
        " no idea ",
        " not sure ",
        " can't remember ",
        " don't remember ",
        " pass ",
        " skip ",
    ];
    if words.len() <= 10 && NO_ANSWER.iter().any(|p| joined.contains(p)) {
        return AnswerKind::NoAnswer;
    }
    if answer.contains('?') && words.len() <= 45 {
        return AnswerKind::QuestionBack;
    }
    let content: Vec<String> = words
        .iter()
        .filter(|w| !is_stopword(w) && w.chars().count() >= 3)
        .cloned()
        .collect();
    if content.len() >= 6 {
        let vocabulary = domain_vocabulary();
        let known = content
            .iter()
            .filter(|w| vocabulary.contains(&stem(w)))
            .count();
        if (known as f64) < OFF_TOPIC_SHARE * content.len() as f64 {
            return AnswerKind::OffTopic;
        }
    }
    AnswerKind::Answer
}

/// An answer is off-topic when fewer than this share of its content words are words of the
/// question bank or of work in general. On the evaluation answers, off-topic ones score
/// 0.15–0.38 and real answers 0.47–1.0.
const OFF_TOPIC_SHARE: f64 = 0.42;

fn asks_to_repeat(answer: &str) -> bool {
    let lower = answer.to_lowercase();
    [
        "repeat",
        "say that again",
        "missed",
        "didn't catch",
        "did not catch",
        "didn't hear",
        "once more",
    ]
    .iter()
    .any(|p| lower.contains(p))
}

/// Stems of the words of every question and rubric point in the bundled bank.
fn domain_vocabulary() -> &'static HashSet<String> {
    static VOCABULARY: OnceLock<HashSet<String>> = OnceLock::new();
    VOCABULARY.get_or_init(|| {
        let mut vocabulary = HashSet::new();
        if let Ok(bank) = Bank::bundled() {
            for q in &bank.questions {
                for text in std::iter::once(&q.text).chain(&q.rubric) {
                    vocabulary.extend(content_words(text, 3).iter().map(|w| stem(w)));
                }
            }
        }
        vocabulary
    })
}

/// The phrase of the answer a follow-up is best about: the highest-scoring run of up to three
/// consecutive content words inside one clause. Longer words score more, words of the bank's
/// vocabulary (technical terms) more again, words the question already used less (they echo the
/// question, not the candidate), and a run ending in a past-tense verb less. `None` when the
/// answer has no content word.
pub fn topic_phrase(answer: &str, question: &str) -> Option<String> {
    let toks = tokens(answer);
    let asked: HashSet<String> = content_words(question, 3).iter().map(|w| stem(w)).collect();
    let vocabulary = domain_vocabulary();
    let is_content = |w: &str| {
        let lower = w.to_lowercase();
        let letters = lower.chars().filter(|c| c.is_alphanumeric()).count();
        let adverb = lower.ends_with("ly") && letters > 4;
        let long_enough =
            letters >= 3 || (letters >= 2 && w.chars().all(|c| c.is_ascii_uppercase()));
        long_enough && !adverb && !is_stopword(&lower) && !is_generic(&lower)
    };
    let score = |w: &str| -> f64 {
        let lower = w.to_lowercase();
        let s = stem(&lower);
        let mut score = lower.chars().count().min(12) as f64;
        if vocabulary.contains(&s) {
            score *= 1.5;
        }
        if asked.contains(&s) {
            score *= 0.3;
        }
        score
    };
    let mut best: Option<(f64, usize, usize)> = None;
    let mut i = 0;
    while i < toks.len() {
        if !is_content(toks[i].word) {
            i += 1;
            continue;
        }
        // A run of content words up to the end of the clause.
        let mut j = i;
        while j + 1 < toks.len() && !toks[j].ends_clause && is_content(toks[j + 1].word) {
            j += 1;
        }
        for start in i..=j {
            for end in start..=j.min(start + 2) {
                let words = &toks[start..=end];
                let mut total: f64 = words.iter().map(|t| score(t.word)).sum();
                // Two words name a thing best ("token bucket"); a third is often a verb.
                total *= [1.0, 1.3, 1.15][words.len() - 1];
                let first = words[0].word.to_lowercase();
                let last = words[words.len() - 1].word.to_lowercase();
                if last.ends_with("ed") || first.ends_with("ing") || first.ends_with("ed") {
                    total *= 0.6;
                }
                if best.is_none_or(|(b, _, _)| total > b) {
                    best = Some((total, start, end));
                }
            }
        }
        i = j + 1;
    }
    best.map(|(_, start, end)| {
        toks[start..=end]
            .iter()
            .map(|t| t.word)
            .collect::<Vec<_>>()
            .join(" ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interview::conduct_check::role_problem;

    /// A writer that returns canned texts in order and records the requests.
    struct Scripted {
        replies: Vec<Result<String, ()>>,
        seeds: Vec<u64>,
    }

    impl TurnWriter for Scripted {
        fn complete(&mut self, request: &Completion<'_>) -> Result<String, LlmError> {
            self.seeds.push(request.options.seed);
            match self.replies.remove(0) {
                Ok(text) => Ok(text),
                Err(()) => Err(LlmError::BadModel("scripted failure".into())),
            }
        }
    }

    fn conductor(replies: &[Result<&str, ()>]) -> Conductor<Scripted> {
        Conductor::new(
            Scripted {
                replies: replies.iter().map(|r| r.map(str::to_owned)).collect(),
                seeds: Vec::new(),
            },
            42,
        )
    }

    const QUESTION: &str = "How would you keep a cache consistent with the database?";
    const NEXT: &str = "What is a deadlock, and how have you prevented or debugged one?";
    const ANSWER: &str =
        "I'd set a short TTL and delete the cache entry whenever the row is written.";

    fn input<'a>(answer: &'a str, follow_up_asked: bool, next: Option<&'a str>) -> TurnInput<'a> {
        TurnInput {
            question: QUESTION,
            answer,
            follow_up_asked,
            next_question: next,
            resume_highlights: &[],
        }
    }

    #[test]
    fn a_valid_model_follow_up_is_spoken_after_an_acknowledgement() {
        let mut c = conductor(&[Ok(
            " How short would you make the TTL for that row? And then",
        )]);
        let turn = c.next_turn(&input(ANSWER, false, Some(NEXT)));
        assert_eq!(turn.action, Move::FollowUp);
        assert_eq!(turn.source, Source::Model { attempt: 1 });
        assert!(
            turn.text
                .ends_with("How short would you make the TTL for that row?"),
            "{}",
            turn.text
        );
        assert!(turn.rejected.is_empty());
    }

    #[test]
    fn an_answer_about_a_resume_highlight_gets_the_follow_up_about_it() {
        let highlights = [
            "the Payments Gateway rewrite".to_owned(),
            "Orbit".to_owned(),
        ];
        let answer = "At orbit we cached deploy manifests and expired them on every release.";
        let mut c = conductor(&[]);
        let turn = c.next_turn(&TurnInput {
            resume_highlights: &highlights,
            ..input(answer, false, Some(NEXT))
        });
        assert_eq!(turn.action, Move::FollowUp);
        assert!(
            turn.text.ends_with(
                "Your resume mentions Orbit. What was your own part in it, and what would you do \
                 differently now?"
            ),
            "{}",
            turn.text
        );
        assert!(c.writer.seeds.is_empty(), "no model call");
        // "the" alone is not a name: an answer without the names gets the usual follow-up.
        assert_eq!(mentioned_highlight("the cache was slow", &highlights), None);
        assert_eq!(
            mentioned_highlight("the payments team", &highlights),
            Some("the Payments Gateway rewrite")
        );
    }

    #[test]
    fn a_bad_output_is_retried_with_another_seed_then_replaced_by_the_template() {
        let mut c = conductor(&[
            Ok("As a candidate, I would use a short TTL."),
            Ok("Interviewer: What TTL?"),
        ]);
        let turn = c.next_turn(&input(ANSWER, false, Some(NEXT)));
        assert_eq!(c.writer.seeds, [42, 43]);
        assert_eq!(turn.source, Source::Template);
        assert_eq!(turn.rejected.len(), 2);
        assert!(turn.text.contains("You mentioned"), "{}", turn.text);
        let verdict = Verdict::of(
            &turn.text,
            Expectation {
                planned_question: None,
                asks_question: true,
                follow_up_of: Some((QUESTION, ANSWER, &[])),
            },
        );
        assert!(verdict.passes(), "{:?}", verdict.failures());

        let mut c = conductor(&[
            Ok("Not a question at all."),
            Ok("Why delete the entry rather than update it in place?"),
        ]);
        let turn = c.next_turn(&input(ANSWER, false, Some(NEXT)));
        assert_eq!(turn.source, Source::Model { attempt: 2 });
    }

    #[test]
    fn a_follow_up_copied_from_the_examples_is_rejected() {
        let mut c = conductor(&[
            Ok("Why did you pick the export feature as the part to cut?"),
            Ok("How would you confirm that the missing index is really the cause?"),
        ]);
        let answer = "We computed the features up to today, so the model saw the future.";
        let turn = c.next_turn(&input(answer, false, Some(NEXT)));
        assert_eq!(turn.source, Source::Template);
        assert!(
            turn.rejected[0]
                .reasons
                .iter()
                .any(|r| r.contains("copies")),
            "{:?}",
            turn.rejected
        );
    }

    #[test]
    fn a_model_error_falls_back_to_the_template() {
        let mut c = conductor(&[Err(())]);
        let turn = c.next_turn(&input(ANSWER, false, Some(NEXT)));
        assert_eq!(turn.source, Source::Template);
        assert_eq!(turn.action, Move::FollowUp);
    }

    #[test]
    fn follow_ups_that_ignore_the_answer_or_repeat_the_question_are_rejected() {
        let mut c = conductor(&[
            Ok("Can you give me a specific example?"),
            Ok("How would you keep a cache consistent with the database?"),
        ]);
        let turn = c.next_turn(&input(ANSWER, false, Some(NEXT)));
        assert_eq!(turn.source, Source::Template);
        assert!(
            turn.rejected[1]
                .reasons
                .iter()
                .any(|r| r.contains("repeats")),
            "{:?}",
            turn.rejected
        );
    }

    #[test]
    fn after_a_follow_up_the_next_question_is_read_verbatim_or_the_interview_closes() {
        let mut c = conductor(&[]);
        let turn = c.next_turn(&input(ANSWER, true, Some(NEXT)));
        assert_eq!(turn.action, Move::NextQuestion);
        assert!(turn.text.ends_with(NEXT));
        assert_eq!(turn.planned_question.as_deref(), Some(NEXT));
        let turn = c.next_turn(&input(ANSWER, true, None));
        assert_eq!(turn.action, Move::Close);
        assert!(!turn.text.contains('?'));
        assert_eq!(role_problem(&turn.text), None);
    }

    #[test]
    fn empty_off_topic_and_question_back_answers_hear_the_question_again_once() {
        let mut c = conductor(&[]);
        for (answer, action) in [
            ("", Move::Reask),
            ("Uh... hmm.", Move::Reask),
            (
                "I went hiking near the lake with my brother and we found a cafe with the best apple pie.",
                Move::Reask,
            ),
            ("Could you repeat the question?", Move::Clarify),
            ("Do you mean a cache like Redis, or any cache?", Move::Clarify),
        ] {
            let turn = c.next_turn(&input(answer, false, Some(NEXT)));
            assert_eq!(turn.action, action, "{answer}");
            assert!(turn.text.ends_with(QUESTION), "{}", turn.text);
            let turn = c.next_turn(&input(answer, true, Some(NEXT)));
            assert_eq!(turn.action, Move::NextQuestion, "{answer}");
        }
        let turn = c.next_turn(&input("I don't know.", false, Some(NEXT)));
        assert_eq!(turn.action, Move::NextQuestion);
        assert!(turn.text.starts_with(prompts::NO_ANSWER_ACK));
    }

    #[test]
    fn answers_are_classified() {
        assert_eq!(classify("um"), AnswerKind::Empty);
        assert_eq!(classify("I don't know."), AnswerKind::NoAnswer);
        assert_eq!(classify("Mostly delivery time."), AnswerKind::Answer);
        assert_eq!(classify(ANSWER), AnswerKind::Answer);
        assert_eq!(
            classify("Rent here is ridiculous and my partner really wants a garden, I liked the office photos on your website."),
            AnswerKind::OffTopic
        );
    }

    #[test]
    fn the_topic_is_a_phrase_of_the_answer() {
        assert_eq!(topic_phrase(ANSWER, QUESTION).as_deref(), Some("short TTL"),);
        assert_eq!(
            topic_phrase(
                "I once ran a migration script against production instead of staging.",
                "Tell me about a mistake you made at work."
            )
            .as_deref(),
            Some("migration script")
        );
        assert_eq!(
            topic_phrase("I paired with her for an afternoon.", "How?").as_deref(),
            Some("afternoon")
        );
        assert_eq!(topic_phrase("um, yes, so", "How?"), None);
    }

    #[test]
    fn the_follow_up_prompt_keeps_a_fixed_prefix() {
        let a = follow_up_messages(ANSWER, Some("short TTL"));
        let b = follow_up_messages("Locks.", Some("Locks"));
        assert_eq!(a.len(), b.len());
        assert_eq!(a[..a.len() - 1], b[..b.len() - 1]);
        for example in prompts::FOLLOW_UP_EXAMPLES {
            let verdict = Verdict::of(
                example.follow_up,
                Expectation {
                    planned_question: None,
                    asks_question: true,
                    follow_up_of: Some(("", example.answer, &[example.topic.to_owned()])),
                },
            );
            assert!(
                verdict.passes(),
                "{}: {:?}",
                example.follow_up,
                verdict.failures()
            );
        }
    }
}
