//! Rules × flows → verdicts, findings and rule coverage (DESIGN.md,
//! "Classifying a flow", steps 1-7).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use rayon::prelude::*;

use crate::capture::Timestamp;
use crate::decode::{PROTO_ICMP, PROTO_ICMPV6, PROTO_SCTP, PROTO_TCP, PROTO_UDP};
use crate::flow::{
    resolve, CommunityId, Flow, FlowState, FlowStats, FlowSummary, Flows, Limits, Overflow,
    PackedKey,
};
use crate::rules::{
    AuditScope, Deployment, Expect, FindingKind, HostRef, Initiator, PortSet, Proto, Requirement,
    Rule, Scope,
};

use super::finding::{Finding, FindingPorts, FindingProto, FindingState};

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
}

impl Verdict {
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Finding(k) => k.label(),
            Verdict::OutOfScope => "out-of-scope",
            Verdict::IcmpControl => "icmp-control",
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
}

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

/// Everything the audit produced.
#[derive(Clone, Debug, Default)]
pub struct AuditReport<'d> {
    pub findings: Vec<Finding>,
    /// Every flow with its verdict, when asked for (`--flows`): it takes
    /// memory in proportion to the flows.
    pub flows: Vec<FlowVerdict<'d>>,
    pub summary: FlowSummary,
    pub coverage: Vec<RuleCoverage>,
}

/// One rule of the deployment, profile or site, ready to match.
struct ActiveRule<'d> {
    profile: &'d str,
    rule: &'d Rule,
    from: Vec<HostRef>,
    to: Vec<HostRef>,
    active: bool,
}

/// Role bindings of one address: (profile index, role id).
type Roles = Vec<(usize, String)>;
/// Roles by address, looked up once per address per pass.
type RolesCache = HashMap<IpAddr, Arc<Roles>, ahash::RandomState>;

/// Classifies flows against a deployment.
pub struct Auditor<'d> {
    deployment: &'d Deployment,
    rules: Vec<ActiveRule<'d>>,
    server_ports: BTreeSet<(u8, u16)>,
}

impl<'d> Auditor<'d> {
    pub fn new(deployment: &'d Deployment) -> Self {
        let mut rules = Vec::new();
        for (pi, b) in deployment.profiles.iter().enumerate() {
            let refs = |roles: &[String]| {
                roles
                    .iter()
                    .map(|r| HostRef::Role {
                        profile: pi,
                        role: r.clone(),
                    })
                    .collect::<Vec<_>>()
            };
            for r in &b.profile.rules {
                rules.push(ActiveRule {
                    profile: &b.profile.id,
                    rule: r,
                    from: refs(&r.from),
                    to: refs(&r.to),
                    active: r.feature.as_ref().is_none_or(|f| b.features.contains(f)),
                });
            }
        }
        for s in &deployment.site_rules {
            rules.push(ActiveRule {
                profile: SITE_PROFILE,
                rule: &s.rule,
                from: s.from.clone(),
                to: s.to.clone(),
                active: true,
            });
        }
        let mut server_ports = BTreeSet::new();
        for r in rules.iter().filter(|r| r.active) {
            for proto in [6u8, 17] {
                if !r.rule.proto.matches(proto) {
                    continue;
                }
                for &(lo, hi) in r.rule.ports.ranges() {
                    // Wide "dynamic port" ranges say nothing about which side
                    // listens; only specific ports steer the heuristic.
                    if hi - lo < 16 {
                        for p in lo..=hi {
                            server_ports.insert((proto, p));
                        }
                    }
                }
            }
        }
        Auditor {
            deployment,
            rules,
            server_ports,
        }
    }

    /// True when a rule of the deployment names `port` as a listening port.
    pub fn is_server_port(&self, proto: u8, port: u16) -> bool {
        self.server_ports.contains(&(proto, port))
    }

