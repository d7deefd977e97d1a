//! The rules of one live interview, as a state machine: [`Event`]s in, [`Effect`]s out.
//!
//! Phases: loading (from the database) → not started → listening ⇄ busy (transcribing,
//! thinking, speaking) → over. The machine decides what to say, store and ask for; it does no
//! I/O and needs no actor, database or model, so every turn rule is a unit test
//! (`machine/tests.rs`). The session actor ([`super::InterviewSession`]) carries out the
//! effects and feeds their results back as events.
//!
//! Each piece of slow work (a write, a transcription, a reply) carries the `epoch` it was
//! started in; a restart or the end of the interview moves the epoch on, and a result of an
//! earlier epoch is dropped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;

use super::progress::Progress;
use super::CLOSE_NORMAL;
use crate::activity::ActivityKind;
use crate::db::{self, interviews::MessageRow};
use crate::domain::{InterviewId, InterviewStatus, MessageId, MessageKind, Speaker};
use crate::inference::InferenceError;
use crate::interview::conductor::{Move, Turn};
use crate::interview::feedback::TurnFeedback;
use crate::interview::interviews::{InterviewDetail, Message};
use crate::interview::prompts;
use crate::interview::protocol::{
    ClientMsg, EndReason, ErrorCode, InputMode, LiveState, ServerMsg, VoiceMode,
};
use crate::interview::report::Report;
use crate::speech::vad::{TurnDetector, TurnEvent, TurnSettings};

/// Silence after speech at which the answer may be ending (it ends at the `end_silence`
/// setting, 1.5 s by default), so background work pauses.
pub const MAY_BE_ENDING: Duration = Duration::from_millis(300);

/// Replies are sampled with seed `REPLY_SEED + seq of the reply`: the same answer at the same
/// place in an interview gets the same reply (reproducible runs and bug reports), while
/// different turns get different variety.
const REPLY_SEED: u64 = 42;

/// Samples of 16 kHz audio in one millisecond.
const SAMPLES_PER_MS: u64 = 16;

/// The interview as loaded from the database and kept up to date in memory.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// What `ready` sends: the interview, its questions and every stored message.
    pub detail: InterviewDetail,
    /// The planned questions' texts; position `p` is `questions[p - 1]`.
    pub questions: Vec<String>,
    /// Each planned question's rubric points, in the same order.
    pub rubrics: Vec<Vec<String>>,
    pub progress: Progress,
    /// What the candidate's resume says they did (hiring interviews with a resume).
    pub resume_highlights: Vec<String>,
}

/// What happened: a client message, audio, a timer, or the result of an [`Effect`].
#[derive(Debug)]
pub enum Event {
    /// The interview was read from the database.
    Loaded(Box<Loaded>),
    /// A connection attached (the first, a reconnect, or one taking over).
    Attached,
    /// The connection went away.
    Detached,
    Client(ClientMsg),
    /// 16 kHz mono samples from the connection.
    Audio(Vec<f32>),
    /// [`Effect::MarkStarted`] finished: the start time written, or why not.
    Started {
        epoch: u64,
        result: Result<NaiveDateTime, WriteFailure>,
    },
    /// [`Effect::Store`] finished.
    Stored {
        epoch: u64,
        then: AfterStore,
        result: Result<Message, WriteFailure>,
    },
    /// [`Effect::Transcribe`] finished.
    Transcribed {
        epoch: u64,
        took_ms: i64,
        result: Result<String, InferenceError>,
    },
    /// A piece of the reply the conductor has decided to say.
    ReplyPiece {
        epoch: u64,
        text: String,
    },
    /// [`Effect::Conduct`] finished (`None`: its thread failed).
    ReplyWritten {
        epoch: u64,
        turn: Option<Turn>,
    },
    /// The time limit armed by [`Effect::ArmTimeLimit`] passed.
    TimeUp {
        epoch: u64,
    },
    /// [`Effect::MarkEnded`] finished.
    EndMarked {
        reason: EndReason,
        at: NaiveDateTime,
        stored: bool,
    },
    /// [`Effect::Assess`] finished (`None`: it failed; the session logged why).
    Assessed(Option<TurnFeedback>),
    /// [`Effect::SettleReport`] finished (`None`: it failed; the session logged why).
    ReportSettled {
        reason: EndReason,
        report: Option<Box<Report>>,
    },
}

