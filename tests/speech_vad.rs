//! Turn endpointing on real speech: recordings from pocketsphinx-testdata and jfk.wav, set in
//! digital silence or in noise (white, pink and brown, deterministic), fed in 20 ms chunks as the
//! browser sends them.
//!
//! Where speech starts and ends in a recording is measured independently of the detector: the
//! 20 ms frames of the clean recording whose band energy is within 30 dB of its loudest frame
//! and at least 6 dB above the noise laid under it (what can be heard over the noise).

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use viva::speech::audio::read_wav;
use viva::speech::vad::{EndReason, TurnDetector, TurnEvent, TurnSettings, VoiceActivity, FRAME};

const RATE: usize = 16_000;
const CHUNK: usize = 320;

fn seconds(s: f64) -> usize {
    (s * RATE as f64).round() as usize
}

fn ms(samples: i64) -> i64 {
    samples * 1000 / RATE as i64
}

/// Deterministic noise (SplitMix64) at `db` dBFS RMS.
#[derive(Clone, Copy, Debug)]
enum Noise {
    Silence,
    White(f32),
    Pink(f32),
    Brown(f32),
}

impl Noise {
    fn generate(self, len: usize, seed: u64) -> Vec<f32> {
        let mut state = seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x1234_5678;
        let mut gauss = move || {
            let mut sum = 0.0f32;
            for _ in 0..12 {
                state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                sum += ((z ^ (z >> 31)) >> 11) as f32 / (1u64 << 53) as f32 - 0.5;
            }
            sum
        };
        let (shape, db): (fn(&mut [f32]), f32) = match self {
            Noise::Silence => return vec![0.0; len],
            Noise::White(db) => (|_| {}, db),
            Noise::Pink(db) => (pink, db),
            Noise::Brown(db) => (brown, db),
        };
        let mut out: Vec<f32> = (0..len).map(|_| gauss()).collect();
        shape(&mut out);
        let rms = (out.iter().map(|x| x * x).sum::<f32>() / len.max(1) as f32).sqrt();
        let gain = 10f32.powf(db / 20.0) / rms.max(1e-12);
        out.iter_mut().for_each(|x| *x *= gain);
        out
    }
}

/// Paul Kellet's economy pink filter (-3 dB/octave).
fn pink(samples: &mut [f32]) {
    let (mut b0, mut b1, mut b2) = (0.0f32, 0.0f32, 0.0f32);
    for x in samples {
        b0 = 0.99765 * b0 + *x * 0.099_046;
        b1 = 0.963 * b1 + *x * 0.296_516_4;
        b2 = 0.57 * b2 + *x * 1.052_691_3;
        *x = b0 + b1 + b2 + *x * 0.1848;
    }
}

/// Leaky integrator (-6 dB/octave above ~5 Hz).
fn brown(samples: &mut [f32]) {
    let mut y = 0.0f32;
    for x in samples {
        y = 0.998 * y + *x * 0.05;
        *x = y;
    }
}

struct Recording {
    name: String,
    audio: Vec<f32>,
}

fn recordings() -> Vec<Recording> {
    let mut paths: Vec<PathBuf> = support::librivox().into_iter().map(|(p, _)| p).collect();
    paths.extend(support::cards().into_iter().map(|(p, _)| p));
    paths.extend(support::jfk());
    paths
        .into_iter()
        .map(|path| Recording {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            audio: read_wav(&path).expect("a readable recording"),
        })
        .collect()
}

fn band_db(vad: &mut VoiceActivity, audio: &[f32]) -> Vec<f32> {
    audio
        .chunks_exact(FRAME)
        .map(|frame| vad.band_energy_db(frame.try_into().expect("a whole frame")))
        .collect()
}

/// Where speech is audible in `clean` (sample range), with `bed` the noise laid under it.
fn speech_span(clean: &[f32], bed: &[f32]) -> (usize, usize) {
    let mut vad = VoiceActivity::new();
    let speech = band_db(&mut vad, clean);
    let noise = band_db(&mut vad, &bed[..clean.len()]);
    let peak = speech.iter().copied().fold(f32::MIN, f32::max);
    let audible: Vec<usize> = (0..speech.len())
        .filter(|&i| speech[i] > (peak - 30.0).max(noise[i] + 6.0))
        .collect();
    let first = *audible.first().expect("audible speech");
    let last = *audible.last().expect("audible speech");
    (first * FRAME, (last + 1) * FRAME)
}

