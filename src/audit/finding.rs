//! Findings: plain typed data, one report row each. The classifier decides
//! them; report writers only format them.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::capture::Timestamp;
use crate::flow::{CommunityId, FlowState, InitiatorBasis, Place};
use crate::rules::{FindingKind, PortSet, Proto, Severity};

/// One row of the findings report: one (kind, source, destination,
/// protocol, port) with the flows behind it added up (docs/audit.md,
/// "Finding rows").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub kind: FindingKind,
    /// The profile of the rule the finding rests on; without a rule, the
    /// profiles of both ends' roles. Sorted, without repeats.
    pub profiles: Vec<String>,
    /// The rule the finding rests on, when there is one.
    pub rule_id: Option<String>,
    pub src_ip: Option<IpAddr>,
    /// The source's roles (for a missing-expected finding without a
    /// source address, the rule's `from` roles).
    pub src_roles: Vec<String>,
    pub dst_ip: Option<IpAddr>,
    pub dst_roles: Vec<String>,
    pub proto: Option<FindingProto>,
    pub dst_port: Option<FindingPorts>,
    /// How the initiators of the row's flows were decided.
    pub initiator_bases: BTreeSet<InitiatorBasis>,
    pub state: FindingState,
    pub connections: u64,
    pub packets: u64,
    pub bytes: u64,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    /// The smallest Community IDs of the row's flows, in order.
    pub community_ids: Vec<CommunityId>,
    /// Flows of the row whose Community IDs are not listed.
    pub more_flows: u64,
    /// Where the row's first flow was first seen: the input and the
    /// place in it (docs/audit.md#finding-rows).
    pub source: Option<Place>,
    /// What the finding means here, in a sentence.
    pub detail: String,
    /// Against `--baseline`: whether an earlier run had it (`None`
    /// without a baseline).
    pub baseline: Option<BaselineState>,
    /// The `[[waiver]]` that waives it: it stays in every report, and
    /// fails nothing.
    pub waived: Option<Waived>,
}

/// Why a finding is waived, and until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waived {
    pub reason: String,
    /// `file:line` of the waiver.
    pub place: String,
    /// Its last day.
    pub expires: crate::rules::Day,
}

/// Whether a finding was in the baseline run (SARIF's `baselineState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BaselineState {
    /// Not in the baseline: it counts against `--fail-on`.
    New,
    /// In the baseline too: it counts against `--fail-on` only with
    /// `--fail-on-baseline`.
    Unchanged,
}

impl BaselineState {
    pub fn label(self) -> &'static str {
        match self {
            BaselineState::New => "new",
            BaselineState::Unchanged => "unchanged",
        }
    }
}

/// The protocol of a finding: a flow's IP protocol, or a rule's protocol
/// (which may be `tcp/udp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FindingProto {
    Ip(u8),
    Rule(Proto),
}

impl FindingProto {
    pub fn label(self) -> Cow<'static, str> {
        match self {
            FindingProto::Ip(p) => proto_name(p),
            FindingProto::Rule(p) => Cow::Borrowed(p.label()),
        }
    }
}

/// The destination port of a finding: a flow's service port (ICMP type
/// for ICMP), or the ports of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FindingPorts {
    Port(u16),
    Rule(PortSet),
}

impl FindingPorts {
    pub fn label(&self) -> String {
        match self {
            FindingPorts::Port(p) => p.to_string(),
            FindingPorts::Rule(set) => set.to_string(),
        }
    }
}

/// The state of a finding's traffic.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum FindingState {
    /// The states of the row's flows.
    Flows(BTreeSet<FlowState>),
    /// A missing-expected finding: attempts that did not establish
    /// (both zero: never attempted).
    Attempts { refused: u64, unanswered: u64 },
    /// A tracking-limit finding: no traffic of its own.
    #[default]
    None,
}

impl FindingState {
    /// The state words, in order: flow states, or `never-attempted`,
    /// `refused`, `unanswered`.
    pub fn labels(&self) -> Vec<&'static str> {
        match self {
            FindingState::Flows(states) => states.iter().map(|s| s.label()).collect(),
            FindingState::Attempts {
                refused: 0,
                unanswered: 0,
            } => vec!["never-attempted"],
            FindingState::Attempts {
                refused,
                unanswered,
            } => [(*refused, "refused"), (*unanswered, "unanswered")]
                .into_iter()
                .filter(|(n, _)| *n > 0)
                .map(|(_, w)| w)
                .collect(),
            FindingState::None => Vec::new(),
        }
    }
}

impl Finding {
    /// The order reports list findings in: most severe first, then kind,
    /// addresses, protocol and port (as text, as the first version sorted
    /// them) and rule.
    #[allow(clippy::type_complexity)]
    pub fn sort_key(
        &self,
    ) -> (
        Reverse<Severity>,
        FindingKind,
        Option<IpAddr>,
        Option<IpAddr>,
        Cow<'static, str>,
        String,
        Option<String>,
    ) {
        (
            Reverse(self.severity),
            self.kind,
            self.src_ip,
            self.dst_ip,
            self.proto.map(FindingProto::label).unwrap_or_default(),
            self.dst_port
                .as_ref()
                .map(FindingPorts::label)
                .unwrap_or_default(),
            self.rule_id.clone(),
        )
    }

    /// Whether the finding names profile `id`.
    pub fn concerns(&self, id: &str) -> bool {
        self.profiles.iter().any(|p| p == id)
    }
}

/// Name of an IP protocol as reports print it.
pub fn proto_name(proto: u8) -> Cow<'static, str> {
    Cow::Borrowed(match proto {
        1 => "icmp",
        4 => "ipip",
        6 => "tcp",
        17 => "udp",
        41 => "ipv6-in-ip",
        47 => "gre",
        50 => "esp",
        51 => "ah",
        58 => "icmpv6",
        89 => "ospf",
        103 => "pim",
        112 => "vrrp",
        132 => "sctp",
        n => return Cow::Owned(format!("ip-{n}")),
    })
}
