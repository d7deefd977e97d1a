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
    assert!(
        view.layout,
        "the shared header and footer are missing: {view:?}"
    );
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

pub(crate) fn chromium() -> Option<PathBuf> {
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

/// Logs `email` in through the page's form and waits for the dashboard.
pub(crate) async fn log_in(page: &mut Page<impl Socket>, app: &TestApp, email: &str) {
    page.navigate(&app.url("/")).await;
    wait_for_view(page, "the log-in form", |v| v.signed_out).await;
    let fields = [("login-email", email), ("login-password", STRONG_PASSWORD)];
    submit(page, "login-form", &fields).await;
    wait_for_view(page, "the dashboard", |v| v.signed_in).await;
}

/// What the fake microphone plays (it loops): 0.5 s of silence, `recording` (16 kHz), 4 s of
/// silence (long enough for the server to hear the answer end).
pub(crate) fn microphone(recording: &std::path::Path) -> PathBuf {
    let speech = viva::speech::audio::read_wav(recording)
        .unwrap_or_else(|e| panic!("{}: {e}", recording.display()));
    let mut padded = vec![0.0; 8_000];
    padded.extend_from_slice(&speech);
    padded.resize(padded.len() + 64_000, 0.0);
    crate::support::write_wav(
        "jfk-with-pauses.wav",
        &padded,
        16_000,
        1,
        crate::support::WavEncoding::Int(16),
    )
}

/// A browser whose microphone plays `microphone`, allowed without asking.
pub(crate) async fn with_microphone(
    chromium: &std::path::Path,
    microphone: &std::path::Path,
) -> Browser {
    Browser::launch_with(
        chromium,
        &[
            "--use-fake-ui-for-media-stream".into(),
            "--use-fake-device-for-media-stream".into(),
            format!("--use-file-for-fake-audio-capture={}", microphone.display()),
            "--autoplay-policy=no-user-gesture-required".into(),
        ],
    )
    .await
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
    /// The shared header and footer (static/layout.js) replaced their placeholders.
    layout: bool,
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
        layout: document.querySelector('header.site-header a.brand[href=\"/\"]') !== null
            && document.querySelector('footer.site-footer') !== null
            && document.querySelector('viva-header, viva-footer') === null,
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
pub(crate) async fn submit(page: &mut Page<impl Socket>, form: &str, fields: &[(&str, &str)]) {
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

pub(crate) async fn click(page: &mut Page<impl Socket>, id: &str) {
    page.eval(&format!("document.getElementById({}).click()", json!(id)))
        .await;
}

/// The whole candidate path in a real browser: log in, plan an interview on the dashboard, start
/// it, answer by voice (Chromium's fake microphone plays JFK's recording, then silence), and see
/// both the transcript and the interviewer's reply on the page.
#[actix_web::test]
async fn answers_an_interview_by_voice_in_the_browser() {
    let Some(chromium) = chromium() else { return };
    let Some(jfk) = crate::support::jfk() else {
        return;
    };
    let Some(app) = crate::helpers::spawn_live_app(Backend::Sqlite, |_| {}).await else {
        return;
    };
    let microphone = microphone(&jfk);
    let browser = with_microphone(&chromium, &microphone).await;
    let email = crate::helpers::unique_email();
    let r = app
        .register(&email, STRONG_PASSWORD, "Voice Candidate")
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);

    let mut page = browser.open_page().await;
    log_in(&mut page, &app, &email).await;

    // Plan an interview through the dashboard's form (its defaults: the first type, 5 questions).
    let ready: bool = page
        .wait_for(
            "the new-interview form with its interview types",
            "(() => document.getElementById('new-interview-type')?.options.length > 0)()",
            |ready: &bool| *ready,
        )
        .await;
    assert!(ready);
    page.screenshot("dashboard").await;
    page.eval("document.getElementById('new-interview-form').requestSubmit()")
        .await;
    // Planning the interview and loading the next page: slower while other tests run models.
    let on_interview_page: bool = page
        .wait_for_within(
            std::time::Duration::from_secs(60),
            "the interview page",
            "(() => location.pathname === '/interview.html' && document.getElementById('start-button') !== null)()",
            |ok: &bool| *ok,
        )
        .await;
    assert!(on_interview_page);
    // Usable, and the interview shown and connected (the connection line is empty once the
    // server's `ready` arrived).
    page.wait_for(
        "the start button to be usable on the connected interview",
        "(() => !document.getElementById('start-button').disabled
            && !document.getElementById('interview-view').hidden
            && document.getElementById('connection').textContent === '')()",
        |ok: &bool| *ok,
    )
    .await;
    click(&mut page, "start-button").await;

    const READ_TRANSCRIPT: &str = "(() => [...document.querySelectorAll('#transcript [data-role]')]
        .map((el) => ({ role: el.dataset.role, text: el.textContent.trim() })))()";
    #[derive(Debug, Deserialize)]
    struct Line {
        role: String,
        text: String,
    }
    let lines: Vec<Line> = page
        .wait_for_within(
            std::time::Duration::from_secs(120),
            "the spoken answer's transcript and the interviewer's reply to it",
            READ_TRANSCRIPT,
            |lines: &Vec<Line>| {
                let answered = lines.iter().position(|l| {
                    l.role == "candidate" && l.text.to_lowercase().contains("your country")
                });
                answered.is_some_and(|i| {
                    lines[i + 1..]
                        .iter()
                        .any(|l| l.role == "interviewer" && l.text.ends_with('?'))
                })
            },
        )
        .await;
    assert_eq!(
        lines[0].role, "interviewer",
        "the greeting comes first: {lines:?}"
    );
    // The answer's feedback appears under it once assessed.
    let feedback: String = page
        .wait_for_within(
            std::time::Duration::from_secs(90),
            "the answer's feedback under it",
            "(() => document.querySelector('#transcript [data-role=candidate] .feedback summary')?.textContent ?? '')()",
            |text: &String| !text.is_empty(),
        )
        .await;
    assert!(
        feedback.starts_with("Feedback: ") && feedback.ends_with(" / 5"),
        "{feedback}"
    );
    page.eval("document.querySelector('#transcript .feedback').open = true")
        .await;
    page.screenshot("interview-answered").await;
    assert_eq!(page.csp_violations().await, Vec::<String>::new());

    // The page showed what the server stored.
    let cookie = app
        .login(&email, STRONG_PASSWORD)
        .await
        .session_cookie()
        .expect("a second session");
    let list = app.get("/api/v1/interviews", Some(&cookie)).await;
    let id = list.body["items"][0]["id"]
        .as_str()
        .expect("the interview")
        .to_owned();
    let detail = app
        .get(&format!("/api/v1/interviews/{id}"), Some(&cookie))
        .await;
    let stored = detail.body["messages"].as_array().expect("messages");
    assert!(
        stored.iter().any(|m| m["role"] == "candidate"
            && m["text"]
                .as_str()
                .unwrap_or("")
                .to_lowercase()
                .contains("your country")
            && m["audio_ms"].as_i64().is_some()),
        "{stored:#?}"
    );
}

