//! Persistence: one pool over either PostgreSQL or SQLite, and the query modules.
//!
//! Query code is written once and compiled for both backends by [`db_run!`]; where the SQL must
//! differ, the difference is a visible `match` on [`DbConn`] in the query module.

pub mod api_keys;
pub mod bookmarks;
pub mod candidates;
pub mod catalog;
mod database_url;
pub mod emails;
pub mod feedback;
pub mod files;
pub mod identities;
pub mod interviews;
pub mod invites;
pub mod jobs;
pub mod leaderboard;
pub mod leases;
pub mod one_time_codes;
pub mod rate_limits;
pub mod schema;
pub mod sessions;
pub mod transcriptions;
pub mod users;
pub mod webhooks;

use std::path::Path;
use std::time::Duration;

use diesel::{Connection, SqliteConnection};
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use futures_util::FutureExt;
use secrecy::ExposeSecret;

pub use database_url::DatabaseUrl;

pub type SqliteConn = SyncConnectionWrapper<SqliteConnection>;

pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// The PostgreSQL advisory lock migrations run under (any constant only viva uses).
const MIGRATION_LOCK: i64 = 0x7669_7661_6d69_6772;

/// Starts `work`, which queries the database, on a task of its own (at once, on the current
/// actix thread), so it runs to the end even when its caller stops waiting for it. A SQLite
/// query dropped half-way panics diesel-async's blocking wrapper on actix's single-threaded
/// runtime (diesel_async#281), and callers are dropped half-way whenever a client leaves, an
/// extractor beside them fails or an actor stops. Every such caller goes through here. The
/// handle answers `Err` when the task itself panicked.
pub fn finish_detached<T: 'static>(
    work: impl std::future::Future<Output = T> + 'static,
) -> tokio::task::JoinHandle<T> {
    tokio::task::spawn_local(work)
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("record not found")]
    NotFound,
    #[error("unique constraint violated: {0}")]
    UniqueViolation(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("query failed: {0}")]
    Query(#[source] diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
}

impl From<diesel::result::Error> for DbError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => Self::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                Self::UniqueViolation(info.message().to_owned())
            }
            // The server went away during the query (PostgreSQL stopped or restarted).
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => Self::Unavailable(info.message().to_owned()),
            other => Self::Query(other),
        }
    }
}

/// The current time at the precision both backends keep (microseconds), so a value written
/// and read back compares equal.
pub fn now() -> chrono::NaiveDateTime {
    chrono::SubsecRound::trunc_subsecs(chrono::Utc::now().naive_utc(), 6)
}

/// Connection pool for the configured backend. Cheap to clone.
#[derive(Clone)]
pub enum DbPool {
    Postgres(Pool<AsyncPgConnection>),
    Sqlite(Pool<SqliteConn>),
}

/// A pooled connection. Use it through [`db_run!`]; never hold one across an inference await.
// One lives briefly on the stack per query; boxing it would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum DbConn {
    Postgres(Object<AsyncPgConnection>),
    Sqlite(Object<SqliteConn>),
}

/// Runs the same diesel-async code against whichever backend `$conn` holds.
/// Inside the block `$conn` is the concrete `&mut` connection.
#[macro_export]
macro_rules! db_run {
    ($conn:ident, $body:block) => {
        match $conn {
            $crate::db::DbConn::Postgres($conn) => {
                let $conn: &mut ::diesel_async::AsyncPgConnection = &mut *$conn;
                $body
            }
            $crate::db::DbConn::Sqlite($conn) => {
                let $conn: &mut $crate::db::SqliteConn = &mut *$conn;
                $body
            }
        }
    };
}

pub struct PoolOptions {
    pub max_size: usize,
    /// Postgres statement timeout, SQLite busy timeout, and the wait for a free connection.
    pub timeout: Duration,
}

impl DbPool {
    pub fn connect(url: &DatabaseUrl, options: &PoolOptions) -> Result<Self, DbError> {
        let timeout_ms = options.timeout.as_millis();
        Ok(match url {
            DatabaseUrl::Postgres(url) => Self::Postgres(build_pool(
                url.expose_secret(),
                format!("SET statement_timeout = {timeout_ms}"),
                options,
            )?),
            DatabaseUrl::Sqlite(path) => Self::Sqlite(build_pool(
                &path.to_string_lossy(),
                sqlite_pragmas(timeout_ms),
                options,
            )?),
        })
    }

