//! The flow tables: packets in, per-key summaries out, in three types so
//! that no table can be two things at once.
//!
//! A capture read front to back goes into one [`SequentialTable`],
//! which applies the [`Limits`] as packets come: a flow is tracked if fewer
//! than `max_flows` flows were tracked when its first packet came, and the
//! packets of the others are counted, never dropped silently. A capture
//! read in parallel goes by stretches (segments) into [`SegmentTable`]s,
//! unlimited but for a budget, which are then absorbed in capture order
//! into the [`FlowTable`] of everything before them. Absorbing gives exactly what the one sequential
//! pass would, for any cut, including what the flow limit keeps out. While
//! no limit can bite, absorbing only sets a stretch aside; the stretches
//! are joined when the table is finished, on every core, and the flows
//! come out in the order the capture first showed them, in runs.

use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Arc;

use indexmap::IndexMap;

use crate::capture::Timestamp;
use crate::decode::{PacketSummary, Transport, Tunnel, TunnelKind, PROTO_TCP};

use super::key::{Dir, FlowKey, PackedKey};
use super::map::{FlowMap, Spot};
use super::origin::{Inputs, Origin};
use super::stats::{FlowStats, RecordCounts};

/// Seeded hashing: keys come from the capture, which an attacker may craft.
/// Insertion order (first seen in capture order) is kept, so that what a
/// limit keeps out is decided by capture order alone.
type Map<K, V> = IndexMap<K, V, ahash::RandomState>;

/// Bounds on what a table keeps, whatever the capture holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Flows tracked at most; flows first seen after that are counted in
    /// [`Overflow`], not kept.
    pub max_flows: usize,
    /// IP datagrams whose first fragment is remembered, so that later
    /// fragments find their flow. Past it the oldest quarter is forgotten.
    pub max_fragments: usize,
}

impl Limits {
    /// Defaults: about 600 MB of memory at the flow limit (see README).
    pub const DEFAULT: Limits = Limits {
        max_flows: 2_000_000,
        max_fragments: 65_536,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// What the [`Limits`] kept out. All zero when no limit was reached.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overflow {
    /// Packets and wire bytes of flows first seen after `max_flows` flows
    /// (and of later fragments of their datagrams).
    pub packets: u64,
    pub bytes: u64,
    /// The distinct flows kept out, estimated: counting them exactly would
    /// take the memory the limit saves.
    pub flows: DistinctCount,
    /// First fragments forgotten to stay within `max_fragments`.
    pub fragments_forgotten: u64,
}

impl Overflow {
    pub fn add(&mut self, o: &Overflow) {
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.flows.union(&o.flows);
        self.fragments_forgotten += o.fragments_forgotten;
    }

    /// Counts a flow the limits kept out, with what it brought.
    fn keep_out(&mut self, key: &PackedKey, packets: u64, bytes: u64) {
        self.packets += packets;
        self.bytes += bytes;
        self.flows.insert(&key.unpack());
    }
}

/// Identity of an IP datagram that was fragmented.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct FragKey {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    ident: u32,
}

/// Later fragments of one datagram that no first fragment before them in
/// this stretch could claim.
#[derive(Clone, Copy, Debug, Default)]
struct Orphans {
    packets: u64,
    bytes: u64,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
}

impl Orphans {
    /// Counts these later fragments, going `dir`, into their flow; into
    /// `overflow` when the flow limit kept the flow out.
    fn count_into(self, flow: Option<&mut FlowStats>, dir: Dir, overflow: &mut Overflow) {
        match flow {
            Some(s) => s.count(dir, self.packets, self.bytes, self.first, self.last),
            None => {
                overflow.packets += self.packets;
                overflow.bytes += self.bytes;
            }
        }
    }
}

/// A stretch is set aside to be joined later only if it holds this many
/// flows at least; smaller ones are merged when absorbed. The unit tests
/// set aside stretches of any size (an empty one counts as one flow), so
/// that their small stretches take both ways.
const ASIDE_MIN_FLOWS: usize = if cfg!(test) { 1 } else { 4096 };
/// At most this many stretches are set aside at once.
const ASIDE_MAX_STRETCHES: usize = 64;

/// Flows are looked up this many at a time (see [`located`]).
const GROUP: usize = 16;

/// The items of `group` (at most [`GROUP`]) with where their flows are in
/// `flows` (`None`: an item without a key), and what `key_of` gave beside
/// the key. The keys are looked up together, so that their cache misses
/// overlap; a spot stays right while the items before it only update
/// flows found, not while flows are inserted.
#[inline]
fn located<'a, T, X: Copy + Default>(
    flows: &FlowMap,
    group: &'a [T],
    key_of: impl Fn(&T) -> Option<(PackedKey, X)>,
) -> Located<'a, T, X> {
    let mut keys = [None; GROUP];
    let mut extra = [X::default(); GROUP];
    for ((k, x), item) in keys.iter_mut().zip(extra.iter_mut()).zip(group) {
        if let Some((key, more)) = key_of(item) {
            (*k, *x) = (Some(key), more);
        }
    }
    let spots = flows.locate(&keys);
    group.iter().zip(spots).zip(extra)
}

/// What [`located`] gives: `((item, spot), extra)`.
type Located<'a, T, X> = std::iter::Zip<
    std::iter::Zip<std::slice::Iter<'a, T>, std::array::IntoIter<Option<Spot>, GROUP>>,
    std::array::IntoIter<X, GROUP>,
>;