/// What the session should do.
#[derive(Debug)]
pub enum Effect {
    /// Send an event to the connection (dropped when none is attached).
    Send(ServerMsg),
    /// Write the interview's start (`in_progress`, started now); answer with [`Event::Started`].
    MarkStarted { epoch: u64 },
    /// Write a message; answer with [`Event::Stored`] carrying `then` back.
    Store {
        epoch: u64,
        row: MessageRow,
        then: AfterStore,
    },
    /// Transcribe an answer; answer with [`Event::Transcribed`].
    Transcribe { epoch: u64, audio: Vec<f32> },
    /// Let the conductor write the interviewer's turn; each piece it says comes back as
    /// [`Event::ReplyPiece`], the whole turn as [`Event::ReplyWritten`].
    Conduct { epoch: u64, request: ReplyRequest },
    /// Assess an answer and store its feedback; answer with [`Event::Assessed`]. Not tied to
    /// the epoch: the last answer's feedback is still wanted after the interview ended.
    Assess(AssessRequest),
    /// Send [`Event::TimeUp`] when `minutes` after `started_at` (`None`: now) have passed.
    ArmTimeLimit {
        epoch: u64,
        started_at: Option<NaiveDateTime>,
        minutes: i32,
    },
    /// Write the interview's end (`completed`); answer with [`Event::EndMarked`].
    MarkEnded { reason: EndReason },
    /// The interview ended with feedback still to come: let its waiting assessments go ahead of
    /// other interviews' (their candidates are not waiting on them).
    HurryFeedback,
    /// Settle the report (score and summary written); answer with [`Event::ReportSettled`].
    SettleReport { reason: EndReason },
    /// Announce to the job's followers.
    Publish(ActivityKind),
    /// Close the connection with this close code.
    Close { code: u16, reason: &'static str },
}

/// Why a write failed, as far as the candidate is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteFailure {
    /// The database cannot be reached: send it again in a moment.
    DatabaseUnavailable,
    Other,
}

/// What follows a stored message.
#[derive(Debug)]
pub enum AfterStore {
    /// The candidate's answer: show it and let the interviewer reply.
    Answer { spoken: Option<SpokenAnswer> },
    /// An interviewer message: send it, then listen again or end.
    Interviewer {
        kind: MessageKind,
        end: Option<EndReason>,
    },
}

/// The audio of a spoken answer, kept for its feedback.
#[derive(Clone)]
pub struct SpokenAnswer {
    pub audio: Vec<f32>,
    /// From the start of the candidate's turn to the first word.
    pub first_word_ms: u64,
}

impl std::fmt::Debug for SpokenAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpokenAnswer")
            .field("samples", &self.audio.len())
            .field("first_word_ms", &self.first_word_ms)
            .finish()
    }
}

/// What the conductor needs to write the interviewer's turn.
#[derive(Debug)]
pub struct ReplyRequest {
    pub question: String,
    pub answer: String,
    pub follow_up_asked: bool,
    /// `None` after the last planned question, or when the time is up.
    pub next_question: Option<String>,
    pub resume_highlights: Vec<String>,
    pub seed: u64,
    /// Set on barge-in: the conductor stops asking the model.
    pub cancelled: Arc<AtomicBool>,
}

/// An answer to assess, with its question and rubric.
#[derive(Debug)]
pub struct AssessRequest {
    pub message_id: MessageId,
    pub position: i32,
    pub question: String,
    pub rubric: Vec<String>,
    pub answer: String,
    pub spoken: Option<SpokenAnswer>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Loading,
    NotStarted,
    Listening,
    Busy(LiveState),
    Over,
}

/// The interviewer's reply being written.
#[derive(Debug)]
struct Reply {
    message_id: MessageId,
    /// The planned question the reply is about.
    position: i32,
    /// What has been sent as `reply_delta` so far.
    spoken: String,
    cancelled: Arc<AtomicBool>,
    started: Instant,
}

/// An answer waiting for its feedback (assessed once the interviewer has replied to it).
#[derive(Debug)]
struct PendingFeedback {
    message_id: MessageId,
    position: i32,
    answer: String,
    spoken: Option<SpokenAnswer>,
}