/// The report page of a completed interview: its three charts drawn as SVG, the transcript
/// with the feedback under each answer, and the dashboard's progress chart.
#[actix_web::test]
async fn shows_the_report_with_its_charts() {
    let Some((app, browser)) = start().await else {
        return;
    };
    let (email, cookie) = app.user_named("Report Reader").await;
    let day = |n| {
        chrono::NaiveDate::from_ymd_opt(2026, 11, n)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .expect("a valid date")
    };
    crate::reports::scored_interview(&app, &cookie, "behavioral", &[2, 3], day(1)).await;
    let interview =
        crate::reports::scored_interview(&app, &cookie, "behavioral", &[4, 2, 5], day(8)).await;
    let id = interview["id"].as_str().expect("id");

    let mut page = browser.open_page().await;
    log_in(&mut page, &app, &email).await;
    let trend_lines: u64 = page
        .wait_for(
            "the progress chart with a line per skill",
            "document.querySelectorAll('svg.chart[data-chart=trend] .chart__series').length",
            |n: &u64| *n > 0,
        )
        .await;
    assert!(trend_lines > 0);
    page.screenshot("dashboard-progress").await;
    // One click starts the suggested interview: planned, then its page.
    page.wait_for(
        "the suggested interview's start button",
        "(() => { const b = document.getElementById('progress-start'); return !!b && !b.disabled && b.checkVisibility(); })()",
        |ok: &bool| *ok,
    )
    .await;
    click(&mut page, "progress-start").await;
    let interview_page: String = page
        .wait_for(
            "the suggested interview's page",
            "location.pathname === '/interview.html' ? new URLSearchParams(location.search).get('id') : ''",
            |id: &String| !id.is_empty(),
        )
        .await;
    let planned = app
        .get(
            &format!("/api/v1/interviews/{interview_page}"),
            Some(&cookie),
        )
        .await;
    assert_eq!(planned.body["status"], "pending", "{:?}", planned.body);
    assert_eq!(planned.body["interview_type"], "behavioral");

    page.navigate(&app.url(&format!("/report.html?id={id}")))
        .await;
    let ready: String = page
        .wait_for(
            "the report page to finish",
            "document.body.dataset.ready ?? ''",
            |state: &String| !state.is_empty(),
        )
        .await;
    assert_eq!(ready, "report", "the page showed an error instead");

    #[derive(Debug, Deserialize)]
    struct Drawn {
        charts: Vec<String>,
        answer_bars: Vec<String>,
        delivery_rows: usize,
        skill_bars: usize,
        feedback: usize,
        score: String,
    }
    let drawn: Drawn = serde_json::from_value(
        page.eval(
            "(() => ({
                charts: [...document.querySelectorAll('svg.chart')].map((s) => s.dataset.chart),
                answer_bars: [...document.querySelectorAll('svg[data-chart=answers] .chart__item')]
                    .map((g) => g.dataset.score),
                delivery_rows: document.querySelectorAll('svg[data-chart=delivery] .chart__check').length,
                skill_bars: document.querySelectorAll('svg[data-chart=skills] .chart__item').length,
                feedback: document.querySelectorAll('#report-transcript .feedback').length,
                score: document.getElementById('report-score')?.dataset.score ?? '',
            }))()",
        )
        .await,
    )
    .expect("the page's drawing, read back");
    for chart in ["answers", "delivery", "skills"] {
        assert!(drawn.charts.iter().any(|c| c == chart), "{drawn:?}");
    }
    assert_eq!(drawn.answer_bars, ["4", "2", "5"], "one bar per answer");
    assert_eq!(drawn.delivery_rows, 5, "{drawn:?}");
    assert!(drawn.skill_bars > 0, "{drawn:?}");
    assert_eq!(drawn.feedback, 3, "feedback under each answer");
    // (4 + 2 + 5) / 3 = 11/3 → 100 × (11/3 − 1) / 4 = 66.7 → 67.
    assert_eq!(drawn.score, "67");
    let shot = page.screenshot("report").await;
    let png = std::fs::read(&shot).expect("read the screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    assert_eq!(page.csp_violations().await, Vec::<String>::new());
}