/// A stream: `bed` noise throughout, recordings laid on it with the given gaps; returns the
/// stream and each recording's audible span in stream positions.
fn stream(
    parts: &[&[f32]],
    lead: f64,
    gap: f64,
    tail: f64,
    bed: Noise,
    seed: u64,
) -> (Vec<f32>, Vec<(usize, usize)>) {
    let total = seconds(lead)
        + parts.iter().map(|p| p.len()).sum::<usize>()
        + seconds(gap) * parts.len().saturating_sub(1)
        + seconds(tail);
    let noise = bed.generate(total, seed);
    let mut out = noise.clone();
    let mut spans = Vec::new();
    let mut at = seconds(lead);
    for part in parts {
        for (o, s) in out[at..at + part.len()].iter_mut().zip(part.iter()) {
            *o += s;
        }
        let (a, b) = speech_span(part, &noise[at..]);
        spans.push((at + a, at + b));
        at += part.len() + seconds(gap);
    }
    // What PCM16 from the browser would carry: nothing beyond full scale.
    out.iter_mut().for_each(|x| *x = x.clamp(-1.0, 1.0));
    (out, spans)
}

/// What a detector returned, with the stream position at the end of the chunk that caused it.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    at: usize,
    event: TurnEvent,
}

fn feed(detector: &mut TurnDetector, audio: &[f32], chunk: usize) -> Vec<Seen> {
    let mut seen = Vec::new();
    let mut at = 0;
    for piece in audio.chunks(chunk) {
        at += piece.len();
        seen.extend(
            detector
                .push(piece)
                .into_iter()
                .map(|event| Seen { at, event }),
        );
    }
    seen
}

struct Turn {
    start: usize,
    len: usize,
    reason: EndReason,
    detected_at: usize,
}

fn turns(seen: &[Seen], audio: &[f32]) -> Vec<Turn> {
    seen.iter()
        .filter_map(|s| match &s.event {
            TurnEvent::TurnEnded {
                audio: turn,
                start_sample,
                reason,
            } => {
                let start = *start_sample as usize;
                assert_eq!(
                    &audio[start..start + turn.len()],
                    turn.as_slice(),
                    "a turn's audio is the stream's, unchanged"
                );
                Some(Turn {
                    start,
                    len: turn.len(),
                    reason: *reason,
                    detected_at: s.at,
                })
            }
            TurnEvent::SpeechStarted => None,
        })
        .collect()
}

fn kinds(seen: &[Seen]) -> Vec<&'static str> {
    seen.iter()
        .map(|s| match s.event {
            TurnEvent::SpeechStarted => "started",
            TurnEvent::TurnEnded { .. } => "ended",
        })
        .collect()
}

fn beds() -> [Noise; 7] {
    [
        Noise::Silence,
        Noise::White(-60.0),
        Noise::White(-50.0),
        Noise::White(-40.0),
        Noise::Pink(-45.0),
        Noise::Brown(-35.0),
        Noise::Brown(-25.0),
    ]
}

