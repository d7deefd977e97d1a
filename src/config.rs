//! Settings: built-in defaults < `viva.toml` < `VIVA_*` environment variables.
//!
//! Every setting is listed once in [`SETTINGS`]; that table drives parsing from both the file
//! and the environment and the `viva --help` text; tests check that the README's settings
//! table and `Settings::default()` say the same as it. Every value goes through one parser ([`Settings::set`]) whatever its
//! source, and a bad value is reported with the setting's name and where it came from.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::db::DatabaseUrl;
use crate::fetch;
use crate::speech::vad::TurnSettings;
use crate::speech::whisper::WindowPolicy;

/// The `judge_model` value that runs no judge.
pub const NO_JUDGE: &str = "none";

/// One documented setting.
#[derive(Debug)]
pub struct SettingSpec {
    /// Key in `viva.toml`.
    pub key: &'static str,
    /// Environment variable.
    pub env: &'static str,
    /// Default, as a human reads it.
    pub default: &'static str,
    pub help: &'static str,
}

pub const SETTINGS: &[SettingSpec] = &[
    SettingSpec {
        key: "bind",
        env: "VIVA_BIND",
        default: "127.0.0.1:8080",
        help: "Address the HTTP server listens on (HOST:PORT; port 0 picks a free port).",
    },
    SettingSpec {
        key: "public_url",
        env: "VIVA_PUBLIC_URL",
        default: "http://{bind}",
        help: "Origin users reach the server at. https:// makes cookies Secure; requests that change state must come from this origin.",
    },
    SettingSpec {
        key: "data_dir",
        env: "VIVA_DATA_DIR",
        default: "./data",
        help: "Directory for the SQLite database, the cookie key and uploaded files.",
    },
    SettingSpec {
        key: "database_url",
        env: "VIVA_DATABASE_URL",
        default: "sqlite://{data_dir}/viva.db",
        help: "sqlite://PATH or postgres://USER@HOST:PORT/DB. DATABASE_URL is honoured when VIVA_DATABASE_URL is unset.",
    },
    SettingSpec {
        key: "db_pool_size",
        env: "VIVA_DB_POOL_SIZE",
        default: "8",
        help: "Maximum open database connections.",
    },
    SettingSpec {
        key: "db_timeout",
        env: "VIVA_DB_TIMEOUT",
        default: "5s",
        help: "Postgres statement timeout, SQLite busy timeout, and the longest wait for a pooled connection.",
    },
    SettingSpec {
        key: "models_dir",
        env: "VIVA_MODELS_DIR",
        default: "./models",
        help: "Directory holding model weights.",
    },
    SettingSpec {
        key: "whisper_model",
        env: "VIVA_WHISPER_MODEL",
        default: fetch::DEFAULT_WHISPER,
        help: "Speech model: a directory (in models_dir, or a path) holding config.json, tokenizer.json and model.safetensors.",
    },
    SettingSpec {
        key: "llm_model",
        env: "VIVA_LLM_MODEL",
        default: fetch::DEFAULT_LLM,
        help: "Interviewer model: a GGUF file (in models_dir, or a path).",
    },
    SettingSpec {
        key: "judge_model",
        env: "VIVA_JUDGE_MODEL",
        default: fetch::DEFAULT_JUDGE,
        help: "Model that checks each rubric point of an answer (a GGUF file in models_dir, or a path): any llama or qwen2 instruct model whose tokenizer has the words yes and no. `none` scores with the sentence encoder alone (weaker; saves about 2 GB of memory and the judge's seconds per answer).",
    },
    SettingSpec {
        key: "encoder_model",
        env: "VIVA_ENCODER_MODEL",
        default: fetch::DEFAULT_ENCODER,
        help: "Sentence encoder the answer assessment uses: a directory (in models_dir, or a path) holding a sentence-transformers BERT's config.json, tokenizer.json and model.safetensors.",
    },
    SettingSpec {
        key: "device",
        env: "VIVA_DEVICE",
        default: "cpu",
        help: "Where models run: `cpu`, or `cuda` / `cuda:N` in a build with --features cuda.",
    },
    SettingSpec {
        key: "speech_window",
        env: "VIVA_SPEECH_WINDOW",
        default: "padded",
        help: "How much audio Whisper's encoder sees: `padded` (the full 30 s window) or `audio` (only the audio's length: faster on short answers).",
    },
    SettingSpec {
        key: "turn_end_silence",
        env: "VIVA_TURN_END_SILENCE",
        default: "1.5s",
        help: "Silence that ends a spoken answer (long enough for a thinking pause); 300ms to 30s.",
    },
    SettingSpec {
        key: "turn_max_answer",
        env: "VIVA_TURN_MAX_ANSWER",
        default: "3m",
        help: "Longest spoken answer; a longer one is cut here. 5s to 30m.",
    },
    SettingSpec {
        key: "interview_grace",
        env: "VIVA_INTERVIEW_GRACE",
        default: "2m",
        help: "How long a live interview waits for its browser to come back after the connection drops (a reload resumes at once); 1s to 1h. Later connections resume from the database.",
    },
    SettingSpec {
        key: "fetch_models",
        env: "VIVA_FETCH_MODELS",
        default: "true",
        help: "On start, fetch the default models into models_dir when they are missing.",
    },
    SettingSpec {
        key: "static_dir",
        env: "VIVA_STATIC_DIR",
        default: "<source>/static",
        help: "Directory of the browser app served at /.",
    },
    SettingSpec {
        key: "session_store",
        env: "VIVA_SESSION_STORE",
        default: "database",
        help: "Where login sessions live: `database` (the app's database) or `redis` (for multi-node deployments).",
    },
    SettingSpec {
        key: "redis_url",
        env: "VIVA_REDIS_URL",
        default: "redis://127.0.0.1:6379",
        help: "Redis server used when session_store = redis.",
    },
    SettingSpec {
        key: "session_idle_timeout",
        env: "VIVA_SESSION_IDLE_TIMEOUT",
        default: "24h",
        help: "A session unused for this long expires.",
    },
    SettingSpec {
        key: "session_absolute_timeout",
        env: "VIVA_SESSION_ABSOLUTE_TIMEOUT",
        default: "7d",
        help: "A session expires this long after login, however active.",
    },
    SettingSpec {
        key: "secret_key",
        env: "VIVA_SECRET_KEY",
        default: "generated into {data_dir}/secret.key",
        help: "128 hex characters (64 bytes) that sign and encrypt the session cookie. Set the same value on every node.",
    },
    SettingSpec {
        key: "max_body_bytes",
        env: "VIVA_MAX_BODY_BYTES",
        default: "65536",
        help: "Largest accepted request body for JSON and form requests.",
    },
    SettingSpec {
        key: "rate_limit_window",
        env: "VIVA_RATE_LIMIT_WINDOW",
        default: "15m",
        help: "Window over which the login and registration limits below are counted.",
    },
    SettingSpec {
        key: "login_max_failures_per_ip",
        env: "VIVA_LOGIN_MAX_FAILURES_PER_IP",
        default: "20",
        help: "Failed logins from one client address per window before 429.",
    },
    SettingSpec {
        key: "login_max_failures_per_account",
        env: "VIVA_LOGIN_MAX_FAILURES_PER_ACCOUNT",
        default: "5",
        help: "Failed logins for one email per window before 429.",
    },
    SettingSpec {
        key: "register_max_per_ip",
        env: "VIVA_REGISTER_MAX_PER_IP",
        default: "10",
        help: "Registration attempts from one client address per window before 429.",
    },
    SettingSpec {
        key: "trusted_proxies",
        env: "VIVA_TRUSTED_PROXIES",
        default: "0",
        help: "Reverse proxies in front of viva that each append the address they were reached from to X-Forwarded-For. 0: limits count the TCP peer's address. N: they count the Nth X-Forwarded-For hop from the right (the one the outermost trusted proxy added); hops to its left are the client's own and ignored, and a header with fewer hops falls back to the peer.",
    },
    SettingSpec {
        key: "trust_forwarded_for",
        env: "VIVA_TRUST_FORWARDED_FOR",
        default: "false",
        help: "Older form of trusted_proxies: true means one trusted proxy (trusted_proxies = 1) when trusted_proxies is 0.",
    },
    SettingSpec {
        key: "password_hash_concurrency",
        env: "VIVA_PASSWORD_HASH_CONCURRENCY",
        default: "0",
        help: "Password hashes (argon2id, 19 MiB each) computed at once by logins, registrations and password changes; 0 means one per CPU core.",
    },
    SettingSpec {
        key: "password_hash_queue",
        env: "VIVA_PASSWORD_HASH_QUEUE",
        default: "16",
        help: "Password hashes that may wait for one of those slots; beyond that the request gets 503 `server_busy` with Retry-After.",
    },
    SettingSpec {
        key: "max_live_interviews_per_user",
        env: "VIVA_MAX_LIVE_INTERVIEWS_PER_USER",
        default: "3",
        help: "Live interviews (session running on this node) one signed-in user may hold at once; one more is refused before the WebSocket upgrade with 429 `too_many_live_interviews`. Interviews opened with a candidate's invite link do not count against the recruiter.",
    },
    SettingSpec {
        key: "max_interviews_per_hour",
        env: "VIVA_MAX_INTERVIEWS_PER_HOUR",
        default: "30",
        help: "Interviews one user may create per hour, practice interviews and job candidates alike; beyond it 429 `too_many_interviews` with Retry-After.",
    },
    SettingSpec {
        key: "workers",
        env: "VIVA_WORKERS",
        default: "0",
        help: "HTTP worker threads; 0 means one per CPU core.",
    },
    SettingSpec {
        key: "shutdown_timeout",
        env: "VIVA_SHUTDOWN_TIMEOUT",
        default: "30s",
        help: "On SIGTERM/SIGINT, how long in-flight requests may take to finish.",
    },
    SettingSpec {
        key: "invite_ttl",
        env: "VIVA_INVITE_TTL",
        default: "7d",
        help: "How long a candidate's invite link works; 1h to 90d. A recruiter can issue a new one.",
    },
    SettingSpec {
        key: "upload_read_timeout",
        env: "VIVA_UPLOAD_READ_TIMEOUT",
        default: "10s",
        help: "Longest time (wall clock and CPU) a child process may take to read an uploaded resume's text before it is killed and the file kept as `too_complex`; 1s to 5m.",
    },
    SettingSpec {
        key: "upload_read_memory_mb",
        env: "VIVA_UPLOAD_READ_MEMORY_MB",
        default: "512",
        help: "Address space of that child process, in MiB (64 to 16384); a file that needs more is kept as `too_complex`.",
    },
    SettingSpec {
        key: "upload_quota_per_job_mb",
        env: "VIVA_UPLOAD_QUOTA_PER_JOB_MB",
        default: "1024",
        help: "Space, in MiB, all resumes of one job's candidates may take; an upload past it gets 413 `upload_quota_exceeded`. Each interview keeps one resume: a new one replaces (and deletes) the old.",
    },
    SettingSpec {
        key: "uploads_per_interview_per_hour",
        env: "VIVA_UPLOADS_PER_INTERVIEW_PER_HOUR",
        default: "10",
        help: "Resume uploads per interview (its invite link and its recruiter together) per hour before 429.",
    },
    SettingSpec {
        key: "smtp_host",
        env: "VIVA_SMTP_HOST",
        default: "(none: emails are recorded as not_configured)",
        help: "SMTP server for invite and completion emails.",
    },
    SettingSpec {
        key: "smtp_port",
        env: "VIVA_SMTP_PORT",
        default: "587",
        help: "SMTP port.",
    },
    SettingSpec {
        key: "smtp_tls",
        env: "VIVA_SMTP_TLS",
        default: "starttls",
        help: "`starttls` (upgrade a plain connection, required), `tls` (TLS from the start, usually port 465) or `none` (a local relay only).",
    },
    SettingSpec {
        key: "smtp_username",
        env: "VIVA_SMTP_USERNAME",
        default: "(none)",
        help: "SMTP user name, when the server wants one.",
    },
    SettingSpec {
        key: "smtp_password",
        env: "VIVA_SMTP_PASSWORD",
        default: "(none)",
        help: "SMTP password.",
    },
    SettingSpec {
        key: "smtp_from",
        env: "VIVA_SMTP_FROM",
        default: "viva <viva@localhost>",
        help: "Sender of viva's emails (`Name <address>`).",
    },
    SettingSpec {
        key: "log_format",
        env: "VIVA_LOG_FORMAT",
        default: "pretty",
        help: "`pretty` for people or `json` for log collectors.",
    },
    SettingSpec {
        key: "log_level",
        env: "VIVA_LOG",
        default: "info",
        help: "Log filter, e.g. `info` or `viva=debug,actix_web=info`.",
    },
    SettingSpec {
        key: "metrics_bind",
        env: "VIVA_METRICS_BIND",
        default: "(none)",
        help: "Serve Prometheus metrics at /metrics on this separate address only (HOST:PORT, e.g. 127.0.0.1:9464), never on the main port. With neither this nor metrics_token, /metrics is not served.",
    },
    SettingSpec {
        key: "metrics_token",
        env: "VIVA_METRICS_TOKEN",
        default: "(none)",
        help: "Secret (at least 16 characters) that scrapers must send as `Authorization: Bearer <token>` to read /metrics, on the main port (when metrics_bind is unset) or on metrics_bind. Never printed.",
    },
];

