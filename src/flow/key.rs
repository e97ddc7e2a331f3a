//! Flow identity: protocol and both endpoints in a canonical order, so that
//! both directions of a conversation land on one key.

use std::fmt;
use std::net::IpAddr;

use crate::decode::{PacketSummary, Transport};

/// One end of a flow. For ICMP the "port" is a message type or code, as
/// Community ID defines it (see [`icmp_ports`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    pub addr: IpAddr,
    pub port: u16,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.port),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.port),
        }
    }
}

/// Which way a packet travels relative to a key: `AtoB` from `key.a`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dir {
    AtoB = 0,
    BtoA = 1,
}

impl Dir {
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn reverse(self) -> Dir {
        match self {
            Dir::AtoB => Dir::BtoA,
            Dir::BtoA => Dir::AtoB,
        }
    }
}

/// A bidirectional flow key: `a` sorts before `b` (address, then port), the
/// same order Community ID uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FlowKey {
    pub proto: u8,
    pub a: Endpoint,
    pub b: Endpoint,
}

impl FlowKey {
    /// Canonical key of a packet and the packet's direction on it; `None`
    /// for a later fragment (its ports are in the first fragment).
    pub fn of_packet(p: &PacketSummary) -> Option<(FlowKey, Dir)> {
        let (sport, dport) = match p.transport {
            Transport::Ports { src, dst } => (src, dst),
            Transport::Icmp { kind, code } => {
                let (s, d, _) = icmp_ports(p.proto, kind, code);
                (s, d)
            }
            Transport::Other => (0, 0),
            Transport::LaterFragment => return None,
        };
        Some(FlowKey::new(
            p.proto,
            Endpoint {
                addr: p.src,
                port: sport,
            },
            Endpoint {
                addr: p.dst,
                port: dport,
            },
        ))
    }

    /// The key for a conversation whose packet goes `src` → `dst`.
    pub fn new(proto: u8, src: Endpoint, dst: Endpoint) -> (FlowKey, Dir) {
        if (src.addr, src.port) <= (dst.addr, dst.port) {
            (
                FlowKey {
                    proto,
                    a: src,
                    b: dst,
                },
                Dir::AtoB,
            )
        } else {
            (
                FlowKey {
                    proto,
                    a: dst,
                    b: src,
                },
                Dir::BtoA,
            )
        }
    }

    /// The endpoint that sends in direction `dir`.
    pub fn sender(&self, dir: Dir) -> Endpoint {
        match dir {
            Dir::AtoB => self.a,
            Dir::BtoA => self.b,
        }
    }
}

/// ICMP type/code to Community ID "ports": a request or reply type maps to
/// (its type, its counterpart's type) so that both directions share a key;
/// any other message is one-way: (type, code). Returns (src, dst, one_way).
pub fn icmp_ports(proto: u8, kind: u8, code: u8) -> (u16, u16, bool) {
    let counterpart = if proto == crate::decode::PROTO_ICMPV6 {
        match kind {
            128 => Some(129),
            129 => Some(128),
            133 => Some(134),
            134 => Some(133),
            135 => Some(136),
            136 => Some(135),
            130 => Some(131),
            131 => Some(130),
            144 => Some(145),
            145 => Some(144),
            _ => None,
        }
    } else {
        match kind {
            8 => Some(0),
            0 => Some(8),
            13 => Some(14),
            14 => Some(13),
            15 => Some(16),
            16 => Some(15),
            10 => Some(9),
            9 => Some(10),
            17 => Some(18),
            18 => Some(17),
            _ => None,
        }
    };
    match counterpart {
        Some(c) => (u16::from(kind), c, false),
        None => (u16::from(kind), u16::from(code), true),
    }
}

/// True for the ICMP types that open an exchange (echo request, router and
/// neighbor solicitation...): their sender is the initiator.
pub fn icmp_is_request(proto: u8, kind: u16) -> bool {
    if proto == crate::decode::PROTO_ICMPV6 {
        matches!(kind, 128 | 133 | 135 | 130 | 144)
    } else {
        matches!(kind, 8 | 13 | 15 | 10 | 17)
    }
}
