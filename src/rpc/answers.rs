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
/// are counted in [`Answers::dropped`]. About 13 MB at the limit (an
/// entry of 128 bytes, a name, a few addresses).
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
///
/// The names and addresses of all answers lie in two buffers the entries
/// point into: a new answer costs no allocation of its own, and a store
/// is freed in a few.
#[derive(Clone, Debug, Default)]
pub struct Answers {
    /// The answers, in the order first taken: up to twice the limit
    /// between prunings ([`Answers::prune`]).
    list: Vec<Entry>,
    /// The names of `list`, one after the other.
    text: String,
    /// The addresses of `list`, one list after the other.
    addresses: Vec<IpAddr>,
    /// Indices into `list`, with their table hash: growing the table
    /// reads only the table. Built again after a pruning only when an
    /// answer is taken (most stores are pruned last when they are
    /// settled, to be read).
    index: HashTable<(u64, u32)>,
    /// `index` is to be built again before it is used.
    stale: bool,
    /// The last answer kept at the last pruning: an answer past it has
    /// [`MAX_DNS_ANSWERS`] before it, and is counted at sight.
    ceiling: Option<Answer>,
    /// Sightings of answers not kept.
    pub dropped: u64,
}

/// An answer of a store, its name and addresses as places in the store's
/// buffers.
#[derive(Clone, Debug)]
struct Entry {
    /// The table's hash ([`AnswerRef::key_hash`]).
    key: u64,
    hash: u64,
    text: u32,
    text_len: u32,
    addresses: u32,
    addresses_len: u32,
    proto: u8,
    resolver: IpAddr,
    client: IpAddr,
    seen: Sightings,
}

impl Answers {
    pub fn is_empty(&self) -> bool {
        self.list.is_empty() && self.dropped == 0
    }