pub struct Machine {
    interview_id: InterviewId,
    turn: TurnSettings,
    /// Who speaks the interviewer (told to the page in `ready`).
    voice: VoiceMode,
    mode: InputMode,
    detector: TurnDetector,
    loaded: Option<Loaded>,
    phase: Phase,
    reply: Option<Reply>,
    epoch: u64,
    time_up: bool,
    /// Where the detector's stream stood when the candidate's turn began.
    listening_since_sample: u64,
    /// The answer being transcribed.
    heard: Option<SpokenAnswer>,
    pending_feedback: Option<PendingFeedback>,
    feedback_in_flight: usize,
    /// The interview is over; `ended` waits for the last answers' feedback.
    pending_end: Option<EndReason>,
    out: Vec<Effect>,
}

impl Machine {
    pub fn new(interview_id: InterviewId, turn: TurnSettings, voice: VoiceMode) -> Self {
        Self {
            interview_id,
            turn,
            voice,
            mode: InputMode::HandsFree,
            detector: TurnDetector::new(turn),
            loaded: None,
            phase: Phase::Loading,
            reply: None,
            epoch: 0,
            time_up: false,
            listening_since_sample: 0,
            heard: None,
            pending_feedback: None,
            feedback_in_flight: 0,
            pending_end: None,
            out: Vec::new(),
        }
    }

    /// Forgets everything but the input mode and the epoch (moved on, so late results of the
    /// old life are dropped), to be loaded again from the database.
    pub fn restart(&mut self) {
        if let Some(reply) = self.reply.take() {
            reply.cancelled.store(true, Ordering::Relaxed);
        }
        let epoch = self.epoch + 1;
        let mode = self.mode;
        *self = Self::new(self.interview_id.clone(), self.turn, self.voice);
        self.epoch = epoch;
        self.mode = mode;
        self.detector = TurnDetector::new(turn_settings(self.turn, mode));
    }

    pub fn handle(&mut self, event: Event) -> Vec<Effect> {
        match event {
            Event::Loaded(loaded) => self.loaded(*loaded),
            Event::Attached => self.send_ready(),
            // An answer half-spoken when the connection dropped is not an answer.
            Event::Detached => self.detector.reset(),
            Event::Client(message) => self.on_client(message),
            Event::Audio(samples) => self.on_audio(&samples),
            Event::Started { epoch, result } if epoch == self.epoch => self.started(result),
            Event::Stored {
                epoch,
                then,
                result,
            } if epoch == self.epoch => match result {
                Ok(message) => self.stored(message, then),
                Err(failure) => self.storage_failed(failure),
            },
            Event::Transcribed {
                epoch,
                took_ms,
                result,
            } if epoch == self.epoch => self.transcribed(took_ms, result),
            Event::ReplyPiece { epoch, text } if epoch == self.epoch => self.speak(&text),
            Event::ReplyWritten { epoch, turn } if epoch == self.epoch => match turn {
                Some(turn) => self.finish_reply(turn),
                None => {
                    self.reply = None;
                    self.send(ServerMsg::error(
                        ErrorCode::Internal,
                        "The interviewer could not reply; please answer again.",
                    ));
                    self.set_phase(Phase::Listening);
                }
            },
            Event::TimeUp { epoch } if epoch == self.epoch => self.time_up(),
            Event::EndMarked { reason, at, stored } => self.end_marked(reason, at, stored),
            Event::Assessed(feedback) => self.assessed(feedback),
            Event::ReportSettled { reason, report } => self.announce_end(reason, report),
            // A result of an earlier epoch: the interview moved on (finished, restarted).
            Event::Started { .. }
            | Event::Stored { .. }
            | Event::Transcribed { .. }
            | Event::ReplyPiece { .. }
            | Event::ReplyWritten { .. }
            | Event::TimeUp { .. } => {}
        }
        std::mem::take(&mut self.out)
    }

    /// Whether background work (assessments) should wait: while the candidate's answer has
    /// gone quiet long enough that it may be over (the piece in progress finishes during the
    /// rest of the end silence, and the transcription finds the gate free), and while the
    /// answer is being transcribed and replied to.
    pub fn wants_background_paused(&self) -> bool {
        match self.phase {
            Phase::Busy(_) => true,
            Phase::Listening => self.detector.trailing_silence() >= MAY_BE_ENDING,
            Phase::Loading | Phase::NotStarted | Phase::Over => false,
        }
    }

