//! The cases: hostile uploads on the three routes that take a resume, hostile WebSocket frames
//! on a live interview, and hostile HTTP requests. Each case checks what it can about the
//! answer (never a 5xx; a WebSocket that must stay open answers a ping, one that must close
//! sends its close code); the harness checks the server itself.

use std::rc::Rc;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};

use crate::files::{self, HostileFile};
use crate::net::{self, NetError, Reply, UpgradeError, Ws};
use crate::{deadline, unique_email, Case, Ctx, Outcome, Problem};

pub const UPLOAD: &str = "upload";
pub const WEBSOCKET: &str = "websocket";
pub const HTTP: &str = "http";

const MAX_RESUME: usize = viva::resume::MAX_BYTES;
const TEXT_STATUSES: [&str; 3] = ["ok", "unreadable", "too_complex"];

fn case(
    area: &'static str,
    name: impl Into<String>,
    run: impl Fn(&Ctx) -> Outcome + 'static,
) -> Case {
    Case {
        area,
        name: name.into(),
        run: Box::new(run),
    }
}

pub fn cases(live: bool) -> Vec<Case> {
    let mut cases = upload_cases();
    if live {
        // Without the speech model the route answers 503 `models_unavailable` to everything.
        cases.extend(recording_cases());
    }
    cases.extend(websocket_cases(live));
    cases.extend(http_cases());
    cases
}

// ---- answers --------------------------------------------------------------------------------

fn wrong(what: impl Into<String>) -> Problem {
    Problem::Wrong(what.into())
}

fn body_snippet(reply: &Reply) -> String {
    String::from_utf8_lossy(&reply.body[..reply.body.len().min(200)]).into_owned()
}

/// A response that is not a 5xx.
fn answered(result: Result<Reply, NetError>) -> Outcome {
    let reply = result?;
    if reply.status >= 500 {
        return Err(wrong(format!(
            "answered {}: {}",
            reply.summary(),
            body_snippet(&reply)
        )));
    }
    Ok(reply.summary())
}

/// A response that is not a 5xx, or a connection the server closed without one (how a server
/// may refuse a request it cannot parse, or a body it will not read).
fn answered_or_dropped(result: Result<Reply, NetError>) -> Outcome {
    match result {
        Err(NetError::Closed(how)) => Ok(format!("dropped ({how})")),
        other => answered(other),
    }
}

/// A response in `statuses`.
fn answered_with(result: Result<Reply, NetError>, statuses: &[u16]) -> Outcome {
    let reply = result?;
    if !statuses.contains(&reply.status) {
        return Err(wrong(format!(
            "answered {} (expected one of {statuses:?}): {}",
            reply.summary(),
            body_snippet(&reply)
        )));
    }
    Ok(reply.summary())
}

// ---- uploads --------------------------------------------------------------------------------

/// What an upload got: any non-5xx answer, and when the upload was stored and says how its
/// text was read, one of the documented `text_status` values.
fn upload_answer(result: Result<Reply, NetError>, size: usize) -> Outcome {
    let reply = match result {
        // The server may refuse an oversized body without reading it.
        Err(NetError::Closed(how)) if size > MAX_RESUME => return Ok(format!("dropped ({how})")),
        other => other?,
    };
    if reply.status >= 500 {
        return Err(wrong(format!(
            "answered {}: {}",
            reply.summary(),
            body_snippet(&reply)
        )));
    }
    match find_key(&reply.json(), "text_status") {
        Some(Value::String(status)) if TEXT_STATUSES.contains(&status.as_str()) => {
            Ok(format!("{} text_status={status}", reply.summary()))
        }
        Some(other) => Err(wrong(format!(
            "text_status is {other}, not one of {TEXT_STATUSES:?}"
        ))),
        None => Ok(reply.summary()),
    }
}

fn find_key(value: &Value, key: &str) -> Option<Value> {
    match value {
        Value::Object(map) => map
            .get(key)
            .cloned()
            .or_else(|| map.values().find_map(|v| find_key(v, key))),
        Value::Array(items) => items.iter().find_map(|v| find_key(v, key)),
        _ => None,
    }
}

fn put_invite_resume(
    ctx: &Ctx,
    filename: &str,
    content_type: &str,
    bytes: &[u8],
) -> Result<Reply, NetError> {
    let (_, _, token) = ctx.new_candidate();
    ctx.call(
        "PUT",
        "/api/v1/invite/resume",
        &[
            ("X-Interview-Token", token.as_str()),
            ("X-Filename", filename),
            ("Content-Type", content_type),
        ],
        bytes,
    )
}

fn put_recruiter_resume(ctx: &Ctx, filename: &str, bytes: &[u8]) -> Result<Reply, NetError> {
    let (_, interview, _) = ctx.new_candidate();
    ctx.call(
        "PUT",
        &format!("/api/v1/interviews/{interview}/resume"),
        &[
            ("Cookie", ctx.cookie.as_str()),
            ("X-Filename", filename),
            ("Content-Type", "application/octet-stream"),
        ],
        bytes,
    )
}

/// Adds a candidate with `resume` (any JSON) as the resume.
fn post_candidate_with(ctx: &Ctx, resume: Value) -> Result<Reply, NetError> {
    let job = ctx.new_job();
    let body = json!({"name": "Ann Lee", "email": unique_email(), "resume": resume});
    ctx.call(
        "POST",
        &format!("/api/v1/jobs/{job}/candidates"),
        &[
            ("Cookie", ctx.cookie.as_str()),
            ("Content-Type", "application/json"),
        ],
        body.to_string().as_bytes(),
    )
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Files sent on the recruiter's routes too (the candidate's route gets every file).
const ON_EVERY_ROUTE: [&str; 8] = [
    "pdf: form XObject drawing itself",
    "pdf: page without /Resources, /Parent itself",
    "pdf: Flate bomb (~320 KB -> 320 MB)",
    "pdf: double Flate (a few KB -> 1 GB)",
    "pdf: arrays nested 100,000 deep",
    ".docx: zip bomb (document.xml inflating to 1 GB)",
    "empty file",
    "10 MB + 1 byte",
];

/// Hostile recordings sent for batch transcription: each is refused with a 4xx (or, when it
/// decodes after all, queued with a 202), never a 5xx; the decoder runs in the server process,
/// so the harness's memory and liveness checks cover it.
fn recording_cases() -> Vec<Case> {
    crate::audio::hostile_recordings()
        .into_iter()
        .map(|recording| {
            case(
                UPLOAD,
                format!("transcription POST, {}", recording.name),
                move |ctx| {
                    let reply = ctx.call(
                        "POST",
                        "/api/v1/transcriptions",
                        &[
                            ("Cookie", ctx.cookie.as_str()),
                            ("X-Filename", "recording.webm"),
                            ("Content-Type", "application/octet-stream"),
                        ],
                        &recording.bytes,
                    )?;
                    match reply.status {
                        202 | 413 | 415 | 422 => Ok(format!(
                            "{} {}",
                            reply.summary(),
                            find_key(&reply.json(), "code")
                                .map(|c| c.to_string())
                                .unwrap_or_default()
                        )),
                        _ => Err(wrong(format!(
                            "answered {}: {}",
                            reply.summary(),
                            body_snippet(&reply)
                        ))),
                    }
                },
            )
        })
        .collect()
}

