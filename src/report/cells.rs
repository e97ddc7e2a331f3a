//! A finding's cells as every report prints them: lists joined with `;`,
//! words for states and bases. The one place a finding becomes text.

use crate::audit::{Finding, FindingPorts, FindingProto};

/// The text columns of a finding (the numbers, addresses and times are
/// printed by each writer in its own way).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FindingText {
    pub profile: String,
    pub rule_id: String,
    pub src_role: String,
    pub dst_role: String,
    pub proto: String,
    pub dst_port: String,
    pub initiator_basis: String,
    pub state: String,
    pub community_id: String,
    /// Where the row's first flow was first seen (`a.pcap byte 24`).
    pub source: String,
}

impl FindingText {
    /// The service a finding is about: `tcp/443`, or the protocol alone
    /// when it names no port.
    pub fn service(&self) -> String {
        if self.dst_port.is_empty() {
            self.proto.clone()
        } else {
            format!("{}/{}", self.proto, self.dst_port)
        }
    }

    /// An end's `;`-joined roles as a person reads them, joined with
    /// `sep`; `unbound` when the end holds none.
    pub fn roles_shown(roles: &str, sep: &str) -> String {
        if roles.is_empty() {
            "unbound".to_string()
        } else {
            roles.replace(';', sep)
        }
    }

    pub fn of(f: &Finding) -> FindingText {
        let mut bases: Vec<&str> = f.initiator_bases.iter().map(|b| b.label()).collect();
        bases.sort_unstable();
        let mut states = f.state.labels();
        states.sort_unstable();
        let mut community_id = String::with_capacity(31 * f.community_ids.len());
        for (i, id) in f.community_ids.iter().enumerate() {
            if i > 0 {
                community_id.push(';');
            }
            community_id.push_str(id.as_str());
        }
        if f.more_flows > 0 {
            community_id.push_str(&format!(";+{} more", f.more_flows));
        }
        FindingText {
            profile: f.profiles.join(";"),
            rule_id: f.rule_id.clone().unwrap_or_default(),
            src_role: f.src_roles.join(";"),
            dst_role: f.dst_roles.join(";"),
            proto: f
                .proto
                .map(FindingProto::label)
                .unwrap_or_default()
                .into_owned(),
            dst_port: f
                .dst_port
                .as_ref()
                .map(FindingPorts::label)
                .unwrap_or_default(),
            initiator_basis: bases.join(";"),
            state: states.join(";"),
            community_id,
            source: f
                .source
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        }
    }
}
