//! Rate limits shared by every node of a PostgreSQL deployment: two servers on one database
//! let through exactly `limit` attempts between them, however the attempts are spread and
//! however many arrive at once; an API key's quota counts down across both; a window ends and
//! counting starts afresh, by the database's clock. The counter itself, hit by many tasks at
//! once, counts each hit exactly once. On SQLite (one node) the limits count in memory.

use std::collections::BTreeSet;
use std::time::Duration;

use awc::http::{Method, StatusCode};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use futures_util::future::join_all;
use viva::db::rate_limits::Counters;
use viva::db::schema::rate_limits;
use viva::db::{DbPool, PoolOptions};

use crate::helpers::{
    spawn_app_with, spawn_node_beside, unique_email, Backend, Reply, TestApp, STRONG_PASSWORD,
};

const WRONG: &str = "wrong wrong wrong";

/// Two nodes on one fresh PostgreSQL database, both `tweak`ed; `None` after the helpers' loud
/// SKIPPED line when PostgreSQL is not configured.
async fn two_nodes(tweak: impl Fn(&mut viva::config::Settings)) -> Option<(TestApp, TestApp)> {
    let first = spawn_app_with(Backend::Postgres, &tweak).await?;
    let second = spawn_node_beside(&first, &tweak).await;
    Some((first, second))
}

fn retry_after(r: &Reply) -> u64 {
    r.header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("Retry-After in seconds: {:?} {:?}", r.headers, r.body))
}

fn statuses(answers: &[Reply]) -> Vec<u16> {
    answers.iter().map(|r| r.status.as_u16()).collect()
}

/// A pool of `size` connections on the app's database, for the tests that count directly.
fn pool_of(app: &TestApp, size: usize) -> DbPool {
    DbPool::connect(
        &app.database,
        &PoolOptions {
            max_size: size,
            timeout: Duration::from_secs(10),
        },
    )
    .expect("pool")
}

/// Every stored window as (limiter, key_hash).
async fn stored_windows(app: &TestApp) -> Vec<(String, String)> {
    let mut conn = app.pool().get().await.expect("connection");
    let conn = &mut conn;
    let rows: Result<Vec<(String, String)>, diesel::result::Error> = viva::db_run!(conn, {
        rate_limits::table
            .select((rate_limits::limiter, rate_limits::key_hash))
            .load(conn)
            .await
    });
    rows.expect("read rate_limits")
}