    pub async fn get(&self) -> Result<DbConn, DbError> {
        let unavailable = |e: diesel_async::pooled_connection::deadpool::PoolError| {
            DbError::Unavailable(e.to_string())
        };
        Ok(match self {
            Self::Postgres(pool) => DbConn::Postgres(pool.get().await.map_err(unavailable)?),
            Self::Sqlite(pool) => DbConn::Sqlite(pool.get().await.map_err(unavailable)?),
        })
    }

    /// A round trip to the database, for health checks.
    pub async fn ping(&self) -> Result<(), DbError> {
        let mut conn = self.get().await?;
        let conn = &mut conn;
        db_run!(conn, {
            diesel::sql_query("SELECT 1").execute(conn).await?;
        });
        Ok(())
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Postgres(_) => "postgres",
            Self::Sqlite(_) => "sqlite",
        }
    }
}

/// A pool whose every new connection first runs `setup_sql` (timeouts, pragmas).
fn build_pool<C>(url: &str, setup_sql: String, options: &PoolOptions) -> Result<Pool<C>, DbError>
where
    C: AsyncConnection + SimpleAsyncConnection + Send + 'static,
    AsyncDieselConnectionManager<C>: deadpool::managed::Manager,
{
    let setup_sql: std::sync::Arc<str> = setup_sql.into();
    let mut config = ManagerConfig::<C>::default();
    config.custom_setup = Box::new(move |url| {
        let setup_sql = setup_sql.clone();
        async move {
            let mut conn = C::establish(url).await?;
            conn.batch_execute(&setup_sql)
                .await
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        }
        .boxed()
    });
    Pool::builder(AsyncDieselConnectionManager::new_with_config(url, config))
        .max_size(options.max_size)
        .wait_timeout(Some(options.timeout))
        .create_timeout(Some(options.timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| DbError::Unavailable(e.to_string()))
}

fn sqlite_pragmas(busy_timeout_ms: u128) -> String {
    // busy_timeout first: the journal_mode switch itself may have to wait for a lock.
    format!(
        "PRAGMA busy_timeout = {busy_timeout_ms}; PRAGMA journal_mode = WAL; \
         PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
    )
}

/// Applies pending migrations; returns how many ran. Blocking: it runs on its own thread so it
/// works from any async runtime (diesel's migration harness is synchronous).
pub async fn migrate(url: &DatabaseUrl) -> Result<usize, DbError> {
    let url = url.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(migrate_blocking(&url));
    });
    rx.await
        .map_err(|_| DbError::Migration("migration thread stopped".into()))?
}

fn migrate_blocking(url: &DatabaseUrl) -> Result<usize, DbError> {
    let migration_error =
        |e: Box<dyn std::error::Error + Send + Sync>| DbError::Migration(e.to_string());
    match url {
        DatabaseUrl::Postgres(url) => {
            let mut conn = <AsyncConnectionWrapper<AsyncPgConnection> as Connection>::establish(
                url.expose_secret(),
            )
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
            // Nodes starting together migrate one at a time (the lock ends with the
            // connection); the later ones find nothing left to do.
            diesel::connection::SimpleConnection::batch_execute(
                &mut conn,
                &format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"),
            )?;
            let ran = conn
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map_err(migration_error)?;
            Ok(ran.len())
        }
        DatabaseUrl::Sqlite(path) => {
            ensure_parent_dir(path)?;
            crate::storage::ensure_private_file(path).map_err(|e| {
                DbError::Unavailable(format!("cannot create {}: {e}", path.display()))
            })?;
            let mut conn = SqliteConnection::establish(&path.to_string_lossy())
                .map_err(|e| DbError::Unavailable(e.to_string()))?;
            diesel::connection::SimpleConnection::batch_execute(&mut conn, &sqlite_pragmas(5000))?;
            let ran = conn
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map_err(migration_error)?;
            Ok(ran.len())
        }
    }
}

fn ensure_parent_dir(path: &Path) -> Result<(), DbError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| DbError::Unavailable(format!("cannot create {}: {e}", dir.display())))?;
    }
    Ok(())
}
