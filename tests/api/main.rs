//! Integration tests: the real app in-process, real HTTP, a real SQLite file per test and,
//! with VIVA_TEST_POSTGRES_URL set, a real Postgres database per test.

mod helpers;
mod hostile_files;
#[path = "../support/mod.rs"]
mod support;

mod account;
mod api_keys;
mod auth;
mod browser;
mod browser_account;
mod browser_integrations;
mod browser_transcription;
mod browser_voice;
mod catalog;
mod cdp;
mod cli;
mod cluster;
mod deploy;
mod failover;
mod faults;
mod hiring;
mod http_edge;
mod interviews;
mod judgement;
mod live;
mod migrations;
mod oidc;
mod openapi;
mod reports;
mod sessions;
mod shared_limits;
mod streams;
mod telemetry;
mod transcriptions;
mod uploads;
mod voice;
mod webhooks;
