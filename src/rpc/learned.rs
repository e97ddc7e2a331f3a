//! What an input taught, bounded and mergeable in any order ([`Learned`]),
//! and its form in flow files ([`StoredLearned`]).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::answers::{AnswerRef, Answers};
use super::inspect::{Pending, Seen, Shown};
use super::{Mapper, MAX_LEARNED};
use crate::capture::Timestamp;

/// When a thing was first seen, and how often.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sightings {
    pub first: Option<Timestamp>,
    pub count: u64,
}

impl Sightings {
    pub(super) fn add(&mut self, o: Sightings) {
        self.first = match (self.first, o.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.count = self.count.saturating_add(o.count);
    }
}

/// What one input (or one stretch of it) taught: bounded by
/// [`MAX_LEARNED`] distinct things, the first in [`Seen`]'s order. Which
/// are kept does not depend on how the input was cut or in which order
/// stretches and inputs are merged: a thing among the first
/// [`MAX_LEARNED`] of the whole is among them in every part, so merging
/// is exact, counts included, whatever the threads or shards.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Learned {
    pub seen: BTreeMap<Seen, Sightings>,
    /// Payloads that could not be read, by why.
    pub unreadable: BTreeMap<String, u64>,
    /// Servers whose mapper was seen answering: a map reply (even with no
    /// tower), a portmapper reply. Bounded as `seen` is.
    pub mappers: BTreeSet<(IpAddr, Mapper)>,
    /// Sightings of things not kept, past [`MAX_LEARNED`].
    pub dropped: u64,
    /// The DNS answers ([`Shown::DnsAnswer`]), kept apart and bounded on
    /// their own: a DNS-heavy capture shows one in nearly every reply.
    pub answers: Answers,
}

