//! Starts the real app (`Application::build_with_engines`, which `main`'s `build` calls after
//! loading the models) on port 0 with its own database:
//! a fresh SQLite file, or a fresh PostgreSQL database created for the test and dropped after.

use std::io::Write;
use std::sync::{Mutex, OnceLock, PoisonError};

use awc::http::StatusCode;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use tempfile::TempDir;
use viva::config::{LogFormat, Settings, VoiceMode};
use viva::db::DatabaseUrl;
use viva::inference::Engines;
use viva::startup::{Application, SESSION_COOKIE};

pub const STRONG_PASSWORD: &str = "correct horse battery staple";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Writes straight to the process's stderr, past the test harness's output capture, so a
/// skipped test is visible in every run.
pub fn loud(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

pub fn postgres_admin_url() -> Option<String> {
    std::env::var("VIVA_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

pub fn redis_test_url() -> Option<String> {
    std::env::var("VIVA_TEST_REDIS_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// A Postgres database that exists for one test.
pub struct PostgresTestDb {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl PostgresTestDb {
    pub async fn create(admin_url: &str) -> Self {
        let name = format!("viva_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = AsyncPgConnection::establish(admin_url)
            .await
            .expect("connect to VIVA_TEST_POSTGRES_URL");
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let mut url = url::Url::parse(admin_url).expect("VIVA_TEST_POSTGRES_URL is a URL");
        url.set_path(&name);
        Self {
            admin_url: admin_url.to_owned(),
            url: url.to_string(),
            name,
        }
    }

    /// Drops the database now, killing its connections (simulates a dead database).
    pub async fn drop_now(&self) {
        let mut admin = AsyncPgConnection::establish(&self.admin_url)
            .await
            .expect("connect to VIVA_TEST_POSTGRES_URL");
        diesel::sql_query(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin)
        .await
        .expect("drop test database");
    }
}

impl Drop for PostgresTestDb {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which can't block: use a runtime of our own.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async {
                    if let Ok(mut admin) = AsyncPgConnection::establish(&admin_url).await {
                        let _ = diesel::sql_query(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        ))
                        .execute(&mut admin)
                        .await;
                    }
                });
            }
        })
        .join();
    }
}

pub struct TestApp {
    pub address: String,
    pub port: u16,
    /// The `metrics_bind` listener's port, when the settings set one.
    pub metrics_port: Option<u16>,
    /// The app's database (for tests that look at or change it directly).
    pub database: DatabaseUrl,
    pub data_dir: TempDir,
    pub postgres: Option<PostgresTestDb>,
    handle: actix_web::dev::ServerHandle,
}

impl TestApp {
    /// Stops this server and starts another with the real models on the same database and
    /// data directory, as `viva serve` started again after a stop; `None` when the models
    /// cannot be had.
    pub async fn restart_live(mut self) -> Option<TestApp> {
        let engines = shared_engines()?;
        self.handle.stop(true).await;
        let data_dir =
            std::mem::replace(&mut self.data_dir, tempfile::tempdir().expect("temp dir"));
        let postgres = self.postgres.take();
        let mut settings = test_settings(data_dir.path());
        settings.test_hooks = true;
        if let Some(db) = &postgres {
            settings.database_url = Some(DatabaseUrl::parse(&db.url).expect("valid url"));
        }
        Some(start_app(settings, postgres, data_dir, Some(engines)).await)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        actix_web::rt::spawn(async move { handle.stop(false).await });
    }
}

pub fn test_settings(data_dir: &std::path::Path) -> Settings {
    Settings {
        bind: "127.0.0.1:0".parse().expect("valid address"),
        data_dir: data_dir.to_path_buf(),
        database_url: Some(DatabaseUrl::Sqlite(data_dir.join("viva.db"))),
        workers: 1,
        db_pool_size: 4,
        fetch_models: false,
        log_level: std::env::var("VIVA_TEST_LOG").unwrap_or_else(|_| "warn".into()),
        // This process is the test harness: uploads are read by the real viva executable.
        reader_program: Some(std::path::PathBuf::from(env!("CARGO_BIN_EXE_viva"))),
        // Tests hold many interviews at once; the node's capacity has its own test.
        max_live_interviews: Some(0),
        // Tests that expire invites call the sweep themselves (the webhook tests shorten it).
        invite_sweep_interval: std::time::Duration::from_secs(3600),
        ..Settings::default()
    }
}

/// The app on `backend`, or `None` (after a loud SKIPPED line) when Postgres is not configured.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(
    backend: Backend,
    tweak: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings(data_dir.path());
    let postgres = test_database(backend, &mut settings).await?;
    tweak(&mut settings);
    Some(start_app(settings, postgres, data_dir, None).await)
}

/// Another node of `first`'s deployment: a server of its own (its own data directory and
/// settings, `tweak`ed) on `first`'s database, as a second `viva serve` behind the same load
/// balancer. `first` keeps owning the database (a Postgres one is dropped with `first`).
pub async fn spawn_node_beside(first: &TestApp, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings(data_dir.path());
    settings.database_url = Some(first.database.clone());
    tweak(&mut settings);
    start_app(settings, None, data_dir, None).await
}

