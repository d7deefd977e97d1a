//! The interview: the catalog it is planned from, planning, the interviews themselves,
//! turn-taking, prompts and scoring.

pub mod catalog;
pub mod conduct_check;
pub mod conductor;
pub mod eval;
pub mod feedback;
pub mod interviews;
pub mod live;
pub mod plan;
pub mod practice;
pub mod prompts;
pub mod protocol;
pub mod report;
pub mod words;
