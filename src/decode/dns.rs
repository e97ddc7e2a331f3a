//! What a DNS answer says of server names ([`answers`]): the name a
//! client asked, and the addresses the answer gives for it through its
//! CNAME chain. Read only on payloads already heard as DNS replies, by a
//! walker that allocates nothing (`simple-dns`, which allocates every
//! section, name and label, tripled the decoding time of a DNS-heavy
//! capture); the tests hold it to `simple-dns`'s reading of the same
//! bytes.
//!
//! Only the asked name is written out as text. The names of the answer
//! records are compared by a 64-bit hash of their text ([`Key`]): a
//! record names the question's chain when its owner's hash is one of the
//! chain's. Two names of one reply with one hash would take 2^-64 odds,
//! or a reply crafted to collide, which only the resolver can send, and
//! the resolver can already say anything it likes of these addresses.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use arrayvec::ArrayVec;

use super::MAX_NAME;

/// The most addresses taken from one answer (a CDN's answer lists a
/// handful; the rest would name the same thing again).
pub const MAX_ANSWERS: usize = 16;

/// The most CNAME links followed from the question, and the most records
/// of the answer section read.
const MAX_CHAIN: usize = 16;
const MAX_RECORDS: usize = 64;

/// The most compression pointers followed in one name (RFC 1035 §4.1.4
/// pointers only go back; a loop is cut here).
const MAX_JUMPS: usize = 64;

/// A name as text: lower case, labels joined by dots, no root dot.
type Text = ArrayVec<u8, MAX_NAME>;

/// A host name of one reply, as the FNV-1a hash of its text (lower case,
/// dots between labels): what the records' names are compared by.
type Key = u64;

/// The name a DNS reply asked: a host name of at most [`MAX_NAME`]
/// bytes, lower case, without the root's dot; read as a `str`. With the
/// hash of its text the walker compared it by ([`Asked::hash`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asked(Text, Key);

impl Asked {
    /// The FNV-1a hash of the name's text, as [`crate::rpc::name_hash`]
    /// makes it: found while reading, not computed again.
    pub fn hash(&self) -> u64 {
        self.1
    }
}

impl std::ops::Deref for Asked {
    type Target = str;

    fn deref(&self) -> &str {
        std::str::from_utf8(&self.0).expect("host-name bytes are ASCII")
    }
}

impl std::fmt::Display for Asked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

/// The name the first question of a DNS reply `message` asked (lower
/// case, without the root's dot) and the A and AAAA addresses the reply
/// gives for it, directly or through CNAME records. `None` for a reply
/// that gives none, is an error (RCODE not 0), cannot be read, or names
/// what is no host name.
pub fn answers(message: &[u8]) -> Option<(Asked, ArrayVec<IpAddr, MAX_ANSWERS>)> {
    let word = |at: usize| -> Option<u16> {
        let b = message.get(at..at + 2)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    };
    let flags = word(2)?;
    let (questions, records) = (word(4)?, word(6)?);
    // A response (QR), RCODE 0, a question and an answer.
    if flags & 0x8000 == 0 || flags & 0x000f != 0 || questions == 0 || records == 0 {
        return None;
    }
    // The question's name, written out and hashed in one walk.
    let (asked, after) = question(message)?;
    let (text, asked_key) = asked?;
    let mut keys = Keys::default();
    keys.seen.push((12, Some(asked_key)));
    let mut at = after + 4;
    for _ in 1..questions {
        at = keys.of(message, at)?.1 + 4;
    }
    let mut links: ArrayVec<(Key, Key), MAX_CHAIN> = ArrayVec::new();
    let mut addrs: ArrayVec<(Key, IpAddr), MAX_RECORDS> = ArrayVec::new();
    for _ in 0..usize::from(records).min(MAX_RECORDS) {
        let (owner, end) = keys.of(message, at)?;
        let (kind, len) = (word(end)?, usize::from(word(end + 8)?));
        let data = end + 10;
        let rdata = message.get(data..data + len)?;
        at = data + len;
        let Some(owner) = owner else { continue };
        match (kind, rdata.len()) {
            (1, 4) => {
                let a = Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3]);
                let _ = addrs.try_push((owner, IpAddr::V4(a)));
            }
            (28, 16) => {
                let a: [u8; 16] = rdata.try_into().expect("16 bytes");
                let _ = addrs.try_push((owner, IpAddr::V6(Ipv6Addr::from(a))));
            }
            (5, _) => {
                if let Some((Some(target), _)) = keys.of(message, data) {
                    let _ = links.try_push((owner, target));
                }
            }
            _ => {}
        }
    }
    // The names the question reaches: itself, then CNAME targets.
    let mut chain: ArrayVec<Key, MAX_CHAIN> = ArrayVec::new();
    chain.push(asked_key);
    for _ in 0..MAX_CHAIN {
        let before = chain.len();
        for (owner, target) in &links {
            if chain.contains(owner) && !chain.contains(target) && chain.try_push(*target).is_err()
            {
                break;
            }
        }
        if chain.len() == before {
            break;
        }
    }
    let mut found = ArrayVec::new();
    for (owner, addr) in &addrs {
        if chain.contains(owner) && !found.contains(addr) && found.try_push(*addr).is_err() {
            break;
        }
    }
    if found.is_empty() {
        return None;
    }
    Some((Asked(text, asked_key), found))
}