    /// What `ready` and `state` report.
    pub fn live_state(&self) -> LiveState {
        match self.phase {
            Phase::Loading | Phase::NotStarted | Phase::Over => LiveState::Idle,
            Phase::Listening => LiveState::Listening,
            Phase::Busy(state) => state,
        }
    }

    // ---- loading and connections --------------------------------------------------------

    fn loaded(&mut self, loaded: Loaded) {
        let interview = &loaded.detail.interview;
        self.phase = match interview.status {
            InterviewStatus::Pending => Phase::NotStarted,
            InterviewStatus::InProgress if loaded.progress.closed => Phase::Over,
            InterviewStatus::InProgress => Phase::Listening,
            _ => Phase::Over,
        };
        let started_at = (interview.status == InterviewStatus::InProgress)
            .then(|| interview.started_at.map(|t| t.naive_utc()));
        self.loaded = Some(loaded);
        if let Some(started_at) = started_at {
            self.arm_time_limit(started_at);
        }
        self.send_ready();
    }

    fn send_ready(&mut self) {
        if let Some(loaded) = &self.loaded {
            let ready = ServerMsg::Ready {
                interview: Box::new(loaded.detail.clone()),
                state: self.live_state(),
                voice: self.voice,
            };
            self.send(ready);
        }
    }

    fn send(&mut self, message: ServerMsg) {
        self.out.push(Effect::Send(message));
    }

    /// Changes the phase without telling the client (see [`Self::set_phase`]).
    fn enter(&mut self, phase: Phase) {
        self.phase = phase;
    }

    fn set_phase(&mut self, phase: Phase) {
        let before = self.live_state();
        self.enter(phase);
        if phase == Phase::Listening {
            self.detector.reset();
            self.listening_since_sample = self.detector.samples_received();
        }
        let now = self.live_state();
        if now != before {
            self.send(ServerMsg::State { state: now });
        }
    }

    // ---- client messages ----------------------------------------------------------------

    fn on_client(&mut self, message: ClientMsg) {
        match message {
            ClientMsg::Start => self.start(),
            ClientMsg::Text { text } => {
                if self.candidate_may_answer() {
                    self.answer(text.trim().to_owned(), None);
                }
            }
            ClientMsg::EndTurn => {
                if self.candidate_may_answer() {
                    let events = self.detector.end_turn();
                    self.on_turn_events(events);
                }
            }
            ClientMsg::Interrupt => {
                if let Some(reply) = &self.reply {
                    reply.cancelled.store(true, Ordering::Relaxed);
                }
            }
            ClientMsg::Finish => self.finish(),
            ClientMsg::Mode { mode } => {
                self.mode = mode;
                self.detector = TurnDetector::new(turn_settings(self.turn, mode));
            }
            // The session answers this itself when test hooks are on.
            ClientMsg::DebugPanic => self.send(ServerMsg::error(
                ErrorCode::InvalidMessage,
                "unknown message type `debug_panic`; see docs/protocol.md",
            )),
        }
    }

    /// Whether it is the candidate's turn; otherwise says why not.
    fn candidate_may_answer(&mut self) -> bool {
        let (code, text) = match self.phase {
            Phase::Listening => return true,
            Phase::NotStarted | Phase::Loading => (
                ErrorCode::NotStarted,
                "The interview has not started; send start first.",
            ),
            Phase::Over => (ErrorCode::InterviewOver, "The interview is over."),
            Phase::Busy(_) => (
                ErrorCode::NotYourTurn,
                "The interviewer is still replying; answer when it is listening again.",
            ),
        };
        self.send(ServerMsg::error(code, text));
        false
    }

    fn start(&mut self) {
        let Some(loaded) = &self.loaded else { return };
        match self.phase {
            Phase::NotStarted => {
                self.set_phase(Phase::Busy(LiveState::Thinking));
                self.out.push(Effect::MarkStarted { epoch: self.epoch });
            }
            Phase::Listening if self.time_up => self.close_for_time(),
            Phase::Listening if loaded.progress.position.is_none() => self.greet(),
            Phase::Listening if loaded.progress.awaiting_reply => {
                // The reply to the last answer was never stored (the server stopped, or the
                // database failed, before it was): reply now. The answer's feedback followed
                // that reply, so it is still owed too (without the audio, if the server
                // restarted: only the text was stored).
                let answer = loaded.detail.messages.last().cloned();
                let text = answer.as_ref().map(|m| m.text.clone()).unwrap_or_default();
                let assessed =
                    |id: &MessageId| loaded.detail.feedback.iter().any(|f| f.message_id == *id);
                if let Some(answer) = answer.filter(|m| !assessed(&m.id)) {
                    if self.pending_feedback.is_none() {
                        self.pending_feedback = Some(PendingFeedback {
                            position: answer.question_position.unwrap_or(1),
                            message_id: answer.id,
                            answer: answer.text,
                            spoken: None,
                        });
                    }
                }
                self.set_phase(Phase::Busy(LiveState::Thinking));
                self.conduct(text);
            }
            Phase::Over => self.send(ServerMsg::error(
                ErrorCode::InterviewOver,
                "The interview is over.",
            )),
            _ => self.send(ServerMsg::State {
                state: self.live_state(),
            }),
        }
    }