#[actix_web::test]
async fn failed_logins_across_two_nodes_stop_at_the_limit() {
    let Some((a, b)) = two_nodes(|s| {
        s.login_max_failures_per_account = 5;
        s.login_max_failures_per_ip = 1000;
    })
    .await
    else {
        return;
    };
    let nodes = [&a, &b];
    let email = unique_email();
    assert_eq!(
        a.register(&email, STRONG_PASSWORD, "Target").await.status,
        StatusCode::CREATED
    );

    // A wrong password on one node, the right one on the other: the success clears the
    // account's failures everywhere.
    assert_eq!(
        b.login(&email, WRONG).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        a.login(&email, STRONG_PASSWORD).await.status,
        StatusCode::OK
    );

    // 24 wrong passwords at once, half on each node: exactly the limit of them are tried.
    let answers = join_all((0..24).map(|i| nodes[i % 2].login(&email, WRONG))).await;
    let tried = answers
        .iter()
        .filter(|r| r.status == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(
        tried,
        5,
        "exactly the limit get 401: {:?}",
        statuses(&answers)
    );
    for r in answers
        .iter()
        .filter(|r| r.status != StatusCode::UNAUTHORIZED)
    {
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", r.body);
        assert_eq!(r.error_code(), "rate_limited");
        assert!(retry_after(r) > 0);
    }
    // Locked on both nodes, even for the right password.
    for node in nodes {
        let r = node.login(&email, STRONG_PASSWORD).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", r.body);
    }

    // The database holds the windows by limiter and hashed key: never the address or email.
    let windows = stored_windows(&a).await;
    let limiters: BTreeSet<&str> = windows.iter().map(|(l, _)| l.as_str()).collect();
    assert!(
        limiters.contains("login_failures_per_account")
            && limiters.contains("login_failures_per_ip"),
        "{limiters:?}"
    );
    for (_, key_hash) in &windows {
        assert_eq!(key_hash.len(), 64, "{key_hash}");
        assert!(
            key_hash.chars().all(|c| c.is_ascii_hexdigit()),
            "{key_hash}"
        );
    }
    let everything = format!("{windows:?}");
    assert!(!everything.contains('@') && !everything.contains("127.0.0.1"));
}

#[actix_web::test]
async fn registrations_across_two_nodes_stop_at_the_limit() {
    let Some((a, b)) = two_nodes(|s| s.register_max_per_ip = 3).await else {
        return;
    };
    let nodes = [&a, &b];
    let emails: Vec<String> = (0..12).map(|_| unique_email()).collect();
    let answers = join_all(
        emails
            .iter()
            .enumerate()
            .map(|(i, email)| nodes[i % 2].register(email, STRONG_PASSWORD, "Burst")),
    )
    .await;
    let created = answers
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert_eq!(created, 3, "{:?}", statuses(&answers));
    for r in answers.iter().filter(|r| r.status != StatusCode::CREATED) {
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", r.body);
        assert!(retry_after(r) > 0);
    }
}

#[actix_web::test]
async fn an_api_keys_quota_counts_down_across_nodes() {
    let Some((a, b)) = two_nodes(|s| s.api_key_requests_per_minute = 4).await else {
        return;
    };
    let nodes = [&a, &b];
    let cookie = a.signed_in_recruiter().await;
    let key_of = |created: serde_json::Value| created["key"].as_str().expect("key").to_owned();
    let key = key_of(a.new_api_key(&cookie, &["jobs:read"]).await);

    // One after another, alternating nodes: one quota.
    for (i, remaining) in ["3", "2", "1", "0"].into_iter().enumerate() {
        let r = nodes[i % 2]
            .with_key(Method::GET, "/api/v1/jobs", &key, None)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(r.header("ratelimit-limit"), Some("4"));
        assert_eq!(
            r.header("ratelimit-remaining"),
            Some(remaining),
            "request {i}"
        );
    }
    for node in nodes {
        let refused = node.with_key(Method::GET, "/api/v1/jobs", &key, None).await;
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.header("ratelimit-remaining"), Some("0"));
        assert!((1..=60).contains(&retry_after(&refused)));
    }

    // All at once, on both nodes: exactly four get through, each with its own place.
    let burst = key_of(a.new_api_key(&cookie, &["jobs:read"]).await);
    let answers =
        join_all((0..12).map(|i| nodes[i % 2].with_key(Method::GET, "/api/v1/jobs", &burst, None)))
            .await;
    let remaining: BTreeSet<&str> = answers
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .filter_map(|r| r.header("ratelimit-remaining"))
        .collect();
    let served = answers
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(served, 4, "{:?}", statuses(&answers));
    assert_eq!(remaining, BTreeSet::from(["0", "1", "2", "3"]));
    assert!(answers
        .iter()
        .all(|r| r.status == StatusCode::OK || r.status == StatusCode::TOO_MANY_REQUESTS));
}

