//! Recordings in the compressed formats batch transcription reads (FLAC, MP3, Ogg Vorbis, Ogg
//! Opus, WebM Opus), made at test time from the WAV recordings: by the static ffmpeg build that
//! the PyPI wheel `imageio-ffmpeg` ships (fetched once with `pip download`, its binary unpacked
//! under `target/test-audio/ffmpeg/`; used only to make test files, never by viva). The encoders
//! are the reference ones (libFLAC's format, LAME, libvorbis, libopus).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use super::{run, test_audio_dir, unavailable};

const WHEEL: &str = "imageio-ffmpeg==0.8.1";

/// A format to encode to: the file extension and ffmpeg's output options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Flac,
    Mp3,
    OggVorbis,
    OggOpus,
    WebmOpus,
}

impl Encoding {
    pub const ALL: [Encoding; 5] = [
        Encoding::Flac,
        Encoding::Mp3,
        Encoding::OggVorbis,
        Encoding::OggOpus,
        Encoding::WebmOpus,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Flac => "flac",
            Self::Mp3 => "mp3",
            Self::OggVorbis => "ogg_vorbis",
            Self::OggOpus => "ogg_opus",
            Self::WebmOpus => "webm",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Flac => "flac",
            Self::Mp3 => "mp3",
            Self::OggVorbis => "vorbis.ogg",
            Self::OggOpus => "opus.ogg",
            Self::WebmOpus => "webm",
        }
    }

    fn codec_args(self) -> &'static [&'static str] {
        match self {
            Self::Flac => &["-c:a", "flac"],
            Self::Mp3 => &["-c:a", "libmp3lame", "-b:a", "64k"],
            Self::OggVorbis => &["-c:a", "libvorbis", "-q:a", "4", "-f", "ogg"],
            Self::OggOpus => &["-c:a", "libopus", "-b:a", "32k", "-f", "ogg"],
            Self::WebmOpus => &["-c:a", "libopus", "-b:a", "32k", "-f", "webm"],
        }
    }
}

/// The ffmpeg binary, fetched on first use; `None` after [`unavailable`] when it cannot be.
pub fn ffmpeg() -> Option<PathBuf> {
    static FETCH: Mutex<()> = Mutex::new(());
    let _one_at_a_time = FETCH.lock().unwrap_or_else(|p| p.into_inner());
    let dir = test_audio_dir().join("ffmpeg");
    let binary = dir.join("ffmpeg");
    if binary.is_file() {
        return Some(binary);
    }
    match fetch_ffmpeg(&dir, &binary) {
        Ok(()) => Some(binary),
        Err(reason) => {
            unavailable(&format!(
                "ffmpeg from the PyPI wheel {WHEEL} (to make compressed test recordings): {reason}"
            ));
            None
        }
    }
}

fn fetch_ffmpeg(dir: &Path, binary: &Path) -> Result<(), String> {
    let work = dir.join(format!("download-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let result = (|| {
        run(Command::new("python3")
            .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
            .args(["--platform", "manylinux_2_28_x86_64", WHEEL, "-d"])
            .arg(&work))?;
        let wheel =
            super::find_file(&work, |name| name.ends_with(".whl")).ok_or("pip wrote no wheel")?;
        let file = std::fs::File::open(&wheel).map_err(|e| e.to_string())?;
        let mut archive = zip::ZipArchive::new(file).map_err(|e| e.to_string())?;
        let name = archive
            .file_names()
            .filter_map(Result::ok)
            .find(|n| n.contains("/binaries/ffmpeg-"))
            .map(|n| n.into_owned())
            .ok_or("no ffmpeg binary in the wheel")?;
        let mut entry = archive.by_name(&name).map_err(|e| e.to_string())?;
        let partial = work.join("ffmpeg.partial");
        let mut out = std::fs::File::create(&partial).map_err(|e| e.to_string())?;
        std::io::copy(&mut entry, &mut out).map_err(|e| e.to_string())?;
        drop(out);
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
        std::fs::rename(&partial, binary).map_err(|e| e.to_string())
    })();
    let _ = std::fs::remove_dir_all(&work);
    result
}

/// `wav` encoded as `encoding` (at `rate` Hz with `channels` channels, or the WAV's own when
/// `None`), cached under `target/test-audio/encoded/`.
pub fn encoded(
    wav: &Path,
    encoding: Encoding,
    rate: Option<u32>,
    channels: Option<u16>,
) -> Option<PathBuf> {
    let ffmpeg = ffmpeg()?;
    let stem = wav.file_stem()?.to_string_lossy().into_owned();
    let variant = format!(
        "{stem}-{}-{}.{}",
        rate.map_or("same".into(), |r| r.to_string()),
        channels.map_or("same".into(), |c| c.to_string()),
        encoding.extension()
    );
    let dir = test_audio_dir().join("encoded");
    std::fs::create_dir_all(&dir).ok()?;
    let out = dir.join(&variant);
    if out.is_file() {
        return Some(out);
    }
    let partial = dir.join(format!("{}.{}.partial", variant, std::process::id()));
    let mut command = Command::new(ffmpeg);
    command
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(wav)
        .args(encoding.codec_args());
    if let Some(rate) = rate {
        command.args(["-ar", &rate.to_string()]);
    }
    if let Some(channels) = channels {
        command.args(["-ac", &channels.to_string()]);
    }
    if encoding == Encoding::Flac {
        command.args(["-f", "flac"]);
    } else if encoding == Encoding::Mp3 {
        command.args(["-f", "mp3"]);
    }
    command.arg(&partial);
    if let Err(reason) = run(&mut command) {
        panic!(
            "ffmpeg could not encode {} as {encoding:?}: {reason}",
            wav.display()
        );
    }
    std::fs::rename(&partial, &out).ok()?;
    Some(out)
}
