//! Voice activity and turn endpointing: when does a spoken answer start, and when is it over?
//!
//! Two layers, both pure (no I/O, no clocks: time is counted in samples of 16 kHz audio):
//!
//! - [`VoiceActivity`] classifies 20 ms frames. Its feature is the energy in the telephone band
//!   (300–3400 Hz, where speech carries most of its energy; rumble, hum and hiss largely fall
//!   outside it), in dB, compared with an adaptive noise floor that follows the quiet parts
//!   quickly downward and creeps upward slowly, so a room that gets noisier is learned within a
//!   few seconds while a talker's own voice barely lifts it. Frames above the floor by a margin
//!   (and above an absolute gate) are *voiced*; a hangover bridges the short dips between
//!   syllables into one *run*.
//! - [`TurnDetector`] turns runs into answers. A run becomes speech once it holds
//!   [`TurnSettings::min_speech`] of voiced frames, at least half of its frames are voiced, and
//!   its energy has risen and fallen like syllables do (a drop of at least 10 dB after a peak).
//!   That rejects clicks, coughs and other short bursts, and steady noise that switches on
//!   (a fan, a hiss step) however long it lasts. The answer ends after
//!   [`TurnSettings::end_silence`] without a voiced frame, at [`TurnSettings::max_answer`], or
//!   when the client says so ([`TurnDetector::end_turn`], push-to-talk). Silence and noise alone
//!   never end a turn, because they never start one.
//!
//! Audio arrives in chunks of any size; frames are cut on a fixed grid from the start of the
//! stream, so the decisions do not depend on how the audio was chunked.

use std::sync::Arc;
use std::time::Duration;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use super::mel::SAMPLE_RATE;

/// Samples in one analysis frame: 20 ms at 16 kHz.
pub const FRAME: usize = SAMPLE_RATE / 50;
const FRAME_SECONDS: f32 = 0.02;
const FFT_LEN: usize = 512;
/// The telephone band, as FFT bins of `FFT_LEN` at 16 kHz (31.25 Hz per bin): 312.5–3375 Hz.
const BAND_LO_BIN: usize = 10;
const BAND_HI_BIN: usize = 108;

/// Where the floor starts before it has heard anything, and the lowest it goes: below this
/// everything is silence anyway (a digitally silent input would otherwise drag the floor to
/// -120 dB and make the first breath of hiss look like speech).
const FLOOR_MIN_DB: f32 = -70.0;
/// Frames that count as voiced are louder than this whatever the floor (band power, dBFS).
/// Quiet speech into a browser microphone sits around -40..-25 dB; recordings' hiss near -65.
const GATE_DB: f32 = -55.0;
/// A frame must exceed the floor by this much to start a run...
const ON_MARGIN_DB: f32 = 10.0;
/// ...and by this much to keep one going (hysteresis keeps quiet word endings).
const OFF_MARGIN_DB: f32 = 7.0;
/// A run survives this many unvoiced frames (200 ms): the dips inside and between words.
const HANGOVER_FRAMES: u32 = 10;
/// The first frames (200 ms) teach the floor: it takes their minimum.
const WARMUP_FRAMES: u64 = 10;
/// Time constants of the floor: down in 60 ms, up in 2 s but never faster than 6 dB/s.
const FLOOR_DOWN_TAU_S: f32 = 0.06;
const FLOOR_UP_TAU_S: f32 = 2.0;
const FLOOR_UP_MAX_DB_PER_S: f32 = 6.0;
/// Speech rises and falls (syllables); a run whose energy never dropped this far below its
/// peak is a steady sound, not speech.
const MODULATION_DB: f32 = 10.0;

/// The classification of one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameDecision {
    /// Band energy of the frame (dBFS of the 300–3400 Hz band; -120 for digital silence).
    pub energy_db: f32,
    /// The noise floor the frame was compared with.
    pub floor_db: f32,
    /// The frame itself is loud enough above the floor to be speech.
    pub voiced: bool,
    /// Inside a run: voiced, or within the hangover after a voiced frame.
    pub in_run: bool,
}

/// A stretch of voiced frames joined across short dips.
#[derive(Debug, Clone, Copy)]
struct Run {
    frames: u32,
    voiced: u32,
    since_voiced: u32,
    peak_db: f32,
    drawdown_db: f32,
}

