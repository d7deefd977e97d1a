//! Other rates, channel counts and sample formats of a recording, made in the tests themselves
//! (no sox to install): a reference resampler written from the textbook definition, independent
//! of the app's FFT resampler (rubato), and a WAV writer for each sample format.

use std::path::PathBuf;

use super::test_audio_dir;

/// Zero crossings of the interpolation kernel on each side of its centre: a transition band of
/// about 4% of the cut-off.
const ZERO_CROSSINGS: f64 = 128.0;
/// Kaiser window shape: about 80 dB of stop-band attenuation.
const KAISER_BETA: f64 = 8.0;
/// Pass band as a share of the lower rate's Nyquist frequency (sox's default, 95%).
const PASS_BAND: f64 = 0.95;

/// Resamples mono audio from `from` Hz to `to` Hz by band-limited (windowed-sinc) interpolation,
/// computed directly: every output sample is the input convolved with a low-pass kernel centred
/// on the output sample's position. `samples.len() * to / from` samples come out (rounded), with
/// no delay.
pub fn resample(samples: &[f32], from: u32, to: u32) -> Vec<f32> {
    let divisor = gcd(from, to);
    // Output sample m sits at input position m * step / phases: `phases` distinct kernels.
    let (phases, step) = (u64::from(to / divisor), u64::from(from / divisor));
    // Cycles per input sample.
    let cutoff = 0.5 * PASS_BAND * (f64::from(to) / f64::from(from)).min(1.0);
    let half_width = ZERO_CROSSINGS / (2.0 * cutoff);
    let taps = half_width.ceil() as i64;
    let offsets: Vec<i64> = (1 - taps..=taps).collect();
    let kernels: Vec<Vec<f64>> = (0..phases)
        .map(|phase| {
            let fraction = phase as f64 / phases as f64;
            offsets
                .iter()
                .map(|&offset| {
                    let distance = fraction - offset as f64;
                    if distance.abs() >= half_width {
                        0.0
                    } else {
                        2.0 * cutoff * sinc(2.0 * cutoff * distance) * kaiser(distance / half_width)
                    }
                })
                .collect()
        })
        .collect();
    let length = (samples.len() as u64 * phases + step / 2) / step;
    (0..length)
        .map(|m| {
            let position = m * step;
            let base = (position / phases) as i64;
            let kernel = &kernels[(position % phases) as usize];
            let mut sum = 0.0f64;
            for (&offset, &weight) in offsets.iter().zip(kernel) {
                let index = base + offset;
                if let Some(&sample) = usize::try_from(index).ok().and_then(|i| samples.get(i)) {
                    sum += f64::from(sample) * weight;
                }
            }
            sum as f32
        })
        .collect()
}

fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        let angle = std::f64::consts::PI * x;
        angle.sin() / angle
    }
}

/// The Kaiser window at `x` in -1..=1.
fn kaiser(x: f64) -> f64 {
    bessel_i0(KAISER_BETA * (1.0 - x * x).max(0.0).sqrt()) / bessel_i0(KAISER_BETA)
}

/// The modified Bessel function of the first kind, order 0, from its power series.
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term, mut k) = (1.0f64, 1.0f64, 1.0f64);
    while term > sum * 1e-16 {
        term *= (x / (2.0 * k)).powi(2);
        sum += term;
        k += 1.0;
    }
    sum
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// How a written WAV stores its samples.
#[derive(Clone, Copy, Debug)]
pub enum WavEncoding {
    /// Integers of this many bits (8-bit WAV is unsigned on disk, the others signed).
    Int(u16),
    /// 32-bit IEEE floats.
    Float,
}

/// Writes mono `samples` (in -1..1) as `target/test-audio/NAME` at `rate` Hz, the same in each of
/// `channels` channels, stored as `encoding`. Integers are rounded, not dithered, so a 16-bit
/// sample `s / 32768` is stored exactly as `s << (bits - 16)`.
pub fn write_wav(
    name: &str,
    samples: &[f32],
    rate: u32,
    channels: u16,
    encoding: WavEncoding,
) -> PathBuf {
    let destination = test_audio_dir().join(name);
    // Rename into place so a concurrent test (another binary, or another thread of this one)
    // never reads a half-written file, nor renames away this one's.
    static WRITES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let write = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let partial = test_audio_dir().join(format!("partial-{}-{write}-{name}", std::process::id()));
    let (bits_per_sample, sample_format) = match encoding {
        WavEncoding::Int(bits) => (bits, hound::SampleFormat::Int),
        WavEncoding::Float => (32, hound::SampleFormat::Float),
    };
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample,
        sample_format,
    };
    let written = (|| {
        let mut writer = hound::WavWriter::create(&partial, spec)?;
        for &sample in samples {
            for _ in 0..channels {
                match encoding {
                    WavEncoding::Float => writer.write_sample(sample)?,
                    WavEncoding::Int(bits) => {
                        let full_scale = f64::from(1u32 << (bits - 1));
                        let value = (f64::from(sample) * full_scale)
                            .round()
                            .clamp(-full_scale, full_scale - 1.0);
                        writer.write_sample(value as i32)?;
                    }
                }
            }
        }
        writer.finalize()
    })();
    if let Err(e) = written
        .map_err(|e| e.to_string())
        .and_then(|()| std::fs::rename(&partial, &destination).map_err(|e| e.to_string()))
    {
        panic!("writing {}: {e}", destination.display());
    }
    destination
}