/// The name of a reply's first question as text and its key (`None` when
/// it is no host name, as for [`key`]), and where the bytes after it
/// begin; `None` when it cannot be read at all.
fn question(message: &[u8]) -> Option<(Option<(Text, Key)>, usize)> {
    let mut text = Text::new();
    let mut host = true;
    let end = walk(message, 12, |label| {
        let dot = usize::from(!text.is_empty());
        host = host && text.len() + dot + label.len() <= MAX_NAME && label.iter().all(host_byte);
        if host {
            if dot == 1 {
                text.push(b'.');
            }
            let from = text.len();
            text.try_extend_from_slice(label).expect("checked to fit");
            text[from..].make_ascii_lowercase();
        }
    })?;
    if !host || text.is_empty() {
        return Some((None, end));
    }
    let hash =
        crate::rpc::name_hash(std::str::from_utf8(&text).expect("host-name bytes are ASCII"));
    Some((Some((text, hash)), end))
}

/// A byte a host name's label may hold.
fn host_byte(b: &u8) -> bool {
    b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_'
}

/// The names of one reply read so far, by where they begin: the owner of
/// an answer record is most often a pointer to the question, read once.
#[derive(Default)]
struct Keys {
    seen: ArrayVec<(usize, Option<Key>), 8>,
}

impl Keys {
    /// The key of the name at `at` of `message` (`None` when it is no
    /// host name: empty, longer than [`MAX_NAME`], or with a byte other
    /// than letters, digits, `-` and `_` in a label), and where the bytes
    /// after it begin; `None` when it cannot be read at all.
    fn of(&mut self, message: &[u8], at: usize) -> Option<(Option<Key>, usize)> {
        // A name that is a pointer alone is the name it points to.
        let &first = message.get(at)?;
        let (from, end) = if first >> 6 == 3 {
            let to = u16::from_be_bytes([first, *message.get(at + 1)?]) & 0x3fff;
            (usize::from(to), Some(at + 2))
        } else {
            (at, None)
        };
        if let Some(&(_, key)) = self.seen.iter().find(|(f, _)| *f == from) {
            if let Some(end) = end {
                return Some((key, end));
            }
        }
        let (key, after) = key(message, from)?;
        if self.seen.is_full() {
            self.seen.remove(0);
        }
        self.seen.push((from, key));
        Some((key, end.unwrap_or(after)))
    }
}

