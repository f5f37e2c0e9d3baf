//! The client's address: the TCP peer, or, when the peer is a trusted reverse proxy
//! (ADPILOT_TRUSTED_PROXIES), the address that proxy put in `X-Forwarded-For`. Every rate limit,
//! session record and audit entry uses this one answer.

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The client address of a request from `peer` with these headers.
///
/// `X-Forwarded-For` is read right to left: each trusted proxy appends the address it received
/// from, so the first entry from the right that is not a trusted proxy is the client. Entries
/// further left were written by the client itself and are never believed.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |a: &IpAddr| trusted.iter().any(|n| n.contains(a));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            Some(a) => {
                client = a;
                if !is_trusted(&a) {
                    break;
                }
            }
            // Garbage from the client side: the last address we could trust is the answer.
            None => break,
        }
    }
    Some(client)
}

fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(a) = hop.parse::<IpAddr>() {
        return Some(a);
    }
    // "[v6]:port" or "v4:port", as some proxies write them.
    hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip())
}
