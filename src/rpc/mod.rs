//! Ports a mapper announces (docs/audit.md#announced-ports): what the
//! DCE/RPC endpoint mapper (135) and the ONC-RPC portmapper (111) answer,
//! learned while packets are read, and what a connection on a dynamic
//! port says of itself (the interface of its DCE/RPC bind, the program of
//! its ONC-RPC call).
//!
//! Decoding finds [`Seen`] things in single packets ([`inspect`]); each
//! input gathers them, with their first time and a count, into a bounded
//! [`Learned`] (carried in flow files, so that shards audit as the whole);
//! the run resolves all of them into [`Knowledge`]: announcements (who
//! asked, which server, port, transport and service) and the services each
//! connection named, which the classification asks for each flow a
//! `dynamic` rule covers.

pub mod dcerpc;
pub mod names;
pub mod onc;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::capture::Timestamp;
use dcerpc::{Interface, TowerTransport, Uuid};

/// The DCE/RPC endpoint mapper's port.
pub const EPM_PORT: u16 = 135;
/// The ONC-RPC portmapper's (rpcbind's) port.
pub const PORTMAP_PORT: u16 = 111;
/// The portmapper's program number.
const PORTMAP_PROGRAM: u32 = 100_000;

/// IP protocol numbers (as `decode` names them; this module sits beside
/// decoding, which calls it, and imports none of it).
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;

/// Distinct things learned that a run keeps at most; past it they are
/// counted in [`Learned::dropped`], not kept. About 10 MB at the limit.
pub const MAX_LEARNED: usize = 65_536;

/// The mapper that announces a rule's ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mapper {
    /// The DCE/RPC endpoint mapper, port 135.
    Epm,
    /// The ONC-RPC portmapper / rpcbind, port 111.
    Portmap,
}

impl Mapper {
    pub fn label(self) -> &'static str {
        match self {
            Mapper::Epm => "epm",
            Mapper::Portmap => "portmap",
        }
    }

    /// The mapper in a sentence.
    pub fn title(self) -> &'static str {
        match self {
            Mapper::Epm => "endpoint mapper",
            Mapper::Portmap => "portmapper",
        }
    }

    pub fn port(self) -> u16 {
        match self {
            Mapper::Epm => EPM_PORT,
            Mapper::Portmap => PORTMAP_PORT,
        }
    }

    /// The mapper a port is the well-known port of.
    fn of_port(port: u16) -> Option<Mapper> {
        match port {
            EPM_PORT => Some(Mapper::Epm),
            PORTMAP_PORT => Some(Mapper::Portmap),
            _ => None,
        }
    }
}

/// What a connection speaks: a DCE/RPC interface, or an ONC-RPC program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    Interface(Interface),
    Program { number: u32, version: u32 },
}

impl Service {
    /// The well-known name (`drsuapi`, `mountd`), if the table has one.
    pub fn name(&self) -> Option<&'static str> {
        match self {
            Service::Interface(i) => names::interface(i.uuid).map(|k| k.name),
            Service::Program { number, .. } => names::program(*number).map(|k| k.name),
        }
    }

    /// A sentence's name: the title and name, or the bare number.
    pub fn title(&self) -> String {
        match self {
            Service::Interface(i) => match names::interface(i.uuid) {
                Some(k) => format!("{} ({} v{}.{})", k.title, k.name, i.major, i.minor),
                None => format!("interface {} v{}.{}", i.uuid, i.major, i.minor),
            },
            Service::Program { number, version } => match names::program(*number) {
                Some(k) => format!("{} ({} v{version})", k.title, k.name),
                None => format!("program {number} v{version}"),
            },
        }
    }
}

/// DCOM object interfaces (MS-DCOM 1.9, MS-WMI 1.9): a connection whose
/// bind names one reached a port DCOM handed out in an activation reply
/// (the object exporter's string bindings), which is not read here.
const DCOM_OBJECT_INTERFACES: [&str; 5] = [
    "00000131-0000-0000-c000-000000000046", // IRemUnknown
    "00000143-0000-0000-c000-000000000046", // IRemUnknown2
    "f309ad18-d86a-11d0-a075-00c04fb68820", // IWbemLevel1Login
    "9556dc99-828c-11cf-a37e-00aa003240c7", // IWbemServices
    "027947e1-d731-11ce-a357-000000000001", // IEnumWbemClassObject
];

impl Service {
    /// A DCOM object interface: its port came from DCOM activation, not
    /// from the endpoint mapper.
    pub fn is_dcom_object(&self) -> bool {
        match self {
            Service::Interface(i) => DCOM_OBJECT_INTERFACES
                .iter()
                .any(|u| Uuid::parse(u) == Some(i.uuid)),
            Service::Program { .. } => false,
        }
    }
}

