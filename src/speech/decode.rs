//! Uploaded recordings in the common formats (WAV, FLAC, MP3, Ogg Vorbis, Ogg Opus and the
//! WebM/Opus that browsers record) decoded to the 16 kHz mono samples the speech model reads.
//!
//! The format is sniffed from the bytes (never a file name). Containers and most codecs are
//! symphonia's; Opus packets, which symphonia demuxes but does not decode, go to the pure-Rust
//! `opus-decoder`. Everything is resampled as it is decoded ([`Resampler16k`]), so only the
//! 16 kHz result is kept, and the decoded length is checked against the limit packet by packet:
//! a small file that claims hours stops at the limit, not when memory runs out.
//!
//! The bytes are a stranger's: a decoder that panics on them is caught and reported as an
//! unreadable file, like any other malformed input.

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::Duration;

use symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;
use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoderOptions};
use symphonia::core::codecs::CodecParameters;
use symphonia::core::errors::Error as MediaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use super::audio::{AudioError, Resampler16k, MAX_RATE, MIN_RATE};
use super::mel::SAMPLE_RATE;
use crate::domain::AudioFormat;

/// Packets that fail to decode before the file counts as damaged (a stray bad frame in an
/// otherwise good MP3 is skipped).
const MAX_BAD_PACKETS: usize = 16;
/// Opus always decodes at 48 kHz; the longest Opus packet is 120 ms.
const OPUS_RATE: u32 = 48_000;
const OPUS_MAX_FRAME: usize = OPUS_RATE as usize * 120 / 1000;

/// A decoded recording.
#[derive(Debug, Clone)]
pub struct DecodedAudio {
    pub format: AudioFormat,
    /// 16 kHz mono samples in [-1, 1].
    pub samples: Vec<f32>,
    /// The recording's own sample rate and channel count.
    pub source_rate: u32,
    pub channels: usize,
}

impl DecodedAudio {
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.samples.len() as f64 / SAMPLE_RATE as f64)
    }
}

/// The format of a recording, from its first bytes; `None` when it is none viva reads.
pub fn sniff(bytes: &[u8]) -> Option<AudioFormat> {
    if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WAVE" {
        return Some(AudioFormat::Wav);
    }
    if bytes.starts_with(b"fLaC") {
        return Some(AudioFormat::Flac);
    }
    if bytes.starts_with(b"OggS") {
        return ogg_codec(bytes);
    }
    if bytes.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
        return Some(AudioFormat::Webm);
    }
    if bytes.starts_with(b"ID3") || is_mpeg_layer3_frame(bytes) {
        return Some(AudioFormat::Mp3);
    }
    None
}

/// The codec of an Ogg stream, from the first packet of its first page.
fn ogg_codec(bytes: &[u8]) -> Option<AudioFormat> {
    let segments = usize::from(*bytes.get(26)?);
    let packet = bytes.get(27 + segments..)?;
    if packet.starts_with(b"OpusHead") {
        Some(AudioFormat::OggOpus)
    } else if packet.starts_with(b"\x01vorbis") {
        Some(AudioFormat::OggVorbis)
    } else {
        None
    }
}

/// The length an Ogg stream states in its last page's granule position (the stream's last
/// sample), so a small file claiming hours is refused before it is decoded. `None` when it
/// cannot be read (then only the decoded length counts).
fn ogg_declared_seconds(bytes: &[u8], format: AudioFormat) -> Option<f64> {
    let rate = match format {
        AudioFormat::OggOpus => f64::from(OPUS_RATE),
        AudioFormat::OggVorbis => {
            // The identification packet: "\x01vorbis", version (4), channels (1), rate (4).
            let segments = usize::from(*bytes.get(26)?);
            let head = bytes.get(27 + segments..27 + segments + 16)?;
            f64::from(u32::from_le_bytes(head[12..16].try_into().ok()?))
        }
        _ => return None,
    };
    let tail_start = bytes.len().saturating_sub(64 * 1024);
    let tail = &bytes[tail_start..];
    let last_page = tail.windows(4).rposition(|w| w == b"OggS")?;
    let granule = tail.get(last_page + 6..last_page + 14)?;
    let granule = i64::from_le_bytes(granule.try_into().ok()?);
    (granule > 0 && rate > 0.0).then(|| granule as f64 / rate)
}

