//! Feedback on one answer, computed without a database or a socket:
//!
//! - [`delivery`]: how it was said (pace, fillers, pauses), measured from the transcript and
//!   the audio, no model involved;
//! - [`assessment`]: what it said against the question's rubric: evidence from the sentence
//!   encoder and from the text itself ([`signals`]), turned into a score by a fixed formula;
//! - [`record`]: the two as stored and shown.

pub mod assessment;
pub mod delivery;
pub mod judge;
pub mod record;
pub mod signals;

pub use assessment::{assess, Assessment, AssessmentSource, Flag};
pub use delivery::{measure, Delivery, FillerCount};
pub use record::TurnFeedback;
