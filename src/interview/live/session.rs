//! The actor that holds one live interview.
//!
//! Phases: loading (from the database) → not started → listening ⇄ busy (transcribing,
//! thinking, speaking) → over. Slow work never runs here: transcription goes to the speech
//! worker, the conductor runs on a blocking thread and asks the LLM worker, and every database
//! write runs as its own task (so a write always finishes, even if the actor stops), while this
//! actor only awaits the result. Each piece of in-flight work carries the `epoch` it was started
//! in; a restart or the end of the interview moves the epoch on, and late results are dropped.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use chrono::NaiveDateTime;

use super::progress::{MessageKind, Progress};
use super::writer::{WorkerWriter, FOLLOW_UP_CONVERSATION};
use super::{Attach, Audio, Client, Detach, InvitesRevoked, SessionDeps, ToSocket};
use super::{CLOSE_INTERNAL, CLOSE_INVITE_ENDED, CLOSE_NORMAL, CLOSE_RECONNECT, CLOSE_TAKEN_OVER};
use crate::activity::ActivityKind;
use crate::db::interviews::MessageRow;
use crate::db::{self, DbError, DbPool};
use crate::domain::Invalid;
use crate::inference::{BackgroundPause, InferenceError};
use crate::interview::catalog::json_strings;
use crate::interview::conductor::{Conductor, Move, Turn, TurnInput};
use crate::interview::feedback::judge::Judge;
use crate::interview::feedback::{self, record};
use crate::interview::interviews::{
    self, feedback_shown, InterviewDetail, InterviewStatus, Message as StoredMessage,
    PlannedQuestion,
};
use crate::interview::prompts;
use crate::interview::protocol::{
    ClientMsg, EndReason, ErrorCode, InputMode, LiveState, ServerMsg,
};
use crate::speech::vad::{TurnDetector, TurnEvent, TurnSettings};

/// Silence after speech at which the answer may be ending (it ends at the `end_silence`
/// setting, 1.5 s by default), so background work pauses.
const MAY_BE_ENDING: Duration = Duration::from_millis(300);

#[derive(Debug, thiserror::Error)]
enum LiveError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("stored interview data is invalid: {0}")]
    Stored(#[from] Invalid),
}

/// The interview as loaded from the database and kept up to date in memory.
struct Loaded {
    /// What `ready` sends: the interview, its questions and every stored message.
    detail: InterviewDetail,
    /// The planned questions' texts; position `p` is `questions[p - 1]`.
    questions: Vec<String>,
    /// Each planned question's rubric points, in the same order.
    rubrics: Vec<Vec<String>>,
    progress: Progress,
    /// What the candidate's resume says they did (hiring interviews with a resume).
    resume_highlights: Vec<String>,
}

/// An answer waiting for its feedback (assessed once the interviewer has replied to it).
struct PendingFeedback {
    message_id: String,
    position: i32,
    answer: String,
    audio: Option<Vec<f32>>,
    time_to_first_word_ms: Option<u64>,
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
struct Reply {
    message_id: String,
    /// What has been sent as `reply_delta` so far.
    spoken: String,
    cancelled: Arc<AtomicBool>,
    started: Instant,
}

/// The connection the session talks to.
struct Connection {
    id: u64,
    socket: Recipient<ToSocket>,
    /// The invite it was opened with (a candidate's link), if any.
    invite_id: Option<String>,
}

impl Connection {
    /// Tells the client why, then closes the connection; its `Detach` follows.
    fn dismiss(&self, code: ErrorCode, message: &str, close: u16, reason: &str) {
        self.socket
            .do_send(ToSocket::Event(ServerMsg::error(code, message)));
        self.socket.do_send(ToSocket::Close {
            code: close,
            reason: reason.into(),
        });
    }
}

pub struct InterviewSession {
    interview_id: String,
    instance: u64,
    deps: Arc<SessionDeps>,
    socket: Option<Connection>,
    loaded: Option<Loaded>,
    phase: Phase,
    detector: TurnDetector,
    mode: InputMode,
    reply: Option<Reply>,
    /// Held while the candidate's answer may be ending and while it is being answered (a busy
    /// phase), so assessments wait for the reply.
    background_pause: Option<BackgroundPause>,
    epoch: u64,
    time_up: bool,
    grace_timer: Option<SpawnHandle>,
    /// Where the detector's stream stood when the candidate's turn began.
    listening_since_sample: u64,
    pending_feedback: Option<PendingFeedback>,
    feedback_in_flight: usize,
    /// The interview is over; `ended` waits for the last answers' feedback.
    pending_end: Option<EndReason>,
    /// Left the registry for good. The supervisor restarts a stopped actor while anything
    /// still holds its address (a socket closing, a worker thread); a retired one then stays
    /// idle until the last address drops, instead of reloading and acting on its own.
    retired: bool,
}

impl InterviewSession {
    pub fn new(interview_id: String, instance: u64, deps: Arc<SessionDeps>) -> Self {
        let detector = TurnDetector::new(deps.turn);
        Self {
            interview_id,
            instance,
            deps,
            socket: None,
            loaded: None,
            phase: Phase::Loading,
            detector,
            mode: InputMode::HandsFree,
            reply: None,
            background_pause: None,
            epoch: 0,
            time_up: false,
            grace_timer: None,
            listening_since_sample: 0,
            pending_feedback: None,
            feedback_in_flight: 0,
            pending_end: None,
            retired: false,
        }
    }

