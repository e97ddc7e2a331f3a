//! The DNS answers an input showed ([`Answers`]): kept apart from the RPC
//! sightings of [`super::Learned`], in a hash table a repeated answer
//! finds without allocating, and bounded as they are: the first
//! [`MAX_DNS_ANSWERS`] in [`Seen`](super::Seen)'s order (the name's hash
//! first), whatever the threads or shards.
//!
//! A DNS-heavy capture shows an answer in nearly every reply; kept as
//! [`Seen`](super::Seen) things (a name and an address list allocated per
//! reply, sorted into a tree) they cost the audit half again its time.

use std::cmp::Ordering;
use std::net::IpAddr;

use hashbrown::HashTable;

use super::learned::Sightings;

/// Distinct DNS answers a store keeps at most; past it the last in order
/// are counted in [`Answers::dropped`]. About 8 MB at the limit.
pub const MAX_DNS_ANSWERS: usize = 65_536;

/// One DNS answer: the name a client asked, the addresses the answer gave
/// it (sorted), and the exchange's protocol, resolver and client. Ordered
/// as [`Seen`](super::Seen) orders it: by the name's hash
/// ([`super::inspect::name_hash`]) first, so that a comparison is nearly
/// always decided without reading the name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Answer {
    pub hash: u64,
    pub name: Box<str>,
    pub addresses: Box<[IpAddr]>,
    pub proto: u8,
    pub resolver: IpAddr,
    pub client: IpAddr,
}

/// An [`Answer`] borrowed from a packet: what a store looks up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct AnswerRef<'a> {
    pub hash: u64,
    pub name: &'a str,
    pub addresses: &'a [IpAddr],
    pub proto: u8,
    pub resolver: IpAddr,
    pub client: IpAddr,
}

impl Answer {
    pub fn as_ref(&self) -> AnswerRef<'_> {
        AnswerRef {
            hash: self.hash,
            name: &self.name,
            addresses: &self.addresses,
            proto: self.proto,
            resolver: self.resolver,
            client: self.client,
        }
    }
}

impl AnswerRef<'_> {
    pub fn to_owned(self) -> Answer {
        Answer {
            hash: self.hash,
            name: Box::from(self.name),
            addresses: Box::from(self.addresses),
            proto: self.proto,
            resolver: self.resolver,
            client: self.client,
        }
    }

    /// The table's hash: the name's own hash stands for the name.
    fn key_hash(&self) -> u64 {
        TABLE_HASH.hash_one((
            self.hash,
            self.addresses,
            self.proto,
            self.resolver,
            self.client,
        ))
    }
}

/// Fixed seeds: the table's layout is the same on every run (nothing read
/// from it depends on the layout; answers are sorted before use).
static TABLE_HASH: ahash::RandomState = ahash::RandomState::with_seeds(
    0x243f_6a88_85a3_08d3,
    0x1319_8a2e_0370_7344,
    0xa409_3822_299f_31d0,
    0x082e_fa98_ec4e_6c89,
);

/// The DNS answers one input (or one stretch of it) showed, with when
/// each was first seen and how often: the first [`MAX_DNS_ANSWERS`] in
/// order of the whole, whichever parts it was read in and in whichever
/// order they are merged (an answer among the first of the whole is among
/// the first of every part), counts included.
#[derive(Clone, Debug, Default)]
pub struct Answers {
    /// (table hash, answer, sightings), in the order first taken: up to
    /// twice the limit between prunings ([`Answers::prune`]). A list the
    /// table points into, so that the table's slots are small and
    /// growing it moves no answer.
    list: Vec<(u64, Answer, Sightings)>,
    /// Indices into `list`, by table hash.
    index: HashTable<u32>,
    /// The last answer kept at the last pruning: an answer past it has
    /// [`MAX_DNS_ANSWERS`] before it, and is counted at sight.
    ceiling: Option<Answer>,
    /// Sightings of answers not kept.
    pub dropped: u64,
}

impl Answers {
    pub fn is_empty(&self) -> bool {
        self.list.is_empty() && self.dropped == 0
    }

