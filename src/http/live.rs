//! `GET /api/v1/interviews/{id}/ws`: the live interview's WebSocket. Access is checked before
//! the upgrade; then one [`InterviewSocket`] actor per connection parses frames, enforces the
//! size and pace limits, and relays between the browser and the interview's session actor.
//!
//! The only module that uses `actix-web-actors`: moving to `actix-ws` is a change here alone.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::fut::{ActorFutureExt, WrapFuture};
use actix::{Actor, ActorContext, Addr, AsyncContext, Handler, StreamHandler, Supervisor};
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;

use crate::auth::LoginWatch;
use crate::domain::{InterviewId, InterviewStatus, InviteId};
use crate::error::AppError;
use crate::http::current_user::CurrentUser;
use crate::http::origin_check::AllowedOrigins;
use crate::interview::interviews;
use crate::interview::live::registry::{Holder, NotAdmitted};
use crate::interview::live::{
    Attach, Audio, Client, Detach, InterviewSession, SessionDeps, ToSocket, CLOSE_INVITE_ENDED,
    CLOSE_SESSION_ENDED,
};
use crate::interview::protocol::{
    decode_audio, parse_client_text, AudioPace, ErrorCode, ServerMsg, MAX_AUDIO_FRAME_BYTES,
};
use crate::state::AppState;

/// Frames above this close the connection (1009) instead of getting an `error` event.
/// What a refused candidate is told to wait when the node is full: live interviews end, and a
/// closed page frees its place after `interview_grace`.
const RETRY_WHEN_FULL: Duration = Duration::from_secs(60);

const MAX_WS_FRAME_BYTES: usize = 1 << 20;
const PING_EVERY: Duration = Duration::from_secs(10);
const DROP_SILENT_AFTER: Duration = Duration::from_secs(30);

static CONNECTIONS: AtomicU64 = AtomicU64::new(1);

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ConnectQuery {
    /// A candidate's invite token (browsers cannot set headers on a WebSocket).
    token: Option<String>,
}

/// A connection opened by a candidate with an invite (the owner's own connections have none).
struct InviteAccess {
    invite_id: InviteId,
    expires_at: chrono::DateTime<chrono::Utc>,
    /// The job lets candidates see their scores and feedback.
    sees_scores: bool,
}

#[utoipa::path(get, path = "/api/v1/interviews/{id}/ws", tag = "practice",
    params(("id" = String, Path, description = "The interview's id"), ConnectQuery),
    responses((status = 101, description = "The live interview's WebSocket: binary 16 kHz mono PCM16 frames up, JSON events down (README: the live protocol)")))]
