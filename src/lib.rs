//! viva: a self-hosted realtime AI voice interviewer.
//!
//! The rooms, by layer (ARCHITECTURE.md; each uses only its own layer and those below):
//! - edge: `http` (routes, handlers, guards, middleware), `error` (the HTTP error edge),
//!   `state` (what handlers reach), `startup` (building the app);
//! - services: `auth` (accounts, sessions, rate limits), `interview` (the interview itself),
//!   `hiring` (jobs, candidates, invites, emails), `webhooks` (signed event delivery);
//! - runtime: `config` (settings), `inference` (the worker threads that own the models),
//!   `telemetry` (logs and metrics), `activity` (the live feed of interview events), `cluster`
//!   (what the nodes of one deployment tell each other), `mail` (sending email);
//! - engines: `db` (persistence), `llm` (the language model), `speech` (audio, log-mel
//!   features, speech recognition), `voice` (speech synthesis: the interviewer's
//!   voice), `embedding` (the sentence encoder), `fetch` (getting and
//!   converting model files), `resume` (reading uploaded resumes);
//! - foundation: `domain` (validated values), `storage` (private files on disk).
//!
//! The hand-written CPU kernels the models use are the `viva-kernels` package (`src/kernels/`).

pub mod activity;
pub mod auth;
pub mod cluster;
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
#[cfg(test)]
mod layer_check;
pub mod llm;
pub mod loadtest;
pub mod mail;
pub mod resume;
pub mod speech;
pub mod startup;
pub mod state;
pub mod storage;
pub mod telemetry;
pub mod transcription;
pub mod voice;
pub mod webhooks;