/// The hiring flow end to end: a recruiter's job, a candidate invited by email (a real SMTP
/// server), the candidate opening the emailed link in Chromium and answering by voice (the
/// fake microphone), the recruiter's live job page showing them completed, and the report.
#[actix_web::test]
async fn a_recruiter_invites_and_watches_a_candidate_interview() {
    let Some(chromium) = chromium() else { return };
    let Some(jfk) = crate::support::jfk() else {
        return;
    };
    let Some(smtp) = crate::support::smtp_sink() else {
        return;
    };
    let port = smtp.port;
    let Some(app) = crate::helpers::spawn_live_app(Backend::Sqlite, move |s| {
        s.smtp_host = Some("127.0.0.1".into());
        s.smtp_port = port;
        s.smtp_tls = viva::config::SmtpTls::None;
    })
    .await
    else {
        return;
    };
    let microphone = microphone(&jfk);

    // The recruiter: a job, then their live job page.
    let email = crate::helpers::unique_email();
    let r = app
        .register(&email, STRONG_PASSWORD, "Rita Recruiter")
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let id = r.body["id"].as_str().expect("id").to_owned();
    let mut conn = app.pool().get().await.expect("connection");
    viva::db::users::set_role(&mut conn, &id.into(), viva::domain::Role::Recruiter)
        .await
        .expect("promote");
    drop(conn);
    let cookie = app
        .login(&email, STRONG_PASSWORD)
        .await
        .session_cookie()
        .expect("a session");
    let job = app
        .post_json(
            "/api/v1/jobs",
            &json!({"title": "Speechwriter", "interview_type": "behavioral", "skills": [],
                "difficulty": "medium", "question_count": 1, "time_limit_minutes": 15}),
            Some(&cookie),
        )
        .await;
    assert_eq!(job.status.as_u16(), 201, "{:?}", job.body);
    let job_id = job.body["id"].as_str().expect("job id").to_owned();

    let recruiter = Browser::launch(&chromium).await;
    let mut desk = recruiter.open_page().await;
    log_in(&mut desk, &app, &email).await;
    desk.navigate(&app.url(&format!("/jobs.html?job={job_id}")))
        .await;
    let live: String = desk
        .wait_for(
            "the job page, following live",
            "document.getElementById('live-status')?.dataset.state ?? ''",
            |state: &String| state == "connected",
        )
        .await;
    assert_eq!(live, "connected");

    // The candidate, invited by email.
    let created = app
        .post_json(
            &format!("/api/v1/jobs/{job_id}/candidates"),
            &json!({"name": "Jack Kay", "email": "jack.kay@example.com"}),
            Some(&cookie),
        )
        .await;
    assert_eq!(created.status.as_u16(), 201, "{:?}", created.body);
    assert_eq!(created.body["email_status"], "sent");
    let interview_id = created.body["candidate"]["interview_id"]
        .as_str()
        .expect("interview id")
        .to_owned();
    let messages = smtp.wait_for(1);
    let body = messages[0]
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let link = body
        .split_whitespace()
        .find(|w| w.contains("/i/"))
        .expect("the email carries the link")
        .to_owned();
    let row = format!("tr.candidate-row[data-interview-id='{interview_id}']");
    desk.wait_for(
        "the new candidate's row",
        &format!("document.querySelector(\"{row}\")?.dataset.status ?? ''"),
        |status: &String| status == "pending",
    )
    .await;

    let candidate_browser = with_microphone(&chromium, &microphone).await;
    let mut page = candidate_browser.open_page().await;
    page.navigate(&link).await;
    let ready: String = page
        .wait_for(
            "the candidate page",
            "document.body.dataset.ready ?? ''",
            |state: &String| !state.is_empty(),
        )
        .await;
    assert_eq!(ready, "invite", "the emailed link opens the interview");
    page.screenshot("candidate-consent").await;
    click(&mut page, "consent-checkbox").await;
    page.wait_for(
        "the start button after consent",
        "(() => !document.getElementById('start-button').disabled)()",
        |ok: &bool| *ok,
    )
    .await;
    click(&mut page, "start-button").await;
    desk.wait_for(
        "the row showing the interview under way",
        &format!("document.querySelector(\"{row}\")?.dataset.status ?? ''"),
        |status: &String| status == "in_progress",
    )
    .await;

    // The spoken answer, heard and answered; then the candidate finishes.
    const READ_TRANSCRIPT: &str = "(() => [...document.querySelectorAll('#transcript [data-role]')]
        .map((el) => ({ role: el.dataset.role, text: el.textContent.trim() })))()";
    #[derive(Debug, Deserialize)]
    struct Line {
        role: String,
        text: String,
    }
    page.wait_for_within(
        std::time::Duration::from_secs(120),
        "the spoken answer and the interviewer's reply",
        READ_TRANSCRIPT,
        |lines: &Vec<Line>| {
            let answered = lines.iter().position(|l| {
                l.role == "candidate" && l.text.to_lowercase().contains("your country")
            });
            answered.is_some_and(|i| lines[i + 1..].iter().any(|l| l.role == "interviewer"))
        },
    )
    .await;
    let status: String = app
        .get(&format!("/api/v1/interviews/{interview_id}"), Some(&cookie))
        .await
        .body["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if status != "completed" {
        click(&mut page, "finish-button").await;
    }
    desk.wait_for_within(
        std::time::Duration::from_secs(120),
        "the recruiter's live page to show the interview completed",
        &format!("document.querySelector(\"{row}\")?.dataset.status ?? ''"),
        |status: &String| status == "completed",
    )
    .await;
    desk.screenshot("job-page-completed").await;
    page.screenshot("candidate-finished").await;
    assert_eq!(page.csp_violations().await, Vec::<String>::new());
    assert_eq!(desk.csp_violations().await, Vec::<String>::new());

    // The report, and the recruiter's completion email with its link.
    let report = app
        .get(
            &format!("/api/v1/interviews/{interview_id}/report"),
            Some(&cookie),
        )
        .await;
    assert_eq!(report.status.as_u16(), 200);
    assert_eq!(report.body["questions_answered"], 1, "{:?}", report.body);
    let messages = smtp.wait_for(2);
    assert_eq!(messages.len(), 2, "the completion notice");
    assert!(
        messages[1].contains(&format!("To: {email}")),
        "{}",
        messages[1]
    );
    let notice = messages[1]
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    assert!(
        notice.contains(&format!("/report.html?id={interview_id}")),
        "{notice}"
    );
}

