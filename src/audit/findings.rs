//! Turning what the classification gathered into findings: a row of
//! flows, a required rule never observed, a limit that bit.

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::decode::App;
use crate::flow::{Inputs, Limits, Origin, Overflow};
use crate::rules::{Expect, FindingKind, HostRef, Requirement, Scope};

use super::classify::{role_names, side_name, ActiveRule, Auditor, RolesCache};
use super::coverage::{Attempts, Cov};
use super::finding::{Finding, FindingPorts, FindingProto, FindingState};
use super::rows::{Row, RowKey, SourceKey, MAX_IDS};

/// Missing-expected rows a rule gets one per source, at most; the sources
/// after these share one row that counts them (memory stays bounded,
/// whatever a role binds).
pub const MAX_SOURCE_ROWS: usize = 1000;

/// Where the flow of `key` was first seen, named.
fn place(inputs: &Inputs, key: SourceKey) -> Option<crate::flow::Place> {
    let (_, _, input, at) = key;
    inputs.place(Origin::of(input, at))
}

/// The detail of a finding on a port a mapper should have announced.
fn dynamic_detail(
    kind: FindingKind,
    x: &ActiveRule,
    row: &Row,
    mapper_unseen: bool,
    (client, server): (IpAddr, IpAddr),
) -> String {
    let Some(d) = &x.rule.dynamic else {
        return String::new();
    };
    let services: Vec<String> = row.services.iter().map(|s| s.title()).collect();
    let spoke = match services.len() {
        0 => String::new(),
        _ => format!("; the connection spoke {}", services.join(", ")),
    };
    match kind {
        FindingKind::UncoveredRpcService => format!(
            "rule {} allows the ports the {} announces ({} {}) for {} only{spoke}{}",
            x.rule.id,
            d.mapper.title(),
            x.rule.proto.label(),
            x.rule.ports,
            d.services_text(),
            if row.announced {
                format!("; the {} announced it to {client}", d.mapper.title())
            } else {
                String::new()
            },
        ),
        _ => {
            let why = if mapper_unseen {
                format!("the captures hold no answer of {server}'s {} (port {}) that could be read: they may have begun after it announced the port, or cut its answers short", d.mapper.title(), d.mapper.port())
            } else {
                format!("the captures hold answers of {server}'s {}, and none to {client} named this port before the connection ended", d.mapper.title())
            };
            format!(
                "rule {} allows {} {} only where the {} announced it to the client; {why}{spoke}",
                x.rule.id,
                x.rule.proto.label(),
                x.rule.ports,
                d.mapper.title(),
            )
        }
    }
}

/// The detail of a finding on what a flow's payload showed: what was
/// seen, by side, and what the rule documents.
fn app_detail(kind: FindingKind, x: &ActiveRule, row: &Row, port: u16) -> String {
    let wanted: Vec<&str> = x.rule.app_on(port).iter().map(|a| a.label()).collect();
    // An unverified flow showed nothing to check: said in words.
    let word = |a: App| match (kind, a) {
        (FindingKind::UnverifiedProtocol, App::None) => "no payload",
        (FindingKind::UnverifiedProtocol, App::Unknown) => "no protocol portaudit reads",
        _ => a.label(),
    };
    let seen: Vec<String> = row
        .apps
        .iter()
        .map(|&[client, server]| match (word(client), word(server)) {
            (c, _) if client == server => c.to_string(),
            (c, _) if server == App::None => {
                format!("{c} from the client, nothing from the server")
            }
            (_, s) if client == App::None => {
                format!("{s} from the server, nothing from the client")
            }
            (c, s) => format!("{c} from the client, {s} from the server"),
        })
        .collect();
    let names = match row.names.len() {
        0 => String::new(),
        _ => {
            let names: Vec<&str> = row.names.iter().map(|n| &**n).collect();
            format!("; the client named {}", names.join(", "))
        }
    };
    let documents = format!(
        "rule {} documents {} ({}) on {} {port}",
        x.rule.id,
        wanted.join(" or "),
        x.rule.purpose,
        x.rule.proto.label(),
    );
    let said = match row.said.as_ref().map(|(_, s)| s) {
        Some([Some(c), Some(s)]) => format!("; the client sent \"{c}\" and the server \"{s}\""),
        Some([Some(c), None]) => format!("; the client sent \"{c}\""),
        Some([None, Some(s)]) => format!("; the server sent \"{s}\""),
        _ => String::new(),
    };
    match kind {
        FindingKind::ProtocolMismatch => {
            format!("{}, where {documents}{names}{said}", seen.join("; "))
        }
        _ => format!(
            "{documents} and requires it be checked; the flows showed {}{names}",
            seen.join("; ")
        ),
    }
}