impl Learned {
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
            && self.unreadable.is_empty()
            && self.mappers.is_empty()
            && self.dropped == 0
            && self.answers.is_empty()
    }

    /// Takes what `pending`'s packet, seen at `ts`, showed.
    pub fn take(&mut self, pending: &mut Pending, ts: Option<Timestamp>) {
        let once = Sightings {
            first: ts,
            count: 1,
        };
        if let Some(a) = pending.answer() {
            self.answers.see(a, once);
            pending.answered = false;
        }
        for s in pending.seen.drain(..) {
            self.add(s, once);
        }
        for why in pending.unreadable.drain(..) {
            self.count_unreadable(why, 1);
        }
        for m in pending.mappers.drain(..) {
            self.add_mapper(m);
        }
    }

    pub(super) fn add(&mut self, s: Seen, n: Sightings) {
        if let Shown::DnsAnswer {
            hash,
            name,
            addresses,
        } = s.shown
        {
            let a = AnswerRef {
                hash,
                name: &name,
                addresses: &addresses,
                proto: s.proto,
                resolver: s.src,
                client: s.dst,
            };
            self.answers.see(a, n);
            return;
        }
        // Full, and past the last kept: dropped with one comparison, not
        // a walk down the tree.
        if self.seen.len() >= MAX_LEARNED && self.seen.last_key_value().is_some_and(|(l, _)| s > *l)
        {
            self.dropped = self.dropped.saturating_add(n.count);
            return;
        }
        if let Some(known) = self.seen.get_mut(&s) {
            known.add(n);
            return;
        }
        self.seen.insert(s, n);
        if self.seen.len() > MAX_LEARNED {
            let (_, last) = self.seen.pop_last().expect("over the limit, so not empty");
            self.dropped = self.dropped.saturating_add(last.count);
        }
    }

    /// Counts `n` payloads unreadable for `why` (a String made once per
    /// reason, not per packet).
    fn count_unreadable(&mut self, why: &str, n: u64) {
        match self.unreadable.get_mut(why) {
            Some(c) => *c = c.saturating_add(n),
            None => {
                self.unreadable.insert(why.to_string(), n);
            }
        }
    }

    fn add_mapper(&mut self, m: (IpAddr, Mapper)) {
        self.mappers.insert(m);
        if self.mappers.len() > MAX_LEARNED {
            self.mappers.pop_last();
        }
    }

    /// Prunes the DNS answers to their limit ([`Answers::settle`]): what
    /// reads the answers settles first.
    pub fn settle(&mut self) {
        self.answers.settle();
    }

    /// Adds what another stretch (or input) taught.
    pub fn merge(&mut self, o: Learned) {
        self.merge_seen(o.seen);
        for (k, v) in o.unreadable {
            self.count_unreadable(&k, v);
        }
        for m in o.mappers {
            self.add_mapper(m);
        }
        self.dropped = self.dropped.saturating_add(o.dropped);
        self.answers.merge(o.answers);
    }

    /// Takes `other`'s things in one ordered pass over both (not a walk
    /// down the tree for each): the first [`MAX_LEARNED`] of the two in
    /// order, counts of one thing added, the rest counted as dropped, as
    /// adding them one by one would.
    fn merge_seen<I>(&mut self, other: I)
    where
        I: IntoIterator<Item = (Seen, Sightings)>,
        I::IntoIter: ExactSizeIterator,
    {
        let other = other.into_iter();
        if other.len() == 0 {
            return;
        }
        let mut mine = std::mem::take(&mut self.seen).into_iter().peekable();
        let mut theirs = other.into_iter().peekable();
        let mut kept = Vec::with_capacity(MAX_LEARNED.min(mine.len() + theirs.len()));
        loop {
            let next = match (mine.peek(), theirs.peek()) {
                (None, None) => break,
                (Some(_), None) => mine.next(),
                (None, Some(_)) => theirs.next(),
                (Some((a, _)), Some((b, _))) => match a.cmp(b) {
                    std::cmp::Ordering::Less => mine.next(),
                    std::cmp::Ordering::Greater => theirs.next(),
                    std::cmp::Ordering::Equal => {
                        let (s, mut n) = mine.next().expect("peeked");
                        n.add(theirs.next().expect("peeked").1);
                        Some((s, n))
                    }
                },
            };
            let (s, n) = next.expect("one side had a thing");
            if kept.len() < MAX_LEARNED {
                kept.push((s, n));
            } else {
                self.dropped = self.dropped.saturating_add(n.count);
            }
        }
        // In order already: built in one pass.
        self.seen = kept.into_iter().collect();
    }

    /// The form a flow file stores (`portaudit_inputs`' `rpc`).
    pub fn stored(&self) -> StoredLearned {
        if !self.answers.is_settled() {
            let mut settled = self.clone();
            settled.settle();
            return settled.stored();
        }
        StoredLearned {
            seen: self
                .seen
                .iter()
                .map(|(s, n)| StoredSeen {
                    seen: s.clone(),
                    first_ns: n.first.map(|t| t.0),
                    count: n.count,
                })
                .chain(self.answers.sorted().into_iter().map(|(a, n)| StoredSeen {
                    seen: Seen {
                        shown: Shown::DnsAnswer {
                            hash: a.hash,
                            name: a.name.to_string(),
                            addresses: a.addresses.to_vec(),
                        },
                        proto: a.proto,
                        src: a.resolver,
                        sport: 0,
                        dst: a.client,
                        dport: 0,
                    },
                    first_ns: n.first.map(|t| t.0),
                    count: n.count,
                }))
                .collect(),
            unreadable: self.unreadable.clone(),
            mappers: self.mappers.iter().copied().collect(),
            dropped: self.dropped,
            answers_dropped: self.answers.dropped,
        }
    }

    pub fn from_stored(s: &StoredLearned) -> Learned {
        let mut l = Learned {
            unreadable: s.unreadable.clone(),
            mappers: s.mappers.iter().copied().collect(),
            dropped: s.dropped,
            ..Learned::default()
        };
        l.answers.dropped = s.answers_dropped;
        for x in &s.seen {
            l.add(
                x.seen.clone(),
                Sightings {
                    first: x.first_ns.map(Timestamp),
                    count: x.count,
                },
            );
        }
        l
    }
}

/// [`Learned`] as a flow file carries it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredLearned {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen: Vec<StoredSeen>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unreadable: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mappers: Vec<(IpAddr, Mapper)>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped: u64,
    /// DNS answers not kept, past [`super::MAX_DNS_ANSWERS`] (older flow
    /// files count them in `dropped`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub answers_dropped: u64,
}

impl StoredLearned {
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
            && self.unreadable.is_empty()
            && self.mappers.is_empty()
            && self.dropped == 0
            && self.answers_dropped == 0
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One thing learned, as a flow file stores it (flattened: serde cannot
/// deny unknown fields through a flattened, tagged enum).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSeen {
    #[serde(flatten)]
    pub seen: Seen,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_ns: Option<i128>,
    pub count: u64,
}
