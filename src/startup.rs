//! Builds the application from settings. `main` and every integration test go through
//! [`Application::build`], so tests exercise exactly what users run.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_files::Files;
use actix_session::config::{PersistentSession, TtlExtensionPolicy};
use actix_session::storage::RedisSessionStore;
use actix_session::SessionMiddleware;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{from_fn, Compress};
use actix_web::{web, App, HttpServer};
use secrecy::{ExposeSecret, SecretString};
use tracing_actix_web::TracingLogger;

use crate::activity::ActivityFeed;
use crate::auth::codes::OneTimeCodes;
use crate::auth::hashing::{HashLimits, Hasher, HashingError};
use crate::auth::oidc::Oidc;
use crate::auth::session_store::{DatabaseSessionStore, SessionBackend};
use crate::auth::{Accounts, ApiKeys, EmailCodes, Logins};
use crate::cluster::Bus;
use crate::config::{parse_secret_key, SessionStoreKind, Settings, VoiceMode};
use crate::db::{self, DatabaseUrl, DbError, DbPool, PoolOptions};
use crate::http::origin_check::{reject_cross_site, AllowedOrigins};
use crate::http::{self, middleware as mw};
use crate::inference::Engines;
use crate::interview::catalog::Bank;
use crate::interview::live::writer::cache_follow_up_prompt_in_background;
use crate::interview::live::{
    follow_revoked_invites, HandOver, Leases, SessionDeps, SessionRegistry,
};
use crate::mail::Mailer;
use crate::resume::reader::{ReaderLimits, ResumeReader};
use crate::state::{AppState, Limits};
use crate::telemetry::{Metrics, RequestSpan};
use crate::transcription::{Limits as TranscriptionLimits, Transcriptions};
use crate::webhooks::worker::{DeliverySettings, WorkerHandle};

