//! What one packet shows: an endpoint mapper's towers, a portmapper's
//! call or reply, a connection's bind or call ([`inspect`]).

use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};

use super::answers::AnswerRef;
use super::dcerpc::{self, Interface, TowerTransport};
use super::{names, onc, Mapper, PORTMAP_PROGRAM, PROTO_TCP, PROTO_UDP};

/// One thing one packet showed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Shown {
    /// One tower of an endpoint mapper's `ept_map` reply: the packet's
    /// source is the mapper, its destination who asked.
    Tower {
        #[serde(with = "interface_text")]
        interface: Interface,
        /// IP protocol of the tower's transport floor.
        #[serde(rename = "tower_proto")]
        proto: u8,
        port: u16,
        /// The tower's IP floor, when it has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ip: Option<Ipv4Addr>,
    },
    /// The interface of a DCE/RPC bind (or alter context) the packet's
    /// source sent.
    Bind {
        #[serde(with = "interface_text")]
        interface: Interface,
    },
    /// An ONC-RPC call to a known program (not the portmapper).
    Call { program: u32, version: u32 },
    /// A portmapper call asking where `program` lives.
    MapperCall {
        xid: u32,
        version: u32,
        program: u32,
        program_version: u32,
        #[serde(
            default,
            rename = "asked_proto",
            skip_serializing_if = "Option::is_none"
        )]
        proto: Option<u8>,
    },
    /// A portmapper reply, read both ways (it does not say what it answers).
    MapperReply {
        xid: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        word: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ip: Option<IpAddr>,
    },
    /// A DNS reply's answer: the name the client asked (the packet's
    /// destination; its source the resolver; ports are not kept) is at
    /// each of `addresses`. The form flow files store; a run keeps
    /// answers apart, bounded on their own (`super::answers`), in this
    /// order: by `hash` first (the FNV-1a hash of the name,
    /// [`name_hash`]), so that a comparison is nearly always decided
    /// without reading the names.
    DnsAnswer {
        hash: u64,
        name: String,
        /// In order: a round-robin answer's every order is one thing.
        addresses: Vec<IpAddr>,
    },
}

/// The FNV-1a hash (64 bits) of a DNS name: the first key of
/// [`Shown::DnsAnswer`], the same on every machine and in every version,
/// so that a flow file's answers keep their order.
pub fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A [`Shown`] thing with the packet's endpoints. Ordered by what was
/// shown first (towers, then binds and calls, then portmapper calls and
/// replies): past [`MAX_LEARNED`] the last in that order go first, so a
/// flood of portmapper requests cannot push the announcements out. (DNS
/// answers, last, are kept apart with a limit of their own.)
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Seen {
    #[serde(flatten)]
    pub shown: Shown,
    pub proto: u8,
    pub src: IpAddr,
    pub sport: u16,
    pub dst: IpAddr,
    pub dport: u16,
}

/// What the packet just decoded showed, before its time is known:
/// decoding fills it, the reader stamps and empties it.
#[derive(Debug)]
pub struct Pending {
    pub seen: Vec<Seen>,
    /// Payloads that were DCE/RPC or ONC-RPC but could not be read.
    pub unreadable: Vec<&'static str>,
    /// Servers whose mapper answered in this packet.
    pub mappers: Vec<(IpAddr, Mapper)>,
    /// The packet's DNS answer, when `answered`.
    answer: AnswerBuffer,
    pub(super) answered: bool,
}

/// A DNS answer in buffers kept from packet to packet, so that taking an
/// answer allocates nothing: what [`AnswerRef`] borrows.
#[derive(Debug)]
struct AnswerBuffer {
    proto: u8,
    resolver: IpAddr,
    client: IpAddr,
    name: String,
    /// Sorted: a round-robin answer's every order is one answer.
    addresses: Vec<IpAddr>,
    /// The name's [`name_hash`].
    hash: u64,
}

