//! Cross-site request protection for state-changing requests.
//!
//! Session cookies are SameSite=Lax, which already keeps them off cross-site POSTs in current
//! browsers; this check is the second, independent layer (and covers older browsers and
//! same-site attackers such as a sibling subdomain). A POST, PUT, PATCH or DELETE is refused
//! with 403 `cross_site_request` when
//! - `Sec-Fetch-Site` is `cross-site` or `same-site` (the browser says another site sent it), or
//! - `Origin` is present and is not one of the server's origins (`public_url`; with no
//!   public_url configured and a loopback bind, also the localhost spellings of the bind).
//!
//! Requests with neither header (curl, server-to-server clients) pass: they carry no ambient
//! browser credentials to abuse.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web;

use crate::error::AppError;

/// The origins that may send state-changing requests, as `scheme://host[:port]` strings.
#[derive(Debug, Clone)]
pub struct AllowedOrigins(Vec<String>);

impl AllowedOrigins {
    pub fn new(origins: Vec<String>) -> Self {
        Self(origins)
    }

    pub fn contains(&self, origin: &str) -> bool {
        self.0.iter().any(|o| o.eq_ignore_ascii_case(origin))
    }
}

/// Why a request is cross-site, or `None` when it may proceed.
pub fn cross_site_reason(
    method: &Method,
    sec_fetch_site: Option<&str>,
    origin: Option<&str>,
    allowed: &AllowedOrigins,
) -> Option<&'static str> {
    if matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) {
        return None;
    }
    if let Some(site) = sec_fetch_site {
        if site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site") {
            return Some("the browser reports it came from another site");
        }
    }
    match origin {
        Some(origin) if !allowed.contains(origin) => Some("its Origin is not this server"),
        _ => None,
    }
}

pub async fn reject_cross_site(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let reason = match req.app_data::<web::Data<AllowedOrigins>>() {
        Some(allowed) => cross_site_reason(
            req.method(),
            header("sec-fetch-site"),
            header("origin"),
            allowed,
        ),
        None => Some("server origin is not configured"),
    };
    if let Some(reason) = reason {
        tracing::warn!(reason, "refused cross-site request");
        return Ok(req
            .error_response(AppError::CrossSite(reason))
            .map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> AllowedOrigins {
        AllowedOrigins::new(vec!["https://viva.example.com".into()])
    }

    #[test]
    fn safe_methods_always_pass() {
        assert_eq!(
            cross_site_reason(
                &Method::GET,
                Some("cross-site"),
                Some("https://evil.test"),
                &allowed()
            ),
            None
        );
    }

    #[test]
    fn cross_and_same_site_fetches_are_refused() {
        for site in ["cross-site", "same-site", "Cross-Site"] {
            assert!(cross_site_reason(&Method::POST, Some(site), None, &allowed()).is_some());
        }
        for site in ["same-origin", "none"] {
            assert!(cross_site_reason(
                &Method::POST,
                Some(site),
                Some("https://viva.example.com"),
                &allowed()
            )
            .is_none());
        }
    }

    #[test]
    fn foreign_or_null_origin_is_refused() {
        for origin in [
            "https://evil.test",
            "null",
            "http://viva.example.com",
            "https://viva.example.com:444",
        ] {
            assert!(
                cross_site_reason(&Method::DELETE, None, Some(origin), &allowed()).is_some(),
                "{origin}"
            );
        }
    }

    #[test]
    fn requests_without_browser_headers_pass() {
        assert!(cross_site_reason(&Method::POST, None, None, &allowed()).is_none());
    }
}
