//! What the run learned, resolved ([`Knowledge`]): the ports each mapper
//! announced to each client, and the services each connection named.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use super::answers::Answers;
use super::inspect::Shown;
use super::learned::{Learned, Sightings};
use super::{Mapper, Service};
use crate::capture::Timestamp;

/// One port a mapper announced to one client.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Announcement {
    pub server: IpAddr,
    pub proto: u8,
    pub port: u16,
    pub service: Service,
    pub mapper: Mapper,
    /// The mapper that answered (`server`, unless the answer named
    /// another address of the server).
    pub mapper_addr: IpAddr,
    /// Who asked.
    pub client: IpAddr,
    /// The first answer's time, and how many answers said it.
    pub first: Option<Timestamp>,
    pub count: u64,
}

/// What a connection is known to be: the services its own binds or calls
/// named, and the announcements of its port to its client.
#[derive(Debug, Default)]
pub struct Attribution<'k> {
    pub bound: Vec<Service>,
    pub announced: Vec<(usize, &'k Announcement)>,
}

impl Attribution<'_> {
    /// What the connection speaks: what it said itself, else what was
    /// announced on its port.
    pub fn services(&self) -> Vec<Service> {
        if !self.bound.is_empty() {
            return self.bound.clone();
        }
        let mut s: Vec<Service> = self.announced.iter().map(|(_, a)| a.service).collect();
        s.sort_unstable();
        s.dedup();
        s
    }

    pub fn is_empty(&self) -> bool {
        self.bound.is_empty() && self.announced.is_empty()
    }

    /// For `--flows`: the services, and the first announcement's time.
    pub fn describe(&self) -> String {
        let services: Vec<String> = self.services().iter().map(Service::to_string).collect();
        let mut text = services.join("; ");
        match self
            .announced
            .iter()
            .map(|(_, a)| a)
            // The earliest timed answer; an untimed one only when no other.
            .min_by_key(|a| (a.first.is_none(), a.first))
        {
            Some(a) => {
                text.push_str(&format!(
                    " announced by {} {}",
                    a.mapper.label(),
                    a.mapper_addr
                ));
                if let Some(t) = a.first {
                    text.push_str(&format!(" at {t}"));
                }
            }
            None if self.bound.iter().any(Service::is_dcom_object) => text
                .push_str(" (its own bind: a DCOM object's port, handed out by DCOM activation)"),
            None if self
                .bound
                .iter()
                .any(|s| matches!(s, Service::Program { .. })) =>
            {
                text.push_str(" (its own call, not announced)")
            }
            None if !self.bound.is_empty() => text.push_str(" (its own bind, not announced)"),
            None => {}
        }
        text
    }
}

/// Key of the services one connection named: (proto, client, client
/// port, server, server port).
type ConnKey = (u8, IpAddr, u16, IpAddr, u16);

/// Everything the run learned, resolved: the announcements, and what
/// each connection named.
#[derive(Debug, Default)]
pub struct Knowledge {
    pub announcements: Vec<Announcement>,
    by_port: HashMap<(IpAddr, u8, u16), Vec<usize>, ahash::RandomState>,
    named: HashMap<ConnKey, Vec<Service>, ahash::RandomState>,
    pub mappers: BTreeSet<(IpAddr, Mapper)>,
    /// Flows each announcement allowed.
    used: Vec<AtomicU64>,
    pub unreadable: BTreeMap<String, u64>,
    pub dropped: u64,
    /// Portmapper replies no call of the capture explains.
    pub unpaired_replies: u64,
    /// DNS answers not learned, past [`super::MAX_DNS_ANSWERS`].
    pub answers_dropped: u64,
    dns: DnsNames,
}