/// The key of the name at `at` (see [`Keys::of`]) and where the bytes
/// after it begin.
fn key(message: &[u8], at: usize) -> Option<(Option<Key>, usize)> {
    // FNV-1a, as [`crate::rpc::name_hash`] makes it, a label at a time.
    const BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = BASIS;
    let mut len = 0;
    let mut host = true;
    let end = walk(message, at, |label| {
        let dot = usize::from(len > 0);
        host = host && len + dot + label.len() <= MAX_NAME;
        if !host {
            return;
        }
        if dot == 1 {
            hash = (hash ^ u64::from(b'.')).wrapping_mul(PRIME);
        }
        // Checked and hashed in one pass over the label.
        for b in label {
            if !host_byte(b) {
                host = false;
                return;
            }
            hash = (hash ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(PRIME);
        }
        len += dot + label.len();
    })?;
    Some(((host && len > 0).then_some(hash), end))
}

/// Walks the name at `at` of `message`, through its compression
/// pointers, handing `label` each label; where the bytes after the name
/// begin, or `None` when it cannot be read.
fn walk(message: &[u8], mut at: usize, mut label: impl FnMut(&[u8])) -> Option<usize> {
    let mut end = None;
    for _ in 0..MAX_JUMPS {
        loop {
            let len = *message.get(at)?;
            match len >> 6 {
                // A pointer: the rest of the name is elsewhere.
                3 => {
                    let to = usize::from(u16::from_be_bytes([len, *message.get(at + 1)?]) & 0x3fff);
                    end.get_or_insert(at + 2);
                    at = to;
                    break;
                }
                0 if len == 0 => return Some(end.unwrap_or(at + 1)),
                0 => {
                    label(message.get(at + 1..at + 1 + usize::from(len))?);
                    at += 1 + usize::from(len);
                }
                // Label types 01 and 10 (RFC 6891 §5): not read.
                _ => return None,
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `simple-dns` reads of `message` as [`answers`] reports it:
    /// the reference the walker is held to.
    fn reference(message: &[u8]) -> Option<(String, Vec<IpAddr>)> {
        use simple_dns::rdata::RData;
        use simple_dns::{Name, Packet, RCODE};
        let host = |name: &Name<'_>| -> Option<String> {
            let text = name.to_string().to_ascii_lowercase();
            let ok = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.';
            (!text.is_empty() && text.len() <= MAX_NAME && text.bytes().all(ok)).then_some(text)
        };
        let packet = Packet::parse(message).ok()?;
        if packet.rcode() != RCODE::NoError || packet.answers.is_empty() {
            return None;
        }
        let asked = host(&packet.questions.first()?.qname)?;
        let mut chain = vec![asked.clone()];
        for _ in 0..MAX_CHAIN {
            let before = chain.len();
            for r in &packet.answers {
                if let RData::CNAME(t) = &r.rdata {
                    if let (Some(o), Some(t)) = (host(&r.name), host(&t.0)) {
                        if chain.contains(&o) && !chain.contains(&t) {
                            chain.push(t);
                        }
                    }
                }
            }
            if chain.len() == before {
                break;
            }
        }
        let mut addrs = Vec::new();
        for r in &packet.answers {
            let a = match &r.rdata {
                RData::A(a) => IpAddr::V4(Ipv4Addr::from(a.address)),
                RData::AAAA(a) => IpAddr::V6(Ipv6Addr::from(a.address)),
                _ => continue,
            };
            if host(&r.name).is_some_and(|n| chain.contains(&n)) && !addrs.contains(&a) {
                addrs.push(a);
            }
        }
        (!addrs.is_empty()).then_some((asked, addrs))
    }

    /// A reply to `asked` with `records` (owner, type, rdata) in its
    /// answer section, compressed nowhere.
    fn reply(rcode: u8, asked: &str, records: &[(&str, u16, Vec<u8>)]) -> Vec<u8> {
        let name = |n: &str| {
            let mut b = Vec::new();
            for l in n.split('.').filter(|l| !l.is_empty()) {
                b.push(l.len() as u8);
                b.extend_from_slice(l.as_bytes());
            }
            b.push(0);
            b
        };
        let mut m = vec![0x12, 0x34, 0x81, 0x80 | rcode, 0, 1];
        m.extend_from_slice(&(records.len() as u16).to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0]);
        m.extend(name(asked));
        m.extend_from_slice(&[0, 1, 0, 1]);
        for (owner, kind, data) in records {
            m.extend(name(owner));
            m.extend_from_slice(&kind.to_be_bytes());
            m.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
            let data = if *kind == 5 {
                name(std::str::from_utf8(data).unwrap())
            } else {
                data.clone()
            };
            m.extend_from_slice(&(data.len() as u16).to_be_bytes());
            m.extend(data);
        }
        m
    }

    #[test]
    fn an_answer_names_its_addresses_through_its_cnames() {
        let m = reply(
            0,
            "Outlook.Office365.com",
            &[
                (
                    "outlook.office365.com",
                    5,
                    b"outlook.ha.office365.com".to_vec(),
                ),
                ("outlook.ha.office365.com", 5, b"edge.example.net".to_vec()),
                ("edge.example.net", 1, vec![203, 0, 113, 7]),
                ("edge.example.net", 28, [0x20, 0x01, 0x0d, 0xb8].repeat(4)),
                ("unrelated.example", 1, vec![198, 51, 100, 1]),
            ],
        );
        assert_eq!(
            answers(&m).map(|(n, a)| (n.to_string(), a.to_vec())),
            reference(&m)
        );
        let (name, addrs) = answers(&m).unwrap();
        assert_eq!(&*name, "outlook.office365.com");
        assert_eq!(
            addrs.as_slice(),
            [
                "203.0.113.7".parse::<IpAddr>().unwrap(),
                "2001:db8:2001:db8:2001:db8:2001:db8".parse().unwrap()
            ]
        );
    }

    #[test]
    fn errors_and_answers_without_addresses_name_nothing() {
        assert_eq!(answers(&reply(3, "nx.example", &[])), None);
        assert_eq!(answers(&reply(0, "empty.example", &[])), None);
        let cname_only = reply(0, "a.example", &[("a.example", 5, b"b.example".to_vec())]);
        assert_eq!(answers(&cname_only), None);
        assert_eq!(answers(&[0x12, 0x34, 0x81]), None);
    }

    /// Compressed names (RFC 1035 §4.1.4), as resolvers write them: owners
    /// that point to the question or to a CNAME's target, and a target
    /// that ends in a pointer.
    #[test]
    fn compressed_names_read_as_simple_dns_reads_them() {
        let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 4, 0, 0, 0, 0];
        // 12: "WWW.example.com" (the question; "example.com" at 16).
        m.extend_from_slice(b"\x03WWW\x07example\x03com\x00\x00\x01\x00\x01");
        // www CNAME edge.example.com: the target's "edge" at 12 + 21 + 12.
        m.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 7]);
        let edge = m.len();
        m.extend_from_slice(&[4, b'e', b'd', b'g', b'e', 0xc0, 16]);
        // edge A 192.0.2.1, www A 192.0.2.2, example.com A 192.0.2.3.
        for (owner, last) in [(edge as u8, 1), (12, 2), (16, 3)] {
            m.extend_from_slice(&[0xc0, owner, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, last]);
        }
        let ours = answers(&m).map(|(n, a)| (n.to_string(), a.to_vec()));
        assert_eq!(ours, reference(&m));
        let (name, addrs) = ours.unwrap();
        assert_eq!(name, "www.example.com");
        let want: Vec<IpAddr> = vec!["192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap()];
        assert_eq!(addrs, want);
    }

    /// A reply of up to eight records among a few names (one not a host
    /// name, one in capitals) and addresses, CNAMEs and a TXT.
    fn structured() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let names = || {
            proptest::sample::select(vec![
                "a.example",
                "B.Example",
                "b.example",
                "c.example",
                "bad name.example",
            ])
        };
        let record = (
            names(),
            proptest::sample::select(vec![1u16, 5, 16, 28]),
            names(),
            0u8..3,
        );
        (0u8..2, names(), proptest::collection::vec(record, 0..8)).prop_map(|(rc, asked, recs)| {
            let recs: Vec<(&str, u16, Vec<u8>)> = recs
                .into_iter()
                .map(|(owner, kind, target, n)| {
                    let data = match kind {
                        1 => vec![10, 0, 0, n],
                        28 => [0x20, 0x01, 0x0d, n].repeat(4),
                        5 => target.as_bytes().to_vec(),
                        _ => b"\x03txt".to_vec(),
                    };
                    (owner, kind, data)
                })
                .collect();
            reply(rc * 3, asked, &recs)
        })
    }

    proptest::proptest! {
        /// Built replies read as `simple-dns` reads them.
        #[test]
        fn replies_read_as_simple_dns_reads_them(m in structured()) {
            let ours = answers(&m).map(|(n, a)| (n.to_string(), a.to_vec()));
            proptest::prop_assert_eq!(ours, reference(&m));
            // The hash found while reading is the name's own.
            if let Some((name, _)) = answers(&m) {
                proptest::prop_assert_eq!(name.hash(), crate::rpc::name_hash(&name));
            }
        }

        /// Any bytes: an answer or none, never a panic, names bounded.
        #[test]
        fn any_bytes_read_without_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            if let Some((name, addrs)) = answers(&bytes) {
                proptest::prop_assert!(!name.is_empty() && name.len() <= MAX_NAME);
                proptest::prop_assert!(!addrs.is_empty());
            }
        }
    }
}
