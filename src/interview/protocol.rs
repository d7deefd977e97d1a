//! The live interview's WebSocket protocol (v1) as types; `docs/protocol.md` is its reference.
//! Parsing never panics: anything a client can send maps to a message or to a
//! [`ProtocolError`] that becomes an `error` event.

use serde::{Deserialize, Serialize};

use super::feedback::TurnFeedback;
use super::interviews::{InterviewDetail, Message};
pub use crate::config::VoiceMode;
use crate::domain::MessageId;

/// Largest binary (audio) frame answered normally: about 2 s of 16 kHz PCM16.
pub const MAX_AUDIO_FRAME_BYTES: usize = 64 * 1024;
/// Largest text (JSON) frame.
pub const MAX_TEXT_FRAME_BYTES: usize = 16 * 1024;
/// Longest typed answer, in characters.
pub const MAX_TEXT_ANSWER_CHARS: usize = 4000;
/// Audio may arrive this many times faster than real time (a client catching up after a
/// network stall), after [`AUDIO_BURST_SECONDS`] of allowance.
pub const AUDIO_MAX_SPEED: f64 = 4.0;
pub const AUDIO_BURST_SECONDS: f64 = 2.0;

/// What the browser sends as text frames.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
/// Fields a message does not define are ignored (newer clients may send more).
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    Start,
    EndTurn,
    Text {
        text: String,
    },
    Interrupt,
    Finish,
    /// How the candidate ends a spoken answer.
    Mode {
        mode: InputMode,
    },
    /// Test-only: makes the session actor panic (accepted only when the server was built with
    /// `Settings::test_hooks`), to prove supervision.
    #[serde(rename = "debug_panic")]
    DebugPanic,
}

/// How spoken answers end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputMode {
    /// A pause (`turn_end_silence`) ends the answer; the default.
    HandsFree,
    /// Only `end_turn` (the talk button released) ends the answer: pauses never do.
    PushToTalk,
}

/// The interviewer's activity, as the browser shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveState {
    /// Not started, or over.
    Idle,
    Listening,
    Transcribing,
    Thinking,
    Speaking,
}

/// Why an interview ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Every planned question was asked and answered.
    Completed,
    /// The candidate sent `finish`.
    Finished,
    /// The time limit passed.
    TimeLimit,
}

/// The codes of `error` events: the one list of every client-visible code.
pub use crate::domain::ErrorCode;

/// What the server sends, as text frames.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    Ready {
        interview: Box<InterviewDetail>,
        state: LiveState,
        /// Who speaks the interviewer: `local` (this server, with `voice` events), `browser`
        /// or `off`.
        voice: VoiceMode,
    },
    State {
        state: LiveState,
    },
    SpeechStarted,
    Transcript {
        message: Message,
    },
    ReplyDelta {
        message_id: MessageId,
        text: String,
    },
    Reply {
        message: Message,
    },
    /// One sentence of an interviewer message in the interviewer's voice: 16-bit
    /// little-endian mono PCM at `sample_rate`, base64. Sentences come in order.
    Voice {
        message_id: MessageId,
        sentence: usize,
        text: String,
        sample_rate: u32,
        audio: String,
    },
    /// The message's voice is over: `sentences` were sent (fewer when `interrupted`).
    VoiceEnd {
        message_id: MessageId,
        sentences: usize,
        interrupted: bool,
    },
    /// Feedback on an answer, once assessed (after the interviewer's reply to it).
    Feedback {
        feedback: Box<TurnFeedback>,
    },
    /// The interview's report, once it is over (just before `ended`).
    Report {
        report: Box<super::report::Report>,
    },
    Ended {
        reason: EndReason,
    },
    Error {
        code: ErrorCode,
        message: String,
    },
}

impl ServerMsg {
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Error {
            code,
            message: message.into(),
        }
    }

    pub fn to_json(&self) -> String {
        // Serialising these types cannot fail (string keys, no non-finite floats written).
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!(r#"{{"type":"error","code":"internal","message":"cannot encode event: {e}"}}"#)
        })
    }
}

/// A client frame that is not a message of the protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("{0}")]
    InvalidMessage(String),
    #[error("text frames carry at most {MAX_TEXT_FRAME_BYTES} bytes")]
    TextTooLarge,
    #[error("audio frames carry at most {MAX_AUDIO_FRAME_BYTES} bytes")]
    AudioTooLarge,
    #[error("audio must be whole 16-bit samples (an even number of bytes), got {0} bytes")]
    OddAudio(usize),
}

