//! The live interview: one [`InterviewSession`] actor per interview being held, started under
//! `actix::Supervisor` by the [`SessionRegistry`]. Sockets (in `http::live`) attach to it and
//! pass it parsed client messages and audio; it listens, transcribes, lets the conductor write
//! the interviewer's turns, stores every message as it completes, and sends events back.
//!
//! Everything needed to resume lives in the database ([`progress::Progress`] is read from the
//! stored messages), so a reconnect, a restart, a supervisor restart after a panic, or another
//! node all rebuild the same session. With several nodes, a session runs only while it holds
//! the interview's lease ([`lease::Leases`]).

pub mod lease;
mod machine;
pub mod progress;
pub mod registry;
mod session;
mod voicing;
pub mod writer;

use std::time::Duration;

use actix::{Message, Recipient};

pub use lease::Leases;
pub use registry::SessionRegistry;
pub use session::InterviewSession;

use super::protocol::{ClientMsg, ServerMsg};
use crate::cluster::Bus;
use crate::db::DbPool;
use crate::domain::{InterviewId, InviteId};
use crate::inference::Engines;
use crate::speech::vad::TurnSettings;

/// What every session needs from the application.
pub struct SessionDeps {
    pub pool: DbPool,
    pub engines: Engines,
    /// Who speaks the interviewer; `local` only when `engines.voice` runs.
    pub voice: crate::config::VoiceMode,
    pub registry: SessionRegistry,
    /// Which node runs each interview.
    pub leases: Leases,
    pub turn: TurnSettings,
    /// How long a session outlives its last connection.
    pub grace: Duration,
    /// Accept test-only client messages (`debug_panic`).
    pub test_hooks: bool,
    /// Where starts, answers and ends are announced (job pages, completion emails).
    pub activity: crate::activity::ActivityFeed,
}

/// Session → socket.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub enum ToSocket {
    Event(ServerMsg),
    /// Close the connection with this WebSocket close code.
    Close {
        code: u16,
        reason: String,
    },
}

/// Close code for a connection whose invite was revoked or expired.
pub const CLOSE_INVITE_ENDED: u16 = 4001;
/// Close code for a connection whose login session ended (logout, logout-all, expiry, the
/// account removed).
pub const CLOSE_SESSION_ENDED: u16 = 4002;
/// Close code for a connection another one took over from.
pub const CLOSE_TAKEN_OVER: u16 = 4000;
/// Close code after the interview ended (normal closure).
pub const CLOSE_NORMAL: u16 = 1000;
/// Close code asking the client to connect again at once (the session was just closing).
pub const CLOSE_RECONNECT: u16 = 1012;
/// Close code for a connection that reached a node while another node runs the interview (or
/// this node lost it to another one): connect again in a moment.
pub const CLOSE_HELD_ELSEWHERE: u16 = 4003;
/// Close code when the session cannot serve (the database is unreachable…).
pub const CLOSE_INTERNAL: u16 = 1011;

/// A connection joins the interview (and takes over from any earlier one).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Attach {
    pub connection: u64,
    pub socket: Recipient<ToSocket>,
    /// The invite the connection was opened with (a candidate's link), if any.
    pub invite_id: Option<InviteId>,
}

/// Invites were revoked: a connection opened with one of them (`None`: any invite) is closed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct InvitesRevoked {
    pub invite_id: Option<InviteId>,
}

/// The cluster topic revoked invites travel under.
const REVOKED_TOPIC: &str = "invites_revoked";

#[derive(serde::Serialize, serde::Deserialize)]
struct Revoked {
    interview_id: InterviewId,
    invite_id: Option<InviteId>,
}

/// The interview's invites were revoked (`None`: all of them): the connection opened with one
/// is closed at once, here (`registry`: this node's sessions, if it runs any) or on the node
/// that runs the interview.
pub fn close_revoked_invites(
    bus: &Bus,
    registry: Option<&SessionRegistry>,
    interview_id: &InterviewId,
    invite_id: Option<InviteId>,
) {
    bus.tell_others(
        REVOKED_TOPIC,
        &Revoked {
            interview_id: interview_id.to_owned(),
            invite_id: invite_id.clone(),
        },
    );
    if let Some(session) = registry.and_then(|registry| registry.get(interview_id)) {
        session.do_send(InvitesRevoked { invite_id });
    }
}

/// Closes this node's connections opened with invites other nodes revoked.
pub fn follow_revoked_invites(bus: &Bus, registry: SessionRegistry) {
    bus.on_message(REVOKED_TOPIC, move |revoked: Revoked| {
        if let Some(session) = registry.get(&revoked.interview_id) {
            session.do_send(InvitesRevoked {
                invite_id: revoked.invite_id,
            });
        }
    });
}

/// The node is shutting down: close the connection asking the client to reconnect (to another
/// node), and end the session, giving its lease up.
#[derive(Message)]
#[rtype(result = "()")]
pub struct HandOver;

/// A connection went away.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Detach {
    pub connection: u64,
}

/// Audio from a connection: 16 kHz mono samples in [-1, 1].
#[derive(Message)]
#[rtype(result = "()")]
pub struct Audio {
    pub connection: u64,
    pub samples: Vec<f32>,
}

/// A parsed client message from a connection.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Client {
    pub connection: u64,
    pub message: ClientMsg,
}
