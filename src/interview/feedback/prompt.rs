//! The prompt that asks the model to assess one answer against its rubric.
//!
//! A 135M model follows a short fixed line format shown in a few examples far better than it
//! writes JSON, so the reply is four labelled lines that [`super::assessment::parse_assessment`]
//! checks. The system prompt and the examples are the same for every request (the engine's
//! cache reuses that prefix); only the last message changes.

use crate::llm::{ChatMessage, ChatRole};

pub const ASSESSMENT_SYSTEM: &str = "You grade one answer from a job interview. You are given \
the question, the numbered rubric points it is graded on, and the candidate's answer. Reply with \
exactly four lines and nothing else:\n\
COVERED: the numbers of the rubric points the answer covers, separated by commas, or none\n\
SCORE: one whole number from 1 to 5 (5: covers every point with detail; 3: covers about half; \
1: covers nothing or does not answer)\n\
STRENGTH: one short sentence on what the answer did well\n\
IMPROVE: one short sentence on what the candidate should add or change";

/// A worked assessment shown to the model before the real request.
pub struct AssessmentExample {
    pub question: &'static str,
    pub rubric: &'static [&'static str],
    pub answer: &'static str,
    pub reply: &'static str,
    /// Phrases of this example's answer that its reply repeats: a real reply using one that its
    /// own question, rubric and answer never mention was copied from here.
    pub markers: &'static [&'static str],
}

/// Few-shot examples, written for this prompt (none is from the question bank): a strong, a
/// weak and a partial answer, so the model sees the whole scale and both forms of COVERED.
pub const ASSESSMENT_EXAMPLES: &[AssessmentExample] = &[
    AssessmentExample {
        question: "How would you find out why a background job sometimes runs twice?",
        rubric: &[
            "Checks the logs of both runs",
            "Looks for retries or timeouts in the queue",
            "Makes the job safe to run twice",
        ],
        answer: "First I'd pull the logs for both runs and compare the start times. Often the \
queue retries a job when it times out, so I'd check the visibility timeout. And I'd make the job \
idempotent with a unique key, so a second run does nothing.",
        reply: "COVERED: 1, 2, 3\n\
SCORE: 5\n\
STRENGTH: You traced the cause through the logs and the queue timeout, and made the job \
idempotent.\n\
IMPROVE: Say how you would confirm the fix, for example with a test that runs the job twice.",
        markers: &["idempotent", "visibility timeout"],
    },
    AssessmentExample {
        question: "Tell me about a time you had to learn a new tool quickly.",
        rubric: &[
            "Names the tool and why it was needed",
            "Describes how they learned it",
            "Shows the result of using it",
        ],
        answer: "Um, I learn fast, I think. I am good with new things.",
        reply: "COVERED: none\n\
SCORE: 1\n\
STRENGTH: You sound confident about learning new things.\n\
IMPROVE: Name the tool you learned, how you learned it and what you built with it.",
        markers: &["new things"],
    },
    AssessmentExample {
        question: "How would you back up a production database?",
        rubric: &[
            "Takes automated, regular backups",
            "Keeps copies in another location",
            "Tests restores regularly",
            "Encrypts the backups",
        ],
        answer: "We take a snapshot every night with a cron job and copy it to a bucket in \
another region. Honestly, we have never tried restoring one.",
        reply: "COVERED: 1, 2\n\
SCORE: 3\n\
STRENGTH: Nightly automated snapshots copied to another region protect you from losing a whole \
site.\n\
IMPROVE: Test a restore regularly, because an untested backup may fail when you need it.",
        markers: &["snapshot", "another region"],
    },
];

/// The request for one assessment, in the form the examples use. Line breaks inside the
/// answer are flattened so that the answer cannot imitate the reply's lines.
pub fn assessment_request<S: AsRef<str>>(question: &str, rubric: &[S], answer: &str) -> String {
    let flat = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut request = format!("Question: {}\nRubric:\n", flat(question));
    for (i, point) in rubric.iter().enumerate() {
        request.push_str(&format!("{}. {}\n", i + 1, flat(point.as_ref())));
    }
    request.push_str(&format!("Answer: \"{}\"", flat(answer)));
    request
}

/// The system prompt, the examples as earlier turns, then this answer.
pub fn assessment_messages(question: &str, rubric: &[String], answer: &str) -> Vec<ChatMessage> {
    let mut messages = vec![ChatMessage::new(ChatRole::System, ASSESSMENT_SYSTEM)];
    for example in ASSESSMENT_EXAMPLES {
        messages.push(ChatMessage::new(
            ChatRole::User,
            assessment_request(example.question, example.rubric, example.answer),
        ));
        messages.push(ChatMessage::new(ChatRole::Assistant, example.reply));
    }
    messages.push(ChatMessage::new(
        ChatRole::User,
        assessment_request(question, rubric, answer),
    ));
    messages
}

/// The marker of an example that `line` uses although `context` (the real question, rubric
/// and answer) never mentions it.
pub fn copied_marker(line: &str, context: &str) -> Option<&'static str> {
    let line = line.to_lowercase();
    let context = context.to_lowercase();
    ASSESSMENT_EXAMPLES
        .iter()
        .flat_map(|e| e.markers.iter().copied())
        .find(|marker| line.contains(marker) && !context.contains(marker))
}