    // ---- loading ------------------------------------------------------------------------

    fn begin_load(&mut self, ctx: &mut Context<Self>) {
        let load = detached(load(self.deps.pool.clone(), self.interview_id.clone()));
        ctx.wait(load.into_actor(self).map(|result, act, ctx| match result {
            Some(Ok(loaded)) => act.loaded(loaded, ctx),
            Some(Err(e)) => {
                let unavailable = matches!(e, LiveError::Db(DbError::Unavailable(_)));
                act.load_failed(&e.to_string(), unavailable, ctx);
            }
            None => act.load_failed("the loading task failed", false, ctx),
        }));
    }

    fn loaded(&mut self, loaded: Loaded, ctx: &mut Context<Self>) {
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
            self.arm_time_limit(started_at, ctx);
        }
        self.send_ready();
    }

    fn load_failed(&mut self, reason: &str, database_unavailable: bool, ctx: &mut Context<Self>) {
        tracing::error!(interview_id = %self.interview_id, reason, "cannot load the interview");
        if let Some(connection) = self.socket.take() {
            let (code, text) = if database_unavailable {
                (
                    ErrorCode::DatabaseUnavailable,
                    "The interview could not be loaded: the database is unavailable. Try again in \
                     a moment.",
                )
            } else {
                (
                    ErrorCode::Internal,
                    "The interview could not be loaded; try again in a moment.",
                )
            };
            connection.dismiss(code, text, CLOSE_INTERNAL, "interview unavailable");
        }
        // The next connection tries again.
        self.retire(ctx);
    }

    /// Leaves the registry and stops for good (see `retired`).
    fn retire(&mut self, ctx: &mut Context<Self>) {
        self.deps.registry.remove(&self.interview_id, self.instance);
        self.retired = true;
        ctx.stop();
    }

    fn send_ready(&self) {
        if let Some(loaded) = &self.loaded {
            self.send(ServerMsg::Ready {
                interview: Box::new(loaded.detail.clone()),
                state: self.live_state(),
            });
        }
    }

    // ---- connections --------------------------------------------------------------------

    fn attach(
        &mut self,
        connection: u64,
        socket: Recipient<ToSocket>,
        invite_id: Option<String>,
        ctx: &mut Context<Self>,
    ) {
        if self.retired {
            // Found in the registry just before this session left it: the client reconnects
            // and gets a fresh session.
            socket.do_send(ToSocket::Close {
                code: CLOSE_RECONNECT,
                reason: "session closing; reconnect".into(),
            });
            return;
        }
        if let Some(timer) = self.grace_timer.take() {
            ctx.cancel_future(timer);
        }
        let current = Connection {
            id: connection,
            socket,
            invite_id,
        };
        if let Some(previous) = self.socket.replace(current) {
            if previous.id != connection {
                previous.dismiss(
                    ErrorCode::TakenOver,
                    "This interview was opened in another window.",
                    CLOSE_TAKEN_OVER,
                    "taken over by another connection",
                );
            }
        }
        self.send_ready();
    }

    fn detach(&mut self, connection: u64, ctx: &mut Context<Self>) {
        if !self.is_current(connection) {
            return;
        }
        self.socket = None;
        // An answer half-spoken when the connection dropped is not an answer.
        self.detector.reset();
        self.pause_background_if_ending();
        self.arm_grace(ctx);
    }

    /// Retires the session after `grace` unless a connection is attached by then.
    fn arm_grace(&mut self, ctx: &mut Context<Self>) {
        let grace = self.deps.grace;
        self.grace_timer = Some(ctx.run_later(grace, |act, ctx| {
            if act.socket.is_none() {
                tracing::info!(interview_id = %act.interview_id, "live session closed after its grace period");
                act.retire(ctx);
            }
        }));
    }

    fn is_current(&self, connection: u64) -> bool {
        self.socket.as_ref().is_some_and(|c| c.id == connection)
    }

    fn send(&self, message: ServerMsg) {
        if let Some(connection) = &self.socket {
            connection.socket.do_send(ToSocket::Event(message));
        }
    }

    /// Changes the phase without telling the client (see [`Self::set_phase`]).
    fn enter(&mut self, phase: Phase) {
        self.phase = phase;
        match phase {
            Phase::Busy(_) if self.background_pause.is_none() => {
                self.background_pause = Some(self.deps.engines.gate.pause_background());
            }
            Phase::Busy(_) => {}
            _ => self.background_pause = None,
        }
    }

