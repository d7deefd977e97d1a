//! The actor that holds one live interview: it carries out what the interview's
//! [`Machine`] decides and feeds the results back to it.
//!
//! Slow work never runs here: transcription goes to the speech worker, the conductor runs on a
//! blocking thread and asks the LLM worker, and every database write runs as its own task (so a
//! write always finishes, even if the actor stops), while this actor only awaits the result.
//! Connections (attach, take-over, the grace period after the last one left) are this actor's
//! own business; the interview's rules are the machine's.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use chrono::NaiveDateTime;

use super::lease::Claim;
use super::machine::{AssessRequest, Effect, Event, Loaded, Machine, ReplyRequest, WriteFailure};
use super::progress::Progress;
use super::writer::{WorkerWriter, FOLLOW_UP_CONVERSATION};
use super::{Attach, Audio, Client, Detach, HandOver, InvitesRevoked, SessionDeps, ToSocket};
use super::{
    CLOSE_HELD_ELSEWHERE, CLOSE_INTERNAL, CLOSE_INVITE_ENDED, CLOSE_RECONNECT, CLOSE_TAKEN_OVER,
};
use crate::db::{self, DbError, DbPool};
use crate::domain::{FileKind, InterviewId, InterviewStatus, Invalid, InviteId, WebhookEvent};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use super::voicing::{VoiceAction, Voicing};
use crate::inference::{BackgroundPause, InferenceError};
use crate::interview::catalog::json_strings;
use crate::interview::conductor::{Conductor, TurnInput};
use crate::interview::feedback::judge::Judge;
use crate::interview::feedback::{self, record, TurnFeedback};
use crate::interview::interviews::{
    self, feedback_shown, InterviewDetail, Message as StoredMessage, PlannedQuestion,
};
use crate::interview::protocol::{ClientMsg, ErrorCode, ServerMsg};
use crate::webhooks::outbox;

#[derive(Debug, thiserror::Error)]
enum LiveError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("stored interview data is invalid: {0}")]
    Stored(#[from] Invalid),
}