/// An app with the real models (shared by every test in this binary: loading them once keeps
/// the suite fast), with test hooks on. `None` (after a loud line, or a failure under CI) when
/// the models cannot be fetched, or Postgres is not configured for that backend.
pub async fn spawn_live_app(
    backend: Backend,
    tweak: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    spawn_with_engines(backend, shared_engines()?, tweak).await
}

/// [`spawn_live_app`] with the judge model loaded too (the other live tests run without it:
/// every assessment then takes well under a second instead of tens of seconds, and they only
/// need feedback to arrive, not a judged score).
pub async fn spawn_live_app_with_judge(backend: Backend) -> Option<TestApp> {
    spawn_with_engines(backend, engines_with_judge()?, |_| {}).await
}

/// [`spawn_live_app`] with the interviewer's voice running (`voice = local`): the default
/// voice fetched once into target/test-models. `None` after a loud line when it cannot run.
pub async fn spawn_live_app_with_voice(
    backend: Backend,
    tweak: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    let engines = engines_with_voice()?;
    spawn_with_engines(backend, engines, |settings: &mut Settings| {
        settings.voice = VoiceMode::Local;
        tweak(settings);
    })
    .await
}

async fn spawn_with_engines(
    backend: Backend,
    engines: Engines,
    tweak: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings(data_dir.path());
    settings.test_hooks = true;
    let postgres = test_database(backend, &mut settings).await?;
    tweak(&mut settings);
    Some(start_app(settings, postgres, data_dir, Some(engines)).await)
}

/// The default models' workers but the judge, loaded once per test process through the same
/// code as `viva serve` (`Engines::load`), from weights the fetcher put under target/test-models.
pub fn shared_engines() -> Option<Engines> {
    static ENGINES: OnceLock<Option<Engines>> = OnceLock::new();
    ENGINES.get_or_init(|| load_engines(false)).clone()
}

/// [`shared_engines`] with the judge.
fn engines_with_judge() -> Option<Engines> {
    static ENGINES: OnceLock<Option<Engines>> = OnceLock::new();
    ENGINES.get_or_init(|| load_engines(true)).clone()
}

/// [`shared_engines`] with the voice.
fn engines_with_voice() -> Option<Engines> {
    static ENGINES: OnceLock<Option<Engines>> = OnceLock::new();
    ENGINES
        .get_or_init(|| {
            if let Err(e) = crate::support::test_voice_files() {
                crate::support::unavailable(&format!("the default voice: {e}"));
                return None;
            }
            let mut engines = load_engines(false)?;
            let settings = Settings {
                models_dir: crate::support::test_models_dir(),
                ..Settings::default()
            };
            let synthesizer = viva::voice::Synthesizer::load(&settings.voice_files(), 1)
                .expect("the fetched voice loads");
            engines.voice = Some(
                viva::inference::VoiceWorker::start(synthesizer, 64, engines.gate.clone())
                    .expect("the voice worker starts"),
            );
            Some(engines)
        })
        .clone()
}

fn load_engines(judge: bool) -> Option<Engines> {
    std::thread::spawn(move || {
        let models = match crate::support::test_models() {
            Ok(models) => models,
            Err(e) => {
                crate::support::unavailable(&format!("the default models: {e}"));
                return None;
            }
        };
        let settings = Settings {
            whisper_model: models.whisper_dir,
            llm_model: models.llm_file,
            encoder_model: models.encoder_dir,
            judge_model: if judge {
                models.judge_file
            } else {
                viva::config::NO_JUDGE.into()
            },
            // The voice is added by the tests that hear it.
            voice: VoiceMode::Browser,
            ..Settings::default()
        };
        Some(Engines::load(&settings).expect("the fetched models load"))
    })
    .join()
    .expect("loading the models")
}

/// The backend's database: the SQLite file of `test_settings`, or a fresh Postgres database
/// (`Some(None)`); `None` after a loud SKIPPED line when Postgres is not configured.
async fn test_database(
    backend: Backend,
    settings: &mut Settings,
) -> Option<Option<PostgresTestDb>> {
    match backend {
        Backend::Sqlite => Some(None),
        Backend::Postgres => {
            let Some(admin_url) = postgres_admin_url() else {
                loud("SKIPPED: Postgres variant not run; set VIVA_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432)");
                return None;
            };
            let db = PostgresTestDb::create(&admin_url).await;
            settings.database_url = Some(DatabaseUrl::parse(&db.url).expect("valid url"));
            Some(Some(db))
        }
    }
}