pub async fn connect(
    req: HttpRequest,
    stream: web::Payload,
    state: web::Data<AppState>,
    origins: web::Data<AllowedOrigins>,
    user: Option<CurrentUser>,
    path: web::Path<InterviewId>,
) -> Result<HttpResponse, AppError> {
    // Browsers send cookies with cross-site WebSocket handshakes: only our own pages may connect.
    if let Some(origin) = req.headers().get("origin").and_then(|v| v.to_str().ok()) {
        if !origins.contains(origin) {
            return Err(AppError::CrossSite("its Origin is not this server"));
        }
    }
    let query = web::Query::<ConnectQuery>::from_query(req.query_string())
        .map_err(|e| AppError::InvalidInput(format!("query string: {e}")))?;
    // Only a signed-in user's own connection counts against their live interviews: a
    // candidate's invite link opens its one interview and counts against no one.
    let mut holder_id = None;
    let mut login = None;
    let invite = match (&query.token, user) {
        (Some(token), _) => {
            let grant = crate::hiring::invites::authorize(&state.pool, token, true).await?;
            // A token opens its own interview and nothing else.
            if grant.interview_id != *path {
                return Err(AppError::NotFound);
            }
            Some(InviteAccess {
                sees_scores: crate::hiring::candidates::sees_scores(
                    &state.pool,
                    &grant.interview_id,
                )
                .await?,
                invite_id: grant.invite_id,
                expires_at: grant.expires_at,
            })
        }
        (None, Some(user)) => {
            state.email_codes.ensure_verified(&user.0)?;
            let interview = interviews::get(&state.pool, &user.0.id, &path).await?;
            if matches!(
                interview.interview.status,
                InterviewStatus::Completed | InterviewStatus::Abandoned | InterviewStatus::Expired
            ) {
                return Err(AppError::InterviewClosed(
                    interview.interview.status.as_str(),
                ));
            }
            // The owner's own interview stays theirs whatever their role becomes: only the
            // end of the login closes it.
            login = Some(
                state
                    .logins
                    .watch(&req, &user.0, |_| true)
                    .ok_or(AppError::Unauthenticated)?,
            );
            holder_id = Some(user.0.id);
            None
        }
        (None, None) => return Err(AppError::Unauthenticated),
    };
    let Some(deps) = state.live.clone() else {
        return Err(AppError::ModelsUnavailable);
    };
    let holder = holder_id.as_ref().map(|user_id| Holder {
        user_id,
        max_live: state.settings.max_live_interviews_per_user,
    });
    let refused = |e: NotAdmitted| match e {
        NotAdmitted::TooManyForUser { limit } => {
            state.metrics.observe_live_refusal("user_limit");
            AppError::TooManyLiveInterviews { limit }
        }
        NotAdmitted::Full { .. } => {
            state.metrics.observe_live_refusal("full");
            AppError::ServerFull(RETRY_WHEN_FULL)
        }
        NotAdmitted::Draining => {
            state.metrics.observe_live_refusal("draining");
            AppError::Draining
        }
    };
    deps.registry.admits(&path, holder).map_err(refused)?;
    // Only a real handshake may start a session: one that no socket ever joins would stay.
    ws::handshake(&req).map_err(|e| AppError::InvalidInput(format!("WebSocket handshake: {e}")))?;
    let session = session_for(&deps, &path, holder).map_err(refused)?;
    if invite.is_some() {
        deps.activity
            .publish(&path, crate::activity::ActivityKind::Opened);
    }
    let socket = InterviewSocket {
        connection: CONNECTIONS.fetch_add(1, Ordering::Relaxed),
        session,
        last_heard: Instant::now(),
        pace: AudioPace::new(),
        invite,
        login,
    };
    ws::WsResponseBuilder::new(socket, &req, stream)
        .frame_size(MAX_WS_FRAME_BYTES)
        .start()
        .map_err(|e| AppError::InvalidInput(format!("WebSocket handshake: {e}")))
}

/// The interview's live session on this node, started (supervised) when there is none, the
/// node has room and `holder` may hold one more.
fn session_for(
    deps: &Arc<SessionDeps>,
    interview_id: &InterviewId,
    holder: Option<Holder<'_>>,
) -> Result<Addr<InterviewSession>, NotAdmitted> {
    deps.registry
        .get_or_start(interview_id, holder, |instance| {
            let deps = deps.clone();
            let id = interview_id.to_owned();
            Supervisor::start(move |_| InterviewSession::new(id, instance, deps))
        })
}

pub struct InterviewSocket {
    connection: u64,
    session: Addr<InterviewSession>,
    last_heard: Instant,
    pace: AudioPace,
    /// Set for a candidate's connection: no questions before they are asked, and no
    /// feedback, report or score unless the job allows.
    invite: Option<InviteAccess>,
    /// Set for the owner's connection (opened with their login session) until `started`
    /// hands it to the task that closes the connection when that login ends.
    login: Option<LoginWatch>,
}

impl InterviewSocket {
    fn event(&self, ctx: &mut ws::WebsocketContext<Self>, message: &ServerMsg) {
        let Some(invite) = &self.invite else {
            return ctx.text(message.to_json());
        };
        match message {
            ServerMsg::Feedback { .. } | ServerMsg::Report { .. } if !invite.sees_scores => {}
            ServerMsg::Ready {
                interview,
                state,
                voice,
            } => {
                let mut interview = interview.clone();
                interview.hide_unasked_questions();
                if !invite.sees_scores {
                    interview.hide_scores();
                }
                ctx.text(
                    ServerMsg::Ready {
                        interview,
                        state: *state,
                        voice: *voice,
                    }
                    .to_json(),
                );
            }
            other => ctx.text(other.to_json()),
        }
    }

    /// Closes the connection once its invite has expired.
    fn invite_expired(&self, ctx: &mut ws::WebsocketContext<Self>) -> bool {
        let expired = self
            .invite
            .as_ref()
            .is_some_and(|invite| invite.expires_at <= chrono::Utc::now());
        if expired {
            self.event(
                ctx,
                &ServerMsg::error(ErrorCode::InviteExpired, "This interview link has expired."),
            );
            ctx.close(Some(ws::CloseReason {
                code: ws::CloseCode::from(CLOSE_INVITE_ENDED),
                description: Some("invite expired".into()),
            }));
            ctx.stop();
        }
        expired
    }