/// A full server (issue 16's admission control) in the page: the candidate is told the server is
/// busy and when the page will try again, instead of a silent or slow interview.
#[actix_web::test]
async fn the_interview_page_says_when_the_server_is_full() {
    let Some(chromium) = chromium() else { return };
    let Some(app) = crate::helpers::spawn_live_app(Backend::Sqlite, |s| {
        s.max_live_interviews = Some(1);
        s.interview_grace = std::time::Duration::from_secs(600);
    })
    .await
    else {
        return;
    };
    // Someone else's interview holds the only place.
    let (_, holder) = app.signed_in_user().await;
    let held = crate::live::new_interview(&app, &holder, 1).await;
    let mut holding = crate::live::Live::connect(&app, &held, &holder).await;
    holding.until("ready").await;

    let (email, candidate) = app.signed_in_user().await;
    let interview = crate::live::new_interview(&app, &candidate, 1).await;
    let browser = Browser::launch(&chromium).await;
    let mut page = browser.open_page().await;
    log_in(&mut page, &app, &email).await;
    page.navigate(&app.url(&format!("/interview.html?id={interview}")))
        .await;
    let connection: String = page
        .wait_for(
            "the page to say the server is full",
            "(() => document.getElementById('connection')?.textContent ?? '')()",
            |text: &String| text.contains("Reconnecting"),
        )
        .await;
    assert!(
        connection.contains("as many live interviews as it can")
            && connection.contains("Reconnecting in 60 seconds"),
        "{connection:?}"
    );
    let start_disabled = page
        .eval("document.getElementById('start-button')?.disabled ?? true")
        .await;
    assert_eq!(
        start_disabled,
        json!(true),
        "the interview cannot start while refused"
    );
    page.screenshot("server-full").await;
    assert_eq!(page.csp_violations().await, Vec::<String>::new());
}