/// The flows and fragments of one stretch of capture read in order: what
/// a [`SequentialTable`] and a [`SegmentTable`] both hold. Later fragments
/// join the latest first fragment of the same datagram seen before them.
#[derive(Debug, Default)]
struct Stretch {
    flows: FlowMap,
    fragments: Map<FragKey, (PackedKey, Dir)>,
    /// Later fragments no first fragment of the stretch claimed, kept by a
    /// segment for the stretches before it to claim.
    orphans: Map<FragKey, Orphans>,
    /// Packets of later fragments that no first fragment can claim any
    /// more.
    orphan_packets: u64,
    overflow: Overflow,
    /// The run's table when it is full ([`FlowTable::full`]): a flow it
    /// lacks is kept out as it is read, as absorbing would keep it out,
    /// so that a file read after the budget is spent holds no flow of its
    /// own.
    frozen: Option<Arc<FlowTable>>,
}

impl Stretch {
    /// Whether a flow first seen here may be tracked: always, unless the
    /// run is full and lacks it.
    #[inline]
    fn admits(&self, key: &PackedKey) -> bool {
        self.frozen.as_ref().is_none_or(|t| t.contains(key))
    }

    /// Adds decoded packets in capture order, within `limits` when the
    /// stretch starts at its capture's start (else orphans are kept).
    fn add_all(
        &mut self,
        packets: &[(PacketSummary, Option<Timestamp>)],
        named: &Named<'_>,
        limits: Option<&Limits>,
    ) {
        let key_of = |(p, _): &(PacketSummary, Option<Timestamp>)| {
            p.fragment
                .is_none()
                .then(|| PackedKey::of_packet(p))
                .flatten()
        };
        for group in packets.chunks(GROUP) {
            for (((p, ts), spot), dir) in located(&self.flows, group, key_of) {
                match spot {
                    // Entries never move: a flow found stays found while
                    // the packets before this one are added.
                    Some(Spot::Found(at)) => {
                        count_packet(self.flows.stats_mut(at), dir, p, *ts, named);
                    }
                    _ => self.add(p, *ts, named, limits),
                }
            }
        }
    }

