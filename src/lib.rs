//! viva: a self-hosted realtime AI voice interviewer.
//!
//! Rooms: `config` (settings), `startup` (building the app), `http` (routes and middleware),
//! `auth` (accounts, sessions, request protection), `domain` (validated values), `db`
//! (persistence), `speech` (audio input, log-mel features, speech recognition), `llm` (the
//! language model engine), `embedding` (the sentence encoder), `inference` (the worker threads that own the models), `fetch`
//! (getting and converting the model files), `interview`
//! (the interview itself), `telemetry` (logs and metrics), `error` (the HTTP error edge),
//! `storage` (private files on disk).
//! The hand-written CPU kernels the models use are the `viva-kernels` package (`src/kernels/`).

pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod embedding;
pub mod error;
pub mod fetch;
#[cfg(test)]
mod fuzzing;
pub mod hiring;
pub mod http;
pub mod inference;
pub mod interview;
pub mod llm;
pub mod speech;
pub mod startup;
pub mod state;
pub mod storage;
pub mod telemetry;