impl Default for Pending {
    fn default() -> Pending {
        let nowhere = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        Pending {
            seen: Vec::new(),
            unreadable: Vec::new(),
            mappers: Vec::new(),
            answer: AnswerBuffer {
                proto: 0,
                resolver: nowhere,
                client: nowhere,
                name: String::new(),
                addresses: Vec::new(),
                hash: 0,
            },
            answered: false,
        }
    }
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
            && self.unreadable.is_empty()
            && self.mappers.is_empty()
            && !self.answered
    }

    /// The packet's DNS answer, if it had one.
    pub(super) fn answer(&self) -> Option<AnswerRef<'_>> {
        let a = &self.answer;
        self.answered.then(|| AnswerRef {
            hash: a.hash,
            name: &a.name,
            addresses: &a.addresses,
            proto: a.proto,
            resolver: a.resolver,
            client: a.client,
        })
    }

    /// Takes a DNS reply's answer ([`crate::decode::dns_answers`]) from
    /// `resolver` to `client` over `proto`: `name`, whose [`name_hash`]
    /// is `hash`, is at each of `addrs`.
    pub fn dns_answer(
        &mut self,
        proto: u8,
        (resolver, client): (IpAddr, IpAddr),
        (name, hash): (&str, u64),
        addrs: &[IpAddr],
    ) {
        debug_assert_eq!(hash, name_hash(name));
        let a = &mut self.answer;
        (a.proto, a.resolver, a.client, a.hash) = (proto, resolver, client, hash);
        a.name.clear();
        a.name.push_str(name);
        a.addresses.clear();
        a.addresses.extend_from_slice(addrs);
        a.addresses.sort_unstable();
        self.answered = true;
    }
}

/// Looks into one TCP or UDP packet's `payload` (after its transport
/// header; decoding finds it) for what a mapper announces or a connection
/// says of itself. Cheap for
/// every other packet: four port compares and at most twelve bytes (a
/// DCE/RPC bind's first three, an ONC-RPC call's message type and
/// version).
#[inline(always)]
pub fn inspect(
    proto: u8,
    (src, sport): (IpAddr, u16),
    (dst, dport): (IpAddr, u16),
    payload: &[u8],
    pending: &mut Pending,
) {
    if proto != PROTO_TCP && proto != PROTO_UDP {
        return;
    }
    let mapper = Mapper::of_port(sport).is_some() || Mapper::of_port(dport).is_some();
    if mapper || looks_like_rpc(proto, payload) {
        inspect_payload(proto, (src, sport), (dst, dport), payload, pending);
    }
}

