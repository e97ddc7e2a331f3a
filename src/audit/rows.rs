//! Finding rows: the flows of one (kind, source, destination, protocol,
//! port) added up, in shards that merge on every core.

use crate::decode::App;
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use crate::capture::Timestamp;
use crate::decode::{PROTO_ICMP, PROTO_ICMPV6, PROTO_SCTP, PROTO_TCP, PROTO_UDP};
use crate::flow::{CommunityId, Flow, FlowState, FlowSummary};
use crate::rules::FindingKind;

use super::coverage::Cov;
use super::verdict::FlowVerdict;

/// Community IDs listed in one finding row before "+N more".
pub(super) const MAX_IDS: usize = 16;

/// The smallest [`MAX_IDS`] Community IDs of a row's flows, in order.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct SmallestIds(pub(super) Vec<CommunityId>);

impl SmallestIds {
    pub(super) fn insert(&mut self, id: CommunityId) {
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

/// The port of a flow's finding row: its service port (ICMP type), none
/// for protocols without ports.
pub(super) fn row_port(f: &Flow) -> Option<u16> {
    match f.proto {
        PROTO_TCP | PROTO_UDP | PROTO_SCTP | PROTO_ICMP | PROTO_ICMPV6 => Some(f.service_port()),
        _ => None,
    }
}

/// Flows classified per chunk of a [`Pass`], at least.
pub(super) const PASS_FLOWS: usize = 4096;

/// Finding rows of a stretch of flows, by key.
pub(super) type RowMap = HashMap<RowKey, Row, ahash::RandomState>;

/// Rows are kept in this many shards by key, so that the rows of all
/// stretches merge a shard at a time on every core.
pub(super) const ROW_SHARDS: usize = 64;

/// The shard of a row: the same in every stretch and on every run. By the
/// whole key: a few address pairs may hold most rows (one per port).
pub(super) fn row_shard(k: &RowKey) -> usize {
    let h = ahash::RandomState::with_seeds(1, 2, 3, 4).hash_one(k);
    (h % ROW_SHARDS as u64) as usize
}

/// What classifying a stretch of flows gives; two adjacent stretches merge.
pub(super) struct Pass<'d> {
    pub(super) verdicts: Vec<FlowVerdict<'d>>,
    /// [`ROW_SHARDS`] maps.
    pub(super) rows: Vec<RowMap>,
    pub(super) coverage: Vec<Cov>,
    pub(super) summary: FlowSummary,
}

impl<'d> Pass<'d> {
    pub(super) fn new(rules: usize) -> Pass<'d> {
        Pass {
            verdicts: Vec::new(),
            rows: (0..ROW_SHARDS).map(|_| RowMap::default()).collect(),
            coverage: (0..rules).map(|_| Cov::default()).collect(),
            summary: FlowSummary::default(),
        }
    }