    fn started(&mut self, result: Result<NaiveDateTime, WriteFailure>) {
        let at = match result {
            Ok(at) => at,
            Err(failure) => return self.storage_failed(failure),
        };
        if let Some(loaded) = &mut self.loaded {
            loaded.detail.interview.status = InterviewStatus::InProgress;
            loaded.detail.interview.started_at = Some(at.and_utc());
        }
        self.arm_time_limit(Some(at));
        self.out.push(Effect::Publish(ActivityKind::Started));
        self.greet();
    }

    fn greet(&mut self) {
        let Some(first) = self.loaded.as_ref().and_then(|l| l.questions.first()) else {
            self.end(EndReason::Completed);
            return;
        };
        let text = format!("{} {first}", prompts::GREETING);
        self.say(text, MessageKind::Question, Some(1), None);
    }

    fn finish(&mut self) {
        if matches!(self.phase, Phase::Over | Phase::Loading) {
            self.send(ServerMsg::error(
                ErrorCode::InterviewOver,
                "The interview is over.",
            ));
            return;
        }
        // Whatever is in flight is abandoned: the candidate asked to stop.
        if let Some(reply) = self.reply.take() {
            reply.cancelled.store(true, Ordering::Relaxed);
        }
        self.epoch += 1;
        self.heard = None;
        if self.phase == Phase::NotStarted {
            self.end(EndReason::Finished);
            return;
        }
        let position = self.loaded.as_ref().and_then(|l| l.progress.position);
        self.set_phase(Phase::Busy(LiveState::Speaking));
        self.say(
            prompts::FINISHED_EARLY.to_owned(),
            MessageKind::Closing,
            position,
            Some(EndReason::Finished),
        );
    }

    // ---- listening ----------------------------------------------------------------------

    fn on_audio(&mut self, samples: &[f32]) {
        match self.phase {
            Phase::Listening => {
                let events = self.detector.push(samples);
                self.on_turn_events(events);
            }
            // The interviewer has the floor; barge-in is an explicit `interrupt`.
            Phase::Busy(_) | Phase::Loading => {}
            Phase::NotStarted => self.send(ServerMsg::error(
                ErrorCode::NotStarted,
                "Audio before the interview started was ignored; send start first.",
            )),
            Phase::Over => self.send(ServerMsg::error(
                ErrorCode::InterviewOver,
                "The interview is over.",
            )),
        }
    }

    fn on_turn_events(&mut self, events: Vec<TurnEvent>) {
        for event in events {
            match event {
                TurnEvent::SpeechStarted => self.send(ServerMsg::SpeechStarted),
                TurnEvent::TurnEnded {
                    audio,
                    start_sample,
                    ..
                } => {
                    // The turn's audio starts `pre_roll` before the first voiced frame.
                    let pre_roll = u64::try_from(self.turn.pre_roll.as_millis())
                        .unwrap_or(0)
                        .saturating_mul(SAMPLES_PER_MS);
                    let onset =
                        (start_sample + pre_roll).saturating_sub(self.listening_since_sample);
                    self.transcribe(audio, onset / SAMPLES_PER_MS);
                    // Audio after the end of this answer waits for the interviewer.
                    return;
                }
            }
        }
    }

    fn transcribe(&mut self, audio: Vec<f32>, first_word_ms: u64) {
        self.set_phase(Phase::Busy(LiveState::Transcribing));
        self.heard = Some(SpokenAnswer {
            audio: audio.clone(),
            first_word_ms,
        });
        self.out.push(Effect::Transcribe {
            epoch: self.epoch,
            audio,
        });
    }