    /// Entry `e` as an answer.
    fn view(&self, e: &Entry) -> AnswerRef<'_> {
        let text = e.text as usize;
        let addresses = e.addresses as usize;
        AnswerRef {
            hash: e.hash,
            name: &self.text[text..text + e.text_len as usize],
            addresses: &self.addresses[addresses..addresses + e.addresses_len as usize],
            proto: e.proto,
            resolver: e.resolver,
            client: e.client,
        }
    }

    /// Takes `n` sightings of answer `a`: a known answer is counted
    /// without an allocation, one past the ceiling with one comparison.
    pub fn see(&mut self, a: AnswerRef<'_>, n: Sightings) {
        self.see_hashed(a.key_hash(), a, n);
    }

    /// [`Answers::see`] of an answer whose table hash is known.
    fn see_hashed(&mut self, key: u64, a: AnswerRef<'_>, n: Sightings) {
        if self.past_ceiling(&a) {
            self.dropped = self.dropped.saturating_add(n.count);
            return;
        }
        if self.stale {
            self.index_again();
        }
        let found = (self.index).find(key, |&(k, i)| {
            k == key && self.view(&self.list[i as usize]) == a
        });
        match found {
            Some(&(_, i)) => self.list[i as usize].seen.add(n),
            None => self.insert(key, a, n),
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

    fn insert(&mut self, key: u64, a: AnswerRef<'_>, n: Sightings) {
        let at = self.list.len() as u32;
        let place = |used: usize, len: usize| {
            let end = used.checked_add(len)?;
            Some((
                u32::try_from(used).ok()?,
                u32::try_from(len).ok()?,
                u32::try_from(end).ok()?,
            ))
        };
        // Buffers past 4 GiB (only a flow file's names could fill them).
        let (Some((text, text_len, _)), Some((addresses, addresses_len, _))) = (
            place(self.text.len(), a.name.len()),
            place(self.addresses.len(), a.addresses.len()),
        ) else {
            self.dropped = self.dropped.saturating_add(n.count);
            return;
        };
        let e = Entry {
            key,
            hash: a.hash,
            text,
            text_len,
            addresses,
            addresses_len,
            proto: a.proto,
            resolver: a.resolver,
            client: a.client,
            seen: n,
        };
        self.text.push_str(a.name);
        self.addresses.extend_from_slice(a.addresses);
        self.list.push(e);
        self.index.insert_unique(key, (key, at), |e| e.0);
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
        // The last kept, found among the names' hashes (the answers are
        // read only where two are equal); the store then keeps what is
        // not past it, in the order it had, and its table is built
        // again. Names and addresses stay where they are in the buffers
        // (the dropped ones' until the buffers are mostly theirs): the
        // last prune of a run, the one `settle` makes, copies none.
        let mut all = self.hashes();
        let (_, &mut (_, last), _) = all.select_nth_unstable_by(MAX_DNS_ANSWERS - 1, self.order());
        drop(all);
        self.ceiling = Some(self.view(&self.list[last as usize]).to_owned());
        let mut list = std::mem::take(&mut self.list);
        let mut dropped = 0u64;
        list.retain(|e| {
            let past = self.past_ceiling(&self.view(e));
            if past {
                dropped = dropped.saturating_add(e.seen.count);
            }
            !past
        });
        self.dropped = self.dropped.saturating_add(dropped);
        self.list = list;
        let live: usize = self.list.iter().map(|e| e.text_len as usize).sum();
        if self.text.len() > 2 * live.max(1 << 16) {
            self.compact();
        }
        self.index.clear();
        self.stale = true;
    }

    /// Builds the table again after a pruning.
    fn index_again(&mut self) {
        self.index.reserve(self.list.len(), |e| e.0);
        for (i, e) in self.list.iter().enumerate() {
            self.index.insert_unique(e.key, (e.key, i as u32), |e| e.0);
        }
        self.stale = false;
    }

    /// Copies the names and addresses of the answers kept into buffers of
    /// their own, leaving those of the answers dropped.
    fn compact(&mut self) {
        let (old_text, old_addresses) = (
            std::mem::take(&mut self.text),
            std::mem::take(&mut self.addresses),
        );
        for e in &mut self.list {
            let (t, a) = (e.text as usize, e.addresses as usize);
            // Offsets fit: the kept are fewer than what the buffers held.
            e.text = self.text.len() as u32;
            self.text.push_str(&old_text[t..t + e.text_len as usize]);
            e.addresses = self.addresses.len() as u32;
            self.addresses
                .extend_from_slice(&old_addresses[a..a + e.addresses_len as usize]);
        }
    }

    /// Each answer's name hash, with its index in `list`.
    fn hashes(&self) -> Vec<(u64, u32)> {
        (self.list.iter().enumerate())
            .map(|(i, e)| (e.hash, i as u32))
            .collect()
    }

    /// The order of answers on [`Answers::hashes`]' pairs.
    fn order(&self) -> impl Fn(&(u64, u32), &(u64, u32)) -> Ordering + '_ {
        |x, y| {
            x.0.cmp(&y.0).then_with(|| {
                let (a, b) = (&self.list[x.1 as usize], &self.list[y.1 as usize]);
                self.view(a).cmp(&self.view(b))
            })
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
        if let Some(c) = o.ceiling.take() {
            if self.ceiling.as_ref().is_none_or(|mine| c < *mine) {
                self.ceiling = Some(c);
            }
        }
        self.dropped = self.dropped.saturating_add(o.dropped);
        // Room for all of them at once: the table grows once, not by
        // doubling as they come.
        let room = (o.list.len()).min((2 * MAX_DNS_ANSWERS).saturating_sub(self.list.len()));
        self.list.reserve(room);
        self.index.reserve(room, |e| e.0);
        self.text.reserve(o.text.len());
        self.addresses.reserve(o.addresses.len());
        for e in &o.list {
            self.see_hashed(e.key, o.view(e), e.seen);
        }
    }

    /// The answers kept, in no order, with their sightings (settle
    /// first); [`Answers::get`] finds each by its index here.
    pub fn iter(&self) -> impl Iterator<Item = (AnswerRef<'_>, Sightings)> {
        self.list.iter().map(|e| (self.view(e), e.seen))
    }

    /// The answer at `i` of [`Answers::iter`].
    pub fn get(&self, i: usize) -> AnswerRef<'_> {
        self.view(&self.list[i])
    }

    /// The answers kept, in order, with their sightings (settle first).
    pub fn sorted(&self) -> Vec<(AnswerRef<'_>, Sightings)> {
        let mut all: Vec<(AnswerRef<'_>, Sightings)> = self.iter().collect();
        all.sort_unstable_by(|x, y| x.0.cmp(&y.0));
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
        let firsts: Vec<AnswerRef<'_>> = whole.sorted().into_iter().map(|(a, _)| a).collect();
        let want: Vec<AnswerRef<'_>> = every[..MAX_DNS_ANSWERS]
            .iter()
            .map(Answer::as_ref)
            .collect();
        assert_eq!(firsts, want);
        for [a, b] in [[1, 2], [7, 90_000], [150_000, 300_000]] {
            let part = |range: std::ops::Range<usize>| {
                let mut p = Answers::default();
                for (x, s) in &sightings[range] {
                    p.see(x.as_ref(), *s);
                }
                p
            };
            let parts = [part(0..a), part(a..b), part(b..sightings.len())];
            super::super::assert_merges_to(parts, &whole, Answers::merge, &format!("{a}, {b}"));
        }
    }

    /// A store pruned again and again keeps its buffers bounded by what
    /// it keeps, and keeps the first in order of all it saw.
    #[test]
    fn pruning_keeps_the_buffers_bounded() {
        let n = 10 * MAX_DNS_ANSWERS as u64;
        let mut s = Answers::default();
        for i in 0..n {
            s.see(answer(i).as_ref(), once(i as i128));
        }
        s.settle();
        assert_eq!(s.len(), MAX_DNS_ANSWERS);
        assert_eq!(s.dropped, n - MAX_DNS_ANSWERS as u64);
        let live: usize = s.list.iter().map(|e| e.text_len as usize).sum();
        assert!(s.text.len() <= 4 * live, "{} for {live}", s.text.len());
        assert!(s.addresses.len() <= 4 * MAX_DNS_ANSWERS);
        let mut every: Vec<Answer> = (0..n).map(answer).collect();
        every.sort_unstable();
        let kept: Vec<AnswerRef<'_>> = s.sorted().into_iter().map(|(a, _)| a).collect();
        let want: Vec<AnswerRef<'_>> = (every[..MAX_DNS_ANSWERS].iter())
            .map(Answer::as_ref)
            .collect();
        assert_eq!(kept, want);
        // The table, built again, finds every kept answer where the list
        // has it.
        s.index_again();
        for (i, e) in s.list.iter().enumerate() {
            let found = s.index.find(e.key, |&(k, j)| k == e.key && j as usize == i);
            assert!(found.is_some(), "{i}");
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
        let one = sorted
            .iter()
            .find(|(a, _)| *a == answer(1).as_ref())
            .unwrap()
            .1;
        assert_eq!(one.count, 2);
        assert_eq!(one.first, Some(crate::capture::Timestamp(10)));
    }
}
