//! Rules × flows → verdicts, findings and rule coverage (docs/audit.md,
//! "Classification order").

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use rayon::prelude::*;

use crate::capture::Timestamp;
use crate::decode::{PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP};
use crate::flow::{resolve, Flow, FlowStats, FlowSummary, Flows, Limits, Overflow, PackedKey};
use crate::rpc::{Attribution, Knowledge, Mapper, Service};
use crate::rules::{
    AuditScope, Day, Deployment, Dynamic, FindingKind, HostRef, Initiator, Rule, Scope,
};

use super::coverage::{Cov, RuleCoverage};
use super::finding::Finding;
use super::rows::{row_port, row_shard, Pass, RowKey, RowMap, PASS_FLOWS, ROW_SHARDS};
use super::verdict::{is_icmp_control, with_payload_evidence, FlowVerdict, Verdict, SITE_PROFILE};

/// Everything the audit produced.
#[derive(Clone, Debug, Default)]
pub struct AuditReport<'d> {
    pub findings: Vec<Finding>,
    /// Every flow with its verdict, when asked for (`--flows`): it takes
    /// memory in proportion to the flows.
    pub flows: Vec<FlowVerdict<'d>>,
    pub summary: FlowSummary,
    pub coverage: Vec<RuleCoverage>,
    /// The inputs the flows' origins name.
    pub inputs: crate::flow::Inputs,
    /// What the captures' RPC mappers announced, and which flows each
    /// allowed.
    pub rpc: Arc<Knowledge>,
}

/// One rule of the deployment, profile or site, ready to match.
pub(super) struct ActiveRule<'d> {
    pub(super) profile: &'d str,
    pub(super) rule: &'d Rule,
    pub(super) from: Vec<HostRef>,
    pub(super) to: Vec<HostRef>,
    pub(super) active: bool,
}

/// Role bindings of one address: (profile index, role id).
pub(super) type Roles = Vec<(usize, String)>;
/// What the audit looks up once per address: its roles, and when a DNS
/// answer first named it ([`crate::rpc::Knowledge::named_from`]).
#[derive(Clone, Debug)]
pub(super) struct Host {
    pub(super) roles: Arc<Roles>,
    pub(super) named_from: Option<Timestamp>,
}

/// Hosts by address, looked up once per address per pass.
pub(super) type RolesCache = HashMap<IpAddr, Host, ahash::RandomState>;

/// Classifies flows against a deployment.
pub struct Auditor<'d> {
    pub(super) deployment: &'d Deployment,
    pub(super) rules: Vec<ActiveRule<'d>>,
    pub(super) server_ports: BTreeSet<(u8, u16)>,
    /// The day waivers are judged on ([`Day::today`] unless set).
    pub(super) today: Day,
    /// Rules by the (protocol, port) they can cover.
    rule_index: RuleIndex,
    /// Finding rows of flows kept at most (`--max-findings`).
    max_findings: usize,
    /// What the captures' RPC mappers announced, for `dynamic` rules.
    pub(super) rpc: Arc<Knowledge>,
}

/// `--max-findings` unless given: about 2 GB of finding rows at most.
pub const DEFAULT_MAX_FINDINGS: usize = 1_000_000;

/// Ports a rule may list and still be indexed port by port; a wider rule
/// (a dynamic range) is a candidate for every port.
const INDEXED_PORTS: u32 = 64;

/// The rules that can cover each (protocol, port), in rule order: the
/// classification tests those alone, so 50 000 site rules cost what the
/// few that name a flow's port cost.
#[derive(Debug, Default)]
struct RuleIndex {
    /// Rules naming the port, merged with `wide` of the same protocol.
    by_port: HashMap<(u8, u16), Vec<usize>, ahash::RandomState>,
    /// Per protocol: rules with no ports or wide ranges.
    wide: HashMap<u8, Vec<usize>, ahash::RandomState>,
}

