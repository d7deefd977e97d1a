//! Audio input: WAV files of any rate, channel count and sample format, and raw PCM from the
//! browser, turned into the 16 kHz mono `f32` samples the speech model reads.

use std::fs::File;
use std::io::{BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

use rubato::{FftFixedInOut, Resampler};

use super::mel::SAMPLE_RATE;

/// Longest audio accepted, in seconds (30 minutes).
pub const MAX_SECONDS: u32 = 30 * 60;
/// Input sample rates accepted by the resampler.
pub const MIN_RATE: u32 = 1_000;
pub const MAX_RATE: u32 = 384_000;
/// Requested resampler chunk (input frames); rubato rounds it to a multiple that fits the ratio.
const RESAMPLE_CHUNK: usize = 2_048;

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("not a WAV file (no RIFF/WAVE header)")]
    NotWav,
    #[error(
        "unsupported WAV encoding: only integer PCM (8/16/24/32-bit) and 32-bit float are read"
    )]
    UnsupportedEncoding,
    #[error("malformed or unsupported WAV file: {0}")]
    Malformed(String),
    #[error("the WAV file declares zero channels")]
    ZeroChannels,
    #[error("unsupported sample rate {0} Hz (accepted: {MIN_RATE}..={MAX_RATE} Hz)")]
    SampleRate(u32),
    #[error("the audio is empty")]
    Empty,
    #[error("the audio is {seconds:.0} s long; the limit is {MAX_SECONDS} s")]
    TooLong { seconds: f64 },
    #[error("the audio contains NaN or infinite samples")]
    NonFinite,
    #[error("samples must lie in [-1, 1]")]
    OutOfRange,
    #[error("16-bit PCM data must have an even number of bytes, got {0}")]
    OddPcmLength(usize),
    #[error("resampling failed: {0}")]
    Resample(String),
    #[error(
        "not a recording viva reads: send WAV, FLAC, MP3, Ogg (Vorbis or Opus) or WebM (Opus or Vorbis)"
    )]
    NotAudio,
    #[error("{0}")]
    UnsupportedCodec(String),
    #[error("the recording is longer than the limit of {}", humantime::format_duration(*.limit))]
    LongerThan { limit: std::time::Duration },
}

/// Reads a WAV file as 16 kHz mono samples in [-1, 1].
pub fn read_wav(path: &Path) -> Result<Vec<f32>, AudioError> {
    let file = File::open(path).map_err(|source| AudioError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode(BufReader::new(file))
}

/// Decodes an in-memory WAV file as 16 kHz mono samples in [-1, 1].
pub fn decode_wav(bytes: &[u8]) -> Result<Vec<f32>, AudioError> {
    decode(Cursor::new(bytes))
}

/// Little-endian signed 16-bit PCM (the WebSocket audio frames) as samples in [-1, 1).
pub fn pcm16le_to_f32(bytes: &[u8]) -> Result<Vec<f32>, AudioError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(AudioError::OddPcmLength(bytes.len()));
    }
    Ok(bytes
        .chunks_exact(2)
        .map(|pair| f32::from(i16::from_le_bytes([pair[0], pair[1]])) / 32_768.0)
        .collect())
}

/// Resamples mono audio at `rate` Hz to 16 kHz with a band-limited (FFT) resampler.
/// The output is aligned with the input (the resampler's delay is removed) and holds
/// `ceil(len * 16000 / rate)` samples.
pub fn resample_to_16k(samples: &[f32], rate: u32) -> Result<Vec<f32>, AudioError> {
    if !(MIN_RATE..=MAX_RATE).contains(&rate) {
        return Err(AudioError::SampleRate(rate));
    }
    check_duration(samples.len() as u64, rate)?;
    let mut resampler = Resampler16k::new(rate)?;
    resampler.push(samples)?;
    resampler.finish()
}

