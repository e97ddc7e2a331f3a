//! Waivers applied to findings: a matching, unexpired `[[waiver]]` marks
//! a finding waived (it stays in every report, and fails nothing); an
//! expired, expiring or unused waiver is a finding of its own.

use std::collections::BTreeSet;

use crate::rules::{Day, FindingKind, HostRef, Waiver};

use super::classify::Auditor;
use super::finding::{Finding, FindingPorts, FindingProto, FindingState, Waived};

/// A waiver that ends within this many days is reported as expiring.
pub const EXPIRING_DAYS: i64 = 7;

/// Whether a side of a finding (its address and roles) is one of `refs`.
fn side_matches(
    refs: &[HostRef],
    ip: Option<std::net::IpAddr>,
    roles: &[String],
    f: &Finding,
    a: &Auditor,
) -> bool {
    refs.is_empty()
        || refs.iter().any(|h| match h {
            HostRef::AnyBound => !roles.is_empty(),
            HostRef::Net(n) => ip.is_some_and(|ip| n.contains(ip)),
            HostRef::Role { profile, role } => {
                roles.iter().any(|r| r == role)
                    && f.concerns(&a.deployment.profiles[*profile].profile.id)
            }
        })
}

/// Whether `w` matches `f`: every field it gives.
fn matches(w: &Waiver, f: &Finding, a: &Auditor) -> bool {
    w.kind.is_none_or(|k| k == f.kind)
        && w.rule.as_ref().is_none_or(|(p, id)| {
            f.rule_id.as_deref() == Some(id.as_str()) && f.profiles == [p.as_str()]
        })
        && side_matches(&w.src, f.src_ip, &f.src_roles, f, a)
        && side_matches(&w.dst, f.dst_ip, &f.dst_roles, f, a)
        && w.proto.is_none_or(|p| match f.proto {
            Some(FindingProto::Ip(n)) => p.matches(n),
            Some(FindingProto::Rule(r)) => r == p,
            None => false,
        })
        && w.port.as_ref().is_none_or(|set| match &f.dst_port {
            Some(FindingPorts::Port(p)) => set.contains(*p),
            // A rule's ports are waived when the waiver covers each range's
            // ends.
            Some(FindingPorts::Rule(rule)) => {
                !rule.is_empty()
                    && rule
                        .ranges()
                        .iter()
                        .all(|&(lo, hi)| set.contains(lo) && set.contains(hi))
            }
            None => false,
        })
}

/// Waiver findings are about the deployment file, never waived themselves.
fn is_waiver_kind(k: FindingKind) -> bool {
    matches!(
        k,
        FindingKind::ExpiredWaiver | FindingKind::ExpiringWaiver | FindingKind::StaleWaiver
    )
}

impl Auditor<'_> {
    /// Marks the findings the deployment's waivers waive on `today`, and
    /// adds a finding for each waiver expired, expiring or matching
    /// nothing.
    pub(super) fn apply_waivers(&self, findings: &mut Vec<Finding>, today: Day) {
        let waivers = &self.deployment.waivers;
        if waivers.is_empty() {
            return;
        }
        let mut matched = vec![0u64; waivers.len()];
        for f in findings.iter_mut().filter(|f| !is_waiver_kind(f.kind)) {
            let mut first_live = None;
            for (i, w) in waivers.iter().enumerate() {
                if matches(w, f, self) {
                    matched[i] += 1;
                    if w.expires >= today && first_live.is_none() {
                        first_live = Some(i);
                    }
                }
            }
            f.waived = first_live.map(|i| Waived {
                reason: waivers[i].reason.clone(),
                place: waivers[i].place.clone(),
                expires: waivers[i].expires,
            });
        }
        for (w, n) in waivers.iter().zip(matched) {
            let who = describe(w);
            let (kind, detail) = if w.expires < today {
                (
                    FindingKind::ExpiredWaiver,
                    format!(
                        "{who} expired on {}: the {n} finding(s) it matches count again; renew it with a new date, or fix them",
                        w.expires
                    ),
                )
            } else if n == 0 {
                (
                    FindingKind::StaleWaiver,
                    format!(
                        "{who} matched no finding of this run: remove it, or fix what it names"
                    ),
                )
            } else if w.expires.0 - today.0 < EXPIRING_DAYS {
                (
                    FindingKind::ExpiringWaiver,
                    format!(
                        "{who} ends on {} ({} day(s) left) and waives {n} finding(s)",
                        w.expires,
                        w.expires.0 - today.0
                    ),
                )
            } else {
                continue;
            };
            findings.push(Finding {
                severity: self.deployment.severity_of(kind),
                kind,
                profiles: w.rule.iter().map(|(p, _)| p.clone()).collect(),
                rule_id: w.rule.as_ref().map(|(_, id)| id.clone()),
                src_ip: None,
                src_roles: Vec::new(),
                dst_ip: None,
                dst_roles: Vec::new(),
                proto: w.proto.map(FindingProto::Rule),
                dst_port: w.port.clone().map(FindingPorts::Rule),
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
            });
        }
    }
}

/// "waiver at site.toml:12 (reason: ...; owner ...; ticket ...)".
fn describe(w: &Waiver) -> String {
    let mut s = format!("waiver at {} ({}", w.place, w.reason);
    if let Some(o) = &w.owner {
        s.push_str(&format!("; owner {o}"));
    }
    if let Some(t) = &w.ticket {
        s.push_str(&format!("; ticket {t}"));
    }
    s.push(')');
    s
}