impl RuleIndex {
    fn new(rules: &[ActiveRule<'_>]) -> RuleIndex {
        const PROTOS: [u8; 4] = [PROTO_TCP, PROTO_UDP, PROTO_ICMP, PROTO_ICMPV6];
        let mut index = RuleIndex::default();
        let mut named: HashMap<(u8, u16), Vec<usize>, ahash::RandomState> = HashMap::default();
        for (i, x) in rules.iter().enumerate() {
            let ranges = x.rule.ports.ranges();
            let count: u32 = ranges.iter().map(|&(lo, hi)| u32::from(hi - lo) + 1).sum();
            for proto in PROTOS.into_iter().filter(|&p| x.rule.proto.matches(p)) {
                if ranges.is_empty() || count > INDEXED_PORTS {
                    index.wide.entry(proto).or_default().push(i);
                } else {
                    for &(lo, hi) in ranges {
                        for port in lo..=hi {
                            named.entry((proto, port)).or_default().push(i);
                        }
                    }
                }
            }
        }
        for (key, mut list) in named {
            list.extend(index.wide.get(&key.0).into_iter().flatten().copied());
            list.sort_unstable();
            list.dedup();
            index.by_port.insert(key, list);
        }
        index
    }

    /// The rules that can cover `port` of `proto`, in rule order.
    fn candidates(&self, proto: u8, port: u16) -> &[usize] {
        match self.by_port.get(&(proto, port)) {
            Some(list) => list,
            None => self.wide.get(&proto).map_or(&[], Vec::as_slice),
        }
    }
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
            for proto in [PROTO_TCP, PROTO_UDP] {
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
        let rule_index = RuleIndex::new(&rules);
        Auditor {
            deployment,
            rules,
            server_ports,
            today: Day::today(),
            rule_index,
            max_findings: DEFAULT_MAX_FINDINGS,
            rpc: Arc::default(),
        }
    }

    /// Judges `dynamic` rules by what the run's mappers announced, and
    /// names the servers of flows whose clients named none by what its DNS
    /// answers said.
    pub fn knowing(mut self, rpc: Arc<Knowledge>) -> Self {
        self.rpc = rpc;
        self
    }

    /// What is known of the service of flow `f`, when a `dynamic` rule
    /// covers its port.
    pub(super) fn attribution(&self, f: &Flow, dynamic: &Dynamic) -> Attribution<'_> {
        self.rpc.attribute(
            dynamic.mapper,
            f.proto,
            (f.initiator.addr, f.initiator.port),
            (f.responder.addr, f.service_port()),
            f.last_ts,
        )
    }

    /// The verdict of a flow a `dynamic` rule would allow: allowed when
    /// the port was announced to its client and the rule covers its
    /// service.
    /// `Ok` holds the announcements that allow it (the caller counts them
    /// for the rule that decides).
    fn judge_dynamic(&self, f: &Flow, dynamic: &Dynamic) -> Result<Vec<usize>, FindingKind> {
        let att = self.attribution(f, dynamic);
        let services = att.services();
        if !services.is_empty() && !services.iter().any(|s| dynamic.covers(s)) {
            return Err(FindingKind::UncoveredRpcService);
        }
        // DCOM hands out its objects' ports in activation replies, not
        // through the endpoint mapper: the connection's own bind is the
        // evidence (docs/audit.md#announced-ports).
        let dcom = dynamic.mapper == Mapper::Epm && att.bound.iter().any(Service::is_dcom_object);
        if att.announced.is_empty() && !dcom {
            return Err(FindingKind::UnannouncedDynamicPort);
        }
        Ok(att.announced.iter().map(|(i, _)| *i).collect())
    }

    /// Keeps at most `n` (at least 1) finding rows of flows; the others
    /// are counted in a `tracking-limit` finding.
    pub fn max_findings(mut self, n: usize) -> Self {
        self.max_findings = n.max(1);
        self
    }

    /// The last row key kept under `--max-findings`, and the rows past it
    /// by kind (`None` and nothing when all fit).
    fn findings_cutoff(&self, rows: &[RowMap]) -> (Option<RowKey>, BTreeMap<FindingKind, u64>) {
        let total: usize = rows.iter().map(|m| m.len()).sum();
        if total <= self.max_findings {
            return (None, BTreeMap::new());
        }
        let mut keys: Vec<&RowKey> = rows.iter().flat_map(|m| m.keys()).collect();
        let (_, cut, _) = keys.select_nth_unstable(self.max_findings - 1);
        let cut = (*cut).clone();
        let mut dropped = BTreeMap::new();
        for k in keys.iter().filter(|k| ***k > cut) {
            *dropped.entry(k.kind).or_default() += 1;
        }
        (Some(cut), dropped)
    }

