//! Whisper's log-mel features, computed exactly like OpenAI's reference implementation.
//! (Written here: Whisper needs this exact padding, window and filterbank to 1e-4, which the
//! general mel crates do not give.)
//!
//! Centred STFT frames (reflect padding of `N_FFT / 2` on each side), a periodic Hann window,
//! `|rfft|^2` power, a slaney-normalised mel filterbank (librosa's `filters.mel` with
//! `htk=False, norm="slaney"`, 0–8 kHz), the last STFT frame dropped, `log10(max(x, 1e-10))`,
//! a floor of (global max − 8), then `(x + 4) / 4`. `tests/reference/whisper_log_mel.py` is the
//! executable reference the tests compare against.

use std::fmt;
use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

pub const SAMPLE_RATE: usize = 16_000;
pub const N_FFT: usize = 400;
pub const HOP_LENGTH: usize = 160;
/// 30 s: the window Whisper's encoder was trained on.
pub const CHUNK_SAMPLES: usize = 480_000;
pub const CHUNK_FRAMES: usize = 3_000;
/// Shorter windows are not worth transcribing (0.1 s).
pub const MIN_SAMPLES: usize = 1_600;

/// Frequency bins of a real FFT of `N_FFT` samples.
const N_BINS: usize = N_FFT / 2 + 1;
const LOG_FLOOR: f32 = 1e-10;
/// Dynamic range kept below the loudest value, in log10 units (80 dB).
const DYNAMIC_RANGE: f32 = 8.0;

#[derive(Debug, thiserror::Error)]
pub enum MelError {
    #[error("unsupported number of mel bins {0}: Whisper models use 80 or 128")]
    UnsupportedMels(usize),
    #[error("no audio samples to compute features from")]
    Empty,
    #[error("the audio contains NaN or infinite samples")]
    NonFinite,
}

/// How many frames to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MelLength {
    /// Pad (with zeros) or trim the audio to 30 s: always `CHUNK_FRAMES` frames.
    Chunk30s,
    /// Only the audio's own frames: `ceil(len / HOP_LENGTH)` rounded up to an even number (the
    /// encoder's stride-2 convolution needs an even count), at most `CHUNK_FRAMES`.
    AudioOnly,
}

impl MelLength {
    /// Frames produced for `n_samples` samples of audio.
    pub fn n_frames(self, n_samples: usize) -> usize {
        match self {
            MelLength::Chunk30s => CHUNK_FRAMES,
            MelLength::AudioOnly => {
                let frames = n_samples.div_ceil(HOP_LENGTH);
                (frames + frames % 2).min(CHUNK_FRAMES)
            }
        }
    }
}

/// Log-mel features, row-major `[n_mels, n_frames]`.
#[derive(Debug, Clone, PartialEq)]
pub struct MelSpectrogram {
    n_mels: usize,
    n_frames: usize,
    data: Vec<f32>,
}

impl MelSpectrogram {
    pub fn n_mels(&self) -> usize {
        self.n_mels
    }

    pub fn n_frames(&self) -> usize {
        self.n_frames
    }

    /// Row-major `[n_mels, n_frames]`.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The row-major `[n_mels, n_frames]` buffer, without copying.
    pub fn into_data(self) -> Vec<f32> {
        self.data
    }
}

/// One triangular mel filter, stored as its non-zero span of FFT bins.
struct MelFilter {
    first_bin: usize,
    weights: Vec<f32>,
}

/// A log-mel feature extractor: window, FFT plan and filterbank are built once and reused.
pub struct LogMel {
    n_mels: usize,
    window: Vec<f32>,
    fft: Arc<dyn Fft<f32>>,
    filters: Vec<MelFilter>,
}

impl fmt::Debug for LogMel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogMel")
            .field("n_mels", &self.n_mels)
            .finish_non_exhaustive()
    }
}

impl LogMel {
    /// A feature extractor for `n_mels` bins: 80 (Whisper v1/v2, distil, .en) or 128 (v3).
    pub fn new(n_mels: usize) -> Result<Self, MelError> {
        if n_mels != 80 && n_mels != 128 {
            return Err(MelError::UnsupportedMels(n_mels));
        }
        let fft = FftPlanner::<f32>::new().plan_fft_forward(N_FFT);
        Ok(Self {
            n_mels,
            window: periodic_hann(N_FFT),
            fft,
            filters: slaney_filterbank(n_mels),
        })
    }

    pub fn n_mels(&self) -> usize {
        self.n_mels
    }

    /// The filterbank as a dense row-major `[n_mels, N_FFT / 2 + 1]` matrix, the layout of
    /// Whisper's `mel_filters.npz` (and what other implementations take as input).
    pub fn dense_filters(&self) -> Vec<f32> {
        let mut dense = vec![0.0f32; self.n_mels * N_BINS];
        for (row, filter) in dense.chunks_exact_mut(N_BINS).zip(&self.filters) {
            row[filter.first_bin..filter.first_bin + filter.weights.len()]
                .copy_from_slice(&filter.weights);
        }
        dense
    }