/// A DCE/RPC bind or alter context (version 5.0, type 11 or 14), or an
/// ONC-RPC call (message type 0, RPC version 2; over TCP after the record
/// mark).
#[inline(always)]
fn looks_like_rpc(proto: u8, p: &[u8]) -> bool {
    let word = |at: usize| {
        p.get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let onc = |base: usize| word(base + 4) == Some(0) && word(base + 8) == Some(2);
    if proto == PROTO_TCP {
        matches!(p, [5, 0 | 1, 11 | 14, ..]) || onc(4)
    } else {
        onc(0)
    }
}

#[cold]
#[inline(never)]
fn inspect_payload(
    proto: u8,
    (src, sport): (IpAddr, u16),
    (dst, dport): (IpAddr, u16),
    payload: &[u8],
    pending: &mut Pending,
) {
    let tcp = proto == PROTO_TCP;
    let seen = |shown| Seen {
        proto,
        src,
        sport,
        dst,
        dport,
        shown,
    };
    // The mapper's side: the one on its port (the destination when both are).
    let on_mapper = Mapper::of_port(dport).or_else(|| Mapper::of_port(sport));
    // A mapper is seen when an answer of its was read: then the captures
    // show what it announces (a cut or unreadable answer does not count).
    let answering = |m| (Mapper::of_port(sport) == Some(m)).then_some((src, m));
    match on_mapper {
        Some(Mapper::Portmap) => match onc::parse(payload, tcp) {
            Some(Ok(onc::Message::Call(c))) => pending.seen.push(seen(Shown::MapperCall {
                xid: c.xid,
                version: c.version,
                program: c.program,
                program_version: c.program_version,
                proto: c.proto,
            })),
            Some(Ok(onc::Message::Reply(r))) => {
                pending.mappers.extend(answering(Mapper::Portmap));
                pending.seen.push(seen(Shown::MapperReply {
                    xid: r.xid,
                    word: r.word,
                    port: r.uaddr.map(|u| u.port),
                    ip: r.uaddr.and_then(|u| u.ip),
                }));
            }
            Some(Err(why)) => pending.unreadable.push(why.label()),
            None => {}
        },
        _ => match dcerpc::parse(payload, tcp) {
            Some(Ok(dcerpc::Pdu::MapResponse(towers)))
                if Mapper::of_port(sport) == Some(Mapper::Epm) =>
            {
                pending.mappers.extend(answering(Mapper::Epm));
                for t in towers {
                    let proto = match t.transport {
                        TowerTransport::Tcp => PROTO_TCP,
                        TowerTransport::Udp => PROTO_UDP,
                        TowerTransport::Other(_) => continue,
                    };
                    // Announced to the host that asked, whatever its
                    // port: one key per answer, not per connection.
                    pending.seen.push(Seen {
                        dport: 0,
                        ..seen(Shown::Tower {
                            interface: t.interface,
                            proto,
                            port: t.port,
                            ip: t.ip,
                        })
                    });
                }
            }
            Some(Ok(dcerpc::Pdu::Bind(interfaces))) => {
                for interface in interfaces {
                    pending.seen.push(seen(Shown::Bind { interface }));
                }
            }
            Some(Ok(dcerpc::Pdu::MapResponse(_))) => {}
            Some(Err(why)) => pending.unreadable.push(why.label()),
            None => {
                if let Some((program, version)) = onc_call(proto, payload) {
                    pending.seen.push(seen(Shown::Call { program, version }));
                }
            }
        },
    }
}

/// The program and version of an ONC-RPC call to a program the table
/// knows (other than the portmapper): what a connection to a dynamic port
/// says it is.
fn onc_call(proto: u8, p: &[u8]) -> Option<(u32, u32)> {
    let base = if proto == PROTO_TCP { 4 } else { 0 };
    let word = |at: usize| {
        p.get(base + at..base + at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    if word(4)? != 0 || word(8)? != 2 {
        return None;
    }
    let (program, version) = (word(12)?, word(16)?);
    (program != PORTMAP_PROGRAM && names::program(program).is_some()).then_some((program, version))
}

/// An interface as text in flow files: `UUID vMAJOR.MINOR`.
mod interface_text {
    use super::super::dcerpc::{Interface, Uuid};
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(i: &Interface, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{} v{}.{}", i.uuid, i.major, i.minor))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Interface, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).ok_or_else(|| D::Error::custom(format!("not an interface: {text:?}")))
    }

    fn parse(text: &str) -> Option<Interface> {
        let (uuid, version) = text.split_once(" v")?;
        let (major, minor) = version.split_once('.')?;
        Some(Interface {
            uuid: Uuid::parse(uuid)?,
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::Learned;
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any payload, as a TCP or UDP packet to and from the mapper
        /// ports and a dynamic one, is looked into without a panic, and
        /// what it teaches reads back from its flow-file form unchanged.
        #[test]
        fn any_payload_is_inspected_and_stored_whole(
            data in proptest::collection::vec(any::<u8>(), 0..600),
            prefix in prop_oneof![
                Just(vec![5u8, 0, 11, 3, 0x10, 0, 0, 0]),
                Just(vec![5u8, 0, 2, 3, 0x10, 0, 0, 0]),
                Just(vec![0u8, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2]),
                Just(vec![0x80u8, 0, 0, 40, 0, 0, 0, 1, 0, 0, 0, 1]),
                Just(Vec::new()),
            ],
        ) {
            let mut learned = Learned::default();
            let mut pending = Pending::default();
            let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "fd00::2".parse().unwrap());
            let payload = [prefix, data].concat();
            for proto in [PROTO_TCP, PROTO_UDP] {
                for (sport, dport) in [(135, 50_000), (50_000, 135), (111, 700), (700, 111), (1, 49_674)] {
                    inspect(proto, (a, sport), (b, dport), &payload, &mut pending);
                    learned.take(&mut pending, None);
                    prop_assert!(pending.is_empty());
                }
            }
            let back = Learned::from_stored(&learned.stored());
            prop_assert_eq!(back, learned);
        }
    }
}
