//! Where webhooks may go. A URL is checked when it is saved (http or https, a host, no
//! credentials, not a private address unless allowed) and again, by address, at every
//! delivery: [`GuardedResolver`] drops the private and loopback addresses a name resolves to
//! (unless `webhook_allow_private`), so a name that later points inside the network (DNS
//! rebinding) is refused too. Redirects are never followed, and no proxy is used.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ureq::unversioned::resolver::Resolver;
use url::{Host, Url};

use crate::domain::Invalid;

/// The longest URL accepted.
pub const MAX_URL: usize = 2000;

/// Why a delivery was refused before connecting.
pub const PRIVATE_REFUSED: &str =
    "refused: the address is private or loopback (the server's webhook_allow_private is off)";

/// Checks an endpoint URL; returns it normalised.
pub fn parse_url(raw: &str, allow_private: bool) -> Result<Url, Invalid> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > MAX_URL {
        return Err(Invalid(format!("url: must be 1 to {MAX_URL} characters")));
    }
    let url = Url::parse(raw).map_err(|e| Invalid(format!("url: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Invalid(format!(
            "url: must start with http:// or https://, not {}:",
            url.scheme()
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Invalid(
            "url: must not carry a user name or password; verify viva's signature instead".into(),
        ));
    }
    if url.fragment().is_some() {
        return Err(Invalid("url: must not have a #fragment".into()));
    }
    let private = match url.host() {
        None => return Err(Invalid("url: must name a host".into())),
        Some(Host::Ipv4(ip)) => is_private(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => is_private(IpAddr::V6(ip)),
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
    };
    if private && !allow_private {
        return Err(Invalid(format!(
            "url: {} is a private or loopback address; the server's operator can allow these with webhook_allow_private",
            url.host_str().unwrap_or_default()
        )));
    }
    Ok(url)
}

/// Whether `ip` is somewhere a webhook should not reach by default: loopback, private,
/// link-local (cloud metadata services), shared, multicast, reserved or unspecified.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_private_v4(ip),
        IpAddr::V6(ip) => is_private_v6(ip),
    }
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        // Shared address space (carrier-grade NAT).
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments.
        || (a == 192 && b == 0 && c == 0)
        // Benchmarking.
        || (a == 198 && (b == 18 || b == 19))
        // Reserved.
        || a >= 240
}

fn is_private_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_private_v4(v4);
    }
    let segments = ip.segments();
    // NAT64 (64:ff9b::/96) carries an IPv4 address in its last 32 bits.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., hi, lo] = segments;
        return is_private_v4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    }
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // Unique local (fc00::/7).
        || (segments[0] & 0xfe00) == 0xfc00
        // Link-local (fe80::/10).
        || (segments[0] & 0xffc0) == 0xfe80
}

/// ureq's resolver, keeping only the addresses deliveries may reach.
#[derive(Debug)]
pub struct GuardedResolver {
    pub allow_private: bool,
    inner: ureq::unversioned::resolver::DefaultResolver,
}

impl GuardedResolver {
    pub fn new(allow_private: bool) -> Self {
        Self {
            allow_private,
            inner: ureq::unversioned::resolver::DefaultResolver::default(),
        }
    }
}

impl Resolver for GuardedResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let found = self.inner.resolve(uri, config, timeout)?;
        if self.allow_private {
            return Ok(found);
        }
        let mut kept = self.inner.empty();
        for addr in found.iter().filter(|addr| !is_private(addr.ip())) {
            kept.push(*addr);
        }
        if kept.is_empty() {
            return Err(ureq::Error::Io(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                PRIVATE_REFUSED,
            )));
        }
        Ok(kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_and_metadata_addresses_are_private() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(is_private(ip.parse().expect("ip")), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_private(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[test]
    fn urls_need_http_a_host_and_no_credentials() {
        assert!(parse_url("https://hooks.example.com/viva?x=1", false).is_ok());
        for (bad, why) in [
            ("", "1 to"),
            ("not a url", "url:"),
            ("ftp://example.com/", "http://"),
            ("https://user:pw@example.com/", "user name"),
            ("https://example.com/#frag", "fragment"),
            ("file:///etc/passwd", "http://"),
        ] {
            let e = parse_url(bad, false).expect_err(bad);
            assert!(e.0.contains(why), "{bad}: {e}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL));
        assert!(parse_url(&long, false).is_err());
    }

    #[test]
    fn the_resolver_drops_private_addresses_unless_allowed() {
        let uri: ureq::http::Uri = "http://localhost:9/hook".parse().expect("uri");
        let config = ureq::config::Config::default();
        let timeout = ureq::unversioned::transport::NextTimeout::default();
        let refused = GuardedResolver::new(false)
            .resolve(&uri, &config, timeout)
            .expect_err("localhost is loopback");
        assert!(
            refused.to_string().contains("webhook_allow_private"),
            "{refused}"
        );
        let allowed = GuardedResolver::new(true)
            .resolve(&uri, &config, timeout)
            .expect("allowed");
        assert!(!allowed.is_empty());
        assert!(
            allowed.iter().all(|addr| addr.ip().is_loopback()),
            "{allowed:?}"
        );
    }

    #[test]
    fn private_hosts_need_the_operators_permission() {
        for url in [
            "http://127.0.0.1:9000/hook",
            "http://localhost/hook",
            "http://[::1]/hook",
            "http://169.254.169.254/latest/meta-data",
        ] {
            let e = parse_url(url, false).expect_err(url);
            assert!(e.0.contains("webhook_allow_private"), "{url}: {e}");
            assert!(parse_url(url, true).is_ok(), "{url}");
        }
    }
}
