#!/usr/bin/env python3
"""Reference log-mel features, written from OpenAI Whisper's algorithm (numpy only, float64).

Whisper's `log_mel_spectrogram`: centred STFT (reflect padding of n_fft/2 on each side), periodic
Hann window, |rfft|^2 power, slaney mel filterbank (librosa's `filters.mel` with htk=False and
norm="slaney"), last STFT frame dropped, log10(max(x, 1e-10)), clamp to (global max - 8), then
(x + 4) / 4. The audio is padded or trimmed to the requested length before the STFT.

Running this file regenerates tests/fixtures/mel/ (a 1.3 s chirp + noise signal and the
features the Rust implementation is tested against):

    pip install numpy && python3 tests/reference/whisper_log_mel.py
"""

import json
import pathlib
import struct
import wave

import numpy as np

SAMPLE_RATE = 16_000
N_FFT = 400
HOP_LENGTH = 160
CHUNK_SAMPLES = 30 * SAMPLE_RATE


def hz_to_mel(f):
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    f_sp = 200.0 / 3.0
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    linear = f / f_sp
    log = min_log_mel + np.log(np.maximum(f, min_log_hz) / min_log_hz) / logstep
    return np.where(f >= min_log_hz, log, linear)


def mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    f_sp = 200.0 / 3.0
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    linear = f_sp * m
    log = min_log_hz * np.exp(logstep * (m - min_log_mel))
    return np.where(m >= min_log_mel, log, linear)


def mel_filterbank(n_mels, sr=SAMPLE_RATE, n_fft=N_FFT, fmin=0.0, fmax=None):
    """Triangular filters on the slaney mel scale, each normalised to unit area (norm="slaney")."""
    fmax = sr / 2.0 if fmax is None else fmax
    fft_freqs = np.linspace(0.0, sr / 2.0, 1 + n_fft // 2)
    mel_points = np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2)
    hz_points = mel_to_hz(mel_points)
    widths = np.diff(hz_points)
    ramps = hz_points[:, None] - fft_freqs[None, :]
    weights = np.zeros((n_mels, len(fft_freqs)))
    for i in range(n_mels):
        lower = -ramps[i] / widths[i]
        upper = ramps[i + 2] / widths[i + 1]
        weights[i] = np.maximum(0.0, np.minimum(lower, upper))
    enorm = 2.0 / (hz_points[2 : n_mels + 2] - hz_points[:n_mels])
    return weights * enorm[:, None]


def pad_or_trim(audio, length):
    if len(audio) >= length:
        return audio[:length]
    return np.concatenate([audio, np.zeros(length - len(audio))])


def log_mel(audio, n_mels, n_samples):
    """Features of `audio` padded/trimmed to `n_samples`: shape [n_mels, n_samples // HOP_LENGTH]."""
    audio = pad_or_trim(np.asarray(audio, dtype=np.float64), n_samples)
    half = N_FFT // 2
    padded = np.pad(audio, (half, half), mode="reflect")
    n = np.arange(N_FFT)
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / N_FFT)  # periodic Hann
    n_frames = 1 + (len(padded) - N_FFT) // HOP_LENGTH
    frames = np.stack([padded[t * HOP_LENGTH : t * HOP_LENGTH + N_FFT] for t in range(n_frames)])
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2  # [frames, 201]
    power = power[:-1]  # Whisper drops the last frame
    mel = mel_filterbank(n_mels) @ power.T  # [n_mels, frames]
    log_spec = np.log10(np.maximum(mel, 1e-10))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return (log_spec + 4.0) / 4.0


def audio_only_samples(n):
    """Frames for MelLength::AudioOnly: ceil(n / hop) rounded up to even, at most 3000."""
    frames = -(-n // HOP_LENGTH)
    frames += frames % 2
    return min(frames, CHUNK_SAMPLES // HOP_LENGTH) * HOP_LENGTH


def test_signal():
    """1.3 s: 0.15 s of faint noise, then a 100 Hz -> 7 kHz chirp over louder noise."""
    rng = np.random.default_rng(20261201)
    n = int(1.3 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    f0, f1, dur = 100.0, 7000.0, t[-1]
    phase = 2.0 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2.0 * dur))
    signal = 0.5 * np.sin(phase) + 0.02 * rng.standard_normal(n)
    quiet = int(0.15 * SAMPLE_RATE)
    signal[:quiet] = 0.0005 * rng.standard_normal(quiet)
    pcm = np.clip(np.round(signal * 32767.0), -32768, 32767).astype("<i2")
    return pcm


def main():
    out = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "mel"
    out.mkdir(parents=True, exist_ok=True)
    pcm = test_signal()
    with wave.open(str(out / "chirp_noise.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())
    audio = pcm.astype(np.float64) / 32768.0

    cases = []
    head_frames = 136  # the 130 audio frames plus a few of the zero padding
    for n_mels, mode, n_samples, stored in [
        (80, "audio_only", audio_only_samples(len(audio)), None),
        (128, "audio_only", audio_only_samples(len(audio)), None),
        (80, "chunk30s", CHUNK_SAMPLES, head_frames),
    ]:
        spec = log_mel(audio, n_mels, n_samples)
        n_frames = spec.shape[1]
        stored = n_frames if stored is None else stored
        name = f"mel{n_mels}_{mode}.f32"
        (out / name).write_bytes(spec[:, :stored].astype("<f4").tobytes())
        cases.append(
            {
                "file": name,
                "n_mels": n_mels,
                "mode": mode,
                "n_frames": n_frames,
                "stored_frames": stored,
                "sum": float(spec.sum()),
                "min": float(spec.min()),
                "max": float(spec.max()),
                "last_frame": [float(v) for v in spec[:, -1]],
            }
        )
    meta = {"signal": "chirp_noise.wav", "layout": "f32 little-endian, row-major [n_mels, stored_frames]", "cases": cases}
    (out / "reference.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
