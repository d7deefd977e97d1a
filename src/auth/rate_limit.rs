//! Fixed-window counters keyed by client address or account, kept in memory on each node.
//! (A multi-node deployment therefore allows up to `nodes × limit`; the limits stay meaningful
//! against guessing because each node also slows down every attempt with argon2.)

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

    /// `Err(retry_after)` when `key` has used up its window.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    /// Counts one event for `key`.
    pub fn record(&self, key: &str) {
        self.record_at(key, Instant::now())
    }

    /// Counts one event and refuses it when over the limit, in one step.
    pub fn hit(&self, key: &str) -> Result<(), Duration> {
        let now = Instant::now();
        self.check_at(key, now)?;
        self.record_at(key, now);
        Ok(())
    }

    pub fn reset(&self, key: &str) {
        self.lock().remove(key);
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let windows = self.lock();
        match windows.get(key) {
            Some(w) if now < w.started + self.window && w.count >= self.limit => {
                Err(w.started + self.window - now)
            }
            _ => Ok(()),
        }
    }

    fn record_at(&self, key: &str, now: Instant) {
        let mut windows = self.lock();
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
        w.count = w.count.saturating_add(1);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Window>> {
        // A panic while holding the lock cannot leave a window half-written; keep going.
        self.windows.lock().unwrap_or_else(|p| p.into_inner())
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
            assert!(limiter.check_at("ip", t0).is_ok());
            limiter.record_at("ip", t0);
        }
        let retry = limiter
            .check_at("ip", t0 + Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(retry, Duration::from_secs(50));
        assert!(limiter.check_at("other", t0).is_ok());
        assert!(limiter.check_at("ip", t0 + Duration::from_secs(61)).is_ok());
        limiter.record_at("ip", t0 + Duration::from_secs(61));
        assert!(limiter.check_at("ip", t0 + Duration::from_secs(62)).is_ok());
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
            limiter.record_at(&i.to_string(), t0 + Duration::from_millis(2 * i as u64));
        }
        assert!(limiter.lock().len() <= PRUNE_AT);
    }
}