/// Frame classifier: band energy against an adaptive noise floor, with hangover.
#[derive(Clone)]
pub struct VoiceActivity {
    fft: Arc<dyn Fft<f32>>,
    window: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    /// Turns the band's summed |X|² into mean power per sample.
    power_scale: f32,
    floor_db: f32,
    frames_seen: u64,
    run: Option<Run>,
}

impl std::fmt::Debug for VoiceActivity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceActivity")
            .field("floor_db", &self.floor_db)
            .field("frames_seen", &self.frames_seen)
            .field("run", &self.run)
            .finish_non_exhaustive()
    }
}

impl Default for VoiceActivity {
    fn default() -> Self {
        Self::new()
    }
}

impl VoiceActivity {
    pub fn new() -> Self {
        let fft = FftPlanner::<f32>::new().plan_fft_forward(FFT_LEN);
        let scratch = vec![Complex::default(); fft.get_inplace_scratch_len()];
        // Periodic Hann window over the frame; the FFT zero-pads the frame to FFT_LEN.
        let window: Vec<f32> = (0..FRAME)
            .map(|n| {
                let phase = std::f32::consts::TAU * n as f32 / FRAME as f32;
                0.5 - 0.5 * phase.cos()
            })
            .collect();
        let window_power: f32 = window.iter().map(|w| w * w).sum();
        Self {
            fft,
            power_scale: 2.0 / (FFT_LEN as f32 * window_power),
            window,
            spectrum: vec![Complex::default(); FFT_LEN],
            scratch,
            floor_db: FLOOR_MIN_DB,
            frames_seen: 0,
            run: None,
        }
    }

    /// The current noise floor (dBFS band power).
    pub fn noise_floor_db(&self) -> f32 {
        self.floor_db
    }

    /// Forgets everything, the learned floor included.
    pub fn reset(&mut self) {
        self.floor_db = FLOOR_MIN_DB;
        self.frames_seen = 0;
        self.run = None;
    }

    /// Ends the current run (after a turn was cut), so the next one is judged afresh.
    pub fn end_run(&mut self) {
        self.run = None;
    }

    /// Band energy of a frame in dBFS. Samples must be finite (the turn detector cleans them).
    pub fn band_energy_db(&mut self, frame: &[f32; FRAME]) -> f32 {
        for (slot, (sample, w)) in self.spectrum.iter_mut().zip(frame.iter().zip(&self.window)) {
            *slot = Complex::new(sample * w, 0.0);
        }
        for slot in &mut self.spectrum[FRAME..] {
            *slot = Complex::default();
        }
        self.fft
            .process_with_scratch(&mut self.spectrum, &mut self.scratch);
        let band: f32 = self.spectrum[BAND_LO_BIN..=BAND_HI_BIN]
            .iter()
            .map(Complex::norm_sqr)
            .sum();
        let db = 10.0 * (band * self.power_scale + 1e-12).log10();
        if db.is_finite() {
            db
        } else {
            -120.0
        }
    }

    /// Classifies one frame and learns from it.
    pub fn classify(&mut self, frame: &[f32; FRAME]) -> FrameDecision {
        let energy_db = self.band_energy_db(frame);
        if self.frames_seen < WARMUP_FRAMES {
            // Learn first: the first frames are taken as the room's noise.
            self.floor_db = if self.frames_seen == 0 {
                energy_db
            } else {
                self.floor_db.min(energy_db)
            }
            .max(FLOOR_MIN_DB);
        }
        let floor_db = self.floor_db;
        let margin = if self.run.is_some() {
            OFF_MARGIN_DB
        } else {
            ON_MARGIN_DB
        };
        let voiced = energy_db > floor_db + margin && energy_db > GATE_DB;
        if self.frames_seen >= WARMUP_FRAMES {
            self.follow_floor(energy_db);
        }
        self.frames_seen += 1;
        self.advance_run(energy_db, voiced);
        FrameDecision {
            energy_db,
            floor_db,
            voiced,
            in_run: self.run.is_some(),
        }
    }