impl ProtocolError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidMessage(_) | Self::TextTooLarge => ErrorCode::InvalidMessage,
            Self::AudioTooLarge => ErrorCode::FrameTooLarge,
            Self::OddAudio(_) => ErrorCode::InvalidAudio,
        }
    }
}

/// Parses a text frame.
pub fn parse_client_text(text: &str) -> Result<ClientMsg, ProtocolError> {
    if text.len() > MAX_TEXT_FRAME_BYTES {
        return Err(ProtocolError::TextTooLarge);
    }
    let message: ClientMsg = serde_json::from_str(text).map_err(|e| {
        ProtocolError::InvalidMessage(format!(
            "not a message of this protocol ({e}); see docs/protocol.md"
        ))
    })?;
    if let ClientMsg::Text { text } = &message {
        let chars = text.trim().chars().count();
        if chars == 0 {
            return Err(ProtocolError::InvalidMessage("text: empty answer".into()));
        }
        if chars > MAX_TEXT_ANSWER_CHARS {
            return Err(ProtocolError::InvalidMessage(format!(
                "text: at most {MAX_TEXT_ANSWER_CHARS} characters, got {chars}"
            )));
        }
    }
    Ok(message)
}

/// Decodes a binary frame of PCM16 LE mono 16 kHz into samples in [-1, 1].
pub fn decode_audio(bytes: &[u8]) -> Result<Vec<f32>, ProtocolError> {
    if bytes.len() > MAX_AUDIO_FRAME_BYTES {
        return Err(ProtocolError::AudioTooLarge);
    }
    if !bytes.len().is_multiple_of(2) {
        return Err(ProtocolError::OddAudio(bytes.len()));
    }
    Ok(bytes
        .chunks_exact(2)
        .map(|pair| f32::from(i16::from_le_bytes([pair[0], pair[1]])) / 32768.0)
        .collect())
}

/// Refuses audio that arrives faster than [`AUDIO_MAX_SPEED`] × real time.
#[derive(Debug, Clone)]
pub struct AudioPace {
    started: Option<std::time::Instant>,
    samples: u64,
}

impl Default for AudioPace {
    fn default() -> Self {
        Self::new()
    }
}

impl AudioPace {
    pub fn new() -> Self {
        Self {
            started: None,
            samples: 0,
        }
    }

