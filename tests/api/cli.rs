//! The `viva` binary itself: help, settings errors, migrate, admin create, graceful shutdown.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use awc::http::StatusCode;

use crate::helpers::{spawn_app_with, Backend, STRONG_PASSWORD};

fn viva(data_dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_viva"));
    cmd.env("VIVA_DATA_DIR", data_dir)
        .env("VIVA_LOG", "warn")
        .env("VIVA_FETCH_MODELS", "false")
        .env_remove("VIVA_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .current_dir(data_dir);
    cmd
}

#[test]
fn help_lists_every_setting() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = viva(dir.path()).arg("--help").output().expect("run viva");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for spec in viva::config::SETTINGS {
        assert!(help.contains(spec.env), "--help lacks {}", spec.env);
    }
    for command in ["serve", "migrate", "admin"] {
        assert!(help.contains(command), "--help lacks {command}");
    }
}

#[test]
fn a_bad_setting_stops_startup_with_one_line_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = viva(dir.path())
        .env("VIVA_BIND", "nowhere")
        .arg("serve")
        .output()
        .expect("run viva");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("VIVA_BIND") && err.contains("nowhere"),
        "{err}"
    );

    std::fs::write(dir.path().join("viva.toml"), "db_pool_size = \"many\"\n").expect("write toml");
    let out = viva(dir.path()).arg("migrate").output().expect("run viva");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("db_pool_size") && err.contains("viva.toml"),
        "{err}"
    );
}

#[test]
fn migrate_creates_the_sqlite_database_in_the_data_dir() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let out = viva(dir.path())
        .env("VIVA_DATA_DIR", &data)
        .arg("migrate")
        .output()
        .expect("run viva");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(data.join("viva.db").exists());
    let again = viva(dir.path())
        .env("VIVA_DATA_DIR", &data)
        .arg("migrate")
        .output()
        .expect("run viva");
    assert!(String::from_utf8_lossy(&again.stdout).starts_with("0 migration(s)"));
}

#[actix_web::test]
async fn admin_create_reads_the_password_from_stdin_and_the_admin_can_log_in() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |password: &str| {
        let mut child = viva(dir.path())
            .args([
                "admin",
                "create",
                "--email",
                "Root@Example.com",
                "--role",
                "admin",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run viva");
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{password}").expect("write password");
        drop(stdin);
        child.wait_with_output().expect("viva finishes")
    };
    let weak = run("password");
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 10"));

    let out = run(STRONG_PASSWORD);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("as admin"));

    let data_dir = dir.path().to_path_buf();
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.data_dir = data_dir.clone();
        s.database_url = Some(viva::db::DatabaseUrl::Sqlite(data_dir.join("viva.db")));
    })
    .await
    .expect("app");
    let login = app.login("root@example.com", STRONG_PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK, "{:?}", login.body);
    assert_eq!(login.body["role"], "admin");
}

#[test]
fn serve_answers_and_shuts_down_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = viva(dir.path())
        .env("VIVA_BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run viva");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("startup line");
    let address = line
        .trim()
        .rsplit(' ')
        .next()
        .expect("url")
        .trim_start_matches("http://")
        .to_owned();
    assert!(address.starts_with("127.0.0.1:"), "{line}");

    let mut stream = std::net::TcpStream::connect(&address).expect("connect");
    write!(stream, "GET /healthz HTTP/1.0\r\nHost: {address}\r\n\r\n").expect("send");
    let mut response = String::new();
    std::io::Read::read_to_string(&mut stream, &mut response).expect("read");
    assert!(
        response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200"),
        "{response}"
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    // Bounded wait so a hung server fails the test instead of hanging the run.
    let deadline = Instant::now() + Duration::from_secs(60);
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("viva did not stop after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn readme_lists_every_setting() {
    let readme = include_str!("../../README.md");
    for spec in viva::config::SETTINGS {
        assert!(
            readme.contains(&format!("`{}`", spec.env))
                && readme.contains(&format!("`{}`", spec.key)),
            "README's settings table lacks {} / {}",
            spec.env,
            spec.key
        );
    }
}

/// `viva loadtest` end to end, as an operator runs it: no `--audio`, so it fetches its default
/// answers (Debian's pocketsphinx-testdata) into its data directory, then prints its table.
#[actix_web::test]
async fn loadtest_without_audio_fetches_its_answers_and_prints_the_table() {
    let Some(app) = crate::helpers::spawn_live_app(Backend::Sqlite, |_| {}).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = viva(dir.path());
    command.args([
        "loadtest",
        "--url",
        &app.address,
        "--interviews",
        "1",
        "--turns",
        "1",
        "--pace",
        "4",
    ]);
    let out = actix_web::rt::task::spawn_blocking(move || command.output())
        .await
        .expect("the thread")
        .expect("run viva loadtest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && stderr.contains("fetching pocketsphinx-testdata") {
        crate::support::unavailable(&format!("the default load-test answers: {stderr}"));
        return;
    }
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 turns answered, 0 interviews refused"),
        "{stdout}"
    );
    for row in ["transcript", "first reply_delta", "whole reply"] {
        assert!(
            stdout.lines().any(|l| l.starts_with(row)),
            "no {row} row in\n{stdout}"
        );
    }
    assert!(dir
        .path()
        .join("loadtest-audio/pocketsphinx-testdata/usr/share/pocketsphinx/test/data/librivox")
        .is_dir());
}