    /// Adds a decoded packet, in capture order.
    #[inline]
    fn add(
        &mut self,
        p: &PacketSummary,
        ts: Option<Timestamp>,
        named: &Named<'_>,
        limits: Option<&Limits>,
    ) {
        match PackedKey::of_packet(p) {
            Some((key, dir)) => {
                let room =
                    limits.is_none_or(|l| self.flows.len() < l.max_flows) && self.admits(&key);
                match self.flows.find(&key, self.flows.hash(&key)) {
                    Spot::Found(at) => {
                        count_packet(self.flows.stats_mut(at), dir, p, ts, named);
                    }
                    spot if room => {
                        let s = FlowStats::starting(Origin::here(p.at));
                        let at = self.flows.insert_at(spot, key, s);
                        count_packet(self.flows.stats_mut(at), dir, p, ts, named);
                    }
                    Spot::Vacant { .. } => {
                        self.overflow.keep_out(&key, 1, u64::from(p.wire_len));
                    }
                }
                if let Some(frag) = p.fragment {
                    // Kept even for a flow kept out: its later fragments
                    // are then counted with it.
                    self.fragments.insert(frag_key(p, frag.ident), (key, dir));
                    if let Some(limits) = limits {
                        trim_fragments(&mut self.fragments, &mut self.overflow, limits);
                    }
                }
            }
            None => {
                let ident = p.fragment.map_or(0, |f| f.ident);
                let fk = frag_key(p, ident);
                let bytes = u64::from(p.wire_len);
                match self.fragments.get(&fk) {
                    Some(&(key, dir)) => match self.flows.get_mut(&key) {
                        Some(s) => s.count(dir, 1, bytes, ts, ts),
                        None => {
                            // The datagram's flow was kept out.
                            self.overflow.packets += 1;
                            self.overflow.bytes += bytes;
                        }
                    },
                    // Nothing before this stretch can claim it.
                    None if limits.is_some() => self.orphan_packets += 1,
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

    /// Adds flow records' connections in input order, looked up a group
    /// at a time as packets are; returns how many the limits kept out.
    fn add_records(&mut self, records: &[KeyedRecord], limits: &Limits) -> u64 {
        let mut kept_out = 0;
        let key_of = |r: &KeyedRecord| Some((r.key, ()));
        for group in records.chunks(GROUP) {
            for ((r, spot), ()) in located(&self.flows, group, key_of) {
                match spot {
                    Some(Spot::Found(at)) => append_record(self.flows.stats_mut(at), r),
                    _ => kept_out += u64::from(!self.add_record(r, limits)),
                }
            }
        }
        kept_out
    }

    /// Adds one flow record's connection; false when the limits kept it
    /// out.
    fn add_record(&mut self, r: &KeyedRecord, limits: &Limits) -> bool {
        let key = r.key;
        let room = self.flows.len() < limits.max_flows && self.admits(&key);
        match self.flows.find(&key, self.flows.hash(&key)) {
            Spot::Found(at) => append_record(self.flows.stats_mut(at), r),
            spot if room => {
                let mut s = FlowStats::of_record(&r.counts, r.first);
                s.carrier = r.carrier;
                s.set_origin(Origin::here(r.at));
                self.flows.insert_at(spot, key, s);
            }
            Spot::Vacant { .. } => {
                let (packets, bytes) = (r.counts.packets, r.counts.bytes);
                self.overflow
                    .keep_out(&key, packets[0] + packets[1], bytes[0] + bytes[1]);
                return false;
            }
        }
        true
    }

    /// Adds flows read from a flow file (their stats whole), merging
    /// each into its flow as a later file's are; returns how many the
    /// limits kept out.
    fn add_flows(&mut self, flows: &[(PackedKey, FlowStats)], limits: &Limits) -> u64 {
        let mut kept_out = 0;
        for (key, s) in flows {
            let room = self.flows.len() < limits.max_flows && self.admits(key);
            match self.flows.find(key, self.flows.hash(key)) {
                Spot::Found(at) => self.flows.stats_mut(at).merge(s),
                spot if room => {
                    self.flows.insert_at(spot, *key, s.clone());
                }
                Spot::Vacant { .. } => {
                    self.overflow.keep_out(
                        key,
                        s.packets[0] + s.packets[1],
                        s.bytes[0] + s.bytes[1],
                    );
                    kept_out += 1;
                }
            }
        }
        kept_out
    }

    fn orphan_packets(&self) -> u64 {
        self.orphan_packets + self.orphans.values().map(|o| o.packets).sum::<u64>()
    }
}

/// Forgets the oldest quarter of the remembered first fragments once
/// there are more than `max_fragments`, so that a flood of fragments costs
/// one shift per quarter, not one per fragment.
fn trim_fragments(
    fragments: &mut Map<FragKey, (PackedKey, Dir)>,
    overflow: &mut Overflow,
    limits: &Limits,
) {
    if fragments.len() > limits.max_fragments {
        let keep = limits.max_fragments - limits.max_fragments / 4;
        let forget = fragments.len() - keep;
        fragments.drain(..forget);
        overflow.fragments_forgotten += forget as u64;
    }
}

/// A flow record's connection as a flow table takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyedRecord {
    pub key: PackedKey,
    /// The direction of the record's first side on `key`.
    pub first: Dir,
    pub counts: RecordCounts,
    /// The record is a tunnel's own connection (`--tunnels both`).
    pub carrier: Option<TunnelKind>,
    /// Where the record is in its input: its line, or its message's byte
    /// offset.
    pub at: u64,
}

/// What the packets of a batch name by index: the tunnels they came
/// through ([`crate::decode::Encap::Inner`]) and where their payloads lie
/// ([`PacketSummary::payload`]), in `buffer`, which holds the frames they
/// were decoded from.
#[derive(Clone, Copy, Debug, Default)]
pub struct Named<'a> {
    pub tunnels: &'a [Tunnel],
    pub payloads: &'a [crate::decode::Payload],
    pub buffer: &'a [u8],
}

/// A table that takes decoded packets. A walk of records feeds one.
pub trait PacketTable {
    /// Adds decoded packets, in capture order; `named` holds the tunnels
    /// and server names the packets name by index.
    fn add_all(&mut self, packets: &[(PacketSummary, Option<Timestamp>)], named: &Named<'_>);

    /// Whether the table holds more than it may before it is absorbed
    /// (only a [`SegmentTable`] ever does).
    fn over(&self) -> bool;

    /// The flows, and the fragments, it holds: what it takes of the
    /// limits while read ahead of its turn.
    fn held(&self) -> (usize, usize) {
        (0, 0)
    }

    /// Sets what it may hold from now on (see [`PacketTable::over`]):
    /// read ahead, its share of the limits is what the other tables read
    /// ahead leave.
    fn set_budget(&mut self, _budget: Limits) {}
}

/// The table of a capture read front to back from its first packet: the
/// [`Limits`] apply packet by packet (a flow is tracked if fewer than
/// `max_flows` were tracked when its first packet came), and a later
/// fragment that finds no first fragment is final.
#[derive(Debug)]
pub struct SequentialTable {
    stretch: Stretch,
    limits: Limits,
}

impl SequentialTable {
    pub fn new(limits: Limits) -> Self {
        SequentialTable {
            stretch: Stretch::default(),
            limits,
        }
    }

    /// The table of a file read while the run's table `frozen` is full:
    /// only flows it holds are tracked.
    pub fn within(mut self, frozen: Option<Arc<FlowTable>>) -> Self {
        self.stretch.frozen = frozen;
        self
    }

    /// Adds one decoded packet, in capture order.
    /// Adds flow records' connections ([`FlowStats::add_record`]) in the
    /// order the input gives: flow records of one key are one flow, as
    /// packets are. Returns how many the limits kept out (their packets
    /// are counted in the overflow).
    pub fn add_records(&mut self, records: &[KeyedRecord]) -> u64 {
        self.stretch.add_records(records, &self.limits)
    }

    /// Flows read from a flow file; returns how many the limits kept out.
    pub fn add_flows(&mut self, flows: &[(PackedKey, FlowStats)]) -> u64 {
        self.stretch.add_flows(flows, &self.limits)
    }

    pub fn add(&mut self, p: &PacketSummary, ts: Option<Timestamp>) {
        self.stretch
            .add(p, ts, &Named::default(), Some(&self.limits));
    }

    /// What the limits kept out so far.
    pub fn overflow(&self) -> &Overflow {
        &self.stretch.overflow
    }

    /// Later fragments that found no first fragment so far (final: the
    /// table sees packets in order).
    pub fn orphan_packets(&self) -> u64 {
        self.stretch.orphan_packets()
    }

    /// A copy of the flows so far, while the table goes on.
    pub fn copy_flows(&self) -> Flows {
        Flows::of(vec![self.stretch.flows.entries().to_vec()], Inputs::new())
    }
}

impl PacketTable for SequentialTable {
    fn add_all(&mut self, packets: &[(PacketSummary, Option<Timestamp>)], named: &Named<'_>) {
        self.stretch.add_all(packets, named, Some(&self.limits));
    }

    fn over(&self) -> bool {
        false
    }
}

/// The table of a stretch of capture read ahead of its turn (a segment of
/// a file read in parallel): it takes every packet and keeps the later
/// fragments it could not place; the limits apply when it is absorbed.
/// Its budget says when reading ahead holds too much to go on.
#[derive(Debug)]
pub struct SegmentTable {
    stretch: Stretch,
    budget: Limits,
}

impl SegmentTable {
    pub fn new(budget: Limits) -> Self {
        SegmentTable {
            stretch: Stretch::default(),
            budget,
        }
    }

    /// As [`SequentialTable::within`].
    pub fn within(mut self, frozen: Option<Arc<FlowTable>>) -> Self {
        self.stretch.frozen = frozen;
        self
    }

    /// Adds one decoded packet, in capture order.
    pub fn add(&mut self, p: &PacketSummary, ts: Option<Timestamp>) {
        self.stretch.add(p, ts, &Named::default(), None);
    }
}

impl PacketTable for SegmentTable {
    fn add_all(&mut self, packets: &[(PacketSummary, Option<Timestamp>)], named: &Named<'_>) {
        self.stretch.add_all(packets, named, None);
    }

    /// More flows, or more fragments (first ones remembered, later ones
    /// unclaimed), than the budget allows.
    #[inline]
    fn over(&self) -> bool {
        let (flows, fragments) = self.held();
        flows > self.budget.max_flows || fragments > self.budget.max_fragments
    }

    #[inline]
    fn held(&self) -> (usize, usize) {
        let s = &self.stretch;
        (s.flows.len(), s.fragments.len() + s.orphans.len())
    }

    fn set_budget(&mut self, budget: Limits) {
        self.budget = budget;
    }
}

/// Stretches of capture joined in capture order: what reading a file, or
/// a whole run, gives. Absorbing the table of the stretch that follows
/// gives exactly what the one sequential pass would, for any cut,
/// including what the flow limit keeps out.
#[derive(Debug, Default)]
pub struct FlowTable {
    flows: FlowMap,
    /// Flows of the stretches absorbed after `flows`, in capture order,
    /// not yet joined to them: while no limit can bite, absorbing only
    /// sets a stretch aside, and the stretches are joined at once, on
    /// every core, when the table is finished (see [`join`]).
    later: Vec<FlowMap>,
    /// Later fragments of those stretches that a first fragment before
    /// them claimed: counted into their flow when the stretches are joined.
    claimed: Vec<(PackedKey, Dir, Orphans)>,
    fragments: Map<FragKey, (PackedKey, Dir)>,
    /// Later fragments of a segment not yet absorbed into what came
    /// before it: settled when it is.
    orphans: Map<FragKey, Orphans>,
    /// Packets of later fragments that no first fragment claimed.
    orphan_packets: u64,
    overflow: Overflow,
    /// The inputs the flows' origins name (empty: the input read alone,
    /// index 0).
    inputs: Inputs,
}

impl From<Stretch> for FlowTable {
    fn from(s: Stretch) -> FlowTable {
        FlowTable {
            flows: s.flows,
            fragments: s.fragments,
            orphans: s.orphans,
            orphan_packets: s.orphan_packets,
            overflow: s.overflow,
            ..FlowTable::default()
        }
    }
}

impl From<SequentialTable> for FlowTable {
    fn from(t: SequentialTable) -> FlowTable {
        t.stretch.into()
    }
}

impl From<SegmentTable> for FlowTable {
    fn from(t: SegmentTable) -> FlowTable {
        t.stretch.into()
    }
}

impl FlowTable {
    /// An empty table, to absorb stretches into.
    pub fn new() -> Self {
        Self::default()
    }

    /// The inputs the flows' origins name.
    pub fn inputs(&self) -> &Inputs {
        &self.inputs
    }

    /// Names the inputs the flows' origins index.
    pub fn set_inputs(&mut self, inputs: Inputs) {
        self.inputs = inputs;
    }

    /// Takes the list of inputs the flows' origins index; `None` when the
    /// table names none but the input it was read from (index 0).
    pub fn take_inputs(&mut self) -> Option<Inputs> {
        let inputs = std::mem::take(&mut self.inputs);
        (!inputs.is_empty()).then_some(inputs)
    }

    /// Renumbers the inputs of the flows' origins by `map` (old index to
    /// new: [`Inputs::take`]).
    pub fn renumber_inputs(&mut self, map: &[u32]) {
        for m in std::iter::once(&mut self.flows).chain(&mut self.later) {
            super::origin::renumber(m.stats_iter_mut(), map);
        }
    }

    /// Whether the table is full under `limits`: it then tracks no new
    /// flow, so the files read next may track only the flows it holds
    /// ([`SequentialTable::within`]). Joins what was set aside first.
    pub fn full(&mut self, limits: &Limits) -> bool {
        if self.held() < limits.max_flows {
            return false;
        }
        self.settle();
        self.flows.len() >= limits.max_flows
    }

    /// Whether the table holds the flow `key` (set-aside stretches
    /// included).
    pub fn contains(&self, key: &PackedKey) -> bool {
        std::iter::once(&self.flows)
            .chain(&self.later)
            .any(|m| matches!(m.find(key, m.hash(key)), Spot::Found(_)))
    }

    /// Flows held, counting a flow once per stretch set aside that has
    /// it: at least the number of distinct flows, exact when nothing is
    /// set aside.
    fn held(&self) -> usize {
        self.flows.len() + self.later.iter().map(FlowMap::len).sum::<usize>()
    }

    /// Appends `right`, the table of the packets that come next; `self`
    /// must hold everything before them (of this capture file, for
    /// fragments). Flows new to `self` are taken in the order `right` first
    /// saw them while there is room under `limits.max_flows`.
    pub fn absorb(&mut self, right: impl Into<FlowTable>, limits: &Limits) {
        let mut right = right.into();
        // No flow can be kept out when every flow held on both sides fits
        // and none was kept out before (so every first fragment's flow is
        // held): then right is only set aside, and joined when finished.
        // Only large stretches, and a few of them: joining looks every
        // flow up in each stretch before it, and a small stretch (one of
        // a thousand small files) merges at once for less.
        let aside = self.overflow.packets == 0
            && self.held().saturating_add(right.held()) <= limits.max_flows
            && right.held().max(1) >= ASIDE_MIN_FLOWS
            && self.later.len() < ASIDE_MAX_STRETCHES;
        if !aside {
            self.settle();
            right.settle();
        }
        let FlowTable {
            flows,
            later,
            claimed: right_claimed,
            fragments,
            orphans,
            orphan_packets,
            overflow,
            inputs: _,
        } = right;
        self.orphan_packets += orphan_packets;
        self.overflow.add(&overflow);
        let empty = self.flows.is_empty() && self.later.is_empty() && self.fragments.is_empty();
        if empty && (aside || flows.len() <= limits.max_flows) {
            // Nothing before `right`: it is taken whole, as it is, which
            // is what the general case below would make of it, at no cost.
            self.flows = flows;
            self.later = later;
            self.claimed = right_claimed;
            self.fragments = fragments;
            self.orphan_packets += orphans.values().map(|o| o.packets).sum::<u64>();
            trim_fragments(&mut self.fragments, &mut self.overflow, limits);
            return;
        }
        // Right's orphans may belong to a first fragment before them; look
        // them up before right's own fragments shadow ours. Whatever is not
        // claimed now never will be: `self` holds all that came before.
        let mut claimed = right_claimed;
        for (fk, o) in orphans {
            match self.fragments.get(&fk) {
                Some(&(key, dir)) => claimed.push((key, dir, o)),
                None => self.orphan_packets += o.packets,
            }
        }
        if aside {
            self.later.push(flows);
            self.later.extend(later);
            self.claimed.append(&mut claimed);
        } else {
            self.merge_now(flows, claimed, limits);
        }
        for (fk, v) in fragments {
            self.fragments.insert(fk, v);
        }
        trim_fragments(&mut self.fragments, &mut self.overflow, limits);
    }

    /// Merges the flows of the stretch that follows, and its later
    /// fragments that a first fragment before them claimed, into the flows
    /// (settled), keeping new flows within `limits.max_flows`.
    fn merge_now(
        &mut self,
        flows: FlowMap,
        claimed: Vec<(PackedKey, Dir, Orphans)>,
        limits: &Limits,
    ) {
        let key_of = |(key, _): &(PackedKey, FlowStats)| Some((*key, ()));
        for group in flows.into_entries().chunks(GROUP) {
            for (((key, r), spot), ()) in located(&self.flows, group, key_of) {
                if let Some(Spot::Found(at)) = spot {
                    self.flows.stats_mut(at).merge(r);
                    continue;
                }
                // Vacant when looked up; an insertion since may have moved
                // the slots, so look again.
                let room = self.flows.len() < limits.max_flows;
                match self.flows.find(key, self.flows.hash(key)) {
                    Spot::Found(at) => self.flows.stats_mut(at).merge(r),
                    spot if room => {
                        self.flows.insert_at(spot, *key, r.clone());
                    }
                    Spot::Vacant { .. } => {
                        let (packets, bytes) =
                            (r.packets[0] + r.packets[1], r.bytes[0] + r.bytes[1]);
                        self.overflow.keep_out(key, packets, bytes);
                    }
                }
            }
        }
        for (key, dir, o) in claimed {
            o.count_into(self.flows.get_mut(&key), dir, &mut self.overflow);
        }
    }

    /// Joins the stretches set aside to the flows, which then hold
    /// everything in first-seen order, as if absorbed one by one.
    fn settle(&mut self) {
        if self.later.is_empty() && self.claimed.is_empty() {
            return;
        }
        let flows = std::mem::take(&mut self.flows);
        let later = std::mem::take(&mut self.later);
        let claimed = std::mem::take(&mut self.claimed);
        let parts = join(flows, later, claimed, &mut self.overflow);
        self.flows = FlowMap::from_entries(parts.into_iter().flatten().collect());
    }

    /// Ends fragment joining at the end of one capture file: returns the
    /// number of later fragments that never found a first fragment. Tables
    /// of different files are then absorbed without joining fragments
    /// across files.
    pub fn seal(&mut self) -> u64 {
        self.fragments = Map::default();
        let mut n = std::mem::take(&mut self.orphan_packets);
        n += std::mem::take(&mut self.orphans)
            .values()
            .map(|o| o.packets)
            .sum::<u64>();
        n
    }

    /// What the limits kept out so far, leaving the count at zero.
    pub fn take_overflow(&mut self) -> Overflow {
        std::mem::take(&mut self.overflow)
    }

    /// The flows so far in first-seen order, while the table goes on.
    pub fn copy_flows(&self) -> Flows {
        if self.later.is_empty() && self.claimed.is_empty() {
            return Flows::of(vec![self.flows.entries().to_vec()], self.inputs.clone());
        }
        let mut overflow = Overflow::default();
        let runs = join(
            self.flows.clone(),
            self.later.clone(),
            self.claimed.clone(),
            &mut overflow,
        );
        Flows::of(runs, self.inputs.clone())
    }

    /// The flows in the order the capture first showed them (one file
    /// after the other, in the order given): the same on any number of
    /// threads. On the current rayon pool.
    pub fn finish(self) -> Flows {
        let mut overflow = Overflow::default();
        let runs = join(self.flows, self.later, self.claimed, &mut overflow);
        Flows::of(runs, self.inputs)
    }
}

/// The flows of consecutive stretches, `first` then each of `later`, in
/// first-seen order, a run per stretch holding the flows it saw first:
/// what absorbing them one after the other gives when no limit bites, with
/// `claimed` later fragments counted into their flows. On the current
/// rayon pool: each flow of a later stretch is looked up in the stretches
/// before it in parallel; the flows seen before are merged in capture
/// order, then dropped from their stretch, in place. A
/// claimed fragment whose flow is not held counts in `overflow` (absorbing
/// does the same; [`FlowTable::absorb`] only sets stretches aside when
/// every such flow is held).
fn join(
    first: FlowMap,
    later: Vec<FlowMap>,
    claimed: Vec<(PackedKey, Dir, Orphans)>,
    overflow: &mut Overflow,
) -> Vec<Vec<(PackedKey, FlowStats)>> {
    use rayon::prelude::*;
    let mut parts = later;
    parts.insert(0, first);
    // For each later stretch, its flows that a stretch before it holds:
    // (index in the stretch, earliest stretch holding it, index there), in
    // stretch order.
    let seen: Vec<Vec<[u32; 3]>> = (1..parts.len())
        .into_par_iter()
        .map(|j| {
            let (before, rest) = parts.split_at(j);
            rest[0]
                .entries()
                .par_chunks(4096)
                .enumerate()
                .flat_map_iter(|(c, chunk)| {
                    chunk.iter().enumerate().filter_map(move |(k, (key, _))| {
                        before.iter().enumerate().find_map(|(i, part)| {
                            let at = part.position(key)?;
                            Some([(c * 4096 + k) as u32, i as u32, at as u32])
                        })
                    })
                })
                .collect()
        })
        .collect();
    for (j, seen) in seen.iter().enumerate() {
        let (before, rest) = parts.split_at_mut(j + 1);
        for &[k, i, at] in seen {
            let later = &rest[0].entries()[k as usize].1;
            before[i as usize].stats_mut(at as usize).merge(later);
        }
    }
    for (key, dir, o) in claimed {
        o.count_into(
            parts.iter_mut().find_map(|p| p.get_mut(&key)),
            dir,
            overflow,
        );
    }
    // Each stretch keeps the flows it saw first, where they are: no copy
    // of the table, and the stretches in parallel.
    let mut parts: Vec<Vec<(PackedKey, FlowStats)>> =
        parts.into_iter().map(FlowMap::into_entries).collect();
    parts[1..]
        .par_iter_mut()
        .zip(&seen)
        .for_each(|(part, seen)| {
            let mut old = seen.iter().map(|s| s[0] as usize).peekable();
            let mut k = 0;
            part.retain(|_| {
                k += 1;
                old.next_if_eq(&(k - 1)).is_none()
            });
        });
    parts.retain(|p| !p.is_empty());
    parts
}

/// The flows of a finished table, in first-seen order: in consecutive
/// runs (one per stretch of capture read apart), so that finishing a table
/// never copies it.
#[derive(Debug, Default)]
pub struct Flows {
    runs: Vec<Vec<(PackedKey, FlowStats)>>,
    /// The inputs the flows' origins name.
    inputs: Inputs,
}

impl Flows {
    fn of(runs: Vec<Vec<(PackedKey, FlowStats)>>, inputs: Inputs) -> Flows {
        Flows { runs, inputs }
    }

    /// The inputs the flows' origins name.
    pub fn inputs(&self) -> &Inputs {
        &self.inputs
    }

    /// The same flows, their origins naming `inputs`.
    pub fn with_inputs(mut self, inputs: Inputs) -> Flows {
        self.inputs = inputs;
        self
    }

    pub fn len(&self) -> usize {
        self.runs.iter().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.iter().all(Vec::is_empty)
    }

    /// Each flow's key and counters, in first-seen order.
    pub fn iter(&self) -> impl Iterator<Item = (FlowKey, &FlowStats)> + '_ {
        self.runs.iter().flatten().map(|(k, s)| (k.unpack(), s))
    }

    /// The flows as the table keeps them, run after run.
    pub fn runs(&self) -> impl Iterator<Item = &[(PackedKey, FlowStats)]> + '_ {
        self.runs.iter().map(Vec::as_slice)
    }

    /// The flows as the table keeps them, in order, cut into chunks of at
    /// most `n` (to share among threads).
    pub fn chunks(&self, n: usize) -> Vec<&[(PackedKey, FlowStats)]> {
        self.runs.iter().flat_map(|run| run.chunks(n)).collect()
    }
}

/// The same flows in the same order, however they are cut into runs.
impl PartialEq for Flows {
    fn eq(&self, other: &Flows) -> bool {
        self.len() == other.len() && self.runs.iter().flatten().eq(other.runs.iter().flatten())
    }
}

impl Eq for Flows {}

/// Counts packet `p`, going `dir`, into its flow's stats, with the tunnel
/// it came through (`tunnels`: those its batch names). Once per packet:
/// always inlined.
#[inline(always)]
fn count_packet(
    s: &mut FlowStats,
    dir: Dir,
    p: &PacketSummary,
    ts: Option<Timestamp>,
    named: &Named<'_>,
) {
    s.add(dir, p.wire_len, ts, tcp_of(p));
    if p.payload != crate::decode::NO_PAYLOAD && s.listening(dir) {
        listen(s, dir, p, named);
    }
    s.encap(&p.encap, named.tunnels);
}

/// Reads the payload of packet `p`, its flow's first going `dir`.
#[inline(never)]
fn listen(s: &mut FlowStats, dir: Dir, p: &PacketSummary, named: &Named<'_>) {
    let payload =
        (named.payloads.get(usize::from(p.payload))).and_then(|at| at.in_buffer(named.buffer));
    // A payload noted at decoding lies in the buffer it was decoded from,
    // which is added before it moves ([`crate::ingest`]'s flush).
    debug_assert!(payload.is_some(), "payload {} not in its buffer", p.payload);
    let (Transport::Ports { src, dst }, Some(payload)) = (p.transport, payload) else {
        return;
    };
    let (heard, hello) = crate::decode::listen(p.proto, src, dst, payload);
    s.first_payload(dir, heard, hello);
}

/// Appends flow record `r` to its flow's stats `s`.
fn append_record(s: &mut FlowStats, r: &KeyedRecord) {
    s.add_record(&r.counts, r.first);
    s.carrier = s.carrier.or(r.carrier);
}

/// A packet's TCP flags and sequence number, if it is TCP with ports.
#[inline]
fn tcp_of(p: &PacketSummary) -> Option<(u8, u32)> {
    (p.proto == PROTO_TCP && matches!(p.transport, Transport::Ports { .. }))
        .then_some((p.tcp_flags, p.tcp_seq))
}

fn frag_key(p: &PacketSummary, ident: u32) -> FragKey {
    FragKey {
        src: p.src,
        dst: p.dst,
        proto: p.proto,
        ident,
    }
}

/// Counts distinct items in a few KB (HyperLogLog, 4096 registers, about
/// 1.6% standard error), with a fixed hash so that the estimate is the same
/// on every run and any merge order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DistinctCount {
    /// Allocated on first insert: most runs never need it.
    registers: Option<Box<[u8; REGISTERS]>>,
}

