//! The live interview: one [`InterviewSession`] actor per interview being held, started under
//! `actix::Supervisor` by the [`SessionRegistry`]. Sockets (in `http::live`) attach to it and
//! pass it parsed client messages and audio; it listens, transcribes, lets the conductor write
//! the interviewer's turns, stores every message as it completes, and sends events back.
//!
//! Everything needed to resume lives in the database ([`progress::Progress`] is read from the
//! stored messages), so a reconnect, a restart, a supervisor restart after a panic, or another
//! node all rebuild the same session.

mod machine;
pub mod progress;
pub mod registry;
mod session;
pub mod writer;

use std::time::Duration;

use actix::{Message, Recipient};

pub use registry::SessionRegistry;
pub use session::InterviewSession;

use super::protocol::{ClientMsg, ServerMsg};
use crate::db::DbPool;
use crate::domain::InviteId;
use crate::inference::Engines;
use crate::speech::vad::TurnSettings;

/// What every session needs from the application.
pub struct SessionDeps {
    pub pool: DbPool,
    pub engines: Engines,
    pub registry: SessionRegistry,
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