/// Short form, for cells: `drsuapi v4.0`, `mountd v3`, or the number.
impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Service::Interface(i) => match names::interface(i.uuid) {
                Some(k) => write!(f, "{} v{}.{}", k.name, i.major, i.minor),
                None => write!(f, "{} v{}.{}", i.uuid, i.major, i.minor),
            },
            Service::Program { number, version } => match names::program(*number) {
                Some(k) => write!(f, "{} v{version}", k.name),
                None => write!(f, "program {number} v{version}"),
            },
        }
    }
}

/// What a rule's `services` names: an interface (any version) or a
/// program (any version).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceSpec {
    Interface(Uuid),
    Program(u32),
}

impl ServiceSpec {
    /// A name of the table (`drsuapi`, `nfs`), an interface UUID, or a
    /// program number, for `mapper`'s kind of service.
    pub fn parse(s: &str, mapper: Mapper) -> Result<ServiceSpec, String> {
        match mapper {
            Mapper::Epm => names::interface_named(s)
                .map(|k| ServiceSpec::Interface(k.uuid))
                .or_else(|| Uuid::parse(s).map(ServiceSpec::Interface))
                .ok_or_else(|| {
                    format!(
                        "unknown DCE/RPC interface {s:?}: give a UUID or one of {}",
                        names::interfaces()
                            .iter()
                            .map(|k| k.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }),
            Mapper::Portmap => names::program_named(s)
                .map(|k| ServiceSpec::Program(k.number))
                .or_else(|| s.parse().ok().map(ServiceSpec::Program))
                .ok_or_else(|| {
                    format!(
                        "unknown ONC-RPC program {s:?}: give a program number or one of {}",
                        names::programs()
                            .iter()
                            .map(|k| k.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }),
        }
    }

    pub fn covers(&self, s: &Service) -> bool {
        match (self, s) {
            (ServiceSpec::Interface(u), Service::Interface(i)) => *u == i.uuid,
            (ServiceSpec::Program(n), Service::Program { number, .. }) => n == number,
            _ => false,
        }
    }
}

impl fmt::Display for ServiceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceSpec::Interface(u) => match names::interface(*u) {
                Some(k) => f.write_str(k.name),
                None => write!(f, "{u}"),
            },
            ServiceSpec::Program(n) => match names::program(*n) {
                Some(k) => f.write_str(k.name),
                None => write!(f, "{n}"),
            },
        }
    }
}

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
}

/// A [`Shown`] thing with the packet's endpoints.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Seen {
    pub proto: u8,
    pub src: IpAddr,
    pub sport: u16,
    pub dst: IpAddr,
    pub dport: u16,
    #[serde(flatten)]
    pub shown: Shown,
}

/// What the packets of one decoded batch showed, before their times are
/// known: decoding fills it, the reader stamps and empties it.
#[derive(Debug, Default)]
pub struct Pending {
    pub seen: Vec<Seen>,
    /// Payloads that were DCE/RPC or ONC-RPC but could not be read.
    pub unreadable: Vec<&'static str>,
    /// Servers whose mapper port carried a payload.
    pub mappers: Vec<(IpAddr, Mapper)>,
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty() && self.unreadable.is_empty() && self.mappers.is_empty()
    }
}