    fn follow_floor(&mut self, energy_db: f32) {
        let gap = energy_db - self.floor_db;
        let step = if gap < 0.0 {
            gap * (1.0 - (-FRAME_SECONDS / FLOOR_DOWN_TAU_S).exp())
        } else {
            (gap * (1.0 - (-FRAME_SECONDS / FLOOR_UP_TAU_S).exp()))
                .min(FLOOR_UP_MAX_DB_PER_S * FRAME_SECONDS)
        };
        self.floor_db = (self.floor_db + step).max(FLOOR_MIN_DB);
    }

    fn advance_run(&mut self, energy_db: f32, voiced: bool) {
        if voiced && self.run.is_none() {
            self.run = Some(Run {
                frames: 0,
                voiced: 0,
                since_voiced: 0,
                peak_db: energy_db,
                drawdown_db: 0.0,
            });
        }
        let Some(run) = &mut self.run else { return };
        if voiced {
            run.since_voiced = 0;
            run.voiced = run.voiced.saturating_add(1);
        } else {
            run.since_voiced += 1;
            if run.since_voiced > HANGOVER_FRAMES {
                self.run = None;
                return;
            }
        }
        run.frames = run.frames.saturating_add(1);
        run.peak_db = run.peak_db.max(energy_db);
        run.drawdown_db = run.drawdown_db.max(run.peak_db - energy_db);
    }

    /// Whether the current run sounds like speech: at least `min_voiced` voiced frames, at
    /// least half of its frames (up to the last voiced one) voiced, and a syllable-like drop in
    /// energy somewhere inside it.
    pub fn run_is_speech(&self, min_voiced: u32) -> bool {
        self.run.is_some_and(|run| {
            run.voiced >= min_voiced.max(1)
                && run.voiced.saturating_mul(2) >= run.frames - run.since_voiced
                && run.drawdown_db >= MODULATION_DB
        })
    }
}

/// How an answer is cut out of the stream. Durations are rounded to whole 20 ms frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurnSettings {
    /// Silence after the last voiced frame that ends an answer (thinking pauses are shorter).
    pub end_silence: Duration,
    /// Voiced audio a sound needs before it counts as an answer (a cough or a click has less).
    pub min_speech: Duration,
    /// Longest answer; a longer one is cut here and the rest starts a new turn.
    pub max_answer: Duration,
    /// Audio kept from before the detected onset (soft first consonants).
    pub pre_roll: Duration,
    /// Audio kept after the last voiced frame when the answer ends in silence.
    pub post_roll: Duration,
}

impl Default for TurnSettings {
    fn default() -> Self {
        Self {
            end_silence: Duration::from_millis(1500),
            min_speech: Duration::from_millis(300),
            max_answer: Duration::from_secs(180),
            pre_roll: Duration::from_millis(300),
            post_roll: Duration::from_millis(300),
        }
    }
}

