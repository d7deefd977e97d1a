//! The account life cycle in the page, in headless Chromium: a forgotten password reset through
//! the emailed link, the email confirmation a candidate is asked for, the data download and
//! deleting the account.

use serde::Deserialize;
use serde_json::json;

use crate::account::app_with_mail;
use crate::browser::{chromium, click, submit};
use crate::cdp::{Browser, Page, Socket};
use crate::helpers::{unique_email, Backend, STRONG_PASSWORD};

const NEW_PASSWORD: &str = "violet mountain ferry lantern";

#[derive(Debug, Deserialize)]
struct View {
    signed_in: bool,
    signed_out: bool,
    reset_open: bool,
    reset_code: String,
    login_error: String,
    verify_open: bool,
    export_link: String,
    delete_error: String,
}

const READ: &str = "(() => {
    const el = (id) => document.getElementById(id);
    const shown = (id) => el(id) !== null && el(id).checkVisibility();
    const text = (id) => el(id)?.textContent.trim() ?? '';
    return {
        signed_in: shown('signed-in'),
        signed_out: shown('signed-out'),
        reset_open: shown('reset'),
        reset_code: el('reset-code')?.value ?? '',
        login_error: text('login-error'),
        verify_open: shown('verify-form'),
        export_link: el('export-link')?.getAttribute('href') ?? '',
        delete_error: text('delete-error'),
    };
})()";

async fn view(page: &mut Page<impl Socket>, what: &str, done: impl Fn(&View) -> bool) -> View {
    page.wait_for(what, READ, done).await
}

/// The link in the newest email (quoted-printable soft breaks undone).
fn link_in(message: &str) -> String {
    let body = message
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    regex::Regex::new(r"https?://\S+/#(reset|verify)\?\S+")
        .expect("pattern")
        .find(&body)
        .unwrap_or_else(|| panic!("no link in {body}"))
        .as_str()
        .to_owned()
}

#[actix_web::test]
async fn a_forgotten_password_is_reset_and_the_account_deleted_in_the_page() {
    let Some(chromium) = chromium() else {
        return;
    };
    let Some((app, smtp)) = app_with_mail(Backend::Sqlite, |_| {}).await else {
        return;
    };
    let email = unique_email();
    let r = app.register(&email, STRONG_PASSWORD, "Ada Lovelace").await;
    assert_eq!(r.status, awc::http::StatusCode::CREATED);

    let browser = Browser::launch(&chromium).await;
    let mut page = browser.open_page().await;
    page.navigate(&app.url("/")).await;
    view(&mut page, "the log-in form", |v| v.signed_out).await;
    click(&mut page, "forgot-button").await;
    view(&mut page, "the reset form", |v| v.reset_open).await;
    submit(&mut page, "reset-request-form", &[("reset-email", &email)]).await;
    let messages = smtp.arrived(1).await;
    assert_eq!(messages.len(), 1, "the reset email arrived");
    let link = link_in(&messages[0]);

    // The emailed link opens the form with the code filled in (in a fresh load, as from a mail
    // client: a change of fragment alone is not a navigation).
    page.navigate("about:blank").await;
    page.navigate(&link).await;
    let shown = view(&mut page, "the reset form from the link", |v| {
        v.reset_open && !v.reset_code.is_empty()
    })
    .await;
    assert_eq!(shown.reset_code.len(), 6, "{shown:?}");
    page.screenshot("password-reset").await;
    submit(
        &mut page,
        "reset-confirm-form",
        &[("reset-password", NEW_PASSWORD)],
    )
    .await;
    let done = view(&mut page, "the log-in form after the reset", |v| {
        !v.reset_open && !v.login_error.is_empty()
    })
    .await;
    assert!(done.login_error.contains("password is set"), "{done:?}");
    assert!(!page
        .eval("location.hash")
        .await
        .as_str()
        .unwrap_or_default()
        .contains("code"));

    submit(
        &mut page,
        "login-form",
        &[("login-email", &email), ("login-password", NEW_PASSWORD)],
    )
    .await;
    let signed_in = view(&mut page, "the dashboard", |v| v.signed_in).await;
    assert!(!signed_in.verify_open, "verification is off by default");
    assert_eq!(signed_in.export_link, "/api/v1/me/export");

    // Deleting needs the box ticked and the password.
    submit(
        &mut page,
        "delete-form",
        &[("delete-password", NEW_PASSWORD)],
    )
    .await;
    let refused = view(&mut page, "the unticked box's error", |v| {
        !v.delete_error.is_empty()
    })
    .await;
    assert!(refused.delete_error.contains("Tick"), "{refused:?}");
    page.eval("document.getElementById('delete-confirm').checked = true")
        .await;
    submit(
        &mut page,
        "delete-form",
        &[("delete-password", NEW_PASSWORD)],
    )
    .await;
    let gone = view(&mut page, "the signed-out page after deleting", |v| {
        v.signed_out
    })
    .await;
    assert!(gone.login_error.contains("deleted"), "{gone:?}");
    assert_eq!(
        app.login(&email, NEW_PASSWORD).await.status,
        awc::http::StatusCode::UNAUTHORIZED
    );
    assert_eq!(page.csp_violations().await, Vec::<String>::new());
}