    /// Takes `n` sightings of answer `a`: a known answer is counted
    /// without an allocation, one past the ceiling with one comparison.
    pub fn see(&mut self, a: AnswerRef<'_>, n: Sightings) {
        if self.past_ceiling(&a) {
            self.dropped = self.dropped.saturating_add(n.count);
            return;
        }
        let hash = a.key_hash();
        let list = &self.list;
        match self.index.find(hash, |&i| list[i as usize].1.as_ref() == a) {
            Some(&i) => self.list[i as usize].2.add(n),
            None => self.insert(hash, a.to_owned(), n),
        }
    }

    /// [`Answers::see`] for an answer already owned (a flow file's, another
    /// store's).
    pub fn add(&mut self, a: Answer, n: Sightings) {
        let hash = a.as_ref().key_hash();
        self.add_hashed(hash, a, n);
    }

    /// [`Answers::add`] of an answer whose table hash is known.
    fn add_hashed(&mut self, hash: u64, a: Answer, n: Sightings) {
        if self.past_ceiling(&a.as_ref()) {
            self.dropped = self.dropped.saturating_add(n.count);
            return;
        }
        let list = &self.list;
        match self.index.find(hash, |&i| list[i as usize].1 == a) {
            Some(&i) => self.list[i as usize].2.add(n),
            None => self.insert(hash, a, n),
        }
    }

    fn past_ceiling(&self, a: &AnswerRef<'_>) -> bool {
        self.ceiling
            .as_ref()
            .is_some_and(|c| match a.hash.cmp(&c.hash) {
                Ordering::Equal => *a > c.as_ref(),
                o => o == Ordering::Greater,
            })
    }

    fn insert(&mut self, hash: u64, a: Answer, n: Sightings) {
        let at = self.list.len() as u32;
        self.list.push((hash, a, n));
        let list = &self.list;
        self.index.insert_unique(hash, at, |&i| list[i as usize].0);
        if self.list.len() >= 2 * MAX_DNS_ANSWERS {
            self.prune();
        }
    }

    /// Keeps the first [`MAX_DNS_ANSWERS`] in order and counts the rest;
    /// the last kept becomes the ceiling. Linear in the list: done when
    /// it holds twice the limit, so each answer pays for it once.
    fn prune(&mut self) {
        if self.list.len() <= MAX_DNS_ANSWERS {
            return;
        }
        // The last kept, found among references; the list then keeps
        // what is not past it, and the table is built again.
        let mut all: Vec<&Answer> = self.list.iter().map(|e| &e.1).collect();
        let (_, &mut last, _) = all.select_nth_unstable(MAX_DNS_ANSWERS - 1);
        let last = last.clone();
        let mut dropped = 0u64;
        self.list.retain(|e| {
            let keep = e.1 <= last;
            if !keep {
                dropped = dropped.saturating_add(e.2.count);
            }
            keep
        });
        self.dropped = self.dropped.saturating_add(dropped);
        self.ceiling = Some(last);
        self.index.clear();
        let list = &self.list;
        for (i, e) in list.iter().enumerate() {
            self.index
                .insert_unique(e.0, i as u32, |&j| list[j as usize].0);
        }
    }

    /// Down to the limit: what is read from a store is settled first.
    pub fn settle(&mut self) {
        self.prune();
    }

    /// Adds what another part taught.
    pub fn merge(&mut self, mut o: Answers) {
        // The smaller is added to the larger.
        if o.list.len() > self.list.len() {
            std::mem::swap(self, &mut o);
        }
        // What is past either's ceiling has the limit's count before it.
        if let Some(c) = o.ceiling {
            if self.ceiling.as_ref().is_none_or(|mine| c < *mine) {
                self.ceiling = Some(c);
            }
        }
        self.dropped = self.dropped.saturating_add(o.dropped);
        for (hash, a, n) in o.list {
            self.add_hashed(hash, a, n);
        }
    }

    /// The answers kept, in no order, with their sightings (settle
    /// first); [`Answers::get`] finds each by its index here.
    pub fn iter(&self) -> impl Iterator<Item = (&Answer, Sightings)> {
        self.list.iter().map(|e| (&e.1, e.2))
    }

    /// The answer at `i` of [`Answers::iter`].
    pub fn get(&self, i: usize) -> &Answer {
        &self.list[i].1
    }

