//! The browser app in static/, driven through headless Chromium against the real server: the
//! page a person uses, under the real Content-Security-Policy, with real cookies.
//!
//! Needs Chromium (`apt-get install chromium`). Without it these tests print a loud SKIPPED line,
//! or fail when `CI` is set (CI installs it). Screenshots land in `target/browser-screens/`.

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::json;

use crate::cdp::{self, Browser, Page, Socket};
use crate::helpers::{loud, spawn_app, Backend, TestApp, STRONG_PASSWORD};

#[actix_web::test]
async fn registers_and_logs_in_through_the_page() {
    let Some((app, browser)) = start().await else {
        return;
    };
    let mut page = browser.open_page().await;
    page.navigate(&app.url("/")).await;
    let view = wait_for_view(&mut page, "the register and log-in forms", |v| v.signed_out).await;
    assert!(!view.signed_in, "{view:?}");
    page.screenshot("landing").await;

    let email = format!("ada-{}@example.com", uuid::Uuid::new_v4().simple());
    let fields = [
        ("register-email", email.as_str()),
        ("register-password", STRONG_PASSWORD),
        ("register-name", "Ada Lovelace"),
    ];
    submit(&mut page, "register-form", &fields).await;
    let view = wait_for_view(&mut page, "the signed-in view after registering", |v| {
        v.signed_in && v.email == email
    })
    .await;
    assert!(!view.signed_out, "the forms hide once signed in: {view:?}");
    assert_eq!(
        (view.name.as_str(), view.role.as_str()),
        ("Ada Lovelace", "candidate")
    );
    page.screenshot("signed-in").await;

    click(&mut page, "logout-button").await;
    let view = wait_for_view(&mut page, "the forms after logging out", |v| v.signed_out).await;
    assert!(!view.signed_in, "{view:?}");
    assert_eq!(
        view.email, "",
        "nothing of the old user is left on the page"
    );

    let fields = [
        ("login-email", email.as_str()),
        ("login-password", STRONG_PASSWORD),
    ];
    submit(&mut page, "login-form", &fields).await;
    let view = wait_for_view(&mut page, "the signed-in view after logging in", |v| {
        v.signed_in && v.email == email
    })
    .await;
    assert!(!view.signed_out && view.login_error.is_empty(), "{view:?}");

    page.reload().await;
    let view = wait_for_view(
        &mut page,
        "the signed-in view after a reload (the session cookie)",
        |v| v.signed_in || v.signed_out,
    )
    .await;
    assert!(
        view.signed_in && view.email == email,
        "the session survives a reload: {view:?}"
    );
    assert_eq!(page.csp_violations().await, Vec::<String>::new());

    click(&mut page, "logout-all-button").await;
    wait_for_view(&mut page, "the forms after logging out everywhere", |v| {
        v.signed_out
    })
    .await;
    page.reload().await;
    let view = wait_for_view(&mut page, "the page after a reload", |v| {
        v.signed_in || v.signed_out
    })
    .await;
    assert!(view.signed_out, "no session is left: {view:?}");
}

#[actix_web::test]
async fn shows_server_error_messages() {
    let Some((app, browser)) = start().await else {
        return;
    };
    let mut page = browser.open_page().await;
    page.navigate(&app.url("/")).await;
    wait_for_view(&mut page, "the register and log-in forms", |v| v.signed_out).await;

    let fields = [
        ("register-email", "grace@example.com"),
        ("register-password", "too short"),
        ("register-name", "Grace Hopper"),
    ];
    submit(&mut page, "register-form", &fields).await;
    let view = wait_for_view(&mut page, "the register form's error", |v| {
        !v.register_error.is_empty()
    })
    .await;
    assert!(view.register_error.contains("at least 10"), "{view:?}");
    assert!(view.signed_out && !view.signed_in, "{view:?}");

    let fields = [
        ("login-email", "nobody@example.com"),
        ("login-password", STRONG_PASSWORD),
    ];
    submit(&mut page, "login-form", &fields).await;
    let view = wait_for_view(&mut page, "the log-in form's error", |v| {
        !v.login_error.is_empty()
    })
    .await;
    assert!(view.login_error.contains("incorrect"), "{view:?}");
    page.screenshot("errors").await;

    assert_eq!(page.csp_violations().await, Vec::<String>::new());
}

/// The app and a browser, or `None` (after a loud SKIPPED line) when Chromium is missing.
async fn start() -> Option<(TestApp, Browser)> {
    let chromium = chromium()?;
    let app = spawn_app(Backend::Sqlite)
        .await
        .expect("the SQLite backend needs no setup");
    Some((app, Browser::launch(&chromium).await))
}

fn chromium() -> Option<PathBuf> {
    match cdp::find_chromium() {
        Some(path) => Some(path),
        None if std::env::var_os("CI").is_some() => {
            panic!("CI is set but Chromium is missing (not /usr/bin/chromium, not on PATH): apt-get install chromium")
        }
        None => {
            loud("SKIPPED: browser tests not run; install chromium (apt-get install chromium)");
            None
        }
    }
}

/// What the page shows, read from the DOM.
#[derive(Debug, Deserialize)]
struct View {
    signed_in: bool,
    signed_out: bool,
    name: String,
    email: String,
    role: String,
    register_error: String,
    login_error: String,
}

const READ_VIEW: &str = "(() => {
    const el = (id) => document.getElementById(id);
    const shown = (id) => el(id) !== null && el(id).checkVisibility();
    const text = (id) => el(id)?.textContent.trim() ?? '';
    return {
        signed_in: shown('signed-in'),
        signed_out: shown('signed-out'),
        name: text('me-name'),
        email: text('me-email'),
        role: text('me-role'),
        register_error: text('register-error'),
        login_error: text('login-error'),
    };
})()";

async fn wait_for_view(
    page: &mut Page<impl Socket>,
    what: &str,
    done: impl Fn(&View) -> bool,
) -> View {
    page.wait_for(what, READ_VIEW, done).await
}

/// Types `fields` (input id → value) and submits the form as the submit button would.
async fn submit(page: &mut Page<impl Socket>, form: &str, fields: &[(&str, &str)]) {
    let fields: serde_json::Map<_, _> = fields
        .iter()
        .map(|(id, value)| (id.to_string(), json!(value)))
        .collect();
    let script = format!(
        "(() => {{
            for (const [id, value] of Object.entries({fields})) {{
                const input = document.getElementById(id);
                input.value = value;
                input.dispatchEvent(new Event('input', {{ bubbles: true }}));
            }}
            document.getElementById({form}).requestSubmit();
        }})()",
        fields = serde_json::Value::Object(fields),
        form = json!(form),
    );
    page.eval(&script).await;
}

async fn click(page: &mut Page<impl Socket>, id: &str) {
    page.eval(&format!("document.getElementById({}).click()", json!(id)))
        .await;
}
