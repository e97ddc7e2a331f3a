//! What to generate ([`EnterpriseSpec`]) and the mix it is drawn from: the
//! kinds of flows and their shares, the server ports, and the random laws
//! (weighted picks, uniform, log-uniform).

use super::endpoints::TRIPLES;
use super::MAX_FRAME;
use crate::Rng;

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnterpriseSpec {
    /// Target file size in bytes; reached within a few percent unless the
    /// flows cannot fit in it (then each flow is as small as its kind
    /// allows).
    pub bytes: u64,
    /// Exact number of distinct flows (at most [`EnterpriseSpec::MAX_FLOWS`]).
    pub flows: u64,
    /// Seed of the generator: the same spec writes the same bytes.
    pub seed: u64,
    /// How many distinct names the DNS queries ask, drawn uniformly, as a
    /// site's resolvers see the same names again and again; 0: every query
    /// asks a name never asked before (the worst case for a store of
    /// answers, and the benchmark's default).
    pub dns_names: u64,
}

impl EnterpriseSpec {
    /// The most flows that are guaranteed distinct: every class that runs
    /// out falls back to TCP sessions of either IP version.
    pub const MAX_FLOWS: u64 = 2 * TRIPLES;

    /// The largest frame written: 1500 bytes of IP, an Ethernet header
    /// and one VLAN tag.
    pub const MAX_FRAME: usize = MAX_FRAME;
}

/// What a flow is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// Handshake, request/response rounds, then FINs, an RST from the
    /// client, or nothing (still open when the capture ends).
    Session,
    /// SYN answered by RST-ACK.
    Refused,
    /// Rounds without handshake, as if the capture started late.
    MidStream,
    Dns,
    Syslog,
    Ntp,
    Snmp,
    SnmpTrap,
    Ping,
}

/// Share of flows per kind, per mille.
pub(super) const KIND_MIX: [(Kind, u64); 9] = [
    (Kind::Session, 450),
    (Kind::Refused, 50),
    (Kind::MidStream, 60),
    (Kind::Dns, 280),
    (Kind::Syslog, 40),
    (Kind::Ntp, 30),
    (Kind::Snmp, 40),
    (Kind::SnmpTrap, 10),
    (Kind::Ping, 40),
];

/// Share of flows whose size stretches to meet the byte target (sessions).
pub(super) const ELASTIC_SHARE: f64 = 0.51;

/// Server ports of TCP flows, weighted.
pub(super) const TCP_PORTS: [(u16, u64); 17] = [
    (443, 30),
    (445, 12),
    (80, 8),
    (389, 6),
    (88, 6),
    (135, 4),
    (3389, 4),
    (22, 4),
    (1433, 4),
    (636, 3),
    (5985, 3),
    (8443, 3),
    (49668, 3),
    (3268, 2),
    (8080, 2),
    (9389, 1),
    (25, 1),
];

impl Kind {
    pub(super) fn is_tcp(self) -> bool {
        matches!(self, Kind::Session | Kind::Refused | Kind::MidStream)
    }

    pub(super) fn is_elastic(self) -> bool {
        matches!(self, Kind::Session | Kind::MidStream)
    }

    /// Index of the tuple space the flow's endpoints come from.
    pub(super) fn class(self, v6: bool) -> usize {
        let base = match self {
            Kind::Session | Kind::Refused | Kind::MidStream => 0,
            Kind::Ping => 4,
            _ => 2,
        };
        base + usize::from(v6)
    }

    /// Datagrams (or echo pairs) are answered.
    pub(super) fn two_way(self) -> bool {
        matches!(self, Kind::Dns | Kind::Ntp | Kind::Snmp | Kind::Ping)
    }
}

/// Picks from a weighted table.
pub(super) fn pick<T: Copy>(rng: &mut Rng, table: &[(T, u64)]) -> T {
    let total: u64 = table.iter().map(|e| e.1).sum();
    let mut r = rng.below(total);
    for &(v, w) in table {
        if r < w {
            return v;
        }
        r -= w;
    }
    unreachable!("r < total")
}

/// Uniform in (0, 1].
pub(super) fn unit(rng: &mut Rng) -> f64 {
    ((rng.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
}

pub(super) fn log_uniform(rng: &mut Rng, lo: f64, hi: f64) -> u32 {
    (lo * (hi / lo).powf(unit(rng))) as u32
}
