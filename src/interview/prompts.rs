//! The interviewer's instructions to the language model.

/// The system prompt of every interview: who the model plays and how it behaves.
pub const INTERVIEWER_PERSONA: &str = "You are Viva, a professional job interviewer. \
Be concise, polite and neutral. Ask exactly one question at a time and keep each turn to two or \
three sentences. Listen to the candidate's answer and follow up on it: ask for a concrete example, \
a detail they skipped, or the result of what they did, before moving on to a new topic. \
Do not answer your own questions, do not give feedback during the interview, and never write the \
candidate's part.";

/// The system prompt of a follow-up: the model writes one question and nothing else. The
/// conductor decides everything else (whether to follow up, the topic, the acknowledgement,
/// the planned questions), so the model's job is small enough for a 135M model. The planned
/// question is not shown: given it, the model mostly asked it again.
pub const FOLLOW_UP_SYSTEM: &str = "You are a job interviewer. You read what the candidate \
said and a topic from it. Ask the candidate one short follow-up question about that topic, \
using the topic's exact words. Ask for a detail, a reason or a result. Write only the question, \
one sentence ending with a question mark.";

/// A worked example of a follow-up, shown to the model before the real request.
pub struct FollowUpExample {
    pub answer: &'static str,
    pub topic: &'static str,
    pub follow_up: &'static str,
}

/// Few-shot examples (written for this prompt; none is from the evaluation set): varied
/// interview types and answer styles, each follow-up one sentence that uses the topic's words.
pub const FOLLOW_UP_EXAMPLES: &[FollowUpExample] = &[
    FollowUpExample {
        answer: "I would look at the query plan first. Usually the problem is a missing index \
on the column in the where clause.",
        topic: "missing index",
        follow_up: "How would you confirm that the missing index is really the cause?",
    },
    FollowUpExample {
        answer: "Our releases took a whole day, so I wrote a script that automated the release \
notes and the tagging. Now it takes about an hour.",
        topic: "release notes",
        follow_up: "How did the team react when the release notes were automated?",
    },
    FollowUpExample {
        answer: "Mostly with snapshot tests.",
        topic: "snapshot tests",
        follow_up: "What kind of bug have your snapshot tests actually caught?",
    },
    FollowUpExample {
        answer: "So, um, I use, uh, a hash of the long URL, and I keep it in a key value store, \
and, um, if two URLs have same hash I add a counter.",
        topic: "same hash",
        follow_up: "What happens in your design when two URLs get the same hash?",
    },
    FollowUpExample {
        answer:
            "We had a big launch coming and, honestly, the sales team kept changing the scope, \
which was stressful, and in the end we cut the export feature and shipped the rest on time, \
though the customer was not thrilled about that.",
        topic: "export feature",
        follow_up: "Why did you pick the export feature as the part to cut?",
    },
];

/// The request for one follow-up, in the form the examples use.
pub fn follow_up_request(answer: &str, topic: &str) -> String {
    format!("The candidate said: \"{answer}\"\nTopic: {topic}")
}

/// Follow-ups the conductor speaks when the model's text fails validation twice; `{topic}` is a
/// phrase of the answer.
pub const FOLLOW_UP_TEMPLATES: &[&str] = &[
    "You mentioned {topic}. Can you say more about how that worked in practice?",
    "You mentioned {topic}. What made you choose that, and how did it turn out?",
    "You mentioned {topic}. Could you walk me through that part in more detail?",
];

/// The follow-up when an answer talks about something the candidate's resume names.
pub const RESUME_FOLLOW_UP: &str =
    "Your resume mentions {highlight}. What was your own part in it, and what would you do differently now?";

/// Short acknowledgements before a follow-up or the next question.
pub const ACKNOWLEDGEMENTS: &[&str] = &["I see.", "Thank you.", "Okay, thanks.", "Got it."];

/// Before the next planned question.
pub const TRANSITIONS: &[&str] = &[
    "Let's move on.",
    "Next question.",
    "Let's turn to another topic.",
];

/// After an answer that said nothing (silence, "um"): the question again, read verbatim after this.
pub const REASK_EMPTY: &str = "Take your time.";
/// After an answer about something else: the question again, read verbatim after this.
pub const REASK_OFF_TOPIC: &str = "Let's bring it back to the interview.";
/// After "I don't know": no pressure, the next question follows.
pub const NO_ANSWER_ACK: &str = "That's alright.";
/// After the candidate asked to hear the question again.
pub const REPEAT_QUESTION: &str = "Of course, here it is again.";
/// After the candidate asked what the question means: no new information, the question again.
pub const CLARIFY_QUESTION: &str =
    "Any reasonable assumption is fine; just say which one you make.";
/// The last turn of the interview.
pub const CLOSING: &str =
    "Thank you, that was the last question. We'll finish the interview here; \
your feedback and report will follow shortly.";

/// The interviewer's first words, before the first planned question.
pub const GREETING: &str = "Hello, I'm Viva, and I'll be your interviewer today. \
Take your time with each answer; I'll listen until you pause. Let's begin.";

/// When the time limit passes: the last turn instead of the next question.
pub const TIME_UP: &str = "We've reached the time we set for this interview, so we'll stop \
here. Thank you; your feedback and report will follow shortly.";

/// When the candidate ends the interview early.
pub const FINISHED_EARLY: &str = "Thank you for your time. We'll finish the interview here.";
