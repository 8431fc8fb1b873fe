//! Who the client is, by address: the TCP peer, or when the peer is one of our own reverse
//! proxies (`PICKY_FLEET_TRUSTED_PROXIES`), the address that proxy saw.
//!
//! `X-Forwarded-For` is a list each proxy appends its peer to, so only its right end is
//! trustworthy: we read it right to left, skip addresses that are our proxies, and take the
//! first that is not. Everything left of that was written by the client and is ignored. With
//! no trusted proxies set (the default), the header is ignored altogether: a client could
//! otherwise name any address and escape the sign-in limits. List your proxies' exact
//! addresses: any host in a trusted range can name any client address it likes.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::HeaderMap,
    middleware::Next,
    response::Response,
};
use fleet::auth::ClientAddr;
use ipnet::IpNet;

/// The networks our reverse proxies send from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// A comma-separated list of CIDRs or single addresses (`10.0.0.0/8, 127.0.0.1`).
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                part.parse::<IpNet>()
                    .or_else(|_| part.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{part:?} is not an address or a CIDR (10.0.0.0/8)"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The client's address for a request that came from `peer`.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = canonical(peer);
    if !trusted.contains(peer) {
        return peer;
    }
    // Every X-Forwarded-For header, in order, as one list; read from the right.
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        // Something we cannot read: not an address our proxies wrote. Counting it as the
        // proxy's own address would put every user in one bucket; it gets one of its own.
        let Ok(ip) = hop.parse::<IpAddr>().map(canonical) else {
            return IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
        };
        client = ip;
        if !trusted.contains(ip) {
            break;
        }
    }
    client
}

/// IPv4 clients of a dual-stack listener arrive as `::ffff:a.b.c.d`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Middleware: leaves the [`ClientAddr`] in the request's extensions.
pub async fn resolve_client(
    State(trusted): State<TrustedProxies>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if let Some(peer) = peer {
        let client = client_ip(peer, request.headers(), &trusted);
        request.extensions_mut().insert(ClientAddr(client));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append("x-forwarded-for", v.parse().unwrap());
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        let spoofed = headers(&["1.2.3.4"]);
        assert_eq!(
            client_ip(ip("198.51.100.7"), &spoofed, &none),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_header_is_read_right_to_left() {
        let trusted = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1").unwrap();
        let cases = [
            // (peer, headers, client, why)
            ("127.0.0.1", vec!["203.0.113.5"], "203.0.113.5", "one proxy"),
            (
                "10.0.0.2",
                vec!["6.6.6.6, 203.0.113.5, 10.0.0.9"],
                "203.0.113.5",
                "a chain of our proxies; the client's own entry (6.6.6.6) is not believed",
            ),
            (
                "10.0.0.2",
                vec!["6.6.6.6", "203.0.113.5"],
                "203.0.113.5",
                "two headers are one list",
            ),
            (
                "10.0.0.2",
                vec![],
                "10.0.0.2",
                "no header: the proxy itself",
            ),
            (
                "10.0.0.2",
                vec!["garbage, 10.0.0.3"],
                "0.0.0.0",
                "an unreadable hop is a bucket of its own, not the proxy's",
            ),
            (
                "198.51.100.7",
                vec!["203.0.113.5"],
                "198.51.100.7",
                "a peer that is not our proxy",
            ),
            (
                "::ffff:127.0.0.1",
                vec!["2001:db8::1"],
                "2001:db8::1",
                "an IPv4 proxy on a dual-stack socket",
            ),
        ];
        for (peer, values, client, why) in cases {
            assert_eq!(
                client_ip(ip(peer), &headers(&values), &trusted),
                ip(client),
                "{why}"
            );
        }
    }

    #[test]
    fn bad_proxy_lists_are_refused_with_the_culprit() {
        assert_eq!(TrustedProxies::parse("10.0.0.0/8,::1").unwrap().0.len(), 2);
        let error = TrustedProxies::parse("10.0.0.0/8, proxy.example").unwrap_err();
        assert!(error.contains("proxy.example"), "{error}");
        assert!(TrustedProxies::parse("").unwrap().is_empty());
    }
}
