//! What every packet record goes through, read from a file or captured
//! live: counted, its time judged, filtered, decoded, and queued for the
//! flow table.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::IngestOptions;
use super::{FileStats, Skip, TimeFacts};
use crate::capture::{Damage, LinkType, RecordSkip, Timestamp};
use crate::decode::{
    decode, Decap, PacketSummary, SkipReason, TunnelMode, MAX_ENCAPSULATIONS, MAX_PAYLOADS,
};
use crate::filter::{FilterCursor, FilterVerdict};
use crate::flow::{Overflow, PacketTable};

/// Counters of one walk, merged in capture order.
#[derive(Clone, Debug, Default)]
pub(super) struct Tally {
    pub(super) read: u64,
    pub(super) decoded: u64,
    pub(super) bytes: u64,
    pub(super) untimed: u64,
    pub(super) skipped: HashMap<SkipReason, u64>,
    /// Tunnels whose inside could not be used, by why (their packets
    /// count in their carrier flows).
    pub(super) unopened: HashMap<SkipReason, u64>,
    pub(super) record_skips: HashMap<RecordSkip, u64>,
    /// Packets `--filter` rejected.
    pub(super) not_matching: u64,
    /// Packets of link types `--filter` cannot be compiled for, by type.
    pub(super) filter_inapplicable: BTreeMap<u32, u64>,
    pub(super) damage: Vec<Damage>,
    pub(super) first: Option<Timestamp>,
    pub(super) last: Option<Timestamp>,
    /// First and last timestamps in capture order, to count steps back
    /// across segment boundaries.
    pub(super) first_in_order: Option<Timestamp>,
    pub(super) last_in_order: Option<Timestamp>,
    pub(super) times: TimeFacts,
    pub(super) links: BTreeSet<u32>,
    /// What RPC mappers announced and connections said of themselves.
    pub(super) rpc: crate::rpc::Learned,
}

impl Tally {
    /// Appends the tally of the walk that follows.
    pub(super) fn merge(&mut self, o: Tally) {
        self.read += o.read;
        self.decoded += o.decoded;
        self.bytes += o.bytes;
        self.untimed += o.untimed;
        for (k, v) in o.skipped {
            *self.skipped.entry(k).or_default() += v;
        }
        for (k, v) in o.unopened {
            *self.unopened.entry(k).or_default() += v;
        }
        for (k, v) in o.record_skips {
            *self.record_skips.entry(k).or_default() += v;
        }
        self.not_matching += o.not_matching;
        for (k, v) in o.filter_inapplicable {
            *self.filter_inapplicable.entry(k).or_default() += v;
        }
        self.damage.extend(o.damage);
        self.first = Timestamp::earliest(self.first, o.first);
        self.last = Timestamp::latest(self.last, o.last);
        if let (Some(l), Some(r)) = (self.last_in_order, o.first_in_order) {
            self.times.out_of_order += u64::from(r < l);
        }
        self.first_in_order = self.first_in_order.or(o.first_in_order);
        self.last_in_order = o.last_in_order.or(self.last_in_order);
        self.times.out_of_order += o.times.out_of_order;
        self.times.zero += o.times.zero;
        self.times.future += o.times.future;
        self.links.extend(o.links);
        self.rpc.merge(o.rpc);
    }

    pub(super) fn time(&mut self, ts: Timestamp, future_after: Option<Timestamp>) {
        self.first = Timestamp::earliest(self.first, Some(ts));
        self.last = Timestamp::latest(self.last, Some(ts));
        if let Some(prev) = self.last_in_order {
            self.times.out_of_order += u64::from(ts < prev);
        }
        self.first_in_order.get_or_insert(ts);
        self.last_in_order = Some(ts);
        self.times.zero += u64::from(ts == Timestamp(0));
        self.times.future += u64::from(future_after.is_some_and(|f| ts > f));
    }
}

/// Moves a tally, what the limits kept out, and the count of later
/// fragments that never found their first into `stats`.
pub(super) fn fill_stats(stats: &mut FileStats, tally: Tally, overflow: Overflow, orphans: u64) {
    stats.overflow = overflow;
    stats.packets_read = tally.read;
    stats.packets_decoded = tally.decoded;
    stats.bytes_read = tally.bytes;
    stats.untimed_packets = tally.untimed;
    stats.first_ts = tally.first;
    stats.last_ts = tally.last;
    stats.times = tally.times;
    stats.link_types = tally
        .links
        .iter()
        .map(|&l| crate::capture::LinkType(l).name())
        .collect();
    for (k, v) in tally.skipped {
        stats.skipped.insert(Skip::Packet(k), v);
    }
    for (k, v) in tally.record_skips {
        stats.skipped.insert(Skip::Record(k), v);
    }
    stats.tunnels_unopened.extend(tally.unopened);
    // Settled when read (`Knowledge::of`, off the path that reads): what
    // is folded there is folded once for the run, not once a file too.
    stats.rpc = tally.rpc;
    if tally.not_matching > 0 {
        stats
            .skipped
            .insert(Skip::NotMatchingFilter, tally.not_matching);
    }
    for (k, v) in tally.filter_inapplicable {
        stats
            .skipped
            .insert(Skip::FilterInapplicable(LinkType(k)), v);
    }
    stats.unuse(Skip::Packet(SkipReason::FragmentWithoutFirst), orphans);
    stats.unuse(Skip::FlowLimit, stats.overflow.packets);
    let mut damage = tally.damage;
    damage.append(&mut stats.damage);
    // In file order, whichever walk met it.
    damage.sort_by_key(|d| d.offset);
    stats.damage = damage;
}

