//! Integration tests: the real app in-process, real HTTP, a real SQLite file per test and,
//! with VIVA_TEST_POSTGRES_URL set, a real Postgres database per test.

mod helpers;
mod hostile_files;
#[path = "../support/mod.rs"]
mod support;

mod account;
mod auth;
mod browser;
mod browser_account;
mod browser_transcription;
mod catalog;
mod cdp;
mod cli;
mod faults;
mod hiring;
mod http_edge;
mod interviews;
mod judgement;
mod live;
mod migrations;
mod oidc;
mod reports;
mod sessions;
mod streams;
mod telemetry;
mod transcriptions;
mod uploads;