const REGISTER_BITS: u32 = 12;
const REGISTERS: usize = 1 << REGISTER_BITS;

impl DistinctCount {
    pub fn insert<T: Hash>(&mut self, item: &T) {
        // Fixed keys: the same input gives the same estimate on every run.
        let h = ahash::RandomState::with_seeds(1, 2, 3, 4).hash_one(item);
        let idx = (h >> (64 - REGISTER_BITS)) as usize;
        let rank = ((h << REGISTER_BITS) | (1 << (REGISTER_BITS - 1))).leading_zeros() as u8 + 1;
        let r = self
            .registers
            .get_or_insert_with(|| Box::new([0; REGISTERS]));
        r[idx] = r[idx].max(rank);
    }

    pub fn union(&mut self, o: &DistinctCount) {
        if let Some(theirs) = &o.registers {
            let mine = self
                .registers
                .get_or_insert_with(|| Box::new([0; REGISTERS]));
            for (m, t) in mine.iter_mut().zip(theirs.iter()) {
                *m = (*m).max(*t);
            }
        }
    }

    /// The estimated number of distinct items inserted.
    pub fn estimate(&self) -> u64 {
        let Some(r) = &self.registers else {
            return 0;
        };
        let m = REGISTERS as f64;
        let sum: f64 = r.iter().map(|&x| 2f64.powi(-i32::from(x))).sum();
        let raw = 0.7213 / (1.0 + 1.079 / m) * m * m / sum;
        let zeros = r.iter().filter(|&&x| x == 0).count();
        let est = if raw <= 2.5 * m && zeros > 0 {
            // Linear counting is better while registers are still empty.
            m * (m / zeros as f64).ln()
        } else {
            raw
        };
        est.round() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{Fragment, PROTO_UDP};
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    /// A packet of flow `f` (0..8), or a later fragment of datagram `f`.
    fn packet(f: u8, frag: Option<bool>) -> PacketSummary {
        PacketSummary {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            proto: PROTO_UDP,
            transport: match frag {
                Some(false) => Transport::LaterFragment,
                _ => Transport::Ports {
                    src: 40000,
                    dst: 1000 + u16::from(f),
                },
            },
            tcp_flags: 0,
            tcp_seq: 0,
            fragment: frag.map(|first| Fragment {
                ident: u32::from(f),
                first,
            }),
            wire_len: 100 + u32::from(f),
            encap: crate::decode::Encap::None,
            at: 0,
            payload: crate::decode::NO_PAYLOAD,
        }
    }

    /// The packets in one table that applies `limits` as they come.
    fn sequential(packets: &[(u8, Option<bool>)], limits: &Limits) -> FlowTable {
        let mut t = SequentialTable::new(*limits);
        for (i, &(f, frag)) in packets.iter().enumerate() {
            t.add(&packet(f, frag), Some(Timestamp(i as i128)));
        }
        t.into()
    }

    /// A segment that may hold anything.
    fn segment() -> SegmentTable {
        SegmentTable::new(Limits {
            max_flows: usize::MAX,
            max_fragments: usize::MAX,
        })
    }

    /// The packets cut at `cuts` into tables without limits, absorbed in
    /// order into one that applies them.
    fn run(packets: &[(u8, Option<bool>)], cuts: &[usize], limits: &Limits) -> FlowTable {
        run_settling(packets, cuts, limits, false)
    }

    /// [`run`], joining what was set aside after every stretch when
    /// `settle` (as absorbing each stretch at once would).
    fn run_settling(
        packets: &[(u8, Option<bool>)],
        cuts: &[usize],
        limits: &Limits,
        settle: bool,
    ) -> FlowTable {
        let mut whole = FlowTable::new();
        let mut at = 0;
        for &cut in cuts.iter().chain(std::iter::once(&packets.len())) {
            let cut = cut.clamp(at, packets.len());
            let mut batch = segment();
            for (i, &(f, frag)) in packets[at..cut].iter().enumerate() {
                batch.add(&packet(f, frag), Some(Timestamp((at + i) as i128)));
            }
            whole.absorb(batch, limits);
            if settle {
                whole.settle();
            }
            at = cut;
        }
        whole
    }

    fn packet_strategy() -> impl Strategy<Value = (u8, Option<bool>)> {
        (
            0u8..8,
            prop_oneof![Just(None), Just(Some(true)), Just(Some(false))],
        )
    }

    proptest! {
        /// Any cut into stretches gives what one table that applies the
        /// limits packet by packet gives: the same flows, the same packets
        /// kept out by the flow limit, the same orphan fragments.
        #[test]
        fn absorbing_batches_equals_one_pass(
            packets in proptest::collection::vec(packet_strategy(), 0..60),
            mut cuts in proptest::collection::vec(0usize..60, 0..6),
            max_flows in 0usize..24,
        ) {
            cuts.sort();
            let limits = Limits { max_flows, max_fragments: usize::MAX };
            let mut a = run(&packets, &cuts, &limits);
            let mut b = sequential(&packets, &limits);
            prop_assert_eq!(a.seal(), b.seal());
            prop_assert_eq!(a.take_overflow(), b.take_overflow());
            let (a, b) = (a.finish(), b.finish());
            prop_assert!(a.len() <= max_flows);
            prop_assert_eq!(a, b);
        }

        /// Stretches set aside and joined give what absorbing each at once
        /// gives, fragments claimed across stretches included; and so does
        /// a table that settles them to absorb a stretch past the limit.
        #[test]
        fn stretches_set_aside_join_as_absorbed(
            packets in proptest::collection::vec(packet_strategy(), 0..80),
            mut cuts in proptest::collection::vec(0usize..80, 0..8),
            tail in proptest::collection::vec(0u8..8, 0..6),
        ) {
            cuts.sort();
            let roomy = Limits { max_flows: usize::MAX, max_fragments: usize::MAX };
            let mut a = run(&packets, &cuts, &roomy);
            let mut b = run_settling(&packets, &cuts, &roomy, true);
            prop_assert!(b.later.is_empty());
            prop_assert_eq!(a.copy_flows(), b.copy_flows());
            // Past the limit: `a` must settle before absorbing the tail.
            let tight = Limits { max_flows: a.held().max(1), max_fragments: usize::MAX };
            let more = || {
                let mut t = segment();
                for (i, &f) in tail.iter().enumerate() {
                    t.add(&packet(f, None), Some(Timestamp((packets.len() + i) as i128)));
                }
                t
            };
            a.absorb(more(), &tight);
            b.absorb(more(), &tight);
            prop_assert_eq!(a.seal(), b.seal());
            prop_assert_eq!(a.take_overflow(), b.take_overflow());
            prop_assert_eq!(a.finish(), b.finish());
        }
    }

    #[test]
    fn stretches_are_set_aside_while_no_limit_can_bite() {
        let packets: Vec<(u8, Option<bool>)> = (0..6).map(|f| (f, None)).collect();
        let roomy = Limits {
            max_flows: 6,
            max_fragments: 16,
        };
        let t = run(&packets, &[2, 4], &roomy);
        assert_eq!((t.flows.len(), t.later.len()), (2, 2));
        // One more flow could go past the limit: joined, then absorbed.
        let tight = Limits {
            max_flows: 5,
            ..roomy
        };
        let t = run(&packets, &[2, 4], &tight);
        assert_eq!((t.flows.len(), t.later.len()), (5, 0));
        assert_eq!(t.finish().len(), 5);
    }

    #[test]
    fn packets_past_the_flow_limit_are_counted_not_kept() {
        let packets: Vec<(u8, Option<bool>)> = (0..6).map(|f| (f, None)).collect();
        let limits = Limits {
            max_flows: 4,
            max_fragments: 16,
        };
        let mut t = run(&packets, &[2, 3], &limits);
        let o = t.take_overflow();
        assert_eq!((o.packets, o.bytes, o.flows.estimate()), (2, 209, 2));
        assert_eq!(t.finish().len(), 4);
        // A flow already tracked keeps counting after the limit is reached.
        let mut more = packets.clone();
        more.push((0, None));
        let t = run(&more, &[], &limits);
        assert_eq!(t.finish().iter().next().unwrap().1.packets, [2, 0]);
    }

    #[test]
    fn forgotten_first_fragments_make_later_ones_orphans() {
        // Four first fragments, budget two: the oldest are forgotten (the
        // quarter rule leaves at least one slot free), their later
        // fragments find nothing.
        let mut packets: Vec<(u8, Option<bool>)> = (0..4).map(|f| (f, Some(true))).collect();
        packets.extend((0..4).map(|f| (f, Some(false))));
        let limits = Limits {
            max_flows: 100,
            max_fragments: 2,
        };
        let mut t = sequential(&packets, &limits);
        let o = t.take_overflow();
        assert_eq!(o.fragments_forgotten, 2);
        assert_eq!(t.seal(), 2, "fragments of datagrams 0 and 1");
    }

    #[test]
    fn distinct_count_is_close_and_order_free() {
        let mut a = DistinctCount::default();
        let mut b = DistinctCount::default();
        for i in 0..50_000u32 {
            a.insert(&i);
            b.insert(&(49_999 - i));
        }
        assert_eq!(a, b);
        let e = a.estimate() as f64;
        assert!((e - 50_000.0).abs() / 50_000.0 < 0.05, "{e}");
        let mut small = DistinctCount::default();
        for i in 0..10u32 {
            small.insert(&i);
            small.insert(&i);
        }
        assert_eq!(small.estimate(), 10);
        assert_eq!(DistinctCount::default().estimate(), 0);
    }
}