/// Decoded packets wait in a [`Feed`] to be added this many at a time.
pub(super) const PENDING: usize = 64;

/// The payloads a batch holds at most before it is flushed: room is left
/// for one frame's, one per packet inside it.
const FLUSH_PAYLOADS: usize = MAX_PAYLOADS - MAX_ENCAPSULATIONS - 1;

/// What every packet record goes through, read from a file or captured
/// live: counted, its time judged, filtered, decoded, and queued for the
/// flow table.
#[derive(Debug)]
pub(super) struct Feed {
    pub(super) tally: Tally,
    pub(super) pending: Vec<(PacketSummary, Option<Timestamp>)>,
    pub(super) last_link: Option<LinkType>,
    pub(super) future_after: Option<Timestamp>,
    pub(super) filter: Option<FilterCursor>,
    pub(super) tunnels: TunnelMode,
    /// The tunnels of the pending packets, and the carriers of the packet
    /// being decoded (`--tunnels both`).
    pub(super) decap: Decap,
}

impl Feed {
    pub(super) fn new(opts: &IngestOptions) -> Feed {
        Feed {
            tally: Tally::default(),
            pending: Vec::with_capacity(PENDING + MAX_ENCAPSULATIONS + 1),
            last_link: None,
            future_after: opts.future_after,
            filter: opts.filter.clone().map(FilterCursor::new),
            tunnels: opts.tunnels,
            decap: Decap::default(),
        }
    }

    /// Takes one packet, found `at` in its input (a byte offset, a live
    /// packet's number), its frame `data` in `buffer`, which must stay
    /// unchanged until the next [`Feed::flush`] (the flow table reads
    /// first payloads in it); `true` when the table has gone over its
    /// budget ([`PacketTable::over`]).
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn packet(
        &mut self,
        link: LinkType,
        data: &[u8],
        orig_len: u32,
        ts: Option<Timestamp>,
        at: u64,
        buffer: &[u8],
        table: &mut impl PacketTable,
    ) -> bool {
        let tally = &mut self.tally;
        tally.read += 1;
        tally.bytes += u64::from(orig_len);
        if self.last_link != Some(link) {
            tally.links.insert(link.0);
            self.last_link = Some(link);
        }
        match ts {
            Some(ts) => tally.time(ts, self.future_after),
            None => tally.untimed += 1,
        }
        if let Some(f) = &mut self.filter {
            match f.judge(link, data, orig_len) {
                FilterVerdict::Match => {}
                FilterVerdict::NoMatch => {
                    tally.not_matching += 1;
                    return false;
                }
                FilterVerdict::Inapplicable => {
                    *tally.filter_inapplicable.entry(link.0).or_default() += 1;
                    return false;
                }
            }
        }
        match decode(link, data, orig_len, self.tunnels, &mut self.decap) {
            Ok(mut packet) => {
                packet.at = at;
                tally.decoded += 1;
                if let Some(why) = self.decap.unopened.take() {
                    *tally.unopened.entry(why).or_default() += 1;
                }
                if !self.decap.rpc.is_empty() {
                    tally.rpc.take(&mut self.decap.rpc, ts);
                }
                if !self.decap.carriers.is_empty() {
                    let carriers = self.decap.carriers.drain(..);
                    self.pending
                        .extend(carriers.map(|carrier| (PacketSummary { at, ..carrier }, ts)));
                }
                self.pending.push((packet, ts));
                if self.pending.len() >= PENDING || self.decap.payloads.len() >= FLUSH_PAYLOADS {
                    self.flush(table, buffer);
                    return table.over();
                }
            }
            Err(reason) => {
                *tally.skipped.entry(reason).or_default() += 1;
                // A frame skipped after its payload was found leaves its
                // place taken until the batch is added.
                if self.decap.payloads.len() >= FLUSH_PAYLOADS {
                    self.flush(table, buffer);
                }
            }
        }
        false
    }

    /// Adds the packets waiting to the table; `buffer` holds their
    /// frames, unchanged since they were taken.
    pub(super) fn flush(&mut self, table: &mut impl PacketTable, buffer: &[u8]) {
        let named = crate::flow::Named {
            tunnels: &self.decap.tunnels,
            payloads: &self.decap.payloads,
            buffer,
        };
        table.add_all(&self.pending, &named);
        self.pending.clear();
        self.decap.tunnels.clear();
        self.decap.payloads.clear();
    }
}