    /// The place in order of each answer of [`Answers::iter`].
    pub fn ranks(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.list.len() as u32).collect();
        // Distinct answers: no two compare equal.
        order.sort_unstable_by(|&x, &y| self.list[x as usize].1.cmp(&self.list[y as usize].1));
        let mut rank = vec![0; order.len()];
        for (r, i) in order.into_iter().enumerate() {
            rank[i as usize] = r as u32;
        }
        rank
    }

    /// The answers kept, in order, with their sightings (settle first).
    pub fn sorted(&self) -> Vec<(&Answer, Sightings)> {
        let mut all: Vec<(&Answer, Sightings)> = self.list.iter().map(|e| (&e.1, e.2)).collect();
        all.sort_unstable_by(|x, y| x.0.cmp(y.0));
        all
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }
}

/// Equal when they keep the same answers with the same sightings and
/// dropped as many, however far each was pruned.
impl PartialEq for Answers {
    fn eq(&self, o: &Answers) -> bool {
        let (mut a, mut b) = (self.clone(), o.clone());
        a.settle();
        b.settle();
        a.dropped == b.dropped && a.sorted() == b.sorted()
    }
}

impl Eq for Answers {}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(i: u64) -> Answer {
        let name = format!("h{i}.example");
        Answer {
            hash: super::super::inspect::name_hash(&name),
            name: name.into(),
            addresses: Box::new([IpAddr::from([192, 0, 2, (i % 7) as u8])]),
            proto: 17,
            resolver: IpAddr::from([10, 0, 0, 53]),
            client: IpAddr::from([10, 0, 0, (i % 3) as u8]),
        }
    }

    fn once(t: i128) -> Sightings {
        Sightings {
            first: Some(crate::capture::Timestamp(t)),
            count: 1,
        }
    }

    /// Past the limit, any split of the sightings, merged in any order,
    /// keeps and counts what one pass does: the first of the whole.
    #[test]
    fn any_split_past_the_limit_is_one_pass() {
        let n = 2 * MAX_DNS_ANSWERS as u64 + 900;
        let sightings: Vec<(Answer, Sightings)> = (0..3 * n)
            .map(|i| (answer(i.wrapping_mul(2_654_435_761) % n), once(i as i128)))
            .collect();
        let mut whole = Answers::default();
        for (a, s) in &sightings {
            whole.see(a.as_ref(), *s);
        }
        whole.settle();
        assert_eq!(whole.len(), MAX_DNS_ANSWERS);
        let kept: u64 = whole.sorted().iter().map(|(_, s)| s.count).sum();
        assert_eq!(kept + whole.dropped, 3 * n);
        // Each kept answer is among the first in order of all of them.
        let mut every: Vec<Answer> = (0..n).map(answer).collect();
        every.sort_unstable();
        let firsts: Vec<&Answer> = whole.sorted().into_iter().map(|(a, _)| a).collect();
        assert_eq!(firsts, every[..MAX_DNS_ANSWERS].iter().collect::<Vec<_>>());
        for [a, b] in [[1, 2], [7, 90_000], [150_000, 300_000]] {
            let part = |range: std::ops::Range<usize>| {
                let mut p = Answers::default();
                for (x, s) in &sightings[range] {
                    p.add(x.clone(), *s);
                }
                p
            };
            let parts = [part(0..a), part(a..b), part(b..sightings.len())];
            super::super::assert_merges_to(parts, &whole, Answers::merge, &format!("{a}, {b}"));
        }
    }

    /// A repeated answer is one, its first time the earliest.
    #[test]
    fn a_repeated_answer_is_counted_once_with_its_first_time() {
        let mut s = Answers::default();
        s.see(answer(1).as_ref(), once(30));
        s.see(answer(1).as_ref(), once(10));
        s.see(answer(2).as_ref(), once(20));
        let sorted = s.sorted();
        assert_eq!(sorted.len(), 2);
        let one = sorted.iter().find(|(a, _)| **a == answer(1)).unwrap().1;
        assert_eq!(one.count, 2);
        assert_eq!(one.first, Some(crate::capture::Timestamp(10)));
    }
}
