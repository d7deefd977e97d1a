//! A Piper voice: a VITS model exported to ONNX, run by ONNX Runtime (the `ort` crate, which
//! loads the runtime's shared library at run time, so nothing is linked or downloaded at build
//! time).
//!
//! The input is the phonemes' ids from the voice's config, each followed by the pad id and
//! framed by the start and end ids, with the config's noise and length scales; the output is
//! the waveform at the config's sample rate.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;
use ort::session::Session;
use ort::value::Tensor;
use serde::Deserialize;

use super::{Audio, VoiceError};

const PAD: &str = "_";
const START: &str = "^";
const END: &str = "$";

/// ONNX Runtime is loaded once per process, from the first library path asked for.
static RUNTIME: OnceLock<Result<(PathBuf, Environment), String>> = OnceLock::new();

fn runtime(library: &Path) -> Result<&'static Environment, VoiceError> {
    let loaded = RUNTIME.get_or_init(|| {
        let environment = ort::init_from(library)
            .map_err(|e| format!("cannot load {}: {e}", library.display()))?
            .with_name("viva-voice")
            .build()
            .map_err(|e| e.to_string())?;
        Ok((library.to_owned(), environment))
    });
    match loaded {
        Ok((path, environment)) => {
            if path != library {
                tracing::warn!(
                    loaded = %path.display(), asked = %library.display(),
                    "ONNX Runtime is loaded once per process; keeping the first library"
                );
            }
            Ok(environment)
        }
        Err(e) => Err(VoiceError::Runtime(e.clone())),
    }
}

#[derive(Debug, Deserialize)]
struct Config {
    audio: AudioConfig,
    espeak: EspeakConfig,
    inference: InferenceConfig,
    phoneme_id_map: std::collections::HashMap<String, Vec<i64>>,
    #[serde(default)]
    num_speakers: u32,
}

#[derive(Debug, Deserialize)]
struct AudioConfig {
    sample_rate: u32,
}

#[derive(Debug, Deserialize)]
struct EspeakConfig {
    voice: String,
}

#[derive(Debug, Deserialize)]
struct InferenceConfig {
    noise_scale: f32,
    length_scale: f32,
    noise_w: f32,
}

pub struct PiperVoice {
    session: Session,
    config: Config,
}

impl PiperVoice {
    /// Loads the voice `model` with its JSON `config`, on `threads` intra-op threads of the
    /// ONNX Runtime at `library`.
    pub fn load(
        model: &Path,
        config: &Path,
        library: &Path,
        threads: usize,
    ) -> Result<Self, VoiceError> {
        let text = std::fs::read_to_string(config)
            .map_err(|e| VoiceError::Files(format!("{}: {e}", config.display())))?;
        let config: Config = serde_json::from_str(&text)
            .map_err(|e| VoiceError::Files(format!("{}: {e}", config.display())))?;
        if config.num_speakers > 1 {
            return Err(VoiceError::Files(format!(
                "{} has {} speakers; viva runs single-speaker voices",
                model.display(),
                config.num_speakers
            )));
        }
        for symbol in [PAD, START, END] {
            if !config.phoneme_id_map.contains_key(symbol) {
                return Err(VoiceError::Files(format!(
                    "the voice's config has no id for {symbol:?}"
                )));
            }
        }
        if !model.is_file() {
            return Err(VoiceError::Files(format!("{} is missing", model.display())));
        }
        if !library.is_file() {
            return Err(VoiceError::Files(format!(
                "{} is missing",
                library.display()
            )));
        }
        let environment = runtime(library)?;
        let runtime_err = |e: ort::Error| VoiceError::Runtime(e.to_string());
        let session = Session::builder(environment)
            .map_err(runtime_err)?
            .with_intra_threads(threads.max(1))
            .map_err(|e| VoiceError::Runtime(e.to_string()))?
            .commit_from_file(model)
            .map_err(runtime_err)?;
        Ok(Self { session, config })
    }

    pub fn sample_rate(&self) -> u32 {
        self.config.audio.sample_rate
    }

    /// espeak-ng's voice for the phonemes this voice was trained on (e.g. `en-us`).
    pub fn espeak_voice(&self) -> &str {
        &self.config.espeak.voice
    }

    /// The model's input for `phonemes`; symbols the voice has no id for are left out.
    pub fn ids(&self, phonemes: &str) -> Vec<i64> {
        let map = &self.config.phoneme_id_map;
        let id = |symbol: &str| map.get(symbol).map(Vec::as_slice).unwrap_or_default();
        let mut ids = id(START).to_vec();
        ids.extend_from_slice(id(PAD));
        let mut symbol = [0u8; 4];
        for c in phonemes.chars() {
            if let Some(found) = map.get(&*c.encode_utf8(&mut symbol)) {
                ids.extend_from_slice(found);
                ids.extend_from_slice(id(PAD));
            }
        }
        ids.extend_from_slice(id(END));
        ids
    }

    /// Speaks `phonemes` (one forward pass).
    pub fn speak(&mut self, phonemes: &str) -> Result<Audio, VoiceError> {
        let sample_rate = self.sample_rate();
        let ids = self.ids(phonemes);
        // Only the framing ids: nothing to say.
        if ids.len() <= 3 {
            return Ok(Audio {
                samples: Vec::new(),
                sample_rate,
            });
        }
        let runtime_err = |e: ort::Error| VoiceError::Runtime(e.to_string());
        let count = ids.len();
        let inference = &self.config.inference;
        let scales = vec![
            inference.noise_scale,
            inference.length_scale,
            inference.noise_w,
        ];
        let input = Tensor::from_array(([1usize, count], ids)).map_err(runtime_err)?;
        let lengths = Tensor::from_array(([1usize], vec![count as i64])).map_err(runtime_err)?;
        let scales = Tensor::from_array(([3usize], scales)).map_err(runtime_err)?;
        let outputs = self
            .session
            .run(ort::inputs![
                "input" => input,
                "input_lengths" => lengths,
                "scales" => scales
            ])
            .map_err(runtime_err)?;
        let (_, samples) = outputs[0]
            .try_extract_tensor::<f32>()
            .map_err(runtime_err)?;
        Ok(Audio {
            samples: samples.to_vec(),
            sample_rate,
        })
    }
}