    fn transcribed(&mut self, took_ms: i64, result: Result<String, InferenceError>) {
        let heard = self.heard.take();
        match result {
            // Noise or a breath that passed the detector: not an answer.
            Ok(text) if text.trim().is_empty() => self.set_phase(Phase::Listening),
            Ok(text) => self.answer(text.trim().to_owned(), heard.map(|h| (h, took_ms))),
            Err(error) => {
                let code = match error {
                    InferenceError::Busy(_) => ErrorCode::Busy,
                    _ => {
                        tracing::error!(error = %error, "speech recognition failed");
                        ErrorCode::Internal
                    }
                };
                self.send(ServerMsg::error(
                    code,
                    "Sorry, I could not hear that answer; please say it again.",
                ));
                self.set_phase(Phase::Listening);
            }
        }
    }

    /// Stores the candidate's answer (with its audio and transcription time when spoken);
    /// once stored it is shown and the interviewer replies.
    fn answer(&mut self, text: String, spoken: Option<(SpokenAnswer, i64)>) {
        let Some(loaded) = &mut self.loaded else {
            return;
        };
        let audio_ms = spoken
            .as_ref()
            .map(|(s, _)| i64::try_from(s.audio.len() as u64 / SAMPLES_PER_MS).unwrap_or(i64::MAX));
        let row = MessageRow {
            id: MessageId::random(),
            interview_id: self.interview_id.clone(),
            seq: loaded.progress.take_seq(),
            role: Speaker::Candidate,
            text,
            audio_ms,
            transcription_ms: spoken.as_ref().map(|(_, took_ms)| *took_ms),
            generation_ms: None,
            interrupted: false,
            created_at: db::now(),
            kind: MessageKind::Answer,
            question_position: loaded.progress.position,
        };
        self.enter(Phase::Busy(LiveState::Thinking));
        self.out.push(Effect::Store {
            epoch: self.epoch,
            row,
            then: AfterStore::Answer {
                spoken: spoken.map(|(s, _)| s),
            },
        });
    }

    fn stored(&mut self, message: Message, then: AfterStore) {
        if let Some(loaded) = &mut self.loaded {
            loaded.detail.messages.push(message.clone());
        }
        match then {
            AfterStore::Answer { spoken } => {
                if let Some(loaded) = &mut self.loaded {
                    loaded.progress.record_turn(MessageKind::Answer, None);
                }
                let text = message.text.clone();
                self.pending_feedback = Some(PendingFeedback {
                    message_id: message.id.clone(),
                    position: message.question_position.unwrap_or(1),
                    answer: message.text.clone(),
                    spoken,
                });
                self.send(ServerMsg::Transcript { message });
                self.out.push(Effect::Publish(ActivityKind::Answered));
                self.send(ServerMsg::State {
                    state: LiveState::Thinking,
                });
                self.conduct(text);
            }
            AfterStore::Interviewer { kind, end } => {
                if let Some(loaded) = &mut self.loaded {
                    loaded.progress.record_turn(kind, message.question_position);
                }
                self.send(ServerMsg::Reply { message });
                // The answer this turn replied to gets its feedback now, off the critical path.
                if let Some(pending) = self.pending_feedback.take() {
                    self.assess(pending);
                }
                match end {
                    Some(reason) => self.end(reason),
                    None if self.time_up => self.close_for_time(),
                    None => self.set_phase(Phase::Listening),
                }
            }
        }
    }

    fn storage_failed(&mut self, failure: WriteFailure) {
        tracing::error!(interview_id = %self.interview_id, ?failure, "could not store the interview's progress");
        self.reply = None;
        let (code, text) = match failure {
            WriteFailure::DatabaseUnavailable => (
                ErrorCode::DatabaseUnavailable,
                "The database is unavailable, so that was not saved; send it again in a moment.",
            ),
            WriteFailure::Other => (
                ErrorCode::Internal,
                "That could not be saved; please try again.",
            ),
        };
        self.send(ServerMsg::error(code, text));
        let asked = self
            .loaded
            .as_ref()
            .is_some_and(|l| l.progress.position.is_some());
        self.set_phase(if asked {
            Phase::Listening
        } else {
            Phase::NotStarted
        });
    }

    // ---- the interviewer ----------------------------------------------------------------

