//! The map under the flow table: flows in first-seen order, found through
//! a flat array of slots, looked up a group of packets at a time.
//!
//! A flow table of a large capture does not fit in cache, so a lookup costs
//! memory latency: with a general-purpose map three dependent misses (the
//! control bytes, the index, the entry). Here a slot holds a tag of the
//! hash and the entry's index, so a lookup is two misses, and
//! [`FlowMap::locate`] takes a whole group of keys: it reads all their
//! slots in one tight loop, then all their candidate entries in another,
//! so that the misses of the group overlap instead of following each other.
//! Safe Rust has no prefetch instruction; independent loads issued back to
//! back are the next best thing.

use super::key::PackedKey;
use super::stats::FlowStats;

/// Flows in the order they were first inserted, never removed.
#[derive(Clone, Debug)]
pub(crate) struct FlowMap {
    entries: Vec<(PackedKey, FlowStats)>,
    /// Empty (0) or `tag << 32 | (index + 1)`; a power of two long, at
    /// most half full, so that probe runs stay short.
    slots: Vec<u64>,
    /// Seeded per map: keys come from captures, which may be crafted to
    /// collide.
    hasher: ahash::RandomState,
}

impl Default for FlowMap {
    fn default() -> Self {
        FlowMap {
            entries: Vec::new(),
            slots: Vec::new(),
            hasher: ahash::RandomState::new(),
        }
    }
}

/// Where a key is, or the slot where it would go (valid until the next
/// insertion).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Spot {
    Found(usize),
    Vacant { slot: usize, hash: u64 },
}

const SLOT_INDEX: u64 = 0xFFFF_FFFF;

impl FlowMap {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    #[inline]
    pub(crate) fn hash(&self, key: &PackedKey) -> u64 {
        self.hasher.hash_one(key)
    }

    #[inline]
    fn tag(hash: u64) -> u64 {
        (hash >> 32) << 32
    }