    /// The passes over consecutive stretches of flows, as one, but for
    /// their rows (merged shard by shard).
    pub(super) fn concat(passes: Vec<Pass<'d>>, rules: usize) -> Pass<'d> {
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

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct RowKey {
    pub(super) kind: FindingKind,
    pub(super) src: IpAddr,
    pub(super) dst: IpAddr,
    pub(super) proto: u8,
    pub(super) port: Option<u16>,
}

#[derive(Default)]
pub(super) struct Row {
    pub(super) rule: Option<usize>,
    pub(super) flows: u64,
    pub(super) one_way: u64,
    pub(super) connections: u64,
    pub(super) packets: u64,
    pub(super) bytes: u64,
    pub(super) first: Option<Timestamp>,
    pub(super) last: Option<Timestamp>,
    pub(super) bases: BTreeSet<crate::flow::InitiatorBasis>,
    pub(super) states: BTreeSet<FlowState>,
    /// The smallest [`MAX_IDS`] Community IDs of the row's flows.
    pub(super) community_ids: SmallestIds,
    /// Where the row's first flow was first seen: the earliest flow
    /// with an origin (untimed ones last), ties to the earliest input
    /// and position.
    pub(super) source: Option<SourceKey>,
    /// For rows of dynamic ports: the RPC services the flows spoke (the
    /// first [`MAX_SERVICES`] in order) and whether any was announced.
    pub(super) services: BTreeSet<crate::rpc::Service>,
    pub(super) announced: bool,
    /// The application protocols the flows' payloads showed, by side
    /// (client's, server's), and the first [`MAX_SERVICES`] server names
    /// their clients named: kept by rows of findings on content alone
    /// ([`Row::add_content`]).
    pub(super) apps: BTreeSet<[App; 2]>,
    pub(super) names: BTreeSet<Box<str>>,
    /// What the client's and the server's first payloads said, from the
    /// earliest flow that quoted one ([`Flow::said`]), and its origin.
    pub(super) said: Option<(Option<SourceKey>, Said)>,
}

/// A flow's quotes of its client's and server's first payloads.
pub(super) type Said = [Option<Box<str>>; 2];

/// What orders the quotes of a row's flows: the earliest origin first
/// (flows without one last), ties by the quotes.
fn said_order(k: &Option<SourceKey>) -> (bool, Option<SourceKey>) {
    (k.is_none(), *k)
}

/// RPC services a row names at most.
pub(super) const MAX_SERVICES: usize = 8;

/// What orders the origins of a row's flows: (untimed, first seen,
/// input, position).
pub(super) type SourceKey = (bool, Option<Timestamp>, u32, u64);

pub(super) fn source_key(f: &Flow) -> Option<SourceKey> {
    let input = f.origin.input()?;
    Some((f.first_ts.is_none(), f.first_ts, input, f.origin.at()))
}

/// The earlier of two origins.
pub(super) fn earlier(a: Option<SourceKey>, b: Option<SourceKey>) -> Option<SourceKey> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl Row {
    pub(super) fn add(&mut self, f: &Flow, rule: Option<usize>) {
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
        self.source = earlier(self.source, source_key(f));
    }

    /// Adds what flow `f`, already added, showed of its content, and
    /// `name`, the server name its client used or DNS gave: read only by
    /// findings on content ([`crate::rules::FindingKind::is_about_content`]),
    /// so only their rows pay for them.
    pub(super) fn add_content(&mut self, f: &Flow, name: Option<&str>) {
        self.apps.insert(f.apps);
        if let Some(said) = &f.said {
            self.keep_said(source_key(f), said);
        }
        // Copied only when the row keeps it: new to the row, and, when
        // the row is full, before its last.
        let kept = |n: &&str| {
            !self.names.contains(*n)
                && (self.names.len() < MAX_SERVICES
                    || self.names.last().is_some_and(|last| **n < **last))
        };
        if let Some(n) = name.filter(kept) {
            self.add_names([Box::from(n)]);
        }
    }

    /// Keeps `said`, the quotes of a flow of origin `key`, when it is
    /// earlier than the row's.
    fn keep_said(&mut self, key: Option<SourceKey>, said: &Said) {
        let earlier = match &self.said {
            None => true,
            Some((k, s)) => (said_order(&key), said) < (said_order(k), s),
        };
        if earlier {
            self.said = Some((key, said.clone()));
        }
    }

    fn add_names(&mut self, names: impl IntoIterator<Item = Box<str>>) {
        self.names.extend(names);
        while self.names.len() > MAX_SERVICES {
            self.names.pop_last();
        }
    }

    /// Appends the row of the flows that follow.
    pub(super) fn merge(&mut self, later: Row) {
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
        self.source = earlier(self.source, later.source);
        self.add_services(later.services, later.announced);
        self.apps.extend(later.apps);
        self.add_names(later.names);
        if let Some((key, said)) = &later.said {
            self.keep_said(*key, said);
        }
    }

    /// Adds RPC services the row's flows spoke, and whether a mapper
    /// announced any of their ports.
    pub(super) fn add_services(
        &mut self,
        services: impl IntoIterator<Item = crate::rpc::Service>,
        announced: bool,
    ) {
        self.announced |= announced;
        self.services.extend(services);
        while self.services.len() > MAX_SERVICES {
            self.services.pop_last();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{resolve, Endpoint, FlowKey, FlowStats};

    /// A row keeps the smallest Community IDs of its flows, whether it
    /// saw them at once or as two merged halves, and counts all flows.
    #[test]
    pub(super) fn rows_keep_the_smallest_community_ids_and_count_the_rest() {
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
        // Each flow names its server: a row keeps the first names in
        // order, whichever flows it took first.
        let names: Vec<String> = (0..40)
            .map(|i| format!("n{:02}.example", (i * 7) % 40))
            .collect();
        let name = |i: usize| Some(names[i].as_str());
        let mut whole = Row::default();
        flows.iter().enumerate().for_each(|(i, f)| {
            whole.add(f, None);
            whole.add_content(f, name(i));
        });
        let (mut a, mut b) = (Row::default(), Row::default());
        flows[..20].iter().enumerate().for_each(|(i, f)| {
            a.add(f, None);
            a.add_content(f, name(i));
        });
        flows[20..].iter().enumerate().for_each(|(i, f)| {
            b.add(f, None);
            b.add_content(f, name(20 + i));
        });
        a.merge(b);
        let mut sorted = names.clone();
        sorted.sort();
        let first: Vec<&str> = sorted[..MAX_SERVICES].iter().map(String::as_str).collect();
        assert_eq!(whole.names.iter().map(|n| &**n).collect::<Vec<_>>(), first);
        assert_eq!(a.names, whole.names);
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