fn upload_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let all: Vec<Rc<HostileFile>> = files::hostile_files().into_iter().map(Rc::new).collect();
    for file in &all {
        let f = file.clone();
        cases.push(case(
            UPLOAD,
            format!("invite PUT, {}", file.name),
            move |ctx| {
                let reply =
                    put_invite_resume(ctx, f.filename, "application/octet-stream", &f.bytes);
                upload_answer(reply, f.bytes.len())
            },
        ));
    }
    for file in all.iter().filter(|f| ON_EVERY_ROUTE.contains(&f.name)) {
        let f = file.clone();
        cases.push(case(
            UPLOAD,
            format!("recruiter PUT, {}", file.name),
            move |ctx| {
                upload_answer(
                    put_recruiter_resume(ctx, f.filename, &f.bytes),
                    f.bytes.len(),
                )
            },
        ));
        let f = file.clone();
        cases.push(case(
            UPLOAD,
            format!("candidate POST (base64), {}", file.name),
            move |ctx| {
                let resume = json!({"filename": f.filename, "content_base64": b64(&f.bytes)});
                upload_answer(post_candidate_with(ctx, resume), f.bytes.len())
            },
        ));
    }

    // Declared types that lie: the server looks at the bytes, never the type.
    let valid = Rc::new(files::valid_pdf());
    for content_type in [
        "image/png",
        "text/html; charset=utf-8",
        "multipart/form-data; boundary=----x",
        "application/x-www-form-urlencoded",
        "application/pdf; charset=\u{7f}\u{7f}",
    ] {
        let bytes = valid.clone();
        cases.push(case(
            UPLOAD,
            format!("invite PUT, a PDF declared as `{content_type}`"),
            move |ctx| {
                upload_answer(
                    put_invite_resume(ctx, "cv.pdf", content_type, &bytes),
                    bytes.len(),
                )
            },
        ));
    }
    cases.push(case(
        UPLOAD,
        "candidate POST, the JSON body as text/plain",
        |ctx| {
            let job = ctx.new_job();
            let body = json!({"name": "Ann Lee", "email": unique_email(),
            "resume": {"filename": "cv.txt", "content_base64": b64(b"Built Orbit")}});
            let reply = ctx.call(
                "POST",
                &format!("/api/v1/jobs/{job}/candidates"),
                &[
                    ("Cookie", ctx.cookie.as_str()),
                    ("Content-Type", "text/plain"),
                ],
                body.to_string().as_bytes(),
            );
            answered_with(reply, &[415])
        },
    ));

    // Bad base64.
    let bad_base64: [(&str, Value); 6] = [
        (
            "not base64 at all",
            json!({"filename": "cv.pdf", "content_base64": "!!!! not base64 ****"}),
        ),
        (
            "base64url alphabet",
            json!({"filename": "cv.pdf", "content_base64": "JVBERi0_-_-_-_-"}),
        ),
        (
            "missing padding",
            json!({"filename": "cv.txt", "content_base64": "QnVpbHQgT3JiaXQ"}),
        ),
        (
            "a number instead of a string",
            json!({"filename": "cv.pdf", "content_base64": 12345}),
        ),
        (
            "an unknown field",
            json!({"filename": "cv.pdf", "content_base64": "QQ==", "path": "/etc/passwd"}),
        ),
        (
            "13.4 MB of `A` (decodes past 10 MB)",
            json!({"filename": "cv.txt", "content_base64": "A".repeat(MAX_RESUME / 3 * 4 + 4096)}),
        ),
    ];
    for (name, resume) in bad_base64 {
        cases.push(case(
            UPLOAD,
            format!("candidate POST, base64: {name}"),
            move |ctx| {
                let reply = post_candidate_with(ctx, resume.clone())?;
                if reply.status != 400 && reply.status != 413 {
                    return Err(wrong(format!(
                        "answered {} (expected 400 or 413)",
                        reply.summary()
                    )));
                }
                Ok(reply.summary())
            },
        ));
    }
    cases.push(case(
        UPLOAD,
        "candidate POST, a filename of 100,000 `../`",
        |ctx| {
            let resume =
                json!({"filename": "../".repeat(100_000), "content_base64": b64(b"Built Orbit")});
            let reply = post_candidate_with(ctx, resume)?;
            let stored = find_key(&reply.json(), "filename");
            if stored
                .as_ref()
                .and_then(Value::as_str)
                .is_some_and(|name| name.contains('/'))
            {
                return Err(wrong(format!("stored the file as {stored:?}")));
            }
            upload_answer(Ok(reply), 0)
        },
    ));
    cases.push(case(
        UPLOAD,
        "candidate POST, base64 with a newline every 76 characters",
        |ctx| {
            let text = b"Built Orbit, an internal deploy tool used by 200 engineers.\n".repeat(40);
            let wrapped = b64(&text)
                .as_bytes()
                .chunks(76)
                .map(|line| String::from_utf8_lossy(line).into_owned())
                .collect::<Vec<_>>()
                .join("\n");
            answered(post_candidate_with(
                ctx,
                json!({"filename": "cv.txt", "content_base64": wrapped}),
            ))
        },
    ));

    // Compressed request bodies: the size limit holds for what they inflate to.
    cases.push(case(
        UPLOAD,
        "invite PUT, gzip Content-Encoding: 1 MB inflating to 1 GB",
        |ctx| {
            let (_, _, token) = ctx.new_candidate();
            let bomb = files::gzip_of_repeated(b'a', 1 << 30);
            let reply = ctx.call(
                "PUT",
                "/api/v1/invite/resume",
                &[
                    ("X-Interview-Token", token.as_str()),
                    ("Content-Encoding", "gzip"),
                ],
                &bomb,
            );
            answered_with(reply, &[400, 413, 415])
        },
    ));
    cases.push(case(
        UPLOAD,
        "invite PUT, gzip inside gzip (Content-Encoding: gzip, gzip)",
        |ctx| {
            let (_, _, token) = ctx.new_candidate();
            let bomb = files::gzip(&files::gzip_of_repeated(b'a', 1 << 30));
            let reply = ctx.call(
                "PUT",
                "/api/v1/invite/resume",
                &[
                    ("X-Interview-Token", token.as_str()),
                    ("Content-Encoding", "gzip, gzip"),
                ],
                &bomb,
            );
            answered(reply)
        },
    ));
    cases
}

// ---- WebSocket ------------------------------------------------------------------------------