    /// The `tracking-limit` finding that says which rows --max-findings
    /// left out.
    fn dropped_findings(&self, dropped: &BTreeMap<FindingKind, u64>) -> Option<Finding> {
        if dropped.is_empty() {
            return None;
        }
        let total: u64 = dropped.values().sum();
        let kinds: Vec<String> = dropped
            .iter()
            .map(|(k, n)| format!("{} {n}", k.label()))
            .collect();
        Some(self.limit_row(format!(
            "--max-findings {}: {total} more finding rows were not kept ({}); raise --max-findings, or narrow the deployment's scope",
            self.max_findings,
            kinds.join(", ")
        )))
    }

    /// Judges waivers on `today` instead of the clock's day.
    pub fn on(mut self, today: Day) -> Self {
        self.today = today;
        self
    }

    /// True when a rule of the deployment names `port` as a listening port.
    pub fn is_server_port(&self, proto: u8, port: u16) -> bool {
        self.server_ports.contains(&(proto, port))
    }

    /// Classifies a stretch of flows: their verdicts, finding rows and
    /// rule coverage.
    pub(super) fn pass(
        &self,
        flows: &[(PackedKey, FlowStats)],
        roles: &RolesCache,
        keep: bool,
    ) -> Pass<'d> {
        let mut p = Pass::new(self.rules.len());
        if keep {
            p.verdicts.reserve(flows.len());
        }
        let server = |proto: u8, port: u16| self.is_server_port(proto, port);
        for (key, stats) in flows {
            let mut flow = resolve(&key.unpack(), stats, &server);
            with_payload_evidence(&self.rpc, &mut flow);
            // Every address of the flows has its roles looked up already.
            let ri = &roles[&flow.initiator.addr].roles;
            let responder = &roles[&flow.responder.addr];
            let rr = &responder.roles;
            p.summary
                .add(&flow, flow.named_by_dns(responder.named_from));
            let (verdict, rule_idx) = self.classify(&flow, ri, rr, &mut p.coverage);
            if let Some(i) = rule_idx {
                let named = !self.rules[i].rule.app_on(flow.service_port()).is_empty();
                let c = &mut p.summary.content;
                match &verdict {
                    Verdict::Finding(FindingKind::ProtocolMismatch) => c.mismatched += 1,
                    Verdict::Finding(FindingKind::UnverifiedProtocol) => c.unverifiable += 1,
                    Verdict::Allowed if named && flow.app().is_known() => c.verified += 1,
                    Verdict::Allowed if named => c.unverifiable += 1,
                    _ => {}
                }
            }
            // The name DNS gave the server, looked up once for what reads
            // it: a finding row on content, a flow of `--flows`.
            let content = matches!(verdict, Verdict::Finding(k) if k.is_about_content());
            let dns_name = (content || keep)
                .then(|| flow.dns_name(&self.rpc))
                .flatten();
            if let Verdict::Finding(kind) = &verdict {
                let row_key = RowKey {
                    kind: *kind,
                    src: flow.initiator.addr,
                    dst: flow.responder.addr,
                    proto: flow.proto,
                    port: row_port(&flow),
                };
                let row = p.rows[row_shard(&row_key)].entry(row_key).or_default();
                row.add(&flow, rule_idx);
                if content {
                    row.add_content(&flow, flow.name_or(dns_name));
                }
                let dynamic = rule_idx.and_then(|i| self.rules[i].rule.dynamic.as_ref());
                if let Some(d) = dynamic.filter(|_| kind.is_about_dynamic_port()) {
                    let att = self.attribution(&flow, d);
                    row.add_services(att.services(), !att.announced.is_empty());
                }
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
                rpc: crate::audit::describe_rpc(&self.rpc, &flow),
                dns_name: dns_name.map(Box::from),
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
        let (named_roles, names_bound) = self.roles_by_name(&chunks);
        let mut roles_cache: RolesCache = seen_hosts
            .iter()
            .map(|&ip| {
                let mut roles = self.roles_uncached(ip);
                if let Some(named) = named_roles.get(&ip) {
                    roles.extend(named.iter().cloned());
                    roles.sort();
                    roles.dedup();
                }
                (ip, self.host(ip, roles))
            })
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
        let merged: Vec<RowMap> = shards
            .into_par_iter()
            .map(|maps| {
                let rows = maps.into_iter().reduce(|mut all, later| {
                    for (k, row) in later {
                        all.entry(k).or_default().merge(row);
                    }
                    all
                });
                rows.unwrap_or_default()
            })
            .collect();
        // Past --max-findings, the rows first in key order are kept (the
        // same ones on any number of threads); the rest are counted.
        let (cutoff, dropped) = self.findings_cutoff(&merged);
        let by_shard: Vec<Vec<Finding>> = merged
            .into_par_iter()
            .map(|rows| {
                rows.into_iter()
                    .filter(|(k, _)| cutoff.as_ref().is_none_or(|c| k <= c))
                    .map(|(k, row)| self.flow_finding(k, row, &roles_cache, flows.inputs()))
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
            mut summary,
            ..
        } = Pass::concat(passes, self.rules.len());
        summary.names_bound = names_bound;
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
        findings.extend(self.missing_expected(
            &coverage,
            &seen_hosts,
            &caveats,
            &mut roles_cache,
            flows.inputs(),
        ));
        findings.extend(self.limit_findings(kept_out, limits));
        findings.extend(self.learning_limit_findings());
        findings.extend(self.dropped_findings(&dropped));
        self.apply_waivers(&mut findings, self.today);
        findings.par_sort_by_cached_key(Finding::sort_key);
        let coverage = self.coverage_rows(&coverage);
        AuditReport {
            rpc: Arc::clone(&self.rpc),
            inputs: flows.inputs().clone(),
            findings,
            flows: verdicts,
            coverage,
            summary,
        }
    }

    /// The roles the deployment binds by host name that each server of
    /// `chunks`' flows holds, by the names its clients used (TLS SNI,
    /// HTTP `Host`); and, for each name bound, how many servers it bound.
    #[allow(clippy::type_complexity)]
    fn roles_by_name(
        &self,
        chunks: &[&[(PackedKey, FlowStats)]],
    ) -> (
        BTreeMap<IpAddr, Vec<(usize, String)>>,
        BTreeMap<String, u64>,
    ) {
        let bindings: Vec<_> = self.deployment.name_bindings().collect();
        let mut bound: BTreeMap<String, u64> = bindings
            .iter()
            .map(|(_, _, n)| (n.to_string(), 0))
            .collect();
        let mut roles: BTreeMap<IpAddr, Vec<(usize, String)>> = BTreeMap::new();
        for (ip, names) in self.server_names(chunks, !bindings.is_empty()) {
            for (pi, role, pattern) in &bindings {
                if names.iter().any(|n| pattern.matches(n)) {
                    *bound.entry(pattern.to_string()).or_default() += 1;
                    roles.entry(ip).or_default().push((*pi, role.to_string()));
                }
            }
        }
        (roles, bound)
    }

    /// The names clients used for each server of `chunks`' flows (TLS
    /// SNI, HTTP `Host`), or that DNS gave it before a flow to it when
    /// the client named none; none unless `wanted`.
    fn server_names(
        &self,
        chunks: &[&[(PackedKey, FlowStats)]],
        wanted: bool,
    ) -> BTreeMap<IpAddr, BTreeSet<Box<str>>> {
        if !wanted {
            return BTreeMap::new();
        }
        let server = |proto: u8, port: u16| self.is_server_port(proto, port);
        let dns = self.rpc.has_dns_names();
        chunks
            .par_iter()
            .map(|chunk| {
                let mut named: BTreeMap<IpAddr, BTreeSet<Box<str>>> = BTreeMap::new();
                for (k, s) in chunk.iter().filter(|(_, s)| dns || s.name().is_some()) {
                    let mut flow = resolve(&k.unpack(), s, &server);
                    with_payload_evidence(&self.rpc, &mut flow);
                    if let Some(n) = flow.server_name(&self.rpc) {
                        named
                            .entry(flow.responder.addr)
                            .or_default()
                            .insert(n.into());
                    }
                }
                named
            })
            .reduce(BTreeMap::new, |mut a, b| {
                for (ip, names) in b {
                    a.entry(ip).or_default().extend(names);
                }
                a
            })
    }

    pub(super) fn roles_of(&self, ip: IpAddr, cache: &mut RolesCache) -> Arc<Roles> {
        let host = cache
            .entry(ip)
            .or_insert_with(|| self.host(ip, self.roles_uncached(ip)));
        Arc::clone(&host.roles)
    }

    /// What the audit keeps of `ip`, which holds `roles`.
    fn host(&self, ip: IpAddr, roles: Roles) -> Host {
        Host {
            roles: Arc::new(roles),
            named_from: self.rpc.named_from(ip),
        }
    }

    /// The roles `ip` holds, in profile order, then role order (through
    /// the deployment's index of bound networks).
    pub(super) fn roles_uncached(&self, ip: IpAddr) -> Roles {
        self.deployment.roles_of(ip)
    }

    pub(super) fn is_dedicated(&self, roles: &Roles) -> bool {
        roles.iter().any(|(pi, r)| {
            self.deployment.profiles[*pi]
                .profile
                .role(r)
                .is_some_and(|role| role.dedicated)
        })
    }

    pub(super) fn side_matches(refs: &[HostRef], ip: IpAddr, roles: &Roles) -> bool {
        refs.iter().any(|h| match h {
            HostRef::AnyBound => !roles.is_empty(),
            HostRef::Role { profile, role } => roles.iter().any(|(p, r)| p == profile && r == role),
            HostRef::Net(n) => n.contains(ip),
        })
    }

    pub(super) fn classify(
        &self,
        f: &Flow,
        ri: &Roles,
        rr: &Roles,
        cov: &mut [Cov],
    ) -> (Verdict, Option<usize>) {
        if is_icmp_control(f) {
            return (Verdict::IcmpControl, None);
        }
        if f.carrier.is_some() {
            return (Verdict::TunnelCarrier, None);
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
        // Only the rules that can cover (protocol, port), in rule order.
        let candidates = self.rule_index.candidates(f.proto, port);
        let mut allowed = None;
        // The first rule a dynamic port fails, when no rule allows it.
        let mut unannounced = None;
        for &idx in candidates {
            let x = &self.rules[idx];
            if !x.active || x.rule.scope != Scope::Network || !covers(x) {
                continue;
            }
            let fwd = forward(x);
            let rev_ok = x.rule.initiator == Initiator::Either && reverse(x);
            if fwd || rev_ok {
                if let Err(kind) = judge_app(f, x.rule) {
                    unannounced.get_or_insert((kind, idx));
                    continue;
                }
                let mut announcements = Vec::new();
                if let Some(d) = &x.rule.dynamic {
                    match self.judge_dynamic(f, d) {
                        Ok(used) => announcements = used,
                        Err(kind) => {
                            unannounced.get_or_insert((kind, idx));
                            continue;
                        }
                    }
                }
                cov[idx].record(f, if fwd { i } else { r });
                allowed.get_or_insert((idx, announcements));
            }
        }
        if let Some((idx, announcements)) = allowed {
            // The announcements of the rule that decides count the flow.
            for a in announcements {
                self.rpc.use_announcement(a);
            }
            return (Verdict::Allowed, Some(idx));
        }
        if let Some((kind, idx)) = unannounced {
            return (Verdict::Finding(kind), Some(idx));
        }
        let find = |pred: &dyn Fn(&ActiveRule) -> bool| {
            candidates
                .iter()
                .copied()
                .find(|&idx| pred(&self.rules[idx]))
        };
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
}

/// Whether flow `f`'s content is what `rule` says its port carries
/// (docs/audit.md#application-protocols): a protocol recognised in a
/// payload must be one the rule names; a flow with none is only a finding
/// where the rule requires its content be checked.
fn judge_app(f: &Flow, rule: &crate::rules::Rule) -> Result<(), FindingKind> {
    let wanted = rule.app_on(f.service_port());
    if wanted.is_empty() {
        return Ok(());
    }
    let seen = f.app();
    if seen.is_known() {
        if wanted.iter().any(|&w| seen.is(w)) {
            return Ok(());
        }
        return Err(FindingKind::ProtocolMismatch);
    }
    if rule.app_required {
        return Err(FindingKind::UnverifiedProtocol);
    }
    Ok(())
}

/// The role ids of a host, sorted and deduplicated.
pub(super) fn role_names(roles: &Roles) -> Vec<String> {
    let set: BTreeSet<&str> = roles.iter().map(|(_, r)| r.as_str()).collect();
    set.into_iter().map(str::to_string).collect()
}

/// The role ids of a host for a sentence: joined by `/`, or `unbound`.
pub(super) fn side_name(roles: &Roles, unbound: &str) -> String {
    if roles.is_empty() {
        return unbound.to_string();
    }
    role_names(roles).join("/")
}
