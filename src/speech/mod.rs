//! Speech: audio input (`audio`, and uploaded recordings in `decode`), cutting long audio at
//! its silences (`segment`), log-mel features (`mel`), the speech model that reads them,
//! and voice activity / turn endpointing (`vad`).

pub mod audio;
pub mod decode;
pub mod mel;
pub mod segment;
pub mod vad;
pub mod wer;
pub mod whisper;

#[derive(Debug, thiserror::Error)]
pub enum SpeechError {
    #[error(transparent)]
    Audio(#[from] audio::AudioError),
    #[error(transparent)]
    Mel(#[from] mel::MelError),
    #[error("speech model: {0}")]
    Model(String),
    #[error("inference failed: {0}")]
    Candle(#[from] candle_core::Error),
}