/// An MPEG audio frame header of layer III (an MP3 without an ID3 tag in front).
fn is_mpeg_layer3_frame(bytes: &[u8]) -> bool {
    match bytes {
        [0xff, second, third, ..] => {
            let sync = second & 0xe0 == 0xe0;
            let version_ok = (second >> 3) & 0b11 != 0b01;
            let layer3 = (second >> 1) & 0b11 == 0b01;
            let bitrate_ok = third >> 4 != 0b1111;
            let rate_ok = (third >> 2) & 0b11 != 0b11;
            sync && version_ok && layer3 && bitrate_ok && rate_ok
        }
        _ => false,
    }
}

/// Reads a recording file ([`decode`]).
pub fn read_file(path: &Path, max_duration: Duration) -> Result<DecodedAudio, AudioError> {
    let bytes = std::fs::read(path).map_err(|source| AudioError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode(&bytes, max_duration)
}

/// Decodes a recording in any format [`sniff`] knows to 16 kHz mono, refusing one longer than
/// `max_duration` as soon as the decoded audio passes it.
pub fn decode(bytes: &[u8], max_duration: Duration) -> Result<DecodedAudio, AudioError> {
    let format = sniff(bytes).ok_or(AudioError::NotAudio)?;
    match catch_unwind(AssertUnwindSafe(|| decode_as(bytes, format, max_duration))) {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(%format, "an audio decoder panicked on an upload");
            Err(AudioError::Malformed(format!(
                "the {format} decoder could not read this file (damaged or crafted)"
            )))
        }
    }
}

