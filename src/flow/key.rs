//! Flow identity: protocol and both endpoints in a canonical order, so that
//! both directions of a conversation land on one key.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::decode::{PacketSummary, Transport, PROTO_ICMP, PROTO_ICMPV6};

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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dir {
    #[default]
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
        let (sport, dport) = key_ports(p)?;
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

/// A [`FlowKey`] as the flow table keeps it: each address as two
/// big-endian words (an IPv4 address in the low four bytes), so that making,
/// comparing and hashing a key is a few word operations, not a walk through
/// `IpAddr` enums. Sorts exactly as the [`FlowKey`] it stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PackedKey {
    proto: u8,
    v6: bool,
    a: [u64; 2],
    a_port: u16,
    b: [u64; 2],
    b_port: u16,
}

impl Hash for PackedKey {
    #[inline]
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.a[0] ^ self.b[0].rotate_left(32));
        h.write_u64(self.a[1]);
        h.write_u64(self.b[1]);
        h.write_u64(
            u64::from(self.a_port)
                | u64::from(self.b_port) << 16
                | u64::from(self.proto) << 32
                | u64::from(self.v6) << 40,
        );
    }
}

impl PackedKey {
    /// The packed key of a packet and the packet's direction on it, as
    /// [`FlowKey::of_packet`].
    #[inline]
    pub(crate) fn of_packet(p: &PacketSummary) -> Option<(PackedKey, Dir)> {
        let (sport, dport) = key_ports(p)?;
        Some(PackedKey::pack(p.proto, p.src, sport, p.dst, dport))
    }

    /// The packed key of a conversation whose first side is `src` and the
    /// direction from it, as [`FlowKey::new`] (flow records). ICMP's
    /// "ports" are its type and code, mapped as a packet's are.
    pub fn of_endpoints(proto: u8, src: Endpoint, dst: Endpoint) -> (PackedKey, Dir) {
        let (sport, dport) = if proto == PROTO_ICMP || proto == PROTO_ICMPV6 {
            let (s, d, _) = icmp_ports(proto, src.port as u8, dst.port as u8);
            (s, d)
        } else {
            (src.port, dst.port)
        };
        PackedKey::pack(proto, src.addr, sport, dst.addr, dport)
    }

    #[inline(always)]
    fn pack(proto: u8, src: IpAddr, sport: u16, dst: IpAddr, dport: u16) -> (PackedKey, Dir) {
        let (src, dst, v6) = match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => (v4_words(s), v4_words(d), false),
            (s, d) => (v6_words(s), v6_words(d), true),
        };
        let forward = (src, sport) <= (dst, dport);
        let ((a, a_port), (b, b_port), dir) = if forward {
            ((src, sport), (dst, dport), Dir::AtoB)
        } else {
            ((dst, dport), (src, sport), Dir::BtoA)
        };
        (
            PackedKey {
                proto,
                v6,
                a,
                a_port,
                b,
                b_port,
            },
            dir,
        )
    }

    pub(crate) fn proto(&self) -> u8 {
        self.proto
    }

    /// The key this stands for.
    /// The packed form of a canonical key (its sides in key order, as
    /// [`PackedKey::unpack`] gives them); `None` for a key whose sides are
    /// the wrong way round.
    pub fn of_key(k: &FlowKey) -> Option<PackedKey> {
        let (key, dir) = PackedKey::pack(k.proto, k.a.addr, k.a.port, k.b.addr, k.b.port);
        (dir == Dir::AtoB && key.unpack() == *k).then_some(key)
    }

    pub fn unpack(&self) -> FlowKey {
        let addr = |x: &[u64; 2]| {
            if self.v6 {
                IpAddr::V6(Ipv6Addr::from(u128::from(x[0]) << 64 | u128::from(x[1])))
            } else {
                IpAddr::V4(Ipv4Addr::from(x[1] as u32))
            }
        };
        FlowKey {
            proto: self.proto,
            a: Endpoint {
                addr: addr(&self.a),
                port: self.a_port,
            },
            b: Endpoint {
                addr: addr(&self.b),
                port: self.b_port,
            },
        }
    }
}

/// The "ports" a packet's key is made of, source then destination; `None`
/// for a later fragment (its ports are in the first fragment).
#[inline]
fn key_ports(p: &PacketSummary) -> Option<(u16, u16)> {
    Some(match p.transport {
        Transport::Ports { src, dst } => (src, dst),
        Transport::Icmp { kind, code } => {
            let (s, d, _) = icmp_ports(p.proto, kind, code);
            (s, d)
        }
        Transport::Other => (0, 0),
        Transport::LaterFragment => return None,
    })
}

fn v4_words(a: Ipv4Addr) -> [u64; 2] {
    [0, u64::from(u32::from(a))]
}

/// An IPv6 address as two words (an IPv4 one, which cannot pair with IPv6
/// in one packet, mapped for completeness).
fn v6_words(a: IpAddr) -> [u64; 2] {
    let v = match a {
        IpAddr::V6(a) => u128::from(a),
        IpAddr::V4(a) => u128::from(a.to_ipv6_mapped()),
    };
    [(v >> 64) as u64, v as u64]
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{PROTO_TCP, PROTO_UDP};
    use proptest::prelude::*;
    use std::net::Ipv6Addr;

    fn packet(v6: bool, src: u128, dst: u128, sport: u16, dport: u16, tcp: bool) -> PacketSummary {
        let addr = |x: u128| {
            if v6 {
                IpAddr::V6(Ipv6Addr::from(x))
            } else {
                IpAddr::V4(Ipv4Addr::from(x as u32))
            }
        };
        PacketSummary {
            src: addr(src),
            dst: addr(dst),
            proto: if tcp { PROTO_TCP } else { PROTO_UDP },
            transport: Transport::Ports {
                src: sport,
                dst: dport,
            },
            tcp_flags: 0,
            tcp_seq: 0,
            fragment: None,
            wire_len: 60,
            encap: crate::decode::Encap::None,
            at: 0,
            payload: crate::decode::NO_PAYLOAD,
        }
    }

    fn packets() -> impl Strategy<Value = PacketSummary> {
        // Few distinct values, so that equal addresses and ports are met.
        (
            any::<bool>(),
            0u128..4,
            0u128..4,
            0u16..3,
            0u16..3,
            any::<bool>(),
        )
            .prop_map(|(v6, s, d, sp, dp, tcp)| {
                let spread = |x: u128| x << 120 | x << 24 | x;
                packet(v6, spread(s), spread(d), sp, dp, tcp)
            })
    }

    proptest! {
        /// A packed key stands for the key `FlowKey::of_packet` makes,
        /// with the same direction, and packed keys sort as their keys.
        #[test]
        fn packed_keys_are_flow_keys(p in packets(), q in packets()) {
            let (pk, pd) = PackedKey::of_packet(&p).unwrap();
            let (qk, _) = PackedKey::of_packet(&q).unwrap();
            let (fp, fd) = FlowKey::of_packet(&p).unwrap();
            let (fq, _) = FlowKey::of_packet(&q).unwrap();
            prop_assert_eq!(pk.unpack(), fp);
            prop_assert_eq!(pd, fd);
            prop_assert_eq!(pk.cmp(&qk), fp.cmp(&fq));
            prop_assert_eq!(pk == qk, fp == fq);
        }
    }
}