/// Why a turn ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// `end_silence` passed without speech.
    Silence,
    /// The answer reached `max_answer`.
    MaxLength,
    /// The client ended it (push-to-talk released).
    Explicit,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TurnEvent {
    /// Speech has been heard long enough to be an answer (about `min_speech` after its onset).
    SpeechStarted,
    /// The answer is over: its audio (16 kHz mono, from `pre_roll` before the onset) and where
    /// that audio starts, counted in samples since the detector was created.
    TurnEnded {
        audio: Vec<f32>,
        start_sample: u64,
        reason: EndReason,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No sound worth keeping; the buffer holds the last `pre_roll` of audio.
    Idle,
    /// Something voiced was heard, not (yet) enough to be speech.
    Candidate { explicit_ok: bool },
    /// An answer is in progress (`SpeechStarted` was sent).
    Speaking,
}

/// Endpointer: cuts answers out of a stream of 16 kHz mono samples.
///
/// Memory is bounded: the buffer never holds more than `pre_roll + max_answer` plus one frame.
#[derive(Debug, Clone)]
pub struct TurnDetector {
    vad: VoiceActivity,
    state: State,
    /// Samples not yet making a whole frame.
    partial: Vec<f32>,
    /// Audio of the turn in progress (or the pre-roll), ending at `processed`.
    buffer: Vec<f32>,
    /// Samples of the stream moved into `buffer` so far (classified, or flushed by `end_turn`).
    processed: u64,
    /// Stream position just after the last voiced frame.
    last_voiced_end: u64,
    end_silence: u64,
    min_speech_frames: u32,
    max_buffer: usize,
    pre_roll: usize,
    post_roll: u64,
}

fn samples(duration: Duration) -> u64 {
    let n = (duration.as_secs_f64() * SAMPLE_RATE as f64).round();
    if n.is_finite() && n >= 0.0 {
        n.min(u64::MAX as f64) as u64
    } else {
        0
    }
}

fn frames(duration: Duration) -> u64 {
    samples(duration).div_ceil(FRAME as u64)
}

impl TurnDetector {
    pub fn new(settings: TurnSettings) -> Self {
        // Whole frames, at least one; the answer cap keeps at least one frame of audio.
        let whole_frames = |d: Duration| frames(d).saturating_mul(FRAME as u64);
        let limit = usize::MAX as u64 / 4;
        let pre_roll = whole_frames(settings.pre_roll).min(limit);
        let max_answer = whole_frames(settings.max_answer).clamp(FRAME as u64, limit);
        Self {
            vad: VoiceActivity::new(),
            state: State::Idle,
            partial: Vec::with_capacity(FRAME),
            buffer: Vec::new(),
            processed: 0,
            last_voiced_end: 0,
            end_silence: whole_frames(settings.end_silence).max(FRAME as u64),
            min_speech_frames: u32::try_from(frames(settings.min_speech).max(1))
                .unwrap_or(u32::MAX),
            max_buffer: (pre_roll + max_answer) as usize,
            pre_roll: pre_roll as usize,
            post_roll: whole_frames(settings.post_roll),
        }
    }

    /// The frame classifier (its noise floor, for diagnostics).
    pub fn voice_activity(&self) -> &VoiceActivity {
        &self.vad
    }

    /// Whether an answer is in progress (`SpeechStarted` sent, `TurnEnded` not yet).
    pub fn is_speaking(&self) -> bool {
        self.state == State::Speaking
    }

    /// How long an answer in progress has been silent since its last voiced frame (zero
    /// while the candidate talks, or when no answer is in progress). The answer ends when this
    /// reaches `end_silence`.
    pub fn trailing_silence(&self) -> Duration {
        if self.state != State::Speaking {
            return Duration::ZERO;
        }
        let silent = self.processed.saturating_sub(self.last_voiced_end);
        Duration::from_secs_f64(silent as f64 / SAMPLE_RATE as f64)
    }

    /// Samples received since the detector was created.
    pub fn samples_received(&self) -> u64 {
        self.processed + self.partial.len() as u64
    }

    /// Feeds audio (16 kHz mono, any chunk size; NaN and infinities count as silence, values
    /// are clamped to [-1, 1]) and returns what happened in it.
    pub fn push(&mut self, samples: &[f32]) -> Vec<TurnEvent> {
        let mut events = Vec::new();
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (FRAME - self.partial.len()).min(rest.len());
            self.partial.extend(rest[..take].iter().map(|&s| clean(s)));
            rest = &rest[take..];
            if let Ok(frame) = <[f32; FRAME]>::try_from(self.partial.as_slice()) {
                self.partial.clear();
                self.frame(&frame, &mut events);
            }
        }
        events
    }

    /// Ends the answer now (push-to-talk released). Returns `TurnEnded` with everything heard
    /// since the onset (preceded by `SpeechStarted` if it had not been sent yet) when the audio
    /// holds speech, and nothing otherwise. Push-to-talk accepts answers half as long as
    /// `min_speech` ("yes"), since the person said they meant to speak.
    pub fn end_turn(&mut self) -> Vec<TurnEvent> {
        let announce = match self.state {
            State::Idle | State::Candidate { explicit_ok: false } => None,
            State::Candidate { explicit_ok: true } => Some(true),
            State::Speaking => Some(false),
        };
        let Some(announce) = announce else {
            return Vec::new();
        };
        self.processed += self.partial.len() as u64;
        self.buffer.append(&mut self.partial);
        let mut events = Vec::with_capacity(2);
        if announce {
            events.push(TurnEvent::SpeechStarted);
        }
        let audio = std::mem::take(&mut self.buffer);
        events.push(TurnEvent::TurnEnded {
            start_sample: self.processed - audio.len() as u64,
            audio,
            reason: EndReason::Explicit,
        });
        self.state = State::Idle;
        self.vad.end_run();
        events
    }

    /// Drops any answer in progress and the buffered audio. The learned noise floor stays
    /// (the room has not changed); stream positions keep counting.
    pub fn reset(&mut self) {
        self.processed += self.partial.len() as u64;
        self.partial.clear();
        self.buffer.clear();
        self.state = State::Idle;
        self.vad.end_run();
    }

    fn frame(&mut self, frame: &[f32; FRAME], events: &mut Vec<TurnEvent>) {
        let decision = self.vad.classify(frame);
        self.buffer.extend_from_slice(frame);
        self.processed += FRAME as u64;
        if decision.voiced {
            self.last_voiced_end = self.processed;
        }
        let silent_for = self.processed - self.last_voiced_end;
        match self.state {
            State::Idle => {
                if decision.voiced {
                    self.state = State::Candidate { explicit_ok: false };
                    self.judge_candidate(events);
                } else {
                    self.keep_tail(self.pre_roll);
                }
            }
            State::Candidate { .. } => {
                if silent_for >= self.end_silence {
                    self.state = State::Idle;
                    self.keep_tail(self.pre_roll);
                } else {
                    self.judge_candidate(events);
                    if self.state != State::Speaking {
                        // Endless clicks never confirm; keep the buffer bounded anyway.
                        self.keep_tail(self.max_buffer);
                    }
                }
            }
            State::Speaking => {
                if silent_for >= self.end_silence {
                    let end = self
                        .last_voiced_end
                        .saturating_add(self.post_roll)
                        .min(self.processed);
                    self.cut(end, EndReason::Silence, events);
                } else if self.buffer.len() >= self.max_buffer {
                    let end = self.processed - (self.buffer.len() - self.max_buffer) as u64;
                    // If the talker goes on, the run (already judged speech) starts the next turn.
                    self.cut(end, EndReason::MaxLength, events);
                }
            }
        }
    }

    fn judge_candidate(&mut self, events: &mut Vec<TurnEvent>) {
        if self.vad.run_is_speech(self.min_speech_frames) {
            self.state = State::Speaking;
            events.push(TurnEvent::SpeechStarted);
        } else if self.vad.run_is_speech(self.min_speech_frames.div_ceil(2)) {
            self.state = State::Candidate { explicit_ok: true };
        }
    }

    /// Sends the buffered audio up to stream position `end` as the answer; the rest stays as
    /// the next pre-roll.
    fn cut(&mut self, end: u64, reason: EndReason, events: &mut Vec<TurnEvent>) {
        let buffer_start = self.processed - self.buffer.len() as u64;
        let split = usize::try_from(end.saturating_sub(buffer_start))
            .unwrap_or(usize::MAX)
            .min(self.buffer.len());
        let rest = self.buffer.split_off(split);
        let audio = std::mem::replace(&mut self.buffer, rest);
        self.state = State::Idle;
        self.keep_tail(self.pre_roll);
        events.push(TurnEvent::TurnEnded {
            audio,
            start_sample: buffer_start,
            reason,
        });
    }

    /// Keeps only the last `len` samples of the buffer.
    fn keep_tail(&mut self, len: usize) {
        if self.buffer.len() > len {
            self.buffer.drain(..self.buffer.len() - len);
        }
    }
}

