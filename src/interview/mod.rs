//! The interview: turn-taking, prompts and scoring.

pub mod prompts;