/// [`resample_to_16k`] fed piece by piece: a decoder hands it each packet's samples and only
/// the 16 kHz result is kept (an hour at 48 kHz never sits in memory whole).
pub struct Resampler16k {
    rate: u32,
    /// `None` when the input is already 16 kHz.
    inner: Option<FftFixedInOut<f32>>,
    chunk_in: usize,
    pending: Vec<f32>,
    output: Vec<f32>,
    resampled: Vec<f32>,
    /// Output samples still to drop at the start (the resampler's delay).
    delay_left: usize,
    /// Input samples pushed so far.
    pushed: u64,
}

impl Resampler16k {
    pub fn new(rate: u32) -> Result<Self, AudioError> {
        if !(MIN_RATE..=MAX_RATE).contains(&rate) {
            return Err(AudioError::SampleRate(rate));
        }
        let (inner, chunk_in, output, delay_left) = if rate == SAMPLE_RATE as u32 {
            (None, 0, Vec::new(), 0)
        } else {
            let resampler =
                FftFixedInOut::<f32>::new(rate as usize, SAMPLE_RATE, chunk_size(rate), 1)
                    .map_err(|e| AudioError::Resample(e.to_string()))?;
            let chunk_in = resampler.input_frames_next();
            let output = vec![0.0f32; resampler.output_frames_max()];
            let delay = resampler.output_delay();
            (Some(resampler), chunk_in, output, delay)
        };
        Ok(Self {
            rate,
            inner,
            chunk_in,
            pending: Vec::new(),
            output,
            resampled: Vec::new(),
            delay_left,
            pushed: 0,
        })
    }

    /// Input samples pushed so far.
    pub fn pushed(&self) -> u64 {
        self.pushed
    }

    /// Adds samples in [-1, 1] (NaN, infinities and far out-of-range values are refused: the
    /// resampler's FFT overflows to NaN on them and rubato panics).
    pub fn push(&mut self, samples: &[f32]) -> Result<(), AudioError> {
        if samples.iter().any(|s| !s.is_finite()) {
            return Err(AudioError::NonFinite);
        }
        if samples.iter().any(|s| s.abs() > 1.0) {
            return Err(AudioError::OutOfRange);
        }
        self.pushed += samples.len() as u64;
        if self.inner.is_none() {
            self.resampled.extend_from_slice(samples);
            return Ok(());
        }
        self.pending.extend_from_slice(samples);
        let mut start = 0;
        while self.pending.len() - start >= self.chunk_in {
            let end = start + self.chunk_in;
            let chunk = std::mem::take(&mut self.pending);
            let result = self.process(&chunk[start..end]);
            self.pending = chunk;
            result?;
            start = end;
        }
        self.pending.drain(..start);
        Ok(())
    }

    fn process(&mut self, chunk: &[f32]) -> Result<(), AudioError> {
        let Some(resampler) = self.inner.as_mut() else {
            return Ok(());
        };
        let (_, written) = resampler
            .process_into_buffer(&[chunk], &mut [&mut self.output], None)
            .map_err(|e| AudioError::Resample(e.to_string()))?;
        let skip = self.delay_left.min(written);
        self.delay_left -= skip;
        self.resampled
            .extend_from_slice(&self.output[skip..written]);
        Ok(())
    }

    /// The 16 kHz samples: `ceil(pushed * 16000 / rate)` of them, aligned with the input.
    pub fn finish(mut self) -> Result<Vec<f32>, AudioError> {
        let target = SAMPLE_RATE as u64;
        let wanted = (self.pushed * target).div_ceil(u64::from(self.rate)) as usize;
        if self.inner.is_some() && self.pushed > 0 {
            // Past the end of the audio the input is zeros, which flushes the delay line.
            let mut input = std::mem::take(&mut self.pending);
            input.resize(self.chunk_in, 0.0);
            let zeros = vec![0.0f32; self.chunk_in];
            self.process(&input)?;
            while self.resampled.len() < wanted {
                self.process(&zeros)?;
            }
        }
        self.resampled.truncate(wanted);
        Ok(self.resampled)
    }
}

