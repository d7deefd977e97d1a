//! Fixed-window counters keyed by client address, account, user or API key.
//!
//! Where they are counted follows the database: with PostgreSQL (a deployment of any number of
//! nodes behind a load balancer) every limiter counts in the `rate_limits` table, so the nodes
//! together allow `limit` per window, not `nodes × limit`; with SQLite (one node by
//! construction) they count in memory. Callers see one [`RateLimiter`] either way.
//!
//! A limit that cannot be counted because the database failed refuses the request
//! ([`LimitError::Uncounted`], answered 503 by the HTTP layer): failing open would let an
//! unlimited burst of password guesses through whenever the database struggles.
//!
//! Written here, not with a rate-limit crate: the keys are accounts and users as well as
//! addresses, and a fixed window with a bounded map (or one upsert) is a few lines.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

use crate::db::rate_limits::Counters;
use crate::db::{DbError, DbPool};

/// Prune expired windows once the map holds this many keys, bounding memory under a flood.
const PRUNE_AT: usize = 10_000;

pub struct RateLimiter {
    /// Names the limiter's windows in the database (`rate_limits.limiter`).
    name: &'static str,
    limit: u32,
    window: Duration,
    store: Store,
}

enum Store {
    /// This node's own windows.
    Memory(Mutex<HashMap<String, Window>>),
    /// Windows every node shares.
    Shared(Counters),
}

#[derive(Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
}

/// Why an event was not counted.
#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    /// The window is used up; it starts afresh after the wait.
    #[error("over the limit; try again in {0:?}")]
    Exceeded(Duration),
    /// The database that counts the limit failed: the event is refused, not let through
    /// (always [`DbError::Unavailable`], answered 503).
    #[error("the rate limit could not be counted: {0}")]
    Uncounted(#[source] DbError),
}

impl LimitError {
    /// The error a caller answers with: `exceeded` for a used-up window, the database's
    /// failure as itself.
    pub fn map_exceeded<E: From<DbError>>(self, exceeded: impl FnOnce(Duration) -> E) -> E {
        match self {
            Self::Exceeded(wait) => exceeded(wait),
            Self::Uncounted(e) => e.into(),
        }
    }
}

/// One event counted (or refused) with what is left of its window, for the `RateLimit-*`
/// response headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metered {
    pub quota: Quota,
    /// `Some(wait)`: the event was refused; the window starts afresh after `wait`.
    pub refused: Option<Duration>,
}

/// What is left of a key's window after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub remaining: u32,
    /// Until the window starts afresh.
    pub reset: Duration,
}

impl RateLimiter {
    /// A limiter of `limit` events per `window` and key, counted in the database behind
    /// `pool` when it is PostgreSQL (shared by every node), in memory otherwise. `name` tells
    /// its windows apart from other limiters' in the database.
    pub fn new(name: &'static str, limit: u32, window: Duration, pool: &DbPool) -> Self {
        let store = match Counters::shared(pool) {
            Some(counters) => Store::Shared(counters),
            None => Store::Memory(Mutex::new(HashMap::new())),
        };
        Self {
            name,
            limit,
            window,
            store,
        }
    }

    /// Whether every node counts against the same windows (in the database).
    pub fn is_shared(&self) -> bool {
        matches!(self.store, Store::Shared(_))
    }