async fn start_app(
    settings: Settings,
    postgres: Option<PostgresTestDb>,
    data_dir: TempDir,
    engines: Option<Engines>,
) -> TestApp {
    init_logs(&settings);
    let database = settings.database();
    let app = Application::build_with_engines(settings.clone(), engines)
        .await
        .expect("app starts");
    let port = app.port();
    let metrics_port = app.metrics_addr().map(|addr| addr.port());
    let handle = app.handle();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        metrics_port,
        database,
        data_dir,
        postgres,
        handle,
    }
}

/// Installs this process's log subscriber (once): the app's own log output on stderr (filter
/// `VIVA_TEST_LOG`, default `warn`), and every `info` line, in both formats, into the buffer of
/// a running [`LogCapture`].
fn init_logs(settings: &Settings) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let json = Settings {
        log_format: LogFormat::Json,
        log_level: "info".into(),
        ..Settings::default()
    };
    let pretty = Settings {
        log_format: LogFormat::Pretty,
        ..json.clone()
    };
    let _ = tracing_subscriber::registry()
        .with(viva::telemetry::log_layer(settings, std::io::stderr))
        .with(viva::telemetry::log_layer(&json, || CaptureWriter))
        .with(viva::telemetry::log_layer(&pretty, || CaptureWriter))
        .try_init();
}

static CAPTURED_LOGS: Mutex<Option<Vec<u8>>> = Mutex::new(None);

fn captured_logs() -> std::sync::MutexGuard<'static, Option<Vec<u8>>> {
    CAPTURED_LOGS.lock().unwrap_or_else(PoisonError::into_inner)
}

struct CaptureWriter;

impl Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(lines) = captured_logs().as_mut() {
            lines.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The log lines this test process writes between `start` and `finish` (those of tests running
/// alongside too), as the server writes them in its JSON and its pretty format. One at a time:
/// a second capture waits (blocking its test's thread) until the first finishes.
pub struct LogCapture(());

impl LogCapture {
    pub fn start() -> Self {
        loop {
            let mut captured = captured_logs();
            if captured.is_none() {
                *captured = Some(Vec::new());
                return Self(());
            }
            drop(captured);
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    pub fn finish(self) -> String {
        let lines = captured_logs().take().unwrap_or_default();
        String::from_utf8_lossy(&lines).into_owned()
    }
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        captured_logs().take();
    }
}

/// A response read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: awc::http::header::HeaderMap,
    pub body: Value,
    pub raw: Vec<u8>,
}

impl Reply {
    /// `name=value` of the session cookie the server set, if any.
    pub fn session_cookie(&self) -> Option<String> {
        self.set_cookie_header()
            .and_then(|h| h.split(';').next().map(str::to_owned))
            .filter(|c| !c.ends_with('='))
    }

    pub fn set_cookie_header(&self) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{SESSION_COOKIE}=")))
            .map(str::to_owned)
    }

    pub fn error_code(&self) -> &str {
        self.body["error"]["code"]
            .as_str()
            .unwrap_or("<no error code>")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn client() -> awc::Client {
        awc::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .finish()
    }

    pub async fn send(&self, req: awc::ClientRequest, body: Option<Vec<u8>>) -> Reply {
        send_request(req, body).await
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        let mut req = Self::client().get(self.url(path));
        if let Some(c) = cookie {
            req = req.insert_header(("cookie", c));
        }
        self.send(req, None).await
    }

    pub async fn post_json(&self, path: &str, body: &Value, cookie: Option<&str>) -> Reply {
        let mut req = Self::client()
            .post(self.url(path))
            .insert_header(("content-type", "application/json"));
        if let Some(c) = cookie {
            req = req.insert_header(("cookie", c));
        }
        self.send(req, Some(body.to_string().into_bytes())).await
    }

    pub async fn register(&self, email: &str, password: &str, name: &str) -> Reply {
        self.post_json(
            "/api/v1/auth/register",
            &serde_json::json!({"email": email, "password": password, "display_name": name}),
            None,
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"email": email, "password": password}),
            None,
        )
        .await
    }

    /// Registers a fresh user and logs in; returns (email, session cookie).
    pub async fn signed_in_user(&self) -> (String, String) {
        let email = unique_email();
        let r = self.register(&email, STRONG_PASSWORD, "Test User").await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let r = self.login(&email, STRONG_PASSWORD).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        (
            email,
            r.session_cookie().expect("login sets a session cookie"),
        )
    }
}

/// Sends `req` (to any server, in-process or not) and reads the whole response.
pub async fn send_request(req: awc::ClientRequest, body: Option<Vec<u8>>) -> Reply {
    let mut res = match body {
        Some(b) => req.send_body(b).await,
        None => req.send().await,
    }
    .expect("request reaches the server");
    let raw = res
        .body()
        .limit(16 << 20)
        .await
        .expect("read body")
        .to_vec();
    let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    Reply {
        status: res.status(),
        headers: res.headers().clone(),
        body,
        raw,
    }
}

pub fn unique_email() -> String {
    format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// Declares each listed `async fn name(backend: Backend)` as two tests, `sqlite::name` and
/// `postgres::name`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            )*
        }
    };
}