/// Signing in at an OpenID Connect provider through the page: the "Sign in with …" button, the
/// provider's own sign-in form (a real provider, tests/support/oidc.rs), and back on viva's page
/// signed in to a new account, with the provider listed on it.
#[actix_web::test]
async fn signs_in_with_a_provider_through_the_page() {
    let Some(chromium) = chromium() else { return };
    let Some(setup) = crate::oidc::setup(Backend::Sqlite, |_| {}).await else {
        return;
    };
    let browser = Browser::launch(&chromium).await;
    let mut page = browser.open_page().await;
    page.navigate(&setup.app.url("/")).await;
    let button: String = page
        .wait_for(
            "the provider's button",
            "document.querySelector('#oidc-providers a')?.textContent ?? ''",
            |text: &String| !text.is_empty(),
        )
        .await;
    assert_eq!(button, "Sign in with Test SSO");
    page.screenshot("oidc-sign-in").await;

    page.eval("document.querySelector('#oidc-providers a').click()")
        .await;
    page.wait_for(
        "the provider's sign-in form",
        "document.getElementById('provider-login') !== null",
        |shown: &bool| *shown,
    )
    .await;
    let email = format!("ada-{}@example.com", uuid::Uuid::new_v4().simple());
    page.eval("document.getElementById('provider-email-verified').checked = true")
        .await;
    let fields = [
        ("provider-sub", "ada-at-the-provider"),
        ("provider-email", email.as_str()),
        ("provider-name", "Ada Browser"),
    ];
    submit(&mut page, "provider-login", &fields).await;

    let view = wait_for_view(&mut page, "the signed-in view after the provider", |v| {
        v.signed_in && v.email == email
    })
    .await;
    assert_eq!(
        (view.name.as_str(), view.role.as_str()),
        ("Ada Browser", "candidate")
    );
    let linked: String = page
        .wait_for(
            "the linked provider on the account",
            "document.getElementById('identities-list')?.textContent ?? ''",
            |text: &String| text.contains("Test SSO"),
        )
        .await;
    assert!(linked.contains(&email), "{linked}");
    let address: String = page
        .eval("window.location.search")
        .await
        .as_str()
        .unwrap_or("?")
        .to_owned();
    assert_eq!(
        address, "",
        "the page cleans the round trip's outcome from the address"
    );
    page.screenshot("oidc-signed-in").await;
    assert_eq!(page.csp_violations().await, Vec::<String>::new());
}