/// How a WebSocket case must end.
#[derive(Clone, Copy)]
enum Expect {
    /// Still open (it answers a ping), having sent an `error` event with this code, if given.
    Open(Option<&'static str>),
    /// Closed by the server, with this close code if given.
    Closed(Option<u16>),
    /// Open or closed, as long as it answers.
    Either,
}

/// How a connection ended up after the case's frames.
enum WsEnd {
    Open,
    Closed(Option<u16>),
    Dropped(String),
}

/// Opens the live socket on the recruiter's interview (or the candidate's, with the token)
/// and reads up to its `ready` event.
fn open_live(ctx: &Ctx, interview: &str, token: Option<&str>) -> Result<Ws, Problem> {
    let (path, cookie) = match token {
        Some(token) => (
            format!("/api/v1/interviews/{interview}/ws?token={token}"),
            None,
        ),
        None => (
            format!("/api/v1/interviews/{interview}/ws"),
            Some(ctx.cookie.as_str()),
        ),
    };
    let headers: Vec<(&str, &str)> = cookie.map(|c| ("Cookie", c)).into_iter().collect();
    let mut ws = Ws::connect(ctx.addr, &path, &headers, deadline()).map_err(|e| match e {
        UpgradeError::Net(e) => Problem::from(e),
        refused => wrong(refused.to_string()),
    })?;
    until(&mut ws, |event| event["type"] == "ready")?;
    Ok(ws)
}

/// Reads events until one matches (or the connection ends: an error).
fn until(ws: &mut Ws, wanted: impl Fn(&Value) -> bool) -> Result<Value, Problem> {
    let by = deadline();
    loop {
        let frame = ws.next_frame(by)?;
        match frame.opcode {
            net::OP_TEXT => {
                let event: Value = serde_json::from_slice(&frame.payload)
                    .map_err(|e| wrong(format!("an event that is not JSON: {e}")))?;
                if wanted(&event) {
                    return Ok(event);
                }
            }
            net::OP_CLOSE => {
                return Err(wrong(format!("closed: {:?}", close_code(&frame.payload))))
            }
            _ => {}
        }
    }
}

fn close_code(payload: &[u8]) -> Option<u16> {
    (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]))
}

/// Sends a ping and reads until its pong (the connection is open and its actor answers), a
/// close frame or the end of the connection; returns how it ended and the error codes seen.
fn probe(ws: &mut Ws) -> Result<(WsEnd, Vec<String>), Problem> {
    let by = deadline();
    let mut errors = Vec::new();
    let _ = ws.send(&net::client_frame(net::OP_PING, b"probe"), by);
    loop {
        let frame = match ws.next_frame(by) {
            Ok(frame) => frame,
            Err(NetError::TimedOut) => {
                return Err(Problem::Hang(format!(
                    "no pong or close; events: {errors:?}"
                )))
            }
            Err(e) => return Ok((WsEnd::Dropped(e.to_string()), errors)),
        };
        match frame.opcode {
            net::OP_TEXT => {
                let event: Value = serde_json::from_slice(&frame.payload).unwrap_or(Value::Null);
                if event["type"] == "error" {
                    errors.push(event["code"].as_str().unwrap_or("?").to_owned());
                }
            }
            net::OP_PONG if frame.payload == b"probe" => return Ok((WsEnd::Open, errors)),
            net::OP_CLOSE => return Ok((WsEnd::Closed(close_code(&frame.payload)), errors)),
            _ => {}
        }
    }
}

fn judge(end: WsEnd, errors: Vec<String>, expect: Expect) -> Outcome {
    let mut distinct = errors.clone();
    distinct.dedup();
    let seen = if errors.is_empty() {
        String::new()
    } else {
        format!(" {}x{}", errors.len(), distinct.join(","))
    };
    let summary = match &end {
        WsEnd::Open => format!("open{seen}"),
        WsEnd::Closed(code) => format!(
            "closed {}{seen}",
            code.map_or("-".to_owned(), |c| c.to_string())
        ),
        WsEnd::Dropped(how) => format!("dropped ({how}){seen}"),
    };
    let fits = match (expect, &end) {
        (Expect::Either, _) => true,
        (Expect::Open(code), WsEnd::Open) => {
            code.is_none_or(|code| errors.iter().any(|e| e == code))
        }
        (Expect::Closed(None), WsEnd::Closed(_) | WsEnd::Dropped(_)) => true,
        (Expect::Closed(Some(want)), WsEnd::Closed(Some(code))) => want == *code,
        _ => false,
    };
    if fits {
        Ok(summary)
    } else {
        Err(wrong(format!("ended {summary}, not as expected")))
    }
}

/// A case sending `frames` (raw bytes) on the recruiter's live interview, then probing.
fn ws_frames(name: &str, frames: Vec<u8>, expect: Expect) -> Case {
    case(WEBSOCKET, name, move |ctx| {
        let mut ws = open_live(ctx, &ctx.interview, None)?;
        // A server that closes mid-send is judged by what it answered.
        let _ = ws.send(&frames, deadline());
        let (end, errors) = probe(&mut ws)?;
        judge(end, errors, expect)
    })
}

fn text(payload: &str) -> Vec<u8> {
    net::client_frame(net::OP_TEXT, payload.as_bytes())
}

fn binary(payload: &[u8]) -> Vec<u8> {
    net::client_frame(net::OP_BINARY, payload)
}

fn repeated(frame: &[u8], times: usize) -> Vec<u8> {
    frame.repeat(times)
}

