//! Talking to providers: the HTTP client `openidconnect` sends its requests through, and each
//! provider's discovery document and signing keys, fetched once and kept until they fail.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use openidconnect::core::CoreProviderMetadata;
use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse, IssuerUrl};

use crate::config::OidcProvider;

/// The longest any request to a provider may take, connecting included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest response read from a provider (discovery documents and key sets are a few KiB).
const MAX_RESPONSE_BYTES: u64 = 1 << 20;

/// `openidconnect`'s HTTP client, over `ureq` (already viva's client for model downloads).
///
/// Why not its ready-made `reqwest` client: that would add reqwest and hyper's client to the
/// build for three requests per sign-in. Why not `awc`, also a dependency: it speaks `http` 0.2
/// while `openidconnect` speaks `http` 1 (ureq's own), so every request and response would be
/// converted by hand. ureq blocks, so each request runs on tokio's blocking threads. Redirects
/// are not followed (a provider's endpoints answer directly; following them would let a
/// compromised document send viva elsewhere).
#[derive(Clone)]
pub struct HttpClient(ureq::Agent);

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpClientError(String);

impl HttpClient {
    pub fn new() -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(REQUEST_TIMEOUT))
            .max_redirects(0)
            .http_status_as_error(false)
            .build()
            .into();
        Self(agent)
    }
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new()
    }
}

impl<'c> AsyncHttpClient<'c> for HttpClient {
    type Error = HttpClientError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpClientError>> + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        let agent = self.0.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || send(&agent, request))
                .await
                .map_err(|e| HttpClientError(format!("the request's thread failed: {e}")))?
        })
    }
}

fn send(agent: &ureq::Agent, request: HttpRequest) -> Result<HttpResponse, HttpClientError> {
    let (parts, body) = request.into_parts();
    let response = if body.is_empty() {
        agent.run(ureq::http::Request::from_parts(parts, ()))
    } else {
        agent.run(ureq::http::Request::from_parts(parts, body))
    }
    .map_err(|e| HttpClientError(e.to_string()))?;
    let (parts, mut body) = response.into_parts();
    let bytes = body
        .with_config()
        .limit(MAX_RESPONSE_BYTES)
        .read_to_vec()
        .map_err(|e| HttpClientError(e.to_string()))?;
    Ok(ureq::http::Response::from_parts(parts, bytes))
}

/// Each provider's discovery document with its signing keys, by provider key: fetched on first
/// use and kept; [`Discovery::forget`] drops one that failed (a provider that was down, keys
/// that were rotated), so the next use fetches it again.
#[derive(Default)]
pub struct Discovery {
    known: Mutex<HashMap<String, Arc<CoreProviderMetadata>>>,
}

impl Discovery {
    pub async fn metadata(
        &self,
        provider: &OidcProvider,
        http: &HttpClient,
    ) -> Result<Arc<CoreProviderMetadata>, String> {
        if let Some(known) = self.lock().get(&provider.key) {
            return Ok(known.clone());
        }
        let issuer = IssuerUrl::new(provider.issuer.clone()).map_err(|e| e.to_string())?;
        let metadata = CoreProviderMetadata::discover_async(issuer, http)
            .await
            .map_err(|e| error_chain(&e))?;
        let metadata = Arc::new(metadata);
        self.lock().insert(provider.key.clone(), metadata.clone());
        Ok(metadata)
    }

    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<CoreProviderMetadata>>> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// An error with its causes, in one line (for the log).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