/// The names DNS answers gave addresses: one answer per row, by address,
/// then in the order of [`Knowledge::dns_name`]'s choice (by time, and
/// among names of one time the first in [`Seen`]'s order last). A column
/// each, so that the search by time reads only times.
#[derive(Debug, Default)]
struct DnsNames {
    /// Where each address's rows are.
    rows: HashMap<IpAddr, (u32, u32), ahash::RandomState>,
    /// When the answer was first seen.
    at: Vec<Timestamp>,
    /// The time of every [`BLOCK`]th row: what a search reads first, small
    /// enough to stay in cache, before the block of rows it points to.
    coarse: Vec<Timestamp>,
    /// To which client: an index into `clients`, so that the search for
    /// a flow's own client reads four bytes a row.
    client: Vec<u32>,
    /// The clients' indices.
    clients: HashMap<IpAddr, u32, ahash::RandomState>,
    /// The answer, an index into `answers`.
    name: Vec<u32>,
    /// The answers the rows are of.
    answers: Answers,
}

/// Rows per entry of [`DnsNames::coarse`].
const BLOCK: usize = 16;

impl DnsNames {
    /// The rows of the timed `answers` (settled), which it keeps: their
    /// names are read from it, neither copied nor freed here.
    fn of(answers: Answers) -> DnsNames {
        // Rows are grouped by address (in order of first sight: where an
        // address's rows lie changes no search), then each address's are
        // sorted by time and, within a time, by the answer's place in
        // order backwards: distinct keys, as an answer gives an address
        // once, so the order is the same whatever the store's. A store
        // lists its answers about in the order they came: an address's
        // rows, written in the store's order, are mostly in order already,
        // and only a group that is not is sorted.
        let timed =
            || (answers.iter().enumerate()).filter_map(|(i, (a, n))| Some((i as u32, a, n.first?)));
        let mut group_of: HashMap<IpAddr, u32, ahash::RandomState> = HashMap::default();
        let mut counts: Vec<u32> = Vec::new();
        // The group of each row, in the order rows are written.
        let mut group: Vec<u32> = Vec::new();
        for (_, a, _) in timed() {
            for address in a.addresses.iter() {
                let next = group_of.len() as u32;
                let g = *group_of.entry(*address).or_insert(next);
                if g as usize == counts.len() {
                    counts.push(0);
                }
                counts[g as usize] += 1;
                group.push(g);
            }
        }
        let mut starts: Vec<u32> = Vec::with_capacity(counts.len() + 1);
        let mut total = 0u32;
        for c in &counts {
            starts.push(total);
            total += c;
        }
        starts.push(total);
        let mut d = DnsNames {
            at: vec![Timestamp(0); total as usize],
            name: vec![0; total as usize],
            client: vec![0; total as usize],
            ..DnsNames::default()
        };
        let mut fill = starts.clone();
        let mut row_groups = group.into_iter();
        for (i, a, t) in timed() {
            let next = d.clients.len() as u32;
            let client = *d.clients.entry(a.client).or_insert(next);
            for g in row_groups.by_ref().take(a.addresses.len()) {
                let row = fill[g as usize] as usize;
                (d.at[row], d.name[row], d.client[row]) = (t, i, client);
                fill[g as usize] += 1;
            }
        }
        // Each group's rows, in the three columns.
        let mut groups = Vec::with_capacity(counts.len());
        let (mut at, mut name, mut client) = (&mut d.at[..], &mut d.name[..], &mut d.client[..]);
        for &c in &counts {
            let c = c as usize;
            let (a, rest_at) = std::mem::take(&mut at).split_at_mut(c);
            let (n, rest_name) = std::mem::take(&mut name).split_at_mut(c);
            let (k, rest_client) = std::mem::take(&mut client).split_at_mut(c);
            groups.push((a, n, k));
            (at, name, client) = (rest_at, rest_name, rest_client);
        }
        let order = |x: (Timestamp, u32), y: (Timestamp, u32)| {
            x.0.cmp(&y.0)
                .then_with(|| answers.get(y.1 as usize).cmp(&answers.get(x.1 as usize)))
        };
        groups.par_iter_mut().for_each(|(at, name, client)| {
            let key = |r: usize| (at[r], name[r]);
            if (1..at.len()).all(|r| order(key(r - 1), key(r)).is_le()) {
                return;
            }
            let mut rows: Vec<usize> = (0..at.len()).collect();
            rows.sort_unstable_by(|&x, &y| order(key(x), key(y)));
            let sorted: Vec<(Timestamp, u32, u32)> =
                rows.iter().map(|&r| (at[r], name[r], client[r])).collect();
            for (r, (t, n, c)) in sorted.into_iter().enumerate() {
                (at[r], name[r], client[r]) = (t, n, c);
            }
        });
        drop(groups);
        d.rows = (group_of.into_iter())
            .map(|(address, g)| (address, (starts[g as usize], starts[g as usize + 1])))
            .collect();
        d.coarse = d.at.iter().step_by(BLOCK).copied().collect();
        d.answers = answers;
        d
    }

