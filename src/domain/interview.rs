//! The closed sets of values an interview, its questions, messages and feedback take, stored
//! as text.

use super::text_enum::text_enum;

text_enum! {
    /// Where an interview stands (`interviews.status`).
    pub enum InterviewStatus as "status" {
        Pending = "pending",
        InProgress = "in_progress",
        Completed = "completed",
        Abandoned = "abandoned",
        Expired = "expired",
    }
}

text_enum! {
    /// Whose interview it is (`interviews.mode`).
    pub enum InterviewMode as "mode" {
        /// A candidate practising alone.
        Practice = "practice",
        /// An interview a recruiter invited the candidate to.
        Hiring = "hiring",
    }
}

text_enum! {
    /// How hard a question, an interview or a job's interviews are.
    pub enum Difficulty as "difficulty" {
        Easy = "easy",
        Medium = "medium",
        Hard = "hard",
    }
}

impl Difficulty {
    /// 0 for easy, 1 for medium, 2 for hard: for ordering and for "how far from the request".
    pub fn rank(self) -> u8 {
        match self {
            Self::Easy => 0,
            Self::Medium => 1,
            Self::Hard => 2,
        }
    }

    pub fn distance(self, other: Self) -> u8 {
        self.rank().abs_diff(other.rank())
    }
}

text_enum! {
    /// Who said a message (`messages.role`).
    pub enum Speaker as "role" {
        Candidate = "candidate",
        Interviewer = "interviewer",
    }
}

text_enum! {
    /// What a stored message is in the interview (`messages.kind`).
    pub enum MessageKind as "messages.kind" {
        /// The candidate's answer.
        Answer = "answer",
        /// A planned question (the greeting and the first question included).
        Question = "question",
        FollowUp = "follow_up",
        Reask = "reask",
        Clarify = "clarify",
        Closing = "closing",
    }
}

impl MessageKind {
    /// Whether this interviewer turn used up the question's one extra turn.
    pub fn is_extra_turn(self) -> bool {
        matches!(self, Self::FollowUp | Self::Reask | Self::Clarify)
    }

    /// Who says a message of this kind.
    pub fn speaker(self) -> Speaker {
        match self {
            Self::Answer => Speaker::Candidate,
            _ => Speaker::Interviewer,
        }
    }
}

text_enum! {
    /// Where a bank question came from (`questions.source`): the bank shipped with viva, which
    /// a restart re-syncs, or an admin's edit, which it keeps.
    pub enum QuestionSource as "questions.source" {
        Bank = "bank",
        Admin = "admin",
    }
}

text_enum! {
    /// Who produced an answer's feedback (`turn_feedback.source`).
    pub enum FeedbackSource as "turn_feedback.source" {
        /// The models (the sentence encoder, and the judge when one runs).
        Model = "model",
        /// A model failed; the score comes from the rules alone (`fallback_reason` says why).
        Fallback = "fallback",
    }
}

text_enum! {
    /// Why an answer got no credit, whatever its wording (`turn_feedback.flag`).
    pub enum Flag as "turn_feedback.flag" {
        /// Text addressed to the grader or the model.
        AddressesGrader = "addresses_grader",
        /// The rubric's wording repeated without substance of its own.
        PastedRubric = "pasted_rubric",
        /// About something other than the question.
        OffTopic = "off_topic",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::domain::{
        AudioFormat, CodePurpose, EmailKind, EmailStatus, FileKind, JobStatus, Role,
        TranscriptionStatus, WebhookEvent, WebhookStatus,
    };

    /// The values each `CHECK (column IN ('a', 'b'))` of the migrations allows, by column name.
    fn checked_values(backend: &str) -> Vec<(String, BTreeSet<String>)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        let mut sql = String::new();
        for entry in std::fs::read_dir(&dir).expect("migrations") {
            let up = entry.expect("entry").path().join("up.sql");
            sql.push_str(&std::fs::read_to_string(up).unwrap_or_default());
        }
        sql.split("CHECK (")
            .skip(1)
            .filter_map(|check| {
                let (column, rest) = check.split_once(" IN (")?;
                let list = rest.split_once(')')?.0;
                let values = list
                    .split(',')
                    .map(|v| v.trim().trim_matches('\'').to_owned())
                    .collect();
                Some((column.trim().to_owned(), values))
            })
            .collect()
    }

    fn texts<T: Copy>(all: &[T], as_str: fn(T) -> &'static str) -> BTreeSet<String> {
        all.iter().map(|v| as_str(*v).to_owned()).collect()
    }

    #[test]
    fn each_enum_is_exactly_what_its_column_allows() {
        for backend in ["sqlite", "postgres"] {
            let checks = checked_values(backend);
            for (column, values) in [
                (
                    "status",
                    texts(InterviewStatus::ALL, InterviewStatus::as_str),
                ),
                ("mode", texts(InterviewMode::ALL, InterviewMode::as_str)),
                ("difficulty", texts(Difficulty::ALL, Difficulty::as_str)),
                ("role", texts(Speaker::ALL, Speaker::as_str)),
                ("role", texts(Role::ALL, Role::as_str)),
                ("status", texts(JobStatus::ALL, JobStatus::as_str)),
                ("source", texts(QuestionSource::ALL, QuestionSource::as_str)),
                ("source", texts(FeedbackSource::ALL, FeedbackSource::as_str)),
                ("kind", texts(FileKind::ALL, FileKind::as_str)),
                ("kind", texts(EmailKind::ALL, EmailKind::as_str)),
                ("status", texts(EmailStatus::ALL, EmailStatus::as_str)),
                ("purpose", texts(CodePurpose::ALL, CodePurpose::as_str)),
                ("event_type", texts(WebhookEvent::ALL, WebhookEvent::as_str)),
                ("status", texts(WebhookStatus::ALL, WebhookStatus::as_str)),
                (
                    "status",
                    texts(TranscriptionStatus::ALL, TranscriptionStatus::as_str),
                ),
                ("format", texts(AudioFormat::ALL, AudioFormat::as_str)),
            ] {
                assert!(
                    checks.iter().any(|(c, v)| *c == column && *v == values),
                    "{backend}: no CHECK ({column} IN {values:?}) in the migrations"
                );
            }
        }
    }

    #[test]
    fn every_value_reads_back_from_its_text() {
        for kind in MessageKind::ALL {
            assert_eq!(MessageKind::parse(kind.as_str()), Ok(*kind));
        }
        for status in InterviewStatus::ALL {
            assert_eq!(InterviewStatus::parse(status.as_str()), Ok(*status));
        }
        for mode in InterviewMode::ALL {
            assert_eq!(InterviewMode::parse(mode.as_str()), Ok(*mode));
        }
        let e = MessageKind::parse("song").expect_err("not a kind");
        assert!(e.0.contains("song"), "{e}");
    }

    #[test]
    fn the_interviewer_says_everything_but_answers() {
        for kind in MessageKind::ALL {
            let expected = if *kind == MessageKind::Answer {
                Speaker::Candidate
            } else {
                Speaker::Interviewer
            };
            assert_eq!(kind.speaker(), expected, "{kind}");
        }
        assert!(MessageKind::FollowUp.is_extra_turn() && !MessageKind::Question.is_extra_turn());
    }
}