    fn live_state(&self) -> LiveState {
        match self.phase {
            Phase::Loading | Phase::NotStarted | Phase::Over => LiveState::Idle,
            Phase::Listening => LiveState::Listening,
            Phase::Busy(state) => state,
        }
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

    fn on_client(&mut self, message: ClientMsg, ctx: &mut Context<Self>) {
        match message {
            ClientMsg::Start => self.start(ctx),
            ClientMsg::Text { text } => {
                if self.candidate_may_answer() {
                    self.answer(text.trim().to_owned(), None, ctx);
                }
            }
            ClientMsg::EndTurn => {
                if self.candidate_may_answer() {
                    let events = self.detector.end_turn();
                    self.on_turn_events(events, ctx);
                    self.pause_background_if_ending();
                }
            }
            ClientMsg::Interrupt => {
                if let Some(reply) = &self.reply {
                    reply.cancelled.store(true, Ordering::Relaxed);
                }
            }
            ClientMsg::Finish => self.finish(ctx),
            ClientMsg::Mode { mode } => {
                self.mode = mode;
                self.detector = TurnDetector::new(turn_settings(self.deps.turn, mode));
                self.pause_background_if_ending();
            }
            ClientMsg::DebugPanic if self.deps.test_hooks => {
                panic!("debug_panic: the test-only hook was asked to crash the session")
            }
            ClientMsg::DebugPanic => self.send(ServerMsg::error(
                ErrorCode::InvalidMessage,
                "unknown message type `debug_panic`; see docs/protocol.md",
            )),
        }
    }

    /// Whether it is the candidate's turn; otherwise says why not.
    fn candidate_may_answer(&self) -> bool {
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

    fn start(&mut self, ctx: &mut Context<Self>) {
        let Some(loaded) = &self.loaded else { return };
        match self.phase {
            Phase::NotStarted => {
                let now = db::now();
                let pool = self.deps.pool.clone();
                let id = self.interview_id.clone();
                let epoch = self.epoch;
                self.set_phase(Phase::Busy(LiveState::Thinking));
                let mark = detached(async move {
                    let mut conn = pool.get().await?;
                    db::interviews::mark_started(&mut conn, &id, now).await
                });
                ctx.spawn(mark.into_actor(self).map(move |result, act, ctx| {
                    if act.epoch != epoch {
                        return;
                    }
                    match result {
                        Some(Ok(_)) => {
                            if let Some(loaded) = &mut act.loaded {
                                loaded.detail.interview.status = InterviewStatus::InProgress;
                                loaded.detail.interview.started_at = Some(now.and_utc());
                            }
                            act.arm_time_limit(Some(now), ctx);
                            act.deps
                                .activity
                                .publish(&act.interview_id, ActivityKind::Started);
                            act.greet(ctx);
                        }
                        other => act.storage_failed(other.and_then(Result::err), ctx),
                    }
                }));
            }
            Phase::Listening if self.time_up => self.close_for_time(ctx),
            Phase::Listening if loaded.progress.position.is_none() => self.greet(ctx),
            Phase::Listening if loaded.progress.awaiting_reply => {
                // The reply to the last answer was never stored (the server stopped, or the
                // database failed, before it was): reply now. The answer's feedback followed
                // that reply, so it is still owed too (without the audio, if the server
                // restarted: only the text was stored).
                let answer = loaded.detail.messages.last().cloned();
                let text = answer.as_ref().map(|m| m.text.clone()).unwrap_or_default();
                let assessed = |id: &str| loaded.detail.feedback.iter().any(|f| f.message_id == id);
                if let Some(answer) = answer.filter(|m| !assessed(&m.id)) {
                    if self.pending_feedback.is_none() {
                        self.pending_feedback = Some(PendingFeedback {
                            position: answer.question_position.unwrap_or(1),
                            message_id: answer.id,
                            answer: answer.text,
                            audio: None,
                            time_to_first_word_ms: None,
                        });
                    }
                }
                self.set_phase(Phase::Busy(LiveState::Thinking));
                self.conduct(text, ctx);
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

    fn greet(&mut self, ctx: &mut Context<Self>) {
        let Some(first) = self.loaded.as_ref().and_then(|l| l.questions.first()) else {
            self.end(EndReason::Completed, ctx);
            return;
        };
        let text = format!("{} {first}", prompts::GREETING);
        self.say(text, MessageKind::Question, Some(1), None, ctx);
    }

    fn finish(&mut self, ctx: &mut Context<Self>) {
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
        if self.phase == Phase::NotStarted {
            self.end(EndReason::Finished, ctx);
            return;
        }
        let position = self.loaded.as_ref().and_then(|l| l.progress.position);
        self.set_phase(Phase::Busy(LiveState::Speaking));
        self.say(
            prompts::FINISHED_EARLY.to_owned(),
            MessageKind::Closing,
            position,
            Some(EndReason::Finished),
            ctx,
        );
    }

    // ---- listening ----------------------------------------------------------------------

    fn on_audio(&mut self, samples: &[f32], ctx: &mut Context<Self>) {
        match self.phase {
            Phase::Listening => {
                let events = self.detector.push(samples);
                self.pause_background_if_ending();
                self.on_turn_events(events, ctx);
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

    /// While the candidate's answer has gone quiet long enough that it may be over, background
    /// work pauses: the piece in progress finishes during the rest of the end silence, and the
    /// transcription finds the gate free when the turn ends. Speech again lifts the pause.
    fn pause_background_if_ending(&mut self) {
        if self.phase != Phase::Listening {
            return; // a busy phase holds its own pause
        }
        if self.detector.trailing_silence() >= MAY_BE_ENDING {
            if self.background_pause.is_none() {
                self.background_pause = Some(self.deps.engines.gate.pause_background());
            }
        } else {
            self.background_pause = None;
        }
    }

    fn on_turn_events(&mut self, events: Vec<TurnEvent>, ctx: &mut Context<Self>) {
        for event in events {
            match event {
                TurnEvent::SpeechStarted => self.send(ServerMsg::SpeechStarted),
                TurnEvent::TurnEnded {
                    audio,
                    start_sample,
                    ..
                } => {
                    // The turn's audio starts `pre_roll` before the first voiced frame.
                    let pre_roll = u64::try_from(self.deps.turn.pre_roll.as_millis())
                        .unwrap_or(0)
                        .saturating_mul(16);
                    let onset =
                        (start_sample + pre_roll).saturating_sub(self.listening_since_sample);
                    self.transcribe(audio, onset / 16, ctx);
                    // Audio after the end of this answer waits for the interviewer.
                    return;
                }
            }
        }
    }

    fn transcribe(&mut self, audio: Vec<f32>, first_word_ms: u64, ctx: &mut Context<Self>) {
        self.set_phase(Phase::Busy(LiveState::Transcribing));
        let audio_ms = i64::try_from(audio.len() / 16).unwrap_or(i64::MAX);
        let kept = audio.clone();
        let speech = self.deps.engines.speech.clone();
        let epoch = self.epoch;
        let started = Instant::now();
        let work = async move { speech.transcribe(audio).await };
        ctx.spawn(work.into_actor(self).map(move |result, act, ctx| {
            if act.epoch != epoch {
                return;
            }
            let took = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
            match result {
                Ok(transcript) if transcript.text.trim().is_empty() => {
                    // Noise or a breath that passed the detector: not an answer.
                    act.set_phase(Phase::Listening);
                }
                Ok(transcript) => act.answer(
                    transcript.text.trim().to_owned(),
                    Some(Spoken {
                        audio: kept,
                        audio_ms,
                        transcription_ms: took,
                        first_word_ms,
                    }),
                    ctx,
                ),
                Err(e) => {
                    act.model_failed(
                        &e,
                        "Sorry, I could not hear that answer; please say it again.",
                    );
                }
            }
        }));
    }

    /// Stores the candidate's answer, shows it, and lets the interviewer reply.
    fn answer(&mut self, text: String, spoken: Option<Spoken>, ctx: &mut Context<Self>) {
        if self.loaded.is_none() {
            return;
        }
        self.enter(Phase::Busy(LiveState::Thinking));
        let Some(loaded) = &mut self.loaded else {
            return;
        };
        let row = MessageRow {
            id: uuid::Uuid::new_v4().to_string(),
            interview_id: self.interview_id.clone(),
            seq: loaded.progress.take_seq(),
            role: "candidate".into(),
            text: text.clone(),
            audio_ms: spoken.as_ref().map(|s| s.audio_ms),
            transcription_ms: spoken.as_ref().map(|s| s.transcription_ms),
            generation_ms: None,
            interrupted: false,
            created_at: db::now(),
            kind: MessageKind::Answer.as_str().into(),
            question_position: loaded.progress.position,
        };
        let position = loaded.progress.position.unwrap_or(1);
        self.store(row, ctx, move |act, ctx, message| {
            if let Some(loaded) = &mut act.loaded {
                loaded.progress.record_turn(MessageKind::Answer, None);
            }
            act.pending_feedback = Some(PendingFeedback {
                message_id: message.id.clone(),
                position,
                answer: message.text.clone(),
                time_to_first_word_ms: spoken.as_ref().map(|s| s.first_word_ms),
                audio: spoken.map(|s| s.audio),
            });
            act.send(ServerMsg::Transcript { message });
            act.deps
                .activity
                .publish(&act.interview_id, ActivityKind::Answered);
            act.send(ServerMsg::State {
                state: LiveState::Thinking,
            });
            act.conduct(text, ctx);
        });
    }

    // ---- the interviewer ----------------------------------------------------------------

    /// Lets the conductor write the interviewer's turn after `answer` (on a blocking thread).
    fn conduct(&mut self, answer: String, ctx: &mut Context<Self>) {
        let Some(loaded) = &self.loaded else { return };
        let position = loaded.progress.position.unwrap_or(1);
        let index = usize::try_from(position.max(1) - 1).unwrap_or(0);
        let question = loaded.questions.get(index).cloned().unwrap_or_default();
        let next_question = if self.time_up {
            None
        } else {
            loaded.questions.get(index + 1).cloned()
        };
        let follow_up_asked = loaded.progress.follow_up_asked;
        let resume_highlights = loaded.resume_highlights.clone();
        let seed = 42 + u64::try_from(loaded.progress.next_seq).unwrap_or(0);

        let message_id = uuid::Uuid::new_v4().to_string();
        let cancelled = Arc::new(AtomicBool::new(false));
        self.reply = Some(Reply {
            message_id: message_id.clone(),
            spoken: String::new(),
            cancelled: cancelled.clone(),
            started: Instant::now(),
        });
        let epoch = self.epoch;
        let llm = self.deps.engines.llm.clone();
        let me = ctx.address();
        let span = tracing::Span::current();
        let work = actix_web::rt::task::spawn_blocking(move || {
            let _span = span.entered();
            let writer = WorkerWriter::new(llm, FOLLOW_UP_CONVERSATION, cancelled);
            let mut conductor = Conductor::new(writer, seed);
            let input = TurnInput {
                question: &question,
                answer: &answer,
                follow_up_asked,
                next_question: next_question.as_deref(),
                resume_highlights: &resume_highlights,
            };
            conductor.next_turn_speaking(&input, &mut |text| {
                me.do_send(Say {
                    epoch,
                    text: text.to_owned(),
                })
            })
        });
        ctx.spawn(work.into_actor(self).map(move |result, act, ctx| {
            if act.epoch != epoch {
                return;
            }
            match result {
                Ok(turn) => act.finish_reply(turn, position, ctx),
                Err(e) => {
                    tracing::error!(error = %e, "the conductor's thread failed");
                    act.reply = None;
                    act.send(ServerMsg::error(
                        ErrorCode::Internal,
                        "The interviewer could not reply; please answer again.",
                    ));
                    act.set_phase(Phase::Listening);
                }
            }
        }));
    }

    /// Sends a piece of the reply being written.
    fn speak(&mut self, text: &str) {
        let Some(reply) = &mut self.reply else { return };
        if reply.cancelled.load(Ordering::Relaxed) || text.is_empty() {
            return;
        }
        let message_id = reply.message_id.clone();
        reply.spoken.push_str(text);
        if self.phase != Phase::Busy(LiveState::Speaking) {
            self.set_phase(Phase::Busy(LiveState::Speaking));
        }
        self.send(ServerMsg::ReplyDelta {
            message_id,
            text: text.to_owned(),
        });
    }

    fn finish_reply(&mut self, turn: Turn, position: i32, ctx: &mut Context<Self>) {
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
        let kind = MessageKind::of_move(turn.action);
        let position = match turn.action {
            Move::NextQuestion => position + 1,
            _ => position,
        };
        let text = if interrupted { reply.spoken } else { turn.text };
        let generation_ms = i64::try_from(reply.started.elapsed().as_millis()).ok();
        tracing::info!(
            action = ?turn.action, source = ?turn.source, interrupted,
            rejected = turn.rejected.len(), "interviewer turn"
        );
        let end = (turn.action == Move::Close).then_some(if self.time_up {
            EndReason::TimeLimit
        } else {
            EndReason::Completed
        });
        let row = self.interviewer_row(reply.message_id, text, kind, Some(position));
        self.store_interviewer(
            MessageRow {
                generation_ms,
                interrupted,
                ..row
            },
            kind,
            end,
            ctx,
        );
    }

    /// Says a fixed text as the interviewer (greeting, closing), then listens or ends.
    fn say(
        &mut self,
        text: String,
        kind: MessageKind,
        position: Option<i32>,
        end: Option<EndReason>,
        ctx: &mut Context<Self>,
    ) {
        let message_id = uuid::Uuid::new_v4().to_string();
        self.reply = Some(Reply {
            message_id: message_id.clone(),
            spoken: String::new(),
            cancelled: Arc::new(AtomicBool::new(false)),
            started: Instant::now(),
        });
        self.speak(&text);
        self.reply = None;
        let row = self.interviewer_row(message_id, text, kind, position);
        self.store_interviewer(row, kind, end, ctx);
    }

    fn close_for_time(&mut self, ctx: &mut Context<Self>) {
        let position = self.loaded.as_ref().and_then(|l| l.progress.position);
        self.set_phase(Phase::Busy(LiveState::Speaking));
        self.say(
            prompts::TIME_UP.to_owned(),
            MessageKind::Closing,
            position,
            Some(EndReason::TimeLimit),
            ctx,
        );
    }

    fn interviewer_row(
        &mut self,
        id: String,
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
            role: "interviewer".into(),
            text,
            audio_ms: None,
            transcription_ms: None,
            generation_ms: None,
            interrupted: false,
            created_at: db::now(),
            kind: kind.as_str().into(),
            question_position: position,
        }
    }

    /// Stores an interviewer message, sends `reply`, then listens again (or ends).
    fn store_interviewer(
        &mut self,
        row: MessageRow,
        kind: MessageKind,
        end: Option<EndReason>,
        ctx: &mut Context<Self>,
    ) {
        let position = row.question_position;
        self.store(row, ctx, move |act, ctx, message| {
            if let Some(loaded) = &mut act.loaded {
                loaded.progress.record_turn(kind, position);
            }
            act.send(ServerMsg::Reply { message });
            // The answer this turn replied to gets its feedback now, off the critical path.
            if let Some(pending) = act.pending_feedback.take() {
                act.assess(pending, ctx);
            }
            match end {
                Some(reason) => act.end(reason, ctx),
                None if act.time_up => act.close_for_time(ctx),
                None => act.set_phase(Phase::Listening),
            }
        });
    }

    // ---- the end ------------------------------------------------------------------------

    /// Closes the interview when its time limit passes (counted from `started_at`).
    fn arm_time_limit(&mut self, started_at: Option<NaiveDateTime>, ctx: &mut Context<Self>) {
        if let Some(loaded) = &self.loaded {
            let minutes = loaded.detail.interview.time_limit_minutes;
            self.schedule_time_up(started_at, minutes, ctx);
        }
    }

    fn schedule_time_up(
        &mut self,
        started_at: Option<NaiveDateTime>,
        minutes: i32,
        ctx: &mut Context<Self>,
    ) {
        let started_at = started_at.unwrap_or_else(db::now);
        let limit = chrono::Duration::minutes(i64::from(minutes.max(1)));
        let left = (started_at + limit - db::now())
            .to_std()
            .unwrap_or(Duration::ZERO);
        let epoch = self.epoch;
        ctx.run_later(left, move |act, ctx| {
            if act.epoch != epoch || act.phase == Phase::Over {
                return;
            }
            act.time_up = true;
            if act.phase == Phase::Listening {
                act.close_for_time(ctx);
            }
        });
    }

    /// Marks the interview completed, says so, and closes the connection.
    fn end(&mut self, reason: EndReason, ctx: &mut Context<Self>) {
        self.epoch += 1;
        self.set_phase(Phase::Over);
        let pool = self.deps.pool.clone();
        let id = self.interview_id.clone();
        let now = db::now();
        let mark = detached(async move {
            let mut conn = pool.get().await?;
            db::interviews::mark_ended(&mut conn, &id, InterviewStatus::Completed.as_str(), now)
                .await
        });
        ctx.spawn(mark.into_actor(self).map(move |result, act, ctx| {
            if let Some(loaded) = &mut act.loaded {
                loaded.detail.interview.status = InterviewStatus::Completed;
                loaded.detail.interview.completed_at = Some(now.and_utc());
            }
            if !matches!(result, Some(Ok(_))) {
                tracing::error!(interview_id = %act.interview_id, "could not mark the interview completed");
            }
            tracing::info!(interview_id = %act.interview_id, ?reason, "interview ended");
            if act.feedback_in_flight > 0 {
                act.pending_end = Some(reason);
            } else {
                act.announce_end(reason, ctx);
            }
        }));
    }

    /// Settles the report (score and summary written to the interview), sends it, says the
    /// interview is over and closes the connection.
    fn announce_end(&mut self, reason: EndReason, ctx: &mut Context<Self>) {
        let pool = self.deps.pool.clone();
        let id = self.interview_id.clone();
        let settle = detached(async move { interviews::settle_report(&pool, &id).await });
        ctx.spawn(settle.into_actor(self).map(move |result, act, _ctx| {
            match result {
                Some(Ok(report)) => act.send(ServerMsg::Report {
                    report: Box::new(report),
                }),
                Some(Err(e)) => tracing::error!(error = %e, "the interview's report failed"),
                None => tracing::error!("the interview's report task failed"),
            }
            act.send(ServerMsg::Ended { reason });
            // After the report is settled, so followers read the final score.
            act.deps
                .activity
                .publish(&act.interview_id, ActivityKind::Ended);
            if let Some(Connection { socket, .. }) = &act.socket {
                socket.do_send(ToSocket::Close {
                    code: CLOSE_NORMAL,
                    reason: "interview over".into(),
                });
            }
        }));
    }

    // ---- feedback -----------------------------------------------------------------------

    /// Measures and assesses an answer on a blocking thread (the sentence encoder takes the
    /// compute gate one text at a time, so a follow-up is never stuck behind it), stores the
    /// feedback, and sends it. Not tied to the epoch: the feedback of the
    /// last answer is still wanted after the interview ended.
    fn assess(&mut self, pending: PendingFeedback, ctx: &mut Context<Self>) {
        let Some(loaded) = &self.loaded else { return };
        let index = usize::try_from(pending.position.max(1) - 1).unwrap_or(0);
        let question = loaded.questions.get(index).cloned().unwrap_or_default();
        let rubric = loaded.rubrics.get(index).cloned().unwrap_or_default();
        let encoder = self.deps.engines.encoder.clone();
        let judge = self.deps.engines.judge.clone();
        let pool = self.deps.pool.clone();
        let interview_id = self.interview_id.clone();
        self.feedback_in_flight += 1;
        let span = tracing::Span::current();
        let work = async move {
            let shown_rubric = rubric.clone();
            let row = actix_web::rt::task::spawn_blocking(move || {
                let _span = span.entered();
                let delivery = feedback::measure(
                    &pending.answer,
                    pending.audio.as_deref(),
                    pending.time_to_first_word_ms,
                );
                let assessment = feedback::assess(
                    &encoder,
                    judge.as_ref().map(|j| j as &dyn Judge),
                    &question,
                    &rubric,
                    &pending.answer,
                );
                record::to_row(
                    &interview_id,
                    &pending.message_id,
                    pending.position,
                    &assessment,
                    &delivery,
                )
            })
            .await
            .map_err(|e| e.to_string())?;
            let mut conn = pool.get().await.map_err(|e| e.to_string())?;
            db::feedback::insert(&mut conn, &row)
                .await
                .map_err(|e| e.to_string())?;
            record::from_row(row, &shown_rubric).map_err(|e| e.to_string())
        };
        ctx.spawn(detached(work).into_actor(self).map(|result, act, ctx| {
            act.feedback_in_flight = act.feedback_in_flight.saturating_sub(1);
            match result {
                Some(Ok(feedback)) => {
                    if let Some(loaded) = &mut act.loaded {
                        loaded.detail.feedback.push(feedback.clone());
                    }
                    act.send(ServerMsg::Feedback {
                        feedback: Box::new(feedback),
                    });
                }
                Some(Err(e)) => tracing::error!(error = %e, "the answer's feedback failed"),
                None => tracing::error!("the answer's feedback task failed"),
            }
            if act.feedback_in_flight == 0 {
                if let Some(reason) = act.pending_end.take() {
                    act.announce_end(reason, ctx);
                }
            }
        }));
    }

    // ---- plumbing -----------------------------------------------------------------------

    /// Stores a message as its own task, then (if nothing moved on meanwhile) runs `then`.
    fn store(
        &mut self,
        row: MessageRow,
        ctx: &mut Context<Self>,
        then: impl FnOnce(&mut Self, &mut Context<Self>, StoredMessage) + 'static,
    ) {
        let pool = self.deps.pool.clone();
        let epoch = self.epoch;
        let write = detached(async move {
            let mut conn = pool.get().await?;
            db::interviews::insert_message(&mut conn, &row).await?;
            Ok::<_, DbError>(row)
        });
        ctx.spawn(write.into_actor(self).map(move |result, act, ctx| {
            if act.epoch != epoch {
                return;
            }
            match result {
                Some(Ok(row)) => {
                    let message = StoredMessage::from(row);
                    if let Some(loaded) = &mut act.loaded {
                        loaded.detail.messages.push(message.clone());
                    }
                    then(act, ctx, message);
                }
                other => act.storage_failed(other.and_then(Result::err), ctx),
            }
        }));
    }

    fn storage_failed(&mut self, error: Option<DbError>, _ctx: &mut Context<Self>) {
        tracing::error!(interview_id = %self.interview_id, error = ?error, "could not store the interview's progress");
        self.reply = None;
        let (code, text) = match error {
            Some(DbError::Unavailable(_)) => (
                ErrorCode::DatabaseUnavailable,
                "The database is unavailable, so that was not saved; send it again in a moment.",
            ),
            _ => (
                ErrorCode::Internal,
                "That could not be saved; please try again.",
            ),
        };
        self.send(ServerMsg::error(code, text));
        let back = if self
            .loaded
            .as_ref()
            .is_some_and(|l| l.progress.position.is_some())
        {
            Phase::Listening
        } else {
            Phase::NotStarted
        };
        self.set_phase(back);
    }

    fn model_failed(&mut self, error: &InferenceError, busy_text: &str) {
        let (code, text) = match error {
            InferenceError::Busy(_) => (ErrorCode::Busy, busy_text),
            _ => {
                tracing::error!(error = %error, "speech recognition failed");
                (ErrorCode::Internal, busy_text)
            }
        };
        self.send(ServerMsg::error(code, text));
        self.set_phase(Phase::Listening);
    }

    /// Runs a handler; a panic in it restarts the session from the database (the supervisor
    /// calls [`Supervised::restarting`]) and tells the client, which can carry on.
    fn guarded(
        &mut self,
        ctx: &mut Context<Self>,
        handle: impl FnOnce(&mut Self, &mut Context<Self>),
    ) {
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| handle(self, ctx)));
        if outcome.is_err() {
            tracing::error!(interview_id = %self.interview_id, "live session panicked; restarting it from the database");
            self.send(ServerMsg::error(
                ErrorCode::SessionRestarted,
                "Something went wrong on the server; the interview was reloaded and continues.",
            ));
            ctx.stop();
        }
    }
}

impl Actor for InterviewSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Runs again after every supervisor restart.
        if !self.retired {
            self.begin_load(ctx);
            // A session whose first connection never attaches (its handshake failed after the
            // session was started) still ends, and frees its place in its holder's limit.
            if self.socket.is_none() {
                self.arm_grace(ctx);
            }
        }
    }
}

impl Supervised for InterviewSession {
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        // Keep the connection and the settings; everything else is rebuilt from the database.
        if let Some(reply) = self.reply.take() {
            reply.cancelled.store(true, Ordering::Relaxed);
        }
        self.epoch += 1;
        self.loaded = None;
        self.enter(Phase::Loading);
        self.detector = TurnDetector::new(turn_settings(self.deps.turn, self.mode));
        self.time_up = false;
        self.grace_timer = None;
        self.pending_feedback = None;
        self.feedback_in_flight = 0;
        self.pending_end = None;
    }
}

impl Handler<Attach> for InterviewSession {
    type Result = ();

    fn handle(&mut self, msg: Attach, ctx: &mut Context<Self>) {
        self.guarded(ctx, |act, ctx| {
            act.attach(msg.connection, msg.socket, msg.invite_id, ctx)
        });
    }
}

impl Handler<InvitesRevoked> for InterviewSession {
    type Result = ();

    fn handle(&mut self, msg: InvitesRevoked, _ctx: &mut Context<Self>) {
        let Some(connection) = &self.socket else {
            return;
        };
        let Some(opened_with) = &connection.invite_id else {
            return;
        };
        if msg.invite_id.as_ref().is_none_or(|id| id == opened_with) {
            // The socket's Detach follows and starts the grace period as for any drop.
            connection.dismiss(
                ErrorCode::InviteRevoked,
                "The recruiter withdrew this interview link.",
                CLOSE_INVITE_ENDED,
                "invite revoked",
            );
        }
    }
}

impl Handler<Detach> for InterviewSession {
    type Result = ();

    fn handle(&mut self, msg: Detach, ctx: &mut Context<Self>) {
        self.guarded(ctx, |act, ctx| act.detach(msg.connection, ctx));
    }
}

impl Handler<Audio> for InterviewSession {
    type Result = ();

    fn handle(&mut self, msg: Audio, ctx: &mut Context<Self>) {
        if self.is_current(msg.connection) {
            self.guarded(ctx, |act, ctx| act.on_audio(&msg.samples, ctx));
        }
    }
}

impl Handler<Client> for InterviewSession {
    type Result = ();

    fn handle(&mut self, msg: Client, ctx: &mut Context<Self>) {
        if self.is_current(msg.connection) {
            self.guarded(ctx, |act, ctx| act.on_client(msg.message, ctx));
        }
    }
}

/// A piece of the reply the conductor's thread has decided to say.
#[derive(Message)]
#[rtype(result = "()")]
struct Say {
    epoch: u64,
    text: String,
}

impl Handler<Say> for InterviewSession {
    type Result = ();

    fn handle(&mut self, msg: Say, _ctx: &mut Context<Self>) {
        if msg.epoch == self.epoch {
            self.speak(&msg.text);
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

/// What a spoken answer adds to its text.
struct Spoken {
    audio: Vec<f32>,
    audio_ms: i64,
    transcription_ms: i64,
    /// From the start of the candidate's turn to the first word.
    first_word_ms: u64,
}

/// [`db::finish_detached`], so database work finishes even when the actor awaiting it stops.
/// `None` when the task itself failed.
fn detached<T: 'static>(
    work: impl std::future::Future<Output = T> + 'static,
) -> impl std::future::Future<Output = Option<T>> {
    let task = db::finish_detached(work);
    async move { task.await.ok() }
}

async fn load(pool: DbPool, id: String) -> Result<Loaded, LiveError> {
    let mut conn = pool.get().await?;
    let row = db::interviews::find(&mut conn, &id)
        .await?
        .ok_or(DbError::NotFound)?;
    let questions = db::interviews::questions_of(&mut conn, &id).await?;
    let messages = db::interviews::messages_of(&mut conn, &id).await?;
    let feedback = db::feedback::of_interview(&mut conn, &id).await?;
    let progress = Progress::of(&messages)?;
    let resume_highlights = db::files::latest_of(&mut conn, &id, "resume")
        .await?
        .map(|file| crate::resume::highlights(&file.text))
        .unwrap_or_default();
    Ok(Loaded {
        resume_highlights,
        questions: questions.iter().map(|q| q.text.clone()).collect(),
        rubrics: questions
            .iter()
            .map(|q| json_strings("interview_questions.rubric", &q.rubric))
            .collect(),
        detail: InterviewDetail {
            interview: row.try_into()?,
            feedback: feedback_shown(feedback, &questions)?,
            questions: questions.into_iter().map(PlannedQuestion::from).collect(),
            messages: messages.into_iter().map(StoredMessage::from).collect(),
        },
        progress,
    })
}
