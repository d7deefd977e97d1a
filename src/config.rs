//! Settings: built-in defaults < `viva.toml` < `VIVA_*` environment variables.
//!
//! Every setting is declared once, in the `settings!` list below: its field and type, its
//! environment variable, its default (the value, and the text `--help` and the README show),
//! its parser and its help. From that one entry come the field of [`Settings`], its value in
//! `Settings::default()`, and its row of [`SETTINGS`], the table that drives parsing from both
//! the file and the environment and the `viva --help` text. The `viva.toml` key is the
//! field's name. Tests check that the README's settings table is [`SETTINGS`] and that every
//! default's text is the real default.
//!
//! Every value goes through its setting's parser whatever its source, and a bad value is
//! reported in one line with the setting's name and where it came from (a secret's value is
//! never repeated).
//!
//! To add a setting: add an entry to the `settings!` list, then the row the README test asks
//! for.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::db::DatabaseUrl;
use crate::fetch;
use crate::speech::vad::TurnSettings;
use crate::speech::whisper::WindowPolicy;

mod providers;
pub use providers::{OidcProvider, OidcProviders};

/// The `judge_model` value that runs no judge.
pub const NO_JUDGE: &str = "none";

/// The file read when `--config` / `VIVA_CONFIG` is not given (only if it exists).
pub const DEFAULT_CONFIG_FILE: &str = "viva.toml";

/// One documented setting: a row of [`SETTINGS`].
#[derive(Debug)]
pub struct SettingSpec {
    /// Key in `viva.toml`.
    pub key: &'static str,
    /// Environment variable.
    pub env: &'static str,
    /// Default, as a human reads it.
    pub default: &'static str,
    pub help: &'static str,
    /// An error about this setting shows `<hidden>` instead of the value.
    pub secret: bool,
    /// Parses a (trimmed) value and stores it in its field; `Err` says what was expected.
    apply: fn(&mut Settings, &str) -> Result<(), String>,
}