pub use crate::auth::session_store::SESSION_COOKIE;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("database: {0}")]
    Db(#[from] DbError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("secret key in {path}: {reason}")]
    SecretKey { path: String, reason: String },
    #[error("cannot reach Redis for sessions (VIVA_REDIS_URL): {0}")]
    Redis(String),
    #[error(transparent)]
    Hashing(#[from] HashingError),
    #[error(transparent)]
    Models(#[from] crate::fetch::FetchError),
    #[error(transparent)]
    Bank(#[from] crate::interview::catalog::BankError),
    #[error("email settings: {0}")]
    Mailer(#[from] crate::mail::MailerError),
}

pub struct Application {
    server: Server,
    addr: SocketAddr,
    public_url: String,
    /// The `metrics_bind` listener, when set.
    metrics: Option<(Server, SocketAddr)>,
    /// The webhook delivery worker, stopped after the server.
    webhooks: WorkerHandle,
    /// The live interviews, drained on SIGTERM/SIGINT.
    live: Option<Arc<SessionDeps>>,
    drain_timeout: Duration,
}

impl Application {
    /// Fetches missing models (when `fetch_models`), loads them, prepares storage, applies
    /// migrations, binds the listener and starts serving (the returned server runs once
    /// awaited or spawned). Models that cannot be loaded leave the server up without live
    /// interviews (logged loudly; the WebSocket answers 503).
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        if settings.fetch_models {
            crate::fetch::prepare_on_start(settings.chosen_models()).await?;
        }
        let engines = load_engines(settings.clone()).await;
        Self::build_with_engines(settings, engines).await
    }

    /// [`Application::build`] with model workers already running (tests share one set between
    /// many apps), or `None` to serve without live interviews.
    pub async fn build_with_engines(
        settings: Settings,
        engines: Option<Engines>,
    ) -> Result<Self, StartupError> {
        create_dir(&settings.data_dir, "cannot create data directory")?;

        let database = settings.database();
        let ran = db::migrate(&database).await?;
        tracing::info!(database = %database, migrations_applied = ran, "database ready");
        let pool = DbPool::connect(
            &database,
            &PoolOptions {
                max_size: settings.db_pool_size,
                timeout: settings.db_timeout,
            },
        )?;

        crate::interview::catalog::seed(&pool, &Bank::bundled()?).await?;

        let secret_key = load_or_create_secret_key(&settings)?;
        let key = Key::from(&secret_key);
        let listener = TcpListener::bind(settings.bind).map_err(|source| StartupError::Bind {
            addr: settings.bind,
            source,
        })?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: settings.bind,
            source,
        })?;
        let (public_url, allowed_origins) = public_origins(&settings, addr);
        let https = public_url.starts_with("https://");

        let session_backend = match settings.session_store {
            SessionStoreKind::Database => {
                SessionBackend::Database(DatabaseSessionStore::new(pool.clone()))
            }
            SessionStoreKind::Redis => SessionBackend::Redis(
                RedisSessionStore::new(settings.redis_url.expose_secret())
                    .await
                    .map_err(|e| StartupError::Redis(e.to_string()))?,
            ),
        };

        let node = node_name(&settings, addr);
        let bus = Bus::for_database(&pool, postgres_url(&database), &node);
        let mailer = Mailer::from_settings(&settings)?;
        let activity = ActivityFeed::new(bus.clone());
        crate::hiring::email::spawn_completion_notices(
            pool.clone(),
            mailer.clone(),
            activity.clone(),
            public_url.clone(),
        );
        let accounts = Accounts::new(
            pool.clone(),
            Hasher::new(HashLimits::new(
                settings.password_hash_concurrency,
                settings.password_hash_queue,
            ))?,
        );
        let email_codes = EmailCodes::new(
            accounts.clone(),
            OneTimeCodes::new(
                pool.clone(),
                &secret_key,
                settings.code_lifetime,
                settings.code_max_attempts,
            ),
            mailer.clone(),
            pool.clone(),
            public_url.clone(),
            settings.email_verification,
        );
        let oidc = Oidc::new(
            settings.oidc_providers.clone().unwrap_or_default(),
            accounts.clone(),
            pool.clone(),
            public_url.clone(),
        );
        let api_keys = ApiKeys::new(pool.clone(), settings.api_key_requests_per_minute);
        let metrics = Arc::new(Metrics::new());
        let worker_metrics = metrics.clone();
        let transcriptions = Transcriptions::new(
            pool.clone(),
            engines.as_ref().map(|engines| engines.speech.clone()),
            &settings.data_dir,
            &node,
            TranscriptionLimits {
                max_bytes: usize::try_from(settings.transcription_max_upload_mb * 1024 * 1024)
                    .unwrap_or(usize::MAX),
                max_duration: settings.transcription_max_duration,
                queue: settings.transcription_queue,
                retention: settings.transcription_retention,
                // An upload waits at most `db_timeout` for a connection and as long for its
                // insert between storing its recording and recording its task.
                orphan_after: settings.db_timeout * 3,
            },
        );
        transcriptions.recover().await.map_err(|e| match e {
            crate::transcription::TranscriptionError::Db(db) => StartupError::Db(db),
            other => StartupError::Io {
                what: "cannot recover the transcription queue",
                path: settings.data_dir.display().to_string(),
                source: std::io::Error::other(other.to_string()),
            },
        })?;
        transcriptions.spawn();
        let state = web::Data::new(AppState {
            api_keys: api_keys.clone(),
            transcriptions,
            email_codes,
            logins: Logins::new(
                session_backend.clone(),
                key.clone(),
                accounts.clone(),
                settings.session_absolute_timeout,
                bus.clone(),
            ),
            accounts,
            oidc,
            limits: Limits::from_settings(&settings, &pool),
            metrics,
            live: engines.map(|engines| {
                cache_follow_up_prompt_in_background(engines.llm.clone());
                let registry = SessionRegistry::with_capacity(settings.live_interview_capacity());
                follow_revoked_invites(&bus, registry.clone());
                // Asked to speak itself but the voice could not start: the page's voice.
                let voice = match settings.voice {
                    VoiceMode::Local if engines.voice.is_none() => VoiceMode::Browser,
                    chosen => chosen,
                };
                Arc::new(SessionDeps {
                    pool: pool.clone(),
                    voice,
                    engines,
                    registry,
                    leases: Leases::new(pool.clone(), &node, settings.interview_lease),
                    turn: settings.turn_settings(),
                    grace: settings.interview_grace,
                    test_hooks: settings.test_hooks,
                    activity: activity.clone(),
                })
            }),
            public_url: public_url.clone(),
            mailer,
            activity,
            bus,
            node: node.clone(),
            resume_reader: resume_reader(&settings)?,
            pool: pool.clone(),
            settings: settings.clone(),
        });
        let live = state.live.clone();
        let allowed_origins = web::Data::new(allowed_origins);
        let idle = cookie_duration(settings.session_idle_timeout);
        let max_body = settings.max_body_bytes;
        let static_dir = settings.static_dir.clone();
        let metrics_on_main_port =
            settings.metrics_bind.is_none() && settings.metrics_token.is_some();
        let metrics = match settings.metrics_bind {
            Some(bind) => Some(serve_metrics(bind, state.clone())?),
            None => None,
        };
        if !static_dir.join("index.html").exists() {
            tracing::warn!(dir = %static_dir.display(), "no index.html in static_dir (VIVA_STATIC_DIR); the browser app will 404");
        }

        let mut server = HttpServer::new(move || {
            let sessions = SessionMiddleware::builder(session_backend.clone(), key.clone())
                .cookie_name(SESSION_COOKIE.into())
                .cookie_http_only(true)
                .cookie_same_site(SameSite::Lax)
                .cookie_secure(https)
                .session_lifecycle(
                    PersistentSession::default()
                        .session_ttl(idle)
                        .session_ttl_extension_policy(TtlExtensionPolicy::OnEveryRequest),
                )
                .build();
            App::new()
                .app_data(state.clone())
                .app_data(allowed_origins.clone())
                .app_data(http::json_config(max_body))
                .app_data(web::PayloadConfig::new(max_body))
                .configure(http::routes)
                .configure(|cfg| {
                    if metrics_on_main_port {
                        http::metrics_route(cfg)
                    }
                })
                .service(
                    Files::new("/", &static_dir)
                        .index_file("index.html")
                        .default_handler(web::to(http::not_found)),
                )
                .default_service(web::to(http::not_found))
                // Listed innermost first: the request passes them bottom to top.
                .wrap(sessions)
                .wrap(from_fn(reject_cross_site))
                .wrap(from_fn(mw::refuse_compressed_bodies))
                .wrap(mw::json_errors())
                .wrap(mw::security_headers(https))
                .wrap(Compress::default())
                .wrap(from_fn(mw::record_request))
                .wrap(from_fn(mw::request_id_header))
                .wrap(TracingLogger::<RequestSpan>::new())
                .wrap(from_fn(mw::finish_when_client_leaves))
        })
        .listen(listener)
        .map_err(|source| StartupError::Bind { addr, source })?
        // SIGTERM and SIGINT drain the node first: see `drain_on_signal`.
        .disable_signals()
        .shutdown_timeout(settings.shutdown_timeout.as_secs());
        if settings.workers > 0 {
            server = server.workers(settings.workers);
        }
        let server = server.run();

        let webhooks = crate::webhooks::worker::start(
            pool.clone(),
            DeliverySettings::from_settings(&settings),
            worker_metrics,
        );
        spawn_invite_expiry(pool.clone(), settings.invite_sweep_interval);
        spawn_housekeeping(
            pool,
            settings.session_store,
            api_keys,
            settings.api_key_usage_retention,
        );
        tracing::info!(%addr, %public_url, node, "viva listening");
        match &metrics {
            Some((_, metrics_addr)) => tracing::info!(%metrics_addr, "metrics at /metrics"),
            None if metrics_on_main_port => {
                tracing::info!("metrics at /metrics on the main port, for VIVA_METRICS_TOKEN")
            }
            None => tracing::info!(
                "metrics are not served: set VIVA_METRICS_BIND and/or VIVA_METRICS_TOKEN"
            ),
        }
        Ok(Self {
            server,
            addr,
            public_url,
            metrics,
            webhooks,
            live,
            drain_timeout: settings.drain_timeout,
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the `metrics_bind` listener listens, when set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(_, addr)| *addr)
    }

    /// The origin users reach (settings' public_url, or derived from the bound address).
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// A handle that can stop the server gracefully.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT/SIGTERM (drained, see [`drain_on_signal`], then graceful: in-flight
    /// requests finish within shutdown_timeout) or until stopped through
    /// [`Application::handle`]. The webhook worker stops after the server, once its deliveries
    /// in flight are recorded.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let drain = actix_web::rt::spawn(drain_on_signal(
            self.server.handle(),
            self.live.clone(),
            self.drain_timeout,
        ));
        let served = match self.metrics {
            None => self.server.await,
            Some((metrics, _)) => {
                let metrics_handle = metrics.handle();
                let metrics = actix_web::rt::spawn(metrics);
                let served = self.server.await;
                metrics_handle.stop(true).await;
                let _ = metrics.await;
                served
            }
        };
        drain.abort();
        if let Some(live) = &self.live {
            match live.leases.release_all().await {
                Ok(0) => {}
                Ok(released) => tracing::info!(released, "interview leases given up"),
                Err(e) => {
                    tracing::warn!(error = %e, "interview leases not given up; they run out by themselves")
                }
            }
        }
        self.webhooks.stop().await;
        served
    }
}

