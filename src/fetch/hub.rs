//! Downloads from the model hub over HTTP(S), streamed to disk with a progress bar.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::progress::Progress;

/// An unreachable hub should fail fast so the package-index fallback starts promptly.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("{url}: {source}")]
    Http { url: String, source: ureq::Error },
    #[error("{url}: HTTP status {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: {source}")]
    Io { url: String, source: io::Error },
    #[error("{url}: sha256 {actual}, but the hub announced {expected}")]
    Checksum {
        url: String,
        expected: String,
        actual: String,
    },
}

/// A finished download: its sha256 and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    pub sha256: String,
    pub bytes: u64,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_recv_response(Some(RESPONSE_TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into()
}

/// The sha256 the hub announces for a file: large files carry it as their (linked) ETag.
fn announced_sha256(headers: &ureq::http::HeaderMap) -> Option<String> {
    ["x-linked-etag", "etag"].iter().find_map(|name| {
        let value = headers.get(*name)?.to_str().ok()?;
        let value = value.trim_start_matches("W/").trim_matches('"');
        (value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| value.to_ascii_lowercase())
    })
}

/// Downloads `url` into `dest` (which must not be a final path: callers rename it into place).
pub fn download(url: &str, dest: &Path, progress: &Progress) -> Result<Downloaded, HubError> {
    let http = |source| HubError::Http {
        url: url.to_owned(),
        source,
    };
    let io_err = |source| HubError::Io {
        url: url.to_owned(),
        source,
    };
    let mut response = agent().get(url).call().map_err(http)?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(HubError::Status {
            url: url.to_owned(),
            status,
        });
    }
    let expected = announced_sha256(response.headers());
    let body = response.body_mut();
    let task = progress.bytes(url, body.content_length());
    let mut reader = body.as_reader();
    let mut out = BufWriter::new(File::create(dest).map_err(io_err)?);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(io_err)?;
        total += n as u64;
        task.advance(n as u64);
    }
    let file = out.into_inner().map_err(|e| io_err(e.into_error()))?;
    file.sync_all().map_err(io_err)?;
    let actual = hex::encode(hasher.finalize());
    if let Some(expected) = expected {
        if expected != actual {
            let _ = fs::remove_file(dest);
            return Err(HubError::Checksum {
                url: url.to_owned(),
                expected,
                actual,
            });
        }
    }
    Ok(Downloaded {
        sha256: actual,
        bytes: total,
    })
}
