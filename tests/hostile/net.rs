//! Raw HTTP/1.1 and WebSocket clients over `std::net::TcpStream`: the corpus needs to send what
//! well-behaved clients refuse to (4,000-character methods, lying lengths, unmasked or reserved
//! frames), and every read has a deadline so a server that never answers fails the case
//! instead of hanging the test.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// How a request went, when it did not bring back a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetError {
    /// Nothing complete arrived before the deadline: the server hangs.
    TimedOut,
    /// The server closed (or reset) the connection without a complete response.
    Closed(String),
    Io(String),
}

impl std::fmt::Display for NetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TimedOut => write!(f, "no answer before the deadline (hang)"),
            Self::Closed(how) => write!(f, "connection closed without a response ({how})"),
            Self::Io(e) => write!(f, "i/o error: {e}"),
        }
    }
}

/// A response read whole.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// `status code` for the table, e.g. `404 not_found`.
    pub fn summary(&self) -> String {
        let code = self.error_code();
        if code.is_empty() {
            self.status.to_string()
        } else {
            format!("{} {code}", self.status)
        }
    }
}

pub fn connect(addr: SocketAddr, deadline: Instant) -> Result<TcpStream, NetError> {
    let left = left(deadline)?;
    let stream = TcpStream::connect_timeout(&addr, left).map_err(|e| match e.kind() {
        ErrorKind::TimedOut | ErrorKind::WouldBlock => NetError::TimedOut,
        _ => NetError::Io(e.to_string()),
    })?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

fn left(deadline: Instant) -> Result<Duration, NetError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(NetError::TimedOut)
    } else {
        Ok(left)
    }
}

/// Writes all of `bytes` before the deadline. A server that answers early and closes makes the
/// write fail; the caller still reads what it answered.
pub fn write_all(stream: &mut TcpStream, bytes: &[u8], deadline: Instant) -> Result<(), NetError> {
    let mut rest = bytes;
    while !rest.is_empty() {
        let _ = stream.set_write_timeout(Some(left(deadline)?));
        match stream.write(rest) {
            Ok(0) => return Err(NetError::Closed("write returned 0".into())),
            Ok(n) => rest = &rest[n..],
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(NetError::Closed(e.to_string())),
        }
    }
    Ok(())
}

/// Reads more bytes into `buf`; `Ok(0)` at the end of the stream.
fn read_some(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    deadline: Instant,
) -> Result<usize, NetError> {
    let mut chunk = [0u8; 64 * 1024];
    loop {
        let _ = stream.set_read_timeout(Some(left(deadline)?.min(Duration::from_millis(500))));
        match stream.read(&mut chunk) {
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                return Ok(n);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(NetError::Closed(e.to_string())),
        }
    }
}

/// Sends one raw request (its bytes exactly as given) on a new connection and reads the
/// response.
pub fn exchange(addr: SocketAddr, request: &[u8], deadline: Instant) -> Result<Reply, NetError> {
    let mut stream = connect(addr, deadline)?;
    let written = write_all(&mut stream, request, deadline);
    match read_response(&mut stream, &mut Vec::new(), deadline) {
        Ok(reply) => Ok(reply),
        // The write's failure says more when nothing could be read either.
        Err(NetError::Closed(_)) if written.is_err() => {
            Err(written.err().unwrap_or(NetError::TimedOut))
        }
        Err(e) => Err(e),
    }
}

/// Reads one response from `stream`, `buf` holding bytes already read (what follows the
/// response stays in it). Interim 1xx responses are skipped.
pub fn read_response(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    deadline: Instant,
) -> Result<Reply, NetError> {
    loop {
        if let Some(reply) = parse_response(buf, false) {
            if (100..200).contains(&reply.status) && reply.status != 101 {
                continue;
            }
            return Ok(reply);
        }
        if read_some(stream, buf, deadline)? == 0 {
            return parse_response(buf, true)
                .ok_or_else(|| NetError::Closed(format!("after {} bytes", buf.len())));
        }
    }
}