/// On SIGTERM or SIGINT: the node starts no new live interview (the WebSocket answers 503
/// `draining`, which the load balancer passes on to another node, and `/readyz` says 503), lets
/// the live ones go on until they end or `drain_timeout` passes (or a second signal comes),
/// then hands the rest over (their pages reconnect to another node, which takes the released
/// leases) and stops the server.
async fn drain_on_signal(server: ServerHandle, live: Option<Arc<SessionDeps>>, timeout: Duration) {
    shutdown_signal().await;
    let Some(live) = live else {
        tracing::info!("shutting down");
        stop(server).await;
        return;
    };
    live.registry.drain();
    tracing::info!(
        live_interviews = live.registry.live(),
        ?timeout,
        "shutting down: no new interviews; live ones may finish first (another signal hands them over now)"
    );
    let all_ended = async {
        while live.registry.live() > 0 {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    };
    tokio::select! {
        () = all_ended => {}
        () = tokio::time::sleep(timeout) => tracing::info!("drain timeout reached"),
        () = shutdown_signal() => tracing::info!("second signal"),
    }
    let sessions = live.registry.sessions();
    if !sessions.is_empty() {
        tracing::info!(
            count = sessions.len(),
            "handing the live interviews over to other nodes"
        );
    }
    for session in &sessions {
        session.do_send(HandOver);
    }
    // Their sockets close and their leases are given up (each a short database write).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !live.registry.sessions().is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop(server).await;
}

/// Stops the server gracefully (in-flight requests get `shutdown_timeout`), or at once on one
/// more signal.
async fn stop(server: ServerHandle) {
    tokio::select! {
        () = server.stop(true) => {}
        () = shutdown_signal() => {
            tracing::info!("stopping now");
            server.stop(false).await;
        }
    }
}

/// SIGTERM or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `node_name`, or this host's name and the port it serves on (two nodes on one host differ by
/// port, and a node restarted on its port keeps its name).
fn node_name(settings: &Settings, addr: SocketAddr) -> String {
    settings.node_name.clone().unwrap_or_else(|| {
        let host = hostname::get()
            .ok()
            .and_then(|name| name.into_string().ok())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "localhost".into());
        format!("{host}:{}", addr.port())
    })
}

