//! Signing in at an OpenID Connect provider, against a real one (the npm package
//! `oidc-provider`, tests/support/oidc.rs) on both databases: the whole round trip over HTTP,
//! as a browser makes it (viva's start, the provider's sign-in form, viva's callback), with the
//! cookies of each side kept apart. The ID token failures a real provider cannot be made to
//! produce (expired, for another client, signed by another key) are unit tests of the
//! verification: src/auth/oidc/tests.rs.

use std::collections::BTreeMap;

use awc::http::StatusCode;
use diesel_async::RunQueryDsl;
use serde_json::{json, Value};
use viva::config::{OidcProviders, Settings};

use crate::helpers::STRONG_PASSWORD;
use crate::helpers::{send_request, spawn_app_with, unique_email, Backend, Reply, TestApp};
use crate::on_both_backends;
use crate::support::{
    free_port, start_provider_with, TestProvider, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET,
};

/// The provider's key in viva's settings.
pub(crate) const KEY: &str = "test";

pub(crate) struct Setup {
    pub app: TestApp,
    pub provider: TestProvider,
}

/// The app with the test provider configured, and the provider; `None` (after a loud line) when
/// Postgres or Node is missing.
pub(crate) async fn setup(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> Option<Setup> {
    setup_with(backend, tweak, false).await
}

/// [`setup`]; with `claims_at_userinfo`, the provider keeps the person's claims out of the ID
/// token.
async fn setup_with(
    backend: Backend,
    tweak: impl FnOnce(&mut Settings),
    claims_at_userinfo: bool,
) -> Option<Setup> {
    let port = free_port();
    let providers = OidcProviders::parse(&format!(
        "[[provider]]\nkey = \"{KEY}\"\nname = \"Test SSO\"\nissuer = \"http://127.0.0.1:{port}\"\n\
         client_id = \"{OIDC_CLIENT_ID}\"\nclient_secret = \"{OIDC_CLIENT_SECRET}\"\n"
    ))
    .expect("the providers parse");
    let app = spawn_app_with(backend, |settings| {
        settings.oidc_providers = Some(providers);
        tweak(settings);
    })
    .await?;
    let callback = app.url(&format!("/auth/oidc/{KEY}/callback"));
    let provider = start_provider_with(port, &callback, claims_at_userinfo)?;
    Some(Setup { app, provider })
}

/// Someone at the provider.
struct Person {
    subject: String,
    email: String,
    verified: bool,
}

fn person(verified: bool) -> Person {
    Person {
        subject: format!("person-{}", uuid::Uuid::new_v4().simple()),
        email: unique_email(),
        verified,
    }
}

/// One browser: its viva session cookie and its cookies at the provider.
#[derive(Default)]
struct Browser {
    viva: Option<String>,
    provider: BTreeMap<String, String>,
}

fn client() -> awc::Client {
    awc::Client::builder()
        .disable_redirects()
        .timeout(std::time::Duration::from_secs(30))
        .finish()
}

impl Browser {
    /// A browser already signed in to viva with `cookie`.
    fn signed_in(cookie: &str) -> Self {
        Self {
            viva: Some(cookie.to_owned()),
            ..Self::default()
        }
    }

    async fn viva(&mut self, app: &TestApp, path: &str) -> Reply {
        let mut req = client().get(app.url(path));
        if let Some(cookie) = &self.viva {
            req = req.insert_header(("cookie", cookie.as_str()));
        }
        let reply = send_request(req, None).await;
        if reply.set_cookie_header().is_some() {
            self.viva = reply.session_cookie();
        }
        reply
    }

    async fn viva_json(
        &mut self,
        app: &TestApp,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut req = client()
            .request(method.parse().expect("a method"), app.url(path))
            .insert_header(("content-type", "application/json"));
        if let Some(cookie) = &self.viva {
            req = req.insert_header(("cookie", cookie.as_str()));
        }
        let reply = send_request(req, body.map(|b| b.to_string().into_bytes())).await;
        if reply.set_cookie_header().is_some() {
            self.viva = reply.session_cookie();
        }
        reply
    }

    /// A request to the provider with its cookies; `form`: a POSTed form.
    async fn at_provider(&mut self, url: &str, form: Option<String>) -> Reply {
        let mut req = match &form {
            Some(_) => client()
                .post(url)
                .insert_header(("content-type", "application/x-www-form-urlencoded")),
            None => client().get(url),
        };
        if !self.provider.is_empty() {
            let cookies: Vec<String> = self
                .provider
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            req = req.insert_header(("cookie", cookies.join("; ")));
        }
        let reply = send_request(req, form.map(String::into_bytes)).await;
        for header in reply.headers.get_all("set-cookie") {
            let pair = header
                .to_str()
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() {
                    self.provider.remove(name);
                } else {
                    self.provider.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        reply
    }

    async fn me(&mut self, app: &TestApp) -> Reply {
        self.viva(app, "/api/v1/auth/me").await
    }
}

fn location(reply: &Reply) -> String {
    reply
        .header("location")
        .unwrap_or_else(|| panic!("a redirect, got {} {:?}", reply.status, reply.raw))
        .to_owned()
}

/// `location` made absolute against `base` (the provider answers with paths).
fn absolute(base: &str, location: &str) -> String {
    if location.starts_with("http") {
        location.to_owned()
    } else {
        format!("{base}{location}")
    }
}

fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// Starts a sign-in at viva and signs `person` in at the provider, as a browser would; returns
/// the URL of viva's callback the provider sends the browser to (not followed yet).
async fn through_provider(browser: &mut Browser, setup: &Setup, person: &Person) -> String {
    let issuer = &setup.provider.issuer;
    let started = browser
        .viva(&setup.app, &format!("/auth/oidc/{KEY}/start"))
        .await;
    assert_eq!(started.status, StatusCode::FOUND, "{:?}", started.raw);
    let authorize = location(&started);
    assert!(
        authorize.starts_with(&format!("{issuer}/auth?")),
        "{authorize}"
    );
    assert_eq!(
        query_param(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    for param in ["state", "nonce", "code_challenge"] {
        assert!(
            query_param(&authorize, param).is_some_and(|v| v.len() >= 16),
            "{param} in {authorize}"
        );
    }

    let asked = browser.at_provider(&authorize, None).await;
    let interaction = absolute(issuer, &location(&asked));
    let page = browser.at_provider(&interaction, None).await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&page.raw)
    );
    assert!(String::from_utf8_lossy(&page.raw).contains("provider-login"));
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("sub", &person.subject)
        .append_pair("email", &person.email)
        .append_pair("name", "Ada Provider");
    if person.verified {
        form.append_pair("email_verified", "true");
    }
    let signed_in = browser
        .at_provider(&format!("{interaction}/login"), Some(form.finish()))
        .await;
    let resume = absolute(issuer, &location(&signed_in));
    let back = browser.at_provider(&resume, None).await;
    let callback = location(&back);
    assert!(
        callback.starts_with(&setup.app.url(&format!("/auth/oidc/{KEY}/callback?"))),
        "{callback}"
    );
    callback
}

/// Follows the provider's redirect to viva's callback; returns where viva sends the browser.
async fn finish(browser: &mut Browser, setup: &Setup, callback: &str) -> String {
    let path = callback
        .strip_prefix(&setup.app.address)
        .expect("the callback is on the app");
    let reply = browser.viva(&setup.app, path).await;
    assert_eq!(reply.status, StatusCode::FOUND, "{:?}", reply.raw);
    location(&reply)
}

async fn sign_in(browser: &mut Browser, setup: &Setup, person: &Person) -> String {
    let callback = through_provider(browser, setup, person).await;
    finish(browser, setup, &callback).await
}

async fn identities(browser: &mut Browser, app: &TestApp) -> Vec<Value> {
    let reply = browser.viva(app, "/api/v1/me/identities").await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body.as_array().expect("a list").clone()
}

async fn first_sign_in_creates_a_signed_in_candidate(backend: Backend) {
    let Some(setup) = setup(backend, |_| {}).await else {
        return;
    };
    let app = &setup.app;
    let offered = app.get("/api/v1/auth/providers", None).await;
    assert_eq!(
        offered.body,
        json!({"password_sign_in": true, "providers": [{"key": KEY, "name": "Test SSO"}]})
    );

    let ada = person(true);
    let mut browser = Browser::default();
    assert_eq!(sign_in(&mut browser, &setup, &ada).await, "/");
    let me = browser.me(app).await;
    assert_eq!(me.status, StatusCode::OK, "{:?}", me.body);
    assert_eq!(me.body["email"], ada.email.as_str());
    assert_eq!(me.body["display_name"], "Ada Provider");
    assert_eq!(me.body["role"], "candidate");
    assert_eq!(me.body["email_verified"], true);
    assert_eq!(me.body["has_password"], false);
    let linked = identities(&mut browser, app).await;
    assert_eq!(linked.len(), 1, "{linked:?}");
    assert_eq!(linked[0]["provider"], KEY);
    assert_eq!(linked[0]["provider_name"], "Test SSO");
    assert_eq!(linked[0]["email"], ada.email.as_str());

    // Again, in another browser: the same account, no new one.
    let mut other = Browser::default();
    assert_eq!(sign_in(&mut other, &setup, &ada).await, "/");
    assert_eq!(other.me(app).await.body["id"], me.body["id"]);

    // An email the provider does not verify still makes a new account, unverified.
    let grace = person(false);
    let mut third = Browser::default();
    assert_eq!(sign_in(&mut third, &setup, &grace).await, "/");
    let me = third.me(app).await;
    assert_eq!(me.body["email"], grace.email.as_str());
    assert_eq!(me.body["email_verified"], false);
}

async fn claims_kept_out_of_the_id_token_are_read_at_userinfo(backend: Backend) {
    let Some(setup) = setup_with(backend, |_| {}, true).await else {
        return;
    };
    let ada = person(true);
    let mut browser = Browser::default();
    assert_eq!(sign_in(&mut browser, &setup, &ada).await, "/");
    let me = browser.me(&setup.app).await;
    assert_eq!(me.body["email"], ada.email.as_str(), "{:?}", me.body);
    assert_eq!(me.body["email_verified"], true);
    assert_eq!(me.body["display_name"], "Ada Provider");
}

async fn new_signing_keys_are_fetched_when_a_token_needs_them(backend: Backend) {
    let Some(Setup { app, provider }) = setup(backend, |_| {}).await else {
        return;
    };
    let port: u16 = provider
        .issuer
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("the issuer's port");
    let first = Setup { app, provider };
    let mut browser = Browser::default();
    assert_eq!(sign_in(&mut browser, &first, &person(true)).await, "/");

    // The provider restarts with a new signing key; viva still holds the old key set.
    let Setup { app, provider } = first;
    drop(provider);
    let callback = app.url(&format!("/auth/oidc/{KEY}/callback"));
    let Some(provider) = start_provider_with(port, &callback, false) else {
        return;
    };
    let rotated = Setup { app, provider };
    let mut browser = Browser::default();
    assert_eq!(sign_in(&mut browser, &rotated, &person(true)).await, "/");
    assert_eq!(browser.me(&rotated.app).await.status, StatusCode::OK);
}

async fn a_callback_with_another_state_is_refused(backend: Backend) {
    let Some(setup) = setup(backend, |_| {}).await else {
        return;
    };
    let mut browser = Browser::default();
    let callback = through_provider(&mut browser, &setup, &person(true)).await;
    let state = query_param(&callback, "state").expect("a state");
    let forged = callback.replace(&format!("state={state}"), "state=not-the-state-viva-sent");
    assert_eq!(
        finish(&mut browser, &setup, &forged).await,
        "/?sign_in_error=oidc_state_mismatch"
    );
    assert_eq!(
        browser.me(&setup.app).await.status,
        StatusCode::UNAUTHORIZED
    );
    // The failed attempt used up the sign-in: the real callback is refused too.
    assert_eq!(
        finish(&mut browser, &setup, &callback).await,
        "/?sign_in_error=oidc_state_mismatch"
    );

    // A callback in a browser that started nothing.
    let mut stranger = Browser::default();
    let callback = through_provider(&mut Browser::default(), &setup, &person(true)).await;
    assert_eq!(
        finish(&mut stranger, &setup, &callback).await,
        "/?sign_in_error=oidc_state_mismatch"
    );
    assert_eq!(
        stranger.me(&setup.app).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn an_answer_naming_another_issuer_is_refused(backend: Backend) {
    let Some(setup) = setup(backend, |_| {}).await else {
        return;
    };
    let mut browser = Browser::default();
    let callback = through_provider(&mut browser, &setup, &person(true)).await;
    let iss = query_param(&callback, "iss").expect("the provider names itself (RFC 9207)");
    assert_eq!(iss, setup.provider.issuer);
    let mixed_up = url::Url::parse_with_params(
        callback.split('?').next().expect("a path"),
        url::Url::parse(&callback)
            .expect("a URL")
            .query_pairs()
            .map(|(name, value)| match name.as_ref() {
                "iss" => (name.into_owned(), "https://evil.example.com".to_owned()),
                _ => (name.into_owned(), value.into_owned()),
            }),
    )
    .expect("a URL");
    assert_eq!(
        finish(&mut browser, &setup, mixed_up.as_str()).await,
        "/?sign_in_error=oidc_token_invalid"
    );
    assert_eq!(
        browser.me(&setup.app).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn a_replayed_callback_or_code_is_refused(backend: Backend) {
    let Some(setup) = setup(backend, |_| {}).await else {
        return;
    };
    let app = &setup.app;
    let mut browser = Browser::default();
    let callback = through_provider(&mut browser, &setup, &person(true)).await;
    assert_eq!(finish(&mut browser, &setup, &callback).await, "/");
    assert_eq!(browser.me(app).await.status, StatusCode::OK);

    // The same callback again, in another browser that started a sign-in of its own: its state
    // differs.
    let mut attacker = Browser::default();
    let started = attacker.viva(app, &format!("/auth/oidc/{KEY}/start")).await;
    let state = query_param(&location(&started), "state").expect("a state");
    assert_eq!(
        finish(&mut attacker, &setup, &callback).await,
        "/?sign_in_error=oidc_state_mismatch"
    );
    // The used code under the attacker's own state: the provider refuses the code.
    let started = attacker.viva(app, &format!("/auth/oidc/{KEY}/start")).await;
    let state_again = query_param(&location(&started), "state").expect("a state");
    assert_ne!(state, state_again, "every sign-in has its own state");
    let code = query_param(&callback, "code").expect("a code");
    let replayed = app.url(&format!(
        "/auth/oidc/{KEY}/callback?code={code}&state={state_again}"
    ));
    assert_eq!(
        finish(&mut attacker, &setup, &replayed).await,
        "/?sign_in_error=oidc_refused"
    );
    assert_eq!(attacker.me(app).await.status, StatusCode::UNAUTHORIZED);
}

/// Registers an account with a password; returns its id.
async fn registered(app: &TestApp, email: &str) -> String {
    let reply = app.register(email, STRONG_PASSWORD, "Has A Password").await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body["id"].as_str().expect("an id").to_owned()
}

async fn an_unverified_email_never_links_to_an_existing_account(backend: Backend) {
    let Some(setup) = setup(backend, |_| {}).await else {
        return;
    };
    let app = &setup.app;
    let claimer = person(false);
    registered(app, &claimer.email).await;
    let mut browser = Browser::default();
    assert_eq!(
        sign_in(&mut browser, &setup, &claimer).await,
        "/?sign_in_error=oidc_email_unverified"
    );
    assert_eq!(browser.me(app).await.status, StatusCode::UNAUTHORIZED);
    let no_link = browser.viva(app, "/api/v1/auth/oidc/link").await;
    assert_eq!(no_link.status, StatusCode::NOT_FOUND);
    let login = app.login(&claimer.email, STRONG_PASSWORD).await;
    let mut owner = Browser::signed_in(&login.session_cookie().expect("a session"));
    assert_eq!(identities(&mut owner, app).await, Vec::<Value>::new());
}

async fn an_existing_account_is_linked_only_after_its_password(backend: Backend) {
    let Some(setup) = setup(backend, |_| {}).await else {
        return;
    };
    let app = &setup.app;
    let ada = person(true);
    let id = registered(app, &ada.email).await;
    let mut browser = Browser::default();
    assert_eq!(
        sign_in(&mut browser, &setup, &ada).await,
        "/?sign_in=confirm_link"
    );
    assert_eq!(
        browser.me(app).await.status,
        StatusCode::UNAUTHORIZED,
        "not signed in yet"
    );
    let waiting = browser.viva(app, "/api/v1/auth/oidc/link").await;
    assert_eq!(
        waiting.body,
        json!({"provider": KEY, "provider_name": "Test SSO", "email": ada.email})
    );

    let wrong = browser
        .viva_json(
            app,
            "POST",
            "/api/v1/auth/oidc/link",
            Some(json!({"password": "not the password at all"})),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.error_code(), "invalid_credentials");
    assert_eq!(browser.me(app).await.status, StatusCode::UNAUTHORIZED);

    let linked = browser
        .viva_json(
            app,
            "POST",
            "/api/v1/auth/oidc/link",
            Some(json!({"password": STRONG_PASSWORD})),
        )
        .await;
    assert_eq!(linked.status, StatusCode::OK, "{:?}", linked.body);
    assert_eq!(linked.body["id"], id.as_str());
    assert_eq!(browser.me(app).await.body["id"], id.as_str());
    assert_eq!(identities(&mut browser, app).await.len(), 1);

    // From now on the provider signs in to that account directly.
    let mut other = Browser::default();
    assert_eq!(sign_in(&mut other, &setup, &ada).await, "/");
    assert_eq!(other.me(app).await.body["id"], id.as_str());
}

async fn a_signed_in_user_links_and_unlinks_providers(backend: Backend) {
    let Some(setup) = setup(backend, |_| {}).await else {
        return;
    };
    let app = &setup.app;
    let (_, cookie) = app.signed_in_user().await;
    let mut browser = Browser::signed_in(&cookie);
    let me = browser.me(app).await.body["id"].clone();
    // Any email at the provider: being signed in proves the account is theirs.
    let elsewhere = person(false);
    assert_eq!(
        sign_in(&mut browser, &setup, &elsewhere).await,
        format!("/?linked={KEY}")
    );
    assert_eq!(
        browser.me(app).await.body["id"],
        me,
        "still the same account"
    );
    let linked = identities(&mut browser, app).await;
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0]["email"], elsewhere.email.as_str());

    // Someone else, signed in, cannot take that identity.
    let (_, other_cookie) = app.signed_in_user().await;
    let mut other = Browser::signed_in(&other_cookie);
    assert_eq!(
        sign_in(&mut other, &setup, &elsewhere).await,
        "/?sign_in_error=identity_taken"
    );
    assert_eq!(identities(&mut other, app).await.len(), 0);
    let id = linked[0]["id"].as_str().expect("an id");
    let theirs = other
        .viva_json(app, "DELETE", &format!("/api/v1/me/identities/{id}"), None)
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);

    // The account has a password, so its only provider can go.
    let removed = browser
        .viva_json(app, "DELETE", &format!("/api/v1/me/identities/{id}"), None)
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{:?}", removed.body);
    assert_eq!(identities(&mut browser, app).await, Vec::<Value>::new());
}

async fn the_last_way_to_sign_in_cannot_be_removed(backend: Backend) {
    let Some(setup) = setup(backend, |_| {}).await else {
        return;
    };
    let app = &setup.app;
    let mut browser = Browser::default();
    assert_eq!(sign_in(&mut browser, &setup, &person(true)).await, "/");
    let only = identities(&mut browser, app).await;
    let first = only[0]["id"].as_str().expect("an id").to_owned();
    let refused = browser
        .viva_json(
            app,
            "DELETE",
            &format!("/api/v1/me/identities/{first}"),
            None,
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(refused.error_code(), "last_sign_in_method");

    // With a second provider identity linked, either one can go, but not both.
    let mut provider_side = Browser::signed_in(browser.viva.as_deref().expect("signed in"));
    assert_eq!(
        sign_in(&mut provider_side, &setup, &person(true)).await,
        format!("/?linked={KEY}")
    );
    assert_eq!(identities(&mut browser, app).await.len(), 2);
    let removed = browser
        .viva_json(
            app,
            "DELETE",
            &format!("/api/v1/me/identities/{first}"),
            None,
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let left = identities(&mut browser, app).await;
    let second = left[0]["id"].as_str().expect("an id");
    let refused = browser
        .viva_json(
            app,
            "DELETE",
            &format!("/api/v1/me/identities/{second}"),
            None,
        )
        .await;
    assert_eq!(refused.error_code(), "last_sign_in_method");
    assert_eq!(identities(&mut browser, app).await.len(), 1);
}

async fn a_disabled_account_cannot_sign_in_at_a_provider(backend: Backend) {
    let Some(setup) = setup(backend, |_| {}).await else {
        return;
    };
    let app = &setup.app;
    let ada = person(true);
    let mut browser = Browser::default();
    assert_eq!(sign_in(&mut browser, &setup, &ada).await, "/");
    let id = browser.me(app).await.body["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let mut conn = app.pool().get().await.expect("a connection");
    let conn = &mut conn;
    let disabled: usize = viva::db_run!(conn, {
        diesel::sql_query("UPDATE users SET disabled_at = CURRENT_TIMESTAMP WHERE id = $1")
            .bind::<diesel::sql_types::Text, _>(&id)
            .execute(conn)
            .await
            .expect("disable the account")
    });
    assert_eq!(disabled, 1);

    let mut again = Browser::default();
    assert_eq!(
        sign_in(&mut again, &setup, &ada).await,
        "/?sign_in_error=account_disabled"
    );
    assert_eq!(again.me(app).await.status, StatusCode::UNAUTHORIZED);
}

async fn password_sign_in_can_be_turned_off(backend: Backend) {
    let Some(setup) = setup(backend, |s| s.password_sign_in = false).await else {
        return;
    };
    let app = &setup.app;
    let offered = app.get("/api/v1/auth/providers", None).await;
    assert_eq!(offered.body["password_sign_in"], false);
    let email = unique_email();
    let register = app.register(&email, STRONG_PASSWORD, "Nope").await;
    assert_eq!(register.status, StatusCode::FORBIDDEN);
    assert_eq!(register.error_code(), "password_sign_in_disabled");
    let login = app.login(&email, STRONG_PASSWORD).await;
    assert_eq!(login.error_code(), "password_sign_in_disabled");
    let link = app
        .post_json(
            "/api/v1/auth/oidc/link",
            &json!({"password": STRONG_PASSWORD}),
            None,
        )
        .await;
    assert_eq!(link.error_code(), "password_sign_in_disabled");

    let mut browser = Browser::default();
    assert_eq!(sign_in(&mut browser, &setup, &person(true)).await, "/");
    assert_eq!(browser.me(app).await.status, StatusCode::OK);
}

async fn an_unknown_provider_goes_back_to_the_page(backend: Backend) {
    let Some(setup) = setup(backend, |_| {}).await else {
        return;
    };
    let mut browser = Browser::default();
    let reply = browser.viva(&setup.app, "/auth/oidc/nope/start").await;
    assert_eq!(reply.status, StatusCode::FOUND);
    assert_eq!(location(&reply), "/?sign_in_error=not_found");
}

on_both_backends!(
    first_sign_in_creates_a_signed_in_candidate,
    new_signing_keys_are_fetched_when_a_token_needs_them,
    claims_kept_out_of_the_id_token_are_read_at_userinfo,
    a_callback_with_another_state_is_refused,
    a_replayed_callback_or_code_is_refused,
    an_answer_naming_another_issuer_is_refused,
    an_unverified_email_never_links_to_an_existing_account,
    an_existing_account_is_linked_only_after_its_password,
    a_signed_in_user_links_and_unlinks_providers,
    the_last_way_to_sign_in_cannot_be_removed,
    a_disabled_account_cannot_sign_in_at_a_provider,
    password_sign_in_can_be_turned_off,
    an_unknown_provider_goes_back_to_the_page,
    an_account_made_at_a_provider_exports_and_deletes_itself,
);

/// A password-less account: its export lists the provider, and deleting it needs no password
/// right after signing in (but refuses an old sign-in); a password reset gives it a password.
async fn an_account_made_at_a_provider_exports_and_deletes_itself(backend: Backend) {
    let Some(setup) = setup(backend, |_| {}).await else {
        return;
    };
    let app = &setup.app;
    let ada = person(true);
    let mut browser = Browser::default();
    assert_eq!(sign_in(&mut browser, &setup, &ada).await, "/");
    let cookie = browser.viva.clone().expect("signed in");

    let export = app.get("/api/v1/me/export", Some(&cookie)).await;
    assert_eq!(export.status, StatusCode::OK);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(export.raw.clone())).expect("a zip");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("sign-ins.json").expect("entry"), &mut text)
        .expect("read");
    let sign_ins: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(sign_ins[0]["provider"], KEY, "{sign_ins}");
    assert_eq!(sign_ins[0]["email"], ada.email.as_str());

    // A sign-in older than ten minutes is not proof enough.
    let me = browser.me(app).await;
    let id = me.body["id"].as_str().expect("id").to_owned();
    let r = browser
        .viva_json(app, "DELETE", "/api/v1/me", Some(json!({})))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let mut conn = app.pool().get().await.expect("connection");
    assert!(viva::db::users::find_by_id(&mut conn, &id.as_str().into())
        .await
        .expect("query")
        .is_none());
    let linked = viva::db::identities::list_for_user(&mut conn, &id.as_str().into())
        .await
        .expect("query");
    assert!(
        linked.is_empty(),
        "the linked sign-in went with the account"
    );

    // Signing in again makes a new account.
    let mut again = Browser::default();
    assert_eq!(sign_in(&mut again, &setup, &ada).await, "/");
    let me = again.me(app).await;
    assert_ne!(me.body["id"], json!(id));
    // Its sign-in, made 11 minutes old, is not proof enough to delete the account.
    #[derive(diesel::QueryableByName)]
    struct StoredSession {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        state: String,
    }
    let conn = &mut conn;
    let stored: Vec<StoredSession> = viva::db_run!(conn, {
        diesel::sql_query("SELECT id, state FROM auth_sessions")
            .load(conn)
            .await
            .expect("sessions")
    });
    let eleven_minutes_ago = (chrono::Utc::now().timestamp() - 11 * 60).to_string();
    let later = viva::db::now() + chrono::Duration::hours(1);
    for session in stored {
        let mut state: BTreeMap<String, String> =
            serde_json::from_str(&session.state).expect("session state");
        state.insert("logged_in_at".into(), eleven_minutes_ago.clone());
        let state = serde_json::to_string(&state).expect("JSON");
        viva::db::sessions::update_state(conn, &session.id, &state, later, viva::db::now())
            .await
            .expect("age the sign-in");
    }
    let r = again
        .viva_json(app, "DELETE", "/api/v1/me", Some(json!({})))
        .await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::UNAUTHORIZED, "reauthentication_required"),
        "{:?}",
        r.body
    );
    assert_eq!(
        again.me(app).await.status,
        StatusCode::OK,
        "still signed in"
    );
}
