//! The DNS answers an input showed ([`Answers`]): kept apart from the RPC
//! sightings of [`super::Learned`], in a log whose repeats are folded
//! together in passes, and bounded as they are: the first
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
use crate::capture::Timestamp;

/// Distinct DNS answers a store keeps at most; past it the last in order
/// are counted in [`Answers::dropped`]. A store holds up to twice as
/// many sightings between foldings: about 20 MB then (an entry of 80
/// bytes, a name, a few addresses).
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
/// A sighting is appended as it comes, and repeated ones are folded
/// together in one pass when the list is full and when the store is
/// settled to be read ([`Answers::settle`]): a reader pays for a
/// sequential write per answer, not for a probe of a table that most
/// answers, each naming another host, miss. The names and addresses of
/// all answers lie in two buffers the entries point into: a new answer
/// costs no allocation of its own, and a store is freed in a few.
#[derive(Clone, Debug, Default)]
pub struct Answers {
    /// The answers in the order they came: the first `distinct` are
    /// distinct and not past the ceiling, the rest not yet compared.
    /// Up to twice the limit between foldings ([`Answers::fold`]).
    list: Vec<Entry>,
    distinct: usize,
    /// The names of `list`, one after the other.
    text: String,
    /// The addresses of `list`, one list after the other.
    addresses: Vec<IpAddr>,
    /// The last answer kept at the last pruning: an answer past it has
    /// [`MAX_DNS_ANSWERS`] before it, and is counted at sight.
    ceiling: Option<Answer>,
    /// Sightings of answers not kept.
    pub dropped: u64,
}

/// An answer of a store, its name and addresses as places in the store's
/// buffers, and its sightings: 80 bytes.
#[derive(Clone, Debug)]
struct Entry {
    /// When first seen, [`NO_TIME`] when never with a time.
    first: i128,
    count: u64,
    hash: u64,
    text: u32,
    addresses: u32,
    text_len: u16,
    addresses_len: u8,
    proto: u8,
    resolver: IpAddr,
    client: IpAddr,
}

/// [`Entry::first`] of an answer seen without a time (no capture's time
/// is this far before 1970).
const NO_TIME: i128 = i128::MIN;

impl Entry {
    fn seen(&self) -> Sightings {
        Sightings {
            first: (self.first != NO_TIME).then_some(Timestamp(self.first)),
            count: self.count,
        }
    }