    /// Features of 16 kHz mono `samples`, padded or trimmed as `length` says.
    pub fn compute(&self, samples: &[f32], length: MelLength) -> Result<MelSpectrogram, MelError> {
        if samples.is_empty() {
            return Err(MelError::Empty);
        }
        if samples.iter().any(|s| !s.is_finite()) {
            return Err(MelError::NonFinite);
        }
        let n_frames = length.n_frames(samples.len());
        let padded = centred_input(samples, n_frames * HOP_LENGTH);

        let mut data = vec![0.0f32; self.n_mels * n_frames];
        let mut spectrum = vec![Complex::new(0.0f32, 0.0); N_FFT];
        let mut scratch = vec![Complex::new(0.0f32, 0.0); self.fft.get_inplace_scratch_len()];
        let mut power = [0.0f32; N_BINS];
        // The STFT yields n_frames + 1 frames; the last one is dropped, as in the reference.
        for frame in 0..n_frames {
            let start = frame * HOP_LENGTH;
            let input = &padded[start..start + N_FFT];
            for ((bin, &x), &w) in spectrum.iter_mut().zip(input).zip(&self.window) {
                *bin = Complex::new(x * w, 0.0);
            }
            self.fft.process_with_scratch(&mut spectrum, &mut scratch);
            for (p, c) in power.iter_mut().zip(&spectrum) {
                *p = c.norm_sqr();
            }
            for (mel, filter) in self.filters.iter().enumerate() {
                let energy: f32 = filter
                    .weights
                    .iter()
                    .zip(&power[filter.first_bin..])
                    .map(|(w, p)| w * p)
                    .sum();
                data[mel * n_frames + frame] = energy.max(LOG_FLOOR).log10();
            }
        }

        let max = data.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let floor = max - DYNAMIC_RANGE;
        for value in &mut data {
            *value = (value.max(floor) + 4.0) / 4.0;
        }
        Ok(MelSpectrogram {
            n_mels: self.n_mels,
            n_frames,
            data,
        })
    }
}

/// The audio zero-padded or trimmed to `n_samples`, then reflect-padded by `N_FFT / 2` on each
/// side (numpy's `mode="reflect"`: the edge sample itself is not repeated).
fn centred_input(samples: &[f32], n_samples: usize) -> Vec<f32> {
    let half = N_FFT / 2;
    let mut audio = samples[..samples.len().min(n_samples)].to_vec();
    audio.resize(n_samples, 0.0);
    // n_samples is at least 2 * HOP_LENGTH > half, so both reflections stay inside the audio.
    let mut padded = Vec::with_capacity(n_samples + 2 * half);
    padded.extend((1..=half).rev().map(|i| audio[i]));
    padded.extend_from_slice(&audio);
    padded.extend((1..=half).map(|i| audio[n_samples - 1 - i]));
    padded
}

fn periodic_hann(len: usize) -> Vec<f32> {
    (0..len)
        .map(|n| {
            let phase = 2.0 * std::f64::consts::PI * n as f64 / len as f64;
            (0.5 - 0.5 * phase.cos()) as f32
        })
        .collect()
}

const SLANEY_F_SP: f64 = 200.0 / 3.0;
const SLANEY_MIN_LOG_HZ: f64 = 1000.0;
const SLANEY_MIN_LOG_MEL: f64 = SLANEY_MIN_LOG_HZ / SLANEY_F_SP;

fn slaney_log_step() -> f64 {
    6.4f64.ln() / 27.0
}

