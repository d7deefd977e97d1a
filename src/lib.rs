//! viva: a self-hosted realtime AI voice interviewer.
//!
//! Rooms: `config` (settings), `startup` (building the app), `http` (routes and middleware),
//! `auth` (accounts, sessions, request protection), `domain` (validated values), `db`
//! (persistence), `telemetry` (logs and metrics), `error` (the HTTP error edge), `fetch`
//! (getting and converting the model files).

pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod fetch;
pub mod http;
pub mod startup;
pub mod state;
pub mod telemetry;
