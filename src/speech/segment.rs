//! Long recordings cut into pieces the speech model takes whole (at most one 30 s window
//! each), at the silences between phrases, so each piece is a natural segment with its own
//! start and end time and no word is cut in two when the speaker leaves a pause.
//!
//! Each 20 ms frame is classified by [`VoiceActivity`] (speech, with its hangover bridging the
//! dips between syllables, or not). A piece starts a little before speech; when what is left
//! does not fit in one piece, the cut goes in the middle of the longest pause found in the last
//! two thirds of the allowed length (the latest of equals), or at the limit when the speaker
//! never paused. Stretches without speech between pieces are left out.

use std::ops::Range;

use super::mel::{CHUNK_SAMPLES, SAMPLE_RATE};
use super::vad::{VoiceActivity, FRAME};

/// Audio kept before the first and after the last speech frame of a piece (200 ms).
const PAD_FRAMES: usize = 10;

/// The longest piece [`split_at_silences`] makes for the speech model: one 30 s window.
pub const MAX_PIECE: usize = CHUNK_SAMPLES;

/// A piece of a recording, in samples of 16 kHz audio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub range: Range<usize>,
}

impl Piece {
    pub fn start_seconds(&self) -> f64 {
        self.range.start as f64 / SAMPLE_RATE as f64
    }

    pub fn end_seconds(&self) -> f64 {
        self.range.end as f64 / SAMPLE_RATE as f64
    }
}

/// Cuts 16 kHz mono `samples` into pieces of at most `max_samples` (at least one frame) that
/// cover every stretch of speech, in order. Audio without speech gives no pieces.
pub fn split_at_silences(samples: &[f32], max_samples: usize) -> Vec<Piece> {
    let speech = speech_frames(samples);
    let max_frames = (max_samples / FRAME).max(1);
    let Some(last_speech) = speech.iter().rposition(|&s| s) else {
        return Vec::new();
    };
    let total_frames = samples.len().div_ceil(FRAME);
    let speech_end = (last_speech + 1 + PAD_FRAMES).min(total_frames);
    let mut pieces = Vec::new();
    let mut next = speech.iter().position(|&s| s);
    while let Some(first_speech) = next {
        let start = first_speech
            .saturating_sub(PAD_FRAMES)
            .max(pieces.last().map_or(0, |p: &Range<usize>| p.end));
        let limit = start + max_frames;
        let cut = if speech_end <= limit {
            speech_end
        } else {
            longest_pause(&speech, start + max_frames / 3, limit).unwrap_or(limit)
        };
        // End the piece a little after its last speech frame, not at the cut.
        let last_in_piece = speech[start..cut]
            .iter()
            .rposition(|&s| s)
            .map(|i| start + i);
        let end = last_in_piece.map_or(cut, |last| (last + 1 + PAD_FRAMES).min(cut));
        pieces.push(start..end);
        next = speech[cut..].iter().position(|&s| s).map(|i| cut + i);
    }
    pieces
        .into_iter()
        .map(|frames| Piece {
            range: frames.start * FRAME..(frames.end * FRAME).min(samples.len()),
        })
        .filter(|piece| !piece.range.is_empty())
        .collect()
}

/// For each 20 ms frame (the last one zero-padded), whether it is inside a run of speech.
fn speech_frames(samples: &[f32]) -> Vec<bool> {
    let mut vad = VoiceActivity::new();
    samples
        .chunks(FRAME)
        .map(|chunk| {
            let mut frame = [0.0f32; FRAME];
            frame[..chunk.len()].copy_from_slice(chunk);
            for s in &mut frame {
                *s = if s.is_finite() {
                    s.clamp(-1.0, 1.0)
                } else {
                    0.0
                };
            }
            vad.classify(&frame).in_run
        })
        .collect()
}

