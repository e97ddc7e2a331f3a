//! Rule coverage: how well the captures exercised each rule, accumulated
//! while classifying and judged at the end.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::capture::Timestamp;
use crate::flow::{Flow, FlowState};
use crate::rules::{PortSet, Proto, Requirement, Scope};

use super::classify::Auditor;

/// How well the captures exercised one rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleCoverage {
    pub profile: String,
    pub rule_id: String,
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub proto: Proto,
    pub ports: PortSet,
    pub active: bool,
    pub required: bool,
    pub scope: Scope,
    pub status: RuleStatus,
    pub flows: u64,
    pub observed: u64,
    pub refused: u64,
    pub unanswered: u64,
    pub violations: u64,
    pub bytes: u64,
    /// What the rule is for, and the document sentence it comes from.
    pub purpose: String,
    pub source: String,
}

/// What the captures showed of a rule (docs/audit.md, "Rule coverage"),
/// decided in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleStatus {
    /// Its feature is off.
    Inactive,
    /// Flows broke it (wrong direction, or a local/retired port used).
    Violated,
    /// A `local` rule nothing broke.
    Local,
    /// A `retired` rule nothing broke.
    Retired,
    /// Established traffic matched it.
    Observed,
    /// One of its sides binds no host in the deployment.
    Unbound,
    /// Only refused attempts matched it.
    Refused,
    /// Only unanswered attempts matched it.
    Unanswered,
    /// Required, and nothing matched it.
    Missing,
    /// Optional, and nothing matched it.
    Unused,
}

impl RuleStatus {
    pub fn label(self) -> &'static str {
        match self {
            RuleStatus::Inactive => "inactive",
            RuleStatus::Violated => "violated",
            RuleStatus::Local => "local",
            RuleStatus::Retired => "retired",
            RuleStatus::Observed => "observed",
            RuleStatus::Unbound => "unbound",
            RuleStatus::Refused => "refused",
            RuleStatus::Unanswered => "unanswered",
            RuleStatus::Missing => "missing",
            RuleStatus::Unused => "unused",
        }
    }
}

impl RuleCoverage {
    /// "flows: 5 (2 observed, 2 refused, 1 unanswered); violations: 1;
    /// bytes: 3502".
    pub fn counts(&self) -> String {
        format!(
            "flows: {} ({} observed, {} refused, {} unanswered); violations: {}; bytes: {}",
            self.flows, self.observed, self.refused, self.unanswered, self.violations, self.bytes
        )
    }
}

impl Auditor<'_> {
    pub(super) fn coverage_rows(&self, cov: &[Cov]) -> Vec<RuleCoverage> {
        self.rules
            .iter()
            .zip(cov)
            .map(|(x, c)| {
                let required = x.rule.requirement == Requirement::Required;
                let status = if !x.active {
                    RuleStatus::Inactive
                } else if c.violations > 0 {
                    RuleStatus::Violated
                } else if x.rule.scope == Scope::Local {
                    RuleStatus::Local
                } else if x.rule.scope == Scope::Retired {
                    RuleStatus::Retired
                } else if c.observed > 0 {
                    RuleStatus::Observed
                } else if !self.checkable(x) {
                    RuleStatus::Unbound
                } else if c.all.refused > 0 {
                    RuleStatus::Refused
                } else if c.all.unanswered > 0 {
                    RuleStatus::Unanswered
                } else if required {
                    RuleStatus::Missing
                } else {
                    RuleStatus::Unused
                };
                RuleCoverage {
                    profile: x.profile.to_string(),
                    rule_id: x.rule.id.clone(),
                    from: x.rule.from.clone(),
                    to: x.rule.to.clone(),
                    proto: x.rule.proto,
                    ports: x.rule.ports.clone(),
                    active: x.active,
                    required,
                    scope: x.rule.scope,
                    status,
                    flows: c.flows,
                    observed: c.observed,
                    refused: c.all.refused,
                    unanswered: c.all.unanswered,
                    violations: c.violations,
                    bytes: c.bytes,
                    purpose: x.rule.purpose.clone(),
                    source: x.rule.source.clone(),
                }
            })
            .collect()
    }
}

/// Attempts at a rule's traffic that did not establish.
#[derive(Clone, Debug, Default)]
pub(super) struct Attempts {
    pub(super) refused: u64,
    pub(super) unanswered: u64,
    pub(super) connections: u64,
    pub(super) packets: u64,
    pub(super) bytes: u64,
    pub(super) first: Option<Timestamp>,
    pub(super) last: Option<Timestamp>,
    /// Where the first attempt was first seen.
    pub(super) source: Option<super::rows::SourceKey>,
}

impl Attempts {
    pub(super) fn add(&mut self, f: &Flow) {
        match f.state {
            FlowState::Refused => self.refused += u64::from(f.connections),
            FlowState::Unanswered => self.unanswered += u64::from(f.connections),
            _ => return,
        }
        self.connections += u64::from(f.connections);
        self.packets += f.total_packets();
        self.bytes += f.total_bytes();
        self.first = Timestamp::earliest(self.first, f.first_ts);
        self.last = Timestamp::latest(self.last, f.last_ts);
        self.source = super::rows::earlier(self.source, super::rows::source_key(f));
    }

    pub(super) fn merge(&mut self, later: &Attempts) {
        self.refused += later.refused;
        self.unanswered += later.unanswered;
        self.connections += later.connections;
        self.packets += later.packets;
        self.bytes += later.bytes;
        self.first = Timestamp::earliest(self.first, later.first);
        self.last = Timestamp::latest(self.last, later.last);
        self.source = super::rows::earlier(self.source, later.source);
    }

    pub(super) fn describe(&self) -> String {
        match (self.refused, self.unanswered) {
            (0, 0) => "no matching traffic was attempted".into(),
            (r, 0) => format!("attempted {r} time(s), all refused (RST)"),
            (0, u) => format!("attempted {u} time(s), never answered"),
            (r, u) => format!(
                "attempted {} time(s): {r} refused (RST), {u} never answered",
                r + u
            ),
        }
    }
}

/// Coverage accumulated per rule while classifying.
#[derive(Default)]
pub(super) struct Cov {
    pub(super) flows: u64,
    pub(super) observed: u64,
    pub(super) violations: u64,
    pub(super) bytes: u64,
    pub(super) observed_from: BTreeSet<IpAddr>,
    pub(super) attempts_from: BTreeMap<IpAddr, Attempts>,
    pub(super) all: Attempts,
}

impl Cov {
    /// A flow matched the rule; `from_side` is its end on the rule's
    /// `from` side.
    pub(super) fn record(&mut self, f: &Flow, from_side: IpAddr) {
        self.flows += 1;
        self.bytes += f.total_bytes();
        if f.state.is_observed() {
            self.observed += 1;
            self.observed_from.insert(from_side);
        } else {
            self.all.add(f);
            self.attempts_from.entry(from_side).or_default().add(f);
        }
    }

    pub(super) fn merge(&mut self, later: Cov) {
        self.flows += later.flows;
        self.observed += later.observed;
        self.violations += later.violations;
        self.bytes += later.bytes;
        self.observed_from.extend(later.observed_from);
        for (ip, a) in later.attempts_from {
            self.attempts_from.entry(ip).or_default().merge(&a);
        }
        self.all.merge(&later.all);
    }
}
