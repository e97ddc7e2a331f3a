//! Findings: plain data, one report row each. The classifier decides them;
//! report writers only format them.

use std::net::IpAddr;

use crate::capture::Timestamp;
use crate::rules::{FindingKind, Severity};

/// One row of the findings report (DESIGN.md's columns, in order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub kind: FindingKind,
    pub profile: String,
    pub rule_id: String,
    pub src_ip: Option<IpAddr>,
    pub src_role: String,
    pub dst_ip: Option<IpAddr>,
    pub dst_role: String,
    pub proto: String,
    pub dst_port: String,
    pub initiator_basis: String,
    pub state: String,
    pub connections: u64,
    pub packets: u64,
    pub bytes: u64,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    pub community_id: String,
    pub detail: String,
}

/// Name of an IP protocol as reports print it.
pub fn proto_name(proto: u8) -> String {
    match proto {
        1 => "icmp".into(),
        4 => "ipip".into(),
        6 => "tcp".into(),
        17 => "udp".into(),
        41 => "ipv6-in-ip".into(),
        47 => "gre".into(),
        50 => "esp".into(),
        51 => "ah".into(),
        58 => "icmpv6".into(),
        89 => "ospf".into(),
        103 => "pim".into(),
        112 => "vrrp".into(),
        132 => "sctp".into(),
        n => format!("ip-{n}"),
    }
}