/// Declares every setting once; see the list below for the shape of an entry. Each entry
/// becomes a field of [`Settings`] (documented with its help), that field's value in
/// `Settings::default()`, and a row of [`SETTINGS`]. Fields under `not_settings` are in the
/// struct and `Default` only: nothing reads them from a file or the environment.
macro_rules! settings {
    (@secret) => { false };
    (@secret $secret:literal) => { $secret };
    (
        not_settings: {
            $( $(#[$extra_attr:meta])* $extra:ident: $extra_ty:ty = $extra_default:expr, )*
        }
        $(
            $field:ident: $ty:ty {
                env: $env:literal,
                default: $default:expr,
                shown: $shown:expr,
                parse: $parse:expr,
                $(secret: $secret:literal,)?
                help: $help:literal,
            },
        )*
    ) => {
        #[derive(Debug, Clone)]
        pub struct Settings {
            $( #[doc = $help] pub $field: $ty, )*
            $( $(#[$extra_attr])* pub $extra: $extra_ty, )*
        }

        impl Default for Settings {
            fn default() -> Self {
                Self {
                    $( $field: $default, )*
                    $( $extra: $extra_default, )*
                }
            }
        }

        /// Every setting, in the order `--help` lists them.
        pub const SETTINGS: &[SettingSpec] = &[
            $(
                SettingSpec {
                    key: stringify!($field),
                    env: $env,
                    default: $shown,
                    help: $help,
                    secret: settings!(@secret $($secret)?),
                    apply: |settings, value| {
                        let parse: fn(&str) -> Result<$ty, String> = $parse;
                        settings.$field = parse(value)?;
                        Ok(())
                    },
                },
            )*
        ];
    };
}

// An entry:
//
//     field: Type {
//         env: "VIVA_FIELD",    // environment variable (the viva.toml key is `field`)
//         default: value,       // what `Settings::default()` holds
//         shown: "text",        // that default as `--help` and the README print it; `(none…)`,
//                               // `{other}` (derived at use) and `<source>` mark unset or
//                               // build-dependent defaults, checked by a test
//         parse: parser,        // fn(&str) -> Result<Type, String>, given the trimmed value
//         secret: true,         // (only for secrets) errors never repeat the value
//         help: "…",            // `--help`, the README and the field's doc
//     },
settings! {
    // Fields of `Settings` that no file or environment variable sets.
    not_settings: {
        /// Not a setting: the viva executable that reads uploads in a child process (`None`: this
        /// executable). Tests, whose executable is the test harness, point it at the built `viva`.
        reader_program: Option<PathBuf> = None,
        /// Accept test-only protocol messages (`debug_panic`). Not a setting: only tests set it.
        test_hooks: bool = false,
    }

    bind: SocketAddr {
        env: "VIVA_BIND",
        default: SocketAddr::from(([127, 0, 0, 1], 8080)),
        shown: "127.0.0.1:8080",
        parse: |value| parse_address(value, "127.0.0.1:8080"),
        help: "Address the HTTP server listens on (HOST:PORT; port 0 picks a free port).",
    },
    public_url: Option<Url> {
        env: "VIVA_PUBLIC_URL",
        default: None,
        shown: "http://{bind}",
        parse: |value| parse_public_url(value).map(Some),
        help: "Origin users reach the server at. https:// makes cookies Secure; requests that change state must come from this origin.",
    },
    data_dir: PathBuf {
        env: "VIVA_DATA_DIR",
        default: PathBuf::from("./data"),
        shown: "./data",
        parse: parse_path,
        help: "Directory for the SQLite database, the cookie key and uploaded files.",
    },
    database_url: Option<DatabaseUrl> {
        env: "VIVA_DATABASE_URL",
        default: None,
        shown: "sqlite://{data_dir}/viva.db",
        parse: |value| DatabaseUrl::parse(value).map(Some),
        secret: true,
        help: "sqlite://PATH or postgres://USER@HOST:PORT/DB. DATABASE_URL is honoured when VIVA_DATABASE_URL is unset.",
    },
    db_pool_size: usize {
        env: "VIVA_DB_POOL_SIZE",
        default: 8,
        shown: "8",
        parse: |value| parse_count(value, 1),
        help: "Maximum open database connections.",
    },
    db_timeout: Duration {
        env: "VIVA_DB_TIMEOUT",
        default: Duration::from_secs(5),
        shown: "5s",
        parse: parse_duration,
        help: "Postgres statement timeout, SQLite busy timeout, and the longest wait for a pooled connection.",
    },
    models_dir: PathBuf {
        env: "VIVA_MODELS_DIR",
        default: PathBuf::from("./models"),
        shown: "./models",
        parse: parse_path,
        help: "Directory holding model weights.",
    },
    whisper_model: PathBuf {
        env: "VIVA_WHISPER_MODEL",
        default: PathBuf::from(fetch::DEFAULT_WHISPER),
        shown: fetch::DEFAULT_WHISPER,
        parse: parse_path,
        help: "Speech model: a directory (in models_dir, or a path) holding config.json, tokenizer.json and model.safetensors.",
    },
    llm_model: PathBuf {
        env: "VIVA_LLM_MODEL",
        default: PathBuf::from(fetch::DEFAULT_LLM),
        shown: fetch::DEFAULT_LLM,
        parse: parse_path,
        help: "Interviewer model: a GGUF file (in models_dir, or a path).",
    },
    judge_model: PathBuf {
        env: "VIVA_JUDGE_MODEL",
        default: PathBuf::from(fetch::DEFAULT_JUDGE),
        shown: fetch::DEFAULT_JUDGE,
        parse: parse_path,
        help: "Model that checks each rubric point of an answer (a GGUF file in models_dir, or a path): any llama or qwen2 instruct model whose tokenizer has the words yes and no. `none` scores with the sentence encoder alone (weaker; saves about 2 GB of memory and the judge's seconds per answer).",
    },
    encoder_model: PathBuf {
        env: "VIVA_ENCODER_MODEL",
        default: PathBuf::from(fetch::DEFAULT_ENCODER),
        shown: fetch::DEFAULT_ENCODER,
        parse: parse_path,
        help: "Sentence encoder the answer assessment uses: a directory (in models_dir, or a path) holding a sentence-transformers BERT's config.json, tokenizer.json and model.safetensors.",
    },
    voice: VoiceMode {
        env: "VIVA_VOICE",
        default: VoiceMode::Local,
        shown: "local",
        parse: VoiceMode::parse,
        help: "Who speaks the interviewer's words: `local` (viva itself, with the Piper voice `voice_model`, streamed to the page; the browser's voice when the voice cannot run), `browser` (the browser's own speech synthesis) or `off` (silent: the words are shown).",
    },
    voice_model: PathBuf {
        env: "VIVA_VOICE_MODEL",
        default: PathBuf::from(fetch::DEFAULT_VOICE),
        shown: fetch::DEFAULT_VOICE,
        parse: parse_path,
        help: "The interviewer's voice: a Piper voice's .onnx file (in models_dir, or a path) with its config beside it as <file>.json.",
    },
    voice_threads: usize {
        env: "VIVA_VOICE_THREADS",
        default: 0,
        shown: "0",
        parse: |value| parse_count(value, 0),
        help: "Threads the voice runs on (ONNX Runtime's intra-op threads); 0 means one per CPU core. A sentence is spoken while the voice holds the compute gate, so the other models wait meanwhile and the voice may as well use every core.",
    },
    device: Device {
        env: "VIVA_DEVICE",
        default: Device::Cpu,
        shown: "cpu",
        parse: Device::parse,
        help: "Where models run: `cpu`, or `cuda` / `cuda:N` in a build with --features cuda.",
    },
    speech_window: WindowPolicy {
        env: "VIVA_SPEECH_WINDOW",
        default: WindowPolicy::Padded,
        shown: "padded",
        parse: |value| value.parse(),
        help: "How much audio Whisper's encoder sees: `padded` (the full 30 s window) or `audio` (only the audio's length: faster on short answers).",
    },
    turn_end_silence: Duration {
        env: "VIVA_TURN_END_SILENCE",
        default: Duration::from_millis(1500),
        shown: "1.5s",
        parse: |value| {
            parse_duration_within(value, Duration::from_millis(300), Duration::from_secs(30))
        },
        help: "Silence that ends a spoken answer (long enough for a thinking pause); 300ms to 30s.",
    },
    turn_max_answer: Duration {
        env: "VIVA_TURN_MAX_ANSWER",
        default: Duration::from_secs(180),
        shown: "3m",
        parse: |value| {
            parse_duration_within(value, Duration::from_secs(5), Duration::from_secs(30 * 60))
        },
        help: "Longest spoken answer; a longer one is cut here. 5s to 30m.",
    },
    interview_grace: Duration {
        env: "VIVA_INTERVIEW_GRACE",
        default: Duration::from_secs(120),
        shown: "2m",
        parse: |value| {
            parse_duration_within(value, Duration::from_secs(1), Duration::from_secs(3600))
        },
        help: "How long a live interview waits for its browser to come back after the connection drops (a reload resumes at once); 1s to 1h. Later connections resume from the database.",
    },
    node_name: Option<String> {
        env: "VIVA_NODE_NAME",
        default: None,
        shown: "(HOSTNAME:PORT)",
        parse: |value| parse_node_name(value).map(Some),
        help: "This node's name among the nodes sharing one PostgreSQL (it holds interview leases under it); unique per node and the same across its restarts. 1 to 100 letters, digits and . _ : -.",
    },
    interview_lease: Duration {
        env: "VIVA_INTERVIEW_LEASE",
        default: Duration::from_secs(15),
        shown: "15s",
        parse: |value| {
            parse_duration_within(value, Duration::from_secs(1), Duration::from_secs(300))
        },
        help: "With several nodes on PostgreSQL, how long a node's claim on a live interview lasts unless renewed (three times per lease): after a node dies its interviews resume elsewhere within this; 1s to 5m.",
    },
    drain_timeout: Duration {
        env: "VIVA_DRAIN_TIMEOUT",
        default: Duration::from_secs(600),
        shown: "10m",
        parse: |value| parse_duration_within(value, Duration::ZERO, Duration::from_secs(24 * 3600)),
        help: "On SIGTERM/SIGINT, how long live interviews may go on before they are handed over to another node (their pages reconnect); 0 hands them over at once. A second signal hands them over at once too.",
    },
    fetch_models: bool {
        env: "VIVA_FETCH_MODELS",
        default: true,
        shown: "true",
        parse: parse_bool,
        help: "On start, fetch the default models into models_dir when they are missing.",
    },
    static_dir: PathBuf {
        env: "VIVA_STATIC_DIR",
        default: Path::new(env!("CARGO_MANIFEST_DIR")).join("static"),
        shown: "<source>/static",
        parse: parse_path,
        help: "Directory of the browser app served at /.",
    },
    session_store: SessionStoreKind {
        env: "VIVA_SESSION_STORE",
        default: SessionStoreKind::Database,
        shown: "database",
        parse: SessionStoreKind::parse,
        help: "Where login sessions live: `database` (the app's database) or `redis` (for multi-node deployments).",
    },
    redis_url: SecretString {
        env: "VIVA_REDIS_URL",
        default: SecretString::from("redis://127.0.0.1:6379"),
        shown: "redis://127.0.0.1:6379",
        parse: parse_redis_url,
        secret: true,
        help: "Redis server used when session_store = redis.",
    },
    session_idle_timeout: Duration {
        env: "VIVA_SESSION_IDLE_TIMEOUT",
        default: Duration::from_secs(24 * 3600),
        shown: "24h",
        parse: parse_duration,
        help: "A session unused for this long expires.",
    },
    session_absolute_timeout: Duration {
        env: "VIVA_SESSION_ABSOLUTE_TIMEOUT",
        default: Duration::from_secs(7 * 24 * 3600),
        shown: "7d",
        parse: parse_duration,
        help: "A session expires this long after login, however active.",
    },
    secret_key: Option<SecretString> {
        env: "VIVA_SECRET_KEY",
        default: None,
        shown: "generated into {data_dir}/secret.key",
        parse: |value| {
            parse_secret_key(value)?;
            Ok(Some(SecretString::from(value.to_owned())))
        },
        secret: true,
        help: "128 hex characters (64 bytes) that sign and encrypt the session cookie. Set the same value on every node.",
    },
    max_body_bytes: usize {
        env: "VIVA_MAX_BODY_BYTES",
        default: 64 * 1024,
        shown: "65536",
        parse: |value| parse_count(value, 1024),
        help: "Largest accepted request body for JSON and form requests.",
    },
    rate_limit_window: Duration {
        env: "VIVA_RATE_LIMIT_WINDOW",
        default: Duration::from_secs(15 * 60),
        shown: "15m",
        parse: parse_duration,
        help: "Window over which the login and registration limits below are counted.",
    },
    login_max_failures_per_ip: u32 {
        env: "VIVA_LOGIN_MAX_FAILURES_PER_IP",
        default: 20,
        shown: "20",
        parse: parse_limit,
        help: "Failed logins from one client address per window before 429.",
    },
    login_max_failures_per_account: u32 {
        env: "VIVA_LOGIN_MAX_FAILURES_PER_ACCOUNT",
        default: 5,
        shown: "5",
        parse: parse_limit,
        help: "Failed logins for one email per window before 429.",
    },
    register_max_per_ip: u32 {
        env: "VIVA_REGISTER_MAX_PER_IP",
        default: 10,
        shown: "10",
        parse: parse_limit,
        help: "Registration attempts from one client address per window before 429.",
    },
    code_emails_max_per_ip: u32 {
        env: "VIVA_CODE_EMAILS_MAX_PER_IP",
        default: 10,
        shown: "10",
        parse: parse_limit,
        help: "Password-reset and verification emails asked for from one client address per window before 429.",
    },
    code_emails_max_per_account: u32 {
        env: "VIVA_CODE_EMAILS_MAX_PER_ACCOUNT",
        default: 3,
        shown: "3",
        parse: parse_limit,
        help: "Password-reset and verification emails sent to one account per window (further asks get the same answer and send nothing).",
    },
    code_lifetime: Duration {
        env: "VIVA_CODE_LIFETIME",
        default: Duration::from_secs(15 * 60),
        shown: "15m",
        parse: |value| parse_duration_within(value, Duration::from_secs(60), Duration::from_secs(24 * 3600)),
        help: "How long an emailed one-time code (password reset, email verification) works; a new code replaces the old one.",
    },
    code_max_attempts: u32 {
        env: "VIVA_CODE_MAX_ATTEMPTS",
        default: 5,
        shown: "5",
        parse: parse_limit,
        help: "Wrong tries a one-time code allows before it stops working.",
    },
    email_verification: EmailVerification {
        env: "VIVA_EMAIL_VERIFICATION",
        default: EmailVerification::Off,
        shown: "off",
        parse: EmailVerification::parse,
        help: "`off`, `candidates` (a candidate must confirm their email with the emailed code before starting a practice interview) or `all` (every account; recruiters also before inviting candidates).",
    },
    api_key_requests_per_minute: u32 {
        env: "VIVA_API_KEY_REQUESTS_PER_MINUTE",
        default: 300,
        shown: "300",
        parse: parse_limit,
        help: "Requests one API key may make per minute before 429 (each response says what is left in `RateLimit-*` headers).",
    },
    api_key_usage_retention: Duration {
        env: "VIVA_API_KEY_USAGE_RETENTION",
        default: Duration::from_secs(30 * 24 * 3600),
        shown: "30d",
        parse: |value| parse_duration_within(value, Duration::from_secs(3600), Duration::from_secs(3650 * 24 * 3600)),
        help: "How long the log of requests made with each API key is kept.",
    },
    trusted_proxies: usize {
        env: "VIVA_TRUSTED_PROXIES",
        default: 0,
        shown: "0",
        parse: |value| parse_count(value, 0),
        help: "Reverse proxies in front of viva that each append the address they were reached from to X-Forwarded-For. 0: limits count the TCP peer's address. N: they count the Nth X-Forwarded-For hop from the right (the one the outermost trusted proxy added); hops to its left are the client's own and ignored, and a header with fewer hops falls back to the peer.",
    },
    trust_forwarded_for: bool {
        env: "VIVA_TRUST_FORWARDED_FOR",
        default: false,
        shown: "false",
        parse: parse_bool,
        help: "Older form of trusted_proxies: true means one trusted proxy (trusted_proxies = 1) when trusted_proxies is 0.",
    },
    password_hash_concurrency: usize {
        env: "VIVA_PASSWORD_HASH_CONCURRENCY",
        default: 0,
        shown: "0",
        parse: |value| parse_count(value, 0),
        help: "Password hashes (argon2id, 19 MiB each) computed at once by logins, registrations and password changes; 0 means one per CPU core.",
    },
    password_hash_queue: usize {
        env: "VIVA_PASSWORD_HASH_QUEUE",
        default: 16,
        shown: "16",
        parse: |value| parse_count(value, 0),
        help: "Password hashes that may wait for one of those slots; beyond that the request gets 503 `server_busy` with Retry-After.",
    },
    max_live_interviews: Option<usize> {
        env: "VIVA_MAX_LIVE_INTERVIEWS",
        default: None,
        shown: "(none: 8 on a CPU with AVX-512 BF16, 4 on others)",
        parse: |value| parse_count(value, 0).map(Some),
        help: "Live interviews with a connection open this server holds at once (0: no limit; a session waiting out interview_grace after its page closed does not count). One more is refused before the WebSocket upgrade with 503 `server_full` and Retry-After, so the running ones stay fast; joining a running interview is never refused. The default is what 2 cores serve with the default models and the whole reply's p95 under 2 s, measured with `viva loadtest` on each class of CPU (viva's AVX-512 kernels make Whisper and the language model about 4× faster than AVX2 alone); a bigger machine or a GPU serves more: measure yours with `viva loadtest`.",
    },
    max_live_interviews_per_user: usize {
        env: "VIVA_MAX_LIVE_INTERVIEWS_PER_USER",
        default: 3,
        shown: "3",
        parse: |value| parse_count(value, 1),
        help: "Live interviews (session running on this node) one signed-in user may hold at once; one more is refused before the WebSocket upgrade with 429 `too_many_live_interviews`. Interviews opened with a candidate's invite link do not count against the recruiter.",
    },
    max_interviews_per_hour: u32 {
        env: "VIVA_MAX_INTERVIEWS_PER_HOUR",
        default: 30,
        shown: "30",
        parse: parse_limit,
        help: "Interviews one user may create per hour, practice interviews and job candidates alike; beyond it 429 `too_many_interviews` with Retry-After.",
    },
    workers: usize {
        env: "VIVA_WORKERS",
        default: 0,
        shown: "0",
        parse: |value| parse_count(value, 0),
        help: "HTTP worker threads; 0 means one per CPU core.",
    },
    shutdown_timeout: Duration {
        env: "VIVA_SHUTDOWN_TIMEOUT",
        default: Duration::from_secs(30),
        shown: "30s",
        parse: parse_duration,
        help: "On SIGTERM/SIGINT, how long in-flight requests may take to finish.",
    },
    invite_ttl: Duration {
        env: "VIVA_INVITE_TTL",
        default: Duration::from_secs(7 * 24 * 3600),
        shown: "7d",
        parse: |value| {
            parse_duration_within(
                value,
                Duration::from_secs(3600),
                Duration::from_secs(90 * 24 * 3600),
            )
        },
        help: "How long a candidate's invite link works; 1h to 90d. A recruiter can issue a new one.",
    },
    upload_read_timeout: Duration {
        env: "VIVA_UPLOAD_READ_TIMEOUT",
        default: Duration::from_secs(10),
        shown: "10s",
        parse: |value| {
            parse_duration_within(value, Duration::from_secs(1), Duration::from_secs(300))
        },
        help: "Longest time (wall clock and CPU) a child process may take to read an uploaded resume's text before it is killed and the file kept as `too_complex`; 1s to 5m.",
    },
    upload_read_memory_mb: u64 {
        env: "VIVA_UPLOAD_READ_MEMORY_MB",
        default: 512,
        shown: "512",
        parse: |value| {
            parse_count(value, 64)
                .ok()
                .filter(|mb| *mb <= 16384)
                .map(|mb| mb as u64)
                .ok_or_else(|| "expected a whole number from 64 to 16384".into())
        },
        help: "Address space of that child process, in MiB (64 to 16384); a file that needs more is kept as `too_complex`.",
    },
    upload_quota_per_job_mb: u64 {
        env: "VIVA_UPLOAD_QUOTA_PER_JOB_MB",
        default: 1024,
        shown: "1024",
        parse: |value| parse_count(value, 10).map(|mb| mb as u64),
        help: "Space, in MiB, all resumes of one job's candidates may take; an upload past it gets 413 `upload_quota_exceeded`. Each interview keeps one resume: a new one replaces (and deletes) the old.",
    },
    uploads_per_interview_per_hour: u32 {
        env: "VIVA_UPLOADS_PER_INTERVIEW_PER_HOUR",
        default: 10,
        shown: "10",
        parse: parse_limit,
        help: "Resume uploads per interview (its invite link and its recruiter together) per hour before 429.",
    },
    transcription_max_upload_mb: u64 {
        env: "VIVA_TRANSCRIPTION_MAX_UPLOAD_MB",
        default: 50,
        shown: "50",
        parse: |value| {
            parse_count(value, 1)
                .ok()
                .filter(|mb| *mb <= 4096)
                .map(|mb| mb as u64)
                .ok_or_else(|| "expected a whole number from 1 to 4096".into())
        },
        help: "Largest recording, in MiB, accepted by POST /api/v1/transcriptions (1 to 4096); a larger one gets 413 `payload_too_large`.",
    },
    transcription_max_duration: Duration {
        env: "VIVA_TRANSCRIPTION_MAX_DURATION",
        default: Duration::from_secs(30 * 60),
        shown: "30m",
        parse: |value| {
            parse_duration_within(value, Duration::from_secs(1), Duration::from_secs(4 * 3600))
        },
        help: "Longest recording a batch transcription takes (1s to 4h), checked while it is decoded; a longer one gets 422 `audio_too_long`.",
    },
    transcription_queue: usize {
        env: "VIVA_TRANSCRIPTION_QUEUE",
        default: 8,
        shown: "8",
        parse: |value| parse_count(value, 1),
        help: "Batch transcriptions queued or running on this server at once; past it, a new one gets 503 `transcription_queue_full` with Retry-After.",
    },
    transcription_retention: Duration {
        env: "VIVA_TRANSCRIPTION_RETENTION",
        default: Duration::from_secs(7 * 24 * 3600),
        shown: "7d",
        parse: |value| {
            parse_duration_within(value, Duration::from_secs(1), Duration::from_secs(365 * 24 * 3600))
        },
        help: "How long a finished batch transcription (its text and segments) is kept before a periodic sweep deletes it; 1s to 365d.",
    },
    password_sign_in: bool {
        env: "VIVA_PASSWORD_SIGN_IN",
        default: true,
        shown: "true",
        parse: parse_bool,
        help: "Whether people may register and sign in with an email and a password. false: only providers (oidc_providers); registering, logging in and linking a provider by password then answer 403 `password_sign_in_disabled`, and the page hides the forms.",
    },
    oidc_providers: Option<OidcProviders> {
        env: "VIVA_OIDC_PROVIDERS",
        default: None,
        shown: "(none)",
        parse: |value| OidcProviders::from_file(Path::new(value)).map(Some),
        help: "A TOML file of OpenID Connect providers people may sign in with (README: Signing in with a provider): [[provider]] tables with key, name, issuer, client_id, client_secret and scopes, or a preset (google, linkedin, gitlab). Read at start; its secrets are never logged.",
    },
    smtp_host: Option<String> {
        env: "VIVA_SMTP_HOST",
        default: None,
        shown: "(none: emails are recorded as not_configured)",
        parse: |value| parse_smtp_host(value).map(Some),
        help: "SMTP server for invite and completion emails.",
    },
    smtp_port: u16 {
        env: "VIVA_SMTP_PORT",
        default: 587,
        shown: "587",
        parse: |value| {
            value
                .parse()
                .ok()
                .filter(|port| *port > 0)
                .ok_or_else(|| "expected a port from 1 to 65535".into())
        },
        help: "SMTP port.",
    },
    smtp_tls: SmtpTls {
        env: "VIVA_SMTP_TLS",
        default: SmtpTls::Starttls,
        shown: "starttls",
        parse: SmtpTls::parse,
        help: "`starttls` (upgrade a plain connection, required), `tls` (TLS from the start, usually port 465) or `none` (a local relay only).",
    },
    smtp_username: Option<String> {
        env: "VIVA_SMTP_USERNAME",
        default: None,
        shown: "(none)",
        parse: |value| Ok(Some(value.to_owned())),
        help: "SMTP user name, when the server wants one.",
    },
    smtp_password: Option<SecretString> {
        env: "VIVA_SMTP_PASSWORD",
        default: None,
        shown: "(none)",
        parse: |value| Ok(Some(SecretString::from(value.to_owned()))),
        secret: true,
        help: "SMTP password.",
    },
    smtp_from: String {
        env: "VIVA_SMTP_FROM",
        default: "viva <viva@localhost>".into(),
        shown: "viva <viva@localhost>",
        parse: parse_mailbox,
        help: "Sender of viva's emails (`Name <address>`).",
    },
    invite_sweep_interval: Duration {
        env: "VIVA_INVITE_SWEEP_INTERVAL",
        default: Duration::from_secs(60),
        shown: "1m",
        parse: |value| {
            parse_duration_within(value, Duration::from_secs(1), Duration::from_secs(3600))
        },
        help: "How often pending hiring interviews whose links have all expired are marked `expired` (each sends its `invite.expired` webhook once); 1s to 1h.",
    },
    webhook_allow_private: bool {
        env: "VIVA_WEBHOOK_ALLOW_PRIVATE",
        default: false,
        shown: "false",
        parse: parse_bool,
        help: "Whether webhook endpoints may be private, loopback or link-local addresses (checked when saved and, after name resolution, at every delivery). Off, recruiters cannot make the server call into its own network (SSRF); turn on for a receiver on the same host or network.",
    },
    webhook_timeout: Duration {
        env: "VIVA_WEBHOOK_TIMEOUT",
        default: Duration::from_secs(10),
        shown: "10s",
        parse: |value| {
            parse_duration_within(value, Duration::from_secs(1), Duration::from_secs(120))
        },
        help: "Longest one webhook delivery may take, connecting included; a slower endpoint counts as a failed attempt. 1s to 2m.",
    },
    webhook_max_attempts: u32 {
        env: "VIVA_WEBHOOK_MAX_ATTEMPTS",
        default: 12,
        shown: "12",
        parse: |value| match parse_limit(value)? {
            n if n > 100 => Err("must be at most 100".into()),
            n => Ok(n),
        },
        help: "Attempts at one webhook message (the first and its retries) before it is marked failed; a recruiter can still redeliver it.",
    },
    webhook_retry_base: Duration {
        env: "VIVA_WEBHOOK_RETRY_BASE",
        default: Duration::from_secs(30),
        shown: "30s",
        parse: parse_duration,
        help: "Wait before the first retry of a webhook message; each later one waits twice the one before (at most webhook_retry_max), then a random half to all of that.",
    },
    webhook_retry_max: Duration {
        env: "VIVA_WEBHOOK_RETRY_MAX",
        default: Duration::from_secs(6 * 3600),
        shown: "6h",
        parse: parse_duration,
        help: "Longest wait between two attempts at a webhook message.",
    },
    webhook_poll_interval: Duration {
        env: "VIVA_WEBHOOK_POLL_INTERVAL",
        default: Duration::from_secs(1),
        shown: "1s",
        parse: |value| {
            parse_duration_within(value, Duration::from_millis(10), Duration::from_secs(60))
        },
        help: "How often the delivery worker looks for due webhook messages; 10ms to 1m.",
    },
    webhook_concurrency: usize {
        env: "VIVA_WEBHOOK_CONCURRENCY",
        default: 4,
        shown: "4",
        parse: |value| parse_count(value, 1),
        help: "Webhook deliveries in flight at once, each to a different endpoint (an endpoint gets its messages one at a time, in order).",
    },
    webhook_rotation_grace: Duration {
        env: "VIVA_WEBHOOK_ROTATION_GRACE",
        default: Duration::from_secs(24 * 3600),
        shown: "24h",
        parse: parse_duration,
        help: "After a webhook secret is rotated, how long deliveries also carry a signature by the previous secret.",
    },
    log_format: LogFormat {
        env: "VIVA_LOG_FORMAT",
        default: LogFormat::Pretty,
        shown: "pretty",
        parse: LogFormat::parse,
        help: "`pretty` for people or `json` for log collectors.",
    },
    log_level: String {
        env: "VIVA_LOG",
        default: "info".into(),
        shown: "info",
        parse: parse_log_filter,
        help: "Log filter, e.g. `info` or `viva=debug,actix_web=info`.",
    },
    metrics_bind: Option<SocketAddr> {
        env: "VIVA_METRICS_BIND",
        default: None,
        shown: "(none)",
        parse: |value| parse_address(value, "127.0.0.1:9464").map(Some),
        help: "Serve Prometheus metrics at /metrics on this separate address only (HOST:PORT, e.g. 127.0.0.1:9464), never on the main port. With neither this nor metrics_token, /metrics is not served.",
    },
    metrics_token: Option<SecretString> {
        env: "VIVA_METRICS_TOKEN",
        default: None,
        shown: "(none)",
        parse: |value| parse_metrics_token(value).map(Some),
        secret: true,
        help: "Secret (at least 16 characters) that scrapers must send as `Authorization: Bearer <token>` to read /metrics, on the main port (when metrics_bind is unset) or on metrics_bind. Never printed.",
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStoreKind {
    Database,
    Redis,
}

impl SessionStoreKind {
    fn parse(value: &str) -> Result<Self, String> {
        match value {
            "database" => Ok(Self::Database),
            "redis" => Ok(Self::Redis),
            _ => Err("expected `database` or `redis`".into()),
        }
    }
}

/// Where inference runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Cpu,
    Cuda(usize),
}

impl Device {
    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda(0)),
            other => match other.strip_prefix("cuda:").map(str::parse) {
                Some(Ok(n)) => Ok(Self::Cuda(n)),
                _ => Err("expected `cpu`, `cuda` or `cuda:N`".into()),
            },
        }
    }
}

/// Who speaks the interviewer's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VoiceMode {
    /// viva synthesises each sentence and streams the audio to the page.
    Local,
    /// The page speaks with the browser's own speech synthesis.
    Browser,
    /// Nobody speaks; the words are shown.
    Off,
}

impl VoiceMode {
    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "local" => Ok(Self::Local),
            "browser" => Ok(Self::Browser),
            "off" => Ok(Self::Off),
            _ => Err("expected `local`, `browser` or `off`".into()),
        }
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    None,
    Starttls,
    Tls,
}

impl SmtpTls {
    fn parse(value: &str) -> Result<Self, String> {
        match value {
            "starttls" => Ok(Self::Starttls),
            "tls" => Ok(Self::Tls),
            "none" => Ok(Self::None),
            _ => Err("expected `starttls`, `tls` or `none`".into()),
        }
    }
}

/// Who must confirm their email address before starting interviews.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailVerification {
    Off,
    Candidates,
    All,
}

