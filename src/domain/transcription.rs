use super::text_enum::text_enum;

text_enum! {
    /// Where a batch transcription stands (`transcriptions.status`).
    pub enum TranscriptionStatus as "status" {
        /// Waiting for the speech worker.
        Queued = "queued",
        /// Being transcribed, segment by segment.
        Running = "running",
        /// Finished: the text and segments are there.
        Done = "done",
        /// It could not be transcribed; `error` says why.
        Failed = "failed",
    }
}

impl TranscriptionStatus {
    /// Queued or running: the task still has work (and its audio) pending.
    pub fn is_pending(self) -> bool {
        matches!(self, Self::Queued | Self::Running)
    }
}

text_enum! {
    /// An uploaded recording's format, sniffed from its bytes (`transcriptions.format`).
    pub enum AudioFormat as "format" {
        Wav = "wav",
        Flac = "flac",
        Mp3 = "mp3",
        OggVorbis = "ogg_vorbis",
        OggOpus = "ogg_opus",
        /// WebM (Matroska) with Opus or Vorbis audio: what browsers' MediaRecorder makes.
        Webm = "webm",
    }
}