/// Looks into one TCP or UDP packet's `body` (from its transport header)
/// for what a mapper announces or a connection says of itself. Cheap for
/// every other packet: two port compares and, for TCP, three bytes.
#[inline(always)]
pub fn inspect(
    proto: u8,
    (src, sport): (IpAddr, u16),
    (dst, dport): (IpAddr, u16),
    body: &[u8],
    pending: &mut Pending,
) {
    let payload = match proto {
        PROTO_TCP => {
            let off = body.get(12).map_or(usize::MAX, |b| usize::from(b >> 4) * 4);
            if off < 20 {
                return;
            }
            body.get(off..).unwrap_or_default()
        }
        PROTO_UDP => body.get(8..).unwrap_or_default(),
        _ => return,
    };
    if payload.is_empty() {
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
        matches!(p, [5, 0, 11 | 14, ..]) || onc(4)
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
    let on_mapper = Mapper::of_port(dport)
        .map(|m| (dst, m))
        .or_else(|| Mapper::of_port(sport).map(|m| (src, m)));
    if let Some(m) = on_mapper {
        pending.mappers.push(m);
    }
    match on_mapper.map(|(_, m)| m) {
        Some(Mapper::Portmap) => match onc::parse(payload, tcp) {
            Some(Ok(onc::Message::Call(c))) => pending.seen.push(seen(Shown::MapperCall {
                xid: c.xid,
                version: c.version,
                program: c.program,
                program_version: c.program_version,
                proto: c.proto,
            })),
            Some(Ok(onc::Message::Reply(r))) => pending.seen.push(seen(Shown::MapperReply {
                xid: r.xid,
                word: r.word,
                port: r.uaddr.map(|u| u.port),
                ip: r.uaddr.and_then(|u| u.ip),
            })),
            Some(Err(why)) => pending.unreadable.push(onc_label(why)),
            None => {}
        },
        _ => match dcerpc::parse(payload, tcp) {
            Some(Ok(dcerpc::Pdu::MapResponse(towers)))
                if Mapper::of_port(sport) == Some(Mapper::Epm) =>
            {
                for t in towers {
                    let proto = match t.transport {
                        TowerTransport::Tcp => PROTO_TCP,
                        TowerTransport::Udp => PROTO_UDP,
                        TowerTransport::Other(_) => continue,
                    };
                    pending.seen.push(seen(Shown::Tower {
                        interface: t.interface,
                        proto,
                        port: t.port,
                        ip: t.ip,
                    }));
                }
            }
            Some(Ok(dcerpc::Pdu::Bind(interfaces))) => {
                for interface in interfaces {
                    pending.seen.push(seen(Shown::Bind { interface }));
                }
            }
            Some(Ok(dcerpc::Pdu::MapResponse(_))) => {}
            Some(Err(why)) => pending.unreadable.push(dcerpc_label(why)),
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

fn dcerpc_label(why: dcerpc::Unreadable) -> &'static str {
    match why {
        dcerpc::Unreadable::Split => "dcerpc-split-across-segments",
        dcerpc::Unreadable::Fragmented => "dcerpc-fragmented-pdu",
        dcerpc::Unreadable::Malformed => "dcerpc-malformed",
    }
}

fn onc_label(why: onc::Unreadable) -> &'static str {
    match why {
        onc::Unreadable::Split => "onc-rpc-split-across-segments",
        onc::Unreadable::Fragmented => "onc-rpc-fragmented-record",
        onc::Unreadable::Malformed => "onc-rpc-malformed",
    }
}

/// When a thing was first seen, and how often.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sightings {
    pub first: Option<Timestamp>,
    pub count: u64,
}

impl Sightings {
    fn add(&mut self, o: Sightings) {
        self.first = match (self.first, o.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.count += o.count;
    }
}

/// What one input (or one stretch of it) taught: bounded by
/// [`MAX_LEARNED`] distinct things.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Learned {
    pub seen: BTreeMap<Seen, Sightings>,
    /// Payloads that could not be read, by why.
    pub unreadable: BTreeMap<String, u64>,
    /// Servers whose mapper port carried a payload.
    pub mappers: BTreeSet<(IpAddr, Mapper)>,
    /// Things not kept: [`MAX_LEARNED`] were kept already.
    pub dropped: u64,
}

impl Learned {
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
            && self.unreadable.is_empty()
            && self.mappers.is_empty()
            && self.dropped == 0
    }

    /// Takes what `pending`'s packet, seen at `ts`, showed.
    pub fn take(&mut self, pending: &mut Pending, ts: Option<Timestamp>) {
        for s in pending.seen.drain(..) {
            self.add(
                s,
                Sightings {
                    first: ts,
                    count: 1,
                },
            );
        }
        for why in pending.unreadable.drain(..) {
            *self.unreadable.entry(why.to_string()).or_default() += 1;
        }
        if self.mappers.len() < MAX_LEARNED {
            self.mappers.extend(pending.mappers.drain(..));
        }
        pending.mappers.clear();
    }

    fn add(&mut self, s: Seen, n: Sightings) {
        if let Some(known) = self.seen.get_mut(&s) {
            known.add(n);
        } else if self.seen.len() < MAX_LEARNED {
            self.seen.insert(s, n);
        } else {
            self.dropped += n.count;
        }
    }

    /// Adds what a later stretch (or input) taught.
    pub fn merge(&mut self, o: Learned) {
        for (s, n) in o.seen {
            self.add(s, n);
        }
        for (k, v) in o.unreadable {
            *self.unreadable.entry(k).or_default() += v;
        }
        for m in o.mappers {
            if self.mappers.len() < MAX_LEARNED {
                self.mappers.insert(m);
            }
        }
        self.dropped += o.dropped;
    }

    /// The form a flow file stores (`portaudit_inputs`' `rpc`).
    pub fn stored(&self) -> StoredLearned {
        StoredLearned {
            seen: self
                .seen
                .iter()
                .map(|(s, n)| StoredSeen {
                    seen: s.clone(),
                    first_ns: n.first.map(|t| t.0),
                    count: n.count,
                })
                .collect(),
            unreadable: self.unreadable.clone(),
            mappers: self.mappers.iter().copied().collect(),
            dropped: self.dropped,
        }
    }

    pub fn from_stored(s: &StoredLearned) -> Learned {
        let mut l = Learned {
            unreadable: s.unreadable.clone(),
            mappers: s.mappers.iter().copied().collect(),
            dropped: s.dropped,
            ..Learned::default()
        };
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
}

impl StoredLearned {
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
            && self.unreadable.is_empty()
            && self.mappers.is_empty()
            && self.dropped == 0
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

/// An interface as text in flow files: `UUID vMAJOR.MINOR`.
mod interface_text {
    use super::{Interface, Uuid};
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

/// One port a mapper announced to one client.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Announcement {
    pub server: IpAddr,
    pub proto: u8,
    pub port: u16,
    pub service: Service,
    pub mapper: Mapper,
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
            .min_by_key(|a| a.first)
        {
            Some(a) => {
                text.push_str(&format!(" announced by {} {}", a.mapper.label(), a.server));
                if let Some(t) = a.first {
                    text.push_str(&format!(" at {t}"));
                }
            }
            None if self.bound.iter().any(Service::is_dcom_object) => text
                .push_str(" (its own bind: a DCOM object's port, handed out by DCOM activation)"),
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
}

impl Knowledge {
    /// Resolves what the inputs taught.
    pub fn of<'a>(learned: impl IntoIterator<Item = &'a Learned>) -> Knowledge {
        let mut all = Learned::default();
        for l in learned {
            all.merge(l.clone());
        }
        let mut k = Knowledge {
            mappers: all.mappers,
            unreadable: all.unreadable,
            dropped: all.dropped,
            ..Knowledge::default()
        };
        let mut announced: BTreeMap<(IpAddr, u8, u16, Service, Mapper, IpAddr), Sightings> =
            BTreeMap::new();
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
        for (s, n) in &all.seen {
            match s.shown {
                Shown::Tower {
                    interface,
                    proto,
                    port,
                    ip,
                } => {
                    if port == 0 {
                        continue;
                    }
                    let server = ip
                        .filter(|ip| !ip.is_unspecified())
                        .map_or(s.src, IpAddr::V4);
                    announced
                        .entry((
                            server,
                            proto,
                            port,
                            Service::Interface(interface),
                            Mapper::Epm,
                            s.dst,
                        ))
                        .or_default()
                        .add(*n);
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
                Shown::MapperCall { .. } => {}
                Shown::MapperReply {
                    xid,
                    word,
                    port,
                    ip,
                } => {
                    let Some(&(version, program, program_version, proto)) =
                        calls.get(&(s.proto, s.dst, s.dport, s.src, xid))
                    else {
                        k.unpaired_replies += n.count;
                        continue;
                    };
                    let (port, server) = if version == 2 {
                        (word.and_then(|w| u16::try_from(w).ok()), s.src)
                    } else {
                        (port, ip.filter(|ip| !ip.is_unspecified()).unwrap_or(s.src))
                    };
                    let (Some(port), Some(proto)) = (port.filter(|&p| p != 0), proto) else {
                        continue;
                    };
                    let service = Service::Program {
                        number: program,
                        version: program_version,
                    };
                    announced
                        .entry((server, proto, port, service, Mapper::Portmap, s.dst))
                        .or_default()
                        .add(*n);
                }
            }
        }
        for v in k.named.values_mut() {
            v.sort_unstable();
            v.dedup();
        }
        for ((server, proto, port, service, mapper, client), n) in announced {
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
                client,
                first: n.first,
                count: n.count,
            });
        }
        k.used = k.announcements.iter().map(|_| AtomicU64::new(0)).collect();
        k
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
        let k = Knowledge::of([&l]);
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
        let k = Knowledge::of([&l]);
        let got: Vec<(IpAddr, u16)> = k.announcements.iter().map(|a| (a.server, a.port)).collect();
        assert_eq!(got, [(ip(s), 1048), (ip("10.0.0.4"), 2049)]);
        assert_eq!(k.unpaired_replies, 1);
        assert_eq!(k.announcements[0].service.to_string(), "mountd v3");
    }

    /// What one input learned is bounded, and what did not fit is
    /// counted; merging is what one pass would have kept.
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
        let k = Knowledge::of([&l]);
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
