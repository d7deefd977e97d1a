//! Whisper's special tokens, looked up by name in the model's own tokenizer so that English-only
//! and multilingual checkpoints (whose ids differ) both work.

use tokenizers::Tokenizer;

use crate::speech::SpeechError;

#[derive(Debug, Clone)]
pub struct SpecialTokens {
    pub start_of_transcript: u32,
    pub end_of_text: u32,
    pub no_timestamps: u32,
    pub no_speech: u32,
    /// `<|transcribe|>` and `<|en|>`, used in the prompt of multilingual models only.
    pub transcribe: u32,
    pub english: Option<u32>,
    /// Tokens that must never be produced in plain transcription: the other task and
    /// control tokens, and every timestamp token.
    pub always_suppressed: Vec<u32>,
    /// The first timestamp token; every id from here on is a timestamp.
    pub timestamp_begin: u32,
}

impl SpecialTokens {
    pub fn from_tokenizer(tokenizer: &Tokenizer) -> Result<Self, SpeechError> {
        let id = |name: &str| {
            tokenizer.token_to_id(name).ok_or_else(|| {
                SpeechError::Model(format!("tokenizer lacks the special token {name}"))
            })
        };
        let no_speech = id("<|nospeech|>").or_else(|_| id("<|nocaptions|>"))?;
        let no_timestamps = id("<|notimestamps|>")?;
        let mut always_suppressed = vec![
            id("<|translate|>")?,
            id("<|startoflm|>")?,
            id("<|startofprev|>")?,
            no_speech,
        ];
        always_suppressed.push(id("<|startoftranscript|>")?);
        always_suppressed.push(no_timestamps);
        Ok(Self {
            start_of_transcript: id("<|startoftranscript|>")?,
            end_of_text: id("<|endoftext|>")?,
            transcribe: id("<|transcribe|>")?,
            english: tokenizer.token_to_id("<|en|>"),
            no_timestamps,
            no_speech,
            always_suppressed,
            timestamp_begin: no_timestamps + 1,
        })
    }
}