    /// Classifies a stretch of flows: their verdicts, finding rows and
    /// rule coverage.
    fn pass(&self, flows: &[(PackedKey, FlowStats)], roles: &RolesCache, keep: bool) -> Pass<'d> {
        let mut p = Pass::new(self.rules.len());
        if keep {
            p.verdicts.reserve(flows.len());
        }
        let server = |proto: u8, port: u16| self.is_server_port(proto, port);
        for (key, stats) in flows {
            let flow = resolve(&key.unpack(), stats, &server);
            p.summary.add(&flow);
            // Every address of the flows has its roles looked up already.
            let ri = &roles[&flow.initiator.addr];
            let rr = &roles[&flow.responder.addr];
            let (verdict, rule_idx) = self.classify(&flow, ri, rr, &mut p.coverage);
            if let Verdict::Finding(kind) = &verdict {
                let row_key = RowKey {
                    kind: *kind,
                    src: flow.initiator.addr,
                    dst: flow.responder.addr,
                    proto: flow.proto,
                    port: row_port(&flow),
                };
                p.rows[row_shard(&row_key)]
                    .entry(row_key)
                    .or_default()
                    .add(&flow, rule_idx);
                if let Some(i) = rule_idx {
                    p.coverage[i].violations += 1;
                }
            }
            if !keep {
                continue;
            }
            let (profile, rule_id) = match rule_idx {
                Some(i) => (self.rules[i].profile, self.rules[i].rule.id.as_str()),
                None => ("", ""),
            };
            p.verdicts.push(FlowVerdict {
                flow,
                verdict,
                profile,
                rule_id,
            });
        }
        p
    }

    /// Audits the merged flows of all captures. `kept_out` is what the
    /// reading [`Limits`] kept out of `flows`: it becomes tracking-limit
    /// findings and qualifies missing-expected ones, as a capture where
    /// many flows are one-way does, and as `left_out` says (why else
    /// traffic may be missing: `--filter`). Runs on the current rayon pool.
    pub fn audit(
        &self,
        flows: &Flows,
        kept_out: &Overflow,
        left_out: Option<&str>,
        limits: &Limits,
        keep_flows: bool,
    ) -> AuditReport<'d> {
        // Flows are classified in parallel, in chunks whose results are
        // merged in flow order: the same report on any number of threads.
        // A few chunks per thread: every chunk's rows are merged with the
        // next's, so fewer, larger chunks merge less.
        let per_chunk = flows
            .len()
            .div_ceil(4 * rayon::current_num_threads())
            .max(PASS_FLOWS);
        let chunks = flows.chunks(per_chunk);
        let seen_hosts: BTreeSet<IpAddr> = chunks
            .par_iter()
            .map(|chunk| {
                let mut hosts = HashSet::<IpAddr, ahash::RandomState>::default();
                for (k, _) in chunk.iter() {
                    let k = k.unpack();
                    hosts.insert(k.a.addr);
                    hosts.insert(k.b.addr);
                }
                hosts
            })
            .reduce(HashSet::default, |mut a, b| {
                a.extend(b);
                a
            })
            .into_iter()
            .collect();
        let mut roles_cache: RolesCache = seen_hosts
            .iter()
            .map(|&ip| (ip, Arc::new(self.roles_uncached(ip))))
            .collect();
        let mut passes: Vec<Pass> = chunks
            .par_iter()
            .map(|chunk| self.pass(chunk, &roles_cache, keep_flows))
            .collect();
        // Each shard of rows merges its passes in flow order and becomes
        // findings, shards on every core (the findings are sorted below).
        let shards: Vec<Vec<RowMap>> = (0..ROW_SHARDS)
            .map(|s| {
                passes
                    .iter_mut()
                    .map(|p| std::mem::take(&mut p.rows[s]))
                    .collect()
            })
            .collect();
        let by_shard: Vec<Vec<Finding>> = shards
            .into_par_iter()
            .map(|maps| {
                let rows = maps.into_iter().reduce(|mut all, later| {
                    for (k, row) in later {
                        all.entry(k).or_default().merge(row);
                    }
                    all
                });
                let rows = rows.unwrap_or_default().into_iter();
                rows.map(|(k, row)| self.flow_finding(k, row, &roles_cache))
                    .collect()
            })
            .collect();
        // Moved a shard at a time, each freed as it goes: the findings are
        // never held twice.
        let mut findings = Vec::with_capacity(by_shard.iter().map(Vec::len).sum());
        for shard in by_shard {
            findings.extend(shard);
        }
        let Pass {
            verdicts,
            coverage,
            summary,
            ..
        } = Pass::concat(passes, self.rules.len());
        let mut caveats = String::new();
        if summary.mostly_one_way() {
            caveats.push_str(&format!(
                "; {:.0}% of flows in the captures are one-way: the capture, not the network, may be why this is missing",
                summary.one_way as f64 * 100.0 / summary.flows as f64
            ));
        }
        if kept_out.packets > 0 {
            caveats.push_str(&format!(
                "; {} packets of flows past --max-flows {} were not audited and may hold it",
                kept_out.packets, limits.max_flows
            ));
        }
        if let Some(why) = left_out {
            caveats.push_str("; ");
            caveats.push_str(why);
        }
        findings.extend(self.missing_expected(&coverage, &seen_hosts, &caveats, &mut roles_cache));
        findings.extend(self.limit_findings(kept_out, limits));
        findings.par_sort_by_cached_key(Finding::sort_key);
        let coverage = self.coverage_rows(&coverage);
        AuditReport {
            findings,
            flows: verdicts,
            coverage,
            summary,
        }
    }

    fn roles_of(&self, ip: IpAddr, cache: &mut RolesCache) -> Arc<Roles> {
        cache
            .entry(ip)
            .or_insert_with(|| Arc::new(self.roles_uncached(ip)))
            .clone()
    }

    /// The roles `ip` holds, in profile order.
    fn roles_uncached(&self, ip: IpAddr) -> Roles {
        let mut v = Vec::new();
        for (pi, b) in self.deployment.profiles.iter().enumerate() {
            for (role, nets) in &b.hosts {
                if nets.iter().any(|n| n.contains(ip)) {
                    v.push((pi, role.clone()));
                }
            }
        }
        v
    }

    fn is_dedicated(&self, roles: &Roles) -> bool {
        roles.iter().any(|(pi, r)| {
            self.deployment.profiles[*pi]
                .profile
                .role(r)
                .is_some_and(|role| role.dedicated)
        })
    }

    fn side_matches(refs: &[HostRef], ip: IpAddr, roles: &Roles) -> bool {
        refs.iter().any(|h| match h {
            HostRef::AnyBound => !roles.is_empty(),
            HostRef::Role { profile, role } => roles.iter().any(|(p, r)| p == profile && r == role),
            HostRef::Net(n) => n.contains(ip),
        })
    }

    fn classify(
        &self,
        f: &Flow,
        ri: &Roles,
        rr: &Roles,
        cov: &mut [Cov],
    ) -> (Verdict, Option<usize>) {
        if is_icmp_control(f) {
            return (Verdict::IcmpControl, None);
        }
        let in_scope = (!ri.is_empty() && !rr.is_empty())
            || self.is_dedicated(ri)
            || self.is_dedicated(rr)
            || self.deployment.scope == AuditScope::All;
        if !in_scope {
            return (Verdict::OutOfScope, None);
        }
        let (i, r) = (f.initiator.addr, f.responder.addr);
        let port = f.service_port();
        let forward =
            |x: &ActiveRule| Self::side_matches(&x.from, i, ri) && Self::side_matches(&x.to, r, rr);
        let reverse =
            |x: &ActiveRule| Self::side_matches(&x.from, r, rr) && Self::side_matches(&x.to, i, ri);
        let covers = |x: &ActiveRule| x.rule.covers(f.proto, port);
        let mut allowed = None;
        for (idx, x) in self.rules.iter().enumerate() {
            if !x.active || x.rule.scope != Scope::Network || !covers(x) {
                continue;
            }
            let fwd = forward(x);
            let rev_ok = x.rule.initiator == Initiator::Either && reverse(x);
            if fwd || rev_ok {
                cov[idx].record(f, if fwd { i } else { r });
                allowed.get_or_insert(idx);
            }
        }
        if let Some(idx) = allowed {
            return (Verdict::Allowed, Some(idx));
        }
        let find = |pred: &dyn Fn(&ActiveRule) -> bool| self.rules.iter().position(pred);
        if let Some(idx) =
            find(&|x| x.active && x.rule.scope == Scope::Network && covers(x) && reverse(x))
        {
            return (Verdict::Finding(FindingKind::WrongDirection), Some(idx));
        }
        if let Some(idx) = find(&|x| {
            !x.active
                && x.rule.scope == Scope::Network
                && covers(x)
                && (forward(x) || (x.rule.initiator == Initiator::Either && reverse(x)))
        }) {
            return (Verdict::Finding(FindingKind::DisabledFeature), Some(idx));
        }
        if let Some(idx) = find(&|x| x.rule.scope == Scope::Local && covers(x)) {
            return (Verdict::Finding(FindingKind::LocalOnlyExposed), Some(idx));
        }
        if let Some(idx) = find(&|x| x.rule.scope == Scope::Retired && covers(x)) {
            return (Verdict::Finding(FindingKind::RetiredPort), Some(idx));
        }
        (Verdict::Finding(FindingKind::UnexpectedPort), None)
    }

    /// The finding of a row of flows; `cache` has the roles of every
    /// address of the flows.
    fn flow_finding(&self, k: RowKey, row: Row, cache: &RolesCache) -> Finding {
        let (ri, rr) = (&cache[&k.src], &cache[&k.dst]);
        let base = self.deployment.severity_of(k.kind);
        let all_inferred = row.bases.iter().all(|b| !b.is_evidence());
        let severity = if k.kind == FindingKind::WrongDirection && all_inferred {
            base.inferred()
        } else {
            base
        };
        let rule = row.rule.map(|i| &self.rules[i]);
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
            detail,
        }
    }

    fn missing_expected(
        &self,
        cov: &[Cov],
        seen: &BTreeSet<IpAddr>,
        caveat: &str,
        cache: &mut RolesCache,
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
                for s in sources {
                    if c.observed_from.contains(&s) {
                        continue;
                    }
                    let attempts = c.attempts_from.get(&s).cloned().unwrap_or_default();
                    let roles = role_names(&self.roles_of(s, cache));
                    out.push(template(Some(s), &attempts, roles));
                }
            }
        }
        out
    }

    /// A finding for each limit that kept part of the captures out.
    fn limit_findings(&self, kept_out: &Overflow, limits: &Limits) -> Vec<Finding> {
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
            detail,
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
    fn checkable(&self, x: &ActiveRule) -> bool {
        let bound = |refs: &[HostRef]| refs.iter().any(|h| self.deployment.binds(h));
        bound(&x.from) && bound(&x.to)
    }

    /// Hosts that must each show the traffic: every host bound on its own,
    /// and every host of a bound network that appears in the captures.
    fn sources_of(&self, refs: &[HostRef], seen: &BTreeSet<IpAddr>) -> BTreeSet<IpAddr> {
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

    fn coverage_rows(&self, cov: &[Cov]) -> Vec<RuleCoverage> {
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

/// Community IDs listed in one finding row before "+N more".
const MAX_IDS: usize = 16;

/// The smallest [`MAX_IDS`] Community IDs of a row's flows, in order.
#[derive(Debug, Default, PartialEq, Eq)]
struct SmallestIds(Vec<CommunityId>);

impl SmallestIds {
    fn insert(&mut self, id: CommunityId) {
        let ids = &mut self.0;
        if ids.len() == MAX_IDS && ids.last().is_some_and(|last| id >= *last) {
            return;
        }
        if let Err(at) = ids.binary_search(&id) {
            if ids.len() == MAX_IDS {
                ids.pop();
            }
            ids.insert(at, id);
        }
    }
}

fn is_icmp_control(f: &Flow) -> bool {
    let t = f.initiator.port;
    match f.proto {
        PROTO_ICMP => matches!(t, 3 | 4 | 5 | 11 | 12),
        PROTO_ICMPV6 => matches!(t, 1..=4 | 130..=137 | 143),
        _ => false,
    }
}

/// The role ids of a host, sorted and deduplicated.
fn role_names(roles: &Roles) -> Vec<String> {
    let set: BTreeSet<&str> = roles.iter().map(|(_, r)| r.as_str()).collect();
    set.into_iter().map(str::to_string).collect()
}

/// The role ids of a host for a sentence: joined by `/`, or `unbound`.
fn side_name(roles: &Roles, unbound: &str) -> String {
    if roles.is_empty() {
        return unbound.to_string();
    }
    role_names(roles).join("/")
}

/// The port of a flow's finding row: its service port (ICMP type), none
/// for protocols without ports.
fn row_port(f: &Flow) -> Option<u16> {
    match f.proto {
        PROTO_TCP | PROTO_UDP | PROTO_SCTP | PROTO_ICMP | PROTO_ICMPV6 => Some(f.service_port()),
        _ => None,
    }
}

/// Flows classified per chunk of a [`Pass`], at least.
const PASS_FLOWS: usize = 4096;

/// Finding rows of a stretch of flows, by key.
type RowMap = HashMap<RowKey, Row, ahash::RandomState>;

/// Rows are kept in this many shards by key, so that the rows of all
/// stretches merge a shard at a time on every core.
const ROW_SHARDS: usize = 64;

/// The shard of a row: the same in every stretch and on every run. By the
/// whole key: a few address pairs may hold most rows (one per port).
fn row_shard(k: &RowKey) -> usize {
    let h = ahash::RandomState::with_seeds(1, 2, 3, 4).hash_one(k);
    (h % ROW_SHARDS as u64) as usize
}

/// What classifying a stretch of flows gives; two adjacent stretches merge.
struct Pass<'d> {
    verdicts: Vec<FlowVerdict<'d>>,
    /// [`ROW_SHARDS`] maps.
    rows: Vec<RowMap>,
    coverage: Vec<Cov>,
    summary: FlowSummary,
}

impl<'d> Pass<'d> {
    fn new(rules: usize) -> Pass<'d> {
        Pass {
            verdicts: Vec::new(),
            rows: (0..ROW_SHARDS).map(|_| RowMap::default()).collect(),
            coverage: (0..rules).map(|_| Cov::default()).collect(),
            summary: FlowSummary::default(),
        }
    }

    /// The passes over consecutive stretches of flows, as one, but for
    /// their rows (merged shard by shard).
    fn concat(passes: Vec<Pass<'d>>, rules: usize) -> Pass<'d> {
        let mut all = Pass::new(rules);
        all.verdicts
            .reserve_exact(passes.iter().map(|p| p.verdicts.len()).sum());
        for p in passes {
            all.verdicts.extend(p.verdicts);
            for (c, later) in all.coverage.iter_mut().zip(p.coverage) {
                c.merge(later);
            }
            all.summary.merge(&p.summary);
        }
        all
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct RowKey {
    kind: FindingKind,
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    port: Option<u16>,
}

#[derive(Default)]
struct Row {
    rule: Option<usize>,
    flows: u64,
    one_way: u64,
    connections: u64,
    packets: u64,
    bytes: u64,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    bases: BTreeSet<crate::flow::InitiatorBasis>,
    states: BTreeSet<FlowState>,
    /// The smallest [`MAX_IDS`] Community IDs of the row's flows.
    community_ids: SmallestIds,
}

impl Row {
    fn add(&mut self, f: &Flow, rule: Option<usize>) {
        self.rule = self.rule.or(rule);
        self.flows += 1;
        self.one_way += u64::from(f.is_one_way());
        self.connections += u64::from(f.connections);
        self.packets += f.total_packets();
        self.bytes += f.total_bytes();
        self.first = Timestamp::earliest(self.first, f.first_ts);
        self.last = Timestamp::latest(self.last, f.last_ts);
        self.bases.insert(f.basis);
        self.states.insert(f.state);
        self.community_ids.insert(f.community_id());
    }

    /// Appends the row of the flows that follow.
    fn merge(&mut self, later: Row) {
        self.rule = self.rule.or(later.rule);
        self.flows += later.flows;
        self.one_way += later.one_way;
        self.connections += later.connections;
        self.packets += later.packets;
        self.bytes += later.bytes;
        self.first = Timestamp::earliest(self.first, later.first);
        self.last = Timestamp::latest(self.last, later.last);
        self.bases.extend(later.bases);
        self.states.extend(later.states);
        for id in later.community_ids.0 {
            self.community_ids.insert(id);
        }
    }
}

/// Attempts at a rule's traffic that did not establish.
#[derive(Clone, Debug, Default)]
struct Attempts {
    refused: u64,
    unanswered: u64,
    connections: u64,
    packets: u64,
    bytes: u64,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
}

impl Attempts {
    fn add(&mut self, f: &Flow) {
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
    }

    fn merge(&mut self, later: &Attempts) {
        self.refused += later.refused;
        self.unanswered += later.unanswered;
        self.connections += later.connections;
        self.packets += later.packets;
        self.bytes += later.bytes;
        self.first = Timestamp::earliest(self.first, later.first);
        self.last = Timestamp::latest(self.last, later.last);
    }

    fn describe(&self) -> String {
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
struct Cov {
    flows: u64,
    observed: u64,
    violations: u64,
    bytes: u64,
    observed_from: BTreeSet<IpAddr>,
    attempts_from: BTreeMap<IpAddr, Attempts>,
    all: Attempts,
}

impl Cov {
    /// A flow matched the rule; `from_side` is its end on the rule's
    /// `from` side.
    fn record(&mut self, f: &Flow, from_side: IpAddr) {
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

    fn merge(&mut self, later: Cov) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{Endpoint, FlowKey};

    /// A row keeps the smallest Community IDs of its flows, whether it
    /// saw them at once or as two merged halves, and counts all flows.
    #[test]
    fn rows_keep_the_smallest_community_ids_and_count_the_rest() {
        let flows: Vec<Flow> = (0..40u16)
            .map(|i| {
                let end = |a: &str, port| Endpoint {
                    addr: a.parse().unwrap(),
                    port,
                };
                let (key, _) = FlowKey::new(6, end("10.0.0.1", 40_000 + i), end("10.0.0.2", 443));
                let mut s = FlowStats::default();
                s.packets[0] = 1;
                resolve(&key, &s, &|_, _| false)
            })
            .collect();
        let mut whole = Row::default();
        flows.iter().for_each(|f| whole.add(f, None));
        let (mut a, mut b) = (Row::default(), Row::default());
        flows[..20].iter().for_each(|f| a.add(f, None));
        flows[20..].iter().for_each(|f| b.add(f, None));
        a.merge(b);
        let mut all: Vec<String> = flows.iter().map(|f| f.community_id().to_string()).collect();
        all.sort();
        let kept: Vec<String> = whole
            .community_ids
            .0
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(kept, all[..MAX_IDS]);
        assert_eq!(a.community_ids, whole.community_ids);
        assert_eq!((a.flows, whole.flows), (40, 40));
    }
}