/// One complete response from the start of `buf` (removed from it), if there is one yet.
/// `at_eof`: the connection ended, so a body without a length ends here.
fn parse_response(buf: &mut Vec<u8>, at_eof: bool) -> Option<Reply> {
    let head_end = find(buf, b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let value = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let body_start = head_end + 4;
    let no_body = status == 101 || status == 204 || status == 304 || (100..200).contains(&status);
    let (body, consumed) = if no_body {
        (Vec::new(), body_start)
    } else if value("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        dechunk(&buf[body_start..]).map(|(body, used)| (body, body_start + used))?
    } else if let Some(length) = value("content-length") {
        let length: usize = length.parse().ok()?;
        if buf.len() < body_start + length {
            return None;
        }
        (
            buf[body_start..body_start + length].to_vec(),
            body_start + length,
        )
    } else if at_eof {
        (buf[body_start..].to_vec(), buf.len())
    } else {
        return None;
    };
    buf.drain(..consumed);
    Some(Reply {
        status,
        headers,
        body,
    })
}

/// A chunked body, and how many bytes it took, once its last chunk is in `data`.
fn dechunk(data: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let line_end = at + find(&data[at..], b"\r\n")?;
        let size_text = String::from_utf8_lossy(&data[at..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        at = line_end + 2;
        if size == 0 {
            // Trailers end with an empty line.
            let end = at + find(&data[at..], b"\r\n")?;
            return Some((body, end + 2));
        }
        if data.len() < at + size + 2 {
            return None;
        }
        body.extend_from_slice(&data[at..at + size]);
        at += size + 2;
    }
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A request's bytes: `METHOD PATH HTTP/1.1`, Host, the given headers, Content-Length when
/// there is a body, `Connection: close`.
pub fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    request_bytes(method.as_bytes(), path.as_bytes(), headers, body)
}

pub fn request_bytes(method: &[u8], path: &[u8], headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 512);
    out.extend_from_slice(method);
    out.push(b' ');
    out.extend_from_slice(path);
    out.extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("connection"))
    {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    let mut has_length = false;
    for (name, value) in headers {
        has_length |= name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding");
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    if !body.is_empty() && !has_length {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

// ---- WebSocket ------------------------------------------------------------------------------

pub const OP_CONTINUATION: u8 = 0x0;
pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xA;

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A frame's bytes as a client sends them (masked), with every bit chosen by the caller.
pub fn frame(fin: bool, rsv: u8, opcode: u8, masked: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = frame_header(fin, rsv, opcode, masked, payload.len() as u64);
    if masked {
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

/// Only the header of a frame declaring `length` payload bytes (which may never come).
pub fn frame_header(fin: bool, rsv: u8, opcode: u8, masked: bool, length: u64) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | ((rsv & 0x7) << 4) | (opcode & 0xF)];
    let mask_bit = u8::from(masked) << 7;
    if length < 126 {
        out.push(mask_bit | length as u8);
    } else if length <= u64::from(u16::MAX) {
        out.push(mask_bit | 126);
        out.extend_from_slice(&(length as u16).to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&length.to_be_bytes());
    }
    if masked {
        out.extend_from_slice(&MASK);
    }
    out
}

/// A whole, masked client frame.
pub fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame(true, 0, opcode, true, payload)
}

/// A close frame with `code` and `reason`.
pub fn close_frame(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason);
    client_frame(OP_CLOSE, &payload)
}

/// A frame the server sent.
#[derive(Debug)]
pub struct ServerFrame {
    pub opcode: u8,
    pub payload: Vec<u8>,
}

/// A WebSocket connection after a successful upgrade.
pub struct Ws {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

/// Why an upgrade did not happen.
#[derive(Debug)]
pub enum UpgradeError {
    Refused(Reply),
    Net(NetError),
}

impl std::fmt::Display for UpgradeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused(reply) => write!(f, "upgrade refused: {}", reply.summary()),
            Self::Net(e) => write!(f, "upgrade: {e}"),
        }
    }
}

impl Ws {
    /// Upgrades `GET path` with the given extra headers (a cookie, or nothing with a token in
    /// the query).
    pub fn connect(
        addr: SocketAddr,
        path: &str,
        headers: &[(&str, &str)],
        deadline: Instant,
    ) -> Result<Self, UpgradeError> {
        let mut all = vec![
            ("Connection", "Upgrade"),
            ("Upgrade", "websocket"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Version", "13"),
        ];
        all.extend_from_slice(headers);
        let bytes = request("GET", path, &all, b"");
        let mut stream = connect(addr, deadline).map_err(UpgradeError::Net)?;
        write_all(&mut stream, &bytes, deadline).map_err(UpgradeError::Net)?;
        let mut buf = Vec::new();
        let reply = read_response(&mut stream, &mut buf, deadline).map_err(UpgradeError::Net)?;
        if reply.status != 101 {
            return Err(UpgradeError::Refused(reply));
        }
        Ok(Self { stream, buf })
    }

    /// Sends raw bytes (one or more frames, whole or not).
    pub fn send(&mut self, bytes: &[u8], deadline: Instant) -> Result<(), NetError> {
        write_all(&mut self.stream, bytes, deadline)
    }

    /// The next frame from the server (its pings answered on the way).
    pub fn next_frame(&mut self, deadline: Instant) -> Result<ServerFrame, NetError> {
        loop {
            if let Some(frame) = self.parse_frame() {
                if frame.opcode == OP_PING {
                    let pong = client_frame(OP_PONG, &frame.payload);
                    let _ = write_all(&mut self.stream, &pong, deadline);
                    continue;
                }
                return Ok(frame);
            }
            if read_some(&mut self.stream, &mut self.buf, deadline)? == 0 {
                return Err(NetError::Closed("end of stream".into()));
            }
        }
    }

    fn parse_frame(&mut self) -> Option<ServerFrame> {
        let b = &self.buf;
        if b.len() < 2 {
            return None;
        }
        let opcode = b[0] & 0xF;
        let (length, mut at) = match b[1] & 0x7F {
            126 => (u64::from(u16::from_be_bytes([*b.get(2)?, *b.get(3)?])), 4),
            127 => (u64::from_be_bytes(b.get(2..10)?.try_into().ok()?), 10),
            n => (u64::from(n), 2),
        };
        let mask = if b[1] & 0x80 != 0 {
            let mask: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
            at += 4;
            Some(mask)
        } else {
            None
        };
        let length = usize::try_from(length).ok()?;
        let end = at.checked_add(length)?;
        let mut payload = b.get(at..end)?.to_vec();
        if let Some(mask) = mask {
            payload
                .iter_mut()
                .enumerate()
                .for_each(|(i, byte)| *byte ^= mask[i % 4]);
        }
        self.buf.drain(..end);
        Some(ServerFrame { opcode, payload })
    }
}