    /// Closes the connection: the login session it was opened under ended (logout,
    /// logout-all, expiry, the account removed).
    fn login_ended(&self, ctx: &mut ws::WebsocketContext<Self>) {
        tracing::info!("closing a live connection: its login session ended");
        self.event(
            ctx,
            &ServerMsg::error(
                ErrorCode::SessionEnded,
                "Your login session ended: sign in again to continue.",
            ),
        );
        ctx.close(Some(ws::CloseReason {
            code: ws::CloseCode::from(CLOSE_SESSION_ENDED),
            description: Some("session_ended".into()),
        }));
        ctx.stop();
    }

    fn on_binary(&mut self, bytes: &[u8], ctx: &mut ws::WebsocketContext<Self>) {
        let samples = match decode_audio(bytes) {
            Ok(samples) => samples,
            Err(e) => return self.event(ctx, &ServerMsg::error(e.code(), e.to_string())),
        };
        if !self.pace.admit(samples.len(), Instant::now()) {
            return self.event(
                ctx,
                &ServerMsg::error(
                    ErrorCode::AudioTooFast,
                    "audio arrives faster than 4x real time; this frame was dropped",
                ),
            );
        }
        self.session.do_send(Audio {
            connection: self.connection,
            samples,
        });
    }

    fn on_text(&mut self, text: &str, ctx: &mut ws::WebsocketContext<Self>) {
        match parse_client_text(text) {
            Ok(message) => self.session.do_send(Client {
                connection: self.connection,
                message,
            }),
            Err(e) => self.event(ctx, &ServerMsg::error(e.code(), e.to_string())),
        }
    }
}

impl Actor for InterviewSocket {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.session.do_send(Attach {
            connection: self.connection,
            socket: ctx.address().recipient(),
            invite_id: self.invite.as_ref().map(|invite| invite.invite_id.clone()),
        });
        if let Some(login) = self.login.take() {
            ctx.spawn(
                login
                    .ended(PING_EVERY)
                    .into_actor(self)
                    .map(|(), socket, ctx| socket.login_ended(ctx)),
            );
        }
        ctx.run_interval(PING_EVERY, |socket, ctx| {
            if socket.invite_expired(ctx) {
                return;
            }
            if socket.last_heard.elapsed() > DROP_SILENT_AFTER {
                tracing::info!("dropping a live connection that stopped answering pings");
                ctx.stop();
            } else {
                ctx.ping(b"");
            }
        });
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.session.do_send(Detach {
            connection: self.connection,
        });
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for InterviewSocket {
    fn handle(&mut self, frame: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        self.last_heard = Instant::now();
        match frame {
            Ok(ws::Message::Binary(bytes)) => self.on_binary(&bytes, ctx),
            Ok(ws::Message::Text(text)) => self.on_text(&text, ctx),
            Ok(ws::Message::Ping(payload)) => ctx.pong(&payload),
            Ok(ws::Message::Pong(_)) | Ok(ws::Message::Nop) => {}
            Ok(ws::Message::Continuation(_)) => self.event(
                ctx,
                &ServerMsg::error(
                    ErrorCode::InvalidMessage,
                    format!(
                        "fragmented frames are not supported; send whole frames of at most \
                         {MAX_AUDIO_FRAME_BYTES} bytes"
                    ),
                ),
            ),
            Ok(ws::Message::Close(reason)) => {
                ctx.close(reason);
                ctx.stop();
            }
            Err(e) => {
                tracing::info!(error = %e, "closing a live connection after a protocol error");
                let code = match e {
                    ws::ProtocolError::Overflow => ws::CloseCode::Size,
                    _ => ws::CloseCode::Protocol,
                };
                ctx.close(Some(ws::CloseReason {
                    code,
                    description: Some(e.to_string()),
                }));
                ctx.stop();
            }
        }
    }
}

impl Handler<ToSocket> for InterviewSocket {
    type Result = ();

    fn handle(&mut self, message: ToSocket, ctx: &mut Self::Context) {
        match message {
            ToSocket::Event(event) => self.event(ctx, &event),
            ToSocket::Close { code, reason } => {
                ctx.close(Some(ws::CloseReason {
                    code: ws::CloseCode::from(code),
                    description: Some(reason),
                }));
                ctx.stop();
            }
        }
    }
}
