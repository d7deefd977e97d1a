//! Chat messages and the ChatML template (SmolLM2, Qwen2).

use super::tokenizer::Tokenizer;
use super::LlmError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatRole {
    System,
    User,
    Assistant,
}

impl ChatRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::User => "user",
            Self::Assistant => "assistant",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: ChatRole,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: ChatRole, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
        }
    }
}

/// `<|im_start|>role\ncontent<|im_end|>\n` per message, then `<|im_start|>assistant\n`.
/// The markers are inserted as token ids and the contents encoded as plain text, so a
/// message that contains `<|im_end|>` cannot end its turn early.
#[derive(Debug, Clone)]
pub struct ChatTemplate {
    start: u32,
    end: u32,
}

impl ChatTemplate {
    pub fn for_tokenizer(tokenizer: &Tokenizer) -> Result<Self, LlmError> {
        match (
            tokenizer.token_id("<|im_start|>"),
            tokenizer.token_id("<|im_end|>"),
        ) {
            (Some(start), Some(end)) => Ok(Self { start, end }),
            _ => Err(LlmError::Tokenizer(
                "the vocabulary has no <|im_start|>/<|im_end|>: only ChatML models are supported"
                    .into(),
            )),
        }
    }

    /// The token that ends a turn.
    pub fn end_of_turn(&self) -> u32 {
        self.end
    }

    pub fn render(
        &self,
        tokenizer: &Tokenizer,
        messages: &[ChatMessage],
    ) -> Result<Vec<u32>, LlmError> {
        let mut ids = Vec::new();
        for message in messages {
            ids.push(self.start);
            ids.extend(tokenizer.encode(&format!(
                "{}\n{}",
                message.role.as_str(),
                message.content
            ))?);
            ids.push(self.end);
            ids.extend(tokenizer.encode("\n")?);
        }
        ids.push(self.start);
        ids.extend(tokenizer.encode("assistant\n")?);
        Ok(ids)
    }
}