/// The file read when `--config` / `VIVA_CONFIG` is not given (only if it exists).
pub const DEFAULT_CONFIG_FILE: &str = "viva.toml";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStoreKind {
    Database,
    Redis,
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

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    None,
    Starttls,
    Tls,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub bind: SocketAddr,
    pub public_url: Option<Url>,
    pub data_dir: PathBuf,
    pub database_url: Option<DatabaseUrl>,
    pub db_pool_size: usize,
    pub db_timeout: Duration,
    pub models_dir: PathBuf,
    pub whisper_model: PathBuf,
    pub llm_model: PathBuf,
    pub encoder_model: PathBuf,
    pub judge_model: PathBuf,
    pub device: Device,
    pub speech_window: WindowPolicy,
    pub turn_end_silence: Duration,
    pub turn_max_answer: Duration,
    pub interview_grace: Duration,
    pub fetch_models: bool,
    pub static_dir: PathBuf,
    pub session_store: SessionStoreKind,
    pub redis_url: SecretString,
    pub session_idle_timeout: Duration,
    pub session_absolute_timeout: Duration,
    pub secret_key: Option<SecretString>,
    pub max_body_bytes: usize,
    pub rate_limit_window: Duration,
    pub login_max_failures_per_ip: u32,
    pub login_max_failures_per_account: u32,
    pub register_max_per_ip: u32,
    pub trusted_proxies: usize,
    pub trust_forwarded_for: bool,
    pub password_hash_concurrency: usize,
    pub password_hash_queue: usize,
    pub max_live_interviews_per_user: usize,
    pub max_interviews_per_hour: u32,
    pub workers: usize,
    pub shutdown_timeout: Duration,
    pub log_format: LogFormat,
    pub log_level: String,
    pub invite_ttl: Duration,
    pub smtp_host: Option<String>,
    pub smtp_port: u16,
    pub smtp_tls: SmtpTls,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<SecretString>,
    pub smtp_from: String,
    pub upload_read_timeout: Duration,
    pub upload_read_memory_mb: u64,
    pub upload_quota_per_job_mb: u64,
    pub uploads_per_interview_per_hour: u32,
    /// Not a setting: the viva executable that reads uploads in a child process (`None`: this
    /// executable). Tests, whose executable is the test harness, point it at the built `viva`.
    pub reader_program: Option<PathBuf>,
    pub metrics_bind: Option<SocketAddr>,
    pub metrics_token: Option<SecretString>,
    /// Accept test-only protocol messages (`debug_panic`). Not a setting: only tests set it.
    pub test_hooks: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            data_dir: PathBuf::from("./data"),
            database_url: None,
            db_pool_size: 8,
            db_timeout: Duration::from_secs(5),
            models_dir: PathBuf::from("./models"),
            whisper_model: PathBuf::from(fetch::DEFAULT_WHISPER),
            llm_model: PathBuf::from(fetch::DEFAULT_LLM),
            encoder_model: PathBuf::from(fetch::DEFAULT_ENCODER),
            judge_model: PathBuf::from(fetch::DEFAULT_JUDGE),
            device: Device::Cpu,
            speech_window: WindowPolicy::Padded,
            turn_end_silence: Duration::from_millis(1500),
            turn_max_answer: Duration::from_secs(180),
            interview_grace: Duration::from_secs(120),
            fetch_models: true,
            static_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("static"),
            session_store: SessionStoreKind::Database,
            redis_url: SecretString::from("redis://127.0.0.1:6379"),
            session_idle_timeout: Duration::from_secs(24 * 3600),
            session_absolute_timeout: Duration::from_secs(7 * 24 * 3600),
            secret_key: None,
            max_body_bytes: 64 * 1024,
            rate_limit_window: Duration::from_secs(15 * 60),
            login_max_failures_per_ip: 20,
            login_max_failures_per_account: 5,
            register_max_per_ip: 10,
            trusted_proxies: 0,
            trust_forwarded_for: false,
            password_hash_concurrency: 0,
            password_hash_queue: 16,
            max_live_interviews_per_user: 3,
            max_interviews_per_hour: 30,
            workers: 0,
            shutdown_timeout: Duration::from_secs(30),
            log_format: LogFormat::Pretty,
            log_level: "info".into(),
            invite_ttl: Duration::from_secs(7 * 24 * 3600),
            smtp_host: None,
            smtp_port: 587,
            smtp_tls: SmtpTls::Starttls,
            smtp_username: None,
            smtp_password: None,
            smtp_from: "viva <viva@localhost>".into(),
            upload_read_timeout: Duration::from_secs(10),
            upload_read_memory_mb: 512,
            upload_quota_per_job_mb: 1024,
            uploads_per_interview_per_hour: 10,
            reader_program: None,
            metrics_bind: None,
            metrics_token: None,
            test_hooks: false,
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

    fn set(&mut self, spec: &SettingSpec, value: &str, origin: &str) -> Result<(), ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid {
            setting: format!("{} ({})", spec.env, spec.key),
            value: if matches!(
                spec.key,
                "secret_key" | "database_url" | "smtp_password" | "redis_url" | "metrics_token"
            ) {
                "<hidden>".into()
            } else {
                value.to_owned()
            },
            origin: origin.to_owned(),
            reason,
        };
        let value = value.trim();
        match spec.key {
            "bind" => {
                self.bind = value
                    .parse()
                    .map_err(|_| invalid("expected HOST:PORT, e.g. 127.0.0.1:8080".into()))?
            }
            "public_url" => self.public_url = Some(parse_public_url(value).map_err(invalid)?),
            "data_dir" => self.data_dir = parse_path(value).map_err(invalid)?,
            "database_url" => self.database_url = Some(DatabaseUrl::parse(value).map_err(invalid)?),
            "db_pool_size" => self.db_pool_size = parse_count(value, 1).map_err(invalid)?,
            "db_timeout" => self.db_timeout = parse_duration(value).map_err(invalid)?,
            "models_dir" => self.models_dir = parse_path(value).map_err(invalid)?,
            "whisper_model" => self.whisper_model = parse_path(value).map_err(invalid)?,
            "llm_model" => self.llm_model = parse_path(value).map_err(invalid)?,
            "encoder_model" => self.encoder_model = parse_path(value).map_err(invalid)?,
            "judge_model" => self.judge_model = parse_path(value).map_err(invalid)?,
            "device" => self.device = Device::parse(value).map_err(invalid)?,
            "speech_window" => self.speech_window = value.parse().map_err(invalid)?,
            "turn_end_silence" => {
                self.turn_end_silence = parse_duration_within(
                    value,
                    Duration::from_millis(300),
                    Duration::from_secs(30),
                )
                .map_err(invalid)?
            }
            "turn_max_answer" => {
                self.turn_max_answer = parse_duration_within(
                    value,
                    Duration::from_secs(5),
                    Duration::from_secs(30 * 60),
                )
                .map_err(invalid)?
            }
            "interview_grace" => {
                self.interview_grace =
                    parse_duration_within(value, Duration::from_secs(1), Duration::from_secs(3600))
                        .map_err(invalid)?
            }
            "fetch_models" => self.fetch_models = parse_bool(value).map_err(invalid)?,
            "static_dir" => self.static_dir = parse_path(value).map_err(invalid)?,
            "session_store" => {
                self.session_store = match value {
                    "database" => SessionStoreKind::Database,
                    "redis" => SessionStoreKind::Redis,
                    _ => return Err(invalid("expected `database` or `redis`".into())),
                }
            }
            "redis_url" => {
                if !(value.starts_with("redis://") || value.starts_with("rediss://")) {
                    return Err(invalid("expected redis://HOST:PORT".into()));
                }
                self.redis_url = SecretString::from(value.to_owned());
            }
            "session_idle_timeout" => {
                self.session_idle_timeout = parse_duration(value).map_err(invalid)?
            }
            "session_absolute_timeout" => {
                self.session_absolute_timeout = parse_duration(value).map_err(invalid)?
            }
            "secret_key" => {
                parse_secret_key(value).map_err(invalid)?;
                self.secret_key = Some(SecretString::from(value.to_owned()));
            }
            "max_body_bytes" => self.max_body_bytes = parse_count(value, 1024).map_err(invalid)?,
            "rate_limit_window" => {
                self.rate_limit_window = parse_duration(value).map_err(invalid)?
            }
            "login_max_failures_per_ip" => {
                self.login_max_failures_per_ip = parse_limit(value).map_err(invalid)?
            }
            "login_max_failures_per_account" => {
                self.login_max_failures_per_account = parse_limit(value).map_err(invalid)?
            }
            "register_max_per_ip" => {
                self.register_max_per_ip = parse_limit(value).map_err(invalid)?
            }
            "trusted_proxies" => self.trusted_proxies = parse_count(value, 0).map_err(invalid)?,
            "trust_forwarded_for" => {
                self.trust_forwarded_for = parse_bool(value).map_err(invalid)?
            }
            "password_hash_concurrency" => {
                self.password_hash_concurrency = parse_count(value, 0).map_err(invalid)?
            }
            "password_hash_queue" => {
                self.password_hash_queue = parse_count(value, 0).map_err(invalid)?
            }
            "max_live_interviews_per_user" => {
                self.max_live_interviews_per_user = parse_count(value, 1).map_err(invalid)?
            }
            "max_interviews_per_hour" => {
                self.max_interviews_per_hour = parse_limit(value).map_err(invalid)?
            }
            "workers" => self.workers = parse_count(value, 0).map_err(invalid)?,
            "shutdown_timeout" => self.shutdown_timeout = parse_duration(value).map_err(invalid)?,
            "log_format" => {
                self.log_format = match value {
                    "pretty" => LogFormat::Pretty,
                    "json" => LogFormat::Json,
                    _ => return Err(invalid("expected `pretty` or `json`".into())),
                }
            }
            "log_level" => {
                tracing_subscriber::EnvFilter::try_new(value)
                    .map_err(|e| invalid(e.to_string()))?;
                self.log_level = value.to_owned();
            }
            "invite_ttl" => {
                self.invite_ttl = parse_duration_within(
                    value,
                    Duration::from_secs(3600),
                    Duration::from_secs(90 * 24 * 3600),
                )
                .map_err(invalid)?
            }
            "smtp_host" => {
                let host = value.trim();
                if host.is_empty() || host.contains(['/', ' ', ':']) {
                    return Err(invalid(
                        "expected a host name or address, without a scheme or port".into(),
                    ));
                }
                self.smtp_host = Some(host.to_owned());
            }
            "smtp_port" => {
                self.smtp_port = value
                    .parse()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| invalid("expected a port from 1 to 65535".into()))?
            }
            "smtp_tls" => {
                self.smtp_tls = match value {
                    "starttls" => SmtpTls::Starttls,
                    "tls" => SmtpTls::Tls,
                    "none" => SmtpTls::None,
                    _ => return Err(invalid("expected `starttls`, `tls` or `none`".into())),
                }
            }
            "upload_read_timeout" => {
                self.upload_read_timeout =
                    parse_duration_within(value, Duration::from_secs(1), Duration::from_secs(300))
                        .map_err(invalid)?
            }
            "upload_read_memory_mb" => {
                self.upload_read_memory_mb = parse_count(value, 64)
                    .ok()
                    .filter(|mb| *mb <= 16384)
                    .ok_or_else(|| {
                    invalid("expected a whole number from 64 to 16384".into())
                })? as u64
            }
            "upload_quota_per_job_mb" => {
                self.upload_quota_per_job_mb = parse_count(value, 10).map_err(invalid)? as u64
            }
            "uploads_per_interview_per_hour" => {
                self.uploads_per_interview_per_hour = parse_limit(value).map_err(invalid)?
            }
            "smtp_username" => self.smtp_username = Some(value.to_owned()),
            "smtp_password" => self.smtp_password = Some(SecretString::from(value.to_owned())),
            "smtp_from" => {
                value.parse::<lettre::message::Mailbox>().map_err(|e| {
                    invalid(format!("expected `Name <address>` or an address: {e}"))
                })?;
                self.smtp_from = value.to_owned();
            }
            "metrics_bind" => {
                self.metrics_bind = Some(
                    value
                        .parse()
                        .map_err(|_| invalid("expected HOST:PORT, e.g. 127.0.0.1:9464".into()))?,
                )
            }
            "metrics_token" => {
                self.metrics_token = Some(parse_metrics_token(value).map_err(invalid)?)
            }
            other => unreachable!("setting `{other}` is in SETTINGS but has no parser"),
        }
        Ok(())
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

    /// Every default written in `SETTINGS` (so in `--help`) is what `Settings::default()`
    /// holds: applying it changes nothing. Defaults that depend on other settings or on the
    /// build (`{…}`, `<…>`) and unset ones (`(none…)`) are text only.
    #[test]
    fn the_documented_defaults_are_the_real_ones() {
        let real = format!("{:?}", Settings::default());
        let mut checked = 0;
        for spec in SETTINGS {
            if spec.default.contains(['{', '<', '(']) {
                continue;
            }
            let mut applied = Settings::default();
            applied
                .set(spec, spec.default, "test")
                .unwrap_or_else(|e| panic!("{}'s default does not parse: {e}", spec.key));
            assert_eq!(
                format!("{applied:?}"),
                real,
                "{}'s documented default {:?} is not its real default",
                spec.key,
                spec.default
            );
            checked += 1;
        }
        assert!(checked > 40, "only {checked} defaults checked");
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
        // A value that some parser rejects is fine; reaching `unreachable!` is not.
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
        const SECRET: [&str; 4] = ["secret_key", "database_url", "smtp_password", "redis_url"];

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