fn decode_as(
    bytes: &[u8],
    format: AudioFormat,
    max_duration: Duration,
) -> Result<DecodedAudio, AudioError> {
    if ogg_declared_seconds(bytes, format).is_some_and(|s| s > max_duration.as_secs_f64()) {
        return Err(AudioError::LongerThan {
            limit: max_duration,
        });
    }
    let source = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let mut hint = Hint::new();
    hint.with_extension(match format {
        AudioFormat::Wav => "wav",
        AudioFormat::Flac => "flac",
        AudioFormat::Mp3 => "mp3",
        AudioFormat::OggVorbis | AudioFormat::OggOpus => "ogg",
        AudioFormat::Webm => "webm",
    });
    let mut reader = symphonia::default::get_probe()
        .probe(
            &hint,
            source,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(media_error)?;
    let (track_id, params, declared_frames) = reader
        .tracks()
        .iter()
        .find_map(|track| match &track.codec_params {
            Some(CodecParameters::Audio(params)) => {
                Some((track.id, params.clone(), track.num_frames))
            }
            _ => None,
        })
        .ok_or_else(|| AudioError::Malformed("the file holds no audio track".into()))?;
    // A length the container states (WAV and FLAC headers, Ogg's last granule position) past
    // the limit is refused before any decoding; one that lies is caught while decoding.
    if let (Some(frames), Some(rate)) = (declared_frames, params.sample_rate.filter(|r| *r > 0)) {
        if frames as f64 / f64::from(rate) > max_duration.as_secs_f64() {
            return Err(AudioError::LongerThan {
                limit: max_duration,
            });
        }
    }
    if format == AudioFormat::Webm && params.codec != CODEC_ID_OPUS {
        // Vorbis in WebM decodes like Ogg Vorbis; anything else (video codecs' audio, AAC) not.
        let vorbis = symphonia::core::codecs::audio::well_known::CODEC_ID_VORBIS;
        if params.codec != vorbis {
            return Err(AudioError::UnsupportedCodec(
                "this WebM file's audio is neither Opus nor Vorbis".into(),
            ));
        }
    }
    let mut sink = if params.codec == CODEC_ID_OPUS {
        let mut sink = Sink::new(OPUS_RATE, max_duration)?;
        decode_opus(&mut *reader, track_id, &params, &mut sink)?;
        sink
    } else {
        decode_symphonia(&mut *reader, track_id, &params, max_duration)?
    };
    if sink.frames == 0 {
        return Err(AudioError::Empty);
    }
    let channels = sink.channels.max(1);
    let source_rate = sink.rate;
    let samples =
        std::mem::replace(&mut sink.resampler, Resampler16k::new(SAMPLE_RATE as u32)?).finish()?;
    Ok(DecodedAudio {
        format,
        samples,
        source_rate,
        channels,
    })
}

/// Where decoded audio goes: mixed to mono, counted against the limit, resampled.
struct Sink {
    rate: u32,
    channels: usize,
    frames: u64,
    max_frames: u64,
    max_duration: Duration,
    resampler: Resampler16k,
    mono: Vec<f32>,
}

impl Sink {
    fn new(rate: u32, max_duration: Duration) -> Result<Self, AudioError> {
        if !(MIN_RATE..=MAX_RATE).contains(&rate) {
            return Err(AudioError::SampleRate(rate));
        }
        Ok(Self {
            rate,
            channels: 0,
            frames: 0,
            max_frames: (max_duration.as_secs_f64() * f64::from(rate)).ceil() as u64,
            max_duration,
            resampler: Resampler16k::new(rate)?,
            mono: Vec::new(),
        })
    }

    /// Adds interleaved samples of `channels` channels.
    fn push(&mut self, interleaved: &[f32], channels: usize) -> Result<(), AudioError> {
        if channels == 0 {
            return Err(AudioError::ZeroChannels);
        }
        self.channels = channels;
        let frames = interleaved.len() / channels;
        if self.frames + frames as u64 > self.max_frames {
            return Err(AudioError::LongerThan {
                limit: self.max_duration,
            });
        }
        self.frames += frames as u64;
        self.mono.clear();
        self.mono
            .extend(interleaved.chunks_exact(channels).map(|frame| {
                let mixed = frame.iter().sum::<f32>() / channels as f32;
                if mixed.is_finite() {
                    mixed.clamp(-1.0, 1.0)
                } else {
                    0.0
                }
            }));
        self.resampler.push(&self.mono)
    }
}

fn decode_symphonia(
    reader: &mut dyn FormatReader,
    track_id: u32,
    params: &AudioCodecParameters,
    max_duration: Duration,
) -> Result<Sink, AudioError> {
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
        .map_err(media_error)?;
    let mut sink: Option<Sink> = None;
    let mut interleaved: Vec<f32> = Vec::new();
    let mut bad_packets = 0;
    loop {
        let packet = match reader.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            // A file cut short ends where it ends.
            Err(MediaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(MediaError::ResetRequired) => break,
            Err(e) => return Err(media_error(e)),
        };
        if packet.track_id != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(decoded) => decoded,
            Err(MediaError::DecodeError(why)) => {
                bad_packets += 1;
                if bad_packets > MAX_BAD_PACKETS {
                    return Err(AudioError::Malformed(format!("damaged audio data: {why}")));
                }
                continue;
            }
            Err(e) => return Err(media_error(e)),
        };
        let rate = decoded.spec().rate();
        let channels = decoded.spec().channels().count();
        let sink = match &mut sink {
            Some(sink) if sink.rate == rate => sink,
            Some(_) => {
                return Err(AudioError::Malformed(
                    "the sample rate changes in the middle of the file".into(),
                ))
            }
            None => sink.insert(Sink::new(rate, max_duration)?),
        };
        interleaved.clear();
        decoded.copy_to_vec_interleaved(&mut interleaved);
        sink.push(&interleaved, channels)?;
    }
    match sink {
        Some(sink) => Ok(sink),
        None if bad_packets > 0 => Err(AudioError::Malformed(
            "no audio in the file could be decoded".into(),
        )),
        None => Err(AudioError::Empty),
    }
}