#[test]
fn each_recording_is_one_whole_turn_in_silence_and_in_noise() {
    let recordings = recordings();
    if recordings.is_empty() {
        return;
    }
    let settings = TurnSettings::default();
    let pre_roll = seconds(settings.pre_roll.as_secs_f64());
    let end_silence = seconds(settings.end_silence.as_secs_f64()) as i64;
    let (mut earliest, mut latest, mut lead_max) = (i64::MAX, i64::MIN, 0);
    for (n, bed) in beds().into_iter().enumerate() {
        for recording in &recordings {
            let what = format!("{} in {bed:?}", recording.name);
            let (audio, spans) = stream(&[&recording.audio], 1.5, 0.0, 2.5, bed, n as u64);
            let (onset, offset) = spans[0];
            let mut detector = TurnDetector::new(settings);
            let seen = feed(&mut detector, &audio, CHUNK);
            assert_eq!(kinds(&seen), ["started", "ended"], "{what}");
            let turn = &turns(&seen, &audio)[0];
            assert_eq!(turn.reason, EndReason::Silence, "{what}");
            // The whole utterance, from no more than the pre-roll (and a breath) before it.
            assert!(
                turn.start <= onset,
                "{what}: starts {} ms late",
                ms(turn.start as i64 - onset as i64)
            );
            assert!(
                turn.start + pre_roll + seconds(0.3) >= onset,
                "{what}: starts {} ms before the speech",
                ms(onset as i64 - turn.start as i64)
            );
            assert!(
                turn.start + turn.len >= offset,
                "{what}: the end is cut off"
            );
            // Detected end_silence after the speech, give or take what the noise hides of it.
            let delay = turn.detected_at as i64 - offset as i64 - end_silence;
            assert!(
                (-(seconds(0.25) as i64)..=seconds(0.4) as i64).contains(&delay),
                "{what}: detected {} ms after end_silence",
                ms(delay)
            );
            earliest = earliest.min(delay);
            latest = latest.max(delay);
            lead_max = lead_max.max(onset - turn.start);
        }
    }
    eprintln!(
        "end detected {} ms to {} ms after end_silence; turns start at most {} ms before the speech",
        ms(earliest),
        ms(latest),
        ms(lead_max as i64)
    );
}

#[test]
fn a_pause_shorter_than_end_silence_stays_in_the_answer() {
    let cards = support::cards();
    let librivox = support::librivox();
    if cards.len() < 2 || librivox.is_empty() {
        return;
    }
    let a = read_wav(&cards[0].0).expect("wav");
    let b = read_wav(&librivox[1].0).expect("wav");
    for bed in [Noise::Silence, Noise::White(-50.0), Noise::Pink(-45.0)] {
        for (gap, expected) in [(0.8, 1), (2.5, 2)] {
            let (audio, spans) = stream(&[&a, &b], 1.0, gap, 2.5, bed, 7);
            let mut detector = TurnDetector::new(TurnSettings::default());
            let seen = feed(&mut detector, &audio, CHUNK);
            let turns = turns(&seen, &audio);
            assert_eq!(
                turns.len(),
                expected,
                "{gap} s pause in {bed:?}: {:?}",
                kinds(&seen)
            );
            assert_eq!(kinds(&seen).len(), 2 * expected);
            // Every recording lies whole inside a turn.
            for (onset, offset) in spans {
                assert!(
                    turns
                        .iter()
                        .any(|t| t.start <= onset && t.start + t.len >= offset),
                    "{gap} s pause in {bed:?}: speech {onset}..{offset} not inside one turn"
                );
            }
        }
    }
}

#[test]
fn trailing_silence_counts_the_quiet_after_speech_until_the_turn_ends() {
    let librivox = support::librivox();
    if librivox.is_empty() {
        return; // `support` said SKIPPED (or failed the test under CI)
    }
    let speech = read_wav(&librivox[0].0).expect("wav");
    let (audio, _) = stream(&[&speech], 1.0, 0.0, 2.5, Noise::Pink(-45.0), 3);
    let settings = TurnSettings::default();
    let mut detector = TurnDetector::new(settings);
    assert_eq!(detector.trailing_silence(), Duration::ZERO);
    let mut longest = Duration::ZERO;
    let mut before_end = None;
    for chunk in audio.chunks(CHUNK) {
        let quiet = detector.trailing_silence();
        let events = detector.push(chunk);
        if events
            .iter()
            .any(|e| matches!(e, TurnEvent::TurnEnded { .. }))
        {
            before_end = Some(quiet);
            assert_eq!(
                detector.trailing_silence(),
                Duration::ZERO,
                "after the turn"
            );
            break;
        }
        longest = longest.max(detector.trailing_silence());
    }
    let before_end = before_end.expect("the answer ends in the silence after it");
    // Just before the turn ends, the answer has been quiet for nearly `end_silence`.
    let chunk = Duration::from_secs_f64(CHUNK as f64 / RATE as f64);
    assert!(
        before_end + 2 * chunk >= settings.end_silence,
        "{before_end:?} quiet just before the end"
    );
    assert!(
        longest < settings.end_silence,
        "{longest:?} quiet during the answer"
    );
}