    fn add(&mut self, n: Sightings) {
        let mut seen = self.seen();
        seen.add(n);
        self.first = seen.first.map_or(NO_TIME, |t| t.0);
        self.count = seen.count;
    }
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
            name: &self.text[text..text + usize::from(e.text_len)],
            addresses: &self.addresses[addresses..addresses + usize::from(e.addresses_len)],
            proto: e.proto,
            resolver: e.resolver,
            client: e.client,
        }
    }

    /// Takes `n` sightings of answer `a`: appended, or counted with one
    /// comparison when past the ceiling.
    pub fn see(&mut self, a: AnswerRef<'_>, n: Sightings) {
        if self.past_ceiling(&a) {
            self.dropped = self.dropped.saturating_add(n.count);
            return;
        }
        self.append(a, n);
        if self.list.len() >= 2 * MAX_DNS_ANSWERS {
            self.fold();
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

    fn append(&mut self, a: AnswerRef<'_>, n: Sightings) {
        let place = |used: usize, len: usize| {
            used.checked_add(len)?;
            u32::try_from(used).ok()
        };
        // Buffers past 4 GiB, a name past 64 KB or more than 255
        // addresses: only a flow file's answers could hold them.
        let (Some(text), Some(addresses), Ok(text_len), Ok(addresses_len)) = (
            place(self.text.len(), a.name.len()),
            place(self.addresses.len(), a.addresses.len()),
            u16::try_from(a.name.len()),
            u8::try_from(a.addresses.len()),
        ) else {
            self.dropped = self.dropped.saturating_add(n.count);
            return;
        };
        self.list.push(Entry {
            first: n.first.map_or(NO_TIME, |t| t.0),
            count: n.count,
            hash: a.hash,
            text,
            addresses,
            text_len,
            addresses_len,
            proto: a.proto,
            resolver: a.resolver,
            client: a.client,
        });
        self.text.push_str(a.name);
        self.addresses.extend_from_slice(a.addresses);
    }

    /// Folds the sightings of each answer into its first place in the
    /// list, counts those past the ceiling as dropped, and prunes to the
    /// limit. Linear in the list: done when it holds twice the limit, so
    /// each sighting pays for it once, and when the store is settled.
    fn fold(&mut self) {
        let mut index: HashTable<(u64, u32)> = HashTable::with_capacity(self.list.len());
        let mut keep = vec![true; self.list.len()];
        let mut dropped = 0u64;
        for (i, keep) in keep.iter_mut().enumerate() {
            let a = self.view(&self.list[i]);
            // Folded before: neither past the ceiling nor among the others.
            if i < self.distinct {
                let key = a.key_hash();
                index.insert_unique(key, (key, i as u32), |e| e.0);
                continue;
            }
            if self.past_ceiling(&a) {
                dropped = dropped.saturating_add(self.list[i].count);
                *keep = false;
                continue;
            }
            let key = a.key_hash();
            let list = &self.list;
            let found = index.find(key, |&(k, j)| k == key && self.view(&list[j as usize]) == a);
            match found {
                Some(&(_, j)) => {
                    let n = self.list[i].seen();
                    self.list[j as usize].add(n);
                    *keep = false;
                }
                None => {
                    index.insert_unique(key, (key, i as u32), |e| e.0);
                }
            }
        }
        drop(index);
        self.dropped = self.dropped.saturating_add(dropped);
        let mut kept = keep.into_iter();
        self.list.retain(|_| kept.next().unwrap_or(false));
        self.distinct = self.list.len();
        self.prune();
        let live: usize = self.list.iter().map(|e| usize::from(e.text_len)).sum();
        if self.text.len() > 2 * live.max(1 << 16) {
            self.repack();
        }
    }

    /// Keeps the first [`MAX_DNS_ANSWERS`] of distinct answers in order
    /// and counts the rest; the last kept becomes the ceiling.
    fn prune(&mut self) {
        if self.list.len() <= MAX_DNS_ANSWERS {
            return;
        }
        // The last kept, found among the names' hashes (the answers are
        // read only where two are equal); the store then keeps what is
        // not past it, in the order it had. Names and addresses stay
        // where they are in the buffers (the dropped ones' until the
        // buffers are mostly theirs): the last prune of a run, the one
        // `settle` makes, copies none.
        let mut all = self.hashes();
        let (_, &mut (_, last), _) = all.select_nth_unstable_by(MAX_DNS_ANSWERS - 1, self.order());
        drop(all);
        self.ceiling = Some(self.view(&self.list[last as usize]).to_owned());
        let mut list = std::mem::take(&mut self.list);
        let mut dropped = 0u64;
        list.retain(|e| {
            let past = self.past_ceiling(&self.view(e));
            if past {
                dropped = dropped.saturating_add(e.count);
            }
            !past
        });
        self.dropped = self.dropped.saturating_add(dropped);
        self.list = list;
        self.distinct = self.list.len();
    }

    /// Copies the names and addresses of the answers kept into buffers of
    /// their own, leaving those of the answers dropped.
    fn repack(&mut self) {
        let (old_text, old_addresses) = (
            std::mem::take(&mut self.text),
            std::mem::take(&mut self.addresses),
        );
        for e in &mut self.list {
            let (t, a) = (e.text as usize, e.addresses as usize);
            // Offsets fit: the kept are fewer than what the buffers held.
            e.text = self.text.len() as u32;
            self.text
                .push_str(&old_text[t..t + usize::from(e.text_len)]);
            e.addresses = self.addresses.len() as u32;
            self.addresses
                .extend_from_slice(&old_addresses[a..a + usize::from(e.addresses_len)]);
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

    /// Each answer once, down to the limit: what is read from a store is
    /// settled first.
    pub fn settle(&mut self) {
        if !self.is_settled() {
            self.fold();
        }
    }

    /// Whether each answer is in the list once, and no more than the
    /// limit: what [`Answers::iter`] and [`Answers::sorted`] ask.
    pub fn is_settled(&self) -> bool {
        self.distinct == self.list.len() && self.list.len() <= MAX_DNS_ANSWERS
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
                // Some of the list may be past it now.
                self.distinct = 0;
            }
        }
        self.dropped = self.dropped.saturating_add(o.dropped);
        let room = (o.list.len()).min((2 * MAX_DNS_ANSWERS).saturating_sub(self.list.len()));
        self.list.reserve(room);
        self.text.reserve(o.text.len());
        self.addresses.reserve(o.addresses.len());
        for e in &o.list {
            self.see(o.view(e), e.seen());
        }
    }

    /// The answers kept, in no order, with their sightings (settle
    /// first); [`Answers::get`] finds each by its index here.
    pub fn iter(&self) -> impl Iterator<Item = (AnswerRef<'_>, Sightings)> {
        debug_assert!(self.is_settled(), "answers read before they are settled");
        self.list.iter().map(|e| (self.view(e), e.seen()))
    }

    /// The answer at `i` of [`Answers::iter`].
    pub fn get(&self, i: usize) -> AnswerRef<'_> {
        self.view(&self.list[i])
    }

    /// The answers kept, in order, with their sightings (settle first).
    pub fn sorted(&self) -> Vec<(AnswerRef<'_>, Sightings)> {
        debug_assert!(self.is_settled(), "answers read before they are settled");
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
        // Each kept answer once (sorted: a repeat would be next to it).
        assert!(kept.windows(2).all(|w| w[0] != w[1]));
    }

    /// A repeated answer is one, its first time the earliest.
    #[test]
    fn a_repeated_answer_is_counted_once_with_its_first_time() {
        let mut s = Answers::default();
        s.see(answer(1).as_ref(), once(30));
        s.see(answer(1).as_ref(), once(10));
        s.see(answer(2).as_ref(), once(20));
        assert!(!s.is_settled());
        s.settle();
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