    /// The end of the rows of `from..to` (one address's) seen at or
    /// before `at`.
    fn end_at(&self, from: usize, to: usize, at: Timestamp) -> usize {
        // The blocks that start within the rows, by their first time.
        let (first, last) = (from.div_ceil(BLOCK), to / BLOCK);
        let (lo, hi) = if first < last {
            let k = self.coarse[first..last].partition_point(|t| *t <= at);
            let lo = if k == 0 {
                from
            } else {
                (first + k - 1) * BLOCK
            };
            let hi = if first + k < last {
                (first + k) * BLOCK
            } else {
                to
            };
            (lo, hi)
        } else {
            (from, to)
        };
        lo + self.at[lo..hi].partition_point(|t| *t <= at)
    }
}

/// How many of the latest answers before a flow are searched for one to
/// its own client.
const OWN_ANSWERS: usize = 32;

impl Knowledge {
    /// Resolves what the inputs taught.
    pub fn of(mut all: Learned) -> Knowledge {
        all.settle();
        let mut k = Knowledge {
            mappers: all.mappers,
            unreadable: all.unreadable,
            dropped: all.dropped,
            ..Knowledge::default()
        };
        // (server, proto, port, service, mapper, client, the mapper's own
        // address): what answered, to whom.
        type Key = (IpAddr, u8, u16, Service, Mapper, IpAddr, IpAddr);
        let mut announced: BTreeMap<Key, Sightings> = BTreeMap::new();
        // A port is announced on the mapper's own address (clients connect
        // to the host they asked), and on the address the answer names
        // when it is another of the same family (a multi-homed server).
        let servers = |mapper_addr: IpAddr, named: Option<IpAddr>| {
            let other = named.filter(|ip| {
                !ip.is_unspecified() && *ip != mapper_addr && ip.is_ipv4() == mapper_addr.is_ipv4()
            });
            std::iter::once(mapper_addr).chain(other)
        };
        // Portmapper calls by (proto, client, port, server, xid): the
        // mapper's version, the program and version asked, the transport.
        type Call = (u32, u32, u32, Option<u8>);
        let mut calls: HashMap<(u8, IpAddr, u16, IpAddr, u32), Call> = HashMap::new();
        for s in all.seen.keys() {
            if let Shown::MapperCall {
                xid,
                version,
                program,
                program_version,
                proto,
            } = s.shown
            {
                calls.insert(
                    (s.proto, s.src, s.sport, s.dst, xid),
                    (version, program, program_version, proto),
                );
            }
        }
        k.answers_dropped = all.answers.dropped;
        let answers = std::mem::take(&mut all.answers);
        for (s, n) in &all.seen {
            match s.shown {
                // Kept apart, in `all.answers`.
                Shown::DnsAnswer { .. } => {}
                Shown::Tower {
                    interface,
                    proto,
                    port,
                    ip,
                } => {
                    if port == 0 {
                        continue;
                    }
                    for server in servers(s.src, ip.map(IpAddr::V4)) {
                        let service = Service::Interface(interface);
                        announced
                            .entry((server, proto, port, service, Mapper::Epm, s.dst, s.src))
                            .or_default()
                            .add(*n);
                    }
                }
                Shown::Bind { interface } => {
                    k.named
                        .entry((s.proto, s.src, s.sport, s.dst, s.dport))
                        .or_default()
                        .push(Service::Interface(interface));
                }
                Shown::Call { program, version } => {
                    k.named
                        .entry((s.proto, s.src, s.sport, s.dst, s.dport))
                        .or_default()
                        .push(Service::Program {
                            number: program,
                            version,
                        });
                }
                Shown::MapperCall { version, .. } => {
                    // The portmapper's own connection names its client too.
                    k.named
                        .entry((s.proto, s.src, s.sport, s.dst, s.dport))
                        .or_default()
                        .push(Service::Program {
                            number: super::PORTMAP_PROGRAM,
                            version,
                        });
                }
                Shown::MapperReply {
                    xid,
                    word,
                    port,
                    ip,
                } => {
                    let Some(&(version, program, program_version, proto)) =
                        calls.get(&(s.proto, s.dst, s.dport, s.src, xid))
                    else {
                        k.unpaired_replies = k.unpaired_replies.saturating_add(n.count);
                        continue;
                    };
                    let (port, named) = if version == 2 {
                        (word.and_then(|w| u16::try_from(w).ok()), None)
                    } else {
                        (port, ip)
                    };
                    let (Some(port), Some(proto)) = (port.filter(|&p| p != 0), proto) else {
                        continue;
                    };
                    let service = Service::Program {
                        number: program,
                        version: program_version,
                    };
                    for server in servers(s.src, named) {
                        announced
                            .entry((server, proto, port, service, Mapper::Portmap, s.dst, s.src))
                            .or_default()
                            .add(*n);
                    }
                }
            }
        }
        for v in k.named.values_mut() {
            v.sort_unstable();
            v.dedup();
        }
        k.dns = DnsNames::of(answers);
        for ((server, proto, port, service, mapper, client, mapper_addr), n) in announced {
            k.by_port
                .entry((server, proto, port))
                .or_default()
                .push(k.announcements.len());
            k.announcements.push(Announcement {
                server,
                proto,
                port,
                service,
                mapper,
                mapper_addr,
                client,
                first: n.first,
                count: n.count,
            });
        }
        k.used = k.announcements.iter().map(|_| AtomicU64::new(0)).collect();
        k
    }