/// The middle of the longest run of non-speech frames inside `from..to` (runs cut at the
/// bounds; the latest of equally long ones), if there is any.
fn longest_pause(speech: &[bool], from: usize, to: usize) -> Option<usize> {
    let to = to.min(speech.len());
    let window = speech.get(from..to).unwrap_or_default();
    let mut best: Option<(usize, usize)> = None;
    let mut run_start = None;
    // A speech frame after the window closes a run that reaches its end.
    let frames = window.iter().chain(std::iter::once(&true));
    for (i, &is_speech) in (from..).zip(frames) {
        match (!is_speech, run_start) {
            (true, None) => run_start = Some(i),
            (false, Some(begin)) => {
                let len = i - begin;
                if best.is_none_or(|(best_len, _)| len >= best_len) {
                    best = Some((len, begin + len / 2));
                }
                run_start = None;
            }
            _ => {}
        }
    }
    best.map(|(_, middle)| middle.max(from + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: f32 = SAMPLE_RATE as f32;

    /// Something that sounds like speech to the detector: a 1 kHz tone whose loudness rises
    /// and falls four times a second (syllables), for `seconds`.
    fn talk(seconds: f32) -> Vec<f32> {
        let n = (seconds * RATE) as usize;
        (0..n)
            .map(|i| {
                let t = i as f32 / RATE;
                let envelope = 0.5 - 0.5 * (2.0 * std::f32::consts::PI * 4.0 * t).cos();
                0.3 * envelope * (2.0 * std::f32::consts::PI * 1_000.0 * t).sin()
            })
            .collect()
    }

    fn silence(seconds: f32) -> Vec<f32> {
        vec![0.0; (seconds * RATE) as usize]
    }

    fn seconds(piece: &Piece) -> (f64, f64) {
        (piece.start_seconds(), piece.end_seconds())
    }

    #[test]
    fn silence_gives_no_pieces_and_a_short_phrase_one() {
        assert!(split_at_silences(&silence(40.0), MAX_PIECE).is_empty());
        assert!(split_at_silences(&[], MAX_PIECE).is_empty());
        let audio = [silence(2.0), talk(3.0), silence(2.0)].concat();
        let pieces = split_at_silences(&audio, MAX_PIECE);
        assert_eq!(pieces.len(), 1, "{pieces:?}");
        let (start, end) = seconds(&pieces[0]);
        assert!((1.6..=2.0).contains(&start), "starts at {start}");
        assert!((5.0..=5.6).contains(&end), "ends at {end}");
    }

    #[test]
    fn long_speech_is_cut_in_its_pauses_into_pieces_that_fit_a_window() {
        // Three 12 s phrases with 1.5 s pauses: 39 s in all, so at least one cut, which must
        // fall in a pause.
        let audio = [
            talk(12.0),
            silence(1.5),
            talk(12.0),
            silence(1.5),
            talk(12.0),
        ]
        .concat();
        let pieces = split_at_silences(&audio, MAX_PIECE);
        assert!(pieces.len() >= 2, "{pieces:?}");
        let pauses = [(12.0, 13.5), (25.5, 27.0)];
        for pair in pieces.windows(2) {
            let (_, end) = seconds(&pair[0]);
            let (next_start, _) = seconds(&pair[1]);
            assert!(end <= next_start, "pieces overlap: {pieces:?}");
            assert!(
                pauses
                    .iter()
                    .any(|(from, to)| end >= from - 0.05 && next_start <= to + 0.25),
                "a cut at {end}..{next_start} is not in a pause: {pieces:?}"
            );
        }
        for piece in &pieces {
            assert!(
                piece.range.len() <= MAX_PIECE,
                "{piece:?} is longer than 30 s"
            );
        }
        let covered: usize = pieces.iter().map(|p| p.range.len()).sum();
        assert!(covered as f32 >= 36.0 * RATE, "speech left out: {pieces:?}");
    }

    #[test]
    fn speech_without_pauses_is_cut_at_the_limit() {
        let audio = talk(70.0);
        let pieces = split_at_silences(&audio, MAX_PIECE);
        assert_eq!(pieces.len(), 3, "{pieces:?}");
        assert_eq!(pieces[0].range, 0..MAX_PIECE);
        assert_eq!(pieces[1].range.start, MAX_PIECE);
        assert_eq!(pieces[2].range.end, audio.len());
    }

    #[test]
    fn any_input_gives_ordered_pieces_within_the_audio_and_the_limit() {
        let audio: Vec<f32> = [talk(5.0), vec![f32::NAN; 100], silence(0.3), talk(40.0)].concat();
        for max in [FRAME, 5 * FRAME, 16_000, MAX_PIECE] {
            let pieces = split_at_silences(&audio, max);
            let mut last_end = 0;
            for piece in &pieces {
                assert!(piece.range.start >= last_end && piece.range.end <= audio.len());
                assert!(piece.range.len() <= max.max(FRAME), "{piece:?} > {max}");
                last_end = piece.range.end;
            }
        }
    }
}