#[test]
fn silence_or_noise_alone_is_never_a_turn() {
    let minute = seconds(60.0);
    let mut cases: Vec<(String, Vec<f32>)> = vec![("silence".into(), vec![0.0; minute])];
    // Up to -15 dBFS RMS: louder brown noise clips (at -6 dB it sits at full scale for long
    // stretches, and clipped rumble comes and goes like syllables).
    cases.push((
        "White(-6.0)".into(),
        Noise::White(-6.0).generate(minute, 10),
    ));
    for db in [-70.0, -55.0, -45.0, -35.0, -25.0, -15.0] {
        for noise in [Noise::White(db), Noise::Pink(db), Noise::Brown(db)] {
            cases.push((format!("{noise:?}"), noise.generate(minute, 11)));
            // The room changes: digital silence, then the noise, a quieter spell, the noise again.
            let quieter = match noise {
                Noise::White(db) => Noise::White(db - 20.0),
                Noise::Pink(db) => Noise::Pink(db - 20.0),
                Noise::Brown(db) => Noise::Brown(db - 20.0),
                Noise::Silence => Noise::Silence,
            };
            let mut steps = vec![0.0; seconds(5.0)];
            steps.extend(noise.generate(seconds(20.0), 12));
            steps.extend(quieter.generate(seconds(15.0), 13));
            steps.extend(noise.generate(seconds(20.0), 14));
            cases.push((format!("silence, {noise:?}, {quieter:?}, {noise:?}"), steps));
        }
    }
    for (what, audio) in cases {
        let mut detector = TurnDetector::new(TurnSettings::default());
        let seen = feed(&mut detector, &audio, CHUNK);
        assert!(seen.is_empty(), "{what}: {:?}", kinds(&seen));
        assert!(
            detector.end_turn().is_empty(),
            "{what}: end_turn found speech"
        );
    }
}

#[test]
fn a_short_burst_is_not_an_answer() {
    let librivox = support::librivox();
    let Some((path, _)) = librivox.first() else {
        return;
    };
    let speech = read_wav(path).expect("wav");
    let burst = seconds(0.1);
    let mut click = vec![0.0f32; burst];
    click[..40].fill(0.9);
    click[40..80].fill(-0.9);
    let sounds: Vec<(&str, Vec<f32>)> = vec![
        // The loudest 100 ms of a real sentence (a syllable on its own).
        ("100 ms of speech", {
            let loudest = (0..speech.len() - burst)
                .step_by(FRAME)
                .max_by(|&a, &b| {
                    let energy =
                        |at: usize| speech[at..at + burst].iter().map(|x| x * x).sum::<f32>();
                    energy(a).total_cmp(&energy(b))
                })
                .expect("a long recording");
            speech[loudest..loudest + burst].to_vec()
        }),
        (
            "100 ms of loud noise",
            Noise::White(-10.0).generate(burst, 3),
        ),
        ("a click", click),
    ];
    for bed in [Noise::Silence, Noise::White(-60.0), Noise::Pink(-45.0)] {
        for (what, sound) in &sounds {
            let (audio, _) = stream(&[sound], 2.0, 0.0, 3.0, bed, 5);
            let mut detector = TurnDetector::new(TurnSettings::default());
            let seen = feed(&mut detector, &audio, CHUNK);
            assert!(seen.is_empty(), "{what} in {bed:?}: {:?}", kinds(&seen));
        }
    }
}

#[test]
fn max_answer_cuts_a_long_answer_and_bounds_memory() {
    let librivox = support::librivox();
    if librivox.is_empty() {
        return;
    }
    let sentences: Vec<Vec<f32>> = librivox
        .iter()
        .map(|(p, _)| read_wav(p).expect("wav"))
        .collect();
    let parts: Vec<&[f32]> = sentences.iter().map(Vec::as_slice).collect();
    let settings = TurnSettings {
        max_answer: Duration::from_secs(4),
        ..TurnSettings::default()
    };
    let bound = seconds(4.0 + settings.pre_roll.as_secs_f64());
    let (audio, spans) = stream(&parts, 1.0, 0.5, 2.5, Noise::White(-50.0), 9);
    let mut detector = TurnDetector::new(settings);
    let seen = feed(&mut detector, &audio, CHUNK);
    let turns = turns(&seen, &audio);
    assert!(
        turns.len() >= 5,
        "{} turns from ~27 s of speech",
        turns.len()
    );
    assert!(turns.iter().any(|t| t.reason == EndReason::MaxLength));
    assert_eq!(turns.last().map(|t| t.reason), Some(EndReason::Silence));
    for turn in &turns {
        assert!(turn.len <= bound, "a turn of {} samples", turn.len);
    }
    // Nothing said is lost: every audible sample lies in some turn.
    for (onset, offset) in spans {
        for at in (onset..offset).step_by(FRAME) {
            assert!(
                turns
                    .iter()
                    .any(|t| (t.start..t.start + t.len).contains(&at)),
                "sample {at} of speech is in no turn"
            );
        }
    }
}

