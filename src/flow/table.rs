//! The flow table: packets in, per-key summaries out; two tables built from
//! adjacent stretches of a capture merge into the table of the whole.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::capture::Timestamp;
use crate::decode::{PacketSummary, Transport, PROTO_TCP};

use super::key::{Dir, FlowKey};
use super::stats::FlowStats;

/// Seeded hashing: keys come from the capture, which an attacker may craft.
type Map<K, V> = HashMap<K, V, ahash::RandomState>;

/// Identity of an IP datagram that was fragmented.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct FragKey {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    ident: u32,
}

/// Later fragments that no first fragment before them in this stretch
/// could claim.
#[derive(Clone, Copy, Debug, Default)]
struct Orphans {
    packets: u64,
    bytes: u64,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
}

/// Flows of a stretch of capture. Later fragments join the latest first
/// fragment of the same datagram seen before them in capture order; one with
/// no such first fragment is counted as `fragment-without-first`.
#[derive(Debug, Default)]
pub struct FlowTable {
    flows: Map<FlowKey, FlowStats>,
    fragments: Map<FragKey, (FlowKey, Dir)>,
    orphans: Map<FragKey, Orphans>,
}

impl FlowTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of flows so far.
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Adds a decoded packet, in capture order.
    #[inline]
    pub fn add(&mut self, p: &PacketSummary, ts: Option<Timestamp>) {
        match FlowKey::of_packet(p) {
            Some((key, dir)) => {
                let tcp = (p.proto == PROTO_TCP && matches!(p.transport, Transport::Ports { .. }))
                    .then_some((p.tcp_flags, p.tcp_seq));
                self.flows
                    .entry(key)
                    .or_default()
                    .add(dir, p.wire_len, ts, tcp);
                if let Some(frag) = p.fragment {
                    self.fragments.insert(frag_key(p, frag.ident), (key, dir));
                }
            }
            None => {
                let ident = p.fragment.map_or(0, |f| f.ident);
                let fk = frag_key(p, ident);
                let bytes = u64::from(p.wire_len);
                match self.fragments.get(&fk) {
                    Some(&(key, dir)) => {
                        if let Some(s) = self.flows.get_mut(&key) {
                            s.count(dir, 1, bytes, ts, ts);
                        }
                    }
                    None => {
                        let o = self.orphans.entry(fk).or_default();
                        o.packets += 1;
                        o.bytes += bytes;
                        o.first = Timestamp::earliest(o.first, ts);
                        o.last = Timestamp::latest(o.last, ts);
                    }
                }
            }
        }
    }

    /// Appends `right`, the table of the packets that follow this table's.
    pub fn merge(&mut self, mut right: FlowTable) {
        // Right's orphans may belong to a first fragment on the left; look
        // them up before right's own fragments shadow the left's.
        let mut claimed = Vec::new();
        for (fk, o) in right.orphans.drain() {
            match self.fragments.get(&fk) {
                Some(&(key, dir)) => claimed.push((key, dir, o)),
                None => {
                    let mine = self.orphans.entry(fk).or_default();
                    mine.packets += o.packets;
                    mine.bytes += o.bytes;
                    mine.first = Timestamp::earliest(mine.first, o.first);
                    mine.last = Timestamp::latest(mine.last, o.last);
                }
            }
        }
        if self.flows.len() >= right.flows.len() {
            for (k, r) in right.flows {
                self.flows.entry(k).or_default().merge(&r);
            }
        } else {
            let left = std::mem::replace(&mut self.flows, right.flows);
            for (k, l) in left {
                let slot = self.flows.entry(k).or_default();
                let mut combined = l;
                combined.merge(slot);
                *slot = combined;
            }
        }
        for (key, dir, o) in claimed {
            if let Some(s) = self.flows.get_mut(&key) {
                s.count(dir, o.packets, o.bytes, o.first, o.last);
            }
        }
        self.fragments.extend(right.fragments);
    }

    /// Ends fragment joining (at the end of one capture file) and returns
    /// the number of later fragments that never found a first fragment.
    /// Tables of different files are then merged without joining fragments
    /// across files.
    pub fn seal(&mut self) -> u64 {
        self.fragments = Map::default();
        std::mem::take(&mut self.orphans)
            .values()
            .map(|o| o.packets)
            .sum()
    }

    /// The flows sorted by key.
    pub fn finish(self) -> Vec<(FlowKey, FlowStats)> {
        let mut flows: Vec<_> = self.flows.into_iter().collect();
        flows.sort_unstable_by_key(|f| f.0);
        flows
    }
}

fn frag_key(p: &PacketSummary, ident: u32) -> FragKey {
    FragKey {
        src: p.src,
        dst: p.dst,
        proto: p.proto,
        ident,
    }
}