    /// Asks the conductor for the interviewer's turn after `answer`.
    fn conduct(&mut self, answer: String) {
        let Some(loaded) = &self.loaded else { return };
        let position = loaded.progress.position.unwrap_or(1);
        let index = usize::try_from(position.max(1) - 1).unwrap_or(0);
        let next_question = if self.time_up {
            None
        } else {
            loaded.questions.get(index + 1).cloned()
        };
        let cancelled = Arc::new(AtomicBool::new(false));
        let request = ReplyRequest {
            question: loaded.questions.get(index).cloned().unwrap_or_default(),
            answer,
            follow_up_asked: loaded.progress.follow_up_asked,
            next_question,
            resume_highlights: loaded.resume_highlights.clone(),
            seed: REPLY_SEED + u64::try_from(loaded.progress.next_seq).unwrap_or(0),
            cancelled: cancelled.clone(),
        };
        self.reply = Some(Reply {
            message_id: MessageId::random(),
            position,
            spoken: String::new(),
            cancelled,
            started: Instant::now(),
        });
        self.out.push(Effect::Conduct {
            epoch: self.epoch,
            request,
        });
    }

    /// Sends a piece of the reply being written (nothing once it was interrupted).
    fn speak(&mut self, text: &str) {
        let Some(reply) = &mut self.reply else { return };
        if reply.cancelled.load(Ordering::Relaxed) || text.is_empty() {
            return;
        }
        reply.spoken.push_str(text);
        let message_id = reply.message_id.clone();
        self.send_delta(message_id, text.to_owned());
    }

    fn send_delta(&mut self, message_id: MessageId, text: String) {
        if self.phase != Phase::Busy(LiveState::Speaking) {
            self.set_phase(Phase::Busy(LiveState::Speaking));
        }
        self.send(ServerMsg::ReplyDelta { message_id, text });
    }

    fn finish_reply(&mut self, turn: Turn) {
        let Some(reply) = &self.reply else { return };
        let interrupted = reply.cancelled.load(Ordering::Relaxed);
        if !interrupted {
            let rest = turn
                .text
                .strip_prefix(reply.spoken.as_str())
                .unwrap_or(&turn.text)
                .to_owned();
            // The acknowledgement and the question are separate sentences.
            let rest = if reply.spoken.is_empty() || rest.starts_with(' ') {
                rest
            } else {
                format!(" {}", rest.trim_start())
            };
            self.speak(&rest);
        }
        let Some(reply) = self.reply.take() else {
            return;
        };
        let kind = turn.action.message_kind();
        let position = match turn.action {
            Move::NextQuestion => reply.position + 1,
            _ => reply.position,
        };
        tracing::info!(
            action = ?turn.action, source = ?turn.source, interrupted,
            rejected = turn.rejected.len(), "interviewer turn"
        );
        let end = (turn.action == Move::Close).then_some(if self.time_up {
            EndReason::TimeLimit
        } else {
            EndReason::Completed
        });
        let text = if interrupted { reply.spoken } else { turn.text };
        let row = MessageRow {
            generation_ms: i64::try_from(reply.started.elapsed().as_millis()).ok(),
            interrupted,
            ..self.interviewer_row(reply.message_id, text, kind, Some(position))
        };
        self.store_interviewer(row, kind, end);
    }

    /// Says a fixed text as the interviewer (greeting, closing), then listens or ends.
    fn say(
        &mut self,
        text: String,
        kind: MessageKind,
        position: Option<i32>,
        end: Option<EndReason>,
    ) {
        let message_id = MessageId::random();
        if !text.is_empty() {
            self.send_delta(message_id.clone(), text.clone());
        }
        let row = self.interviewer_row(message_id, text, kind, position);
        self.store_interviewer(row, kind, end);
    }

    fn close_for_time(&mut self) {
        let position = self.loaded.as_ref().and_then(|l| l.progress.position);
        self.set_phase(Phase::Busy(LiveState::Speaking));
        self.say(
            prompts::TIME_UP.to_owned(),
            MessageKind::Closing,
            position,
            Some(EndReason::TimeLimit),
        );
    }

