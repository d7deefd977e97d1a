//! Feedback on one answer, computed without a database or a socket:
//!
//! - [`delivery`]: how it was said (pace, fillers, pauses), measured from the transcript and
//!   the audio, no model involved;
//! - [`assessment`]: what it said against the question's rubric, written by the model under
//!   validation, with a keyword fallback that never invents a number;
//! - [`record`]: the two as stored and shown.

pub mod assessment;
pub mod delivery;
pub mod prompt;
pub mod record;

pub use assessment::{assess, Assessment, AssessmentSource};
pub use delivery::{measure, Delivery, FillerCount};
pub use record::TurnFeedback;