fn websocket_cases(live: bool) -> Vec<Case> {
    if !live {
        // Without models the upgrade is refused; the handshake is all there is to test.
        return vec![case(WEBSOCKET, "upgrade without models", |ctx| {
            let path = format!("/api/v1/interviews/{}/ws", ctx.interview);
            match Ws::connect(
                ctx.addr,
                &path,
                &[("Cookie", ctx.cookie.as_str())],
                deadline(),
            ) {
                Err(UpgradeError::Refused(reply)) if reply.status == 503 => Ok(reply.summary()),
                Err(e) => Err(wrong(e.to_string())),
                Ok(_) => Err(wrong("upgraded without models")),
            }
        })];
    }
    let invalid = Some("invalid_message");
    let open_invalid = Expect::Open(invalid);
    let big = 1 << 20;
    let mut cases = vec![
        ws_frames("text: not JSON `{`", text("{"), open_invalid),
        ws_frames(
            "text: JSON that is not an object",
            [text("[]"), text("null"), text("42"), text("\"start\"")].concat(),
            open_invalid,
        ),
        ws_frames(
            "text: unknown type",
            text(r#"{"type":"sudo"}"#),
            open_invalid,
        ),
        ws_frames(
            "text: type is a number",
            text(r#"{"type":1}"#),
            open_invalid,
        ),
        ws_frames(
            "text: `text` without its field",
            text(r#"{"type":"text"}"#),
            open_invalid,
        ),
        ws_frames(
            "text: `text` whose text is an object",
            text(r#"{"type":"text","text":{"a":1}}"#),
            open_invalid,
        ),
        ws_frames(
            "text: unknown mode",
            text(r#"{"type":"mode","mode":"always"}"#),
            open_invalid,
        ),
        ws_frames(
            "text: test-only `debug_panic` on a real server",
            text(r#"{"type":"debug_panic"}"#),
            Expect::Open(None),
        ),
        ws_frames(
            "text: JSON nested 10,000 deep",
            text(&format!("{}{}", "[".repeat(10_000), "]".repeat(10_000))),
            open_invalid,
        ),
        ws_frames(
            "text: a number of 10,000 digits",
            text(&format!(r#"{{"type":"start","n":{}}}"#, "9".repeat(10_000))),
            Expect::Open(None),
        ),
        ws_frames(
            "text: control characters, raw and escaped",
            text("{\"type\":\"text\",\"text\":\"\u{0}\u{1}\u{7}\u{1b}[2J\"}\u{0}"),
            open_invalid,
        ),
        ws_frames(
            "text: an answer of 100 KB",
            text(&json!({"type": "text", "text": "a".repeat(100 * 1024)}).to_string()),
            open_invalid,
        ),
        ws_frames(
            "text: an answer of 4,001 characters",
            text(&json!({"type": "text", "text": "é".repeat(4001)}).to_string()),
            open_invalid,
        ),
        ws_frames(
            "text: 16 KB + 1",
            text(&"x".repeat(16 * 1024 + 1)),
            open_invalid,
        ),
        ws_frames(
            "text: 1 MiB - 1 of JSON whitespace",
            text(&" ".repeat(big - 1)),
            open_invalid,
        ),
        ws_frames(
            "text: 2 MiB frame",
            text(&"x".repeat(2 * big)),
            Expect::Closed(Some(1009)),
        ),
        ws_frames(
            "text: header declaring 2^62 bytes, none sent",
            net::frame_header(true, 0, net::OP_TEXT, true, 1 << 62),
            Expect::Closed(None),
        ),
        ws_frames(
            "text: header declaring 2^64-1 bytes",
            net::frame_header(true, 0, net::OP_TEXT, true, u64::MAX),
            Expect::Closed(None),
        ),
        ws_frames(
            "text: invalid UTF-8",
            net::client_frame(net::OP_TEXT, b"{\"type\":\"\xff\xfe\"}"),
            Expect::Either,
        ),
        ws_frames(
            "text: 10,000 tiny frames at once",
            repeated(&text("{}"), 10_000),
            open_invalid,
        ),
        ws_frames(
            "binary: 1 byte (odd length)",
            binary(&[1]),
            Expect::Open(Some("invalid_audio")),
        ),
        ws_frames(
            "binary: 65,535 bytes (odd length)",
            binary(&vec![0; 65_535]),
            Expect::Open(Some("invalid_audio")),
        ),
        ws_frames("binary: empty", binary(&[]), Expect::Open(None)),
        ws_frames(
            "binary: 64 KiB + 2 (over the audio limit)",
            binary(&vec![0; 65_538]),
            Expect::Open(Some("frame_too_large")),
        ),
        ws_frames(
            "binary: 1 MiB + 2 (over the frame limit)",
            binary(&vec![0; big + 2]),
            Expect::Closed(Some(1009)),
        ),
        ws_frames(
            "binary: 10,000 frames of one sample at once",
            repeated(&binary(&[0, 0]), 10_000),
            Expect::Open(None),
        ),
        ws_frames(
            "binary: 1,000 frames of 20 ms at once",
            repeated(&binary(&[0; 640]), 1_000),
            Expect::Open(None),
        ),
        ws_frames(
            "ping: 10,000 pings at once",
            repeated(&net::client_frame(net::OP_PING, b"x"), 10_000),
            Expect::Open(None),
        ),
        ws_frames(
            "ping: 126-byte payload (control frames carry 125)",
            net::client_frame(net::OP_PING, &[b'p'; 126]),
            Expect::Closed(None),
        ),
        ws_frames(
            "ping: fragmented (FIN clear)",
            net::frame(false, 0, net::OP_PING, true, b"x"),
            Expect::Closed(None),
        ),
        ws_frames(
            "frame: unmasked client frame",
            net::frame(true, 0, net::OP_TEXT, false, br#"{"type":"start"}"#),
            Expect::Closed(None),
        ),
        ws_frames(
            "frame: reserved bits set",
            net::frame(true, 0b111, net::OP_TEXT, true, b"{}"),
            Expect::Either,
        ),
        ws_frames(
            "frame: reserved opcode 0x3",
            net::frame(true, 0, 0x3, true, b"x"),
            Expect::Closed(None),
        ),
        ws_frames(
            "frame: reserved control opcode 0xB",
            net::frame(true, 0, 0xB, true, b"x"),
            Expect::Closed(None),
        ),
        ws_frames(
            "frame: continuation with nothing to continue",
            net::frame(true, 0, net::OP_CONTINUATION, true, b"x"),
            Expect::Either,
        ),
        ws_frames(
            "frame: a text message in 1,000 fragments",
            {
                let mut out = net::frame(false, 0, net::OP_TEXT, true, b"{");
                for _ in 0..998 {
                    out.extend(net::frame(false, 0, net::OP_CONTINUATION, true, b" "));
                }
                out.extend(net::frame(true, 0, net::OP_CONTINUATION, true, b"}"));
                out
            },
            Expect::Either,
        ),
        ws_frames(
            "frame: a fragment left unfinished, then a new text frame",
            [net::frame(false, 0, net::OP_TEXT, true, b"{"), text("{}")].concat(),
            Expect::Either,
        ),
        ws_frames(
            "close: code 0",
            net::close_frame(0, b""),
            Expect::Closed(None),
        ),
        ws_frames(
            "close: code 1005 (never sent on the wire)",
            net::close_frame(1005, b""),
            Expect::Closed(None),
        ),
        ws_frames(
            "close: code 65535 and a reason of invalid UTF-8",
            net::close_frame(65_535, b"\xff\xfe"),
            Expect::Closed(None),
        ),
        ws_frames(
            "close: a 1-byte payload",
            net::client_frame(net::OP_CLOSE, &[3]),
            Expect::Closed(None),
        ),
        ws_frames(
            "close: 1,000 close frames at once",
            repeated(&net::close_frame(1000, b"bye"), 1_000),
            Expect::Closed(None),
        ),
        ws_frames(
            "close: text after the close frame",
            [
                net::close_frame(1000, b""),
                text(r#"{"type":"start"}"#),
                binary(&[0; 640]),
            ]
            .concat(),
            Expect::Closed(None),
        ),
    ];

    cases.push(case(
        WEBSOCKET,
        "close storm: 40 connections opened and closed at once",
        |ctx| {
            let opened: Vec<Ws> = (0..40)
                .map(|_| {
                    let path = format!("/api/v1/interviews/{}/ws", ctx.interview);
                    Ws::connect(
                        ctx.addr,
                        &path,
                        &[("Cookie", ctx.cookie.as_str())],
                        deadline(),
                    )
                    .map_err(|e| wrong(e.to_string()))
                })
                .collect::<Result<_, _>>()?;
            for mut ws in opened {
                let _ = ws.send(&net::close_frame(1000, b""), deadline());
            }
            // 40 more that vanish without a close frame.
            for _ in 0..40 {
                let path = format!("/api/v1/interviews/{}/ws", ctx.interview);
                drop(Ws::connect(
                    ctx.addr,
                    &path,
                    &[("Cookie", ctx.cookie.as_str())],
                    deadline(),
                ));
            }
            // The interview still opens.
            let mut ws = open_live(ctx, &ctx.interview, None)?;
            let (end, errors) = probe(&mut ws)?;
            judge(end, errors, Expect::Open(None))
        },
    ));
    cases.push(case(
        WEBSOCKET,
        "take-over race: 20 connections to one interview in parallel",
        |ctx| {
            let addr = ctx.addr;
            let path = format!("/api/v1/interviews/{}/ws", ctx.interview);
            let cookie = ctx.cookie.clone();
            let threads: Vec<_> = (0..20)
                .map(|_| {
                    let (path, cookie) = (path.clone(), cookie.clone());
                    std::thread::spawn(move || {
                        Ws::connect(addr, &path, &[("Cookie", cookie.as_str())], deadline())
                            .map(|mut ws| probe(&mut ws).is_ok())
                    })
                })
                .collect();
            let mut upgraded = 0;
            for thread in threads {
                if let Ok(Ok(true)) = thread.join() {
                    upgraded += 1;
                }
            }
            let mut ws = open_live(ctx, &ctx.interview, None)?;
            let (end, errors) = probe(&mut ws)?;
            judge(end, errors, Expect::Open(None)).map(|s| format!("{upgraded}/20 answered; {s}"))
        },
    ));
    cases.push(case(
        WEBSOCKET,
        "candidate (token): not JSON, odd audio, 2 MiB frame",
        move |ctx| {
            let mut ws = open_live(ctx, &ctx.candidate_interview, Some(&ctx.token))?;
            let _ = ws.send(&[text("{"), binary(&[1, 2, 3])].concat(), deadline());
            let (end, errors) = probe(&mut ws)?;
            judge(end, errors, Expect::Open(Some("invalid_audio")))?;
            let _ = ws.send(&text(&"x".repeat(2 * big)), deadline());
            let (end, errors) = probe(&mut ws)?;
            judge(end, errors, Expect::Closed(Some(1009)))
        },
    ));
    cases.push(case(
        WEBSOCKET,
        "started: 4,000 characters of control characters as an answer",
        |ctx| {
            let interview = ctx.new_interview();
            let mut ws = open_live(ctx, &interview, None)?;
            ws.send(&text(r#"{"type":"start"}"#), deadline())?;
            until(&mut ws, |e| {
                e["type"] == "state" && e["state"] == "listening"
            })?;
            let answer: String = (0..3999)
                .map(|i| char::from_u32(1 + (i % 31)).unwrap_or('x'))
                .collect();
            ws.send(
                &text(&json!({"type": "text", "text": format!("a{answer}")}).to_string()),
                deadline(),
            )?;
            let (end, errors) = probe(&mut ws)?;
            judge(end, errors, Expect::Open(None))
        },
    ));
    cases.push(case(
        WEBSOCKET,
        "started: 1,000 `start` and `interrupt` messages at once",
        |ctx| {
            let interview = ctx.new_interview();
            let mut ws = open_live(ctx, &interview, None)?;
            let storm = repeated(
                &[text(r#"{"type":"start"}"#), text(r#"{"type":"interrupt"}"#)].concat(),
                1_000,
            );
            ws.send(&storm, deadline())?;
            let (end, errors) = probe(&mut ws)?;
            judge(end, errors, Expect::Open(None))
        },
    ));
    cases.push(case(
        WEBSOCKET,
        "finished: `finish` twice, then answers and audio",
        |ctx| {
            let interview = ctx.new_interview();
            let mut ws = open_live(ctx, &interview, None)?;
            ws.send(&text(r#"{"type":"start"}"#), deadline())?;
            until(&mut ws, |e| {
                e["type"] == "state" && e["state"] == "listening"
            })?;
            let after = [
                text(r#"{"type":"finish"}"#),
                text(r#"{"type":"finish"}"#),
                text(r#"{"type":"text","text":"late"}"#),
                binary(&[0; 640]),
            ]
            .concat();
            let _ = ws.send(&after, deadline());
            let (end, errors) = probe(&mut ws)?;
            judge(end, errors, Expect::Either)
        },
    ));

    // The handshake itself.
    let handshake = |name: &str,
                     path: fn(&Ctx) -> String,
                     headers: &'static [(&'static str, &'static str)],
                     with_cookie: bool| {
        case(WEBSOCKET, format!("handshake: {name}"), move |ctx| {
            let path = path(ctx);
            let mut all: Vec<(&str, &str)> =
                vec![("Upgrade", "websocket"), ("Connection", "Upgrade")];
            all.extend_from_slice(headers);
            if with_cookie {
                all.push(("Cookie", ctx.cookie.as_str()));
            }
            let reply = ctx.call("GET", &path, &all, b"")?;
            if reply.status == 101 || reply.status >= 500 {
                return Err(wrong(format!("answered {}", reply.summary())));
            }
            Ok(reply.summary())
        })
    };
    let live_path = |ctx: &Ctx| format!("/api/v1/interviews/{}/ws", ctx.interview);
    cases.push(handshake(
        "version 12",
        live_path,
        &[
            ("Sec-WebSocket-Version", "12"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ],
        true,
    ));
    cases.push(handshake(
        "no key",
        live_path,
        &[("Sec-WebSocket-Version", "13")],
        true,
    ));
    cases.push(handshake(
        "cross-site origin",
        live_path,
        &[
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Origin", "https://evil.example"),
        ],
        true,
    ));
    cases.push(handshake(
        "a token of 60,000 characters",
        |ctx| {
            format!(
                "/api/v1/interviews/{}/ws?token={}",
                ctx.candidate_interview,
                "A".repeat(60_000)
            )
        },
        &[
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ],
        false,
    ));
    cases.push(handshake(
        "a token of invalid UTF-8 and NUL",
        |ctx| {
            format!(
                "/api/v1/interviews/{}/ws?token=%ff%fe%00%c0%af",
                ctx.candidate_interview
            )
        },
        &[
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ],
        false,
    ));
    cases.push(handshake(
        "a valid token on another interview",
        |ctx| {
            format!(
                "/api/v1/interviews/{}/ws?token={}",
                ctx.interview, ctx.token
            )
        },
        &[
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ],
        false,
    ));
    cases
}

// ---- HTTP -----------------------------------------------------------------------------------

/// Every route with a path parameter, the parameter written `{}`.
const PARAM_ROUTES: [(&str, &str); 17] = [
    ("GET", "/i/{}"),
    ("GET", "/api/v1/interviews/{}"),
    ("DELETE", "/api/v1/interviews/{}"),
    ("GET", "/api/v1/interviews/{}/ws"),
    ("GET", "/api/v1/interviews/{}/report"),
    ("GET", "/api/v1/interviews/{}/report.pdf"),
    ("DELETE", "/api/v1/bookmarks/{}"),
    ("GET", "/api/v1/jobs/{}"),
    ("PATCH", "/api/v1/jobs/{}"),
    ("GET", "/api/v1/jobs/{}/candidates"),
    ("GET", "/api/v1/jobs/{}/candidates.csv"),
    ("GET", "/api/v1/jobs/{}/events"),
    ("GET", "/api/v1/interviews/{}/invites"),
    ("DELETE", "/api/v1/interviews/{}/invites/{}"),
    ("GET", "/api/v1/interviews/{}/resume"),
    ("PUT", "/api/v1/interviews/{}/resume"),
    ("PATCH", "/api/v1/questions/{}"),
];

const TRAVERSALS: [&str; 5] = [
    "..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "..%252F..%252F..%252Fetc%252Fpasswd",
    "%2e%2e%5c%2e%2e%5c%2e%2e%5cviva.db",
    "....%2F%2F....%2F%2Fetc%2Fpasswd%00.pdf",
    "..",
];

/// An answer that neither fails nor hands out a file from outside the app.
fn no_leak(result: Result<Reply, NetError>) -> Outcome {
    let reply = result?;
    if reply.status >= 500 {
        return Err(wrong(format!(
            "answered {}: {}",
            reply.summary(),
            body_snippet(&reply)
        )));
    }
    let body = String::from_utf8_lossy(&reply.body);
    if body.contains("root:") || body.contains("SQLite format") {
        return Err(wrong(format!("leaked a file: {}", body_snippet(&reply))));
    }
    Ok(reply.summary())
}

/// Sends a request whose body may never be complete: an answer within a few seconds must not
/// be a 5xx; no answer means the server is (rightly) waiting for the rest, and the connection
/// is closed.
fn held_open(ctx: &Ctx, raw: &[u8]) -> Outcome {
    let by = std::time::Instant::now() + Duration::from_secs(3);
    match net::exchange(ctx.addr, raw, by) {
        Err(NetError::TimedOut) => Ok("waiting for the body".into()),
        other => answered_or_dropped(other),
    }
}

fn http_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let http = |name: &str, run: fn(&Ctx) -> Outcome| case(HTTP, name, run);

    // Path traversal in every path parameter (signed in, so the handlers run).
    for (method, route) in PARAM_ROUTES {
        cases.push(case(
            HTTP,
            format!("traversal in {method} {route}"),
            move |ctx| {
                let mut answers = Vec::new();
                for traversal in TRAVERSALS {
                    let path = route.replace("{}", traversal);
                    let body: &[u8] = if method == "PATCH" { b"{}" } else { b"" };
                    let headers = [
                        ("Cookie", ctx.cookie.as_str()),
                        ("Content-Type", "application/json"),
                    ];
                    answers.push(no_leak(ctx.call(method, &path, &headers, body))?);
                }
                answers.dedup();
                Ok(answers.join(","))
            },
        ));
    }
    cases.push(http("traversal in static files", |ctx| {
        let mut answers = Vec::new();
        for path in [
            "/../../../../etc/passwd",
            "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
            "/..%2f..%2f..%2fetc%2fpasswd",
            "/static/..%5c..%5cCargo.toml",
            "/%00",
            "/viva.db",
            "/.%2e/.%2e/.%2e/etc/passwd",
        ] {
            answers.push(no_leak(ctx.call("GET", path, &[], b""))?);
        }
        answers.dedup();
        Ok(answers.join(","))
    }));

    // Methods, request lines and headers.
    cases.push(http("a method of 4,000 characters", |ctx| {
        answered_or_dropped(ctx.call(&"A".repeat(4000), "/healthz", &[], b""))
    }));
    cases.push(http("100 different junk methods", |ctx| {
        for i in 0..100u64 {
            let method: String = files::junk(12, i + 1)
                .iter()
                .map(|b| char::from(b'A' + b % 26))
                .collect();
            answered_or_dropped(ctx.call(&method, "/api/v1/auth/me", &[], b""))?;
        }
        Ok("all answered".into())
    }));
    cases.push(http("a method with control bytes", |ctx| {
        answered_or_dropped(ctx.send(&net::request_bytes(b"G\0E\x7fT", b"/healthz", &[], b"")))
    }));
    cases.push(http("CONNECT to another port", |ctx| {
        answered_or_dropped(ctx.call("CONNECT", "127.0.0.1:22", &[], b""))
    }));
    cases.push(http("a 64 KB request target", |ctx| {
        answered_or_dropped(ctx.call(
            "GET",
            &format!("/api/v1/interviews?x={}", "a".repeat(64 * 1024)),
            &[],
            b"",
        ))
    }));
    cases.push(http("a 1 MB header", |ctx| {
        answered_or_dropped(ctx.call(
            "GET",
            "/healthz",
            &[("X-Big", "a".repeat(1 << 20).as_str())],
            b"",
        ))
    }));
    cases.push(http("10,000 headers", |ctx| {
        let names: Vec<String> = (0..10_000).map(|i| format!("X-H{i}")).collect();
        let headers: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1")).collect();
        answered_or_dropped(ctx.call("GET", "/healthz", &headers, b""))
    }));
    cases.push(http("header bytes NUL, DEL and 0xFF", |ctx| {
        let raw = b"GET /api/v1/auth/me HTTP/1.1\r\nHost: x\r\nX-A: a\0b\x7f\xff\r\nCookie: viva_session=\xff\xfe\r\n\r\n".to_vec();
        answered_or_dropped(ctx.send(&raw))
    }));
    cases.push(http("a header line without a colon", |ctx| {
        answered_or_dropped(ctx.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n"))
    }));
    cases.push(http("HTTP/0.9, HTTP/9.9 and an HTTP/2 preface", |ctx| {
        let mut answers = Vec::new();
        for raw in [
            &b"GET /healthz\r\n\r\n"[..],
            b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00",
        ] {
            answers.push(answered_or_dropped(ctx.send(raw))?);
        }
        Ok(answers.join(","))
    }));
    cases.push(http("a TLS ClientHello on the plain port", |ctx| {
        let mut hello = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec();
        hello.extend(files::junk(500, 99));
        answered_or_dropped(ctx.send(&hello))
    }));
    cases.push(http("200 pipelined requests on one connection", |ctx| {
        let mut raw = Vec::new();
        for _ in 0..199 {
            raw.extend_from_slice(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        }
        raw.extend_from_slice(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let by = deadline();
        let mut stream = net::connect(ctx.addr, by)?;
        net::write_all(&mut stream, &raw, by)?;
        let mut buf = Vec::new();
        let mut ok = 0;
        while ok < 200 {
            let reply = net::read_response(&mut stream, &mut buf, by)?;
            if reply.status != 200 {
                return Err(wrong(format!("answer {ok} was {}", reply.summary())));
            }
            ok += 1;
        }
        Ok(format!("{ok} x 200"))
    }));

    // Lengths that lie.
    cases.push(http("Content-Length: 2^64 + 1", |ctx| {
        answered_or_dropped(ctx.send(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 18446744073709551617\r\n\r\n{}"))
    }));
    cases.push(http("Content-Length: 2^64 - 1 on an upload, no body", |ctx| {
        let raw = format!(
            "PUT /api/v1/invite/resume HTTP/1.1\r\nHost: x\r\nX-Interview-Token: {}\r\nContent-Length: 18446744073709551615\r\n\r\n",
            ctx.token
        );
        held_open(ctx, raw.as_bytes())
    }));
    cases.push(http("Content-Length: -1", |ctx| {
        answered_or_dropped(
            ctx.send(
                b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n{}",
            ),
        )
    }));
    cases.push(http("two different Content-Lengths", |ctx| {
        answered_or_dropped(ctx.send(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}"))
    }));
    cases.push(http("Content-Length with chunked (smuggling)", |ctx| {
        answered_or_dropped(ctx.send(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        ))
    }));
    cases.push(http("a chunk of 2^64 - 1 bytes", |ctx| {
        let raw = format!(
            "PUT /api/v1/invite/resume HTTP/1.1\r\nHost: x\r\nX-Interview-Token: {}\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc",
            ctx.token
        );
        held_open(ctx, raw.as_bytes())
    }));
    cases.push(http("Expect: 100-continue with 10 GB declared", |ctx| {
        let raw = format!(
            "PUT /api/v1/invite/resume HTTP/1.1\r\nHost: x\r\nX-Interview-Token: {}\r\nExpect: 100-continue\r\nContent-Length: 10737418240\r\n\r\n",
            ctx.token
        );
        held_open(ctx, raw.as_bytes())
    }));
    cases.push(http("a 1 GB gzip bomb as a JSON body", |ctx| {
        let bomb = files::gzip_of_repeated(b' ', 1 << 30);
        let reply = ctx.call(
            "POST",
            "/api/v1/auth/login",
            &[
                ("Content-Type", "application/json"),
                ("Content-Encoding", "gzip"),
            ],
            &bomb,
        );
        answered_with(reply, &[400, 413, 415])
    }));

    cases.push(http(
        "20 gzip bodies of 50 KB inflating to 50 MB each, at once (login, no account)",
        |ctx| {
            // Each under the 64 KiB JSON limit as sent: only what they inflate to is large.
            let bomb = std::sync::Arc::new(files::gzip_of_repeated(b' ', 50 << 20));
            let addr = ctx.addr;
            let senders: Vec<_> = (0..20)
                .map(|_| {
                    let bomb = bomb.clone();
                    std::thread::spawn(move || {
                        let headers = [
                            ("Content-Type", "application/json"),
                            ("Content-Encoding", "gzip"),
                        ];
                        let raw = net::request("POST", "/api/v1/auth/login", &headers, &bomb);
                        net::exchange(addr, &raw, deadline())
                    })
                })
                .collect();
            let mut answers = Vec::new();
            for sender in senders {
                let reply = sender
                    .join()
                    .map_err(|_| wrong("a sending thread panicked"))?;
                answers.push(answered_with(reply, &[400, 413, 415])?);
            }
            answers.dedup();
            Ok(format!("{} bytes each: {}", bomb.len(), answers.join(",")))
        },
    ));

    // Slow clients.
    cases.push(http("slowloris: headers never finished", |ctx| {
        let by = deadline();
        let mut stream = net::connect(ctx.addr, by)?;
        net::write_all(
            &mut stream,
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a",
            by,
        )?;
        // The server must give up on it (or answer) by itself.
        answered_or_dropped(net::read_response(&mut stream, &mut Vec::new(), by))
    }));
    cases.push(http("200 uploads stalled halfway, /healthz meanwhile", |ctx| {
        let by = deadline();
        let mut held = Vec::new();
        for _ in 0..200 {
            let mut stream = net::connect(ctx.addr, by)?;
            let head = format!(
                "PUT /api/v1/invite/resume HTTP/1.1\r\nHost: x\r\nX-Interview-Token: {}\r\nContent-Length: 1000000\r\n\r\n%PDF-1.7\n",
                ctx.token
            );
            net::write_all(&mut stream, head.as_bytes(), by)?;
            held.push(stream);
        }
        std::thread::sleep(Duration::from_secs(2));
        let health = ctx.call("GET", "/healthz", &[], b"")?;
        if health.status != 200 {
            return Err(wrong(format!("/healthz answered {} while uploads stalled", health.summary())));
        }
        drop(held);
        Ok("healthz 200 while held".into())
    }));

    // JSON.
    for (path, name) in [
        ("/api/v1/auth/login", "login"),
        ("/api/v1/auth/register", "register"),
        ("/api/v1/jobs", "new job"),
        ("/api/v1/interviews", "new interview"),
    ] {
        cases.push(case(
            HTTP,
            format!("JSON arrays nested 30,000 deep ({name})"),
            move |ctx| {
                // As deep as the 64 KiB body limit allows: the parser's recursion is reached.
                let body = format!("{}{}", "[".repeat(30_000), "]".repeat(30_000));
                let headers = [
                    ("Content-Type", "application/json"),
                    ("Cookie", ctx.cookie.as_str()),
                ];
                answered_with(ctx.call("POST", path, &headers, body.as_bytes()), &[400])
            },
        ));
    }
    cases.push(http("JSON objects nested 10,000 deep (new job)", |ctx| {
        let body = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
        let headers = [
            ("Content-Type", "application/json"),
            ("Cookie", ctx.cookie.as_str()),
        ];
        answered_with(
            ctx.call("POST", "/api/v1/jobs", &headers, body.as_bytes()),
            &[400],
        )
    }));
    cases.push(http("JSON nested 100,000 deep, unclosed (login)", |ctx| {
        let body = "[".repeat(100_000);
        answered_with(
            ctx.call(
                "POST",
                "/api/v1/auth/login",
                &[("Content-Type", "application/json")],
                body.as_bytes(),
            ),
            &[413],
        )
    }));
    for (name, body) in [
        (
            "a byte-order mark first",
            b"\xef\xbb\xbf{\"email\":\"a@b.c\",\"password\":\"x\"}".to_vec(),
        ),
        (
            "invalid UTF-8 in a string",
            b"{\"email\":\"\xff\xfe@b.c\",\"password\":\"x\"}".to_vec(),
        ),
        (
            "a lone surrogate escape",
            br#"{"email":"\ud800@b.c","password":"x"}"#.to_vec(),
        ),
        (
            "a number of 100,000 digits",
            format!(r#"{{"email":{},"password":"x"}}"#, "9".repeat(100_000)).into_bytes(),
        ),
        ("1e999999", br#"{"email":1e999999,"password":"x"}"#.to_vec()),
        (
            "100,000 duplicate keys",
            format!(
                "{{{}\"password\":\"x\"}}",
                "\"email\":\"a@b.c\",".repeat(100_000)
            )
            .into_bytes(),
        ),
        (
            "an email of 1 MB",
            json!({"email": format!("{}@b.c", "a".repeat(1 << 20)), "password": "x"})
                .to_string()
                .into_bytes(),
        ),
        (
            "a password of 1 MB",
            json!({"email": "a@b.c", "password": "p".repeat(1 << 20)})
                .to_string()
                .into_bytes(),
        ),
        (
            "trailing junk",
            b"{\"email\":\"a@b.c\",\"password\":\"x\"} }}}".to_vec(),
        ),
        ("null", b"null".to_vec()),
    ] {
        cases.push(case(HTTP, format!("login JSON: {name}"), move |ctx| {
            let reply = ctx.call(
                "POST",
                "/api/v1/auth/login",
                &[("Content-Type", "application/json")],
                &body,
            );
            // 401/429 when it parsed as a (wrong) login, 400/413 when it did not.
            answered_with(reply, &[400, 401, 413, 429])
        }));
    }
    cases.push(http("a job with 100,000 skills", |ctx| {
        let mut body = crate::job_body();
        body["skills"] = json!(vec!["api-design"; 100_000]);
        body["title"] = json!("t".repeat(100_000));
        let headers = [
            ("Content-Type", "application/json"),
            ("Cookie", ctx.cookie.as_str()),
        ];
        answered_with(
            ctx.call(
                "POST",
                "/api/v1/jobs",
                &headers,
                body.to_string().as_bytes(),
            ),
            &[400, 413],
        )
    }));
    for (content_type, name) in [
        ("text/plain", "text/plain"),
        ("application/json; charset=utf-16", "JSON in UTF-16"),
        ("multipart/form-data; boundary=x", "multipart"),
        ("application/x-www-form-urlencoded", "a form"),
        ("", "an empty Content-Type"),
    ] {
        cases.push(case(HTTP, format!("login sent as {name}"), move |ctx| {
            let body = json!({"email": "a@b.c", "password": "x"}).to_string();
            let reply = ctx.call(
                "POST",
                "/api/v1/auth/login",
                &[("Content-Type", content_type)],
                body.as_bytes(),
            );
            answered_with(reply, &[400, 401, 415, 429])
        }));
    }

    // Invalid UTF-8 and junk in paths and queries.
    cases.push(http(
        "invalid UTF-8 in paths and queries (encoded and raw)",
        |ctx| {
            let mut answers = Vec::new();
            for path in [
                &b"/api/v1/interviews/%ff%fe%fd"[..],
                b"/api/v1/interviews/\xff\xfe",
                b"/%c0%af%c0%af/etc/passwd",
                b"/api/v1/interviews?page=%ff&per_page=%00",
                b"/api/v1/interviews?page=\x80\x81",
                b"/i/%ff%ff%ff",
                b"/api/v1/invite?%ff=%ff",
            ] {
                let raw = net::request_bytes(b"GET", path, &[("Cookie", ctx.cookie.as_str())], b"");
                answers.push(answered_or_dropped(ctx.send(&raw))?);
            }
            answers.dedup();
            Ok(answers.join(","))
        },
    ));
    cases.push(http("absurd paging queries", |ctx| {
        let mut answers = Vec::new();
        for query in [
            "page=99999999999999999999&per_page=-1",
            "page=-9223372036854775808&per_page=9223372036854775807",
            "per_page=100000000",
            "page=1&page=2&page=3",
            "page=NaN&per_page=1e9",
        ] {
            let path = format!("/api/v1/interviews?{query}");
            answers.push(answered(ctx.call(
                "GET",
                &path,
                &[("Cookie", ctx.cookie.as_str())],
                b"",
            ))?);
        }
        answers.dedup();
        Ok(answers.join(","))
    }));
    cases.push(http("1,000 different junk paths", |ctx| {
        let mut statuses = std::collections::BTreeMap::new();
        for i in 0..1000u64 {
            let bytes = files::junk(1 + (i as usize % 80), i + 1000);
            let path: String = bytes
                .iter()
                .map(|b| match b % 4 {
                    0 => "/".to_owned(),
                    1 => format!("%{b:02x}"),
                    _ => char::from(b'a' + b % 26).to_string(),
                })
                .collect();
            let reply = answered(ctx.call(
                "GET",
                &format!("/{path}"),
                &[("Cookie", ctx.cookie.as_str())],
                b"",
            ))?;
            *statuses.entry(reply).or_insert(0) += 1;
        }
        Ok(statuses
            .iter()
            .map(|(s, n)| format!("{n}x{s}"))
            .collect::<Vec<_>>()
            .join(","))
    }));

    // Credentials that are junk.
    cases.push(http("a session cookie of 100 KB", |ctx| {
        let cookie = format!("viva_session={}", "A".repeat(100 * 1024));
        answered_or_dropped(ctx.call(
            "GET",
            "/api/v1/auth/me",
            &[("Cookie", cookie.as_str())],
            b"",
        ))
    }));
    cases.push(http("1,000 cookies", |ctx| {
        let cookie: String =
            (0..1000).map(|i| format!("c{i}=v; ")).collect::<String>() + "viva_session=junk";
        answered_or_dropped(ctx.call(
            "GET",
            "/api/v1/auth/me",
            &[("Cookie", cookie.as_str())],
            b"",
        ))
    }));
    cases.push(http("invite tokens: 100 KB, SQL, NUL", |ctx| {
        let mut answers = Vec::new();
        for token in [
            "A".repeat(100 * 1024),
            "' OR 1=1 --".to_owned(),
            "abc\u{1}def".to_owned(),
        ] {
            answers.push(answered_or_dropped(ctx.call(
                "GET",
                "/api/v1/invite",
                &[("X-Interview-Token", token.as_str())],
                b"",
            ))?);
        }
        answers.dedup();
        Ok(answers.join(","))
    }));
    cases.push(http(
        "resume download with 1,000 ranges and absurd ones",
        |ctx| {
            let (_, _, token) = ctx.new_candidate();
            let stored = ctx.call(
                "PUT",
                "/api/v1/invite/resume",
                &[("X-Interview-Token", token.as_str())],
                b"Built Orbit, a deploy tool.\n",
            )?;
            if stored.status >= 300 {
                return Err(wrong(format!(
                    "storing a text resume: {}",
                    stored.summary()
                )));
            }
            let many: String = (0..1000).map(|i| format!("{i}-{i},")).collect();
            let mut answers = Vec::new();
            for range in [
                format!("bytes={}", many.trim_end_matches(',')),
                "bytes=99999999999999999999-".to_owned(),
                "bytes=-0".to_owned(),
                "bytes=5-1".to_owned(),
            ] {
                let reply = ctx.call(
                    "GET",
                    "/api/v1/invite/resume",
                    &[
                        ("X-Interview-Token", token.as_str()),
                        ("Range", range.as_str()),
                    ],
                    b"",
                );
                answers.push(answered(reply)?);
            }
            answers.dedup();
            Ok(answers.join(","))
        },
    ));
    cases
}
