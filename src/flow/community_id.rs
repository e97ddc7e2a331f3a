//! Community ID v1 (https://github.com/corelight/community-id-spec): the
//! flow hash Zeek and Suricata log, so a finding can be matched to them.

use std::fmt;
use std::net::IpAddr;

use base64::Engine;
use sha1::{Digest, Sha1};

use super::key::{icmp_ports, Endpoint};
use crate::decode::{PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP};

const PROTO_SCTP: u8 = 132;

/// A Community ID as its text, `1:` and the base64 of a SHA-1 digest, held
/// in place: a large audit computes hundreds of thousands. Its order is
/// the order of the text.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CommunityId([u8; 30]);

impl CommunityId {
    pub fn as_str(&self) -> &str {
        // Written from "1:" and base64 only.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for CommunityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CommunityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq<&str> for CommunityId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The Community ID of a flow whose originator is `src` (seed 0). For ICMP,
/// the endpoints' ports are the Community ID port equivalents already (see
/// [`icmp_ports`]); `one_way` ICMP messages keep their order.
pub fn community_id(proto: u8, src: Endpoint, dst: Endpoint) -> CommunityId {
    let has_ports = matches!(
        proto,
        PROTO_TCP | PROTO_UDP | PROTO_SCTP | PROTO_ICMP | PROTO_ICMPV6
    );
    let one_way = if proto == PROTO_ICMP || proto == PROTO_ICMPV6 {
        src.port > 255 || icmp_ports(proto, src.port as u8, dst.port as u8).2
    } else {
        false
    };
    let (a, b) = if one_way || (src.addr, src.port) <= (dst.addr, dst.port) {
        (src, dst)
    } else {
        (dst, src)
    };
    let mut h = Sha1::new();
    h.update(0u16.to_be_bytes());
    put_addr(&mut h, a.addr);
    put_addr(&mut h, b.addr);
    h.update([proto, 0]);
    if has_ports {
        h.update(a.port.to_be_bytes());
        h.update(b.port.to_be_bytes());
    }
    let digest = h.finalize();
    let mut id = [0; 30];
    id[..2].copy_from_slice(b"1:");
    // 20 bytes are 28 base64 characters, padding included: always fits.
    let n = base64::engine::general_purpose::STANDARD
        .encode_slice(digest, &mut id[2..])
        .unwrap_or_default();
    debug_assert_eq!(n, 28);
    CommunityId(id)
}

fn put_addr(h: &mut Sha1, addr: IpAddr) {
    match addr {
        IpAddr::V4(a) => h.update(a.octets()),
        IpAddr::V6(a) => h.update(a.octets()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(addr: &str, port: u16) -> Endpoint {
        Endpoint {
            addr: addr.parse().unwrap(),
            port,
        }
    }

    /// Vectors from the Community ID specification's reference
    /// implementations (the spec README, the Elasticsearch processor tests).
    #[test]
    fn matches_reference_vectors() {
        let cases = [
            (
                6,
                ep("128.232.110.120", 34855),
                ep("66.35.250.204", 80),
                "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
            ),
            (
                6,
                ep("66.35.250.204", 80),
                ep("128.232.110.120", 34855),
                "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
            ),
            (
                17,
                ep("192.168.1.52", 54585),
                ep("8.8.8.8", 53),
                "1:d/FP5EW3wiY1vCndhwleRRKHowQ=",
            ),
            (
                132,
                ep("192.168.170.8", 7),
                ep("192.168.170.56", 7),
                "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=",
            ),
            (
                6,
                ep("2001:470:e5bf:dead:4957:2174:e82c:4887", 63943),
                ep("2607:f8b0:400c:c03::1a", 25),
                "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=",
            ),
        ];
        for (proto, s, d, want) in cases {
            assert_eq!(community_id(proto, s, d), want, "{proto} {s} {d}");
        }
    }

    #[test]
    fn icmp_vectors_use_port_equivalents() {
        // Echo request type 8 code 0: ports (8, 0).
        let (sp, dp, _) = icmp_ports(PROTO_ICMP, 8, 0);
        assert_eq!(
            community_id(PROTO_ICMP, ep("192.168.0.89", sp), ep("192.168.0.1", dp)),
            "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="
        );
        // Router advertisement 134 answers solicitation 133.
        let (sp, dp, _) = icmp_ports(PROTO_ICMPV6, 134, 0);
        assert_eq!(
            community_id(
                PROTO_ICMPV6,
                ep("fe80::260:97ff:fe07:69ea", sp),
                ep("ff02::1", dp)
            ),
            "1:pkvHqCL88/tg1k4cPigmZXUtL00="
        );
    }
}