/// Input frames per resampler chunk: about `RESAMPLE_CHUNK`, a whole number of the ratio's
/// period, and even. rubato centres its anti-aliasing filter at `len / 2` (integer division)
/// but reports a delay of exactly `len / 2`, so an odd length would shift the output by half an
/// input sample.
fn chunk_size(rate: u32) -> usize {
    let period = rate as usize / gcd(rate as usize, SAMPLE_RATE);
    let mut periods = RESAMPLE_CHUNK.div_ceil(period);
    if (periods * period) % 2 == 1 {
        periods += 1;
    }
    periods * period
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn decode<R: Read>(mut source: R) -> Result<Vec<f32>, AudioError> {
    let mut header = [0u8; 12];
    let read = source.read_exact(&mut header);
    if read.is_err() || !header.starts_with(b"RIFF") || !header.ends_with(b"WAVE") {
        return Err(AudioError::NotWav);
    }
    let reader = hound::WavReader::new(Cursor::new(header).chain(source)).map_err(wav_error)?;
    let spec = reader.spec();
    if spec.channels == 0 {
        return Err(AudioError::ZeroChannels);
    }
    if !(MIN_RATE..=MAX_RATE).contains(&spec.sample_rate) {
        return Err(AudioError::SampleRate(spec.sample_rate));
    }
    let frames = reader.duration();
    if frames == 0 {
        return Err(AudioError::Empty);
    }
    check_duration(u64::from(frames), spec.sample_rate)?;

    let channels = usize::from(spec.channels);
    let mono = match spec.sample_format {
        hound::SampleFormat::Float => downmix(reader.into_samples::<f32>(), channels, 1.0)?,
        hound::SampleFormat::Int => {
            if !(1..=32).contains(&spec.bits_per_sample) {
                return Err(AudioError::UnsupportedEncoding);
            }
            let scale = 1.0 / 2f64.powi(i32::from(spec.bits_per_sample) - 1);
            downmix(reader.into_samples::<i32>(), channels, scale)?
        }
    };
    if mono.is_empty() {
        return Err(AudioError::Empty);
    }
    resample_to_16k(&mono, spec.sample_rate)
}

/// Averages interleaved channels into one, scaling each sample by `scale` and clipping it to
/// [-1, 1] (float files may hold anything, and a damaged header can declare a bit depth its
/// samples exceed).
fn downmix<S, I>(samples: I, channels: usize, scale: f64) -> Result<Vec<f32>, AudioError>
where
    S: Into<f64>,
    I: Iterator<Item = Result<S, hound::Error>>,
{
    let mut mono = Vec::new();
    let mut sum = 0.0f64;
    let mut count = 0;
    for sample in samples {
        sum += sample.map_err(wav_error)?.into();
        count += 1;
        if count == channels {
            let sample = (sum * scale / channels as f64) as f32;
            if !sample.is_finite() {
                return Err(AudioError::NonFinite);
            }
            mono.push(sample.clamp(-1.0, 1.0));
            sum = 0.0;
            count = 0;
        }
    }
    Ok(mono)
}

fn check_duration(frames: u64, rate: u32) -> Result<(), AudioError> {
    if frames > u64::from(MAX_SECONDS) * u64::from(rate) {
        return Err(AudioError::TooLong {
            seconds: frames as f64 / f64::from(rate),
        });
    }
    Ok(())
}

fn wav_error(error: hound::Error) -> AudioError {
    match error {
        hound::Error::FormatError("file contains zero channels") => AudioError::ZeroChannels,
        hound::Error::FormatError(reason) => AudioError::Malformed(reason.to_string()),
        hound::Error::Unsupported => AudioError::UnsupportedEncoding,
        hound::Error::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            AudioError::Malformed("the file ends early (truncated)".to_string())
        }
        other => AudioError::Malformed(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav_bytes(
        spec: hound::WavSpec,
        write: impl FnOnce(&mut hound::WavWriter<Cursor<&mut Vec<u8>>>),
    ) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut writer = hound::WavWriter::new(Cursor::new(&mut bytes), spec).unwrap();
        write(&mut writer);
        writer.finalize().unwrap();
        bytes
    }

    fn spec(
        channels: u16,
        sample_rate: u32,
        bits: u16,
        format: hound::SampleFormat,
    ) -> hound::WavSpec {
        hound::WavSpec {
            channels,
            sample_rate,
            bits_per_sample: bits,
            sample_format: format,
        }
    }

    #[test]
    fn pcm16le_scales_to_unit_range() {
        let samples = pcm16le_to_f32(&[0x00, 0x80, 0xff, 0x7f, 0x00, 0x00, 0x00, 0x40]).unwrap();
        assert_eq!(samples, vec![-1.0, 32_767.0 / 32_768.0, 0.0, 0.5]);
        assert_eq!(pcm16le_to_f32(&[]).unwrap(), Vec::<f32>::new());
        assert!(matches!(
            pcm16le_to_f32(&[1, 2, 3]),
            Err(AudioError::OddPcmLength(3))
        ));
    }

    #[test]
    fn stereo_16k_is_averaged_without_resampling() {
        let bytes = wav_bytes(spec(2, 16_000, 16, hound::SampleFormat::Int), |w| {
            for (l, r) in [(16_384i16, 0i16), (-32_768, -32_768), (100, 300)] {
                w.write_sample(l).unwrap();
                w.write_sample(r).unwrap();
            }
        });
        let samples = decode_wav(&bytes).unwrap();
        assert_eq!(samples, vec![0.25, -1.0, 200.0 / 32_768.0]);
    }

    #[test]
    fn eight_bit_and_float_samples_are_scaled() {
        let eight = wav_bytes(spec(1, 16_000, 8, hound::SampleFormat::Int), |w| {
            for s in [-128i8, 0, 64] {
                w.write_sample(s).unwrap();
            }
        });
        assert_eq!(decode_wav(&eight).unwrap(), vec![-1.0, 0.0, 0.5]);
        let float = wav_bytes(spec(1, 16_000, 32, hound::SampleFormat::Float), |w| {
            for s in [0.125f32, -0.75] {
                w.write_sample(s).unwrap();
            }
        });
        assert_eq!(decode_wav(&float).unwrap(), vec![0.125, -0.75]);
    }

    #[test]
    fn bad_sample_rates_and_lengths_are_refused() {
        assert!(matches!(
            resample_to_16k(&[0.0; 10], 0),
            Err(AudioError::SampleRate(0))
        ));
        assert!(matches!(
            resample_to_16k(&[0.0; 10], 999),
            Err(AudioError::SampleRate(999))
        ));
        let too_long = vec![0.0; (MAX_SECONDS as usize + 1) * 1_000];
        assert!(matches!(
            resample_to_16k(&too_long, 1_000),
            Err(AudioError::TooLong { .. })
        ));
        assert!(matches!(
            resample_to_16k(&[0.0, f32::NAN], 8_000),
            Err(AudioError::NonFinite)
        ));
        assert_eq!(resample_to_16k(&[], 8_000).unwrap(), Vec::<f32>::new());
    }

    #[test]
    fn resampling_keeps_a_tone_in_place() {
        for rate in [8_000u32, 22_050, 44_100, 48_000] {
            let tone = |t: f64| (2.0 * std::f64::consts::PI * 440.0 * t).sin() as f32 * 0.5;
            let input: Vec<f32> = (0..rate)
                .map(|i| tone(f64::from(i) / f64::from(rate)))
                .collect();
            let output = resample_to_16k(&input, rate).unwrap();
            assert_eq!(output.len(), 16_000);
            // Away from the edges (where the input starts and stops abruptly) the output is the
            // same tone sampled at 16 kHz: no delay, no gain change.
            let worst = (2_000..14_000)
                .map(|i| (output[i] - tone(i as f64 / 16_000.0)).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-3, "{rate} Hz: max error {worst}");
        }
    }

    #[test]
    fn far_out_of_range_samples_are_refused_or_clipped_not_a_panic() {
        // Found by `resampling_any_accepted_rate_gives_the_ratio_of_samples`: rubato panicked
        // ("Imaginary part of first value was non-zero") on samples such as 2.4e35.
        let mut loud = vec![0.5f32; 300];
        loud[100] = 2.4e35;
        assert!(matches!(
            resample_to_16k(&loud, 8_000),
            Err(AudioError::OutOfRange)
        ));
        let float = wav_bytes(spec(1, 8_000, 32, hound::SampleFormat::Float), |w| {
            for s in loud {
                w.write_sample(s).unwrap();
            }
        });
        let samples = decode_wav(&float).unwrap();
        assert_eq!(samples.len(), 600);
        assert!(samples.iter().all(|s| s.is_finite()));
    }

    #[test]
    fn resampled_length_follows_the_ratio() {
        for (len, rate, want) in [
            (8_000, 8_000, 16_000),
            (44_100, 44_100, 16_000),
            (1, 48_000, 1),
            (7, 22_050, 6),
        ] {
            let samples = vec![0.1f32; len];
            assert_eq!(
                resample_to_16k(&samples, rate).unwrap().len(),
                want,
                "{len} @ {rate}"
            );
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;
        use crate::fuzzing;

        /// A RIFF/WAVE file with a 16-byte `fmt ` chunk holding exactly these fields, and a data
        /// chunk that declares `data_len` bytes whatever `data` holds.
        #[allow(clippy::too_many_arguments)]
        fn raw_wav(
            format_tag: u16,
            channels: u16,
            rate: u32,
            byte_rate: u32,
            block_align: u16,
            bits: u16,
            data_len: u32,
            data: &[u8],
        ) -> Vec<u8> {
            let mut out = Vec::new();
            out.extend(b"RIFF");
            out.extend((36 + data.len() as u32).to_le_bytes());
            out.extend(b"WAVEfmt ");
            out.extend(16u32.to_le_bytes());
            out.extend(format_tag.to_le_bytes());
            out.extend(channels.to_le_bytes());
            out.extend(rate.to_le_bytes());
            out.extend(byte_rate.to_le_bytes());
            out.extend(block_align.to_le_bytes());
            out.extend(bits.to_le_bytes());
            out.extend(b"data");
            out.extend(data_len.to_le_bytes());
            out.extend(data);
            out
        }

        fn rate() -> impl Strategy<Value = u32> {
            prop_oneof![
                Just(0u32),
                Just(1),
                Just(MIN_RATE - 1),
                Just(MIN_RATE),
                Just(8_000),
                Just(16_000),
                Just(44_100),
                Just(MAX_RATE),
                Just(MAX_RATE + 1),
                Just(u32::MAX),
                any::<u32>(),
            ]
        }

        /// A small valid WAV written by hound, in one of the encodings viva reads.
        fn valid_wav() -> impl Strategy<Value = Vec<u8>> {
            let encodings = vec![
                (8u16, hound::SampleFormat::Int),
                (16, hound::SampleFormat::Int),
                (24, hound::SampleFormat::Int),
                (32, hound::SampleFormat::Int),
                (32, hound::SampleFormat::Float),
            ];
            (
                proptest::sample::select(encodings),
                1u16..=3,
                proptest::sample::select(vec![8_000u32, 16_000, 44_100]),
                proptest::collection::vec(-1.0f32..1.0, 1..16),
            )
                .prop_map(|((bits, format), channels, rate, frames)| {
                    // hound writes whole frames only: every channel of every frame.
                    let values = frames
                        .iter()
                        .flat_map(|&v| std::iter::repeat_n(v, usize::from(channels)));
                    wav_bytes(spec(channels, rate, bits, format), |w| {
                        for v in values {
                            let written = match format {
                                hound::SampleFormat::Float => w.write_sample(v),
                                hound::SampleFormat::Int => {
                                    let peak = (1i64 << (bits - 1)) - 1;
                                    w.write_sample((f64::from(v) * peak as f64) as i32)
                                }
                            };
                            written.unwrap();
                        }
                    })
                })
        }

        /// What any WAV input must lead to: 16 kHz samples that are all finite, or an error
        /// that says what is wrong.
        fn check_decoded(bytes: &[u8]) -> Result<(), TestCaseError> {
            match decode_wav(bytes) {
                Ok(samples) => {
                    prop_assert!(!samples.is_empty());
                    prop_assert!(samples.iter().all(|s| s.is_finite()));
                    // No more output than 16 kHz from the slowest rate accepted would give.
                    prop_assert!(samples.len() <= bytes.len() * 16_000 / MIN_RATE as usize + 1);
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(fuzzing::config(512))]

            #[test]
            fn mutated_wavs_decode_or_fail_clearly(bytes in valid_wav().prop_flat_map(fuzzing::mutated)) {
                check_decoded(&bytes)?;
            }

            #[test]
            fn truncated_wavs_fail_clearly(bytes in valid_wav(), cut in any::<proptest::sample::Index>()) {
                let cut = cut.index(bytes.len());
                prop_assert!(decode_wav(&bytes[..cut]).is_err());
            }

            #[test]
            fn absurd_headers_are_refused_or_decoded(
                format_tag in prop_oneof![Just(1u16), Just(3), Just(0xfffe), any::<u16>()],
                channels in prop_oneof![Just(0u16), Just(1), Just(2), Just(u16::MAX), any::<u16>()],
                rate in rate(),
                byte_rate in any::<u32>(),
                block_align in prop_oneof![Just(0u16), Just(1), Just(2), Just(u16::MAX), any::<u16>()],
                bits in prop_oneof![
                    Just(0u16), Just(1), Just(8), Just(12), Just(16), Just(24), Just(32), Just(64),
                    Just(u16::MAX), any::<u16>(),
                ],
                data_len in prop_oneof![Just(0u32), Just(u32::MAX), Just(0x7fff_ffff), any::<u32>()],
                data in proptest::collection::vec(any::<u8>(), 0..64),
            ) {
                let declared = if data_len == 0 { data.len() as u32 } else { data_len };
                let bytes = raw_wav(format_tag, channels, rate, byte_rate, block_align, bits, declared, &data);
                check_decoded(&bytes)?;
            }

            #[test]
            fn garbage_is_not_a_wav(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
                check_decoded(&bytes)?;
            }

            #[test]
            fn pcm16_decodes_every_even_length(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
                match pcm16le_to_f32(&bytes) {
                    Ok(samples) => {
                        prop_assert_eq!(samples.len() * 2, bytes.len());
                        prop_assert!(samples.iter().all(|s| (-1.0..1.0).contains(s)));
                    }
                    Err(e) => {
                        prop_assert!(bytes.len() % 2 == 1);
                        prop_assert!(!e.to_string().is_empty());
                    }
                }
            }
        }

        proptest! {
            // Every accepted rate builds its own resampler: fewer, costlier cases.
            #![proptest_config(fuzzing::config(48))]

            #[test]
            fn resampling_any_accepted_rate_gives_the_ratio_of_samples(
                rate in prop_oneof![rate(), MIN_RATE..=MAX_RATE],
                samples in proptest::collection::vec(
                    prop_oneof![20 => -1.0f32..1.0, 1 => any::<f32>()],
                    0..300,
                ),
            ) {
                match resample_to_16k(&samples, rate) {
                    Ok(out) => {
                        let want = (samples.len() as u64 * 16_000).div_ceil(u64::from(rate));
                        prop_assert_eq!(out.len() as u64, want);
                        prop_assert!(out.iter().all(|s| s.is_finite()));
                    }
                    Err(AudioError::SampleRate(r)) => {
                        prop_assert_eq!(r, rate);
                        prop_assert!(!(MIN_RATE..=MAX_RATE).contains(&rate));
                    }
                    Err(AudioError::NonFinite) => {
                        prop_assert!(samples.iter().any(|s| !s.is_finite()))
                    }
                    Err(AudioError::OutOfRange) => {
                        prop_assert!(samples.iter().any(|s| s.abs() > 1.0))
                    }
                    Err(other) => prop_assert!(false, "unexpected {other}"),
                }
            }
        }
    }
}