    /// Counts one event for `key` now, or refuses it when the window is used up, in one step:
    /// checking and counting apart would let a burst of parallel requests all pass the check
    /// before any of them is counted. The event stays counted once [`Reservation::keep`] is
    /// called; dropped unkept, it is given back.
    pub async fn reserve(&self, key: &str) -> Result<Reservation<'_>, LimitError> {
        let (counted, refused) = self.count(key).await.map_err(LimitError::Uncounted)?;
        match refused {
            Some(wait) => Err(LimitError::Exceeded(wait)),
            None => Ok(Reservation {
                limiter: self,
                counted: Some(counted.of),
            }),
        }
    }

    /// Counts one event and refuses it when over the limit, in one step.
    pub async fn hit(&self, key: &str) -> Result<(), LimitError> {
        self.reserve(key).await.map(Reservation::keep)
    }

    /// Counts one event like [`Self::hit`] and says what is left of the window. Only a
    /// database failure is an `Err`; a refusal is [`Metered::refused`].
    pub async fn hit_with_quota(&self, key: &str) -> Result<Metered, DbError> {
        let (counted, refused) = self.count(key).await?;
        Ok(Metered {
            quota: Quota {
                limit: self.limit,
                remaining: self.limit.saturating_sub(counted.count),
                reset: counted.reset,
            },
            refused,
        })
    }

    /// Forgets `key`'s window (its events no longer count). A database failure is logged: the
    /// earlier events then still count until their window ends, which errs on the safe side.
    pub async fn reset(&self, key: &str) {
        match &self.store {
            Store::Memory(windows) => {
                lock(windows).remove(key);
            }
            Store::Shared(counters) => {
                if let Err(e) = counters.reset(self.name, &key_hash(key)).await {
                    tracing::warn!(error = %e, limiter = self.name, "rate limit not reset");
                }
            }
        }
    }

    /// Counts one event for `key`: what the window holds after it, and `Some(wait)` when it
    /// was refused.
    async fn count(&self, key: &str) -> Result<(Counted, Option<Duration>), DbError> {
        match &self.store {
            Store::Memory(windows) => {
                Ok(self.count_in_memory(&mut lock(windows), key, Instant::now()))
            }
            Store::Shared(counters) => {
                let key_hash = key_hash(key);
                let hit = counters
                    .hit(self.name, &key_hash, self.limit, self.window)
                    .await
                    .map_err(|e| {
                        tracing::error!(error = %e, limiter = self.name, "rate limit not counted");
                        // Whatever failed (the connection, a timeout), the answer is the same:
                        // refused for now, 503.
                        DbError::Unavailable(format!("rate limit not counted: {e}"))
                    })?;
                let reset = (hit.window_ends_at - hit.now).to_std().unwrap_or_default();
                let counted = Counted {
                    count: u32::try_from(hit.count).unwrap_or(0),
                    reset,
                    of: CountedIn::Shared {
                        key_hash,
                        window_ends_at: hit.window_ends_at,
                    },
                };
                Ok((counted, (!hit.allowed).then_some(reset)))
            }
        }
    }

    fn count_in_memory(
        &self,
        windows: &mut HashMap<String, Window>,
        key: &str,
        now: Instant,
    ) -> (Counted, Option<Duration>) {
        if windows.len() >= PRUNE_AT {
            let window = self.window;
            windows.retain(|_, w| now < w.started + window);
        }
        let w = windows.entry(key.to_owned()).or_insert(Window {
            started: now,
            count: 0,
        });
        if now >= w.started + self.window {
            *w = Window {
                started: now,
                count: 0,
            };
        }
        let refused = w.count >= self.limit;
        if !refused {
            w.count += 1;
        }
        let reset = w.started + self.window - now;
        let counted = Counted {
            count: w.count,
            reset,
            of: CountedIn::Memory {
                key: key.to_owned(),
                window_started: w.started,
            },
        };
        (counted, refused.then_some(reset))
    }

    /// Gives back one event counted in the window `of` names (a later window has not counted
    /// it). In the database this happens on a task of its own, since it is called from `Drop`.
    fn give_back(&self, of: CountedIn) {
        match (&self.store, of) {
            (
                Store::Memory(windows),
                CountedIn::Memory {
                    key,
                    window_started,
                },
            ) => {
                if let Some(w) = lock(windows).get_mut(&key) {
                    if w.started == window_started {
                        w.count = w.count.saturating_sub(1);
                    }
                }
            }
            (
                Store::Shared(counters),
                CountedIn::Shared {
                    key_hash,
                    window_ends_at,
                },
            ) => {
                let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                    tracing::warn!(
                        limiter = self.name,
                        "no runtime to give back a rate-limited event; it stays counted"
                    );
                    return;
                };
                let counters = counters.clone();
                let limiter = self.name;
                runtime.spawn(async move {
                    if let Err(e) = counters.give_back(limiter, &key_hash, window_ends_at).await {
                        tracing::warn!(error = %e, limiter, "a rate-limited event was not given back; it stays counted");
                    }
                });
            }
            // A reservation is only ever made by its own limiter's store.
            _ => {}
        }
    }
}

/// The key as the database keeps it: a client address or an email never lands there in clear.
fn key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn lock(
    windows: &Mutex<HashMap<String, Window>>,
) -> std::sync::MutexGuard<'_, HashMap<String, Window>> {
    // A panic while holding the lock cannot leave a window half-written; keep going.
    windows.lock().unwrap_or_else(|p| p.into_inner())
}

/// A key's window right after an event was counted (or refused) in it.
struct Counted {
    count: u32,
    reset: Duration,
    of: CountedIn,
}

/// Which window an event was counted in, so that giving it back cannot touch a later one.
enum CountedIn {
    Memory {
        key: String,
        window_started: Instant,
    },
    Shared {
        key_hash: String,
        window_ends_at: NaiveDateTime,
    },
}

/// One event counted ahead of the work it pays for; given back when dropped unkept (the work
/// did not happen, or its outcome should not count).
#[must_use = "a reservation is given back when dropped; call keep() to count the event"]
pub struct Reservation<'a> {
    limiter: &'a RateLimiter,
    /// `None` once kept.
    counted: Option<CountedIn>,
}