    /// The name DNS gave `server` for a flow from `client` that began
    /// `at`: of the answers seen before then, the latest to first give a
    /// name (among names of one time, the first in order); but an answer
    /// to `client` itself among the [`OWN_ANSWERS`] latest first (another
    /// host's answer may come from a shared resolver's cache, and a CDN's
    /// address serves many names). None for a flow without a time.
    pub fn dns_name(&self, server: IpAddr, client: IpAddr, at: Option<Timestamp>) -> Option<&str> {
        let at = at?;
        let d = &self.dns;
        let &(from, to) = d.rows.get(&server)?;
        let (from, to) = (from as usize, to as usize);
        let end = d.end_at(from, to, at);
        let recent = end.saturating_sub(OWN_ANSWERS).max(from)..end;
        let own = match d.clients.get(&client) {
            Some(&c) => recent.rev().find(|&i| d.client[i] == c),
            None => None,
        };
        let row = own.or((end > from).then(|| end - 1))?;
        Some(d.answers.get(d.name[row] as usize).name)
    }

    /// When a DNS answer first named `server`: [`Knowledge::dns_name`]
    /// gives a name to flows to it that began then or later.
    pub fn named_from(&self, server: IpAddr) -> Option<Timestamp> {
        let d = &self.dns;
        d.rows.get(&server).map(|&(from, _)| d.at[from as usize])
    }

    /// Whether any DNS answer named an address.
    pub fn has_dns_names(&self) -> bool {
        !self.dns.at.is_empty()
    }

