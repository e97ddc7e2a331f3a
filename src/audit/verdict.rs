//! What the audit decides about each flow.

use crate::decode::{PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP};
use crate::flow::Flow;
use crate::rules::FindingKind;

/// The profile column of coverage rows and findings that rest on the
/// deployment's own `[[site_rule]]`s.
pub const SITE_PROFILE: &str = "site";

/// What the audit decided about one flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Finding(FindingKind),
    /// Neither end is bound (and no dedicated role is involved).
    OutOfScope,
    /// ICMP errors and neighbour discovery: they answer or support other
    /// traffic rather than being a service of their own.
    IcmpControl,
    /// The outer flow of a tunnel (`--tunnels both`): it carries the flows
    /// audited inside it rather than being a service of its own.
    TunnelCarrier,
}

impl Verdict {
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Finding(k) => k.label(),
            Verdict::OutOfScope => "out-of-scope",
            Verdict::IcmpControl => "icmp-control",
            Verdict::TunnelCarrier => "tunnel-carrier",
        }
    }
}

/// A flow with its verdict, for `--flows`.
#[derive(Clone, Debug)]
pub struct FlowVerdict<'d> {
    pub flow: Flow,
    pub verdict: Verdict,
    /// Profile and rule the verdict rests on (empty when none), borrowed
    /// from the deployment.
    pub profile: &'d str,
    pub rule_id: &'d str,
    /// The RPC service the flow spoke and the announcement of its port,
    /// in words, when the run learned any (docs/audit.md#announced-ports).
    pub rpc: Option<Box<str>>,
    /// The name DNS gave the flow's server ([`Flow::dns_name`]).
    pub dns_name: Option<Box<str>>,
}

pub(super) fn is_icmp_control(f: &Flow) -> bool {
    let t = f.initiator.port;
    match f.proto {
        PROTO_ICMP => matches!(t, 3 | 4 | 5 | 11 | 12),
        PROTO_ICMPV6 => matches!(t, 1..=4 | 130..=137 | 143),
        _ => false,
    }
}

/// The RPC service flow `f` spoke and the announcement of its port, in
/// words, for `--flows` (docs/audit.md#announced-ports).
pub fn describe_rpc(k: &crate::rpc::Knowledge, f: &Flow) -> Option<Box<str>> {
    k.describe(
        f.proto,
        (f.initiator.addr, f.initiator.port),
        (f.responder.addr, f.service_port()),
        f.last_ts,
    )
}

/// Turns flow `f` round, or confirms it, when its initiator was inferred
/// and its payload says who asked: the sender of a DCE/RPC bind or an
/// ONC-RPC call is the client (`payload`, evidence; docs/audit.md#initiator).
pub fn with_payload_evidence(k: &crate::rpc::Knowledge, f: &mut Flow) {
    if f.basis.is_evidence() || !matches!(f.proto, PROTO_TCP | PROTO_UDP) {
        return;
    }
    let ends = (f.initiator.addr, f.initiator.port);
    match k.client_of(f.proto, ends, (f.responder.addr, f.responder.port)) {
        Some(true) => f.basis = crate::flow::InitiatorBasis::Payload,
        Some(false) => {
            std::mem::swap(&mut f.initiator, &mut f.responder);
            f.packets.swap(0, 1);
            f.bytes.swap(0, 1);
            f.basis = crate::flow::InitiatorBasis::Payload;
        }
        None => {}
    }
}
