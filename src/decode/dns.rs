//! What a DNS answer says of server names ([`answers`]): the name a
//! client asked, and the addresses the answer gives for it through its
//! CNAME chain. Read only on payloads already heard as DNS replies, by a
//! walker that allocates nothing but the name it returns (`simple-dns`,
//! which allocates every section, name and label, tripled the decoding
//! time of a DNS-heavy capture); the tests hold it to `simple-dns`'s
//! reading of the same bytes.

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

/// The name the first question of a DNS reply `message` asked (lower
/// case, without the root's dot) and the A and AAAA addresses the reply
/// gives for it, directly or through CNAME records. `None` for a reply
/// that gives none, is an error (RCODE not 0), cannot be read, or names
/// what is no host name.
pub fn answers(message: &[u8]) -> Option<(String, ArrayVec<IpAddr, MAX_ANSWERS>)> {
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
    let (asked, mut at) = name(message, 12)?;
    at += 4;
    for _ in 1..questions {
        at = name(message, at)?.1 + 4;
    }
    let mut links: ArrayVec<(Text, Text), MAX_CHAIN> = ArrayVec::new();
    let mut addrs: ArrayVec<(Text, IpAddr), MAX_RECORDS> = ArrayVec::new();
    for _ in 0..usize::from(records).min(MAX_RECORDS) {
        let (owner, end) = name_or_skip(message, at)?;
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
                if let Some((target, _)) = name(message, data) {
                    let _ = links.try_push((owner, target));
                }
            }
            _ => {}
        }
    }
    // The names the question reaches: itself, then CNAME targets.
    let mut chain: ArrayVec<&Text, MAX_CHAIN> = ArrayVec::new();
    chain.push(&asked);
    for _ in 0..MAX_CHAIN {
        let before = chain.len();
        for (owner, target) in &links {
            if chain.contains(&owner) && !chain.contains(&target) && chain.try_push(target).is_err()
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
        if chain.contains(&owner) && !found.contains(addr) && found.try_push(*addr).is_err() {
            break;
        }
    }
    let asked = String::from_utf8(asked.to_vec()).expect("host-name bytes are ASCII");
    (!found.is_empty()).then_some((asked, found))
}

/// The host name at `at` of `message` and where the bytes after it
/// begin; `None` when it cannot be read or is no host name.
fn name(message: &[u8], at: usize) -> Option<(Text, usize)> {
    match name_or_skip(message, at)? {
        (Some(text), end) => Some((text, end)),
        (None, _) => None,
    }
}

/// The name at `at` of `message` (`None` when it is no host name: empty,
/// longer than [`MAX_NAME`], or with a byte other than letters, digits,
/// `-` and `_` in a label), and where the bytes after it begin; `None`
/// when it cannot be read at all.
fn name_or_skip(message: &[u8], mut at: usize) -> Option<(Option<Text>, usize)> {
    let mut text = Text::new();
    let mut host = true;
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
                0 if len == 0 => {
                    let end = end.unwrap_or(at + 1);
                    return Some(((host && !text.is_empty()).then_some(text), end));
                }
                0 => {
                    let label = message.get(at + 1..at + 1 + usize::from(len))?;
                    at += 1 + usize::from(len);
                    if !host {
                        continue;
                    }
                    let ok = |b: &u8| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_';
                    host = label.iter().all(ok)
                        && (text.is_empty() || text.try_push(b'.').is_ok())
                        && text.try_extend_from_slice(label).is_ok();
                    text.make_ascii_lowercase();
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
        assert_eq!(answers(&m).map(|(n, a)| (n, a.to_vec())), reference(&m));
        let (name, addrs) = answers(&m).unwrap();
        assert_eq!(name, "outlook.office365.com");
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
            let ours = answers(&m).map(|(n, a)| (n, a.to_vec()));
            proptest::prop_assert_eq!(ours, reference(&m));
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
