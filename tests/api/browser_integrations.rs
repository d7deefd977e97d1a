//! The integration pages in headless Chromium: a recruiter makes an API key on the API keys
//! page (shown once, working at once), revokes it there, reads the API reference page (which
//! renders every mounted route from the served OpenAPI document), and adds a webhook endpoint
//! on the jobs page (its signing secret shown once).

use awc::http::StatusCode;

use crate::browser::{chromium, log_in, submit};
use crate::cdp::Browser;
use crate::helpers::{spawn_app_with, unique_email, Backend, STRONG_PASSWORD};

#[actix_web::test]
async fn a_recruiter_manages_keys_reads_the_api_page_and_adds_a_webhook() {
    let Some(chromium) = chromium() else {
        return;
    };
    let Some(app) = spawn_app_with(Backend::Sqlite, |s| s.webhook_allow_private = true).await
    else {
        return;
    };
    let email = unique_email();
    let r = app
        .register(&email, STRONG_PASSWORD, "Rita Recruiter")
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_str().expect("id").to_owned();
    let mut conn = app.pool().get().await.expect("connection");
    viva::db::users::set_role(&mut conn, &id.into(), viva::domain::Role::Recruiter)
        .await
        .expect("promote");
    drop(conn);

    let browser = Browser::launch(&chromium).await;
    let mut page = browser.open_page().await;
    log_in(&mut page, &app, &email).await;
    page.navigate(&app.url("/integrations.html")).await;
    let scopes: u64 = page
        .wait_for(
            "the scope boxes",
            "document.querySelectorAll('#new-key-scopes input').length",
            |n: &u64| *n > 0,
        )
        .await;
    assert_eq!(
        scopes, 9,
        "a recruiter is offered the nine non-admin scopes"
    );
    page.eval(
        "document.querySelector('#new-key-scopes input[value=\"jobs:read\"]').checked = true",
    )
    .await;
    submit(&mut page, "new-key-form", &[("new-key-name", "ATS sync")]).await;
    let key: String = page
        .wait_for(
            "the new key, shown once",
            "document.getElementById('key-shown').hidden ? '' : document.getElementById('key-shown-value').value",
            |key: &String| key.starts_with("viva_"),
        )
        .await;
    let listed: String = page
        .wait_for(
            "the key in the list",
            "document.getElementById('keys-rows').textContent",
            |text: &String| text.contains("ATS sync"),
        )
        .await;
    assert!(
        listed.contains(&key[..13]),
        "listed by its prefix: {listed}"
    );
    assert!(
        !listed.contains(&key[13..]),
        "never the whole key: {listed}"
    );

    let jobs = app
        .with_key(awc::http::Method::GET, "/api/v1/jobs", &key, None)
        .await;
    assert_eq!(jobs.status, StatusCode::OK, "the key works at once");

    // Revoked in the page (the confirm box answered yes): the key stops working.
    page.eval("window.confirm = () => true").await;
    page.eval("document.querySelector('#keys-rows .button--danger').click()")
        .await;
    let _: String = page
        .wait_for(
            "the key shown revoked",
            "document.getElementById('keys-rows').textContent",
            |text: &String| text.contains("revoked"),
        )
        .await;
    let jobs = app
        .with_key(awc::http::Method::GET, "/api/v1/jobs", &key, None)
        .await;
    assert_eq!(jobs.status, StatusCode::UNAUTHORIZED);

    // The API page renders one section per mounted route, with no CSP violation.
    page.navigate(&app.url("/api.html")).await;
    let rendered: u64 = page
        .wait_for(
            "the API reference",
            "document.querySelectorAll('.api-docs__op').length",
            |n: &u64| *n > 0,
        )
        .await;
    assert_eq!(rendered as usize, viva::http::api_routes().len());
    let scoped: String = page
        .eval("document.getElementById('get_jobs').textContent")
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(scoped.contains("jobs:read"), "{scoped}");
    assert_eq!(page.csp_violations().await, Vec::<String>::new());

    // A webhook endpoint from the jobs page: the secret is shown once and the endpoint listed.
    page.navigate(&app.url("/jobs.html")).await;
    let _: bool = page
        .wait_for(
            "the webhooks section",
            "document.getElementById('webhook-form')?.checkVisibility() ?? false",
            |shown: &bool| *shown,
        )
        .await;
    submit(
        &mut page,
        "webhook-form",
        &[
            ("webhook-url", "http://127.0.0.1:9/hooks/viva"),
            ("webhook-description", "ATS"),
        ],
    )
    .await;
    let secret: String = page
        .wait_for(
            "the signing secret, shown once",
            "document.getElementById('webhook-secret').hidden ? '' : document.getElementById('webhook-secret-value').value",
            |secret: &String| secret.starts_with("whsec_"),
        )
        .await;
    assert!(secret.len() > 20, "{secret}");
    let listed: String = page
        .wait_for(
            "the endpoint in the list",
            "document.getElementById('webhooks-list').textContent",
            |text: &String| text.contains("127.0.0.1:9/hooks/viva"),
        )
        .await;
    assert!(
        !listed.contains(&secret),
        "the secret is not listed: {listed}"
    );
    assert_eq!(page.csp_violations().await, Vec::<String>::new());
}
