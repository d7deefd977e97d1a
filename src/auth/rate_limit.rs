//! Fixed-window counters keyed by client address, account or user, kept in memory on each node.
//! (A multi-node deployment therefore allows up to `nodes × limit`; the limits stay meaningful
//! against guessing because each node also slows down every attempt with argon2.)
//! Written here, not with a rate-limit crate: the keys are accounts and users as well as
//! addresses, and a fixed window with a bounded map is a few lines.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Prune expired windows once the map holds this many keys, bounding memory under a flood.
const PRUNE_AT: usize = 10_000;

pub struct RateLimiter {
    limit: u32,
    window: Duration,
    windows: Mutex<HashMap<String, Window>>,
}

#[derive(Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one event for `key` now, or refuses it (`Err(retry_after)`) when the window is
    /// used up, in one step: checking and counting apart would let a burst of parallel
    /// requests all pass the check before any of them is counted. The event stays counted
    /// once [`Reservation::keep`] is called; dropped unkept, it is given back.
    pub fn reserve(&self, key: &str) -> Result<Reservation<'_>, Duration> {
        let window_started = self.reserve_at(key, Instant::now())?;
        Ok(Reservation {
            limiter: self,
            key: key.to_owned(),
            window_started,
            kept: false,
        })
    }

    /// Counts one event and refuses it when over the limit, in one step.
    pub fn hit(&self, key: &str) -> Result<(), Duration> {
        self.reserve(key).map(Reservation::keep)
    }

    /// Counts one event like [`Self::hit`] and says what is left of the window, for the
    /// `RateLimit-*` response headers. `Err` carries the wait, with the window's quota.
    pub fn hit_with_quota(&self, key: &str) -> Result<Quota, (Duration, Quota)> {
        let now = Instant::now();
        let mut windows = self.lock();
        let counted = self.count(&mut windows, key, now);
        let w = windows.get(key).copied().unwrap_or(Window {
            started: now,
            count: 0,
        });
        let quota = Quota {
            limit: self.limit,
            remaining: self.limit.saturating_sub(w.count),
            reset: (w.started + self.window).saturating_duration_since(now),
        };
        match counted {
            Ok(_) => Ok(quota),
            Err(wait) => Err((wait, quota)),
        }
    }

    pub fn reset(&self, key: &str) {
        self.lock().remove(key);
    }

    /// The start of the window the event was counted in.
    fn reserve_at(&self, key: &str, now: Instant) -> Result<Instant, Duration> {
        self.count(&mut self.lock(), key, now)
    }

    fn count(
        &self,
        windows: &mut HashMap<String, Window>,
        key: &str,
        now: Instant,
    ) -> Result<Instant, Duration> {
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
        if w.count >= self.limit {
            return Err(w.started + self.window - now);
        }
        w.count += 1;
        Ok(w.started)
    }

    /// Gives back one event counted in the window that started at `window_started` (a later
    /// window has not counted it).
    fn release(&self, key: &str, window_started: Instant) {
        if let Some(w) = self.lock().get_mut(key) {
            if w.started == window_started {
                w.count = w.count.saturating_sub(1);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Window>> {
        // A panic while holding the lock cannot leave a window half-written; keep going.
        self.windows.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What is left of a key's window after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub remaining: u32,
    /// Until the window starts afresh.
    pub reset: Duration,
}

/// One event counted ahead of the work it pays for; given back when dropped unkept (the work
/// did not happen, or its outcome should not count).
#[must_use = "a reservation is given back when dropped; call keep() to count the event"]
pub struct Reservation<'a> {
    limiter: &'a RateLimiter,
    key: String,
    window_started: Instant,
    kept: bool,
}

impl Reservation<'_> {
    /// The event counts.
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if !self.kept {
            self.limiter.release(&self.key, self.window_started);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_after_the_limit_until_the_window_ends() {
        let limiter = RateLimiter::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.reserve_at("ip", t0), Ok(t0));
        }
        let retry = limiter
            .reserve_at("ip", t0 + Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(retry, Duration::from_secs(50));
        assert!(limiter.reserve_at("other", t0).is_ok());
        let t1 = t0 + Duration::from_secs(61);
        assert_eq!(limiter.reserve_at("ip", t1), Ok(t1), "a new window");
        assert!(limiter
            .reserve_at("ip", t1 + Duration::from_secs(1))
            .is_ok());
    }

    #[test]
    fn the_quota_counts_down_and_names_the_wait_when_used_up() {
        let limiter = RateLimiter::new(2, Duration::from_secs(60));
        let first = limiter.hit_with_quota("key").expect("first");
        assert_eq!((first.limit, first.remaining), (2, 1));
        assert!(first.reset <= Duration::from_secs(60) && first.reset > Duration::from_secs(50));
        assert_eq!(limiter.hit_with_quota("key").expect("second").remaining, 0);
        let (wait, quota) = limiter.hit_with_quota("key").expect_err("third");
        assert_eq!(quota.remaining, 0);
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(60));
    }

    #[test]
    fn a_reservation_counts_until_given_back() {
        let limiter = RateLimiter::new(2, Duration::from_secs(60));
        let first = limiter.reserve("a").unwrap();
        let second = limiter.reserve("a").unwrap();
        assert!(limiter.reserve("a").is_err(), "both places are taken");
        drop(first);
        let third = limiter.reserve("a").unwrap();
        third.keep();
        second.keep();
        assert!(limiter.reserve("a").is_err(), "kept events stay counted");
    }

    #[test]
    fn giving_back_after_the_window_ended_leaves_the_new_window_alone() {
        let limiter = RateLimiter::new(1, Duration::from_secs(60));
        let t0 = Instant::now();
        let old_window = limiter.reserve_at("a", t0).unwrap();
        let t1 = t0 + Duration::from_secs(61);
        limiter.reserve_at("a", t1).unwrap();
        limiter.release("a", old_window);
        assert!(limiter.reserve_at("a", t1).is_err());
    }

    #[test]
    fn reset_forgets_a_key() {
        let limiter = RateLimiter::new(1, Duration::from_secs(60));
        limiter.hit("a").unwrap();
        assert!(limiter.hit("a").is_err());
        limiter.reset("a");
        assert!(limiter.hit("a").is_ok());
    }

    #[test]
    fn memory_stays_bounded() {
        let limiter = RateLimiter::new(1, Duration::from_millis(1));
        let t0 = Instant::now();
        for i in 0..(PRUNE_AT * 2) {
            let _ = limiter.reserve_at(&i.to_string(), t0 + Duration::from_millis(2 * i as u64));
        }
        assert!(limiter.lock().len() <= PRUNE_AT);
    }
}
