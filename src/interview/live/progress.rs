//! Where an interview stands, derived from its stored messages alone, so a live session can be
//! rebuilt after a reconnect, a restart or a panic, on any node. Pure: no I/O.

use crate::db::interviews::MessageRow;
use crate::domain::MessageKind;

/// The interview's position in its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The planned question being discussed (1-based); `None` before the first one was asked.
    pub position: Option<i32>,
    /// Whether that question already had its follow-up, re-ask or clarification.
    pub follow_up_asked: bool,
    /// The interviewer said the closing words.
    pub closed: bool,
    /// The last message is an answer the interviewer has not replied to yet.
    pub awaiting_reply: bool,
    /// The `seq` the next message gets.
    pub next_seq: i32,
}

impl Progress {
    /// Reads the progress from the conversation, in `seq` order.
    pub fn of(messages: &[MessageRow]) -> Self {
        let mut progress = Self {
            position: None,
            follow_up_asked: false,
            closed: false,
            awaiting_reply: false,
            next_seq: 1,
        };
        for message in messages {
            progress.next_seq = progress.next_seq.max(message.seq + 1);
            let kind = message.kind;
            if kind == MessageKind::Answer {
                progress.awaiting_reply = true;
                continue;
            }
            progress.awaiting_reply = false;
            match kind {
                MessageKind::Question => {
                    progress.position = message.question_position.or(progress.position);
                    progress.follow_up_asked = false;
                }
                MessageKind::Closing => progress.closed = true,
                _ if kind.is_extra_turn() => progress.follow_up_asked = true,
                _ => {}
            }
        }
        progress
    }

    /// Takes the next `seq`.
    pub fn take_seq(&mut self) -> i32 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Records an interviewer turn of `kind` about planned question `position`.
    pub fn record_turn(&mut self, kind: MessageKind, position: Option<i32>) {
        self.awaiting_reply = false;
        match kind {
            MessageKind::Question => {
                self.position = position.or(self.position);
                self.follow_up_asked = false;
            }
            MessageKind::Closing => self.closed = true,
            MessageKind::Answer => self.awaiting_reply = true,
            _ => self.follow_up_asked = true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: i32, kind: MessageKind, position: Option<i32>) -> MessageRow {
        MessageRow {
            id: format!("m{seq}").into(),
            interview_id: "i".into(),
            seq,
            role: kind.speaker(),
            text: "…".into(),
            audio_ms: None,
            transcription_ms: None,
            generation_ms: None,
            interrupted: false,
            created_at: chrono::NaiveDateTime::default(),
            kind,
            question_position: position,
        }
    }

    #[test]
    fn a_new_interview_has_asked_nothing() {
        let p = Progress::of(&[]);
        assert_eq!(p.position, None);
        assert_eq!(p.next_seq, 1);
        assert!(!p.awaiting_reply && !p.closed && !p.follow_up_asked);
    }

    #[test]
    fn follows_questions_follow_ups_and_answers() {
        let mut messages = vec![
            row(1, MessageKind::Question, Some(1)),
            row(2, MessageKind::Answer, Some(1)),
            row(3, MessageKind::FollowUp, Some(1)),
        ];
        let p = Progress::of(&messages);
        assert_eq!(
            (p.position, p.follow_up_asked, p.awaiting_reply),
            (Some(1), true, false)
        );

        messages.push(row(4, MessageKind::Answer, Some(1)));
        let p = Progress::of(&messages);
        assert!(p.awaiting_reply, "the follow-up's answer has no reply yet");
        assert_eq!(p.next_seq, 5);

        messages.push(row(5, MessageKind::Question, Some(2)));
        let p = Progress::of(&messages);
        assert_eq!((p.position, p.follow_up_asked), (Some(2), false));

        messages.push(row(6, MessageKind::Answer, Some(2)));
        messages.push(row(7, MessageKind::Closing, Some(2)));
        let p = Progress::of(&messages);
        assert!(p.closed && !p.awaiting_reply);
    }

    #[test]
    fn recording_a_turn_matches_reading_it_back() {
        let mut live = Progress::of(&[]);
        let mut stored = Vec::new();
        for (kind, position) in [
            (MessageKind::Question, Some(1)),
            (MessageKind::Answer, Some(1)),
            (MessageKind::Reask, Some(1)),
            (MessageKind::Answer, Some(1)),
            (MessageKind::Question, Some(2)),
        ] {
            let seq = live.take_seq();
            live.record_turn(kind, position);
            stored.push(row(seq, kind, position));
            assert_eq!(Progress::of(&stored), live, "after {kind:?}");
        }
    }
}