#[actix_web::test]
async fn a_window_ends_and_counting_restarts_on_either_node() {
    let Some((a, b)) = two_nodes(|s| {
        s.rate_limit_window = Duration::from_secs(2);
        s.login_max_failures_per_account = 2;
        s.login_max_failures_per_ip = 1000;
    })
    .await
    else {
        return;
    };
    let email = unique_email();
    a.register(&email, STRONG_PASSWORD, "Target").await;
    assert_eq!(
        a.login(&email, WRONG).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        b.login(&email, WRONG).await.status,
        StatusCode::UNAUTHORIZED
    );
    let limited = a.login(&email, WRONG).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&limited);
    assert!((1..=2).contains(&wait), "{wait}");

    actix_web::rt::time::sleep(Duration::from_secs(wait) + Duration::from_millis(200)).await;
    // A new window: two more failures are tried, on the other node first.
    assert_eq!(
        b.login(&email, WRONG).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        a.login(&email, WRONG).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        b.login(&email, WRONG).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[actix_web::test]
async fn the_counter_counts_each_of_parallel_hits_exactly_once() {
    let Some(app) = spawn_app_with(Backend::Postgres, |_| {}).await else {
        return;
    };
    let pool = pool_of(&app, 16);
    let counters = Counters::shared(&pool).expect("PostgreSQL counts in the database");
    let window = Duration::from_secs(60);
    let hits = join_all((0..60).map(|_| counters.hit("parallel", "key", 40, window))).await;
    let hits: Vec<_> = hits.into_iter().map(|h| h.expect("counted")).collect();

    let mut allowed: Vec<i32> = hits.iter().filter(|h| h.allowed).map(|h| h.count).collect();
    allowed.sort_unstable();
    assert_eq!(
        allowed,
        (1..=40).collect::<Vec<_>>(),
        "each place given once"
    );
    let refused: Vec<_> = hits.iter().filter(|h| !h.allowed).collect();
    assert_eq!(refused.len(), 20);
    assert!(refused.iter().all(|h| h.count == 40));
    let windows: BTreeSet<_> = hits.iter().map(|h| h.window_ends_at).collect();
    assert_eq!(windows.len(), 1, "one window: {windows:?}");
    // `now()` is each statement's transaction start: a hit that waited for the row's lock may
    // see the window opened by one that started a moment after it.
    for h in &hits {
        let left = h.window_ends_at - h.now;
        assert!(
            left > chrono::TimeDelta::zero() && left <= chrono::TimeDelta::seconds(61),
            "{h:?}"
        );
    }
    // Another key and another limiter have windows of their own.
    assert_eq!(
        counters
            .hit("parallel", "other", 40, window)
            .await
            .unwrap()
            .count,
        1
    );
    assert_eq!(
        counters
            .hit("another", "key", 40, window)
            .await
            .unwrap()
            .count,
        1
    );
}

#[actix_web::test]
async fn give_backs_touch_only_their_window_and_ended_windows_are_swept() {
    let Some(app) = spawn_app_with(Backend::Postgres, |_| {}).await else {
        return;
    };
    let pool = pool_of(&app, 2);
    let counters = Counters::shared(&pool).expect("PostgreSQL counts in the database");
    let minute = Duration::from_secs(60);

    let first = counters.hit("gb", "k", 2, minute).await.unwrap();
    let second = counters.hit("gb", "k", 2, minute).await.unwrap();
    assert!(first.allowed && second.allowed);
    assert!(!counters.hit("gb", "k", 2, minute).await.unwrap().allowed);
    assert!(counters
        .give_back("gb", "k", first.window_ends_at)
        .await
        .unwrap());
    let again = counters.hit("gb", "k", 2, minute).await.unwrap();
    assert!(again.allowed && again.count == 2, "{again:?}");
    // A window that is not the key's current one is left alone.
    let earlier = first.window_ends_at - chrono::TimeDelta::seconds(60);
    assert!(!counters.give_back("gb", "k", earlier).await.unwrap());
    counters.reset("gb", "k").await.unwrap();
    assert_eq!(counters.hit("gb", "k", 2, minute).await.unwrap().count, 1);

    // A short window ends: swept, and its key counts afresh.
    let short = Duration::from_millis(50);
    counters.hit("short", "k", 1, short).await.unwrap();
    assert!(!counters.hit("short", "k", 1, short).await.unwrap().allowed);
    actix_web::rt::time::sleep(Duration::from_millis(150)).await;
    assert!(
        counters.hit("short", "k", 1, short).await.unwrap().allowed,
        "a new window"
    );
    actix_web::rt::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(counters.sweep().await.unwrap(), 1, "only the ended window");
    let left: BTreeSet<String> = stored_windows(&app)
        .await
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    assert_eq!(left, BTreeSet::from(["gb".to_owned()]));
}

#[actix_web::test]
async fn a_limit_the_database_cannot_count_refuses_with_503() {
    let Some(app) = spawn_app_with(Backend::Postgres, |_| {}).await else {
        return;
    };
    app.postgres.as_ref().expect("postgres db").drop_now().await;
    let register = app.register(&unique_email(), STRONG_PASSWORD, "N").await;
    let reset = app
        .post_json(
            "/api/v1/auth/password-reset",
            &serde_json::json!({"email": unique_email()}),
            None,
        )
        .await;
    for r in [register, reset] {
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", r.body);
        assert_eq!(r.error_code(), "service_unavailable");
        assert!(!String::from_utf8_lossy(&r.raw).contains("rate_limits"));
    }
}

#[actix_web::test]
async fn sqlite_counts_in_memory() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |s| {
        s.login_max_failures_per_account = 2;
    })
    .await
    else {
        return;
    };
    assert!(Counters::shared(&app.pool()).is_none());
    let email = unique_email();
    app.register(&email, STRONG_PASSWORD, "Target").await;
    for _ in 0..2 {
        assert_eq!(
            app.login(&email, WRONG).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        app.login(&email, WRONG).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert!(
        stored_windows(&app).await.is_empty(),
        "nothing counted in the table"
    );
}