impl Reservation<'_> {
    /// The event counts.
    pub fn keep(mut self) {
        self.counted = None;
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if let Some(counted) = self.counted.take() {
            self.limiter.give_back(counted);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts like `reserve` at `now`: the start of the window the event was counted in, or
    /// the wait.
    fn reserve_at(limiter: &RateLimiter, key: &str, now: Instant) -> Result<Instant, Duration> {
        let Store::Memory(windows) = &limiter.store else {
            unreachable!("the tests' limiters count in memory")
        };
        let (counted, refused) = limiter.count_in_memory(&mut lock(windows), key, now);
        match (refused, counted.of) {
            (Some(wait), _) => Err(wait),
            (None, CountedIn::Memory { window_started, .. }) => Ok(window_started),
            (None, CountedIn::Shared { .. }) => unreachable!("counted in memory"),
        }
    }

    fn map_len(limiter: &RateLimiter) -> usize {
        match &limiter.store {
            Store::Memory(windows) => lock(windows).len(),
            Store::Shared(_) => 0,
        }
    }

    fn limiter(limit: u32, window: Duration) -> RateLimiter {
        RateLimiter {
            name: "test",
            limit,
            window,
            store: Store::Memory(Mutex::new(HashMap::new())),
        }
    }

    #[test]
    fn refuses_after_the_limit_until_the_window_ends() {
        let limiter = limiter(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(reserve_at(&limiter, "ip", t0), Ok(t0));
        }
        let retry = reserve_at(&limiter, "ip", t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(retry, Duration::from_secs(50));
        assert!(reserve_at(&limiter, "other", t0).is_ok());
        let t1 = t0 + Duration::from_secs(61);
        assert_eq!(reserve_at(&limiter, "ip", t1), Ok(t1), "a new window");
        assert!(reserve_at(&limiter, "ip", t1 + Duration::from_secs(1)).is_ok());
    }

    #[tokio::test]
    async fn the_quota_counts_down_and_names_the_wait_when_used_up() {
        let limiter = limiter(2, Duration::from_secs(60));
        let first = limiter.hit_with_quota("key").await.expect("counted");
        assert_eq!(first.refused, None);
        assert_eq!((first.quota.limit, first.quota.remaining), (2, 1));
        assert!(
            first.quota.reset <= Duration::from_secs(60)
                && first.quota.reset > Duration::from_secs(50)
        );
        let second = limiter.hit_with_quota("key").await.expect("counted");
        assert_eq!((second.refused, second.quota.remaining), (None, 0));
        let third = limiter.hit_with_quota("key").await.expect("counted");
        assert_eq!(third.quota.remaining, 0);
        let wait = third.refused.expect("the third is refused");
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(60));
    }

    #[tokio::test]
    async fn a_reservation_counts_until_given_back() {
        let limiter = limiter(2, Duration::from_secs(60));
        let first = limiter.reserve("a").await.unwrap();
        let second = limiter.reserve("a").await.unwrap();
        assert!(
            matches!(limiter.reserve("a").await, Err(LimitError::Exceeded(_))),
            "both places are taken"
        );
        drop(first);
        let third = limiter.reserve("a").await.unwrap();
        third.keep();
        second.keep();
        assert!(
            limiter.reserve("a").await.is_err(),
            "kept events stay counted"
        );
    }

    #[test]
    fn giving_back_after_the_window_ended_leaves_the_new_window_alone() {
        let limiter = limiter(1, Duration::from_secs(60));
        let t0 = Instant::now();
        let old_window = reserve_at(&limiter, "a", t0).unwrap();
        let t1 = t0 + Duration::from_secs(61);
        reserve_at(&limiter, "a", t1).unwrap();
        limiter.give_back(CountedIn::Memory {
            key: "a".into(),
            window_started: old_window,
        });
        assert!(reserve_at(&limiter, "a", t1).is_err());
    }

    #[tokio::test]
    async fn reset_forgets_a_key() {
        let limiter = limiter(1, Duration::from_secs(60));
        limiter.hit("a").await.unwrap();
        assert!(limiter.hit("a").await.is_err());
        limiter.reset("a").await;
        assert!(limiter.hit("a").await.is_ok());
    }

    #[test]
    fn memory_stays_bounded() {
        let limiter = limiter(1, Duration::from_millis(1));
        let t0 = Instant::now();
        for i in 0..(PRUNE_AT * 2) {
            let _ = reserve_at(
                &limiter,
                &i.to_string(),
                t0 + Duration::from_millis(2 * i as u64),
            );
        }
        assert!(map_len(&limiter) <= PRUNE_AT);
    }

    #[test]
    fn keys_are_kept_hashed() {
        let hash = key_hash("203.0.113.7");
        assert_eq!(hash.len(), 64);
        assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
        assert!(!hash.contains("203"));
    }

    #[tokio::test]
    async fn sqlite_counts_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let pool = DbPool::connect(
            &crate::db::DatabaseUrl::Sqlite(dir.path().join("viva.db")),
            &crate::db::PoolOptions {
                max_size: 1,
                timeout: Duration::from_secs(5),
            },
        )
        .unwrap();
        let limiter = RateLimiter::new("test", 1, Duration::from_secs(60), &pool);
        assert!(!limiter.is_shared());
    }
}
