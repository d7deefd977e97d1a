//! Choosing the next token from logits.

use candle_core::Tensor;
use candle_transformers::generation::{LogitsProcessor, Sampling};

/// How a reply is generated.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    /// The reply stops after this many tokens.
    pub max_tokens: usize,
    /// 0 picks the most likely token every time (greedy, deterministic).
    pub temperature: f64,
    /// Nucleus sampling: only the most likely tokens whose probabilities sum to `top_p`
    /// are candidates; 1 disables it.
    pub top_p: f64,
    /// Logits of recently generated tokens are divided (positive) or multiplied (negative)
    /// by this; 1 disables it.
    pub repeat_penalty: f32,
    /// How many of the latest generated tokens the repeat penalty looks at.
    pub repeat_last_n: usize,
    /// The same seed, prompt and options give the same reply.
    pub seed: u64,
}

impl Default for GenerateOptions {
    /// An interviewer's turn: short, focused, a little varied.
    fn default() -> Self {
        Self {
            max_tokens: 200,
            temperature: 0.3,
            top_p: 0.9,
            repeat_penalty: 1.1,
            repeat_last_n: 64,
            seed: 42,
        }
    }
}

pub struct Sampler {
    processor: LogitsProcessor,
    repeat_penalty: f32,
    repeat_last_n: usize,
    /// Never penalised: repeating an end-of-turn token in the history must not keep the
    /// model from ending this turn.
    exempt: Vec<u32>,
}

impl Sampler {
    pub fn new(options: &GenerateOptions, exempt: Vec<u32>) -> Self {
        let sampling = if options.temperature <= 0.0 {
            Sampling::ArgMax
        } else if options.top_p > 0.0 && options.top_p < 1.0 {
            Sampling::TopP {
                p: options.top_p,
                temperature: options.temperature,
            }
        } else {
            Sampling::All {
                temperature: options.temperature,
            }
        };
        Self {
            processor: LogitsProcessor::from_sampling(options.seed, sampling),
            repeat_penalty: options.repeat_penalty,
            repeat_last_n: options.repeat_last_n,
            exempt,
        }
    }

    /// Picks the next token given the logits and the tokens generated so far.
    pub fn sample(&mut self, logits: &Tensor, generated: &[u32]) -> candle_core::Result<u32> {
        let recent = &generated[generated.len().saturating_sub(self.repeat_last_n)..];
        if self.repeat_penalty == 1.0 || recent.is_empty() {
            return self.processor.sample(logits);
        }
        let recent: Vec<u32> = recent
            .iter()
            .copied()
            .filter(|t| !self.exempt.contains(t))
            .collect();
        let logits =
            candle_transformers::utils::apply_repeat_penalty(logits, self.repeat_penalty, &recent)?;
        self.processor.sample(&logits)
    }
}