fn decode_opus(
    reader: &mut dyn FormatReader,
    track_id: u32,
    params: &AudioCodecParameters,
    sink: &mut Sink,
) -> Result<(), AudioError> {
    let head = OpusHead::parse(params.extra_data.as_deref())?;
    // Decoded straight to mono: the decoder mixes a stereo stream down itself.
    let mut decoder = opus_decoder::OpusDecoder::new(OPUS_RATE, 1)
        .map_err(|e| AudioError::Malformed(format!("Opus decoder: {e}")))?;
    let mut pcm = vec![0.0f32; OPUS_MAX_FRAME];
    // The header's pre-skip (the encoder's look-ahead) is dropped from the start, counting
    // whatever the container already trims from the first packets.
    let mut skip = usize::from(head.pre_skip);
    let mut bad_packets = 0;
    let mut decoded_any = false;
    loop {
        let packet = match reader.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            Err(MediaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(MediaError::ResetRequired) => break,
            Err(e) => return Err(media_error(e)),
        };
        if packet.track_id != track_id || packet.data.is_empty() {
            continue;
        }
        // A packet without coded data (only its table of contents: empty frames, as DTX
        // sends) is silence; the decoder would run its loss concealment on every frame, which
        // a crafted file of such packets turns into minutes of work per kilobyte.
        if let Some(silent) = empty_opus_packet(&packet.data) {
            decoded_any = true;
            let silence = vec![0.0f32; silent];
            let from_skip = skip.min(silent);
            skip -= from_skip;
            sink.push(&silence[from_skip..], 1)?;
            continue;
        }
        let written = match decoder.decode_float(&packet.data, &mut pcm, false) {
            Ok(written) => written.min(pcm.len()),
            Err(e) => {
                bad_packets += 1;
                if bad_packets > MAX_BAD_PACKETS {
                    return Err(AudioError::Malformed(format!("damaged Opus data: {e}")));
                }
                continue;
            }
        };
        decoded_any = true;
        let trim_start = usize::try_from(packet.trim_start.get()).unwrap_or(usize::MAX);
        let trim_end = usize::try_from(packet.trim_end.get()).unwrap_or(usize::MAX);
        let mut start = trim_start.min(written);
        skip = skip.saturating_sub(start);
        let end = written.saturating_sub(trim_end).max(start);
        let from_skip = skip.min(end - start);
        skip -= from_skip;
        start += from_skip;
        sink.push(&pcm[start..end], 1)?;
    }
    sink.channels = usize::from(head.channels);
    if !decoded_any && bad_packets > 0 {
        return Err(AudioError::Malformed(
            "no audio in the file could be decoded".into(),
        ));
    }
    Ok(())
}

/// The samples (at 48 kHz) of an Opus packet that holds no coded data: a table-of-contents
/// byte (RFC 6716 §3.1), and for code 3 the frame count, and nothing else. `None` for a packet
/// with data, or one whose header is invalid (the decoder reports that).
fn empty_opus_packet(packet: &[u8]) -> Option<usize> {
    let toc = *packet.first()?;
    let config = toc >> 3;
    let frame = match config {
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        12..=15 => [480, 960][usize::from(config % 2)],
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    };
    let (frames, header) = match toc & 0b11 {
        0 => (1, 1),
        1 | 2 => (2, 1),
        _ => (usize::from(*packet.get(1)? & 0x3f), 2),
    };
    let samples = frames * frame;
    (packet.len() == header && frames > 0 && samples <= OPUS_MAX_FRAME).then_some(samples)
}

/// The fields of an Opus identification header ("OpusHead", RFC 7845 §5.1) that decoding
/// needs. WebM's CodecPrivate and Ogg's first packet both hold one.
struct OpusHead {
    channels: u8,
    pre_skip: u16,
}