#[actix_web::test]
async fn a_candidate_confirms_their_email_in_the_page() {
    let Some(chromium) = chromium() else {
        return;
    };
    let Some((app, smtp)) = app_with_mail(Backend::Sqlite, |s| {
        s.email_verification = viva::config::EmailVerification::Candidates;
    })
    .await
    else {
        return;
    };
    let browser = Browser::launch(&chromium).await;
    let mut page = browser.open_page().await;
    page.navigate(&app.url("/")).await;
    view(&mut page, "the register form", |v| v.signed_out).await;
    let email = unique_email();
    submit(
        &mut page,
        "register-form",
        &[
            ("register-email", &email),
            ("register-password", STRONG_PASSWORD),
            ("register-name", "Grace Hopper"),
        ],
    )
    .await;
    view(&mut page, "the request to confirm the email", |v| {
        v.signed_in && v.verify_open
    })
    .await;
    page.screenshot("confirm-email").await;
    let messages = smtp.arrived(1).await;
    let link = link_in(&messages[0]);
    let code = regex::Regex::new(r"code=(\d{6})")
        .expect("pattern")
        .captures(&link)
        .expect("a code in the link")[1]
        .to_owned();
    submit(&mut page, "verify-form", &[("verify-code", &code)]).await;
    view(&mut page, "the dashboard without the request", |v| {
        v.signed_in && !v.verify_open
    })
    .await;
    let me = page
        .eval("fetch('/api/v1/auth/me').then((r) => r.json()).then((me) => me.email_verified)")
        .await;
    assert_eq!(me, json!(true));
}

#[derive(Debug, Deserialize)]
struct UsersView {
    table: bool,
    problem: String,
    status: String,
    rows: Vec<UserRowView>,
}

#[derive(Debug, Deserialize)]
struct UserRowView {
    email: String,
    role: String,
    action: String,
}

const READ_USERS: &str = "(() => {
    const el = (id) => document.getElementById(id);
    return {
        table: el('users')?.checkVisibility() ?? false,
        problem: el('users-problem')?.checkVisibility() ? el('users-problem-title').textContent : '',
        status: el('users-status')?.textContent ?? '',
        rows: [...document.querySelectorAll('#users-rows tr')].map((row) => ({
            email: row.cells[1].textContent,
            role: row.querySelector('select').value,
            action: row.querySelector('button').textContent,
        })),
    };
})()";

#[actix_web::test]
async fn an_admin_finds_disables_and_promotes_an_account_in_the_page() {
    let Some(chromium) = chromium() else {
        return;
    };
    let app = crate::helpers::spawn_app(Backend::Sqlite)
        .await
        .expect("the SQLite backend needs no setup");
    let (candidate, _) = app.signed_in_user().await;
    let admin = unique_email();
    app.register(&admin, STRONG_PASSWORD, "Admin Person").await;
    let me = app.login(&admin, STRONG_PASSWORD).await;
    let mut conn = app.pool().get().await.expect("connection");
    let admin_id = me.body["id"].as_str().expect("id");
    viva::db::users::set_role(&mut conn, &admin_id.into(), viva::domain::Role::Admin)
        .await
        .expect("promote");

    let browser = Browser::launch(&chromium).await;
    let mut page = browser.open_page().await;
    // Signed out: the page says so instead of a table.
    page.navigate(&app.url("/admin.html")).await;
    let users: UsersView = page
        .wait_for("the sign-in notice", READ_USERS, |v: &UsersView| {
            !v.problem.is_empty()
        })
        .await;
    assert!(!users.table, "{users:?}");

    page.navigate(&app.url("/")).await;
    view(&mut page, "the log-in form", |v| v.signed_out).await;
    submit(
        &mut page,
        "login-form",
        &[("login-email", &admin), ("login-password", STRONG_PASSWORD)],
    )
    .await;
    view(&mut page, "the dashboard", |v| v.signed_in).await;
    page.navigate(&app.url("/admin.html")).await;
    page.wait_for("the user list", READ_USERS, |v: &UsersView| {
        v.table && v.rows.len() >= 2
    })
    .await;
    submit(&mut page, "users-search", &[("users-q", &candidate)]).await;
    let found: UsersView = page
        .wait_for("the candidate alone", READ_USERS, |v: &UsersView| {
            v.rows.len() == 1 && v.rows[0].email == candidate
        })
        .await;
    assert_eq!(found.rows[0].action, "Disable", "{found:?}");
    page.screenshot("admin-users").await;

    page.eval("document.querySelector('#users-rows tr button').click()")
        .await;
    page.wait_for("the account disabled", READ_USERS, |v: &UsersView| {
        v.rows.first().is_some_and(|r| r.action == "Enable")
    })
    .await;
    let login = app.login(&candidate, STRONG_PASSWORD).await;
    assert_eq!(login.error_code(), "account_disabled");

    page.eval(
        "(() => { document.getElementById('users-status').textContent = ''; \
         const s = document.querySelector('#users-rows tr select'); \
         s.value = 'recruiter'; s.dispatchEvent(new Event('change')); })()",
    )
    .await;
    let promoted: UsersView = page
        .wait_for("the new role saved", READ_USERS, |v: &UsersView| {
            v.status.contains("saved") && v.rows.first().is_some_and(|r| r.role == "recruiter")
        })
        .await;
    assert_eq!(
        promoted.rows[0].action, "Enable",
        "still disabled: {promoted:?}"
    );
    let stored = viva::db::users::find_by_email(&mut conn, &candidate)
        .await
        .expect("query")
        .expect("the account");
    assert_eq!(stored.role, viva::domain::Role::Recruiter);
    assert_eq!(page.csp_violations().await, Vec::<String>::new());
}