/// Why an answer's feedback could not be made or stored.
#[derive(Debug, thiserror::Error)]
enum FeedbackError {
    #[error("the assessment's thread failed: {0}")]
    Thread(#[from] tokio::task::JoinError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("the stored feedback is invalid: {0}")]
    Stored(#[from] Invalid),
}

/// The connection the session talks to.
struct Connection {
    id: u64,
    socket: Recipient<ToSocket>,
    /// The invite it was opened with (a candidate's link), if any.
    invite_id: Option<InviteId>,
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
    interview_id: InterviewId,
    instance: u64,
    deps: Arc<SessionDeps>,
    socket: Option<Connection>,
    machine: Machine,
    /// Held while the machine wants assessments to wait (see
    /// [`Machine::wants_background_paused`]).
    background_pause: Option<BackgroundPause>,
    grace_timer: Option<SpawnHandle>,
    /// Left the registry for good. The supervisor restarts a stopped actor while anything
    /// still holds its address (a socket closing, a worker thread); a retired one then stays
    /// idle until the last address drops, instead of reloading and acting on its own.
    retired: bool,
    /// Retired because another node runs the interview.
    held_elsewhere: bool,
    /// The interviewer's messages being spoken (with `voice` = `local`).
    voicing: Voicing,
}

impl InterviewSession {
    pub fn new(interview_id: InterviewId, instance: u64, deps: Arc<SessionDeps>) -> Self {
        let machine = Machine::new(interview_id.clone(), deps.turn, deps.voice);
        Self {
            interview_id,
            instance,
            deps,
            socket: None,
            machine,
            background_pause: None,
            grace_timer: None,
            retired: false,
            held_elsewhere: false,
            voicing: Voicing::default(),
        }
    }

    /// Lets the machine handle `event`, then carries out what it decided.
    fn dispatch(&mut self, event: Event, ctx: &mut Context<Self>) {
        let effects = self.machine.handle(event);
        match (
            self.machine.wants_background_paused(),
            &self.background_pause,
        ) {
            (true, None) => self.background_pause = Some(self.deps.engines.gate.pause_background()),
            (false, Some(_)) => self.background_pause = None,
            _ => {}
        }
        for effect in effects {
            self.execute(effect, ctx);
        }
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

    fn execute(&mut self, effect: Effect, ctx: &mut Context<Self>) {
        match effect {
            Effect::Send(message) => self.send_and_speak(message, ctx),
            Effect::MarkStarted { epoch } => {
                let (pool, id, now) =
                    (self.deps.pool.clone(), self.interview_id.clone(), db::now());
                let mark = detached(async move {
                    let mut conn = pool.get().await?;
                    let started = db::interviews::mark_started(&mut conn, &id, now).await?;
                    if started {
                        let mut extra = serde_json::Map::new();
                        extra.insert("started_at".into(), serde_json::json!(now.and_utc()));
                        let event = WebhookEvent::InterviewStarted;
                        outbox::announce(&mut conn, &id, event, extra, true).await;
                    }
                    Ok::<_, DbError>(started)
                });
                ctx.spawn(mark.into_actor(self).map(move |result, act, ctx| {
                    let result = write_outcome(result).map(|_| now);
                    act.dispatch(Event::Started { epoch, result }, ctx);
                }));
            }
            Effect::Store { epoch, row, then } => {
                let pool = self.deps.pool.clone();
                let write = detached(async move {
                    let mut conn = pool.get().await?;
                    db::interviews::insert_message(&mut conn, &row).await?;
                    Ok::<_, DbError>(row)
                });
                ctx.spawn(write.into_actor(self).map(move |result, act, ctx| {
                    let result = write_outcome(result).map(StoredMessage::from);
                    act.dispatch(
                        Event::Stored {
                            epoch,
                            then,
                            result,
                        },
                        ctx,
                    );
                }));
            }
            Effect::Transcribe { epoch, audio } => {
                let speech = self.deps.engines.speech.clone();
                let started = Instant::now();
                let work = async move { speech.transcribe(audio).await };
                ctx.spawn(work.into_actor(self).map(move |result, act, ctx| {
                    let took_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
                    let result = result.map(|transcript| transcript.text);
                    act.dispatch(
                        Event::Transcribed {
                            epoch,
                            took_ms,
                            result,
                        },
                        ctx,
                    );
                }));
            }
            Effect::Conduct { epoch, request } => self.conduct(epoch, request, ctx),
            Effect::Assess(request) => self.assess(request, ctx),
            Effect::ArmTimeLimit {
                epoch,
                started_at,
                minutes,
            } => {
                ctx.run_later(time_left(started_at, minutes), move |act, ctx| {
                    act.dispatch(Event::TimeUp { epoch }, ctx);
                });
            }
            Effect::MarkEnded { reason } => {
                let (pool, id, now) =
                    (self.deps.pool.clone(), self.interview_id.clone(), db::now());
                let mark = detached(async move {
                    let mut conn = pool.get().await?;
                    let status = InterviewStatus::Completed;
                    db::interviews::mark_ended(&mut conn, &id, status, now).await
                });
                ctx.spawn(mark.into_actor(self).map(move |result, act, ctx| {
                    let stored = matches!(result, Some(Ok(_)));
                    act.dispatch(
                        Event::EndMarked {
                            reason,
                            at: now,
                            stored,
                        },
                        ctx,
                    );
                }));
            }
            Effect::HurryFeedback => self
                .deps
                .engines
                .background
                .hurry(self.interview_id.as_str()),
            Effect::SettleReport { reason } => {
                let (pool, id) = (self.deps.pool.clone(), self.interview_id.clone());
                let settle = detached(async move { interviews::settle_report(&pool, &id).await });
                ctx.spawn(settle.into_actor(self).map(move |result, act, ctx| {
                    let report = match result {
                        Some(Ok(report)) => Some(Box::new(report)),
                        Some(Err(e)) => {
                            tracing::error!(error = %e, "the interview's report failed");
                            None
                        }
                        None => {
                            tracing::error!("the interview's report task failed");
                            None
                        }
                    };
                    act.dispatch(Event::ReportSettled { reason, report }, ctx);
                }));
            }
            Effect::Publish(kind) => self.deps.activity.publish(&self.interview_id, kind),
            Effect::Close { code, reason } => {
                if let Some(connection) = &self.socket {
                    connection.socket.do_send(ToSocket::Close {
                        code,
                        reason: reason.into(),
                    });
                }
            }
        }
    }

    // ---- loading ------------------------------------------------------------------------

    /// Claims the interview for this node, then loads it from the database.
    fn begin_load(&mut self, ctx: &mut Context<Self>) {
        let open = detached(open(
            self.deps.clone(),
            self.interview_id.clone(),
            self.instance,
        ));
        ctx.wait(open.into_actor(self).map(|result, act, ctx| match result {
            Some(Ok(Opened::Loaded(loaded))) => {
                act.keep_lease(ctx);
                act.dispatch(Event::Loaded(loaded), ctx);
            }
            Some(Ok(Opened::Elsewhere { node, retry_after })) => {
                tracing::info!(interview_id = %act.interview_id, node, ?retry_after, "the interview runs on another node");
                act.leave_to_other_node(ctx);
            }
            Some(Err(e)) => {
                let unavailable = matches!(e, LiveError::Db(DbError::Unavailable(_)));
                act.load_failed(&e.to_string(), unavailable, ctx);
            }
            None => act.load_failed("the loading task failed", false, ctx),
        }));
    }

    /// Renews the interview's lease for as long as the session lives (a restarted actor's
    /// context starts empty, and its next load calls this again).
    fn keep_lease(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(self.deps.leases.renew_every(), |act, ctx| {
            let leases = act.deps.leases.clone();
            let id = act.interview_id.clone();
            let instance = act.instance;
            let renew = detached(async move { leases.renew(&id, instance).await });
            ctx.spawn(renew.into_actor(act).map(|result, act, ctx| match result {
                Some(Ok(true)) => {}
                Some(Ok(false)) => {
                    tracing::warn!(interview_id = %act.interview_id, "lost the interview's lease to another node");
                    act.leave_to_other_node(ctx);
                }
                // Renewed again at the next tick: the lease outlasts two failed renewals.
                Some(Err(e)) => {
                    tracing::warn!(interview_id = %act.interview_id, error = %e, "could not renew the interview's lease")
                }
                None => tracing::warn!(interview_id = %act.interview_id, "the lease renewal task failed"),
            }));
        });
    }

    /// Another node runs the interview: the client connects again (and the load balancer's
    /// routing, or the lease running out, brings it to that node).
    fn leave_to_other_node(&mut self, ctx: &mut Context<Self>) {
        if let Some(connection) = self.socket.take() {
            dismiss_held_elsewhere(&connection);
        }
        self.held_elsewhere = true;
        self.retire(ctx);
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
        let leases = self.deps.leases.clone();
        let id = self.interview_id.clone();
        let instance = self.instance;
        // Runs to the end on its own: nothing waits for it.
        drop(db::finish_detached(async move {
            if let Err(e) = leases.release(&id, instance).await {
                tracing::warn!(interview_id = %id, error = %e, "could not give the interview's lease up; it runs out by itself");
            }
        }));
        self.retired = true;
        ctx.stop();
    }

    // ---- connections --------------------------------------------------------------------

    fn attach(
        &mut self,
        connection: u64,
        socket: Recipient<ToSocket>,
        invite_id: Option<InviteId>,
        ctx: &mut Context<Self>,
    ) {
        if self.retired {
            if self.held_elsewhere {
                // It found another node running the interview before this connection came.
                dismiss_held_elsewhere(&Connection {
                    id: connection,
                    socket,
                    invite_id,
                });
                return;
            }
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
        self.deps
            .registry
            .set_attached(&self.interview_id, self.instance, true);
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
        self.guarded(ctx, |act, ctx| act.dispatch(Event::Attached, ctx));
    }

    fn detach(&mut self, connection: u64, ctx: &mut Context<Self>) {
        if !self.is_current(connection) {
            return;
        }
        self.socket = None;
        self.deps
            .registry
            .set_attached(&self.interview_id, self.instance, false);
        // Nobody hears the voice any more.
        self.silence(ctx);
        self.guarded(ctx, |act, ctx| act.dispatch(Event::Detached, ctx));
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

    // ---- the interviewer's voice --------------------------------------------------------

    /// Sends `message`; the interviewer's words in it are also spoken when viva has a voice.
    fn send_and_speak(&mut self, message: ServerMsg, ctx: &mut Context<Self>) {
        let actions = match (&message, self.deps.engines.voice.is_some()) {
            (ServerMsg::ReplyDelta { message_id, text }, true) => {
                self.voicing.delta(message_id, text)
            }
            (ServerMsg::Reply { message }, true) => {
                self.voicing.complete(&message.id, message.interrupted)
            }
            _ => Vec::new(),
        };
        self.send(message);
        self.voice(actions, ctx);
    }

    /// Stops the interviewer's voice (barge-in, or nobody is listening any more).
    fn silence(&mut self, ctx: &mut Context<Self>) {
        let actions = self.voicing.interrupt();
        self.voice(actions, ctx);
    }

    fn voice(&mut self, actions: Vec<VoiceAction>, ctx: &mut Context<Self>) {
        for action in actions {
            match action {
                VoiceAction::Speak {
                    message_id,
                    sentence,
                    text,
                    cancelled,
                } => {
                    let Some(worker) = self.deps.engines.voice.clone() else {
                        continue;
                    };
                    let said = text.clone();
                    let work = async move { worker.speak(said, sentence, cancelled).await };
                    ctx.spawn(work.into_actor(self).map(move |result, act, ctx| {
                        let audio = match result {
                            Ok(audio) => Some(audio),
                            Err(InferenceError::Cancelled) => None,
                            Err(error) => {
                                tracing::warn!(%error, sentence, "a sentence could not be spoken");
                                None
                            }
                        };
                        let actions = act.voicing.spoken(&message_id, sentence, text, audio);
                        act.voice(actions, ctx);
                    }));
                }
                VoiceAction::Play {
                    message_id,
                    sentence,
                    text,
                    audio,
                } => self.send(ServerMsg::Voice {
                    message_id,
                    sentence,
                    text,
                    sample_rate: audio.sample_rate,
                    audio: BASE64.encode(audio.to_pcm16le()),
                }),
                VoiceAction::End {
                    message_id,
                    sentences,
                    interrupted,
                } => self.send(ServerMsg::VoiceEnd {
                    message_id,
                    sentences,
                    interrupted,
                }),
            }
        }
    }

    // ---- the interviewer ----------------------------------------------------------------

    /// Runs the conductor on a blocking thread; what it says comes back as [`Say`].
    fn conduct(&mut self, epoch: u64, request: ReplyRequest, ctx: &mut Context<Self>) {
        let llm = self.deps.engines.llm.clone();
        let me = ctx.address();
        let span = tracing::Span::current();
        let work = actix_web::rt::task::spawn_blocking(move || {
            let _span = span.entered();
            let writer = WorkerWriter::new(llm, FOLLOW_UP_CONVERSATION, request.cancelled);
            let mut conductor = Conductor::new(writer, request.seed);
            let input = TurnInput {
                question: &request.question,
                answer: &request.answer,
                follow_up_asked: request.follow_up_asked,
                next_question: request.next_question.as_deref(),
                resume_highlights: &request.resume_highlights,
            };
            conductor.next_turn_speaking(&input, &mut |text| {
                me.do_send(Say {
                    epoch,
                    text: text.to_owned(),
                })
            })
        });
        ctx.spawn(work.into_actor(self).map(move |result, act, ctx| {
            let turn = result
                .inspect_err(|e| tracing::error!(error = %e, "the conductor's thread failed"))
                .ok();
            act.dispatch(Event::ReplyWritten { epoch, turn }, ctx);
        }));
    }

    // ---- feedback -----------------------------------------------------------------------

    /// Assesses an answer as its own task (the models run on a blocking thread; the sentence
    /// encoder takes the compute gate one text at a time, so a follow-up is never stuck behind
    /// it) and stores its feedback.
    fn assess(&mut self, request: AssessRequest, ctx: &mut Context<Self>) {
        let work = detached(assess_and_store(
            self.deps.clone(),
            self.interview_id.clone(),
            request,
        ));
        ctx.spawn(work.into_actor(self).map(|result, act, ctx| {
            let feedback = match result {
                Some(Ok(feedback)) => Some(feedback),
                Some(Err(e)) => {
                    tracing::error!(error = %e, "the answer's feedback failed");
                    None
                }
                None => {
                    tracing::error!("the answer's feedback task failed");
                    None
                }
            };
            act.dispatch(Event::Assessed(feedback), ctx);
        }));
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
    fn restarting(&mut self, ctx: &mut Context<Self>) {
        // Keep the connection and the settings; everything else is rebuilt from the database.
        self.machine.restart();
        self.silence(ctx);
        self.background_pause = None;
        self.grace_timer = None;
    }
}

impl Handler<Attach> for InterviewSession {
    type Result = ();

    fn handle(&mut self, msg: Attach, ctx: &mut Context<Self>) {
        self.attach(msg.connection, msg.socket, msg.invite_id, ctx);
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

impl Handler<HandOver> for InterviewSession {
    type Result = ();

    fn handle(&mut self, _msg: HandOver, ctx: &mut Context<Self>) {
        if self.retired {
            return;
        }
        if let Some(connection) = self.socket.take() {
            connection.dismiss(
                ErrorCode::Draining,
                "This server is restarting; reconnecting to another one.",
                CLOSE_RECONNECT,
                "server shutting down; reconnect",
            );
        }
        tracing::info!(interview_id = %self.interview_id, "live session handed over (the node is shutting down)");
        self.retire(ctx);
    }
}

impl Handler<Detach> for InterviewSession {
    type Result = ();

    fn handle(&mut self, msg: Detach, ctx: &mut Context<Self>) {
        self.detach(msg.connection, ctx);
    }
}

impl Handler<Audio> for InterviewSession {
    type Result = ();

    fn handle(&mut self, msg: Audio, ctx: &mut Context<Self>) {
        if self.is_current(msg.connection) {
            self.guarded(ctx, |act, ctx| act.dispatch(Event::Audio(msg.samples), ctx));
        }
    }
}

impl Handler<Client> for InterviewSession {
    type Result = ();

    fn handle(&mut self, msg: Client, ctx: &mut Context<Self>) {
        if !self.is_current(msg.connection) {
            return;
        }
        self.guarded(ctx, |act, ctx| {
            if matches!(msg.message, ClientMsg::DebugPanic) && act.deps.test_hooks {
                panic!("debug_panic: the test-only hook was asked to crash the session")
            }
            if matches!(msg.message, ClientMsg::Interrupt) {
                act.silence(ctx);
            }
            act.dispatch(Event::Client(msg.message), ctx);
        });
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

    fn handle(&mut self, msg: Say, ctx: &mut Context<Self>) {
        let event = Event::ReplyPiece {
            epoch: msg.epoch,
            text: msg.text,
        };
        self.dispatch(event, ctx);
    }
}

/// How long until `minutes` after `started_at` (`None`: from now).
fn time_left(started_at: Option<NaiveDateTime>, minutes: i32) -> Duration {
    let started_at = started_at.unwrap_or_else(db::now);
    let limit = chrono::Duration::minutes(i64::from(minutes.max(1)));
    (started_at + limit - db::now())
        .to_std()
        .unwrap_or(Duration::ZERO)
}

/// What the machine is told about a write: `None` when the task itself failed.
fn write_outcome<T>(result: Option<Result<T, DbError>>) -> Result<T, WriteFailure> {
    match result {
        Some(Ok(value)) => Ok(value),
        Some(Err(DbError::Unavailable(_))) => Err(WriteFailure::DatabaseUnavailable),
        Some(Err(_)) | None => Err(WriteFailure::Other),
    }
}

/// Measures and assesses an answer, then stores and returns its feedback.
async fn assess_and_store(
    deps: Arc<SessionDeps>,
    interview_id: InterviewId,
    request: AssessRequest,
) -> Result<TurnFeedback, FeedbackError> {
    let shown_rubric = request.rubric.clone();
    let encoder = deps.engines.encoder.clone();
    let judge = deps.engines.judge.clone();
    let span = tracing::Span::current();
    let owner = interview_id.to_string();
    let row = deps
        .engines
        .background
        .run(&owner, move || {
            let _span = span.entered();
            let spoken = request.spoken.as_ref();
            let delivery = feedback::measure(
                &request.answer,
                spoken.map(|s| s.audio.as_slice()),
                spoken.map(|s| s.first_word_ms),
            );
            let assessment = feedback::assess(
                &encoder,
                judge.as_ref().map(|j| j as &dyn Judge),
                &request.question,
                &request.rubric,
                &request.answer,
            );
            record::to_row(
                &interview_id,
                &request.message_id,
                request.position,
                &assessment,
                &delivery,
            )
        })
        .await?;
    let mut conn = deps.pool.get().await?;
    db::feedback::insert(&mut conn, &row).await?;
    Ok(record::from_row(row, &shown_rubric)?)
}

/// [`db::finish_detached`], so database work finishes even when the actor awaiting it stops.
/// `None` when the task itself failed.
fn detached<T: 'static>(
    work: impl std::future::Future<Output = T> + 'static,
) -> impl std::future::Future<Output = Option<T>> {
    let task = db::finish_detached(work);
    async move { task.await.ok() }
}

/// Tells the client another node runs the interview: it connects again in a moment.
fn dismiss_held_elsewhere(connection: &Connection) {
    connection.dismiss(
        ErrorCode::HeldElsewhere,
        "This interview is running on another server; reconnecting.",
        CLOSE_HELD_ELSEWHERE,
        "interview held by another node; reconnect",
    );
}

/// What opening a session found.
enum Opened {
    Loaded(Box<Loaded>),
    /// Another node's session holds the interview's lease, for `retry_after` more at most.
    Elsewhere {
        node: String,
        retry_after: Duration,
    },
}

/// Claims the interview's lease for session `instance` of this node, then loads it.
async fn open(deps: Arc<SessionDeps>, id: InterviewId, instance: u64) -> Result<Opened, LiveError> {
    match deps.leases.claim(&id, instance).await? {
        Claim::Held => Ok(Opened::Loaded(Box::new(load(deps.pool.clone(), id).await?))),
        Claim::Elsewhere { node, retry_after } => Ok(Opened::Elsewhere { node, retry_after }),
    }
}

async fn load(pool: DbPool, id: InterviewId) -> Result<Loaded, LiveError> {
    let mut conn = pool.get().await?;
    let row = db::interviews::find(&mut conn, &id)
        .await?
        .ok_or(DbError::NotFound)?;
    let questions = db::interviews::questions_of(&mut conn, &id).await?;
    let messages = db::interviews::messages_of(&mut conn, &id).await?;
    let feedback = db::feedback::of_interview(&mut conn, &id).await?;
    let progress = Progress::of(&messages);
    let resume_highlights = db::files::latest_of(&mut conn, &id, FileKind::Resume)
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
            interview: row.into(),
            feedback: feedback_shown(feedback, &questions)?,
            questions: questions.into_iter().map(PlannedQuestion::from).collect(),
            messages: messages.into_iter().map(StoredMessage::from).collect(),
        },
        progress,
    })
}