fn postgres_url(database: &DatabaseUrl) -> Option<SecretString> {
    match database {
        DatabaseUrl::Postgres(url) => Some(url.clone()),
        DatabaseUrl::Sqlite(_) => None,
    }
}

/// The `metrics_bind` listener: `/metrics` and nothing else, on one worker. It follows the
/// main server: stopped when that one stops (see [`Application::run_until_stopped`]).
fn serve_metrics(
    bind: SocketAddr,
    state: web::Data<AppState>,
) -> Result<(Server, SocketAddr), StartupError> {
    let listener =
        TcpListener::bind(bind).map_err(|source| StartupError::Bind { addr: bind, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| StartupError::Bind { addr: bind, source })?;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .configure(http::metrics_route)
            .default_service(web::to(http::not_found))
            .wrap(mw::json_errors())
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)
    .map_err(|source| StartupError::Bind { addr, source })?
    .run();
    Ok((server, addr))
}

/// Loads the models and starts their workers off the async runtime; `None` (after an error
/// in the log) when they cannot be loaded.
async fn load_engines(settings: Settings) -> Option<Engines> {
    let started = std::time::Instant::now();
    match actix_web::rt::task::spawn_blocking(move || Engines::load(&settings)).await {
        Ok(Ok(engines)) => {
            tracing::info!(elapsed = ?started.elapsed(), "speech and language models loaded");
            Some(engines)
        }
        Ok(Err(e)) => {
            tracing::error!(
                error = %e,
                "models not loaded: live interviews are unavailable until they are \
                 (`viva models fetch`, or see the README's Models section)"
            );
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "loading the models failed");
            None
        }
    }
}

/// The public URL and the origins allowed to make state-changing requests.
fn public_origins(settings: &Settings, addr: SocketAddr) -> (String, AllowedOrigins) {
    if let Some(url) = &settings.public_url {
        let origin = url.origin().ascii_serialization();
        return (origin.clone(), AllowedOrigins::new(vec![origin]));
    }
    let port = addr.port();
    let public = if addr.ip().is_unspecified() {
        format!("http://127.0.0.1:{port}")
    } else {
        format!("http://{addr}")
    };
    if addr.ip().is_unspecified() {
        tracing::warn!(
            "listening on all interfaces without VIVA_PUBLIC_URL: browsers that reach this server by \
             another address (a LAN IP, a host name) will be refused when they log in; set VIVA_PUBLIC_URL"
        );
    }
    let mut origins = vec![public.clone()];
    if addr.ip().is_loopback() || addr.ip().is_unspecified() {
        // Without a configured public URL, people open either spelling of the local address.
        for host in ["localhost", "127.0.0.1", "[::1]"] {
            origins.push(format!("http://{host}:{port}"));
        }
    }
    (public, AllowedOrigins::new(origins))
}