impl EmailVerification {
    fn parse(value: &str) -> Result<Self, String> {
        match value {
            "off" => Ok(Self::Off),
            "candidates" => Ok(Self::Candidates),
            "all" => Ok(Self::All),
            _ => Err("expected `off`, `candidates` or `all`".into()),
        }
    }

    /// Whether an account of `role` must have confirmed its email.
    pub fn required_for(self, role: crate::domain::Role) -> bool {
        match self {
            Self::Off => false,
            Self::Candidates => role == crate::domain::Role::Candidate,
            Self::All => true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

impl LogFormat {
    fn parse(value: &str) -> Result<Self, String> {
        match value {
            "pretty" => Ok(Self::Pretty),
            "json" => Ok(Self::Json),
            _ => Err("expected `pretty` or `json`".into()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid setting {setting} = {value:?} (from {origin}): {reason}")]
    Invalid {
        setting: String,
        value: String,
        origin: String,
        reason: String,
    },
    #[error("unknown setting `{key}` in {origin}; run `viva --help` for the list")]
    Unknown { key: String, origin: String },
    #[error("cannot read config file {path}: {reason}")]
    File { path: String, reason: String },
}

impl Settings {
    /// Defaults, then the config file (if any), then the environment.
    pub fn load(config_file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut settings = Self::default();
        match config_file {
            Some(path) => settings.apply_file(path)?,
            None => {
                let default = Path::new(DEFAULT_CONFIG_FILE);
                if default.exists() {
                    settings.apply_file(default)?;
                }
            }
        }
        settings.apply_env(|name| std::env::var(name).ok())?;
        Ok(settings)
    }

    pub fn apply_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        self.apply_toml(&text, &path.display().to_string())
    }

    pub fn apply_toml(&mut self, text: &str, origin: &str) -> Result<(), ConfigError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::File {
                path: origin.to_owned(),
                reason: e.message().to_owned(),
            })?;
        for (key, value) in table {
            let spec =
                SETTINGS
                    .iter()
                    .find(|s| s.key == key)
                    .ok_or_else(|| ConfigError::Unknown {
                        key: key.clone(),
                        origin: origin.to_owned(),
                    })?;
            let value = match value {
                toml::Value::String(s) => s,
                other => other.to_string(),
            };
            self.set(spec, &value, origin)?;
        }
        Ok(())
    }

    /// `lookup` reads one environment variable; tests pass their own.
    pub fn apply_env(
        &mut self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        for spec in SETTINGS {
            let value = lookup(spec.env).or_else(|| {
                (spec.key == "database_url")
                    .then(|| lookup("DATABASE_URL"))
                    .flatten()
            });
            if let Some(value) = value {
                self.set(spec, &value, "environment")?;
            }
        }
        Ok(())
    }

    /// Parses `value` for `spec` and stores it; an error names the setting and `origin`.
    fn set(&mut self, spec: &SettingSpec, value: &str, origin: &str) -> Result<(), ConfigError> {
        (spec.apply)(self, value.trim()).map_err(|reason| ConfigError::Invalid {
            setting: format!("{} ({})", spec.env, spec.key),
            value: if spec.secret {
                "<hidden>".into()
            } else {
                value.to_owned()
            },
            origin: origin.to_owned(),
            reason,
        })
    }

    /// The database to use: the configured one, or SQLite inside the data directory.
    pub fn database(&self) -> DatabaseUrl {
        self.database_url
            .clone()
            .unwrap_or_else(|| DatabaseUrl::Sqlite(self.data_dir.join("viva.db")))
    }

    /// How many X-Forwarded-For hops, from the right, were written by proxies viva trusts
    /// (`trust_forwarded_for` is the older way of saying one).
    pub fn trusted_proxy_hops(&self) -> usize {
        if self.trusted_proxies == 0 && self.trust_forwarded_for {
            1
        } else {
            self.trusted_proxies
        }
    }

    /// The Whisper model directory (relative names live in models_dir).
    /// The model files these settings point at.
    pub fn chosen_models(&self) -> crate::fetch::ChosenModels {
        crate::fetch::ChosenModels {
            models_dir: self.models_dir.clone(),
            whisper_dir: self.whisper_model_dir(),
            llm_file: self.llm_model_file(),
            encoder_dir: self.encoder_model_dir(),
            judge_file: self.judge_model_file(),
            voice_model: (self.voice == VoiceMode::Local).then(|| self.voice_files().model),
        }
    }

    pub fn whisper_model_dir(&self) -> PathBuf {
        self.models_dir.join(&self.whisper_model)
    }

    /// The LLM GGUF file (relative names live in models_dir).
    pub fn llm_model_file(&self) -> PathBuf {
        self.models_dir.join(&self.llm_model)
    }

    /// The judge's GGUF file (relative names live in models_dir); `None` when `judge_model` is
    /// `none`.
    pub fn judge_model_file(&self) -> Option<PathBuf> {
        (self.judge_model != std::path::Path::new(NO_JUDGE))
            .then(|| self.models_dir.join(&self.judge_model))
    }

    /// The sentence encoder's directory (relative names live in models_dir).
    pub fn encoder_model_dir(&self) -> PathBuf {
        self.models_dir.join(&self.encoder_model)
    }

    /// The voice's files: `voice_model` (relative names live in models_dir) with the runtime
    /// and phonemizer `viva models fetch` puts in models_dir.
    pub fn voice_files(&self) -> crate::voice::VoiceFiles {
        crate::voice::VoiceFiles {
            model: self.models_dir.join(&self.voice_model),
            ..crate::fetch::voice::default_voice_files(
                &self.models_dir,
                &crate::fetch::Sources::from_env().python,
            )
        }
    }

    /// Live interviews this node holds at once (0: no limit): `max_live_interviews`, or the
    /// default measured for this class of CPU (BENCHMARKS.md, "Many interviews at once").
    pub fn live_interview_capacity(&self) -> usize {
        self.max_live_interviews.unwrap_or_else(|| {
            if viva_kernels::bf16::available() {
                8
            } else {
                4
            }
        })
    }

    /// How spoken answers are cut out of the audio stream.
    pub fn turn_settings(&self) -> TurnSettings {
        TurnSettings {
            end_silence: self.turn_end_silence,
            max_answer: self.turn_max_answer,
            ..TurnSettings::default()
        }
    }

    /// The 64-byte cookie key, if configured (otherwise startup generates and keeps one).
    pub fn configured_secret_key(&self) -> Option<Vec<u8>> {
        self.secret_key
            .as_ref()
            .and_then(|k| parse_secret_key(k.expose_secret()).ok())
    }

    /// `viva --help` text listing every setting.
    pub fn help_text() -> String {
        let mut out = String::from("SETTINGS (defaults < viva.toml < environment):\n");
        for spec in SETTINGS {
            out.push_str(&format!(
                "  {:<36} {}\n  {:<36}   default: {}; in viva.toml: {}\n",
                spec.env, spec.help, "", spec.default, spec.key
            ));
        }
        out
    }
}

fn parse_address(value: &str, example: &str) -> Result<SocketAddr, String> {
    value
        .parse()
        .map_err(|_| format!("expected HOST:PORT, e.g. {example}"))
}

fn parse_public_url(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must start with http:// or https://".into());
    }
    if url.host_str().is_none() {
        return Err("must name a host".into());
    }
    if url.path() != "/" || url.query().is_some() {
        return Err("must be an origin only, e.g. https://viva.example.com".into());
    }
    Ok(url)
}

fn parse_path(value: &str) -> Result<PathBuf, String> {
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    Ok(PathBuf::from(value))
}

/// Longest duration any setting takes: timers and rate-limit windows add durations to the
/// clock, which cannot hold arbitrary ones (`Instant + 10^12 years` panics).
const MAX_DURATION: Duration = Duration::from_secs(3650 * 24 * 3600);

fn parse_duration(value: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(value)
        .map_err(|e| format!("{e}; expected a duration such as 30s, 15m, 24h or 7d"))?;
    if duration.is_zero() {
        return Err("must be longer than zero".into());
    }
    if duration > MAX_DURATION {
        return Err("must be at most 3650 days".into());
    }
    Ok(duration)
}

fn parse_node_name(value: &str) -> Result<String, String> {
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
    if value.is_empty() || value.len() > 100 || !value.chars().all(valid) {
        return Err("expected 1 to 100 letters, digits and . _ : -".into());
    }
    Ok(value.to_owned())
}

fn parse_duration_within(value: &str, min: Duration, max: Duration) -> Result<Duration, String> {
    let duration = parse_duration(value)?;
    if duration < min || duration > max {
        return Err(format!(
            "must be between {} and {}",
            humantime::format_duration(min),
            humantime::format_duration(max)
        ));
    }
    Ok(duration)
}

fn parse_count(value: &str, min: usize) -> Result<usize, String> {
    let n: usize = value
        .parse()
        .map_err(|_| "expected a whole number".to_string())?;
    if n < min {
        return Err(format!("must be at least {min}"));
    }
    Ok(n)
}

fn parse_limit(value: &str) -> Result<u32, String> {
    let n: u32 = value
        .parse()
        .map_err(|_| "expected a whole number".to_string())?;
    if n == 0 {
        return Err("must be at least 1".into());
    }
    Ok(n)
}

fn parse_bool(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

fn parse_metrics_token(value: &str) -> Result<SecretString, String> {
    if value.chars().count() < 16 {
        return Err("must be at least 16 characters".into());
    }
    if !value.chars().all(|c| c.is_ascii_graphic()) {
        return Err("must be printable ASCII without spaces (it travels in a header)".into());
    }
    Ok(SecretString::from(value.to_owned()))
}

pub fn parse_secret_key(value: &str) -> Result<Vec<u8>, String> {
    let bytes = hex::decode(value.trim()).map_err(|_| "expected hex characters".to_string())?;
    if bytes.len() != 64 {
        return Err(format!(
            "expected 128 hex characters (64 bytes), got {}",
            value.trim().len()
        ));
    }
    Ok(bytes)
}

fn parse_redis_url(value: &str) -> Result<SecretString, String> {
    if !(value.starts_with("redis://") || value.starts_with("rediss://")) {
        return Err("expected redis://HOST:PORT".into());
    }
    Ok(SecretString::from(value.to_owned()))
}

fn parse_smtp_host(value: &str) -> Result<String, String> {
    if value.is_empty() || value.contains(['/', ' ', ':']) {
        return Err("expected a host name or address, without a scheme or port".into());
    }
    Ok(value.to_owned())
}

fn parse_mailbox(value: &str) -> Result<String, String> {
    value
        .parse::<lettre::message::Mailbox>()
        .map_err(|e| format!("expected `Name <address>` or an address: {e}"))?;
    Ok(value.to_owned())
}

fn parse_log_filter(value: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::try_new(value).map_err(|e| e.to_string())?;
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn environment_overrides_file_which_overrides_defaults() {
        let mut s = Settings::default();
        s.apply_toml("bind = \"0.0.0.0:9000\"\ndb_pool_size = 3\n", "viva.toml")
            .unwrap();
        assert_eq!(s.bind.port(), 9000);
        assert_eq!(s.db_pool_size, 3);
        s.apply_env(env(&[("VIVA_BIND", "127.0.0.1:9100")]))
            .unwrap();
        assert_eq!(s.bind.port(), 9100);
        assert_eq!(s.db_pool_size, 3);
    }

    #[test]
    fn database_url_falls_back_to_plain_database_url() {
        let mut s = Settings::default();
        s.apply_env(env(&[("DATABASE_URL", "postgres://u@h:5432/db")]))
            .unwrap();
        assert_eq!(s.database().backend_name(), "postgres");
        let mut s = Settings::default();
        s.apply_env(env(&[
            ("DATABASE_URL", "postgres://u@h:5432/db"),
            ("VIVA_DATABASE_URL", "sqlite://x.db"),
        ]))
        .unwrap();
        assert_eq!(s.database().backend_name(), "sqlite");
    }

    #[test]
    fn default_database_is_sqlite_in_data_dir() {
        let s = Settings::default();
        match s.database() {
            DatabaseUrl::Sqlite(p) => assert_eq!(p, Path::new("./data/viva.db")),
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn bad_values_name_the_setting_in_one_line() {
        let mut s = Settings::default();
        let err = s
            .apply_env(env(&[("VIVA_BIND", "not-an-address")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("VIVA_BIND"), "{err}");
        assert!(err.contains("environment"), "{err}");
        assert!(!err.contains('\n'));

        let err = s
            .apply_toml("sesion_store = \"redis\"", "viva.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("sesion_store"), "{err}");

        for (name, value) in [
            ("VIVA_PUBLIC_URL", "ftp://x"),
            ("VIVA_DATABASE_URL", "mysql://x"),
            ("VIVA_SESSION_STORE", "memcached"),
            ("VIVA_SESSION_IDLE_TIMEOUT", "soon"),
            ("VIVA_SECRET_KEY", "abcd"),
            ("VIVA_DB_POOL_SIZE", "0"),
            ("VIVA_TRUST_FORWARDED_FOR", "maybe"),
            ("VIVA_TRUSTED_PROXIES", "-1"),
            ("VIVA_PASSWORD_HASH_QUEUE", "many"),
            ("VIVA_MAX_LIVE_INTERVIEWS_PER_USER", "0"),
            ("VIVA_MAX_INTERVIEWS_PER_HOUR", "0"),
            ("VIVA_TURN_END_SILENCE", "100ms"),
            ("VIVA_TURN_MAX_ANSWER", "2h"),
        ] {
            let err = Settings::default()
                .apply_env(env(&[(name, value)]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(name), "{err}");
        }
    }

    #[test]
    fn secrets_are_not_echoed_in_errors() {
        let err = Settings::default()
            .apply_env(env(&[("VIVA_SECRET_KEY", "topsecretvalue")]))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("topsecretvalue"), "{err}");
    }

    #[test]
    fn metrics_settings_parse_and_the_token_stays_secret() {
        let mut s = Settings::default();
        s.apply_env(env(&[
            ("VIVA_METRICS_BIND", "127.0.0.1:9464"),
            ("VIVA_METRICS_TOKEN", "scrape-me-0123456789"),
        ]))
        .unwrap();
        assert_eq!(s.metrics_bind, Some("127.0.0.1:9464".parse().unwrap()));
        assert_eq!(
            s.metrics_token.as_ref().map(|t| t.expose_secret()),
            Some("scrape-me-0123456789")
        );
        assert!(!format!("{s:?}").contains("scrape-me-0123456789"));
        for value in [
            "short-secret",
            "has a space in it ok",
            "tab\there-0123456789",
        ] {
            let err = Settings::default()
                .apply_env(env(&[("VIVA_METRICS_TOKEN", value)]))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("VIVA_METRICS_TOKEN") && !err.contains(value),
                "{err}"
            );
        }
    }

    #[test]
    fn postgres_password_is_masked_when_displayed() {
        let url = DatabaseUrl::parse("postgres://me:hunter2@db:5432/viva").unwrap();
        assert!(!url.to_string().contains("hunter2"));
    }

    #[test]
    fn turn_settings_come_from_the_settings() {
        let mut s = Settings::default();
        assert_eq!(s.turn_settings(), TurnSettings::default());
        s.apply_toml("turn_end_silence = \"2s\"\n", "viva.toml")
            .unwrap();
        s.apply_env(env(&[("VIVA_TURN_MAX_ANSWER", "90s")]))
            .unwrap();
        let turn = s.turn_settings();
        assert_eq!(turn.end_silence, Duration::from_secs(2));
        assert_eq!(turn.max_answer, Duration::from_secs(90));
    }

    #[test]
    fn trust_forwarded_for_reads_as_one_trusted_proxy() {
        let mut s = Settings::default();
        assert_eq!(s.trusted_proxy_hops(), 0);
        s.apply_env(env(&[("VIVA_TRUST_FORWARDED_FOR", "true")]))
            .unwrap();
        assert_eq!(s.trusted_proxy_hops(), 1);
        s.apply_toml("trusted_proxies = 2\n", "viva.toml").unwrap();
        assert_eq!(s.trusted_proxy_hops(), 2);
    }

    /// Every default written in `SETTINGS` (so in `--help` and the README) is what
    /// `Settings::default()` holds: applying it changes nothing. A default that is unset
    /// (`(none…)`) or derived at use from other settings (`{…}`) is `None` in the struct;
    /// `<source>` stands for the source directory.
    #[test]
    fn the_documented_defaults_are_the_real_ones() {
        let real = format!("{:#?}", Settings::default());
        for spec in SETTINGS {
            if spec.default.contains(['{', '(']) {
                assert!(
                    real.lines()
                        .any(|line| line.trim() == format!("{}: None,", spec.key)),
                    "{}'s documented default {:?} says unset, but it has a value",
                    spec.key,
                    spec.default
                );
                continue;
            }
            let text = spec.default.replace("<source>", env!("CARGO_MANIFEST_DIR"));
            let mut applied = Settings::default();
            applied
                .set(spec, &text, "test")
                .unwrap_or_else(|e| panic!("{}'s default does not parse: {e}", spec.key));
            assert_eq!(
                format!("{applied:#?}"),
                real,
                "{}'s documented default {:?} is not its real default",
                spec.key,
                spec.default
            );
        }
    }

    #[test]
    fn the_live_capacity_is_the_setting_or_the_default_for_this_cpu() {
        let mut s = Settings::default();
        let default = s.live_interview_capacity();
        let expected = if viva_kernels::bf16::available() {
            8
        } else {
            4
        };
        assert_eq!(default, expected);
        s.apply_toml("max_live_interviews = 0\n", "viva.toml")
            .unwrap();
        assert_eq!(s.live_interview_capacity(), 0, "0 still means no limit");
        s.apply_toml("max_live_interviews = 3\n", "viva.toml")
            .unwrap();
        assert_eq!(s.live_interview_capacity(), 3);
    }

    #[test]
    fn every_setting_has_its_own_variable() {
        let mut envs: Vec<&str> = SETTINGS.iter().map(|s| s.env).collect();
        envs.sort_unstable();
        envs.dedup();
        assert_eq!(envs.len(), SETTINGS.len());
        assert!(SETTINGS.iter().all(|s| s.env.starts_with("VIVA_")));
    }

    /// README's settings table lists every setting once, with its variable, key and default
    /// exactly as `SETTINGS` (and so `--help`) has them.
    #[test]
    fn the_readme_settings_table_is_the_settings() {
        let readme = include_str!("../README.md");
        let rows: Vec<Vec<String>> = readme
            .lines()
            .filter(|line| line.starts_with("| `VIVA_"))
            .map(|line| {
                line.split(" | ")
                    .take(3)
                    .map(|cell| cell.trim_start_matches("| ").replace('`', ""))
                    .collect()
            })
            .collect();
        assert_eq!(rows.len(), SETTINGS.len(), "README rows vs SETTINGS");
        for spec in SETTINGS {
            assert!(
                rows.contains(&vec![
                    spec.env.to_owned(),
                    spec.key.to_owned(),
                    spec.default.to_owned()
                ]),
                "README has no row `{}` | `{}` | `{}`",
                spec.env,
                spec.key,
                spec.default
            );
        }
    }

    #[test]
    fn every_setting_has_a_parser() {
        // A value that some parser rejects is fine; a panic is not.
        for spec in SETTINGS {
            let _ = Settings::default().set(spec, "x", "test");
        }
    }

    #[test]
    fn a_redis_url_is_not_echoed_in_errors() {
        // Found by `secret_values_are_not_repeated_in_errors`.
        let err = Settings::default()
            .apply_env(env(&[("VIVA_REDIS_URL", "reddis://:hunter2@cache:6379")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("VIVA_REDIS_URL"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn durations_the_clock_cannot_hold_are_refused() {
        // Accepted before: the rate limiter's `Instant + window` then panicked on a login.
        let err = Settings::default()
            .apply_env(env(&[("VIVA_RATE_LIMIT_WINDOW", "300000000000y")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("VIVA_RATE_LIMIT_WINDOW"), "{err}");
        let mut s = Settings::default();
        s.apply_env(env(&[("VIVA_RATE_LIMIT_WINDOW", "3650days")]))
            .unwrap();
        assert!(std::time::Instant::now()
            .checked_add(s.rate_limit_window)
            .is_some());
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;
        use crate::fuzzing;

        /// Settings whose values are secrets: an error about them must not repeat the value.
        const SECRET: [&str; 5] = [
            "database_url",
            "redis_url",
            "secret_key",
            "smtp_password",
            "metrics_token",
        ];

        #[test]
        fn the_secret_settings_are_marked_secret() {
            let marked: Vec<&str> = SETTINGS
                .iter()
                .filter(|s| s.secret)
                .map(|s| s.key)
                .collect();
            assert_eq!(marked, SECRET);
        }

        fn setting() -> impl Strategy<Value = &'static SettingSpec> {
            proptest::sample::select(SETTINGS.iter().collect::<Vec<_>>())
        }

        /// Any text, text shaped like numbers and durations, and prefixes the parsers look for.
        fn value() -> impl Strategy<Value = String> {
            prop_oneof![
                "\\PC{0,40}",
                ".{0,40}",
                "-?[0-9]{1,30}(\\.[0-9]{0,5})?",
                "[0-9]{1,24} ?(ns|ms|s|m|h|d|w|months|y|years)",
                (any::<u64>(), "(s|m|h|d|y)").prop_map(|(n, unit)| format!("{n}{unit}")),
                "(sqlite://|postgres://|postgresql://|redis://|rediss://|http://|https://|cuda:)\\PC{0,30}",
                "[0-9a-fA-F]{0,140}",
                "\\[?[0-9a-f:.]{0,40}\\]?:[0-9]{0,7}",
            ]
        }

        fn durations(s: &Settings) -> [Duration; 9] {
            [
                s.db_timeout,
                s.turn_end_silence,
                s.turn_max_answer,
                s.interview_grace,
                s.session_idle_timeout,
                s.session_absolute_timeout,
                s.rate_limit_window,
                s.shutdown_timeout,
                s.invite_ttl,
            ]
        }

        /// What setting `spec` to `value` from `origin` must lead to: a value the server can
        /// use, or one line naming the setting (and not repeating a secret).
        fn check_set(
            result: Result<Settings, ConfigError>,
            spec: &SettingSpec,
        ) -> Result<(), TestCaseError> {
            match result {
                Ok(settings) => {
                    let now = std::time::Instant::now();
                    for d in durations(&settings) {
                        // Timers and rate-limit windows add these to the clock.
                        prop_assert!(now.checked_add(d).is_some(), "{d:?} overflows the clock");
                        prop_assert!(i64::try_from(d.as_secs()).is_ok());
                    }
                }
                Err(e) => {
                    let message = e.to_string();
                    prop_assert!(message.contains(spec.env), "{message}");
                    prop_assert!(!message.contains('\n'), "{message}");
                }
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(fuzzing::config(1000))]

            #[test]
            fn any_environment_value_is_used_or_named_in_an_error(spec in setting(), value in value()) {
                let mut settings = Settings::default();
                let lookup = |name: &str| (name == spec.env).then(|| value.clone());
                let result = settings.apply_env(lookup).map(|()| settings);
                check_set(result, spec)?;
            }

            #[test]
            fn any_file_value_is_used_or_named_in_an_error(spec in setting(), value in value()) {
                let mut table = toml::Table::new();
                table.insert(spec.key.to_owned(), toml::Value::String(value.clone()));
                let text = toml::to_string(&table).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let mut settings = Settings::default();
                let result = settings.apply_toml(&text, "viva.toml").map(|()| settings);
                check_set(result, spec)?;
            }
        }

        proptest! {
            #![proptest_config(fuzzing::config(256))]

            #[test]
            fn secret_values_are_not_repeated_in_errors(
                key in proptest::sample::select(SECRET.to_vec()),
                before in value(),
                after in "\\PC{0,10}",
            ) {
                let value = format!("{before}hunter2-{after}");
                let spec = SETTINGS.iter().find(|s| s.key == key);
                let spec = spec.ok_or_else(|| TestCaseError::fail(key))?;
                let lookup = |name: &str| (name == spec.env).then(|| value.clone());
                if let Err(e) = Settings::default().apply_env(lookup) {
                    prop_assert!(!e.to_string().contains("hunter2"), "{e}");
                }
            }
        }

        /// A TOML value of any type, a couple of levels deep.
        fn toml_value() -> impl Strategy<Value = toml::Value> {
            let leaf = prop_oneof![
                any::<i64>().prop_map(toml::Value::Integer),
                any::<f64>().prop_map(toml::Value::Float),
                any::<bool>().prop_map(toml::Value::Boolean),
                value().prop_map(toml::Value::String),
            ];
            leaf.prop_recursive(2, 12, 3, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..3).prop_map(toml::Value::Array),
                    proptest::collection::btree_map("[a-z_]{1,12}", inner, 0..3)
                        .prop_map(|m| toml::Value::Table(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #![proptest_config(fuzzing::config(512))]

            #[test]
            fn any_toml_document_is_applied_or_refused(
                entries in proptest::collection::vec(
                    (prop_oneof![setting().prop_map(|s| s.key.to_owned()), "[a-z_]{1,20}"], toml_value()),
                    0..6,
                )
            ) {
                let table: toml::Table = entries.into_iter().collect();
                let text = toml::to_string(&table).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let mut settings = Settings::default();
                if let Err(e) = settings.apply_toml(&text, "viva.toml") {
                    prop_assert!(!e.to_string().is_empty());
                }
            }

            #[test]
            fn any_text_as_a_config_file_is_applied_or_refused(text in prop_oneof![
                "\\PC{0,200}",
                ".{0,200}",
                "([a-z_]{1,20} ?= ?(\"[^\"]{0,20}\"|[0-9]{1,20}|true|\\[|\\{)\n){0,6}",
            ]) {
                let mut settings = Settings::default();
                if let Err(e) = settings.apply_toml(&text, "viva.toml") {
                    prop_assert!(!e.to_string().is_empty());
                }
            }
        }
    }
}