/// An account that exists already, with the provider's verified email: the page asks for its
/// password, and the provider is linked to it.
#[actix_web::test]
async fn links_a_provider_to_an_existing_account_with_its_password() {
    let Some(chromium) = chromium() else { return };
    let Some(setup) = crate::oidc::setup(Backend::Sqlite, |_| {}).await else {
        return;
    };
    let email = format!("grace-{}@example.com", uuid::Uuid::new_v4().simple());
    let registered = setup
        .app
        .register(&email, STRONG_PASSWORD, "Grace Hopper")
        .await;
    assert_eq!(registered.status.as_u16(), 201, "{:?}", registered.body);
    let browser = Browser::launch(&chromium).await;
    let mut page = browser.open_page().await;
    page.navigate(&setup.app.url("/")).await;
    page.wait_for(
        "the provider's button",
        "document.querySelector('#oidc-providers a') !== null",
        |shown: &bool| *shown,
    )
    .await;
    page.eval("document.querySelector('#oidc-providers a').click()")
        .await;
    page.wait_for(
        "the provider's sign-in form",
        "document.getElementById('provider-login') !== null",
        |shown: &bool| *shown,
    )
    .await;
    page.eval("document.getElementById('provider-email-verified').checked = true")
        .await;
    let fields = [
        ("provider-sub", "grace-at-the-provider"),
        ("provider-email", email.as_str()),
    ];
    submit(&mut page, "provider-login", &fields).await;

    let intro: String = page
        .wait_for(
            "the request for the account's password",
            "document.getElementById('link-form')?.checkVisibility() ? document.getElementById('link-intro').textContent : ''",
            |text: &String| !text.is_empty(),
        )
        .await;
    assert!(
        intro.contains(&email) && intro.contains("Test SSO"),
        "{intro}"
    );
    page.screenshot("oidc-link-password").await;
    submit(
        &mut page,
        "link-form",
        &[("link-password", STRONG_PASSWORD)],
    )
    .await;
    let view = wait_for_view(&mut page, "signed in to the existing account", |v| {
        v.signed_in && v.email == email
    })
    .await;
    assert_eq!(
        view.name, "Grace Hopper",
        "the existing account, not a new one"
    );
    page.wait_for(
        "the linked provider on the account",
        "document.getElementById('identities-list')?.textContent ?? ''",
        |text: &String| text.contains("Test SSO"),
    )
    .await;
    assert_eq!(page.csp_violations().await, Vec::<String>::new());
}