/// Slaney's mel scale: linear below 1 kHz, logarithmic above.
fn hz_to_mel(hz: f64) -> f64 {
    if hz >= SLANEY_MIN_LOG_HZ {
        SLANEY_MIN_LOG_MEL + (hz / SLANEY_MIN_LOG_HZ).ln() / slaney_log_step()
    } else {
        hz / SLANEY_F_SP
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    if mel >= SLANEY_MIN_LOG_MEL {
        SLANEY_MIN_LOG_HZ * (slaney_log_step() * (mel - SLANEY_MIN_LOG_MEL)).exp()
    } else {
        mel * SLANEY_F_SP
    }
}

/// Triangular filters evenly spaced on the slaney mel scale from 0 Hz to Nyquist, each scaled
/// to unit area (librosa's `norm="slaney"`), over the `N_BINS` bins of an `N_FFT` FFT.
fn slaney_filterbank(n_mels: usize) -> Vec<MelFilter> {
    let nyquist = SAMPLE_RATE as f64 / 2.0;
    let max_mel = hz_to_mel(nyquist);
    let edges: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(max_mel * i as f64 / (n_mels + 1) as f64))
        .collect();
    let bin_hz = |bin: usize| nyquist * bin as f64 / (N_BINS - 1) as f64;

    edges
        .windows(3)
        .map(|edge| {
            let (low, centre, high) = (edge[0], edge[1], edge[2]);
            let norm = 2.0 / (high - low);
            let weights: Vec<(usize, f32)> = (0..N_BINS)
                .filter_map(|bin| {
                    let hz = bin_hz(bin);
                    let rising = (hz - low) / (centre - low);
                    let falling = (high - hz) / (high - centre);
                    let weight = rising.min(falling).max(0.0) * norm;
                    (weight > 0.0).then_some((bin, weight as f32))
                })
                .collect();
            MelFilter {
                first_bin: weights.first().map_or(0, |&(bin, _)| bin),
                weights: weights.into_iter().map(|(_, w)| w).collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_counts_follow_the_length_mode() {
        assert_eq!(MelLength::Chunk30s.n_frames(1), CHUNK_FRAMES);
        assert_eq!(
            MelLength::Chunk30s.n_frames(10 * CHUNK_SAMPLES),
            CHUNK_FRAMES
        );
        assert_eq!(MelLength::AudioOnly.n_frames(1), 2);
        assert_eq!(MelLength::AudioOnly.n_frames(160), 2);
        assert_eq!(MelLength::AudioOnly.n_frames(320), 2);
        assert_eq!(MelLength::AudioOnly.n_frames(321), 4);
        assert_eq!(MelLength::AudioOnly.n_frames(20_800), 130);
        assert_eq!(MelLength::AudioOnly.n_frames(20_801), 132);
        assert_eq!(
            MelLength::AudioOnly.n_frames(CHUNK_SAMPLES - 1),
            CHUNK_FRAMES
        );
        assert_eq!(
            MelLength::AudioOnly.n_frames(CHUNK_SAMPLES + 1),
            CHUNK_FRAMES
        );
    }

    #[test]
    fn computed_shapes_match_the_mode() {
        let mel = LogMel::new(80).unwrap();
        let tone: Vec<f32> = (0..MIN_SAMPLES + 5)
            .map(|i| (i as f32 * 0.05).sin() * 0.3)
            .collect();
        let short = mel.compute(&tone, MelLength::AudioOnly).unwrap();
        assert_eq!((short.n_mels(), short.n_frames()), (80, 12));
        assert_eq!(short.data().len(), 80 * 12);
        let full = mel.compute(&tone, MelLength::Chunk30s).unwrap();
        assert_eq!((full.n_mels(), full.n_frames()), (80, CHUNK_FRAMES));
        assert_eq!(full.into_data().len(), 80 * CHUNK_FRAMES);
        let one_sample = mel.compute(&[0.5], MelLength::AudioOnly).unwrap();
        assert_eq!(one_sample.n_frames(), 2);
    }

    #[test]
    fn v3_uses_128_bins() {
        let mel = LogMel::new(128).unwrap();
        assert_eq!(mel.n_mels(), 128);
        let noise: Vec<f32> = (0..4_000u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761) >> 16) as f32 / 65_536.0) - 0.5)
            .collect();
        let spec = mel.compute(&noise, MelLength::AudioOnly).unwrap();
        assert_eq!((spec.n_mels(), spec.n_frames()), (128, 26));
        assert!(spec.data().iter().all(|v| v.is_finite()));
    }

    #[test]
    fn other_bin_counts_are_refused() {
        for n_mels in [0, 40, 64, 81, 127, 256] {
            assert!(matches!(
                LogMel::new(n_mels),
                Err(MelError::UnsupportedMels(n)) if n == n_mels
            ));
        }
    }

    #[test]
    fn empty_or_non_finite_audio_is_refused() {
        let mel = LogMel::new(80).unwrap();
        assert!(matches!(
            mel.compute(&[], MelLength::AudioOnly),
            Err(MelError::Empty)
        ));
        assert!(matches!(
            mel.compute(&[0.1, f32::NAN, 0.2], MelLength::Chunk30s),
            Err(MelError::NonFinite)
        ));
        assert!(matches!(
            mel.compute(&[f32::INFINITY; 400], MelLength::AudioOnly),
            Err(MelError::NonFinite)
        ));
    }

    #[test]
    fn silence_sits_at_the_floor() {
        let mel = LogMel::new(80).unwrap();
        let spec = mel.compute(&[0.0; 3_200], MelLength::AudioOnly).unwrap();
        // log10(1e-10) = -10 everywhere, so the clamp changes nothing: (-10 + 4) / 4.
        assert!(spec.data().iter().all(|&v| (v - -1.5).abs() < 1e-6));
    }

    #[test]
    fn filterbank_is_slaney_normalised() {
        let filters = slaney_filterbank(80);
        assert_eq!(filters.len(), 80);
        // Unit area in Hz: each filter's weights sum to 1 / bin width (40 Hz) when the
        // triangle covers several bins.
        let wide = &filters[79];
        let area: f32 = wide.weights.iter().sum::<f32>() * 40.0;
        assert!((area - 1.0).abs() < 0.05, "area {area}");
        // The first filter starts at 0 Hz and the mel points are increasing.
        assert!(filters[0].first_bin <= 1);
        assert!(filters.windows(2).all(|w| w[0].first_bin <= w[1].first_bin));
        assert!((mel_to_hz(hz_to_mel(3_456.0)) - 3_456.0).abs() < 1e-9);
        assert!((hz_to_mel(1_000.0) - 15.0).abs() < 1e-12);
    }
}