    /// What is known of the connection from `client` (port `cport`) to
    /// `server`'s `port` over `proto` that ended at `last`: announcements
    /// by `mapper` to that client made before it ended.
    pub fn attribute(
        &self,
        mapper: Mapper,
        proto: u8,
        (client, cport): (IpAddr, u16),
        (server, port): (IpAddr, u16),
        last: Option<Timestamp>,
    ) -> Attribution<'_> {
        let bound = self
            .named
            .get(&(proto, client, cport, server, port))
            .cloned()
            .unwrap_or_default();
        let announced = self
            .by_port
            .get(&(server, proto, port))
            .into_iter()
            .flatten()
            .map(|&i| (i, &self.announcements[i]))
            .filter(|(_, a)| {
                a.mapper == mapper
                    && a.client == client
                    && match (a.first, last) {
                        (Some(f), Some(l)) => f <= l,
                        _ => true,
                    }
            })
            .collect();
        Attribution { bound, announced }
    }

    /// For `--flows`: the service the connection from `client` to
    /// `server` over `proto`, ended at `last`, spoke and the announcement
    /// of its port, from either mapper; `None` when nothing is known.
    pub fn describe(
        &self,
        proto: u8,
        client: (IpAddr, u16),
        server: (IpAddr, u16),
        last: Option<Timestamp>,
    ) -> Option<Box<str>> {
        if self.announcements.is_empty() && self.named.is_empty() {
            return None;
        }
        let of = |mapper| self.attribute(mapper, proto, client, server, last);
        let epm = of(Mapper::Epm);
        let att = match epm.announced.is_empty() {
            true => Some(of(Mapper::Portmap))
                .filter(|a| !a.announced.is_empty())
                .unwrap_or(epm),
            false => epm,
        };
        if att.is_empty() {
            return None;
        }
        // A mapper's own connection: what it binds to is the mapper.
        if Mapper::of_port(server.1).is_some() {
            let services: Vec<String> = att.services().iter().map(Service::to_string).collect();
            return Some(services.join("; ").into_boxed_str());
        }
        Some(att.describe().into_boxed_str())
    }

    /// Which end of the connection between `a` and `b` over `proto` said
    /// it was the client (sent a DCE/RPC bind or an ONC-RPC call): `Some(true)`
    /// for `a`, `Some(false)` for `b`, `None` when neither or both did.
    pub fn client_of(&self, proto: u8, a: (IpAddr, u16), b: (IpAddr, u16)) -> Option<bool> {
        if self.named.is_empty() {
            return None;
        }
        let asked = |c: (IpAddr, u16), s: (IpAddr, u16)| {
            self.named.contains_key(&(proto, c.0, c.1, s.0, s.1))
        };
        match (asked(a, b), asked(b, a)) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => None,
        }
    }

    /// Whether the captures hold traffic of `server`'s `mapper`.
    pub fn mapper_seen(&self, server: IpAddr, mapper: Mapper) -> bool {
        self.mappers.contains(&(server, mapper))
    }

    /// Counts a flow announcement `i` allowed.
    pub fn use_announcement(&self, i: usize) {
        self.used[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Flows announcement `i` allowed.
    pub fn used(&self, i: usize) -> u64 {
        self.used[i].load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.announcements.is_empty() && self.named.is_empty() && self.mappers.is_empty()
    }

    /// Connections that named their service (binds, calls).
    pub fn named_connections(&self) -> usize {
        self.named.len()
    }
}

#[cfg(test)]
mod tests {
    use super::super::dcerpc::{Interface, Uuid};
    use super::super::inspect::Seen;
    use super::super::learned::StoredLearned;
    use super::super::MAX_LEARNED;
    use super::super::{PROTO_TCP, PROTO_UDP};
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn netlogon() -> Interface {
        Interface {
            uuid: Uuid::parse("12345678-1234-abcd-ef00-01234567cffb").unwrap(),
            major: 1,
            minor: 0,
        }
    }

    fn seen(src: &str, sport: u16, dst: &str, dport: u16, shown: Shown) -> Seen {
        Seen {
            proto: PROTO_TCP,
            src: ip(src),
            sport,
            dst: ip(dst),
            dport,
            shown,
        }
    }

    fn once(t: i128) -> Sightings {
        Sightings {
            first: Some(Timestamp(t)),
            count: 1,
        }
    }

    /// A tower is announced to who asked, for the tower's address, and
    /// only to flows that end after it.
    #[test]
    fn towers_announce_to_who_asked_before_the_flow_ends() {
        let mut l = Learned::default();
        let tower = Shown::Tower {
            interface: netlogon(),
            proto: PROTO_TCP,
            port: 49674,
            ip: Some("10.0.0.1".parse().unwrap()),
        };
        l.add(seen("10.0.0.1", 135, "10.0.0.9", 50000, tower), once(100));
        l.mappers.insert((ip("10.0.0.1"), Mapper::Epm));
        let k = Knowledge::of(l);
        assert_eq!(k.announcements.len(), 1);
        let of = |client: &str, last: i128| {
            k.attribute(
                Mapper::Epm,
                PROTO_TCP,
                (ip(client), 50001),
                (ip("10.0.0.1"), 49674),
                Some(Timestamp(last)),
            )
            .announced
            .len()
        };
        assert_eq!(of("10.0.0.9", 200), 1);
        assert_eq!(of("10.0.0.9", 50), 0, "ended before the answer");
        assert_eq!(of("10.0.0.8", 200), 0, "announced to another client");
        assert!(k.mapper_seen(ip("10.0.0.1"), Mapper::Epm));
        assert!(!k.mapper_seen(ip("10.0.0.1"), Mapper::Portmap));
    }

    /// A portmapper reply is paired with its call by transaction id and
    /// ports; version 2 answers a port, version 3 a universal address.
    #[test]
    fn portmapper_replies_pair_with_their_calls() {
        let mut l = Learned::default();
        let call = |xid, version| Shown::MapperCall {
            xid,
            version,
            program: 100_005,
            program_version: 3,
            proto: Some(PROTO_UDP),
        };
        let (c, s) = ("10.0.0.2", "10.0.0.3");
        l.add(seen(c, 700, s, 111, call(1, 2)), once(1));
        l.add(
            seen(
                s,
                111,
                c,
                700,
                Shown::MapperReply {
                    xid: 1,
                    word: Some(1048),
                    port: None,
                    ip: None,
                },
            ),
            once(2),
        );
        l.add(seen(c, 701, s, 111, call(2, 3)), once(3));
        l.add(
            seen(
                s,
                111,
                c,
                701,
                Shown::MapperReply {
                    xid: 2,
                    word: Some(17),
                    port: Some(2049),
                    ip: Some(ip("10.0.0.4")),
                },
            ),
            once(4),
        );
        // No call explains it.
        l.add(
            seen(
                s,
                111,
                c,
                702,
                Shown::MapperReply {
                    xid: 3,
                    word: Some(5),
                    port: None,
                    ip: None,
                },
            ),
            once(5),
        );
        let k = Knowledge::of(l);
        let got: Vec<(IpAddr, u16)> = k.announcements.iter().map(|a| (a.server, a.port)).collect();
        // The v3 answer names another address of the server: announced
        // on both (clients connect to the host they asked).
        assert_eq!(got, [(ip(s), 1048), (ip(s), 2049), (ip("10.0.0.4"), 2049)]);
        assert_eq!(k.announcements[2].mapper_addr, ip(s));
        assert_eq!(k.unpaired_replies, 1);
        assert_eq!(k.announcements[0].service.to_string(), "mountd v3");
    }

    /// Past the limit, what is kept and counted does not depend on how
    /// the sightings were cut into stretches or in which order the
    /// stretches are merged: the same as taking them all in one pass.
    #[test]
    fn merging_any_split_past_the_limit_is_one_pass() {
        // 3 sightings each of MAX_LEARNED + 5000 things, in a scrambled order.
        let n = MAX_LEARNED as u64 + 5000;
        let sightings: Vec<(Seen, Sightings)> = (0..3 * n)
            .map(|i| {
                let thing = i.wrapping_mul(2_654_435_761) % n;
                let s = Shown::Call {
                    program: 100_003,
                    version: thing as u32,
                };
                (seen("10.0.0.1", 1, "10.0.0.2", 2049, s), once(i as i128))
            })
            .collect();
        let mut whole = Learned::default();
        for (s, n) in sightings.iter().cloned() {
            whole.add(s, n);
        }
        assert_eq!(whole.seen.len(), MAX_LEARNED);
        assert_eq!(whole.dropped, 3 * 5000);
        for cuts in [[1, 2], [7, 90_000], [100_000, 150_000]] {
            let part = |range: std::ops::Range<usize>| {
                let mut l = Learned::default();
                for (s, n) in sightings[range].iter().cloned() {
                    l.add(s, n);
                }
                l
            };
            let [a, b] = cuts;
            let parts = [part(0..a), part(a..b), part(b..sightings.len())];
            super::super::assert_merges_to(parts, &whole, Learned::merge, &format!("{cuts:?}"));
        }
    }

    /// A flow's server gets the name of the latest answer before the flow,
    /// one to the flow's own client first; none before any answer.
    #[test]
    fn dns_names_go_to_the_flows_after_them() {
        let mut l = Learned::default();
        let x: IpAddr = "203.0.113.7".parse().unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let mut answer = |name: &str, client: &str, t: i128| {
            let mut p = super::super::inspect::Pending::default();
            let name = (name, super::super::inspect::name_hash(name));
            p.dns_answer(PROTO_UDP, (ip("10.0.0.53"), ip(client)), name, &[x]);
            l.take(&mut p, Some(Timestamp(t)));
        };
        answer("a.example", "10.0.0.1", 10);
        answer("b.example", "10.0.0.2", 20);
        let k = Knowledge::of(l);
        let name = |client: &str, t: Option<i128>| {
            k.dns_name(x, ip(client), t.map(Timestamp))
                .map(str::to_string)
        };
        assert_eq!(name("10.0.0.1", Some(30)).as_deref(), Some("a.example"));
        assert_eq!(name("10.0.0.3", Some(30)).as_deref(), Some("b.example"));
        assert_eq!(name("10.0.0.2", Some(15)).as_deref(), Some("a.example"));
        assert_eq!(name("10.0.0.1", Some(5)), None);
        assert_eq!(name("10.0.0.1", None), None);
        assert_eq!(
            k.dns_name(ip("198.51.100.1"), ip("10.0.0.1"), Some(Timestamp(30))),
            None
        );
    }

    /// Answers seen out of time order are searched in time order, and of
    /// two answers seen at one time the first in order names the flows
    /// after them, whichever came first in the capture.
    #[test]
    fn dns_names_are_searched_in_time_order() {
        let x: IpAddr = "203.0.113.7".parse().unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let knowing = |answers: &[(&str, i128)]| {
            let mut l = Learned::default();
            for (name, t) in answers {
                let mut p = super::super::inspect::Pending::default();
                let name = (*name, super::super::inspect::name_hash(name));
                p.dns_answer(PROTO_UDP, (ip("10.0.0.53"), ip("10.0.0.9")), name, &[x]);
                l.take(&mut p, Some(Timestamp(*t)));
            }
            Knowledge::of(l)
        };
        let name = |k: &Knowledge, t: i128| {
            k.dns_name(x, ip("10.0.0.1"), Some(Timestamp(t)))
                .map(str::to_string)
        };
        let k = knowing(&[("c.example", 30), ("a.example", 10), ("b.example", 20)]);
        assert_eq!(name(&k, 15).as_deref(), Some("a.example"));
        assert_eq!(name(&k, 25).as_deref(), Some("b.example"));
        assert_eq!(name(&k, 35).as_deref(), Some("c.example"));
        let hash = super::super::inspect::name_hash;
        let first = if hash("d1.example") < hash("d2.example") {
            "d1.example"
        } else {
            "d2.example"
        };
        for order in [["d1.example", "d2.example"], ["d2.example", "d1.example"]] {
            let k = knowing(&[(order[0], 40), (order[1], 40)]);
            assert_eq!(name(&k, 50).as_deref(), Some(first), "{order:?}");
        }
    }

    /// Things taken from packets end as they do added one by one: the
    /// same kept, counted and dropped, past the limit and before it.
    #[test]
    fn taking_from_packets_is_adding_one_by_one() {
        let n = MAX_LEARNED as u64 + 700;
        let mut taken = Learned::default();
        let mut added = Learned::default();
        for i in 0..3 * n {
            let thing = i.wrapping_mul(2_654_435_761) % n;
            let s = Shown::Call {
                program: 100_003,
                version: thing as u32,
            };
            let s = seen("10.0.0.1", 1, "10.0.0.2", 2049, s);
            let mut pending = super::super::inspect::Pending::default();
            pending.seen.push(s.clone());
            taken.take(&mut pending, Some(Timestamp(i as i128)));
            added.add(s, once(i as i128));
            if i == 1000 {
                let mut early = taken.clone();
                early.settle();
                assert_eq!(early.seen.len(), 1001);
            }
        }
        taken.settle();
        assert_eq!(taken, added);
        assert_eq!(taken.dropped, 3 * 700);
    }

    /// What one input learned is bounded, and what did not fit is
    /// counted; a flow file reads it back whole.
    #[test]
    fn learning_is_bounded_and_counted() {
        let mut l = Learned::default();
        // One of each kind, to read back from a flow file below.
        let kinds = [
            Shown::Tower {
                interface: netlogon(),
                proto: PROTO_UDP,
                port: 1,
                ip: None,
            },
            Shown::Bind {
                interface: netlogon(),
            },
            Shown::MapperCall {
                xid: 1,
                version: 3,
                program: 100_003,
                program_version: 3,
                proto: Some(PROTO_TCP),
            },
            Shown::MapperReply {
                xid: 1,
                word: None,
                port: Some(2049),
                ip: Some(ip("::1")),
            },
        ];
        for shown in kinds {
            l.add(seen("10.0.0.1", 1, "10.0.0.2", 2, shown), once(-5));
        }
        for port in 0..(MAX_LEARNED as u32 + 6) {
            let s = Shown::Call {
                program: 100_003,
                version: port,
            };
            l.add(seen("10.0.0.1", 1, "10.0.0.2", 2049, s), once(1));
        }
        assert_eq!(l.seen.len(), MAX_LEARNED);
        assert_eq!(l.dropped, 10);
        let stored = serde_json::to_string(&l.stored()).unwrap();
        let back: StoredLearned = serde_json::from_str(&stored).unwrap();
        assert_eq!(Learned::from_stored(&back), l);
    }

    /// A connection's own bind names its service, whatever was announced.
    #[test]
    fn binds_name_their_connection() {
        let mut l = Learned::default();
        let bind = Shown::Bind {
            interface: netlogon(),
        };
        l.add(
            seen("10.0.0.9", 50001, "10.0.0.1", 49674, bind.clone()),
            once(1),
        );
        l.add(seen("10.0.0.9", 50001, "10.0.0.1", 49674, bind), once(2));
        let k = Knowledge::of(l);
        let att = k.attribute(
            Mapper::Epm,
            PROTO_TCP,
            (ip("10.0.0.9"), 50001),
            (ip("10.0.0.1"), 49674),
            None,
        );
        assert_eq!(att.services().len(), 1);
        assert!(att.announced.is_empty());
        assert_eq!(
            att.describe(),
            "netlogon v1.0 (its own bind, not announced)"
        );
    }
}