    /// Finds `key`, whose hash is `hash`.
    #[inline]
    pub(crate) fn find(&self, key: &PackedKey, hash: u64) -> Spot {
        if self.slots.is_empty() {
            return Spot::Vacant { slot: 0, hash };
        }
        let mask = self.slots.len() - 1;
        let tag = Self::tag(hash);
        let mut i = hash as usize & mask;
        loop {
            let s = self.slots[i];
            if s == 0 {
                return Spot::Vacant { slot: i, hash };
            }
            if s & !SLOT_INDEX == tag {
                let at = (s & SLOT_INDEX) as usize - 1;
                if self.entries[at].0 == *key {
                    return Spot::Found(at);
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// [`Self::find`] for a group of keys, with the memory of all of them
    /// fetched at once first (see the module comment). `None` keys are
    /// skipped.
    pub(crate) fn locate<const N: usize>(
        &self,
        keys: &[Option<PackedKey>; N],
    ) -> [Option<Spot>; N] {
        let mut hashes = [0u64; N];
        for (h, k) in hashes.iter_mut().zip(keys) {
            if let Some(k) = k {
                *h = self.hash(k);
            }
        }
        if !self.slots.is_empty() {
            let mask = self.slots.len() - 1;
            // Read each key's first slot, then each candidate entry: loads
            // that depend on nothing before them, so they overlap.
            let mut first = [0u64; N];
            for (s, h) in first.iter_mut().zip(&hashes) {
                *s = self.slots[*h as usize & mask];
            }
            let mut touched = 0u64;
            for s in first {
                if s != 0 {
                    let (k, stats) = &self.entries[(s & SLOT_INDEX) as usize - 1];
                    touched = touched
                        .wrapping_add(u64::from(k.proto()))
                        .wrapping_add(stats.packets[0]);
                }
            }
            std::hint::black_box(touched);
        }
        let mut spots = [None; N];
        for ((spot, k), h) in spots.iter_mut().zip(keys).zip(hashes) {
            if let Some(k) = k {
                *spot = Some(self.find(k, h));
            }
        }
        spots
    }

    #[inline]
    pub(crate) fn stats_mut(&mut self, at: usize) -> &mut FlowStats {
        &mut self.entries[at].1
    }

    pub(crate) fn get_mut(&mut self, key: &PackedKey) -> Option<&mut FlowStats> {
        self.position(key).map(|at| &mut self.entries[at].1)
    }

    /// Inserts a key that [`Self::find`] just reported vacant at `spot`;
    /// returns its index.
    pub(crate) fn insert_at(&mut self, spot: Spot, key: PackedKey, stats: FlowStats) -> usize {
        let Spot::Vacant { slot, hash } = spot else {
            unreachable!("insert_at takes a vacant spot");
        };
        let at = self.entries.len();
        assert!(at < SLOT_INDEX as usize, "more flows than a slot can index");
        self.entries.push((key, stats));
        if (at + 1) * 2 > self.slots.len() {
            self.grow();
        } else {
            self.slots[slot] = Self::tag(hash) | (at as u64 + 1);
        }
        at
    }

    /// Doubles the slots (at least 16) and places every entry again.
    fn grow(&mut self) {
        self.place((self.slots.len() * 2).max(16));
    }

    /// Places every entry again in `n` slots (a power of two).
    fn place(&mut self, n: usize) {
        // Written before they are read: slots that were only read first
        // would map the shared zero page, and their first write would
        // then be a copy-on-write fault that, with the process running on
        // several cores, interrupts every one of them to flush its TLB.
        #[allow(clippy::slow_vector_initialization)]
        let mut slots = Vec::with_capacity(n);
        slots.resize(n, 0u64);
        let mask = n - 1;
        for (at, (key, _)) in self.entries.iter().enumerate() {
            let hash = self.hasher.hash_one(key);
            let mut i = hash as usize & mask;
            while slots[i] != 0 {
                i = (i + 1) & mask;
            }
            slots[i] = Self::tag(hash) | (at as u64 + 1);
        }
        self.slots = slots;
    }

    /// A map of `entries`, whose keys are distinct, in their order.
    pub(crate) fn from_entries(entries: Vec<(PackedKey, FlowStats)>) -> FlowMap {
        assert!(
            entries.len() < SLOT_INDEX as usize,
            "more flows than a slot can index"
        );
        let mut map = FlowMap {
            entries,
            ..FlowMap::default()
        };
        if !map.entries.is_empty() {
            // At most half full after the next insertion, as `insert_at`
            // keeps it.
            map.place(((map.entries.len() + 1) * 2).next_power_of_two().max(16));
        }
        map
    }

    /// Where `key` is, if the map has it.
    #[inline]
    pub(crate) fn position(&self, key: &PackedKey) -> Option<usize> {
        match self.find(key, self.hash(key)) {
            Spot::Found(at) => Some(at),
            Spot::Vacant { .. } => None,
        }
    }

    /// The entries in first-seen order, borrowed.
    pub(crate) fn entries(&self) -> &[(PackedKey, FlowStats)] {
        &self.entries
    }

    /// Every flow's stats, to change what does not move it (its origin).
    pub(crate) fn stats_iter_mut(&mut self) -> impl Iterator<Item = &mut FlowStats> {
        self.entries.iter_mut().map(|(_, s)| s)
    }

    /// The entries in first-seen order.
    pub(crate) fn into_entries(self) -> Vec<(PackedKey, FlowStats)> {
        self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{PacketSummary, Transport, PROTO_UDP};
    use std::net::{IpAddr, Ipv4Addr};

    fn key(i: u32) -> PackedKey {
        let p = PacketSummary {
            src: IpAddr::V4(Ipv4Addr::from(i)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            proto: PROTO_UDP,
            transport: Transport::Ports {
                src: (i % 7) as u16,
                dst: 53,
            },
            tcp_flags: 0,
            tcp_seq: 0,
            fragment: None,
            wire_len: 60,
            encap: crate::decode::Encap::None,
            at: 0,
            payload: crate::decode::NO_PAYLOAD,
        };
        PackedKey::of_packet(&p).unwrap().0
    }

    #[test]
    fn finds_what_was_inserted_in_order_through_growth() {
        let mut m = FlowMap::default();
        for i in 0..10_000 {
            let k = key(i);
            let spot = m.find(&k, m.hash(&k));
            assert!(matches!(spot, Spot::Vacant { .. }));
            let mut s = FlowStats::default();
            s.packets[0] = u64::from(i);
            assert_eq!(m.insert_at(spot, k, s), i as usize);
        }
        let keys: [Option<PackedKey>; 4] =
            [Some(key(5)), None, Some(key(9_999)), Some(key(20_000))];
        let spots = m.locate(&keys);
        assert_eq!(spots[0], Some(Spot::Found(5)));
        assert_eq!(spots[1], None);
        assert_eq!(spots[2], Some(Spot::Found(9_999)));
        assert!(matches!(spots[3], Some(Spot::Vacant { .. })));
        assert_eq!(m.get_mut(&key(77)).unwrap().packets[0], 77);
        let entries = m.into_entries();
        assert!(entries
            .iter()
            .enumerate()
            .all(|(i, (k, _))| *k == key(i as u32)));
    }
}