    /// Whether `samples` more may be accepted at `now` (and counts them when they may).
    pub fn admit(&mut self, samples: usize, now: std::time::Instant) -> bool {
        let started = *self.started.get_or_insert(now);
        let elapsed = now.saturating_duration_since(started).as_secs_f64();
        let allowed = (AUDIO_BURST_SECONDS + AUDIO_MAX_SPEED * elapsed) * 16_000.0;
        let total = self.samples + samples as u64;
        if total as f64 > allowed {
            return false;
        }
        self.samples = total;
        true
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn parses_every_client_message() {
        assert_eq!(
            parse_client_text(r#"{"type":"start"}"#),
            Ok(ClientMsg::Start)
        );
        assert_eq!(
            parse_client_text(r#"{"type":"start","later":1}"#),
            Ok(ClientMsg::Start)
        );
        assert_eq!(
            parse_client_text(r#"{"type":"end_turn"}"#),
            Ok(ClientMsg::EndTurn)
        );
        assert_eq!(
            parse_client_text(r#"{"type":"text","text":"I used Redis."}"#),
            Ok(ClientMsg::Text {
                text: "I used Redis.".into()
            })
        );
        assert_eq!(
            parse_client_text(r#"{"type":"interrupt"}"#),
            Ok(ClientMsg::Interrupt)
        );
        assert_eq!(
            parse_client_text(r#"{"type":"finish"}"#),
            Ok(ClientMsg::Finish)
        );
        assert_eq!(
            parse_client_text(r#"{"type":"mode","mode":"push_to_talk"}"#),
            Ok(ClientMsg::Mode {
                mode: InputMode::PushToTalk
            })
        );
        assert!(parse_client_text(r#"{"type":"mode","mode":"telepathy"}"#).is_err());
    }

    #[test]
    fn rejects_what_is_not_a_message() {
        for bad in [
            "",
            "hello",
            "{",
            "[]",
            r#"{"type":"dance"}"#,
            r#"{"type":"text"}"#,
            r#"{"type":"text","text":42}"#,
            r#"{"type":"text","text":"   "}"#,
            r#"{"text":"no type"}"#,
        ] {
            let e = parse_client_text(bad).expect_err(bad);
            assert_eq!(e.code(), ErrorCode::InvalidMessage, "{bad}: {e}");
        }
        let long = format!(
            r#"{{"type":"text","text":"{}"}}"#,
            "a".repeat(MAX_TEXT_ANSWER_CHARS + 1)
        );
        assert!(parse_client_text(&long)
            .expect_err("too long")
            .to_string()
            .contains("at most 4000"));
        let huge = format!(r#"{{"type":"text","text":"{}"}}"#, "a".repeat(20_000));
        assert_eq!(parse_client_text(&huge), Err(ProtocolError::TextTooLarge));
    }

    #[test]
    fn decodes_pcm16_and_rejects_odd_or_huge_frames() {
        let samples = decode_audio(&[0x00, 0x80, 0xff, 0x7f, 0, 0]).expect("valid");
        assert_eq!(samples, vec![-1.0, 32767.0 / 32768.0, 0.0]);
        assert_eq!(decode_audio(&[1, 2, 3]), Err(ProtocolError::OddAudio(3)));
        assert_eq!(
            decode_audio(&vec![0; MAX_AUDIO_FRAME_BYTES + 2]),
            Err(ProtocolError::AudioTooLarge)
        );
        assert_eq!(decode_audio(&[]), Ok(Vec::new()));
    }

    #[test]
    fn audio_pace_allows_a_burst_then_four_times_real_time() {
        let t0 = Instant::now();
        let mut pace = AudioPace::new();
        assert!(pace.admit(32_000, t0), "2 s burst at once");
        assert!(!pace.admit(320, t0), "nothing more at the same instant");
        assert!(
            pace.admit(64_000, t0 + Duration::from_secs(1)),
            "4 s more after 1 s"
        );
        assert!(!pace.admit(16_000, t0 + Duration::from_secs(1)));
        // Real-time audio is always fine.
        let mut pace = AudioPace::new();
        for i in 0..500u64 {
            assert!(pace.admit(320, t0 + Duration::from_millis(20 * i)));
        }
    }

    #[test]
    fn server_messages_have_the_documented_shape() {
        let json = ServerMsg::error(ErrorCode::AudioTooFast, "slow down").to_json();
        assert_eq!(
            json,
            r#"{"type":"error","code":"audio_too_fast","message":"slow down"}"#
        );
        assert_eq!(
            ServerMsg::State {
                state: LiveState::Listening
            }
            .to_json(),
            r#"{"type":"state","state":"listening"}"#
        );
        assert_eq!(
            ServerMsg::Ended {
                reason: EndReason::TimeLimit
            }
            .to_json(),
            r#"{"type":"ended","reason":"time_limit"}"#
        );
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;
        use crate::fuzzing;

        const TYPES: [&str; 9] = [
            "start",
            "end_turn",
            "text",
            "interrupt",
            "finish",
            "mode",
            "debug_panic",
            "Start",
            "",
        ];

        /// A JSON value of any shape, a few levels deep.
        fn json_value() -> impl Strategy<Value = serde_json::Value> {
            let leaf = prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::from),
                any::<i64>().prop_map(serde_json::Value::from),
                any::<f64>().prop_map(serde_json::Value::from),
                ".{0,40}".prop_map(serde_json::Value::from),
                prop_oneof![Just("hands_free"), Just("push_to_talk")]
                    .prop_map(serde_json::Value::from),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..4)
                        .prop_map(serde_json::Value::Array),
                    proptest::collection::btree_map(".{0,8}", inner, 0..4)
                        .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
                ]
            })
        }

        /// An object that looks like a client message: a known (or wrong) `type` and fields
        /// of any shape, some named like the real ones.
        fn message_like() -> impl Strategy<Value = String> {
            let key = prop_oneof![Just("text".to_owned()), Just("mode".to_owned()), ".{0,8}"];
            (
                prop_oneof![
                    proptest::sample::select(TYPES.to_vec()).prop_map(serde_json::Value::from),
                    json_value(),
                ],
                proptest::collection::vec((key, json_value()), 0..4),
            )
                .prop_map(|(kind, fields)| {
                    let mut object = serde_json::Map::new();
                    object.insert("type".into(), kind);
                    object.extend(fields);
                    serde_json::Value::Object(object).to_string()
                })
        }

        fn valid_message() -> impl Strategy<Value = String> {
            prop_oneof![
                Just(r#"{"type":"start"}"#.to_owned()),
                Just(r#"{"type":"mode","mode":"push_to_talk"}"#.to_owned()),
                ".{1,60}".prop_map(|t| serde_json::json!({"type":"text","text":t}).to_string()),
            ]
        }

        /// What any text frame must lead to: a message, or an error with a reason and a code.
        fn check_text(frame: &str) -> Result<(), TestCaseError> {
            match parse_client_text(frame) {
                Ok(ClientMsg::Text { text }) => {
                    let chars = text.trim().chars().count();
                    prop_assert!(chars > 0 && chars <= MAX_TEXT_ANSWER_CHARS);
                }
                Ok(_) => prop_assert!(frame.len() <= MAX_TEXT_FRAME_BYTES),
                Err(e) => {
                    prop_assert!(!e.to_string().is_empty());
                    prop_assert_eq!(e.code(), ErrorCode::InvalidMessage);
                }
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(fuzzing::config(512))]

            #[test]
            fn any_text_frame_is_a_message_or_a_clear_error(frame in "\\PC{0,200}") {
                check_text(&frame)?;
            }

            #[test]
            fn message_shaped_json_is_a_message_or_a_clear_error(frame in message_like()) {
                check_text(&frame)?;
            }

            #[test]
            fn mutated_messages_are_messages_or_clear_errors(
                frame in valid_message().prop_flat_map(|m| fuzzing::mutated(m.into_bytes()))
            ) {
                check_text(&String::from_utf8_lossy(&frame))?;
            }

            #[test]
            fn long_frames_are_refused_by_size(extra in 1usize..64, fill in any::<char>()) {
                let body: String = std::iter::repeat_n(fill, MAX_TEXT_FRAME_BYTES + extra).collect();
                let frame = serde_json::json!({"type":"text","text":body}).to_string();
                prop_assert_eq!(parse_client_text(&frame), Err(ProtocolError::TextTooLarge));
            }

            #[test]
            fn audio_frames_decode_or_are_refused(
                frame in prop_oneof![
                    proptest::collection::vec(any::<u8>(), 0..512),
                    (MAX_AUDIO_FRAME_BYTES - 3..MAX_AUDIO_FRAME_BYTES + 4, any::<u8>())
                        .prop_map(|(len, byte)| vec![byte; len]),
                ]
            ) {
                match decode_audio(&frame) {
                    Ok(samples) => {
                        prop_assert!(frame.len() <= MAX_AUDIO_FRAME_BYTES);
                        prop_assert_eq!(samples.len() * 2, frame.len());
                        prop_assert!(samples.iter().all(|s| (-1.0..1.0).contains(s)));
                    }
                    Err(ProtocolError::AudioTooLarge) => {
                        prop_assert!(frame.len() > MAX_AUDIO_FRAME_BYTES)
                    }
                    Err(ProtocolError::OddAudio(n)) => {
                        prop_assert_eq!(n, frame.len());
                        prop_assert!(n % 2 == 1);
                    }
                    Err(other) => prop_assert!(false, "unexpected {other}"),
                }
            }

            #[test]
            fn audio_pace_never_admits_more_than_the_allowance(
                frames in proptest::collection::vec(
                    (0usize..=MAX_AUDIO_FRAME_BYTES / 2, 0u64..5_000),
                    1..64,
                )
            ) {
                let start = Instant::now();
                let mut pace = AudioPace::new();
                let (mut at, mut admitted) = (Duration::ZERO, 0u64);
                for (samples, gap_ms) in frames {
                    at += Duration::from_millis(gap_ms);
                    if pace.admit(samples, start + at) {
                        admitted += samples as u64;
                    }
                    let allowed =
                        (AUDIO_BURST_SECONDS + AUDIO_MAX_SPEED * at.as_secs_f64()) * 16_000.0;
                    prop_assert!(admitted as f64 <= allowed);
                }
            }
        }
    }
}