impl Auditor<'_> {
    /// The finding of a row of flows; `cache` has the roles of every
    /// address of the flows.
    /// `inputs`: those the flows' origins name.
    pub(super) fn flow_finding(
        &self,
        k: RowKey,
        row: Row,
        cache: &RolesCache,
        inputs: &Inputs,
    ) -> Finding {
        let (ri, rr) = (&cache[&k.src].roles, &cache[&k.dst].roles);
        let base = self.deployment.severity_of(k.kind);
        let all_inferred = row.bases.iter().all(|b| !b.is_evidence());
        let rule = row.rule.map(|i| &self.rules[i]);
        let dynamic = rule.and_then(|x| x.rule.dynamic.as_ref());
        // No traffic of the server's mapper in the captures: they may have
        // begun after the announcement.
        let mapper_unseen = k.kind == FindingKind::UnannouncedDynamicPort
            && dynamic.is_some_and(|d| !self.rpc.mapper_seen(k.dst, d.mapper));
        let severity = if (k.kind == FindingKind::WrongDirection && all_inferred) || mapper_unseen {
            base.inferred()
        } else {
            base
        };
        let mut profiles: BTreeSet<&str> = BTreeSet::new();
        match rule {
            Some(x) => {
                profiles.insert(x.profile);
            }
            None => {
                for (pi, _) in ri.iter().chain(rr.iter()) {
                    profiles.insert(&self.deployment.profiles[*pi].profile.id);
                }
            }
        }
        let mut detail = match (k.kind, rule) {
            (FindingKind::WrongDirection, Some(x)) => format!(
                "rule {} lets {} open {} {} to {}; here the {} side opened it",
                x.rule.id,
                x.rule.from.join("/"),
                x.rule.proto.label(),
                x.rule.ports,
                x.rule.to.join("/"),
                side_name(ri, "unbound")
            ),
            (FindingKind::DisabledFeature, Some(x)) => format!(
                "rule {} allows this only with feature {:?}, which the deployment does not enable",
                x.rule.id,
                x.rule.feature.clone().unwrap_or_default()
            ),
            (FindingKind::LocalOnlyExposed, Some(x)) => format!(
                "rule {} documents this port as internal/localhost only ({}), but it was used between two hosts",
                x.rule.id, x.rule.purpose
            ),
            (FindingKind::RetiredPort, Some(x)) => format!(
                "rule {} documents this port as disabled in current versions ({})",
                x.rule.id, x.rule.purpose
            ),
            (FindingKind::UnannouncedDynamicPort | FindingKind::UncoveredRpcService, Some(x)) => {
                dynamic_detail(k.kind, x, &row, mapper_unseen, (k.src, k.dst))
            }
            (FindingKind::ProtocolMismatch | FindingKind::UnverifiedProtocol, Some(x)) => {
                app_detail(k.kind, x, &row, k.port.unwrap_or_default())
            }
            _ => "no rule of the deployment allows this flow".to_string(),
        };
        if all_inferred
            && matches!(
                k.kind,
                FindingKind::WrongDirection | FindingKind::UnexpectedPort
            )
        {
            let bases: Vec<&str> = row.bases.iter().map(|b| b.label()).collect();
            detail.push_str(&format!(
                "; the initiator is inferred ({}), not seen in a handshake",
                bases.join("/")
            ));
        }
        if row.one_way == row.flows {
            detail.push_str("; one-way: only one side was captured");
        }
        // Distinct flows have distinct Community IDs.
        let more_flows = row.flows.saturating_sub(MAX_IDS as u64);
        Finding {
            severity,
            kind: k.kind,
            profiles: profiles.into_iter().map(str::to_string).collect(),
            rule_id: rule.map(|x| x.rule.id.clone()),
            src_ip: Some(k.src),
            src_roles: role_names(ri),
            dst_ip: Some(k.dst),
            dst_roles: role_names(rr),
            proto: Some(FindingProto::Ip(k.proto)),
            dst_port: k.port.map(FindingPorts::Port),
            initiator_bases: row.bases,
            state: FindingState::Flows(row.states),
            connections: row.connections,
            packets: row.packets,
            bytes: row.bytes,
            first_seen: row.first,
            last_seen: row.last,
            community_ids: row.community_ids.0,
            more_flows,
            source: row.source.and_then(|k| place(inputs, k)),
            detail,
            baseline: None,
            waived: None,
        }
    }

    /// A finding for each required rule without its traffic: one per
    /// source for `each-source` rules (up to [`MAX_SOURCE_ROWS`]).
    pub(super) fn missing_expected(
        &self,
        cov: &[Cov],
        seen: &BTreeSet<IpAddr>,
        caveat: &str,
        cache: &mut RolesCache,
        inputs: &Inputs,
    ) -> Vec<Finding> {
        let mut out = Vec::new();
        let severity = self.deployment.severity_of(FindingKind::MissingExpected);
        for (idx, x) in self.rules.iter().enumerate() {
            if !x.active
                || x.rule.requirement != Requirement::Required
                || x.rule.scope != Scope::Network
            {
                continue;
            }
            if !self.checkable(x) {
                continue;
            }
            let c = &cov[idx];
            let mut sources: BTreeSet<IpAddr> = BTreeSet::new();
            if x.rule.expect == Expect::EachSource {
                // A host on the rule's `to` side (the console inside a
                // responder network) need not reach itself.
                sources = self.sources_of(&x.from, seen);
                let mut roles_of = |a: IpAddr| self.roles_of(a, cache);
                sources.retain(|&a| !Self::side_matches(&x.to, a, &roles_of(a)));
            }
            let template = |src: Option<IpAddr>, attempts: &Attempts, roles_src: Vec<String>| {
                let detail = attempts.describe();
                Finding {
                    severity,
                    kind: FindingKind::MissingExpected,
                    profiles: vec![x.profile.to_string()],
                    rule_id: Some(x.rule.id.clone()),
                    src_ip: src,
                    src_roles: roles_src,
                    dst_ip: None,
                    dst_roles: x.rule.to.clone(),
                    proto: Some(FindingProto::Rule(x.rule.proto)),
                    dst_port: Some(FindingPorts::Rule(x.rule.ports.clone())),
                    initiator_bases: BTreeSet::new(),
                    state: FindingState::Attempts {
                        refused: attempts.refused,
                        unanswered: attempts.unanswered,
                    },
                    connections: attempts.connections,
                    packets: attempts.packets,
                    bytes: attempts.bytes,
                    first_seen: attempts.first,
                    last_seen: attempts.last,
                    community_ids: Vec::new(),
                    more_flows: 0,
                    source: attempts.source.and_then(|k| place(inputs, k)),
                    baseline: None,
                    waived: None,
                    detail: format!(
                        "required by rule {} ({}): {}{}",
                        x.rule.id, x.rule.purpose, detail, caveat
                    ),
                }
            };
            if sources.is_empty() {
                if c.observed == 0 {
                    out.push(template(None, &c.all, x.rule.from.clone()));
                }
            } else {
                // A row per source up to MAX_SOURCE_ROWS, then one for the
                // rest: a role bound to a /0 must not make a row per host.
                let mut rest = Attempts::default();
                let mut rest_sources = 0u64;
                let mut rows = 0;
                for s in sources {
                    if c.observed_from.contains(&s) {
                        continue;
                    }
                    let attempts = c.attempts_from.get(&s).cloned().unwrap_or_default();
                    if rows == MAX_SOURCE_ROWS {
                        rest.merge(&attempts);
                        rest_sources += 1;
                        continue;
                    }
                    rows += 1;
                    let roles = role_names(&self.roles_of(s, cache));
                    out.push(template(Some(s), &attempts, roles));
                }
                if rest_sources > 0 {
                    let mut row = template(None, &rest, x.rule.from.clone());
                    row.detail = format!(
                        "required by rule {} ({}): {rest_sources} more source(s) of {} never showed it (a row each is listed for the first {MAX_SOURCE_ROWS}); {}{}",
                        x.rule.id,
                        x.rule.purpose,
                        x.rule.from.join("/"),
                        rest.describe(),
                        caveat
                    );
                    out.push(row);
                }
            }
        }
        out
    }

    /// A finding for each limit that kept part of the captures out.
    /// A `tracking-limit` finding saying `detail`, with no traffic.
    pub(super) fn limit_row(&self, detail: String) -> Finding {
        Finding {
            severity: self.deployment.severity_of(FindingKind::TrackingLimit),
            kind: FindingKind::TrackingLimit,
            profiles: Vec::new(),
            rule_id: None,
            src_ip: None,
            src_roles: Vec::new(),
            dst_ip: None,
            dst_roles: Vec::new(),
            proto: None,
            dst_port: None,
            initiator_bases: BTreeSet::new(),
            state: FindingState::None,
            connections: 0,
            packets: 0,
            bytes: 0,
            first_seen: None,
            last_seen: None,
            community_ids: Vec::new(),
            more_flows: 0,
            source: None,
            detail,
            baseline: None,
            waived: None,
        }
    }

    /// The `tracking-limit` findings of what payloads taught and the run
    /// did not learn: RPC sightings past [`crate::rpc::MAX_LEARNED`], DNS
    /// answers past [`crate::rpc::MAX_DNS_ANSWERS`].
    pub(super) fn learning_limit_findings(&self) -> Vec<Finding> {
        let rpc = (self.rpc.dropped, format!(
            "RPC sightings (mapper answers, binds, calls) past the limit of {} were not learned: ports they announced may be reported as unannounced-dynamic-port",
            crate::rpc::MAX_LEARNED
        ));
        let dns = (self.rpc.answers_dropped, format!(
            "DNS answers past the limit of {} distinct answers were not learned: flows to the servers they named may have no dns_name, and roles bound by those names may miss them",
            crate::rpc::MAX_DNS_ANSWERS
        ));
        [rpc, dns]
            .into_iter()
            .filter(|(dropped, _)| *dropped > 0)
            .map(|(dropped, what)| self.limit_row(format!("{dropped} {what}")))
            .collect()
    }

    pub(super) fn limit_findings(&self, kept_out: &Overflow, limits: &Limits) -> Vec<Finding> {
        let severity = self.deployment.severity_of(FindingKind::TrackingLimit);
        let row = |packets: u64, bytes: u64, detail: String| Finding {
            severity,
            kind: FindingKind::TrackingLimit,
            profiles: Vec::new(),
            rule_id: None,
            src_ip: None,
            src_roles: Vec::new(),
            dst_ip: None,
            dst_roles: Vec::new(),
            proto: None,
            dst_port: None,
            initiator_bases: BTreeSet::new(),
            state: FindingState::None,
            connections: 0,
            packets,
            bytes,
            first_seen: None,
            last_seen: None,
            community_ids: Vec::new(),
            more_flows: 0,
            source: None,
            detail,
            baseline: None,
            waived: None,
        };
        let mut out = Vec::new();
        if kept_out.packets > 0 {
            out.push(row(
                kept_out.packets,
                kept_out.bytes,
                format!(
                    "--max-flows {}: about {} flows first seen after that many were tracked were not audited ({} packets); raise --max-flows or split the capture",
                    limits.max_flows,
                    kept_out.flows.estimate(),
                    kept_out.packets
                ),
            ));
        }
        if kept_out.fragments_forgotten > 0 {
            out.push(row(
                0,
                0,
                format!(
                    "--max-fragments {}: {} fragmented datagrams were forgotten before all their fragments came; their later fragments count as fragment-without-first",
                    limits.max_fragments, kept_out.fragments_forgotten
                ),
            ));
        }
        out
    }

    /// A rule can only be missed if both of its sides can match a host.
    pub(super) fn checkable(&self, x: &ActiveRule) -> bool {
        let bound = |refs: &[HostRef]| refs.iter().any(|h| self.deployment.binds(h));
        bound(&x.from) && bound(&x.to)
    }

    /// Hosts that must each show the traffic: every host bound on its own,
    /// and every host of a bound network that appears in the captures.
    pub(super) fn sources_of(&self, refs: &[HostRef], seen: &BTreeSet<IpAddr>) -> BTreeSet<IpAddr> {
        let mut out = BTreeSet::new();
        for h in refs {
            let nets: Vec<crate::rules::Net> = match h {
                HostRef::Role { profile, role } => self.deployment.profiles[*profile]
                    .hosts
                    .get(role)
                    .cloned()
                    .unwrap_or_default(),
                HostRef::Net(n) => vec![*n],
                HostRef::AnyBound => continue,
            };
            for n in nets {
                if n.is_host() {
                    out.insert(n.addr);
                } else {
                    out.extend(seen.iter().copied().filter(|a| n.contains(*a)));
                }
            }
        }
        out
    }
}