#[test]
fn end_turn_hands_over_the_answer_so_far() {
    let librivox = support::librivox();
    let Some((path, _)) = librivox.first() else {
        return;
    };
    let sentence = read_wav(path).expect("wav");
    let (audio, spans) = stream(&[&sentence], 1.0, 0.0, 1.0, Noise::White(-55.0), 4);
    let (onset, offset) = spans[0];
    let middle = (onset + offset) / 2 + 7; // not on a frame boundary
    let mut detector = TurnDetector::new(TurnSettings::default());
    let seen = feed(&mut detector, &audio[..middle], CHUNK);
    assert_eq!(kinds(&seen), ["started"]);
    assert!(detector.is_speaking());
    let ended = detector.end_turn();
    let [TurnEvent::TurnEnded {
        audio: turn,
        start_sample,
        reason: EndReason::Explicit,
    }] = ended.as_slice()
    else {
        panic!("expected one explicit TurnEnded, got {ended:?}");
    };
    let start = *start_sample as usize;
    assert!(start <= onset);
    assert_eq!(start + turn.len(), middle, "everything up to the release");
    assert_eq!(&audio[start..middle], turn.as_slice());
    assert!(!detector.is_speaking());
    // Nothing left to hand over; in silence end_turn returns nothing.
    assert!(detector.end_turn().is_empty());
    let mut quiet = TurnDetector::new(TurnSettings::default());
    let _ = feed(
        &mut quiet,
        &audio[..onset.saturating_sub(seconds(0.5))],
        CHUNK,
    );
    assert!(quiet.end_turn().is_empty());
}

#[test]
fn the_chunk_size_does_not_change_the_turns() {
    let cards = support::cards();
    if cards.len() < 3 {
        return;
    }
    let clips: Vec<Vec<f32>> = cards[..3]
        .iter()
        .map(|(p, _)| read_wav(p).expect("wav"))
        .collect();
    let parts: Vec<&[f32]> = clips.iter().map(Vec::as_slice).collect();
    let (audio, _) = stream(&parts, 1.0, 2.2, 2.5, Noise::Pink(-45.0), 8);
    let turns_with = |chunk: usize| -> Vec<TurnEvent> {
        let mut detector = TurnDetector::new(TurnSettings::default());
        feed(&mut detector, &audio, chunk)
            .into_iter()
            .map(|s| s.event)
            .collect()
    };
    let reference = turns_with(320);
    assert_eq!(reference.len(), 6, "three answers");
    for chunk in [1, 160, 333, 4096] {
        assert!(
            turns_with(chunk) == reference,
            "chunks of {chunk} samples differ"
        );
    }
}

/// Prints what one 20 ms chunk costs (no assertion: timings depend on the machine and profile;
/// run with `cargo test --release --test speech_vad -- --nocapture cost`).
#[test]
fn cost_of_a_20ms_chunk() {
    let librivox = support::librivox();
    let Some((path, _)) = librivox.first() else {
        return;
    };
    let sentence = read_wav(path).expect("wav");
    let (audio, _) = stream(
        &[&sentence, &sentence],
        1.0,
        1.0,
        2.0,
        Noise::White(-50.0),
        1,
    );
    let mut detector = TurnDetector::new(TurnSettings::default());
    let started = Instant::now();
    let mut chunks = 0;
    for _ in 0..5 {
        for chunk in audio.chunks(CHUNK) {
            std::hint::black_box(detector.push(chunk));
            chunks += 1;
        }
    }
    let each = started.elapsed().as_secs_f64() * 1e6 / chunks as f64;
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    eprintln!("turn detector: {each:.1} µs per 20 ms chunk ({profile} build, {chunks} chunks)");
}