    fn interviewer_row(
        &mut self,
        id: MessageId,
        text: String,
        kind: MessageKind,
        position: Option<i32>,
    ) -> MessageRow {
        let seq = self
            .loaded
            .as_mut()
            .map_or(0, |loaded| loaded.progress.take_seq());
        MessageRow {
            id,
            interview_id: self.interview_id.clone(),
            seq,
            role: Speaker::Interviewer,
            text,
            audio_ms: None,
            transcription_ms: None,
            generation_ms: None,
            interrupted: false,
            created_at: db::now(),
            kind,
            question_position: position,
        }
    }

    fn store_interviewer(&mut self, row: MessageRow, kind: MessageKind, end: Option<EndReason>) {
        self.out.push(Effect::Store {
            epoch: self.epoch,
            row,
            then: AfterStore::Interviewer { kind, end },
        });
    }

    // ---- the end ------------------------------------------------------------------------

    /// Closes the interview when its time limit passes (counted from `started_at`).
    fn arm_time_limit(&mut self, started_at: Option<NaiveDateTime>) {
        if let Some(loaded) = &self.loaded {
            self.out.push(Effect::ArmTimeLimit {
                epoch: self.epoch,
                started_at,
                minutes: loaded.detail.interview.time_limit_minutes,
            });
        }
    }

    fn time_up(&mut self) {
        if self.phase == Phase::Over {
            return;
        }
        self.time_up = true;
        if self.phase == Phase::Listening {
            self.close_for_time();
        }
    }

    /// Marks the interview completed; `ended` follows once its last feedback is out.
    fn end(&mut self, reason: EndReason) {
        self.epoch += 1;
        self.set_phase(Phase::Over);
        self.out.push(Effect::MarkEnded { reason });
    }

    fn end_marked(&mut self, reason: EndReason, at: NaiveDateTime, stored: bool) {
        if let Some(loaded) = &mut self.loaded {
            loaded.detail.interview.status = InterviewStatus::Completed;
            loaded.detail.interview.completed_at = Some(at.and_utc());
        }
        if !stored {
            tracing::error!(interview_id = %self.interview_id, "could not mark the interview completed");
        }
        tracing::info!(interview_id = %self.interview_id, ?reason, "interview ended");
        if self.feedback_in_flight > 0 {
            self.pending_end = Some(reason);
            self.out.push(Effect::HurryFeedback);
        } else {
            self.out.push(Effect::SettleReport { reason });
        }
    }

    /// Sends the settled report, says the interview is over and closes the connection.
    fn announce_end(&mut self, reason: EndReason, report: Option<Box<Report>>) {
        if let Some(report) = report {
            self.send(ServerMsg::Report { report });
        }
        self.send(ServerMsg::Ended { reason });
        // After the report is settled, so followers read the final score.
        self.out.push(Effect::Publish(ActivityKind::Ended));
        self.out.push(Effect::Close {
            code: CLOSE_NORMAL,
            reason: "interview over",
        });
    }

    // ---- feedback -----------------------------------------------------------------------

    fn assess(&mut self, pending: PendingFeedback) {
        let Some(loaded) = &self.loaded else { return };
        let index = usize::try_from(pending.position.max(1) - 1).unwrap_or(0);
        self.feedback_in_flight += 1;
        self.out.push(Effect::Assess(AssessRequest {
            message_id: pending.message_id,
            position: pending.position,
            question: loaded.questions.get(index).cloned().unwrap_or_default(),
            rubric: loaded.rubrics.get(index).cloned().unwrap_or_default(),
            answer: pending.answer,
            spoken: pending.spoken,
        }));
    }

    fn assessed(&mut self, feedback: Option<TurnFeedback>) {
        self.feedback_in_flight = self.feedback_in_flight.saturating_sub(1);
        if let Some(feedback) = feedback {
            if let Some(loaded) = &mut self.loaded {
                loaded.detail.feedback.push(feedback.clone());
            }
            self.send(ServerMsg::Feedback {
                feedback: Box::new(feedback),
            });
        }
        if self.feedback_in_flight == 0 {
            if let Some(reason) = self.pending_end.take() {
                self.out.push(Effect::SettleReport { reason });
            }
        }
    }
}

/// How answers are cut in `mode`: in push-to-talk, silence never ends one (only `end_turn`, or
/// the longest answer, does).
fn turn_settings(settings: TurnSettings, mode: InputMode) -> TurnSettings {
    match mode {
        InputMode::HandsFree => settings,
        InputMode::PushToTalk => TurnSettings {
            end_silence: settings.max_answer,
            ..settings
        },
    }
}

#[cfg(test)]
mod tests;
