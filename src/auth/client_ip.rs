//! Which address a request's limits are counted against.
//!
//! Each reverse proxy appends the address it was reached from to `X-Forwarded-For`, so behind
//! `trusted_proxies` of them the last that many hops were written by proxies we trust and
//! everything to their left by the client, who can write anything there. The client's address
//! is therefore the `trusted_proxies`-th hop from the right, the one the outermost trusted proxy
//! added; never the leftmost.

use std::net::{IpAddr, SocketAddr};

/// The address to count `peer`'s request against. `forwarded_for` holds the request's
/// `X-Forwarded-For` header values in order (several header lines read as one list). With no
/// trusted proxies, or a header with fewer hops than proxies (the request did not come through
/// all of them), or an unreadable hop, it is the TCP peer: a client cannot choose its key.
pub fn client_ip<'a>(
    peer: Option<IpAddr>,
    forwarded_for: impl IntoIterator<Item = &'a str>,
    trusted_proxies: usize,
) -> Option<IpAddr> {
    if trusted_proxies == 0 {
        return peer;
    }
    let hops: Vec<&str> = forwarded_for
        .into_iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    let Some(index) = hops.len().checked_sub(trusted_proxies) else {
        return peer;
    };
    parse_hop(hops[index]).or(peer)
}

/// A hop as proxies write it: an address, or an address with a port (`[v6]:port` too).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const PEER: &str = "10.0.0.1";

    fn pick(header: &[&str], proxies: usize) -> Option<IpAddr> {
        client_ip(Some(ip(PEER)), header.iter().copied(), proxies)
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        assert_eq!(pick(&["198.51.100.1"], 0), Some(ip(PEER)));
        assert_eq!(pick(&[], 0), Some(ip(PEER)));
    }

    #[test]
    fn one_proxy_means_the_rightmost_hop_whatever_the_client_wrote() {
        assert_eq!(pick(&["203.0.113.7"], 1), Some(ip("203.0.113.7")));
        for spoofed in ["1.1.1.1, 203.0.113.7", "9.9.9.9,8.8.8.8 ,  203.0.113.7"] {
            assert_eq!(pick(&[spoofed], 1), Some(ip("203.0.113.7")), "{spoofed}");
        }
    }

    #[test]
    fn several_header_lines_read_as_one_list() {
        assert_eq!(
            pick(&["1.1.1.1, 2.2.2.2", "203.0.113.7"], 1),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(
            pick(&["1.1.1.1", "198.51.100.7, 192.0.2.1"], 2),
            Some(ip("198.51.100.7"))
        );
    }

    #[test]
    fn n_proxies_means_the_nth_hop_from_the_right() {
        let header = ["6.6.6.6, 198.51.100.7, 192.0.2.1, 192.0.2.2"];
        assert_eq!(pick(&header, 2), Some(ip("192.0.2.1")));
        assert_eq!(pick(&header, 3), Some(ip("198.51.100.7")));
        assert_eq!(pick(&header, 4), Some(ip("6.6.6.6")));
    }

    #[test]
    fn a_header_shorter_than_the_proxy_chain_falls_back_to_the_peer() {
        assert_eq!(pick(&["198.51.100.7"], 2), Some(ip(PEER)));
        assert_eq!(pick(&[], 1), Some(ip(PEER)));
        assert_eq!(client_ip(None, ["198.51.100.7"], 2), None);
    }

    #[test]
    fn an_unreadable_hop_falls_back_to_the_peer() {
        for header in [
            "evil, unknown",
            "1.1.1.1, ",
            "1.1.1.1, 999.1.1.1",
            "x".repeat(500).as_str(),
        ] {
            assert_eq!(pick(&[header], 1), Some(ip(PEER)), "{header}");
        }
    }

    #[test]
    fn hops_with_ports_and_ipv6_are_read() {
        assert_eq!(pick(&["203.0.113.7:5123"], 1), Some(ip("203.0.113.7")));
        assert_eq!(pick(&["[2001:db8::7]:443"], 1), Some(ip("2001:db8::7")));
        assert_eq!(pick(&["1.1.1.1, 2001:DB8::7"], 1), Some(ip("2001:db8::7")));
    }
}