fn clean(sample: f32) -> f32 {
    if sample.is_finite() {
        sample.clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic white noise at `db` dBFS RMS (SplitMix64, sum of uniforms).
    fn noise(seconds: f32, db: f32, seed: u64) -> Vec<f32> {
        let mut state = seed;
        let mut uniform = move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f32 / (1u64 << 53) as f32 - 0.5
        };
        let amplitude = 10f32.powf(db / 20.0);
        // The sum of 12 uniforms on [-0.5, 0.5) has unit variance.
        (0..(seconds * SAMPLE_RATE as f32) as usize)
            .map(|_| amplitude * (0..12).map(|_| uniform()).sum::<f32>())
            .collect()
    }

    fn feed(vad: &mut VoiceActivity, audio: &[f32]) -> Vec<FrameDecision> {
        audio
            .chunks_exact(FRAME)
            .map(|frame| vad.classify(frame.try_into().expect("a whole frame")))
            .collect()
    }

    /// White noise at `db` RMS has this band power: the band is (3375 - 312.5) / 8000 of it.
    fn band_db(db: f32) -> f32 {
        db + 10.0 * (3062.5f32 / 8000.0).log10()
    }

    #[test]
    fn the_floor_is_learned_from_the_first_frames() {
        for level in [-60.0, -40.0, -20.0] {
            let mut vad = VoiceActivity::new();
            let decisions = feed(&mut vad, &noise(0.2, level, 1));
            assert!(
                (vad.noise_floor_db() - band_db(level)).abs() < 4.0,
                "noise at {level} dB: floor {} dB, expected about {} dB",
                vad.noise_floor_db(),
                band_db(level)
            );
            assert!(decisions.iter().all(|d| !d.voiced), "{decisions:?}");
        }
    }

    #[test]
    fn the_floor_follows_quiet_quickly_and_loud_slowly() {
        let mut vad = VoiceActivity::new();
        feed(&mut vad, &noise(2.0, -30.0, 2));
        let loud = vad.noise_floor_db();
        // 200 ms of quieter noise: the floor is already down there.
        feed(&mut vad, &noise(0.2, -60.0, 3));
        assert!(
            vad.noise_floor_db() < band_db(-60.0) + 4.0,
            "floor {} after 200 ms of quiet (was {loud})",
            vad.noise_floor_db()
        );
        // Half a second of noise 30 dB louder barely moves it (speech would not lift it)...
        feed(&mut vad, &noise(0.5, -30.0, 4));
        let after_half_second = vad.noise_floor_db();
        assert!(
            after_half_second < band_db(-60.0) + 6.0,
            "floor {after_half_second} after 0.5 s of louder noise"
        );
        // ...but a room that stays louder is learned within seconds.
        let decisions = feed(&mut vad, &noise(8.0, -30.0, 5));
        assert!(
            (vad.noise_floor_db() - band_db(-30.0)).abs() < 4.0,
            "floor {} after 8 s, noise at {}",
            vad.noise_floor_db(),
            band_db(-30.0)
        );
        assert!(!decisions.last().expect("frames").voiced);
    }

    #[test]
    fn digital_silence_keeps_the_floor_at_its_minimum() {
        let mut vad = VoiceActivity::new();
        let decisions = feed(&mut vad, &vec![0.0; SAMPLE_RATE * 5]);
        assert_eq!(vad.noise_floor_db(), FLOOR_MIN_DB);
        assert!(decisions.iter().all(|d| !d.voiced && d.energy_db <= -100.0));
    }

    #[test]
    fn a_steady_sound_that_switches_on_is_never_speech() {
        let mut vad = VoiceActivity::new();
        feed(&mut vad, &vec![0.0; SAMPLE_RATE]);
        let mut speech = false;
        for frame in noise(10.0, -25.0, 6).chunks_exact(FRAME) {
            let decision = vad.classify(frame.try_into().expect("a whole frame"));
            speech |= decision.voiced && vad.run_is_speech(15);
        }
        assert!(!speech, "steady noise judged as speech");
        assert!(!vad.classify(&[0.0; FRAME]).voiced);
    }

    #[test]
    fn nonsense_input_does_not_panic_or_poison_the_detector() {
        let mut detector = TurnDetector::new(TurnSettings::default());
        assert!(detector.push(&[]).is_empty());
        assert!(detector.push(&[f32::NAN; 1000]).is_empty());
        assert!(detector
            .push(&[f32::INFINITY, f32::NEG_INFINITY, 1e30, -1e30])
            .is_empty());
        assert!(detector.push(&[0.0; 7]).is_empty());
        assert!(detector.end_turn().is_empty());
        assert!(detector.voice_activity().noise_floor_db().is_finite());
        detector.reset();
        let odd = TurnDetector::new(TurnSettings {
            end_silence: Duration::ZERO,
            min_speech: Duration::ZERO,
            max_answer: Duration::ZERO,
            pre_roll: Duration::MAX,
            post_roll: Duration::MAX,
        });
        let mut odd = odd;
        let _ = odd.push(&noise(1.0, -20.0, 7));
        let _ = odd.end_turn();
    }
}