impl OpusHead {
    fn parse(extra: Option<&[u8]>) -> Result<Self, AudioError> {
        let head = extra
            .filter(|h| h.len() >= 19 && h.starts_with(b"OpusHead"))
            .ok_or_else(|| AudioError::Malformed("the Opus stream has no valid header".into()))?;
        let channels = head[9];
        let mapping_family = head[18];
        if channels == 0 {
            return Err(AudioError::ZeroChannels);
        }
        if mapping_family != 0 || channels > 2 {
            return Err(AudioError::UnsupportedCodec(format!(
                "Opus with {channels} channels (mapping family {mapping_family}); mono and stereo are read"
            )));
        }
        Ok(Self {
            channels,
            pre_skip: u16::from_le_bytes([head[10], head[11]]),
        })
    }
}

fn media_error(e: MediaError) -> AudioError {
    match e {
        MediaError::Unsupported(what) => {
            AudioError::UnsupportedCodec(format!("unsupported in this file: {what}"))
        }
        MediaError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            AudioError::Malformed("the file ends early (truncated)".into())
        }
        MediaError::IoError(e) => AudioError::Malformed(e.to_string()),
        MediaError::DecodeError(why) => AudioError::Malformed(format!("malformed file: {why}")),
        MediaError::LimitError(why) => AudioError::Malformed(format!("limit reached: {why}")),
        other => AudioError::Malformed(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_sniffed_from_their_first_bytes() {
        let mut wav = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        wav.extend([0; 8]);
        assert_eq!(sniff(&wav), Some(AudioFormat::Wav));
        assert_eq!(sniff(b"fLaC\0\0\0\x22"), Some(AudioFormat::Flac));
        assert_eq!(sniff(b"ID3\x04\0\0"), Some(AudioFormat::Mp3));
        // MPEG-1 layer III, 128 kbit/s, 44.1 kHz.
        assert_eq!(sniff(&[0xff, 0xfb, 0x90, 0x64]), Some(AudioFormat::Mp3));
        // Layer II is not MP3.
        assert_eq!(sniff(&[0xff, 0xfd, 0x90, 0x64]), None);
        assert_eq!(
            sniff(&[0x1a, 0x45, 0xdf, 0xa3, 0x9f]),
            Some(AudioFormat::Webm)
        );
        let ogg = |first: &[u8]| {
            let mut page = b"OggS".to_vec();
            page.resize(26, 0);
            page.push(1);
            page.push(first.len() as u8);
            page.extend(first);
            page
        };
        assert_eq!(sniff(&ogg(b"OpusHead\x01\x01")), Some(AudioFormat::OggOpus));
        assert_eq!(sniff(&ogg(b"\x01vorbis\0\0")), Some(AudioFormat::OggVorbis));
        assert_eq!(sniff(&ogg(b"\x80theora")), None);
        assert_eq!(sniff(b"OggS"), None, "a page cut before its segment table");
        for other in [
            &b""[..],
            b"%PDF-1.7",
            b"<html>",
            b"\x89PNG\r\n",
            b"PK\x03\x04",
        ] {
            assert_eq!(sniff(other), None, "{other:?}");
        }
    }

    #[test]
    fn opus_packets_without_data_are_known_by_their_header() {
        // CELT 20 ms, code 0, no frame data: one empty frame.
        assert_eq!(empty_opus_packet(&[31 << 3]), Some(960));
        // Code 3, six empty 20 ms frames: 120 ms.
        assert_eq!(empty_opus_packet(&[(31 << 3) | 3, 6]), Some(5_760));
        // SILK 60 ms, code 1: two frames.
        assert_eq!(empty_opus_packet(&[(3 << 3) | 1]), Some(5_760));
        // With data, or too long, or no frames: for the decoder to judge.
        assert_eq!(empty_opus_packet(&[31 << 3, 0x55]), None);
        assert_eq!(empty_opus_packet(&[(31 << 3) | 3, 7]), None);
        assert_eq!(empty_opus_packet(&[(31 << 3) | 3, 0]), None);
        assert_eq!(empty_opus_packet(&[]), None);
    }

    #[test]
    fn an_ogg_streams_stated_length_is_read_from_its_last_page() {
        let page = |granule: i64, packet: &[u8]| {
            let mut page = b"OggS\0\0".to_vec();
            page.extend(granule.to_le_bytes());
            page.resize(26, 0);
            page.push(1);
            page.push(packet.len() as u8);
            page.extend(packet);
            page
        };
        let mut stream = page(0, b"OpusHead\x01\x01");
        stream.extend(page(48_000 * 3600, b"x"));
        assert_eq!(
            ogg_declared_seconds(&stream, AudioFormat::OggOpus),
            Some(3600.0)
        );
        let e = decode(&stream, Duration::from_secs(60)).expect_err("an hour > 60 s");
        assert!(matches!(e, AudioError::LongerThan { .. }), "{e}");
        assert_eq!(ogg_declared_seconds(&stream, AudioFormat::Wav), None);
    }

    #[test]
    fn what_is_not_audio_or_is_damaged_fails_clearly() {
        let limit = Duration::from_secs(60);
        assert!(matches!(
            decode(b"hello, this is text", limit),
            Err(AudioError::NotAudio)
        ));
        // A FLAC signature and nothing after it.
        let e = decode(b"fLaC\0\0\0\x22garbage", limit).expect_err("not a FLAC stream");
        assert!(!e.to_string().is_empty());
        // An Opus header claiming 6 channels.
        let mut head = b"OpusHead\x01\x06\x38\x01\x80\xbb\0\0\0\0\x01".to_vec();
        head.extend([4, 2, 0, 1, 2, 3, 4, 5]);
        assert!(matches!(
            OpusHead::parse(Some(&head)),
            Err(AudioError::UnsupportedCodec(_))
        ));
        assert!(OpusHead::parse(Some(b"OpusHe")).is_err());
        assert!(OpusHead::parse(None).is_err());
    }

    fn wav_of(samples: &[i16], rate: u32, channels: u16) -> Vec<u8> {
        let mut bytes = Vec::new();
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut writer = hound::WavWriter::new(Cursor::new(&mut bytes), spec).expect("wav writer");
        for s in samples {
            writer.write_sample(*s).expect("sample");
        }
        writer.finalize().expect("finalize");
        bytes
    }

    #[test]
    fn a_wav_decodes_to_its_samples_and_the_duration_limit_holds_while_decoding() {
        let tone: Vec<i16> = (0..32_000)
            .map(|i| ((i as f32 * 0.05).sin() * 8_000.0) as i16)
            .collect();
        let decoded = decode(&wav_of(&tone, 16_000, 1), Duration::from_secs(60)).expect("wav");
        assert_eq!(decoded.format, AudioFormat::Wav);
        assert_eq!(decoded.samples.len(), 32_000);
        for (got, want) in decoded.samples.iter().zip(&tone) {
            assert!((got - f32::from(*want) / 32_768.0).abs() < 1e-4);
        }
        assert_eq!(decoded.duration(), Duration::from_secs(2));
        let e = decode(&wav_of(&tone, 16_000, 1), Duration::from_secs(1)).expect_err("2 s > 1 s");
        assert!(matches!(e, AudioError::LongerThan { .. }), "{e}");
        // 16,000 stereo frames at 8 kHz (2 s): mixed to mono and resampled to twice as many.
        let stereo: Vec<i16> = tone[..16_000].iter().flat_map(|s| [*s, *s]).collect();
        let decoded = decode(&wav_of(&stereo, 8_000, 2), Duration::from_secs(60)).expect("wav");
        assert_eq!((decoded.channels, decoded.source_rate), (2, 8_000));
        assert_eq!(decoded.samples.len(), 32_000);
    }
}