fn cookie_duration(d: Duration) -> actix_web::cookie::time::Duration {
    actix_web::cookie::time::Duration::seconds(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn create_dir(path: &Path, what: &'static str) -> Result<(), StartupError> {
    crate::storage::create_private_dir(path).map_err(|source| StartupError::Io {
        what,
        path: path.display().to_string(),
        source,
    })
}

/// Upload readers run this executable again (or the one the settings name).
fn resume_reader(settings: &Settings) -> Result<ResumeReader, StartupError> {
    let program = match &settings.reader_program {
        Some(program) => program.clone(),
        None => std::env::current_exe().map_err(|source| StartupError::Io {
            what: "cannot find the viva executable to read uploads with",
            path: String::new(),
            source,
        })?,
    };
    Ok(ResumeReader::new(
        program,
        ReaderLimits {
            timeout: settings.upload_read_timeout,
            memory_bytes: settings.upload_read_memory_mb * 1024 * 1024,
        },
    ))
}

/// The cookie key: from settings, or kept in `{data_dir}/secret.key` (created on first start,
/// readable by the owner only) so sessions survive restarts.
fn load_or_create_secret_key(settings: &Settings) -> Result<Vec<u8>, StartupError> {
    if let Some(key) = settings.configured_secret_key() {
        return Ok(key);
    }
    let path = settings.data_dir.join("secret.key");
    let shown = path.display().to_string();
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_secret_key(&text).map_err(|reason| StartupError::SecretKey {
            path: shown,
            reason,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = vec![0u8; 64];
            rand::Rng::fill(&mut rand::rngs::OsRng, key.as_mut_slice());
            crate::storage::write_private(&path, hex::encode(&key).as_bytes()).map_err(
                |source| StartupError::Io {
                    what: "cannot write secret key",
                    path: shown,
                    source,
                },
            )?;
            tracing::info!(path = %path.display(), "generated a new cookie secret key");
            Ok(key)
        }
        Err(source) => Err(StartupError::Io {
            what: "cannot read secret key",
            path: shown,
            source,
        }),
    }
}

/// Every `interval`: pending hiring interviews whose links all expired become `expired`, each
/// announcing `invite.expired` to its recruiter's webhooks.
fn spawn_invite_expiry(pool: DbPool, interval: Duration) {
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(interval);
        loop {
            tick.tick().await;
            match crate::hiring::invites::expire(&pool).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "hiring interviews whose links all expired"),
                Err(e) => tracing::warn!(error = %e, "invite expiry failed"),
            }
        }
    });
}

/// Periodic clean-up, every 10 minutes: expired session rows (database store), interviews
/// left in progress long after their time limit (marked abandoned), API key usage older
/// than its retention, and ended rate-limit windows (PostgreSQL).
fn spawn_housekeeping(
    pool: DbPool,
    store: SessionStoreKind,
    api_keys: ApiKeys,
    usage_retention: Duration,
) {
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            let now = db::now();
            if store == SessionStoreKind::Database {
                let result = match pool.get().await {
                    Ok(mut conn) => db::sessions::delete_expired(&mut conn, now).await,
                    Err(e) => Err(e),
                };
                match result {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(removed = n, "expired sessions removed"),
                    Err(e) => tracing::warn!(error = %e, "session clean-up failed"),
                }
            }
            match crate::interview::interviews::abandon_stale(&pool, now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(abandoned = n, "stale interviews marked abandoned"),
                Err(e) => tracing::warn!(error = %e, "interview clean-up failed"),
            }
            match api_keys.forget_old_usage(usage_retention).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "old API key usage removed"),
                Err(e) => tracing::warn!(error = %e, "API key usage clean-up failed"),
            }
            if let Some(counters) = db::rate_limits::Counters::shared(&pool) {
                match counters.sweep().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(removed = n, "ended rate-limit windows removed"),
                    Err(e) => tracing::warn!(error = %e, "rate-limit clean-up failed"),
                }
            }
        }
    });
}
